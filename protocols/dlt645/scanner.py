"""Stream framer for DL/T 645 (PROTOCOLS.md §2.1 and §6).

Checks, as the bytes arrive: 68 at offset 0 and again at offset 7 (rejected as
soon as byte 7 is there), then L, CS from the first 68 through DATA, and the 16
end byte. FE wake-up bytes are skipped by the generic scanner.

645 has a single, unprotected L byte, so garbage such as ``68 .. .. .. .. .. ..
68 16 FE`` looks like the start of a 266-byte frame. To avoid waiting for it, a
candidate still short of its declared length is rejected as soon as a complete,
valid frame starts inside the bytes it would swallow: a real frame's DATA is
sent +0x33, so a checksummed ``68 A 68 C L DATA CS 16`` inside it is
practically impossible.
"""

from __future__ import annotations

from typing import Final

from protocols.dlt645.frame import END, HEADER_SIZE, MAX_FRAME, OVERHEAD, START
from protocols.errors import BadChecksum, BadDelimiter, BadLength
from protocols.scanner import Buffer, Scanner


def _valid_at(buf: Buffer, j: int, n: int) -> bool:
    """A complete, valid frame starts at ``buf[j]`` within ``n`` bytes."""
    if n - j < OVERHEAD or buf[j + 7] != START:
        return False
    cs_at = j + HEADER_SIZE + buf[j + 9]
    if cs_at + 2 > n:
        return False
    return buf[cs_at + 1] == END and sum(buf[j:cs_at]) & 0xFF == buf[cs_at]


def _frame_inside(buf: Buffer, lo: int, n: int) -> bool:
    """A complete, valid frame starts somewhere in ``buf[lo:n]``."""
    j = buf.find(START, lo, n - OVERHEAD + 1) if n - lo >= OVERHEAD else -1
    while j >= 0:
        if _valid_at(buf, j, n):
            return True
        j = buf.find(START, j + 1, n - OVERHEAD + 1)
    return False


class Dlt645Framer:
    """:class:`protocols.scanner.Framer` for 645 frames (both editions)."""

    name: Final = "dlt645"
    start: Final = START
    max_frame: Final = MAX_FRAME

    def probe(self, buf: Buffer, i: int, n: int) -> int:
        avail = n - i
        if avail < 8:
            return 0
        if buf[i + 7] != START:
            raise BadDelimiter("second 68 missing")
        if avail < HEADER_SIZE:
            return 0
        length = OVERHEAD + buf[i + 9]
        if avail < length:
            if _frame_inside(buf, i + 1, n):
                raise BadLength("declared length swallows a complete frame")
            return 0
        cs_at = i + length - 2
        if sum(buf[i:cs_at]) & 0xFF != buf[cs_at]:
            raise BadChecksum("CS mismatch")
        if buf[cs_at + 1] != END:
            raise BadDelimiter("end 16 missing")
        return length


def scanner() -> Scanner:
    """A scanner for a DL/T 645 byte stream."""
    return Scanner(Dlt645Framer())
