"""Hunting stream scanner: a byte stream in, complete frames and discards out.

Each protocol supplies a :class:`Framer` that looks at a candidate start position and
says "a valid frame of N bytes starts here", "not enough bytes yet" (0) or raises a
:class:`~protocols.errors.FrameError`. The scanner does the rest, the same way for
every protocol:

* it hunts for a start byte and skips 0xFE wake-up preambles silently;
* when a candidate fails it drops **one** byte and hunts again, so a frame hidden
  behind garbage that happens to contain a start byte is still found;
* it reports every dropped run of bytes as a :class:`Discarded` event with the reason
  of the first failed candidate (``"garbage"`` when no candidate was tried);
* its buffer is bounded: a framer never accepts a declared length above its
  ``max_frame``, so at most one partial frame is kept between reads.

"Need more data" is the normal state between reads, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from protocols.errors import FrameError

Buffer = bytes | bytearray
PREAMBLE: Final = 0xFE


@dataclass(frozen=True, slots=True)
class Discarded:
    """Bytes the scanner dropped, and why (a bounded set of reasons)."""

    reason: str
    data: bytes


Event = bytes | Discarded


class Framer(Protocol):
    """What a protocol tells the scanner about its frames."""

    @property
    def name(self) -> str: ...

    @property
    def start(self) -> int:
        """The byte every frame starts with."""
        ...

    @property
    def max_frame(self) -> int: ...

    def probe(self, buf: Buffer, i: int, n: int) -> int:
        """Return the length of the valid frame at ``buf[i:]``.

        ``n`` is the number of bytes available. Return 0 if more bytes are needed to
        decide; raise FrameError if no frame starts here.
        """
        ...


class Scanner:
    """Scanner for one protocol (see the module docstring)."""

    __slots__ = ("_probe", "_start", "discarded_bytes", "framer", "held")

    def __init__(self, framer: Framer) -> None:
        self.framer = framer
        self._probe = framer.probe
        self._start = framer.start
        #: Bytes held back: the start of a frame whose end has not arrived yet.
        self.held = b""
        #: Running total of dropped bytes (frames are counted by whoever decodes them).
        self.discarded_bytes = 0

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self.held)

    def feed(self, data: Buffer) -> list[Event]:
        """Add bytes; return the frames and discards they complete, in stream order."""
        if not self.held and data and data[0] == self._start:
            # Fast path: exactly one whole frame, the usual read on a quiet link.
            n = len(data)
            try:
                whole = self._probe(data, 0, n) == n
            except FrameError:
                whole = False
            if whole:
                return [data if type(data) is bytes else bytes(data)]
        buf = self.held + data if self.held else data
        out: list[Event] = []
        self.held = _scan(self.framer, buf, out)
        for ev in out:
            if isinstance(ev, Discarded):
                self.discarded_bytes += len(ev.data)
        return out

    def flush(self, reason: str = "incomplete") -> Discarded | None:
        """Drop a held-back partial frame (e.g. on an inter-byte timeout or close)."""
        if not self.held:
            return None
        ev = Discarded(reason, bytes(self.held))
        self.discarded_bytes += len(ev.data)
        #: Bytes held back: the start of a frame whose end has not arrived yet.
        self.held = b""
        return ev


def _scan(framer: Framer, buf: Buffer, out: list[Event]) -> bytes:
    """Scan ``buf``; append events to ``out``; return the bytes to keep."""
    n = len(buf)
    start = framer.start
    probe = framer.probe
    i = 0
    junk = 0  # start of the run of bytes not yet emitted or kept
    reason = ""
    while i < n:
        b = buf[i]
        if b == start:
            try:
                length = probe(buf, i, n)
            except FrameError as exc:
                reason = reason or exc.reason
                i += 1
                continue
            if length == 0:
                break
            _emit_junk(buf, junk, i, reason, out)
            out.append(bytes(buf[i : i + length]))
            i += length
            junk = i
            reason = ""
        elif b == PREAMBLE:
            i += 1
        else:
            nxt = buf.find(start, i + 1)
            i = n if nxt < 0 else nxt
    # Keep a partial frame and any trailing preamble that may precede the next one.
    keep = i
    if keep >= n:
        keep = n
        while keep > junk and buf[keep - 1] == PREAMBLE:
            keep -= 1
    _emit_junk(buf, junk, keep, reason, out)
    return bytes(buf[keep:]) if keep < n else b""


def _emit_junk(buf: Buffer, lo: int, hi: int, reason: str, out: list[Event]) -> None:
    """Report buf[lo:hi] as discarded, except a preamble right before a frame."""
    while hi > lo and buf[hi - 1] == PREAMBLE:
        hi -= 1
    if hi > lo:
        # Leading preamble bytes of a run are not garbage either.
        while lo < hi and buf[lo] == PREAMBLE:
            lo += 1
    if hi > lo:
        out.append(Discarded(reason or "garbage", bytes(buf[lo:hi])))


class DetectingScanner:
    """Scanner that decides the protocol from the first valid frame of a stream.

    Candidates are tried in the order given at every start byte; the first framer to
    accept a complete frame wins, and from then on only that framer is used. Frames
    before detection cannot exist (the first one decides); discards can.
    """

    __slots__ = ("_framers", "_pending", "protocol", "scanner")

    def __init__(self, framers: Sequence[Framer]) -> None:
        self._framers = tuple(framers)
        self._pending = b""
        self.scanner: Scanner | None = None
        #: Name of the detected protocol, None until the first valid frame.
        self.protocol: str | None = None

    def feed(self, data: Buffer) -> list[Event]:
        if self.scanner is not None:
            return self.scanner.feed(data)
        buf = self._pending + data
        out: list[Event] = []
        framer = _AnyOf(self._framers)
        # Once a framer accepts a frame, _AnyOf delegates to it alone, so the rest of
        # this read is already judged by the detected protocol.
        self._pending = _scan(framer, buf, out)
        if framer.winner is not None:
            self.protocol = framer.winner.name
            self.scanner = Scanner(framer.winner)
            self.scanner.held = self._pending
            self._pending = b""
        return out

    @property
    def pending(self) -> int:
        return self.scanner.pending if self.scanner is not None else len(self._pending)

    def flush(self, reason: str = "incomplete") -> Discarded | None:
        if self.scanner is not None:
            return self.scanner.flush(reason)
        if not self._pending:
            return None
        ev = Discarded(reason, self._pending)
        self._pending = b""
        return ev


class _AnyOf:
    """A framer that accepts what the first of several framers accepts."""

    name = "any"

    def __init__(self, framers: tuple[Framer, ...]) -> None:
        self.framers = framers
        self.start = framers[0].start
        self.max_frame = max(f.max_frame for f in framers)
        self.winner: Framer | None = None

    def probe(self, buf: Buffer, i: int, n: int) -> int:
        if self.winner is not None:
            return self.winner.probe(buf, i, n)
        first_error: FrameError | None = None
        waiting = False
        for f in self.framers:
            try:
                length = f.probe(buf, i, n)
            except FrameError as exc:
                first_error = first_error or exc
                continue
            if length:
                self.winner = f
                return length
            waiting = True
        if waiting:
            return 0
        raise first_error or FrameError("no framer")
