"""Q/GDW 1376.1 link frame and application layer (Std-2013 §4.3).

Layout::

    offset  size  field
    0       1     68
    1       2     L  (LE; D1-D0 protocol id = 2, D15-D2 user-data length L1)
    3       2     L  (repeated)
    5       1     68
    6       1     C    DIR | PRM | FCB/ACD | FCV | function
    7       2     A1   region code, BCD LE
    9       2     A2   terminal address, BIN LE
    11      1     A3   D7-D1 master station address (MSA), D0 group flag
    12      1     AFN
    13      1     SEQ  TpV | FIR | FIN | CON | PSEQ/RSEQ
    14      ...   DA DT data, DA DT data, ...
    ...     ...   AUX: PW (16, downlink AFN 01/04/05/06/0F/10) or EC (2, uplink with
                  ACD=1), then Tp (6) when TpV=1
    6+L1    1     CS   sum of C ... last AUX byte, mod 256
    7+L1    1     16

AUX is sized from the end of the frame (Tp, then EC, then PW), which works for every
published frame and for the 2-byte-PW dialect (PROTOCOLS.md §1.9).

This module is the hot path: it uses ``struct`` and lookup tables, not construct
(``grammar.py`` holds the construct reference and the tests check both agree).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

from protocols.errors import (
    BadChecksum,
    BadDelimiter,
    BadLength,
    BadValue,
    FrameError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    Truncated,
    UnknownFunction,
)
from protocols.gdw1376.formats import A16, Buffer, DayTime
from protocols.gdw1376.registry import REGISTRY, Dir, lookup

START: Final = 0x68
END: Final = 0x16
PROTOCOL_ID: Final = 2  # "this protocol": both 376.1-2009 and 1376.1-2013
PROTOCOL_ID_130_2005: Final = 1
MIN_L1: Final = 8  # C + A + AFN + SEQ
MAX_L1: Final = 16383  # network channels (Std-2013 §4.3.3.1)
HEADER_SIZE: Final = 14
ALL_POINTS: Final = 0xFFFF  # DA1 = FF, DA2 = 00: every valid measuring point

HEADER_STRUCT = struct.Struct("<BHHBBHHBBB")
_A1: Final = tuple(f"{b:02X}" for b in range(256))  # A1 byte -> its two digits


class BadProtocolId(FrameError):
    """The L field's protocol identifier is not 1376.1 (D1D0 = 10)."""

    reason = "bad_protocol_id"


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between real fleets; the default is the standard.

    ``pw_len``: 16 by the standard, 2 in at least one provincial dialect (S6).
    ``protocol_ids``: add 1 to accept Q/GDW 130-2005-era terminals.
    """

    pw_len: int = 16
    pw_afns: frozenset[int] = frozenset({0x01, 0x04, 0x05, 0x06, 0x0F, 0x10})
    protocol_ids: frozenset[int] = frozenset({PROTOCOL_ID})
    max_l1: int = MAX_L1


STANDARD: Final = Dialect()


# --- control field -------------------------------------------------------------------

DIR_BIT: Final = 0x80
PRM_BIT: Final = 0x40
ACD_BIT: Final = 0x20  # uplink
FCB_BIT: Final = 0x20  # downlink
FCV_BIT: Final = 0x10  # downlink


class Func:
    """Function codes (Std-2013 §4.3.3.2.5)."""

    # PRM = 1
    RESET = 1
    USER_DATA = 4  # send / no reply
    LINK_TEST = 9
    REQUEST_CLASS1 = 10
    REQUEST_CLASS2 = 11
    # PRM = 0
    CONFIRM = 0
    RESPONSE = 8
    DENY_NO_DATA = 9
    LINK_STATUS = 11


#: (PRM, function code) -> name, for tools (Std-2013 tables 3 and 4).
FUNC_NAMES: Final[dict[tuple[int, int], str]] = {
    (1, Func.RESET): "reset command",
    (1, Func.USER_DATA): "user data (send/no reply)",
    (1, Func.LINK_TEST): "link test",
    (1, Func.REQUEST_CLASS1): "request class-1 data",
    (1, Func.REQUEST_CLASS2): "request class-2 data",
    (0, Func.CONFIRM): "confirm",
    (0, Func.RESPONSE): "user data response",
    (0, Func.DENY_NO_DATA): "deny: no requested data",
    (0, Func.LINK_STATUS): "link status",
}


def control(*, up: bool, prm: bool, func: int, acd_fcb: bool = False,
            fcv: bool = False) -> int:  # fmt: skip
    return (
        (DIR_BIT if up else 0)
        | (PRM_BIT if prm else 0)
        | (ACD_BIT if acd_fcb else 0)
        | (FCV_BIT if fcv else 0)
        | (func & 0x0F)
    )


# --- SEQ -----------------------------------------------------------------------------

TPV_BIT: Final = 0x80
FIR_BIT: Final = 0x40
FIN_BIT: Final = 0x20
CON_BIT: Final = 0x10
PSEQ_MASK: Final = 0x0F  # PSEQ of a request, RSEQ of a response
SINGLE: Final = FIR_BIT | FIN_BIT


def seq(pseq: int, *, con: bool = False, tpv: bool = False, fir: bool = True,
        fin: bool = True) -> int:  # fmt: skip
    return (
        (TPV_BIT if tpv else 0)
        | (FIR_BIT if fir else 0)
        | (FIN_BIT if fin else 0)
        | (CON_BIT if con else 0)
        | (pseq & 0x0F)
    )


# --- frame objects -------------------------------------------------------------------


class Tp(NamedTuple):
    """Time label 时间标签 (Std-2013 §4.3.4.6.4): PFC, send time (A.16), delay (min)."""

    pfc: int
    send_time: DayTime | None
    delay: int


#: (PW, EC, Tp or its 6 raw bytes, decoded on first access)
Aux = tuple[bytes | None, tuple[int, int] | None, Tp | bytes | None]


@dataclass(slots=True)
class DataUnit:
    """One (pn, Fn) data unit. ``data`` is the decoded layout object, or None.

    When the unit could not be decoded, ``error`` says why and ``raw`` keeps the bytes
    (for an unknown Fn: everything up to AUX, since later units cannot be found).
    """

    pn: int
    fn: int
    data: Any = None
    error: ProtocolError | None = field(default=None, compare=False)
    raw: bytes | None = field(default=None, compare=False)


class Frame:
    """A 1376.1 frame: link-layer fields, data units and AUX. Bits are properties.

    A frame decoded from the wire decodes its data units on first access of
    :attr:`units`: the link layer (envelope, C, A, AFN, SEQ, AUX) is all a host needs
    to confirm a heartbeat or route a frame, and it costs a fraction of the units.
    Equality ignores ``raw``.
    """

    # a1_word: A1 as its wire word, 0x4403 for "4403" (the a1 property gives the digits)
    __slots__ = (
        "_aux",
        "_end",
        "_units",
        "a1_word",
        "a2",
        "a3",
        "afn",
        "c",
        "raw",
        "seq",
    )

    def __init__(
        self,
        c: int,
        a1: str,  # region code digits as printed on the terminal label, e.g. "0171"
        a2: int,
        a3: int,
        afn: int,
        seq: int,
        units: list[DataUnit] | None = None,
        pw: bytes | None = None,
        ec: tuple[int, int] | None = None,
        tp: Tp | None = None,
        raw: bytes = b"",
        units_end: int = 0,
    ) -> None:
        self.c = c
        self.a1 = a1
        self.a2 = a2
        self.a3 = a3
        self.afn = afn
        self.seq = seq
        self._units = units
        # (PW, EC, Tp or its 6 raw bytes), or None: most frames carry no AUX.
        # (PW, EC, Tp or its 6 raw bytes); None when the frame carries no AUX; True
        # for a received frame whose AUX is still on the wire (split on access).
        self._aux: Aux | Literal[True] | None
        self._aux = None if pw is None and ec is None and tp is None else (pw, ec, tp)
        self.raw = raw
        self._end = units_end  # end of the DA/DT area in raw, for lazy decoding

    @property
    def a1(self) -> str:
        """Region code (行政区划码) digits as printed on the terminal label."""
        a1 = self.a1_word
        return _A1[a1 >> 8] + _A1[a1 & 0xFF]

    @a1.setter
    def a1(self, value: str) -> None:
        if len(value) != 4:
            raise LocalProtocolError(f"A1 {value!r} is not 4 digits")
        try:
            self.a1_word = int(value, 16)
        except ValueError:
            raise LocalProtocolError(f"A1 {value!r} is not 4 digits") from None

    @property
    def address(self) -> tuple[int, int]:
        """(A1 word, A2): the terminal's identity, cheap to hash."""
        return self.a1_word, self.a2

    @property
    def pw(self) -> bytes | None:
        """Message authentication code (PW) of a downlink frame."""
        aux = self._aux_fields()
        return None if aux is None else aux[0]

    @pw.setter
    def pw(self, value: bytes | None) -> None:
        self._set_aux(value, self.ec, self.tp)

    @property
    def ec(self) -> tuple[int, int] | None:
        """Event counters (EC1 important, EC2 normal), sent with ACD=1."""
        aux = self._aux_fields()
        return None if aux is None else aux[1]

    @ec.setter
    def ec(self, value: tuple[int, int] | None) -> None:
        self._set_aux(self.pw, value, self.tp)

    @property
    def tp(self) -> Tp | None:
        """Time label (Tp); decoded from the wire on first access."""
        aux = self._aux_fields()
        if aux is None:
            return None
        pw, ec, tp = aux
        if tp is None or isinstance(tp, Tp):
            return tp
        send: DayTime | None
        try:
            send = A16.decode(tp, 1)
        except BadValue:  # a garbled send time does not make the frame unusable
            send = None
        decoded = Tp(tp[0], send, tp[5])
        self._aux = (pw, ec, decoded)
        return decoded

    @tp.setter
    def tp(self, value: Tp | None) -> None:
        self._set_aux(self.pw, self.ec, value)

    def _set_aux(
        self, pw: bytes | None, ec: tuple[int, int] | None, tp: Tp | None
    ) -> None:
        self._aux = None if pw is None and ec is None and tp is None else (pw, ec, tp)

    def _aux_fields(self) -> Aux | None:
        """(PW, EC, Tp or its raw bytes), split from the wire on first access."""
        aux = self._aux
        if aux is not True:
            return aux
        # AUX of a received frame lies between the units and CS: PW (downlink),
        # EC (uplink with ACD=1), then Tp (TpV=1); its length was checked on receipt.
        raw, at, cs, c = self.raw, self._end, len(self.raw) - 2, self.c
        pw = ec = tp = None
        if self.seq & TPV_BIT:
            cs -= 6
            tp = raw[cs : cs + 6]
        if c & DIR_BIT:
            if c & ACD_BIT:
                ec = (raw[at], raw[at + 1])
        elif cs > at:
            pw = raw[at:cs]
        self._aux = split = (pw, ec, tp)
        return split

    @property
    def fn(self) -> int | None:
        """Fn of the first data unit, read from its DT without decoding any unit."""
        if self._units is None and self._end >= HEADER_SIZE + 4:
            raw = self.raw
            fns = _FNS.get(raw[16] | raw[17] << 8)
            if fns:
                return fns[0]
        units = self.units
        return units[0].fn if units else None

    @property
    def units(self) -> list[DataUnit]:
        units = self._units
        if units is None:
            d = 1 if self.c & DIR_BIT else 0
            units = decode_units(self.afn, d, self.raw, HEADER_SIZE, self._end)
            self._units = units
        return units

    @units.setter
    def units(self, value: list[DataUnit]) -> None:
        self._units = value

    def _key(self) -> tuple[object, ...]:
        return (self.c, self.a1, self.a2, self.a3, self.afn, self.seq, self.units,
                self.pw, self.ec, self.tp)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Frame(c={self.c:#04x}, a1={self.a1!r}, a2={self.a2}, a3={self.a3}, "
            f"afn={self.afn:#04x}, seq={self.seq:#04x}, units={self.units!r}, "
            f"pw={self.pw!r}, ec={self.ec!r}, tp={self.tp!r})"
        )

    # control
    @property
    def up(self) -> bool:
        return bool(self.c & DIR_BIT)

    @property
    def dir(self) -> Dir:
        return Dir.UP if self.c & DIR_BIT else Dir.DOWN

    @property
    def prm(self) -> bool:
        return bool(self.c & PRM_BIT)

    @property
    def acd(self) -> bool:
        return bool(self.c & DIR_BIT and self.c & ACD_BIT)

    @property
    def fcb(self) -> bool:
        return not self.c & DIR_BIT and bool(self.c & FCB_BIT)

    @property
    def fcv(self) -> bool:
        return not self.c & DIR_BIT and bool(self.c & FCV_BIT)

    @property
    def func(self) -> int:
        return self.c & 0x0F

    # address
    @property
    def msa(self) -> int:
        return self.a3 >> 1

    @property
    def group(self) -> bool:
        return bool(self.a3 & 1)

    # SEQ
    @property
    def tpv(self) -> bool:
        return bool(self.seq & TPV_BIT)

    @property
    def fir(self) -> bool:
        return bool(self.seq & FIR_BIT)

    @property
    def fin(self) -> bool:
        return bool(self.seq & FIN_BIT)

    @property
    def con(self) -> bool:
        return bool(self.seq & CON_BIT)

    @property
    def pseq(self) -> int:
        """PSEQ of a request, RSEQ of a response (the low four bits of SEQ)."""
        return self.seq & PSEQ_MASK

    @property
    def ok(self) -> bool:
        return all(u.error is None for u in self.units)

    @property
    def errors(self) -> list[ProtocolError]:
        return [u.error for u in self.units if u.error is not None]


# --- DA / DT -------------------------------------------------------------------------

_BITS: Final[tuple[tuple[int, ...], ...]] = tuple(
    tuple(i for i in range(8) if v >> i & 1) for v in range(256)
)
# DT (dt1, dt2) -> Fn tuple; DT2 > 30 is undefined (Std-2013 §4.3.4.4.3).
_FNS: Final[dict[int, tuple[int, ...]]] = {
    dt2 << 8 | dt1: tuple(dt2 * 8 + i + 1 for i in _BITS[dt1])
    for dt2 in range(31)
    for dt1 in range(256)
}


_P0: Final = (0,)
_DA_DT: Final = struct.Struct("<HH")
# DA (LE 16-bit) -> points; filled on first use, at most 65536 entries.
_PNS: dict[int, tuple[int, ...]] = {}


def _pns_cached(da: int) -> tuple[int, ...]:
    pns = _PNS.get(da)
    if pns is None:
        pns = _PNS[da] = pns_of(da & 0xFF, da >> 8)
    return pns


def pns_of(da1: int, da2: int) -> tuple[int, ...]:
    """Measuring points named by DA (ascending)."""
    if da2 == 0:
        if da1 == 0:
            return _P0
        if da1 == 0xFF:
            return (ALL_POINTS,)
        raise BadValue(f"DA {da1:02X} 00 names no point")
    base = (da2 - 1) * 8 + 1
    return tuple(base + i for i in _BITS[da1])


def fns_of(dt1: int, dt2: int) -> tuple[int, ...]:
    try:
        return _FNS[dt2 << 8 | dt1]
    except KeyError:
        raise BadValue(f"DT2 {dt2} is above 30") from None


def da_of(pn: int) -> tuple[int, int]:
    if pn == 0:
        return 0, 0
    if pn == ALL_POINTS:
        return 0xFF, 0
    if not 1 <= pn <= 2040:
        raise LocalProtocolError(f"p{pn} is outside p0..p2040")
    return 1 << ((pn - 1) % 8), (pn - 1) // 8 + 1


def dt_of(fn: int) -> tuple[int, int]:
    if not 1 <= fn <= 248:
        raise LocalProtocolError(f"F{fn} is outside F1..F248")
    return 1 << ((fn - 1) % 8), (fn - 1) // 8


def _da_group(pn: int) -> int:
    return -1 if pn == 0 else -2 if pn == ALL_POINTS else (pn - 1) // 8


def _is_product(pairs: Sequence[tuple[int, int]], i: int, k: int) -> bool:
    pset = sorted({p for p, _ in pairs[i:k]})
    fset = sorted({f for _, f in pairs[i:k]})
    if len(pset) * len(fset) != k - i:
        return False
    return [(p, f) for p in pset for f in fset] == list(pairs[i:k])


def encode_identifiers(pairs: Sequence[tuple[int, int]]) -> list[tuple[bytes, int]]:
    """Pack (pn, Fn) pairs into as few DA/DT identifiers as the rules allow.

    Returns (identifier, number of pairs it covers) in order. Consecutive pairs share an
    identifier when they lie in one DA group and one DT group and form the full
    pn-major product of their points and Fns (Std-2013 §4.3.4.5 ordering).
    """
    n = len(pairs)
    if n == 1:  # the usual single-unit request or answer
        da1, da2 = da_of(pairs[0][0])
        dt1, dt2 = dt_of(pairs[0][1])
        return [(bytes((da1, da2, dt1, dt2)), 1)]
    out: list[tuple[bytes, int]] = []
    i = 0
    while i < n:
        pn, fn = pairs[i]
        dg, tg = _da_group(pn), (fn - 1) // 8
        j = i + 1
        while j < n and _da_group(pairs[j][0]) == dg and (pairs[j][1] - 1) // 8 == tg:
            j += 1
        # Largest prefix of pairs[i:j] that is a full pn-major product (usually the
        # whole run: many points of one Fn, or many Fns of one point).
        best = 1
        for k in range(j, i + 1, -1):
            if _is_product(pairs, i, k):
                best = k - i
                break
        chunk = pairs[i : i + best]
        da1 = da2 = dt1 = 0
        for p, f in chunk:
            a, da2 = da_of(p)
            da1 |= a
            t, dt2 = dt_of(f)
            dt1 |= t
        if best == 1:
            da1, da2 = da_of(pn)
            dt1, dt2 = dt_of(fn)
        out.append((bytes((da1, da2, dt1, dt2)), best))
        i += best
    return out


# --- decoding ------------------------------------------------------------------------


def frame_length(data: Buffer, dialect: Dialect = STANDARD) -> int:
    """Total frame length declared by a complete 6-byte header, after validating it."""
    if data[0] != START or data[5] != START:
        raise BadDelimiter("no 68 L L 68 header")
    l_a = data[1] | data[2] << 8
    l_b = data[3] | data[4] << 8
    if l_a != l_b:
        raise BadLength(f"L fields differ: {l_a:#06x} != {l_b:#06x}")
    if l_a & 3 not in dialect.protocol_ids:
        raise BadProtocolId(f"protocol id {l_a & 3}")
    l1 = l_a >> 2
    if not MIN_L1 <= l1 <= dialect.max_l1:
        raise BadLength(f"L1 = {l1} outside {MIN_L1}..{dialect.max_l1}")
    return l1 + 8


def decode_frame(data: Buffer, dialect: Dialect = STANDARD) -> Frame:
    """Decode one complete frame; raises FrameError if the envelope is broken."""
    n = len(data)
    if n < 6:
        raise Truncated(f"{n} bytes is shorter than a header")
    want = frame_length(data, dialect)
    if n < want:
        raise Truncated(f"frame declares {want} bytes, got {n}")
    if n > want:
        raise BadLength(f"frame declares {want} bytes, got {n}")
    end = want - 2
    if sum(data[6:end]) & 0xFF != data[end]:
        raise BadChecksum(f"CS {data[end]:02X}, computed {sum(data[6:end]) & 0xFF:02X}")
    if data[end + 1] != END:
        raise BadDelimiter(f"end byte {data[end + 1]:02X}")
    return decode_checked(bytes(data), dialect)


def decode_checked(data: bytes, dialect: Dialect = STANDARD) -> Frame:
    """Decode a frame whose envelope (delimiters, lengths, CS) is already verified."""
    return frame_from_header(data, HEADER_STRUCT.unpack_from(data), dialect)


_new = object.__new__


def wire_frame(
    c: int,
    a1: int,
    a2: int,
    a3: int,
    afn: int,
    seq: int,
    raw: bytes,
    units_end: int,
    aux: Literal[True] | None,
) -> Frame:
    """A frame from verified wire bytes: A1 as its LE word.

    ``aux`` is True when AUX bytes lie between ``units_end`` and CS; they are split
    into PW, EC and Tp on first access. The constructor of every received frame, so
    it skips ``__init__`` and its checks: the values come straight from an unpacked,
    verified header.
    """
    f: Frame = _new(Frame)
    f.c = c
    f.a1_word = a1
    f.a2 = a2
    f.a3 = a3
    f.afn = afn
    f.seq = seq
    f.raw = raw
    f._end = units_end
    f._units = None
    f._aux = aux
    return f


def frame_from_header(
    data: bytes, header: tuple[int, ...], dialect: Dialect = STANDARD
) -> Frame:
    """The link layer of a verified frame, from its unpacked 14-byte header.

    Raises Truncated when AUX does not fit; data units are decoded lazily.
    """
    _, l_a, _, _, c, a1, a2, a3, afn, sq = header
    cs = 6 + (l_a >> 2)
    end = cs
    if sq & TPV_BIT:
        end -= 6
        if end < HEADER_SIZE:
            raise Truncated("no room for Tp")
    if c & DIR_BIT:
        if c & ACD_BIT:
            end -= 2
            if end < HEADER_SIZE:
                raise Truncated("no room for EC")
    elif afn in dialect.pw_afns and dialect.pw_len:
        end -= dialect.pw_len
        if end < HEADER_SIZE:
            raise Truncated("no room for PW")
    return wire_frame(c, a1, a2, a3, afn, sq, data, end, None if end == cs else True)


def decode_units(afn: int, d: int, buf: Buffer, off: int, end: int) -> list[DataUnit]:
    """Decode the ``DA DT data ...`` area.

    Never raises for content errors: a unit that cannot be decoded carries its error,
    and decoding stops when units can no longer be delimited.
    """
    units: list[DataUnit] = []
    while off < end:
        if end - off < 4:
            err = Truncated(f"{end - off} bytes left, a DA/DT needs 4")
            units.append(DataUnit(-1, -1, None, err, bytes(buf[off:end])))
            break
        da, dt = _DA_DT.unpack_from(buf, off)
        pns = _PNS.get(da)
        fns = _FNS.get(dt)
        if pns is None or not fns:
            try:
                pns = _pns_cached(da)
                fns = fns_of(dt & 0xFF, dt >> 8)
                if not fns:
                    raise BadValue("DT names no Fn")
            except BadValue as exc:
                units.append(DataUnit(-1, -1, None, exc, bytes(buf[off:end])))
                break
        off += 4
        for pn in pns:
            for fn in fns:
                start = off
                try:
                    spec = REGISTRY.get((afn, fn, d)) or lookup(afn, fn, d)
                    if spec.layout is None:
                        units.append(DataUnit(pn, fn, None, None, None))
                        continue
                    obj, off, errs = spec.layout.decode(buf, off, end)
                except (UnknownFunction, RemoteProtocolError) as exc:
                    units.append(DataUnit(pn, fn, None, exc, bytes(buf[start:end])))
                    return units
                if errs:
                    units.append(
                        DataUnit(
                            pn,
                            fn,
                            obj,
                            BadValue("; ".join(errs)),
                            bytes(buf[start:off]),
                        )
                    )
                else:
                    units.append(DataUnit(pn, fn, obj, None, None))
    return units


# --- encoding ------------------------------------------------------------------------


def encode_units(afn: int, d: int, units: Sequence[DataUnit]) -> bytes:
    """Encode units, sharing DA/DT identifiers where the rules allow."""
    out = bytearray()
    i = 0
    for ident, count in encode_identifiers([(u.pn, u.fn) for u in units]):
        out += ident
        for u in units[i : i + count]:
            if u.raw is not None and (u.error is not None or u.data is None):
                out += (
                    u.raw
                )  # kept from the wire, or encoded ahead of time by the caller
                continue
            spec = REGISTRY.get((afn, u.fn, d)) or lookup(afn, u.fn, d)
            if spec.layout is None:
                if u.data is not None:
                    raise LocalProtocolError(f"AFN{afn:02X} F{u.fn} carries no data")
                continue
            if not isinstance(u.data, spec.layout.cls):
                raise LocalProtocolError(
                    f"AFN{afn:02X} F{u.fn} wants {spec.layout.cls.__name__}, "
                    f"got {type(u.data).__name__}"
                )
            out += spec.layout.encode(u.data)
        i += count
    return bytes(out)


def encode_frame(frame: Frame, dialect: Dialect = STANDARD) -> bytes:
    """Build the wire bytes of a frame (PW defaults to zeros where AFN needs one)."""
    up = frame.c & DIR_BIT
    body = bytearray()
    a1 = frame.address[0]
    if not 0 <= frame.a2 <= 0xFFFF or not 0 <= frame.a3 <= 0xFF:
        raise LocalProtocolError(f"bad address {frame.a1}/{frame.a2}/{frame.a3}")
    body += struct.pack(
        "<BHHBBB", frame.c, a1, frame.a2, frame.a3, frame.afn, frame.seq
    )
    body += encode_units(frame.afn, 1 if up else 0, frame.units)
    if up:
        if frame.c & ACD_BIT:
            if frame.ec is None:
                raise LocalProtocolError("ACD=1 needs EC")
            body += bytes(frame.ec)
        elif frame.ec is not None:
            raise LocalProtocolError("EC is sent only with ACD=1")
    elif frame.afn in dialect.pw_afns and dialect.pw_len:
        pw = frame.pw if frame.pw is not None else bytes(dialect.pw_len)
        if len(pw) != dialect.pw_len:
            raise LocalProtocolError(f"PW must be {dialect.pw_len} bytes")
        body += pw
    if frame.seq & TPV_BIT:
        if frame.tp is None:
            raise LocalProtocolError("TpV=1 needs Tp")
        body += bytes((frame.tp.pfc,)) + A16.encode(frame.tp.send_time)
        body += bytes((frame.tp.delay,))
    elif frame.tp is not None:
        raise LocalProtocolError("Tp given but TpV=0")
    l1 = len(body)
    if l1 > dialect.max_l1:
        raise LocalProtocolError(f"L1 = {l1} exceeds {dialect.max_l1}")
    length = (l1 << 2) | PROTOCOL_ID
    head = struct.pack("<BHHB", START, length, length, START)
    return head + bytes(body) + bytes((sum(body) & 0xFF, END))
