"""Q/GDW 1376.1-2013 appendix A data formats (数据格式 A.1–A.28), as one table.

Every format is a :class:`Format`: its size on the wire, a decoder ``(buf, offset) ->
value`` and an encoder ``value -> bytes``. All multi-byte formats are BCD, low byte
first (Std-2013 §4.2, appendix A).

Absent values: a terminal fills an item it does not have with 0xEE (Std-2013 §4.3.4.5);
some fill with 0xFF. A field holding any 0xEE byte, or only 0xFF bytes, decodes to
``None``, and ``None`` encodes as 0xEE fill. Any other non-BCD content raises
:class:`~protocols.errors.BadValue`.

Numbers are returned as ``int`` when the format has no decimals, else as ``float``
computed as ``int / 10**scale`` (correctly rounded, so ``repr`` gives back the exact
decimal string for the ≤ 10 significant digits these formats carry).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final, NamedTuple

from protocols.errors import BadValue, LocalProtocolError

Buffer = bytes | bytearray | memoryview

ABSENT: Final = 0xEE

# BCD byte -> 0..99, or -1 for a byte with a nibble above 9.
_BCD: Final[list[int]] = [-1] * 256
for _hi in range(10):
    for _lo in range(10):
        _BCD[_hi * 16 + _lo] = _hi * 10 + _lo
_TO_BCD: Final[bytes] = bytes((n // 10) * 16 + n % 10 for n in range(100))


def _invalid(buf: Buffer, off: int, size: int, name: str) -> None:
    """Classify a field that failed BCD decoding: absent (``None``) or BadValue."""
    if off < len(buf) and buf[off] == ABSENT:  # the usual EE fill: no copy needed
        return
    chunk = bytes(buf[off : off + size])
    if len(chunk) < size:
        raise BadValue(f"{name}: needs {size} bytes, {len(chunk)} left")
    if ABSENT in chunk or chunk == b"\xff" * size:
        return
    raise BadValue(f"{name}: not BCD: {chunk.hex(' ')}")


# --- unsigned little-endian BCD integers, unrolled per size (hot path) ------------


def _u1(b: Buffer, o: int) -> int:
    return _BCD[b[o]]


def _u2(b: Buffer, o: int) -> int:
    t = _BCD
    d0 = t[b[o]]
    d1 = t[b[o + 1]]
    return -1 if (d0 | d1) < 0 else d0 + 100 * d1


def _u3(b: Buffer, o: int) -> int:
    t = _BCD
    d0 = t[b[o]]
    d1 = t[b[o + 1]]
    d2 = t[b[o + 2]]
    return -1 if (d0 | d1 | d2) < 0 else d0 + 100 * d1 + 10000 * d2


def _u4(b: Buffer, o: int) -> int:
    t = _BCD
    d0 = t[b[o]]
    d1 = t[b[o + 1]]
    d2 = t[b[o + 2]]
    d3 = t[b[o + 3]]
    if (d0 | d1 | d2 | d3) < 0:
        return -1
    return d0 + 100 * d1 + 10000 * d2 + 1000000 * d3


def _u5(b: Buffer, o: int) -> int:
    t = _BCD
    d0 = t[b[o]]
    d1 = t[b[o + 1]]
    d2 = t[b[o + 2]]
    d3 = t[b[o + 3]]
    d4 = t[b[o + 4]]
    if (d0 | d1 | d2 | d3 | d4) < 0:
        return -1
    return d0 + 100 * d1 + 10000 * d2 + 1000000 * d3 + 100000000 * d4


def _u6(b: Buffer, o: int) -> int:
    lo = _u3(b, o)
    hi = _u3(b, o + 3)
    return -1 if (lo | hi) < 0 else lo + 1000000 * hi


# Two BCD bytes (as one little-endian 16-bit word) -> 0..9999. Invalid entries are
# hugely negative, so a sum that includes one stays negative whatever the others are.
_INVALID: Final = -(10**13)
_BCD1: Final[list[int]] = [_INVALID if v < 0 else v for v in _BCD]
_BCD2: Final[list[int]] = [
    _INVALID
    if _BCD[w & 0xFF] < 0 or _BCD[w >> 8] < 0
    else _BCD[w & 0xFF] + 100 * _BCD[w >> 8]
    for w in range(65536)
]
_WORDS: dict[tuple[int, int], struct.Struct] = {}


def _words(size: int, n: int) -> struct.Struct:
    key = (size, n)
    found = _WORDS.get(key)
    if found is None:
        found = struct.Struct("<" + ("HH" if size == 4 else "HHB") * n)
        if n <= 256:  # bounded cache: one entry per (size, count) actually seen
            _WORDS[key] = found
    return found


def _many4(b: Buffer, o: int, n: int, div: int) -> list[float | None]:
    w = _words(4, n).unpack_from(b, o)
    t = _BCD2
    return [
        v / div if v >= 0 else None
        for v in (
            t[lo] + 10000 * t[hi] for lo, hi in zip(w[0::2], w[1::2], strict=True)
        )
    ]


def _many5(b: Buffer, o: int, n: int, div: int) -> list[float | None]:
    w = _words(5, n).unpack_from(b, o)
    t, t1 = _BCD2, _BCD1
    out: list[float | None] = []
    for k in range(0, 3 * n, 3):
        v = t[w[k]] + 10000 * t[w[k + 1]] + 100000000 * t1[w[k + 2]]
        out.append(v / div if v >= 0 else None)
    return out


# Unrolled list decoders of unsigned BCD numbers, for A.11 / A.13 / A.27 and A.14
# (the energy registers that make up most reading traffic).
_MANY: Final = {4: _many4, 5: _many5}

_UNSIGNED: Final[dict[int, Callable[[Buffer, int], int]]] = {
    1: _u1,
    2: _u2,
    3: _u3,
    4: _u4,
    5: _u5,
    6: _u6,
}


_B1: Final = [bytes((_TO_BCD[n],)) for n in range(100)]  # 0..99 -> one BCD byte
_B2: Final = [bytes((_TO_BCD[n % 100], _TO_BCD[n // 100])) for n in range(10000)]
# n (already range-checked) -> its little-endian BCD bytes, per field size.
_PACK: Final[dict[int, Callable[[int], bytes]]] = {
    1: lambda n: _B1[n],
    2: lambda n: _B2[n],
    3: lambda n: _B2[n % 10000] + _B1[n // 10000],
    4: lambda n: _B2[n % 10000] + _B2[n // 10000],
    5: lambda n: _B2[n % 10000] + _B2[n // 10000 % 10000] + _B1[n // 100000000],
    6: lambda n: _B2[n % 10000] + _B2[n // 10000 % 10000] + _B2[n // 100000000],
}


def bcd_le(value: int, size: int) -> bytes:
    """Encode a non-negative integer as ``size`` BCD bytes, low byte first."""
    if value < 0 or value >= 100**size:
        raise LocalProtocolError(f"{value} does not fit {size} BCD bytes")
    # The decimal digits of the number are its BCD nibbles, high byte first.
    return bytes.fromhex(f"{value:0{2 * size}d}")[::-1]


def bcd_digits(buf: Buffer, off: int, size: int) -> str:
    """The BCD digits of a little-endian field in display order (e.g. an address)."""
    return bytes(buf[off : off + size])[::-1].hex().upper()


# --- the Format record ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Format:
    """One wire data format: fixed size, decoder and encoder.

    ``kind``, ``digits``, ``scale`` and ``signed`` describe the value domain, so tests
    can generate values and tools can explain fields without reading code.
    """

    name: str
    size: int
    decode: Callable[[Buffer, int], Any]
    encode: Callable[[Any], bytes]
    description: str
    unit: str = ""
    kind: str = "number"
    digits: int = 0
    scale: int = 0
    signed: bool = False
    #: ``(buf, offset, count) -> list``: many consecutive values at once, where a
    #: format has a faster way than one call per value (the bulk reading formats).
    decode_many: Callable[[Buffer, int, int], list[Any]] | None = None

    def __repr__(self) -> str:
        return f"Format({self.name})"


def _number(
    name: str,
    size: int,
    scale: int,
    description: str,
    unit: str = "",
    *,
    signed: bool = False,
) -> Format:
    """A little-endian BCD number; when ``signed``, D7 of the last byte is the sign.

    A signed format keeps three bits for its top digit, so it reaches 7 at most
    (A.5 is ±799.9, A.9 ±79.9999, A.25 ±799.999).
    """
    digits = 2 * size
    divisor = 10**scale
    raw = _UNSIGNED[size]
    limit = 8 * 10 ** (digits - 1) if signed else 10**digits
    last = size - 1
    if size > 1:
        body = _UNSIGNED[size - 1]

    if not signed:

        def decode(b: Buffer, o: int) -> Any:
            v = raw(b, o)
            if v < 0:
                _invalid(b, o, size, name)
                return None
            return v / divisor if scale else v

    else:

        def decode(b: Buffer, o: int) -> Any:
            top = b[o + last]
            high = _BCD[top & 0x7F]
            low = body(b, o) if size > 1 else 0
            if (high | low) < 0:
                _invalid(b, o, size, name)
                return None
            v = low + high * 100**last
            if top & 0x80:
                v = -v
            return v / divisor if scale else v

    absent = b"\xee" * size
    pack = _PACK[size]

    def encode(value: Any) -> bytes:
        if value is None:
            return absent
        n = round(value * divisor) if scale else int(value)
        if 0 <= n < limit:
            return pack(n)
        if n >= 0 or not signed:
            raise LocalProtocolError(f"{name}: {value} is out of range")
        if -n >= limit:
            raise LocalProtocolError(f"{name}: {value} is out of range")
        out = bytearray(pack(-n))
        out[last] |= 0x80
        return bytes(out)

    many = _MANY.get(size) if scale and not signed else None
    decode_many = None
    if many is not None:
        m = many

        def decode_many(b: Buffer, o: int, n: int) -> list[Any]:
            values = m(b, o, n, divisor)
            if None in values:  # absent (EE fill) or invalid: classify each
                for k, v in enumerate(values):
                    if v is None and b[o + k * size] != ABSENT:
                        _invalid(b, o + k * size, size, name)
            return values

    return Format(
        name,
        size,
        decode,
        encode,
        description,
        unit,
        "number",
        digits,
        scale,
        signed,
        decode_many,
    )


# --- A.1 date and time with weekday --------------------------------------------------


def _a1_decode(b: Buffer, o: int) -> datetime | None:
    t = _BCD
    ss = t[b[o]]
    mi = t[b[o + 1]]
    hh = t[b[o + 2]]
    dd = t[b[o + 3]]
    mo = t[b[o + 4] & 0x1F]
    yy = t[b[o + 5]]
    if (ss | mi | hh | dd | mo | yy) < 0:
        _invalid(b, o, 6, "A.1")
        return None
    try:
        return datetime(2000 + yy, mo, dd, hh, mi, ss)
    except ValueError as exc:
        raise BadValue(f"A.1: {exc}") from None


def _a1_encode(value: datetime | None) -> bytes:
    if value is None:
        return b"\xee" * 6
    week = value.isoweekday()  # 1 = Monday ... 7 = Sunday, as A.1 defines
    return bytes(
        (
            _TO_BCD[value.second],
            _TO_BCD[value.minute],
            _TO_BCD[value.hour],
            _TO_BCD[value.day],
            (week << 5) | _TO_BCD[value.month],
            _TO_BCD[value.year - 2000],
        )
    )


# --- A.2 three digits with a decimal exponent ---------------------------------------

# G3 G2 G1 = 0..7 -> 10^4 ... 10^-3 (table A.3)
_A2_EXP: Final = (4, 3, 2, 1, 0, -1, -2, -3)


def _a2_decode(b: Buffer, o: int) -> float | None:
    b1 = b[o]
    b2 = b[o + 1]
    lo = _BCD[b1]
    hundreds = b2 & 0x0F
    if lo < 0 or hundreds > 9:
        _invalid(b, o, 2, "A.2")
        return None
    mantissa = hundreds * 100 + lo
    exp = _A2_EXP[b2 >> 5]
    value = float(mantissa * 10**exp) if exp >= 0 else mantissa / 10**-exp
    return -value if b2 & 0x10 else value


def _a2_encode(value: float | None) -> bytes:
    if value is None:
        return b"\xee\xee"
    sign = 0x10 if value < 0 else 0
    mag = abs(value)
    # Smallest exponent (most precision) whose mantissa fits three digits.
    for g, exp in enumerate(reversed(_A2_EXP)):
        mantissa = mag / 10**exp if exp >= 0 else mag * 10**-exp
        rounded = round(mantissa)
        if rounded <= 999:
            gbits = 7 - g
            return bytes((_TO_BCD[rounded % 100], (gbits << 5) | sign | rounded // 100))
    raise LocalProtocolError(f"A.2: {value} exceeds 999 × 10^4")


# --- A.3 seven digits with unit selector --------------------------------------------


def _a3_decode(b: Buffer, o: int) -> int | None:
    low = _u3(b, o)
    top = b[o + 3]
    millions = top & 0x0F
    if low < 0 or millions > 9:
        _invalid(b, o, 4, "A.3")
        return None
    v = low + millions * 1000000
    if top & 0x40:  # G = 1: MWh / 元, returned in kWh / 厘 (× 1000)
        v *= 1000
    return -v if top & 0x10 else v


def _a3_encode(value: int | None) -> bytes:
    if value is None:
        return b"\xee" * 4
    sign = 0x10 if value < 0 else 0
    mag = abs(int(value))
    g = 0
    if mag > 9999999:
        if mag % 1000:
            raise LocalProtocolError(f"A.3: {value} needs more than 7 digits")
        mag //= 1000
        g = 0x40
        if mag > 9999999:
            raise LocalProtocolError(f"A.3: {value} exceeds 9999999 MWh")
    return bcd_le(mag % 1000000, 3) + bytes((g | sign | mag // 1000000,))


# --- A.4 percentage with up/down flag -----------------------------------------------


def _a4_decode(b: Buffer, o: int) -> int | None:
    v = _BCD[b[o] & 0x7F]
    if v < 0 or v > 79:
        _invalid(b, o, 1, "A.4")
        return None
    return -v if b[o] & 0x80 else v


def _a4_encode(value: int | None) -> bytes:
    if value is None:
        return b"\xee"
    if abs(value) > 79:
        raise LocalProtocolError(f"A.4: {value} outside ±79")
    return bytes((_TO_BCD[abs(value)] | (0x80 if value < 0 else 0),))


# --- calendar formats ----------------------------------------------------------------


class DayTime(NamedTuple):
    """A.16 (ss mm hh DD) and A.18 (mm hh DD; ``second`` is None): no month or year."""

    day: int
    hour: int
    minute: int
    second: int | None = None


class MonthTime(NamedTuple):
    """A.17: mm hh DD MM (no year)."""

    month: int
    day: int
    hour: int
    minute: int


class YearMonth(NamedTuple):
    """A.21: MM YY."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class DayHour(NamedTuple):
    """A.24: hh DD."""

    day: int
    hour: int


