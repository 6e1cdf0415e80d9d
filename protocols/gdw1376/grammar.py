"""Reference grammar of 1376.1 frames, declared with construct (STYLE F1).

This is the executable form of the standard's figures, kept independent of the fast
codec in ``frame.py`` and ``fields.py``: the tests parse every vector with both and
require the same answer, and the benchmark uses these structs (uncompiled) as its
baseline. It covers the link frame, DA/DT and the payloads the benchmark frames
carry (AFN0C F33, AFN0D F161, AFN10 F1 with an embedded DL/T 645 frame).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from construct import (
    Adapter,
    Array,
    BitsInteger,
    BitStruct,
    Byte,
    Bytes,
    Check,
    Checksum,
    Const,
    Flag,
    GreedyBytes,
    Int8ul,
    Int16ul,
    Prefixed,
    RawCopy,
    Struct,
    this,
)


class _BcdNumber(Adapter):  # type: ignore[misc]
    """Little-endian BCD with a decimal scale; EE fill decodes to None."""

    def __init__(self, size: int, scale: int) -> None:
        super().__init__(Bytes(size))
        self.scale: int = scale
        self.size: int = size

    def _decode(self, obj: bytes, context: Any, path: Any) -> float | None:
        if 0xEE in obj:
            return None
        value: float = int(obj[::-1].hex()) / 10**self.scale
        return value

    def _encode(self, obj: float | None, context: Any, path: Any) -> bytes:
        size = self.size
        if obj is None:
            return b"\xee" * size
        return bytes.fromhex(f"{round(obj * 10**self.scale):0{2 * size}d}")[::-1]


class _BcdDigits(Adapter):  # type: ignore[misc]
    """BCD bytes shown as their digits in display order (addresses, dates)."""

    def _decode(self, obj: bytes, context: Any, path: Any) -> str:
        return obj[::-1].hex().upper()

    def _encode(self, obj: str, context: Any, path: Any) -> bytes:
        return bytes.fromhex(obj)[::-1]


def _sum8(data: bytes) -> int:
    return sum(data) & 0xFF


Control = BitStruct(
    "dir" / Flag,
    "prm" / Flag,
    "acd_fcb" / Flag,
    "fcv" / Flag,
    "func" / BitsInteger(4),
)
Address = Struct(
    "a1" / _BcdDigits(Bytes(2)),
    "a2" / Int16ul,
    "a3" / BitStruct("msa" / BitsInteger(7), "group" / Flag),
)
Seq = BitStruct(
    "tpv" / Flag,
    "fir" / Flag,
    "fin" / Flag,
    "con" / Flag,
    "pseq" / BitsInteger(4),
)
Identifier = Struct("da1" / Byte, "da2" / Byte, "dt1" / Byte, "dt2" / Byte)
UserData = Struct(
    "control" / Control,
    "address" / Address,
    "afn" / Int8ul,
    "seq" / Seq,
    "app" / GreedyBytes,
)
#: The FT1.2 link frame (Std-2013 §4.3.1): 68 L L 68 user-data CS 16.
LinkFrame = Struct(
    Const(b"\x68"),
    "length" / Int16ul,
    "length2" / Int16ul,
    Check(this.length == this.length2),
    Check(this.length & 3 == 2),
    Const(b"\x68"),
    "user" / RawCopy(Bytes(this.length >> 2)),
    "cs" / Checksum(Int8ul, _sum8, this.user.data),
    Const(b"\x16"),
)

A14 = _BcdNumber(5, 4)
A11 = _BcdNumber(4, 2)
A15 = _BcdDigits(Bytes(5))  # mm hh DD MM YY, digits in display order YYMMDDhhmm
A20 = _BcdDigits(Bytes(3))
Tp = Struct("pfc" / Int8ul, "send_time" / _BcdDigits(Bytes(4)), "delay" / Int8ul)

#: AFN02 F3 heartbeat of a 2013 terminal: the clock (A.1, ss mm hh DD WM YY).
Afn02F3 = Struct("clock" / _BcdDigits(Bytes(6)))
#: AFN0C F33 response unit (Std-2013 §5.12, PROTOCOLS.md §1.11).
Afn0cF33 = Struct(
    "read_time" / A15,
    "tariff_count" / Int8ul,
    "forward_active" / Array(this.tariff_count + 1, A14),
    "forward_reactive" / Array(this.tariff_count + 1, A11),
    "q1_reactive" / Array(this.tariff_count + 1, A11),
    "q4_reactive" / Array(this.tariff_count + 1, A11),
)
#: AFN0D F161 response unit: daily frozen forward active energy.
Afn0dF161 = Struct(
    "td" / A20,
    "read_time" / A15,
    "tariff_count" / Int8ul,
    "forward_active" / Array(this.tariff_count + 1, A14),
)
#: DL/T 645 frame (PROTOCOLS.md §2.1); data still carries the +0x33 offset.
Dlt645 = Struct(
    Const(b"\x68"),
    "address" / _BcdDigits(Bytes(6)),
    Const(b"\x68"),
    "control" / Int8ul,
    "data" / Prefixed(Int8ul, GreedyBytes),
    "cs" / Int8ul,
    Const(b"\x16"),
)
#: AFN10 F1 uplink: port, k, k bytes of forwarded content (here a 645 frame).
Afn10F1Up = Struct(
    "port" / Int8ul,
    "length" / Int16ul,
    "content" / Dlt645,
)


def parse(frame: bytes, payload: Any = None, *, units: int = 1,
          tp: bool = False, ec: bool = False) -> dict[str, Any]:  # fmt: skip
    """Parse a frame with the reference grammar.

    ``payload`` is the struct of each unit's data (None when units carry none);
    ``units`` data units follow one identifier whose DA names that many points (one
    unit: an ordinary single identifier). AUX sizes are given by the caller, as the
    reference grammar knows no catalogue.
    """
    link = LinkFrame.parse(frame)
    user = UserData.parse(link.user.value)
    app: bytes = user.app
    aux = (6 if tp else 0) + (2 if ec else 0)
    body = app[: len(app) - aux] if aux else app
    parsed = units_struct(payload, units).parse(body)
    tp_value = Tp.parse(app[-6:]) if tp else None
    return {"link": link, "user": user, "units": parsed, "tp": tp_value}


@cache
def units_struct(payload: Any, units: int) -> Any:
    """One identifier followed by ``units`` payloads (Std-2013 §4.3.4.5 order)."""
    if payload is None:
        return Struct("id" / Identifier)
    return Struct("id" / Identifier, "data" / Array(units, payload))
