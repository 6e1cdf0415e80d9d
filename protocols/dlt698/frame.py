"""DL/T 698.45 link frame and LINK-Request APDU (PROTOCOLS.md §4).

Layout (n = SA length)::

    offset  size  field
    0       1     68
    1       2     L    (LE) D13-D0 = bytes between 68 and 16 (frame length - 2);
                       D14 length unit (1 = KiB) and D15 reserved: both must be 0 here
    3       1     C    DIR | PRM | fragment (D5) | - | scramble (D3) | function
    4       1     AF   D7-D6 address type | D5-D4 logical address | D3-D0 n - 1
    5       n     SA   server address, BCD low byte first
    5+n     1     CA   client (master) address
    6+n     2     HCS  CRC-16/X.25 over L .. CA, low byte first
    8+n     ...   link user data: [fragment header (2) when C.D5] APDU
    L-1     2     FCS  CRC-16/X.25 over L .. end of APDU, low byte first
    L+1     1     16

There is no second 68 and no repeated L: a frame is recognised by L, HCS, FCS and the
end byte. Inside the APDU the encoding is A-XDR, so multi-byte integers are
big-endian (T20: heartbeat period ``01 2C`` = 300 s; T21: year ``07 E6`` = 2022 and
milliseconds ``03 22`` = 802), the opposite of the link layer.

Only LINK-Request (tag 01) is decoded; every other APDU is kept raw.
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
LENGTH_MASK: Final = 0x3FFF  # L D13-D0
MAX_L: Final = LENGTH_MASK
FRAGMENT_HEADER_SIZE: Final = 2
#: L of the smallest frame: L(2) C AF SA(1) CA HCS(2) APDU(1) FCS(2).
MIN_L: Final = 11

# --- CRC-16/X.25 (the PPP FCS-16 of RFC 1662) -----------------------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE: Final = _crc_table()


def crc16(data: Buffer, start: int = 0, end: int | None = None) -> int:
    """CRC-16/X.25 of ``data[start:end]``: init FFFF, reflected 0x8408, xor FFFF."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for b in memoryview(data)[start:end]:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF


# --- control field and address field -------------------------------------------------

DIR_BIT: Final = 0x80
PRM_BIT: Final = 0x40
FRAGMENT_BIT: Final = 0x20
SCRAMBLE_BIT: Final = 0x08
EXT_LOGICAL_BIT: Final = 0x20  # AF D5: the first SA byte is an extended logical address


class Func(IntEnum):
    """Link function codes (C D2-D0)."""

    LINK = 1  # link management: login, heartbeat, logout
    USER_DATA = 3


class AddressType(IntEnum):
    """AF D7-D6."""

    SINGLE = 0
    WILDCARD = 1
    GROUP = 2
    BROADCAST = 3


class Tag(IntEnum):
    """APDU tags seen in PROTOCOLS.md §4 (the full catalogue comes later)."""

    LINK_REQUEST = 0x01
    GET_REQUEST = 0x05
    LINK_RESPONSE = 0x81
    REPORT_NOTIFICATION = 0x88


class LinkType(IntEnum):
    """LINK-Request request type."""

    LOGIN = 0
    HEARTBEAT = 1
    LOGOUT = 2


# --- APDU: LINK-Request ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateTime:
    """A-XDR ``date_time`` (10 bytes, all binary).

    Year (2, big-endian), month, day, weekday (0 = Sunday), hour, minute, second,
    milliseconds (2, big-endian).
    """

    year: int
    month: int
    day: int
    weekday: int
    hour: int
    minute: int
    second: int
    millisecond: int

    def __str__(self) -> str:
        return (
            f"{self.year:04d}-{self.month:02d}-{self.day:02d} {self.hour:02d}:"
            f"{self.minute:02d}:{self.second:02d}.{self.millisecond:03d}"
        )


_DATE_TIME = struct.Struct(">HBBBBBBH")
_LINK_REQUEST = struct.Struct(">BBBH")
LINK_REQUEST_SIZE: Final = _LINK_REQUEST.size + _DATE_TIME.size  # 15


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """LINK-Request APDU (tag 01): sent by the terminal to log in, beat, log out.

    ``piid_acd`` is kept as the raw byte: D7 service priority, D6 ACD, D5-D0 service
    number, the common reading of DL/T 698.45 that PROTOCOLS.md does not cover.
    """

    piid_acd: int
    kind: LinkType
    heartbeat: int  # period in seconds
    time: DateTime