class GeoAngle(NamedTuple):
    """A.28: longitude or latitude as degrees, minutes and seconds (0.01 s).

    ``negative`` is the F flag: west longitude or south latitude.
    """

    degrees: int
    minutes: int
    seconds: float
    negative: bool = False


def _digits(b: Buffer, o: int, n: int, name: str) -> list[int] | None:
    """``n`` BCD bytes as a list of 0..99 values, or None when absent."""
    out = [_BCD[x] for x in b[o : o + n]]
    if len(out) < n or min(out) < 0:
        _invalid(b, o, n, name)
        return None
    return out


def _a15_decode(b: Buffer, o: int) -> datetime | None:
    t = _BCD
    mi = t[b[o]]
    hh = t[b[o + 1]]
    dd = t[b[o + 2]]
    mo = t[b[o + 3]]
    yy = t[b[o + 4]]
    if (mi | hh | dd | mo | yy) < 0:
        _invalid(b, o, 5, "A.15")
        return None
    try:
        return datetime(2000 + yy, mo, dd, hh, mi)
    except ValueError as exc:
        raise BadValue(f"A.15: {exc}") from None


def _a15_encode(v: datetime | None) -> bytes:
    if v is None:
        return b"\xee" * 5
    return bytes(_TO_BCD[x] for x in (v.minute, v.hour, v.day, v.month, v.year - 2000))


