"""Stream framer for Q/GDW 1376.1 (Std-2013 §4.3.2 receive checks).

Checks, as the bytes arrive: start characters, equal L fields with protocol id 10,
L1 within bounds, CS over the user data, end character. A header that is already
impossible is rejected before the rest of the frame arrives, so the scanner never
waits for a length declared by garbage that fails these checks.
"""

from __future__ import annotations

import struct
from typing import Final, Literal

from protocols.errors import BadChecksum, BadDelimiter, BadLength, ProtocolError
from protocols.gdw1376.frame import (
    ACD_BIT,
    DIR_BIT,
    END,
    HEADER_SIZE,
    HEADER_STRUCT,
    MIN_L1,
    STANDARD,
    START,
    TPV_BIT,
    BadProtocolId,
    Dialect,
    Frame,
    frame_from_header,
)
from protocols.scanner import Buffer, Discarded, Scanner

_HEAD = struct.Struct("<BHHB")  # 68 L L 68
_MIN_FRAME: Final = MIN_L1 + 8
_DIR_ACD: Final = DIR_BIT | ACD_BIT
_new = object.__new__


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
        if avail >= 6:
            l_a: int
            _, l_a, l_b, second = _HEAD.unpack_from(buf, i)
            if second != START:
                raise BadDelimiter("second 68 missing")
            if l_a != l_b:
                raise BadLength("L fields differ")
            l1 = l_a >> 2
            if l_a & 3 not in self._ids or not MIN_L1 <= l1 <= self._max_l1:
                self._check_l(l_a)  # raises with the precise reason
            if avail < l1 + 8:
                return 0
            cs_at = i + 6 + l1
            if sum(buf[i + 6 : cs_at]) & 0xFF != buf[cs_at]:
                raise BadChecksum("CS mismatch")
            if buf[cs_at + 1] != END:
                raise BadDelimiter("end 16 missing")
            return l1 + 8
        # A partial header: reject what is already impossible, else wait.
        if avail >= 3:
            self._check_l(buf[i + 1] | buf[i + 2] << 8)
        if avail >= 5 and buf[i + 1 : i + 3] != buf[i + 3 : i + 5]:
            raise BadLength("L fields differ")
        return 0

    def _check_l(self, l_a: int) -> int:
        if l_a & 3 not in self._ids:
            raise BadProtocolId(f"protocol id {l_a & 3}")
        l1 = l_a >> 2
        if not MIN_L1 <= l1 <= self._max_l1:
            raise BadLength(f"L1 = {l1}")
        return l1


class FrameReader:
    """A 1376.1 byte stream in, link-decoded frames and discards out.

    The scanner and :func:`~protocols.gdw1376.frame.decode_checked` in one, with a
    fused path for the usual read on a quiet link (exactly one whole frame): the
    header is unpacked once, checked and turned into a :class:`Frame`. Anything else
    goes through the hunting scanner. A frame whose envelope is sound but whose AUX
    does not fit is reported as discarded.
    """

    # Two slots: a head-end holds one reader per connection, tens of thousands. What
    # depends only on the dialect is shared, and the hunting scanner is created the
    # first time a read is not exactly one whole frame.
    __slots__ = ("_p", "_scanner")

    def __init__(self, dialect: Dialect = STANDARD) -> None:
        self._p = _shared(dialect)
        self._scanner: Scanner | None = None

    @property
    def dialect(self) -> Dialect:
        return self._p.dialect

    @property
    def scanner(self) -> Scanner:
        if self._scanner is None:
            self._scanner = Scanner(self._p.framer)
        return self._scanner

    def feed(self, data: bytes) -> list[Frame | Discarded]:
        n = len(data)
        held = self._scanner
        if n >= _MIN_FRAME and (held is None or not held.held):
            head = HEADER_STRUCT.unpack_from(data)
            first, l_a, l_b, second, c, a1, a2, a3, afn, sq = head
            p = self._p
            if (
                first == START
                and second == START
                and l_a == l_b
                and (l_a >> 2) + 8 == n
                and p.l_ok[l_a]
                and data[-1] == END
                and sum(data[6:-2]) & 0xFF == data[-2]
            ):
                end = n - 2  # where the data units end: CS, less any AUX
                aux: Literal[True] | None = None
                if c & _DIR_ACD != DIR_BIT or sq & TPV_BIT:  # AUX or downlink
                    if c & DIR_BIT:  # uplink AUX: EC when ACD=1, then Tp when TpV=1
                        aux = True
                        if c & ACD_BIT:
                            end -= 2
                        if sq & TPV_BIT:
                            end -= 6
                    elif sq & TPV_BIT or afn in p.pw:
                        end = 0  # downlink AUX: left to the general path
                    if end < HEADER_SIZE:  # and a short frame's precise error
                        try:
                            return [frame_from_header(data, head, p.dialect)]
                        except ProtocolError as exc:
                            return [Discarded(exc.reason, data)]
                # wire_frame() inlined: the call alone is 8 % of a heartbeat's
                # link layer, and this path carries nearly every frame.
                f: Frame = _new(Frame)
                f.c = c
                f.a1_word = a1
                f.a2 = a2
                f.a3 = a3
                f.afn = afn
                f.seq = sq
                f.raw = data
                f._end = end
                f._units = None
                f._aux = aux
                return [f]
        out: list[Frame | Discarded] = []
        for ev in self.scanner.feed(data):
            if isinstance(ev, Discarded):
                out.append(ev)
                continue
            try:
                out.append(
                    frame_from_header(ev, HEADER_STRUCT.unpack_from(ev), self.dialect)
                )
            except ProtocolError as exc:
                out.append(Discarded(exc.reason, ev))
        return out

    def flush(self, reason: str = "incomplete") -> Discarded | None:
        return self._scanner.flush(reason) if self._scanner is not None else None


class _Shared:
    """What every reader of one dialect shares."""

    __slots__ = ("dialect", "framer", "l_ok", "pw")

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.framer = Gdw1376Framer(dialect)
        # l_ok[L] is 1 when the L field carries an accepted protocol id and an L1
        # within bounds: both checks as one index, on every frame (64 KB a dialect).
        ids, top = dialect.protocol_ids, dialect.max_l1
        self.l_ok = bytes(
            l_a & 3 in ids and MIN_L1 <= l_a >> 2 <= top for l_a in range(0x10000)
        )
        self.pw = dialect.pw_afns if dialect.pw_len else frozenset()


_SHARED: dict[Dialect, _Shared] = {}


def _shared(dialect: Dialect) -> _Shared:
    found = _SHARED.get(dialect)
    if found is None:
        found = _SHARED[dialect] = _Shared(dialect)
    return found


def scanner(dialect: Dialect = STANDARD) -> Scanner:
    """A scanner for a 1376.1 stream."""
    return Scanner(Gdw1376Framer(dialect))
