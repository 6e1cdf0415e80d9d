"""DL/T 645 data identifiers (数据标识) as a table of specs (STYLE F4).

2007 DIs are four bytes ``DI3 DI2 DI1 DI0``, shown as eight hex digits in that
order (``"00010000"``) and sent DI0 first; 1997 DIs are two bytes (``"9010"``),
sent low byte first. A DI byte of FF asks for a data block: the reply carries
several values of the element format back to back (PROTOCOLS.md §2.4; S9).

The rows and their sources are in :mod:`protocols.dlt645._tables`. Where the
sources disagree:

* Max demand (最大需量及发生时间, 8 bytes): S10 puts the 3-byte value first and
  the 5-byte time after it; a 2012 C library reads the 8 bytes as one
  little-endian number (time first). We follow S10, which matches the 1376.1
  AFN0D layouts (value, then time).
* ASCII items (asset number, rated voltage/current): sizes are sourced, byte order
  is not; they are taken to follow the general "lowest byte first" rule, so the
  wire holds the text reversed.
* Frequency is 02800002 (S8, S10, L12); one transcription shows 02800001.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from protocols.dlt645._tables import ROWS_1997, ROWS_2007, STATUS_BITS, Row
from protocols.dlt645.codecs import Codec
from protocols.dlt645.frame import Version
from protocols.errors import LocalProtocolError, UnknownFunction

__all__ = [
    "DI_1997",
    "DI_2007",
    "STATUS_BITS",
    "DiSpec",
    "UnknownDi",
    "by_key",
    "decode_value",
    "di_label",
    "di_size",
    "encode_value",
    "find",
    "lookup",
    "parse_di",
]


class UnknownDi(UnknownFunction):
    """A data identifier the table does not describe."""

    reason = "unknown_di"

    def __init__(self, message: str, *, di: int | None = None) -> None:
        super().__init__(message)
        self.di = di


@dataclass(frozen=True, slots=True)
class DiSpec:
    """One data identifier: what it is called and how its value is coded."""

    di: int
    version: Version
    key: str  # snake_case, unique per version
    name: str  # English (中文)
    codec: Codec
    unit: str = ""
    source: str = ""
    #: The DI as printed: 8 hex digits (2007) or 4 (1997); filled in by the table.
    label: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", di_label(self.di, self.version))

    @property
    def fmt(self) -> str:
        return self.codec.fmt

    @property
    def size(self) -> int:
        """Bytes of one value (a block carries a positive multiple of it)."""
        return self.codec.size

    @property
    def block(self) -> bool:
        return self.codec.block

    def decode(self, data: bytes) -> Any:
        """The value of ``data`` (BadValue/BadLength if it does not fit)."""
        return self.codec.decode(data)

    def encode(self, value: Any) -> bytes:
        return self.codec.encode(value)


def di_size(version: Version) -> int:
    """Bytes a DI takes on the wire."""
    return 4 if version is Version.V2007 else 2


def di_label(di: int, version: Version = Version.V2007) -> str:
    return f"{di:08X}" if version is Version.V2007 else f"{di:04X}"


def parse_di(text: str) -> int:
    """``"04000503"`` or ``"9010"`` (display order) as an int."""
    cleaned = text.replace(" ", "")
    if len(cleaned) not in (4, 8):
        raise LocalProtocolError(f"DI {text!r} must have 4 or 8 hex digits")
    try:
        return int(cleaned, 16)
    except ValueError:
        raise LocalProtocolError(f"DI {text!r} is not hex") from None


def _index(rows: list[Row], version: Version) -> Mapping[int, DiSpec]:
    table: dict[int, DiSpec] = {}
    keys: set[str] = set()
    limit = 1 << (8 * di_size(version))
    for di, key, name, codec, unit, source in rows:
        if di in table or key in keys or not 0 <= di < limit:
            raise LocalProtocolError(f"DI {di:X} / {key} listed twice or too wide")
        table[di] = DiSpec(di, version, key, name, codec, unit, source)
        keys.add(key)
    return MappingProxyType(table)


DI_2007: Final = _index(ROWS_2007, Version.V2007)
DI_1997: Final = _index(ROWS_1997, Version.V1997)
_TABLES: Final = {Version.V2007: DI_2007, Version.V1997: DI_1997}
_BY_KEY: Final = {
    version: {s.key: s for s in table.values()} for version, table in _TABLES.items()
}


def find(di: int, version: Version = Version.V2007) -> DiSpec | None:
    """The spec of ``di``, or None."""
    return _TABLES[version].get(di)


def lookup(di: int, version: Version = Version.V2007) -> DiSpec:
    """The spec of ``di``, or :class:`UnknownDi`."""
    spec = _TABLES[version].get(di)
    if spec is None:
        raise UnknownDi(f"DI {di_label(di, version)} is not in the table", di=di)
    return spec


def by_key(key: str, version: Version = Version.V2007) -> DiSpec:
    """The spec named ``key`` (e.g. ``"forward_active_total"``), or UnknownDi."""
    spec = _BY_KEY[version].get(key)
    if spec is None:
        raise UnknownDi(f"no {version.value} DI named {key!r}")
    return spec


def decode_value(di: int, data: bytes, version: Version = Version.V2007) -> Any:
    """Decode the value bytes of ``di`` (UnknownDi, BadValue or BadLength)."""
    return lookup(di, version).decode(data)


def encode_value(di: int, value: Any, version: Version = Version.V2007) -> bytes:
    return lookup(di, version).encode(value)