def _a16_decode(b: Buffer, o: int) -> DayTime | None:
    t = _BCD
    ss = t[b[o]]
    mi = t[b[o + 1]]
    hh = t[b[o + 2]]
    dd = t[b[o + 3]]
    if (ss | mi | hh | dd) < 0:
        _invalid(b, o, 4, "A.16")
        return None
    return DayTime(dd, hh, mi, ss)


def _a16_encode(v: DayTime | None) -> bytes:
    if v is None:
        return b"\xee" * 4
    return bytes(_TO_BCD[x] for x in (v.second or 0, v.minute, v.hour, v.day))


def _a17_decode(b: Buffer, o: int) -> MonthTime | None:
    d = _digits(b, o, 4, "A.17")
    return None if d is None else MonthTime(d[3], d[2], d[1], d[0])


def _a17_encode(v: MonthTime | None) -> bytes:
    if v is None:
        return b"\xee" * 4
    return bytes(_TO_BCD[x] for x in (v.minute, v.hour, v.day, v.month))


def _a18_decode(b: Buffer, o: int) -> DayTime | None:
    d = _digits(b, o, 3, "A.18")
    return None if d is None else DayTime(d[2], d[1], d[0])


def _a18_encode(v: DayTime | None) -> bytes:
    if v is None:
        return b"\xee" * 3
    return bytes(_TO_BCD[x] for x in (v.minute, v.hour, v.day))


