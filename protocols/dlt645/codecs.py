"""Value formats of DL/T 645 data items (PROTOCOLS.md §2.4; S9 appendix A, S10).

A :class:`Codec` turns the value bytes of one data item (0x33 offset already
removed, lowest byte first as on the wire) into a Python value and back. The
``fmt`` string is the standard's own notation (``XXXXXX.XX``, ``YYMMDDhhmm``).

* Numbers are BCD, lowest byte first. Signed formats carry the sign in D7 of the
  highest byte (as 645 does for current, power and combined energy), so their top
  digit is 0-7. Values with decimals come back as ``float`` (``n / 10**scale``,
  e.g. 0.06 kWh), the others as ``int``.
* Calendar formats return ``date`` / ``time`` / ``datetime`` (years 2000-2099).
* Status words are binary (not BCD) and come back as :class:`StatusWord`.

Every decoder raises only :class:`~protocols.errors.BadValue` or
:class:`~protocols.errors.BadLength`; every encoder only
:class:`~protocols.errors.LocalProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Final

from protocols.errors import BadLength, BadValue, LocalProtocolError

# BCD byte -> 0..99, or -1 for a byte with a nibble above 9.
_BCD: Final[list[int]] = [-1] * 256
for _hi in range(10):
    for _lo in range(10):
        _BCD[_hi * 16 + _lo] = _hi * 10 + _lo
_TO_BCD: Final = bytes((n // 10) * 16 + n % 10 for n in range(100))


@dataclass(frozen=True, slots=True)
class Codec:
    """The wire format of one data item (or of each element of a block).

    ``size`` is the size of one value; a block codec (``block=True``) takes any
    positive multiple of it and returns a list. ``kind``, ``scale``, ``signed`` and
    ``limit`` describe the value domain, so tests and tools need not read code.
    """

    fmt: str
    size: int
    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes]
    kind: str
    scale: int = 0
    signed: bool = False
    #: Largest magnitude of the integer carried (numbers) or text length (ascii).
    limit: int = 0
    block: bool = False
    element: Codec | None = None
    #: Status words: bit name -> (high bit, low bit).
    bits: tuple[tuple[str, int, int], ...] = ()

    def __repr__(self) -> str:
        return f"Codec({self.fmt})"


def _need(data: bytes, size: int, fmt: str) -> None:
    if len(data) != size:
        raise BadLength(f"{fmt}: {len(data)} bytes, format has {size}")


def _pairs(data: bytes, fmt: str) -> list[int]:
    """BCD bytes as 0..99 values, wire order; BadValue on a non-BCD byte."""
    out = [_BCD[b] for b in data]
    if min(out, default=0) < 0:
        raise BadValue(f"{fmt}: not BCD: {data.hex(' ')}")
    return out


# --- numbers ------------------------------------------------------------------------


def number(fmt: str, size: int, scale: int, *, signed: bool = False) -> Codec:
    """``XXX.XXX``-style BCD number of ``size`` bytes with ``scale`` decimals."""
    divisor = 10**scale
    # With a sign bit the highest digit is 0-7 (D7 of the top byte is taken).
    limit = 8 * 10 ** (2 * size - 1) - 1 if signed else 10 ** (2 * size) - 1
    last = size - 1

    def decode(data: bytes) -> Any:
        _need(data, size, fmt)
        negative = False
        if signed and data[last] & 0x80:
            negative = True
            data = data[:last] + bytes((data[last] & 0x7F,))
        digits = data[::-1].hex()
        if not digits.isdigit():
            raise BadValue(f"{fmt}: not BCD: {data.hex(' ')}")
        n = int(digits)
        if negative:
            n = -n
        return n / divisor if scale else n

    def encode(value: Any) -> bytes:
        n = round(value * divisor) if scale else int(value)
        if n < 0 and not signed:
            raise LocalProtocolError(f"{fmt}: {value} is negative")
        if abs(n) > limit:
            raise LocalProtocolError(f"{fmt}: {value} does not fit")
        out = bytearray(bytes.fromhex(f"{abs(n):0{2 * size}d}")[::-1])
        if n < 0:
            out[last] |= 0x80
        return bytes(out)

    return Codec(fmt, size, decode, encode, "number", scale, signed, limit)


def block(element: Codec) -> Codec:
    """A data block (DI byte = FF): one or more ``element`` values back to back."""
    size = element.size
    dec = element.decode
    enc = element.encode
    fmt = f"{element.fmt} × n"

    def decode(data: bytes) -> list[Any]:
        if not data or len(data) % size:
            raise BadLength(f"{fmt}: {len(data)} bytes is no multiple of {size}")
        return [dec(data[o : o + size]) for o in range(0, len(data), size)]

    def encode(values: Sequence[Any]) -> bytes:
        if not values:
            raise LocalProtocolError(f"{fmt}: a block needs at least one value")
        return b"".join(enc(v) for v in values)

    return Codec(
        fmt,
        size,
        decode,
        encode,
        element.kind,
        element.scale,
        element.signed,
        element.limit,
        block=True,
        element=element,
        bits=element.bits,
    )


# --- calendar -------------------------------------------------------------------------


def _year(value: date) -> int:
    if not 2000 <= value.year <= 2099:
        raise LocalProtocolError(f"year {value.year} outside 2000-2099")
    return value.year - 2000


def _date_ww_decode(data: bytes) -> date:
    # wire: WW DD MM YY (weekday 0 = Sunday); the weekday is redundant and ignored
    _need(data, 4, "YYMMDDWW")
    _, dd, mo, yy = _pairs(data, "YYMMDDWW")
    try:
        return date(2000 + yy, mo, dd)
    except ValueError as exc:
        raise BadValue(f"YYMMDDWW: {exc}") from None


def _date_ww_encode(value: date) -> bytes:
    week = value.isoweekday() % 7  # 0 = Sunday ... 6 = Saturday
    return bytes(
        (_TO_BCD[week], _TO_BCD[value.day], _TO_BCD[value.month], _TO_BCD[_year(value)])
    )


def _time_decode(data: bytes) -> time:
    _need(data, 3, "hhmmss")
    ss, mi, hh = _pairs(data, "hhmmss")
    try:
        return time(hh, mi, ss)
    except ValueError as exc:
        raise BadValue(f"hhmmss: {exc}") from None


def _time_encode(value: time) -> bytes:
    return bytes((_TO_BCD[value.second], _TO_BCD[value.minute], _TO_BCD[value.hour]))


def _datetime_codec(fmt: str, seconds: bool) -> Codec:
    """YYMMDDhhmm (5 bytes) or YYMMDDhhmmss (6), lowest field (mm or ss) first."""
    size = 6 if seconds else 5

    def decode(data: bytes) -> datetime:
        _need(data, size, fmt)
        p = _pairs(data, fmt)
        if not seconds:
            p.insert(0, 0)
        ss, mi, hh, dd, mo, yy = p
        try:
            return datetime(2000 + yy, mo, dd, hh, mi, ss)
        except ValueError as exc:
            raise BadValue(f"{fmt}: {exc}") from None

    def encode(v: datetime) -> bytes:
        fields = [v.minute, v.hour, v.day, v.month, _year(v)]
        if seconds:
            fields.insert(0, v.second)
        return bytes(_TO_BCD[x] for x in fields)

    kind = "datetime" if seconds else "datetime_min"
    return Codec(fmt, size, decode, encode, kind)


DATE_WW: Final = Codec("YYMMDDWW", 4, _date_ww_decode, _date_ww_encode, "date")
TIME: Final = Codec("hhmmss", 3, _time_decode, _time_encode, "time")
DATETIME_MIN: Final = _datetime_codec("YYMMDDhhmm", seconds=False)
DATETIME: Final = _datetime_codec("YYMMDDhhmmss", seconds=True)


# --- composite, text and bit formats ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Demand:
    """Maximum demand (最大需量) and the time it occurred (发生时间)."""

    value: float
    time: datetime


_DEMAND_VALUE: Final = number("XX.XXXX", 3, 4, signed=True)


def _demand_decode(data: bytes) -> Demand:
    # Value first, then the time (S10 reads and writes it so; a 2012 C library
    # reads the 8 bytes as one number, time first; see the module docstring of di).
    _need(data, 8, "XX.XXXX YYMMDDhhmm")
    return Demand(_DEMAND_VALUE.decode(data[:3]), DATETIME_MIN.decode(data[3:]))


def _demand_encode(value: Demand) -> bytes:
    return _DEMAND_VALUE.encode(value.value) + DATETIME_MIN.encode(value.time)


DEMAND: Final = Codec(
    "XX.XXXX YYMMDDhhmm", 8, _demand_decode, _demand_encode, "demand", 4, True
)


def digits(fmt: str, size: int) -> Codec:
    """BCD digits kept as text in display order (addresses, meter numbers)."""

    def decode(data: bytes) -> str:
        _need(data, size, fmt)
        return data[::-1].hex().upper()

    def encode(value: str) -> bytes:
        if len(value) != 2 * size:
            raise LocalProtocolError(f"{fmt}: {value!r} needs {2 * size} digits")
        try:
            return bytes.fromhex(value)[::-1]
        except ValueError:
            raise LocalProtocolError(f"{fmt}: {value!r} is not BCD") from None

    return Codec(fmt, size, decode, encode, "digits", limit=2 * size)


def ascii_text(size: int) -> Codec:
    """ASCII text of ``size`` bytes, sent lowest byte first like every 645 item.

    The wire therefore holds the text reversed. Padding (NUL or space) is stripped
    on decode; encode pads with NUL.
    """
    fmt = f"ASCII×{size}"

    def decode(data: bytes) -> str:
        _need(data, size, fmt)
        return data[::-1].decode("ascii", errors="replace").strip("\x00 ")

    def encode(value: str) -> bytes:
        try:
            raw = value.encode("ascii")
        except UnicodeEncodeError:
            raise LocalProtocolError(f"{fmt}: {value!r} is not ASCII") from None
        if len(raw) > size:
            raise LocalProtocolError(f"{fmt}: {value!r} is too long")
        return raw.ljust(size, b"\x00")[::-1]

    return Codec(fmt, size, decode, encode, "ascii", limit=size)


@dataclass(frozen=True, slots=True)
class StatusWord:
    """A run status word (电表运行状态字): the raw value and its named bits.

    ``bits`` maps each named field to its value (0/1 for flags, a code for
    multi-bit fields); reserved bits are only in ``raw``.
    """

    raw: int
    bits: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.bits[name]


def status_word(fmt: str, size: int, bits: Sequence[tuple[str, int, int]]) -> Codec:
    """A binary status word of ``size`` bytes (lowest byte first) with named bits."""
    layout = tuple((name, lo, (1 << (hi - lo + 1)) - 1) for name, hi, lo in bits)
    top = 1 << (8 * size)

    def decode(data: bytes) -> StatusWord:
        _need(data, size, fmt)
        raw = int.from_bytes(data, "little")
        return StatusWord(raw, {n: (raw >> lo) & mask for n, lo, mask in layout})

    def encode(value: StatusWord | int) -> bytes:
        raw = value if isinstance(value, int) else value.raw
        if not 0 <= raw < top:
            raise LocalProtocolError(f"{fmt}: {raw:#x} does not fit {size} bytes")
        return raw.to_bytes(size, "little")

    return Codec(fmt, size, decode, encode, "status", limit=top - 1, bits=tuple(bits))
