"""Terminal side of a 1376.1 link, sans-IO, for simulators and tests.

A :class:`TerminalSession` logs in, keeps the link alive with heartbeats, resends a
link test that got no confirmation (same PSEQ, as the S2 capture shows) and gives up
with :class:`LinkLost` after ``retries``. Master requests surface as
:class:`Request` events; the host answers with :meth:`respond`, :meth:`confirm` or
:meth:`deny`, and long answers are split into FIR/FIN frames with RSEQ counting up
from the request's PSEQ (Std-2013 §4.3.4.3). A repeated request (same bytes, same
PSEQ) is answered from the cache without being processed again.

``now`` is wall-clock epoch seconds here, because a 2013 heartbeat carries the
terminal's clock; ``utc_offset`` turns it into the terminal's local time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from protocols.errors import LocalProtocolError
from protocols.gdw1376 import build
from protocols.gdw1376.events import (
    NEED_DATA,
    FrameDiscarded,
    LinkConfirmed,
    LinkLost,
    Request,
    TerminalEvent,
    _NeedData,
)
from protocols.gdw1376.frame import (
    ACD_BIT,
    CON_BIT,
    FIN_BIT,
    FIR_BIT,
    SINGLE,
    STANDARD,
    TPV_BIT,
    DataUnit,
    Dialect,
    Frame,
    encode_frame,
    encode_units,
)
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.scanner import FrameReader
from protocols.gdw1376.units.afn02 import HEARTBEAT, LOGIN
from protocols.scanner import Discarded

_OVERHEAD: Final = 8 + 2 + 6  # C A AFN SEQ + EC + Tp: the most a response adds


@dataclass(frozen=True, slots=True)
class TerminalConfig:
    """Identity and link timing of a simulated terminal."""

    a1: str
    a2: int
    version: int = 2013  # 2013: heartbeat carries the clock; 2009: it does not
    heartbeat_interval: float = 60.0
    confirm_timeout: float = 10.0
    retries: int = 3
    #: Largest L1 of a response frame before it is split (GPRS terminals use ~1 KB).
    max_l1: int = 1024
    utc_offset: float = 8 * 3600.0
    dialect: Dialect = STANDARD


class TerminalSession:
    """Terminal side of one connection (see the module docstring)."""

    def __init__(self, config: TerminalConfig) -> None:
        self.config = config
        self.reader = FrameReader(config.dialect)
        self.online = False
        self.ec: tuple[int, int] | None = None
        self._events: deque[TerminalEvent] = deque()
        self._out = bytearray()
        self._pfc = 0
        # Outstanding link test: (fn, pseq, wire, attempts, deadline)
        self._link: tuple[int, int, bytes, int, float] | None = None
        self._next_heartbeat: float | None = None
        self._cache: dict[int, tuple[bytes, bytes]] = {}  # pseq -> (request, answer)

    # --- link ----------------------------------------------------------------------

    def connect(self, now: float) -> None:
        """Start (or restart) the link with a login."""
        self.online = False
        self._next_heartbeat = None
        self._send_link(LOGIN, now)

    def logout(self, now: float) -> None:
        self._send_link(2, now)
        self.online = False
        self._next_heartbeat = None
        self._link = None

    def set_event_counters(self, ec: tuple[int, int] | None) -> None:
        """Set EC1/EC2; while set, uplinks carry ACD=1 and EC (Std-2013 §4.3.3.2.4)."""
        self.ec = ec

    def clock(self, now: float) -> datetime:
        local = datetime.fromtimestamp(now, UTC) + timedelta(
            seconds=self.config.utc_offset
        )
        return local.replace(tzinfo=None, microsecond=0)

    def _send_link(
        self, fn: int, now: float, pseq: int | None = None, attempts: int = 0
    ) -> None:
        if pseq is None:
            pseq = self._next_pseq()
        clock = (
            self.clock(now) if fn == HEARTBEAT and self.config.version >= 2013 else None
        )
        wire = build.link_test(
            self.config.a1, self.config.a2, fn, pseq, clock=clock, ec=self.ec
        )
        self._out += wire
        if fn != 2:
            self._link = (fn, pseq, wire, attempts, now + self.config.confirm_timeout)

    def _next_pseq(self) -> int:
        self._pfc = (self._pfc + 1) & 0xFF
        return self._pfc & 0x0F

    # --- host API ------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        for ev in self.reader.feed(data):
            if isinstance(ev, Discarded):
                self._events.append(FrameDiscarded(ev.reason, ev.data))
            else:
                self._frame(ev, ev.raw, now)

    def next_event(self) -> TerminalEvent | _NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def events(self) -> list[TerminalEvent]:
        out = list(self._events)
        self._events.clear()
        return out

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def get_timer(self) -> float | None:
        times = [t for t in (self._next_heartbeat, self._link and self._link[4]) if t]
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        if self._link is not None and self._link[4] <= now:
            fn, pseq, _, attempts, _ = self._link
            if attempts < self.config.retries:
                self._send_link(fn, now, pseq, attempts + 1)
            else:
                self._link = None
                self.online = False
                self._next_heartbeat = None
                self._events.append(LinkLost(fn))
        if self._next_heartbeat is not None and self._next_heartbeat <= now:
            self._next_heartbeat = now + self.config.heartbeat_interval
            if self._link is None:
                self._send_link(HEARTBEAT, now)

    def respond(self, request: Frame, units: Sequence[DataUnit]) -> None:
        """Answer a request with data, split into several frames when too long."""
        chunks = self._split(request.afn, list(units))
        total = len(chunks)
        wire = bytearray()
        for i, chunk in enumerate(chunks):
            sq = (
                (FIR_BIT if i == 0 else 0)
                | (FIN_BIT if i == total - 1 else 0)
                | (request.seq & TPV_BIT)
                | ((request.pseq + i) & 0x0F)
            )
            wire += self._uplink(request, build.C_RESPONSE, request.afn, sq, chunk)
        self._answer(request, bytes(wire))

    def confirm(self, request: Frame) -> None:
        """AFN00 F1: every unit of the request accepted."""
        sq = SINGLE | (request.seq & TPV_BIT) | request.pseq
        wire = self._uplink(
            request, build.C_TERMINAL_CONFIRM, AFN.CONFIRM, sq, [DataUnit(0, 1)]
        )
        self._answer(request, wire)

    def deny(self, request: Frame) -> None:
        """AFN00 F2: the request is refused (or asks for data the terminal lacks)."""
        sq = SINGLE | (request.seq & TPV_BIT) | request.pseq
        wire = self._uplink(
            request, build.C_TERMINAL_CONFIRM, AFN.CONFIRM, sq, [DataUnit(0, 2)]
        )
        self._answer(request, wire)

    def report(self, afn: int, units: Sequence[DataUnit], *, con: bool = False) -> None:
        """Send data on the terminal's own initiative (C = C4, MSA 0)."""
        sq = SINGLE | (CON_BIT if con else 0) | self._next_pseq()
        c = build.C_REPORT | (ACD_BIT if self.ec is not None else 0)
        frame = Frame(
            c, self.config.a1, self.config.a2, 0, afn, sq, list(units), ec=self.ec
        )
        self._out += encode_frame(frame, self.config.dialect)

    # --- internals -----------------------------------------------------------------

    def _frame(self, frame: Frame, raw: bytes, now: float) -> None:
        if frame.up:
            self._events.append(FrameDiscarded("wrong_direction", raw))
            return
        if frame.prm:
            cached = self._cache.get(frame.pseq)
            if cached is not None and cached[0] == raw:
                self._out += cached[1]
                return
            self._events.append(Request(frame))
            return
        # A master confirm: of our pending link test, or of a report (ignored).
        link = self._link
        if frame.afn == AFN.CONFIRM and link is not None and frame.pseq == link[1]:
            fn = link[0]
            self._link = None
            if fn == LOGIN:
                self.online = True
                self._next_heartbeat = now + self.config.heartbeat_interval
            self._events.append(LinkConfirmed(fn))

    def _uplink(
        self, request: Frame, c: int, afn: int, sq: int, units: list[DataUnit]
    ) -> bytes:
        if self.ec is not None:
            c |= ACD_BIT
        tp = request.tp if sq & TPV_BIT else None
        frame = Frame(
            c, request.a1, request.a2, request.a3, afn, sq, units, ec=self.ec, tp=tp
        )
        return encode_frame(frame, self.config.dialect)

    def _answer(self, request: Frame, wire: bytes) -> None:
        # Keep the answers to the last two requests only: enough for a retransmitted
        # request (same PSEQ) and bounded whatever the answers weigh.
        cache = self._cache
        cache.pop(request.pseq, None)
        cache[request.pseq] = (request.raw, wire)
        while len(cache) > 2:
            del cache[next(iter(cache))]
        self._out += wire

    def _split(self, afn: int, units: list[DataUnit]) -> list[list[DataUnit]]:
        budget = self.config.max_l1 - _OVERHEAD
        if budget <= 4:
            raise LocalProtocolError("max_l1 leaves no room for data units")
        chunks: list[list[DataUnit]] = [[]]
        used = 0
        for u in units:
            if u.raw is not None and u.data is None:  # already encoded by the caller
                size = 4 + len(u.raw)
            else:
                size = len(encode_units(afn, 1, [u]))
            if chunks[-1] and used + size > budget:
                chunks.append([])
                used = 0
            chunks[-1].append(u)
            used += size
        return chunks
