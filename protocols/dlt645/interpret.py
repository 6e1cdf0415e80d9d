"""What a DL/T 645 frame says, decoded from the DI table (PROTOCOLS.md §2.2-§2.4).

:func:`interpret` never raises: a DI the table does not know, or a value that does
not fit its format, leaves ``values`` None, keeps the value bytes in ``raw`` and
puts the reason in ``error``. Dispatch is a table keyed by (edition, function,
direction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from protocols.dlt645.codecs import DATETIME
from protocols.dlt645.commands import (
    CIPHER_LEVELS,
    Control1997,
    Control2007,
    ErrorWord,
    RelayCommand,
)
from protocols.dlt645.di import UnknownDi, di_label, di_size, find
from protocols.dlt645.frame import Frame, Version
from protocols.errors import BadValue, ProtocolError, Truncated


@dataclass(slots=True)
class Interpretation:
    """The meaning of one frame.

    Not frozen: one is built per frame, and a frozen dataclass costs about four
    times as much to construct.

    ``di``: the data identifier as printed (8 hex digits for 2007, 4 for 1997) or
    None when the frame carries none. ``values``: DI key -> decoded value for
    replies (and writes); the command fields of a 1C request; None when there is
    nothing (or nothing decodable). ``raw``: the value bytes after the DI (the
    whole DATA when there is no DI).
    """

    version: Version
    di: str | None = None
    name: str | None = None
    values: dict[str, Any] | None = None
    error_word: ErrorWord | None = None
    raw: bytes = b""
    seq: int | None = None
    error: ProtocolError | None = None


def interpret_value(di: int, value: bytes, version: Version = Version.V2007,
                    seq: int | None = None) -> Interpretation:  # fmt: skip
    """Decode the value bytes of ``di`` through the DI table, never raising."""
    spec = find(di, version)
    if spec is None:
        label = di_label(di, version)
        err = UnknownDi(f"DI {label} is not in the table", di=di)
        return Interpretation(version, label, None, None, None, value, seq, err)
    label = spec.label
    try:
        decoded = spec.decode(value)
    except ProtocolError as exc:
        return Interpretation(version, label, spec.name, None, None, value, seq, exc)
    return Interpretation(version, label, spec.name, {spec.key: decoded}, None, value,
                          seq)  # fmt: skip


def _split_di(frame: Frame, version: Version) -> tuple[int, bytes] | Interpretation:
    size = di_size(version)
    data = frame.data
    if len(data) < size:
        err = Truncated(f"DATA of {len(data)} bytes has no {size}-byte DI")
        return Interpretation(version, raw=data, error=err)
    return int.from_bytes(data[:size], "little"), data[size:]


def _read_request(frame: Frame, version: Version) -> Interpretation:
    split = _split_di(frame, version)
    if isinstance(split, Interpretation):
        return split
    di, rest = split
    spec = find(di, version)
    values: dict[str, Any] | None = None
    error: ProtocolError | None = None
    if rest:  # load-record read: N [+ mm hh DD MM YY]
        values = {"blocks": rest[0]}
        if len(rest) == 6:
            try:
                values["start"] = DATETIME.decode(b"\x00" + rest[1:])
            except ProtocolError as exc:
                error = exc
    name = spec.name if spec else None
    return Interpretation(version, di_label(di, version), name, values, None, rest,
                          error=error)  # fmt: skip


def _read_reply(frame: Frame, version: Version) -> Interpretation:
    split = _split_di(frame, version)
    if isinstance(split, Interpretation):
        return split
    di, rest = split
    return interpret_value(di, rest, version)


def _follow_request(frame: Frame, version: Version) -> Interpretation:
    split = _split_di(frame, version)
    if isinstance(split, Interpretation):
        return split
    di, rest = split
    spec = find(di, version)
    seq = rest[0] if rest else None
    return Interpretation(version, di_label(di, version), spec.name if spec else None,
                          raw=rest, seq=seq)  # fmt: skip


def _follow_reply(frame: Frame, version: Version) -> Interpretation:
    # 2007: DI + value + SEQ (S9 §6); the SEQ echoes the request's.
    split = _split_di(frame, version)
    if isinstance(split, Interpretation):
        return split
    di, rest = split
    if not rest:
        return interpret_value(di, rest, version)
    return interpret_value(di, rest[:-1], version, seq=rest[-1])


def _write_request(frame: Frame, version: Version) -> Interpretation:
    split = _split_di(frame, version)
    if isinstance(split, Interpretation):
        return split
    di, rest = split
    if len(rest) < 8:
        err = Truncated(f"write of {len(rest)} bytes has no password/operator")
        return Interpretation(version, di_label(di, version), raw=rest, error=err)
    found = interpret_value(di, rest[8:], version)
    values = _authority(rest)
    if found.values is not None:
        values.update(found.values)
    return Interpretation(version, found.di, found.name, values, None, rest[8:],
                          error=found.error)  # fmt: skip


def _authority(data: bytes) -> dict[str, Any]:
    return {
        "level": data[0],
        "password": data[1:4].hex().upper(),
        "operator": data[4:8].hex().upper(),
    }


def _relay_request(frame: Frame, version: Version) -> Interpretation:
    data = frame.data
    if len(data) < 8:
        err = Truncated(f"1C request of {len(data)} bytes")
        return Interpretation(version, raw=data, error=err)
    values = _authority(data)
    body = data[8:]
    if values["level"] in CIPHER_LEVELS:
        values["ciphertext"] = body  # R1..Rm, enciphered by the ESAM
        return Interpretation(version, values=values, raw=data)
    if len(body) != 8:
        short = Truncated(f"1C N1-N8 has {len(body)} bytes, expected 8")
        return Interpretation(version, values=values, raw=data, error=short)
    try:
        values["command"] = RelayCommand(body[0])
    except ValueError:
        values["command"] = body[0]
        bad = BadValue(f"1C command {body[0]:02X} is not defined")
        return Interpretation(version, values=values, raw=data, error=bad)
    values["reserved"] = body[1]
    try:
        values["valid_until"] = DATETIME.decode(body[2:])
    except ProtocolError as exc:
        return Interpretation(version, values=values, raw=data, error=exc)
    return Interpretation(version, values=values, raw=data)


def _broadcast_time(frame: Frame, version: Version) -> Interpretation:
    try:
        when = DATETIME.decode(frame.data)
    except ProtocolError as exc:
        return Interpretation(version, raw=frame.data, error=exc)
    return Interpretation(version, values={"time": when}, raw=frame.data)


def _address_reply(frame: Frame, version: Version) -> Interpretation:
    data = frame.data
    if len(data) != 6:
        err = Truncated(f"address reply of {len(data)} bytes")
        return Interpretation(version, raw=data, error=err)
    return Interpretation(version, values={"address": data[::-1].hex().upper()},
                          raw=data)  # fmt: skip


_Handler = Callable[[Frame, Version], Interpretation]
V07: Final = Version.V2007
V97: Final = Version.V1997

#: (edition, function code, sent by the meter) -> handler
_HANDLERS: Final[dict[tuple[Version, int, bool], _Handler]] = {
    (V07, Control2007.BROADCAST_TIME, False): _broadcast_time,
    (V07, Control2007.READ, False): _read_request,
    (V07, Control2007.READ, True): _read_reply,
    (V07, Control2007.READ_FOLLOW, False): _follow_request,
    (V07, Control2007.READ_FOLLOW, True): _follow_reply,
    (V07, Control2007.READ_ADDRESS, True): _address_reply,
    (V07, Control2007.WRITE, False): _write_request,
    (V07, Control2007.RELAY_CONTROL, False): _relay_request,
    (V97, Control1997.BROADCAST_TIME, False): _broadcast_time,
    (V97, Control1997.READ, False): _read_request,
    (V97, Control1997.READ, True): _read_reply,
    (V97, Control1997.READ_FOLLOW, False): _read_request,
    (V97, Control1997.READ_FOLLOW, True): _read_reply,
}


def interpret(frame: Frame) -> Interpretation:
    """Decode what ``frame`` carries; never raises (see the module docstring)."""
    version = frame.version
    if frame.up and frame.abnormal:
        if not frame.data:
            err = Truncated("abnormal reply without an error word")
            return Interpretation(version, error=err)
        return Interpretation(version, error_word=ErrorWord(frame.data[0]),
                              raw=frame.data)  # fmt: skip
    handler = _HANDLERS.get((version, frame.func, frame.up))
    if handler is None:
        return Interpretation(version, raw=frame.data)
    return handler(frame, version)
