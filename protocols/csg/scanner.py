"""Stream framer for Q/CSG 1209022 (§5.2.1 e receive checks; PROTOCOLS.md §3, §6).

Checks, as the bytes arrive: start characters, equal plain L fields within bounds,
CS over the user data, end character. Unlike 1376.1 there are no protocol-id bits in
L, so a header is judged by the L bounds, the repeated L and the second 68 only.
"""

from __future__ import annotations

from typing import Final

from protocols.csg.frame import END, MAX_L, MIN_L, START
from protocols.errors import BadChecksum, BadDelimiter, BadLength
from protocols.scanner import Buffer, Scanner


class CsgFramer:
    """:class:`protocols.scanner.Framer` for Q/CSG 1209022 frames.

    ``max_l`` is the channel's length bound: 16383 on networks (default), 1024 on
    GPRS/CDMA, 255 on dedicated radio (§5.1.2).
    """

    name: Final = "csg"
    start: Final = START

    def __init__(self, max_l: int = MAX_L) -> None:
        self._max_l = max_l
        self.max_frame = max_l + 8

    def probe(self, buf: Buffer, i: int, n: int) -> int:
        avail = n - i
        if avail < 6:
            if avail >= 3:
                self._check_l(buf[i + 1] | buf[i + 2] << 8)
            if avail >= 5 and buf[i + 1 : i + 3] != buf[i + 3 : i + 5]:
                raise BadLength("L fields differ")
            return 0
        if buf[i + 5] != START:
            raise BadDelimiter("second 68 missing")
        length = buf[i + 1] | buf[i + 2] << 8
        if length != buf[i + 3] | buf[i + 4] << 8:
            raise BadLength("L fields differ")
        self._check_l(length)
        if avail < length + 8:
            return 0
        cs_at = i + 6 + length
        if sum(buf[i + 6 : cs_at]) & 0xFF != buf[cs_at]:
            raise BadChecksum("CS mismatch")
        if buf[cs_at + 1] != END:
            raise BadDelimiter("end 16 missing")
        return length + 8

    def _check_l(self, length: int) -> None:
        if not MIN_L <= length <= self._max_l:
            raise BadLength(f"L = {length}")


def scanner(max_l: int = MAX_L) -> Scanner:
    """A scanner for a Q/CSG 1209022 stream."""
    return Scanner(CsgFramer(max_l))
