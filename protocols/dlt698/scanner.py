"""Stream framer for DL/T 698.45 (PROTOCOLS.md §4).

A 698 frame has no second 68 and no repeated L, so a candidate is judged by L (no unit
flag or reserved bit, room for the header and one APDU byte), then by HCS as soon as
the header is in (so garbage is rejected after at most 8 + SA-length bytes, and the
scanner never waits for a length declared by garbage), then by FCS and the 16 end.
"""

from __future__ import annotations

from typing import Final

from protocols.dlt698.frame import (
    END,
    MAX_L,
    START,
    check_length,
    crc16,
    sa_length,
)
from protocols.errors import BadChecksum, BadDelimiter, BadLength
from protocols.scanner import Buffer, Scanner


class Dlt698Framer:
    """:class:`protocols.scanner.Framer` for DL/T 698.45 frames."""

    name: Final = "dlt698"
    start: Final = START

    def __init__(self, max_l: int = MAX_L) -> None:
        self._max_l = max_l
        self.max_frame = max_l + 2

    def probe(self, buf: Buffer, i: int, n: int) -> int:
        avail = n - i
        if avail < 3:
            return 0
        length = check_length(buf[i + 1] | buf[i + 2] << 8)
        if length > self._max_l:
            raise BadLength(f"L = {length}")
        if avail < 5:
            return 0
        hcs_at = 6 + sa_length(buf[i + 4])
        if length < hcs_at + 4:
            raise BadLength(f"L = {length} leaves no APDU")
        if avail < hcs_at + 2:
            return 0
        if crc16(buf, i + 1, i + hcs_at) != buf[i + hcs_at] | buf[i + hcs_at + 1] << 8:
            raise BadChecksum("HCS mismatch")
        if avail < length + 2:
            return 0
        fcs_at = i + length - 1
        if crc16(buf, i + 1, fcs_at) != buf[fcs_at] | buf[fcs_at + 1] << 8:
            raise BadChecksum("FCS mismatch")
        if buf[i + length + 1] != END:
            raise BadDelimiter("end 16 missing")
        return length + 2


def scanner(max_l: int = MAX_L) -> Scanner:
    """A scanner for a DL/T 698.45 stream."""
    return Scanner(Dlt698Framer(max_l))