def decode_link_request(apdu: Buffer) -> LinkRequest:
    """Decode a LINK-Request APDU, tag byte included."""
    if not apdu or apdu[0] != Tag.LINK_REQUEST:
        raise BadValue("not a LINK-Request")
    if len(apdu) < LINK_REQUEST_SIZE:
        raise Truncated(
            f"LINK-Request needs {LINK_REQUEST_SIZE} bytes, got {len(apdu)}"
        )
    if len(apdu) > LINK_REQUEST_SIZE:
        raise BadLength(f"LINK-Request is {LINK_REQUEST_SIZE} bytes, got {len(apdu)}")
    _, piid_acd, kind, heartbeat = _LINK_REQUEST.unpack_from(apdu)
    try:
        link_type = LinkType(kind)
    except ValueError:
        raise BadValue(f"LINK-Request type {kind}") from None
    time = DateTime(*_DATE_TIME.unpack_from(apdu, _LINK_REQUEST.size))
    return LinkRequest(piid_acd, link_type, heartbeat, time)


def encode_link_request(req: LinkRequest) -> bytes:
    t = req.time
    try:
        return _LINK_REQUEST.pack(
            Tag.LINK_REQUEST, req.piid_acd, req.kind, req.heartbeat
        ) + _DATE_TIME.pack(
            t.year, t.month, t.day, t.weekday, t.hour, t.minute, t.second, t.millisecond
        )
    except struct.error as exc:
        raise LocalProtocolError(f"LINK-Request field out of range: {exc}") from None


# --- frame ---------------------------------------------------------------------------


@dataclass(slots=True)
class Frame:
    """A decoded 698.45 frame. Bit fields are exposed as properties.

    ``sa`` is the server address as on the wire (low byte first, extended logical
    address byte included); ``apdu`` is the link user data after the fragment header.
    ``link_request`` is derived from ``apdu`` when the frame carries a plain
    (unfragmented, unscrambled) LINK-Request.
    """

    c: int
    af: int
    sa: bytes
    ca: int
    apdu: bytes
    fragment: bytes | None = None  # the 2-byte fragment header when C.D5 = 1, raw
    link_request: LinkRequest | None = field(default=None, compare=False)
    raw: bytes = field(default=b"", compare=False, repr=False)

    # control
    @property
    def up(self) -> bool:
        """DIR: 1 = sent by the server (terminal/meter)."""
        return bool(self.c & DIR_BIT)

    @property
    def prm(self) -> bool:
        return bool(self.c & PRM_BIT)

    @property
    def fragmented(self) -> bool:
        return bool(self.c & FRAGMENT_BIT)

    @property
    def scrambled(self) -> bool:
        return bool(self.c & SCRAMBLE_BIT)

    @property
    def func(self) -> int:
        return self.c & 0x07

    # address
    @property
    def address_type(self) -> AddressType:
        return AddressType(self.af >> 6)

    @property
    def logical_address(self) -> int:
        """AF D4, or the extended logical address byte leading SA when AF D5 = 1."""
        if self.af & EXT_LOGICAL_BIT:
            return self.sa[0]
        return self.af >> 4 & 1

    @property
    def address(self) -> str:
        """Server address as printed: SA digits high byte first ("000000000001")."""
        digits = self.sa[1:] if self.af & EXT_LOGICAL_BIT else self.sa
        return digits[::-1].hex().upper()

    @property
    def tag(self) -> int | None:
        """The APDU tag; None when the APDU is fragmented or scrambled."""
        if self.c & (FRAGMENT_BIT | SCRAMBLE_BIT) or not self.apdu:
            return None
        return self.apdu[0]


def sa_length(af: int) -> int:
    return (af & 0x0F) + 1


def check_length(l_field: int) -> int:
    """Validate the L field (no unit flag or reserved bit, >= MIN_L); return it."""
    if l_field & ~LENGTH_MASK:
        raise BadLength(f"L {l_field:#06x}: unit flag or reserved bit set")
    if l_field < MIN_L:
        raise BadLength(f"L = {l_field} is below {MIN_L}")
    return l_field


