"""Q/CSG 1209022-2019 (Southern Grid uplink) link frame and envelope (PROTOCOLS.md §3).

The frame is the 1376.1 FT1.2 frame with a plain length, a 7-byte address and 4-byte
DIs instead of Fn bit masks (Q/CSG 1209022-2019 §5.1, §6.1, read from the S9
transcription). Layout::

    offset  size  field
    0       1     68
    1       2     L    (LE) user-data length = C + A + application layer; plain BIN,
                       no protocol-id bits; <= 16383 on network channels (§5.1.2)
    3       2     L    (repeated, must be equal)
    5       1     68
    6       1     C    DIR | PRM | FCB/ACD | FCV | function (same bits as 1376.1)
    7       3     A1   province / city / county code, BCD LE (shown as 6 digits)
    10      3     A2   terminal address, BIN LE (FFFFFF = broadcast)
    13      1     A3   master station address MSA 0-255 (no group bit)
    14      1     AFN
    15      1     SEQ  TpV | FIR | FIN | CON | PSEQ/RSEQ (PSEQ counts 0-15 directly)
    16      2     DA   DA1 point bit mask, DA2 point group (p1..p2032, 00 00 = p0,
                       FF FF = every point but p0) (§6.1.3)
    18      4     DI   DI0 first on the wire (§6.1.4)
    22      ...   content of the first unit, then further DA DI content units
    ...     16    PW   downlink AFN 04H and 06H, uplink AFN 06H (figs. 6-9, 6-11, 6-12)
    ...     5     Tp   when TpV=1: send time DDhhmmss (4, BCD) + allowed delay (1, min)
    6+L     1     CS   sum of C ... last AUX byte, mod 256
    7+L     1     16

There is no EC in CSG AUX. How long the content of a unit is depends on its DI, and the
DI catalogue is not implemented yet, so the frame keeps the first DA/DI decoded and
everything after it raw (``units_raw``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from protocols.errors import (
    BadChecksum,
    BadDelimiter,
    BadLength,
    BadValue,
    LocalProtocolError,
    Truncated,
)

Buffer = bytes | bytearray

START: Final = 0x68
END: Final = 0x16
MIN_L: Final = 10  # C + A(7) + AFN + SEQ
MAX_L: Final = 16383  # network channels (§5.1.2); radio 255, GPRS/CDMA 1024
HEADER_SIZE: Final = 16  # offset of the first DA
UNIT_ID_SIZE: Final = 6  # DA (2) + DI (4)
PW_LEN: Final = 16
TP_LEN: Final = 5
ALL_POINTS: Final = 0xFFFF  # DA1 = DA2 = FF: every measuring point except p0
MAX_PN: Final = 2032

_HEADER = struct.Struct("<BHHBB3s3sBBB")


class Afn(IntEnum):
    """Application function codes (Q/CSG 1209022-2019 table 6-1)."""

    CONFIRM = 0x00
    LINK_TEST = 0x02
    WRITE_PARAMS = 0x04
    SECURITY = 0x06
    READ_PARAMS = 0x0A
    READ_CURRENT = 0x0C
    READ_HISTORY = 0x0D
    READ_EVENTS = 0x0E
    FILE_TRANSFER = 0x0F
    RELAY = 0x10
    READ_TASK = 0x12
    READ_ALARMS = 0x13
    USER_DEFINED = 0x15


#: AFNs whose frames carry PW, per direction (figs. 6-9, 6-11, 6-12 of the 2019 text).
PW_AFNS_DOWN: Final = frozenset({Afn.WRITE_PARAMS, Afn.SECURITY})
PW_AFNS_UP: Final = frozenset({Afn.SECURITY})

#: DI3 DI2 DI1 of the normal-task DIs E0000301..E00003FE (task 1..254, table A.10.1).
TASK_DI_PREFIX: Final = 0xE00003
#: DI of the "all confirm / all deny" unit of AFN 00H (table A.1).
DI_CONFIRM_ALL: Final = 0xE0000000

# --- control field and SEQ (same bits as 1376.1, §5.1.3 and §6.1.2) ------------------

DIR_BIT: Final = 0x80
PRM_BIT: Final = 0x40
ACD_BIT: Final = 0x20  # uplink
FCB_BIT: Final = 0x20  # downlink
FCV_BIT: Final = 0x10  # downlink

TPV_BIT: Final = 0x80
FIR_BIT: Final = 0x40
FIN_BIT: Final = 0x20
CON_BIT: Final = 0x10
SINGLE: Final = FIR_BIT | FIN_BIT


@dataclass(frozen=True, slots=True)
class Tp:
    """Time label 时间标签 (§6.1.8, table 6-6).

    ``send_time`` keeps the four BCD bytes of the send time (day, hour, minute, second)
    exactly as on the wire: the table names them DDhhmmss while appendix A sends
    multi-byte items low byte first, and no captured frame settles the order.
    ``delay`` is the allowed transmission delay in minutes (0 = no check).
    """

    send_time: bytes
    delay: int


@dataclass(slots=True)
class Frame:
    """A decoded CSG frame envelope. Bit fields are exposed as properties.

    ``da``/``di`` are the identifier of the first data unit (None when the frame has
    none); ``da`` is DA2 << 8 | DA1, written as in the standard ("DA=0103H" = p1 and
    p2), ``di`` is DI3..DI0 as one number. ``units_raw`` holds the rest of the units
    area: the first unit's content and any further units.
    """

    c: int
    a1: str  # 6 digits as printed, e.g. "440105" (wire 05 01 44)
    a2: int
    a3: int  # master station address MSA
    afn: int
    seq: int
    da: int | None = None
    di: int | None = None
    units_raw: bytes = b""
    pw: bytes | None = None
    tp: Tp | None = None
    raw: bytes = field(default=b"", compare=False, repr=False)

    # control
    @property
    def up(self) -> bool:
        return bool(self.c & DIR_BIT)

    @property
    def prm(self) -> bool:
        return bool(self.c & PRM_BIT)

    @property
    def acd(self) -> bool:
        """Uplink: alarm data waiting (§5.1.3.4)."""
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
        return self.a3

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
        """PSEQ of a request, RSEQ of a response."""
        return self.seq & 0x0F

    # first data unit
    @property
    def pns(self) -> tuple[int, ...]:
        """Measuring points named by the first DA (raises BadValue if it names none)."""
        return () if self.da is None else pns_of(self.da)

    @property
    def di_text(self) -> str | None:
        """The first DI as printed in the standard, DI3 first ("E000030D")."""
        return None if self.di is None else f"{self.di:08X}"

    @property
    def task(self) -> int | None:
        """Normal task number when the first DI is a task DI (E0000301..E00003FE)."""
        if self.di is None or self.di >> 8 != TASK_DI_PREFIX:
            return None
        n = self.di & 0xFF
        return n if 1 <= n <= 0xFE else None


# --- DA ------------------------------------------------------------------------------

_BITS: Final[tuple[tuple[int, ...], ...]] = tuple(
    tuple(i for i in range(8) if v >> i & 1) for v in range(256)
)


def pns_of(da: int) -> tuple[int, ...]:
    """Measuring points named by a DA (DA2 << 8 | DA1), ascending (§6.1.3)."""
    if da == 0:
        return (0,)
    if da == ALL_POINTS:
        return (ALL_POINTS,)
    da1, da2 = da & 0xFF, da >> 8
    if not 1 <= da2 <= MAX_PN // 8 or da1 == 0:
        raise BadValue(f"DA {da:04X} names no point")
    base = (da2 - 1) * 8 + 1
    return tuple(base + i for i in _BITS[da1])


def da_of(pn: int) -> int:
    """The DA of one measuring point (p0, p1..p2032 or ALL_POINTS)."""
    if pn in (0, ALL_POINTS):
        return pn
    if not 1 <= pn <= MAX_PN:
        raise LocalProtocolError(f"p{pn} is outside p0..p{MAX_PN}")
    return ((pn - 1) // 8 + 1) << 8 | 1 << ((pn - 1) % 8)


def has_pw(afn: int, *, up: bool) -> bool:
    return afn in (PW_AFNS_UP if up else PW_AFNS_DOWN)


# --- decoding ------------------------------------------------------------------------


def frame_length(data: Buffer) -> int:
    """Total frame length declared by a complete 6-byte header, after validating it."""
    if data[0] != START or data[5] != START:
        raise BadDelimiter("no 68 L L 68 header")
    l_a = data[1] | data[2] << 8
    l_b = data[3] | data[4] << 8
    if l_a != l_b:
        raise BadLength(f"L fields differ: {l_a} != {l_b}")
    if not MIN_L <= l_a <= MAX_L:
        raise BadLength(f"L = {l_a} outside {MIN_L}..{MAX_L}")
    return l_a + 8


def decode_frame(data: Buffer) -> Frame:
    """Decode one complete frame; raises FrameError if the envelope is broken."""
    n = len(data)
    if n < 6:
        raise Truncated(f"{n} bytes is shorter than a header")
    want = frame_length(data)
    if n < want:
        raise Truncated(f"frame declares {want} bytes, got {n}")
    if n > want:
        raise BadLength(f"frame declares {want} bytes, got {n}")
    end = want - 2
    cs = sum(data[6:end]) & 0xFF
    if cs != data[end]:
        raise BadChecksum(f"CS {data[end]:02X}, computed {cs:02X}")
    if data[end + 1] != END:
        raise BadDelimiter(f"end byte {data[end + 1]:02X}")
    return decode_checked(bytes(data))


def decode_checked(data: bytes) -> Frame:
    """Decode a frame whose envelope (delimiters, lengths, CS) is already verified."""
    _, length, _, _, c, a1, a2, a3, afn, sq = _HEADER.unpack_from(data)
    end = 6 + length  # offset of CS
    up = bool(c & DIR_BIT)
    tp = pw = None
    if sq & TPV_BIT:
        end -= TP_LEN
        if end < HEADER_SIZE:
            raise Truncated("no room for Tp")
        tp = Tp(data[end : end + 4], data[end + 4])
    if has_pw(afn, up=up):
        end -= PW_LEN
        if end < HEADER_SIZE:
            raise Truncated("no room for PW")
        pw = data[end : end + PW_LEN]
    da = di = None
    units = HEADER_SIZE
    if end > HEADER_SIZE:
        if end - HEADER_SIZE < UNIT_ID_SIZE:
            raise Truncated(f"{end - HEADER_SIZE} bytes left, a DA/DI needs 6")
        da = data[16] | data[17] << 8
        di = int.from_bytes(data[18:22], "little")
        units += UNIT_ID_SIZE
    a1_text = f"{int.from_bytes(a1, 'little'):06X}"
    a2_value = int.from_bytes(a2, "little")
    return Frame(
        c, a1_text, a2_value, a3, afn, sq, da, di, data[units:end], pw, tp, data
    )


# --- encoding ------------------------------------------------------------------------


def _byte(name: str, value: int) -> int:
    if not 0 <= value <= 0xFF:
        raise LocalProtocolError(f"{name} = {value} does not fit a byte")
    return value


def encode_frame(frame: Frame) -> bytes:
    """Build the wire bytes of a frame (PW defaults to zeros where the AFN has one)."""
    try:
        a1 = int(frame.a1, 16)
    except ValueError:
        raise LocalProtocolError(f"A1 {frame.a1!r} is not 6 digits") from None
    if len(frame.a1) != 6 or not 0 <= frame.a2 <= 0xFFFFFF:
        raise LocalProtocolError(f"bad address {frame.a1}/{frame.a2}")
    up = bool(frame.c & DIR_BIT)
    body = bytearray(
        (
            _byte("C", frame.c),
            *a1.to_bytes(3, "little"),
            *frame.a2.to_bytes(3, "little"),
            _byte("A3", frame.a3),
            _byte("AFN", frame.afn),
            _byte("SEQ", frame.seq),
        )
    )
    if (frame.da is None) != (frame.di is None):
        raise LocalProtocolError("DA and DI go together")
    if frame.da is not None and frame.di is not None:
        if not 0 <= frame.da <= 0xFFFF or not 0 <= frame.di <= 0xFFFFFFFF:
            raise LocalProtocolError(f"bad DA/DI {frame.da}/{frame.di}")
        body += frame.da.to_bytes(2, "little") + frame.di.to_bytes(4, "little")
    elif frame.units_raw:
        raise LocalProtocolError("units_raw without a first DA/DI")
    body += frame.units_raw
    if has_pw(frame.afn, up=up):
        pw = frame.pw if frame.pw is not None else bytes(PW_LEN)
        if len(pw) != PW_LEN:
            raise LocalProtocolError(f"PW must be {PW_LEN} bytes")
        body += pw
    elif frame.pw is not None:
        raise LocalProtocolError(f"AFN {frame.afn:02X} carries no PW this way")
    if frame.seq & TPV_BIT:
        if frame.tp is None:
            raise LocalProtocolError("TpV=1 needs Tp")
        if len(frame.tp.send_time) != TP_LEN - 1:
            raise LocalProtocolError("Tp send time must be 4 bytes")
        body += frame.tp.send_time + bytes((_byte("Tp delay", frame.tp.delay),))
    elif frame.tp is not None:
        raise LocalProtocolError("Tp given but TpV=0")
    length = len(body)
    if length > MAX_L:
        raise LocalProtocolError(f"L = {length} exceeds {MAX_L}")
    head = struct.pack("<BHHB", START, length, length, START)
    return head + bytes(body) + bytes((sum(body) & 0xFF, END))
