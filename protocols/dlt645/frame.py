"""DL/T 645-2007 / 645-1997 link frame (PROTOCOLS.md §2.1).

Layout::

    offset  size  field
    0       0-4   FE wake-up preamble (前导字节), not counted in L or CS
    0       1     68
    1       6     A0..A5 address, BCD, lowest byte first (meter 123456789012 is
                  sent 12 90 78 56 34 12); AA = wildcard digit pair, 99..99 broadcast
    7       1     68
    8       1     C  D7 direction | D6 abnormal reply | D5 follow-up | D4-D0 function
    9       1     L  length of DATA (binary)
    10      L     DATA, every byte sent +0x33 (mod 256)
    10+L    1     CS sum mod 256 of every byte from the first 68 through DATA
    11+L    1     16

CS starts at the first 0x68, *not* at C: every published 645 vector checks only
that way (PROTOCOLS.md §2.1). :class:`Frame` keeps DATA with the 0x33 offset
removed; the codec adds it back on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from protocols.errors import (
    BadChecksum,
    BadDelimiter,
    BadLength,
    LocalProtocolError,
    Truncated,
)

Buffer = bytes | bytearray | memoryview

START: Final = 0x68
END: Final = 0x16
PREAMBLE: Final = 0xFE
HEADER_SIZE: Final = 10  # 68 A0..A5 68 C L
OVERHEAD: Final = 12  # header + CS + 16
MAX_DATA: Final = 255
MAX_FRAME: Final = OVERHEAD + MAX_DATA
MAX_PREAMBLE: Final = 4

BROADCAST: Final = "999999999999"  # broadcast time sync / freeze only, no reply
WILDCARD: Final = "AAAAAAAAAAAA"  # read comm address (13H)

# Control field bits (C, PROTOCOLS.md §2.1).
UP_BIT: Final = 0x80  # D7: 1 = meter -> master
ABNORMAL_BIT: Final = 0x40  # D6: abnormal reply (异常应答)
FOLLOW_BIT: Final = 0x20  # D5: follow-up frame exists (有后续数据帧)
FUNC_MASK: Final = 0x1F

# DATA scrambling as a byte translation, the fastest way to do it in CPython.
_PLUS_33: Final = bytes((b + 0x33) & 0xFF for b in range(256))
_MINUS_33: Final = bytes((b - 0x33) & 0xFF for b in range(256))


def scramble(data: Buffer) -> bytes:
    """Add the 0x33 offset a sender applies to DATA."""
    return bytes(data).translate(_PLUS_33)


def unscramble(data: Buffer) -> bytes:
    """Remove the 0x33 offset from DATA as received."""
    return bytes(data).translate(_MINUS_33)


class Version(Enum):
    """Protocol edition of a frame."""

    V2007 = "2007"
    V1997 = "1997"


# Function codes (D4-D0) that only one edition defines (PROTOCOLS.md §2.2; S8).
# 0x03 is security authentication (安全认证) in 2007 and re-read (重读) in 1997;
# 0x08 broadcast time is in both. Both resolve to 2007: that is what current fleets
# send, and Frame.version_override settles a 1997 link.
_FUNC_VERSION: Final[dict[int, Version]] = {
    **dict.fromkeys((0x03, 0x08, *range(0x11, 0x1D)), Version.V2007),
    **dict.fromkeys((0x01, 0x02, 0x04, 0x0A, 0x0C, 0x0F, 0x10), Version.V1997),
}


def version_of_function(func: int) -> Version:
    """Edition implied by a function code; 2007 when the code does not say."""
    return _FUNC_VERSION.get(func & FUNC_MASK, Version.V2007)


@dataclass(slots=True)
class Frame:
    """One DL/T 645 frame. ``data`` is DATA with the 0x33 offset removed.

    ``address`` is the 12 address digits in display order, upper case, wildcard
    ``A`` digits kept. ``version_override`` forces :attr:`version` where the
    function code is ambiguous (not on the wire, so not compared).
    """

    address: str
    control: int
    data: bytes = b""
    version_override: Version | None = field(default=None, compare=False)

    @property
    def up(self) -> bool:
        """D7: sent by the meter (从站应答)."""
        return bool(self.control & UP_BIT)

    @property
    def abnormal(self) -> bool:
        """D6: abnormal reply (异常应答); DATA is then the error word."""
        return bool(self.control & ABNORMAL_BIT)

    @property
    def follow(self) -> bool:
        """D5: more data follows in further frames (有后续数据帧)."""
        return bool(self.control & FOLLOW_BIT)

    @property
    def func(self) -> int:
        """D4-D0 function code."""
        return self.control & FUNC_MASK

    @property
    def version(self) -> Version:
        if self.version_override is not None:
            return self.version_override
        return version_of_function(self.control)


def _hex_address(raw: Buffer) -> str:
    return bytes(raw)[::-1].hex().upper()


def address_bytes(address: str) -> bytes:
    """Wire bytes of a 12-digit display-order address (lowest byte first)."""
    if len(address) != 12:
        raise LocalProtocolError(f"address {address!r} must have 12 digits")
    try:
        return bytes.fromhex(address)[::-1]
    except ValueError:
        raise LocalProtocolError(f"address {address!r} is not BCD/hex") from None


def frame_start(buf: Buffer) -> int:
    """Offset of the first 0x68 after any FE preamble."""
    i = 0
    n = len(buf)
    while i < n and buf[i] == PREAMBLE:
        i += 1
    return i


def decode_frame(buf: Buffer) -> Frame:
    """Decode exactly one frame, optionally preceded by FE bytes.

    Raises only :class:`~protocols.errors.FrameError` subclasses: Truncated,
    BadLength, BadDelimiter, BadChecksum.
    """
    i = frame_start(buf)
    n = len(buf) - i
    if n < OVERHEAD:
        raise Truncated(f"{n} bytes is shorter than a 645 frame ({OVERHEAD})")
    if buf[i] != START or buf[i + 7] != START:
        raise BadDelimiter("no 68 A0..A5 68 header")
    length = buf[i + 9]
    want = OVERHEAD + length
    if n < want:
        raise Truncated(f"frame declares {want} bytes, got {n}")
    if n > want:
        raise BadLength(f"frame declares {want} bytes, got {n}")
    cs_at = i + HEADER_SIZE + length
    computed = sum(buf[i:cs_at]) & 0xFF
    if computed != buf[cs_at]:
        raise BadChecksum(f"CS {buf[cs_at]:02X}, computed {computed:02X}")
    if buf[cs_at + 1] != END:
        raise BadDelimiter(f"end byte {buf[cs_at + 1]:02X}")
    return Frame(
        _hex_address(buf[i + 1 : i + 7]),
        buf[i + 8],
        bytes(buf[i + HEADER_SIZE : cs_at]).translate(_MINUS_33),
    )


def encode_frame(frame: Frame, preamble: int = 0) -> bytes:
    """Wire bytes of ``frame``, with ``preamble`` (0-4) FE bytes in front."""
    if not 0 <= preamble <= MAX_PREAMBLE:
        raise LocalProtocolError(f"preamble of {preamble} FE bytes (0-4 allowed)")
    if not 0 <= frame.control <= 0xFF:
        raise LocalProtocolError(f"control code {frame.control} is not a byte")
    if len(frame.data) > MAX_DATA:
        raise LocalProtocolError(f"DATA of {len(frame.data)} bytes exceeds 255")
    head = (
        bytes((START,))
        + address_bytes(frame.address)
        + bytes((START, frame.control, len(frame.data)))
    )
    body = head + bytes(frame.data).translate(_PLUS_33)
    return b"\xfe" * preamble + body + bytes((sum(body) & 0xFF, END))