def _a19_decode(b: Buffer, o: int) -> time | None:
    d = _digits(b, o, 2, "A.19")
    if d is None:
        return None
    try:
        return time(d[1], d[0])
    except ValueError as exc:
        raise BadValue(f"A.19: {exc}") from None


def _a19_encode(v: time | None) -> bytes:
    if v is None:
        return b"\xee" * 2
    return bytes((_TO_BCD[v.minute], _TO_BCD[v.hour]))


def _a20_decode(b: Buffer, o: int) -> date | None:
    t = _BCD
    dd = t[b[o]]
    mo = t[b[o + 1]]
    yy = t[b[o + 2]]
    if (dd | mo | yy) < 0:
        _invalid(b, o, 3, "A.20")
        return None
    try:
        return date(2000 + yy, mo, dd)
    except ValueError as exc:
        raise BadValue(f"A.20: {exc}") from None


def _a20_encode(v: date | None) -> bytes:
    if v is None:
        return b"\xee" * 3
    return bytes((_TO_BCD[v.day], _TO_BCD[v.month], _TO_BCD[v.year - 2000]))


def _a21_decode(b: Buffer, o: int) -> YearMonth | None:
    d = _digits(b, o, 2, "A.21")
    if d is None:
        return None
    if not 1 <= d[0] <= 12:
        raise BadValue(f"A.21: month {d[0]}")
    return YearMonth(2000 + d[1], d[0])


