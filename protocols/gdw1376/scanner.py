"""Stream framer for Q/GDW 1376.1 (Std-2013 §4.3.2 receive checks).

Checks, as the bytes arrive: start characters, equal L fields with protocol id 10,
L1 within bounds, CS over the user data, end character. A header that is already
impossible is rejected before the rest of the frame arrives, so the scanner never
waits for a length declared by garbage that fails these checks.
"""

from __future__ import annotations

from typing import Final

from protocols.errors import BadChecksum, BadDelimiter, BadLength
from protocols.gdw1376.frame import (
    END,
    MIN_L1,
    STANDARD,
    START,
    BadProtocolId,
    Dialect,
)
from protocols.scanner import Buffer, Scanner


class Gdw1376Framer:
    """:class:`protocols.scanner.Framer` for 1376.1 frames."""

    name: Final = "gdw1376"
    start: Final = START

    def __init__(self, dialect: Dialect = STANDARD) -> None:
        self.dialect = dialect
        self.max_frame = dialect.max_l1 + 8
        self._ids = dialect.protocol_ids
        self._max_l1 = dialect.max_l1

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
        l_a = buf[i + 1] | buf[i + 2] << 8
        if l_a != buf[i + 3] | buf[i + 4] << 8:
            raise BadLength("L fields differ")
        l1 = self._check_l(l_a)
        length = l1 + 8
        if avail < length:
            return 0
        cs_at = i + 6 + l1
        if sum(buf[i + 6 : cs_at]) & 0xFF != buf[cs_at]:
            raise BadChecksum("CS mismatch")
        if buf[cs_at + 1] != END:
            raise BadDelimiter("end 16 missing")
        return length

    def _check_l(self, l_a: int) -> int:
        if l_a & 3 not in self._ids:
            raise BadProtocolId(f"protocol id {l_a & 3}")
        l1 = l_a >> 2
        if not MIN_L1 <= l1 <= self._max_l1:
            raise BadLength(f"L1 = {l1}")
        return l1


def scanner(dialect: Dialect = STANDARD) -> Scanner:
    """A scanner for a 1376.1 stream."""
    return Scanner(Gdw1376Framer(dialect))