def decode_frame(data: Buffer) -> Frame:
    """Decode one complete frame.

    Raises FrameError if the envelope is broken, and Truncated, BadLength or BadValue
    if a plain LINK-Request APDU is malformed.
    """
    n = len(data)
    if n < 5:
        raise Truncated(f"{n} bytes is shorter than a header")
    if data[0] != START:
        raise BadDelimiter(f"start byte {data[0]:02X}")
    length = check_length(data[1] | data[2] << 8)
    c, af = data[3], data[4]
    sa_len = sa_length(af)
    hcs_at = 6 + sa_len
    apdu_at = hcs_at + 2
    if length < apdu_at + 2:  # L counts from offset 1, so the APDU has >= 1 byte
        raise BadLength(f"L = {length} leaves no APDU after a {sa_len}-byte SA")
    want = length + 2
    if n < want:
        raise Truncated(f"frame declares {want} bytes, got {n}")
    if n > want:
        raise BadLength(f"frame declares {want} bytes, got {n}")
    hcs = crc16(data, 1, hcs_at)
    if hcs != data[hcs_at] | data[hcs_at + 1] << 8:
        raise BadChecksum(
            f"HCS {data[hcs_at + 1]:02X}{data[hcs_at]:02X}, computed {hcs:04X}"
        )
    fcs_at = length - 1
    fcs = crc16(data, 1, fcs_at)
    if fcs != data[fcs_at] | data[fcs_at + 1] << 8:
        raise BadChecksum(
            f"FCS {data[fcs_at + 1]:02X}{data[fcs_at]:02X}, computed {fcs:04X}"
        )
    if data[want - 1] != END:
        raise BadDelimiter(f"end byte {data[want - 1]:02X}")
    raw = bytes(data)
    fragment = None
    if c & FRAGMENT_BIT:
        if fcs_at - apdu_at < FRAGMENT_HEADER_SIZE + 1:
            raise Truncated("no room for the fragment header")
        fragment = raw[apdu_at : apdu_at + FRAGMENT_HEADER_SIZE]
        apdu_at += FRAGMENT_HEADER_SIZE
    apdu = raw[apdu_at:fcs_at]
    link_request = None
    if not c & (FRAGMENT_BIT | SCRAMBLE_BIT) and apdu[0] == Tag.LINK_REQUEST:
        link_request = decode_link_request(apdu)
    return Frame(
        c, af, raw[5 : 5 + sa_len], raw[5 + sa_len], apdu, fragment, link_request, raw
    )


def encode_frame(frame: Frame) -> bytes:
    """Build the wire bytes of a frame (``apdu`` is sent; ``link_request`` ignored)."""
    for name, value in (("C", frame.c), ("AF", frame.af), ("CA", frame.ca)):
        if not 0 <= value <= 0xFF:
            raise LocalProtocolError(f"{name} = {value} does not fit a byte")
    if len(frame.sa) != sa_length(frame.af):
        raise LocalProtocolError(
            f"AF {frame.af:02X} wants a {sa_length(frame.af)}-byte SA"
        )
    if not frame.apdu:
        raise LocalProtocolError("empty APDU")
    user = frame.apdu
    if frame.c & FRAGMENT_BIT:
        if frame.fragment is None or len(frame.fragment) != FRAGMENT_HEADER_SIZE:
            raise LocalProtocolError("C.D5 set: a 2-byte fragment header is needed")
        user = frame.fragment + user
    elif frame.fragment is not None:
        raise LocalProtocolError("fragment header given but C.D5 = 0")
    length = 2 + 2 + len(frame.sa) + 1 + 2 + len(user) + 2
    if length > MAX_L:
        raise LocalProtocolError(f"L = {length} exceeds {MAX_L}")
    head = (
        struct.pack("<HBB", length, frame.c, frame.af) + frame.sa + bytes((frame.ca,))
    )
    head += struct.pack("<H", crc16(head))
    body = head + user
    return bytes((START,)) + body + struct.pack("<HB", crc16(body), END)