def _a21_encode(v: YearMonth | None) -> bytes:
    if v is None:
        return b"\xee" * 2
    return bytes((_TO_BCD[v.month], _TO_BCD[v.year - 2000]))


def _a24_decode(b: Buffer, o: int) -> DayHour | None:
    d = _digits(b, o, 2, "A.24")
    return None if d is None else DayHour(d[1], d[0])


def _a24_encode(v: DayHour | None) -> bytes:
    if v is None:
        return b"\xee" * 2
    return bytes((_TO_BCD[v.hour], _TO_BCD[v.day]))


def _a28_decode(b: Buffer, o: int) -> GeoAngle | None:
    # sec.01 | sec | min | deg (tens, units) | F, reserved, deg hundreds
    top = b[o + 4]
    d = _digits(b, o, 4, "A.28")
    if d is None or top == ABSENT:
        return None
    hundreds = top & 0x0F
    if hundreds > 9:
        raise BadValue(f"A.28: degree hundreds {hundreds}")
    return GeoAngle(
        hundreds * 100 + d[3], d[2], (d[1] * 100 + d[0]) / 100, bool(top & 0x80)
    )


def _a28_encode(v: GeoAngle | None) -> bytes:
    if v is None:
        return b"\xee" * 5
    centis = round(v.seconds * 100)
    return bytes(
        (
            _TO_BCD[centis % 100],
            _TO_BCD[centis // 100],
            _TO_BCD[v.minutes],
            _TO_BCD[v.degrees % 100],
            (0x80 if v.negative else 0) | v.degrees // 100,
        )
    )


def _a12_decode(b: Buffer, o: int) -> str | None:
    chunk = bytes(b[o : o + 6])
    if len(chunk) < 6:
        raise BadValue("A.12: truncated")
    if chunk == b"\xee" * 6:
        return None
    # Addresses are kept as printed, including wildcard digits (A) some tools use.
    return chunk[::-1].hex().upper()


def _a12_encode(v: str | None) -> bytes:
    if v is None:
        return b"\xee" * 6
    if len(v) != 12:
        raise LocalProtocolError(f"A.12: address {v!r} must have 12 digits")
    try:
        return bytes.fromhex(v)[::-1]
    except ValueError:
        raise LocalProtocolError(f"A.12: address {v!r} is not hex/BCD") from None


def _fmt(
    name: str,
    size: int,
    dec: Callable[[Buffer, int], Any],
    enc: Callable[[Any], bytes],
    description: str,
    kind: str,
    unit: str = "",
) -> Format:
    return Format(name, size, dec, enc, description, unit, kind)


A1 = _fmt("A.1", 6, _a1_decode, _a1_encode, "date-time with weekday", "datetime")
A2 = Format(
    "A.2", 2, _a2_decode, _a2_encode, "±3 digits × 10^(4…-3)", "kW", "a2", 3, 3, True
)
A3 = Format(
    "A.3", 4, _a3_decode, _a3_encode, "±7 digits, kWh/厘 or MWh/元", "kWh", "a3", 7
)
A4 = Format(
    "A.4",
    1,
    _a4_decode,
    _a4_encode,
    "float coefficient ±0…79",
    "%",
    "number",
    2,
    0,
    True,
)
A5 = _number("A.5", 2, 1, "±XXX.X", "%", signed=True)
A6 = _number("A.6", 2, 2, "±XX.XX", signed=True)
A7 = _number("A.7", 2, 1, "XXX.X", "V")
A8 = _number("A.8", 2, 0, "XXXX")
A9 = _number("A.9", 3, 4, "±XX.XXXX", "kW", signed=True)
A10 = _number("A.10", 3, 0, "XXXXXX")
A11 = _number("A.11", 4, 2, "XXXXXX.XX", "kvarh")
A12 = _fmt("A.12", 6, _a12_decode, _a12_encode, "12-digit address", "address")
A13 = _number("A.13", 4, 4, "XXXX.XXXX")
A14 = _number("A.14", 5, 4, "XXXXXX.XXXX", "kWh")
A15 = _fmt("A.15", 5, _a15_decode, _a15_encode, "mm hh DD MM YY", "datetime_min")
A16 = _fmt("A.16", 4, _a16_decode, _a16_encode, "ss mm hh DD", "daytime")
A17 = _fmt("A.17", 4, _a17_decode, _a17_encode, "mm hh DD MM", "monthtime")
A18 = _fmt("A.18", 3, _a18_decode, _a18_encode, "mm hh DD", "daytime_min")
A19 = _fmt("A.19", 2, _a19_decode, _a19_encode, "mm hh", "time")
A20 = _fmt("A.20", 3, _a20_decode, _a20_encode, "DD MM YY", "date")
A21 = _fmt("A.21", 2, _a21_decode, _a21_encode, "MM YY", "yearmonth")
A22 = _number("A.22", 1, 1, "X.X", "A")
A23 = _number("A.23", 3, 4, "XX.XXXX", "kVA")
A24 = _fmt("A.24", 2, _a24_decode, _a24_encode, "hh DD", "dayhour")
A25 = _number("A.25", 3, 3, "±XXX.XXX", "A", signed=True)
A26 = _number("A.26", 2, 3, "X.XXX")
A27 = _number("A.27", 4, 0, "XXXXXXXX")
A28 = _fmt("A.28", 5, _a28_decode, _a28_encode, "degrees/minutes/seconds", "geo")

#: Appendix A, one entry per format.
APPENDIX_A: Final[dict[str, Format]] = {
    f.name: f
    for f in (
        A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14,
        A15, A16, A17, A18, A19, A20, A21, A22, A23, A24, A25, A26, A27, A28,
    )
}  # fmt: skip


# --- binary and text formats used beside appendix A ---------------------------------


def _bin(size: int) -> Format:
    def decode(b: Buffer, o: int) -> int:
        if size == 1:
            return b[o]
        return int.from_bytes(b[o : o + size], "little")

    def encode(v: int) -> bytes:
        try:
            return int(v).to_bytes(size, "little")
        except OverflowError:
            raise LocalProtocolError(f"BIN{size}: {v} does not fit") from None

    return Format(f"BIN{size}", size, decode, encode, f"{size}-byte binary", "", "bin")


BIN1 = _bin(1)
BIN2 = _bin(2)
BIN3 = _bin(3)
BIN4 = _bin(4)


def ascii_format(size: int) -> Format:
    """ASCII text in string order, padded with 0x00 (Std-2013 §5.5.1.3.3)."""

    def decode(b: Buffer, o: int) -> str:
        raw = bytes(b[o : o + size])
        return raw.split(b"\x00", 1)[0].decode("ascii", errors="replace")

    def encode(v: str) -> bytes:
        raw = v.encode("ascii")
        if len(raw) > size:
            raise LocalProtocolError(f"ASCII{size}: {v!r} too long")
        return raw.ljust(size, b"\x00")

    return Format(
        f"ASCII{size}", size, decode, encode, f"{size}-byte ASCII", "", "ascii"
    )


def bytes_format(size: int) -> Format:
    """Opaque bytes kept as they are (passwords, MACs, reserved areas)."""

    def decode(b: Buffer, o: int) -> bytes:
        return bytes(b[o : o + size])

    def encode(v: bytes) -> bytes:
        if len(v) != size:
            raise LocalProtocolError(f"BYTES{size}: got {len(v)} bytes")
        return bytes(v)

    return Format(
        f"BYTES{size}", size, decode, encode, f"{size} raw bytes", "", "bytes"
    )


def _ipv4_decode(b: Buffer, o: int) -> str:
    return ".".join(str(x) for x in b[o : o + 4])


def _ipv4_encode(v: str) -> bytes:
    parts = v.split(".")
    if len(parts) != 4:
        raise LocalProtocolError(f"IPv4: {v!r}")
    try:
        return bytes(int(p) for p in parts)
    except ValueError:
        raise LocalProtocolError(f"IPv4: {v!r}") from None


IPV4 = Format("IPv4", 4, _ipv4_decode, _ipv4_encode, "IPv4 address", "", "ipv4")
