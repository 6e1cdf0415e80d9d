"""The local spool: batches the database could not take, kept until it can.

Append-only segment files in one directory. Each record is::

    b"HS" | length (4, big-endian) | CRC-32 of the payload (4) | payload

and the payload is ``marshal`` of ``(table, rows)`` with dates, times, UUIDs and JSON
turned into plain numbers and strings (see :func:`encode_rows`). Every append is
fsynced before it returns, so a batch the writer spooled survives a crash or a
``SIGKILL``. Segments are replayed in order and deleted once the database has them; a
record cut short by a crash at the end of the last segment is dropped (it was never
acknowledged), a damaged record elsewhere moves the rest of its segment aside as
``.corrupt`` and is reported, never silently lost.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import struct
import uuid
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import structlog

from headend.storage.tables import TABLES, TableSpec

log = structlog.get_logger("headend.spool")

MAGIC: Final = b"HS"
_HEAD = struct.Struct(">2sII")
SEGMENT_BYTES: Final = 64 * 1024 * 1024  # start a new segment past this size
MAX_RECORD: Final = 256 * 1024 * 1024

Row = tuple[Any, ...]


def _encode_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "date":
        return value.toordinal()
    if kind == "timestamptz":
        return value.timestamp()
    if kind == "uuid":
        return str(value)
    if kind == "jsonb":
        return json.dumps(value, separators=(",", ":"), default=str)
    return value


def _decode_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "date":
        return date.fromordinal(value)
    if kind == "timestamptz":
        return datetime.fromtimestamp(value, UTC)
    if kind == "uuid":
        return uuid.UUID(value)
    if kind == "jsonb":
        return json.loads(value)
    return value


def encode_rows(spec: TableSpec, rows: Sequence[Row]) -> bytes:
    kinds = spec.types
    plain = [
        tuple(_encode_value(k, v) for k, v in zip(kinds, row, strict=True))
        for row in rows
    ]
    return marshal.dumps((spec.name, plain))


def decode_rows(payload: bytes) -> tuple[TableSpec, list[Row]]:
    name, plain = marshal.loads(payload)  # noqa: S302 - our own file, checksummed
    spec = TABLES[name]
    kinds = spec.types
    return spec, [
        tuple(_decode_value(k, v) for k, v in zip(kinds, row, strict=True))
        for row in plain
    ]


class Spool:
    """The spool directory (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._file: Any = None
        self._size = 0

    # --- appending -----------------------------------------------------------------

    def append(self, spec: TableSpec, rows: Sequence[Row]) -> None:
        """Write a batch durably (fsync) before returning."""
        payload = encode_rows(spec, rows)
        record = _HEAD.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload
        if self._file is None or self._size + len(record) > SEGMENT_BYTES:
            self._open_new()
        self._file.write(record)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._size += len(record)

    def _open_new(self) -> None:
        self.close()
        last = self.segments()
        number = int(last[-1].stem) + 1 if last else 1
        path = self.directory / f"{number:012d}.seg"
        self._file = path.open("ab")
        self._size = 0
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new file's name is durable too
        finally:
            os.close(dir_fd)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- reading -------------------------------------------------------------------

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob("*.seg"))

    def size(self) -> int:
        """Bytes in the segments (what waits for the database)."""
        total = 0
        for segment in self.segments():
            with contextlib.suppress(FileNotFoundError):
                total += segment.stat().st_size
        return total

    def empty(self) -> bool:
        return not any(p.stat().st_size for p in self.segments())

    def pending_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.segments())

    def records(self, segment: Path) -> Iterator[tuple[TableSpec, list[Row]]]:
        """The batches of one segment, in order (see the module docstring on damage)."""
        data = segment.read_bytes()
        pos = 0
        while pos < len(data):
            bad = _check(data, pos)
            if bad:
                torn = bad.startswith("truncated") and segment == self.segments()[-1]
                if torn:  # a crash while appending: the record was never acknowledged
                    log.warning(
                        "spool_torn_tail_dropped",
                        segment=segment.name,
                        bytes=len(data) - pos,
                    )
                else:
                    aside = segment.with_suffix(".corrupt")
                    aside.write_bytes(data[pos:])
                    log.error("spool_record_damaged", segment=segment.name, offset=pos,
                              reason=bad, kept=str(aside))  # fmt: skip
                return
            _, length, _ = _HEAD.unpack_from(data, pos)
            start = pos + _HEAD.size
            yield decode_rows(data[start : start + length])
            pos = start + length

    def remove(self, segment: Path) -> None:
        if self._file is not None and Path(self._file.name) == segment:
            self.close()
        segment.unlink(missing_ok=True)


def _check(data: bytes, pos: int) -> str:
    """Why the record at ``pos`` cannot be read, or "" when it can."""
    if len(data) - pos < _HEAD.size:
        return "truncated header"
    magic, length, crc = _HEAD.unpack_from(data, pos)
    if magic != MAGIC:
        return "bad magic"
    if length > MAX_RECORD or pos + _HEAD.size + length > len(data):
        return "truncated payload"
    payload = data[pos + _HEAD.size : pos + _HEAD.size + length]
    if zlib.crc32(payload) != crc:
        return "checksum mismatch"
    return ""
