"""Master-station side of a 1376.1 link, sans-IO (STYLE S1-S5).

One :class:`MasterSession` per connection. It owns the link obligations so the host
never has to think about them:

* login, logout and heartbeat are confirmed the moment they are decoded, into
  :meth:`data_to_send`, never behind queued requests (the TmnlHUB pitfall,
  PROTOCOLS.md §6); any other terminal frame with CON=1 gets AFN00 F1;
* requests get a PFC-derived PSEQ, are retransmitted unchanged (same PSEQ) on
  timeout with back-off, at most ``retries`` times (Std-2013 §4.3.4.3.5: ≤ 3);
* responses are matched by address, AFN and RSEQ; FIR/FIN multi-frame answers are
  reassembled (RSEQ increments per frame), bounded by ``max_parts``;
* event counters (EC) are tracked; a change with ACD=1 surfaces as EventsPending.

Time is an argument (``now``, any monotonic clock in seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from protocols.errors import LocalProtocolError, ProtocolError
from protocols.gdw1376 import build
from protocols.gdw1376.events import (
    NEED_DATA,
    Confirmed,
    Denied,
    EventsPending,
    FrameDiscarded,
    Heartbeat,
    Login,
    Logout,
    MasterEvent,
    Report,
    RequestFailed,
    Response,
    Unmatched,
    _NeedData,
)
from protocols.gdw1376.frame import (
    ACD_BIT,
    ALL_POINTS,
    DIR_BIT,
    PRM_BIT,
    PSEQ_MASK,
    STANDARD,
    DataUnit,
    Dialect,
    Frame,
    Func,
    Tp,
    encode_frame,
)
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.scanner import FrameReader
from protocols.gdw1376.units.afn00 import PerUnitConfirm
from protocols.gdw1376.units.afn02 import HEARTBEAT, LOGIN, LOGOUT
from protocols.scanner import Discarded

MAX_RETRIES: Final = 3  # Std-2013 §4.3.4.3.5
_AFN_LINK: Final = int(AFN.LINK)
# Shared, never mutated: the pending table of a session that has sent nothing yet.
_NONE_PENDING: Final[dict[int, _Pending]] = {}


@dataclass(slots=True)
class _Pending:
    request_id: int
    afn: int
    a1: str
    a2: int
    pseq: int
    wire: bytes
    timeout: float
    retries: int
    deadline: float
    attempts: int = 0
    parts: list[Frame] = field(default_factory=list)
    next_rseq: int = -1
    #: (pn, Fn) of the units asked: an answer carrying others is not this one's
    asked: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Link behaviour of a master session (defaults follow PROTOCOLS.md §6)."""

    msa: int = 1
    #: Reply to link tests with AFN00 F3 (the standard's text) instead of F1 (practice).
    link_reply_f3: bool = False
    timeout: float = 15.0
    retries: int = 2
    backoff: float = 1.5
    max_parts: int = 256
    dialect: Dialect = STANDARD


class MasterSession:
    """Master side of one terminal connection (see the module docstring).

    Slotted and lazily allocated: a head-end holds tens of thousands of these.
    """

    __slots__ = (
        "_events",
        "_next_id",
        "_out",
        "_pending",
        "_pfc",
        "address",
        "config",
        "ec",
        "frames_in",
        "frames_out",
        "reader",
    )

    def __init__(self, config: SessionConfig | None = None) -> None:
        self.config = config or SessionConfig()
        if not 0 <= self.config.retries <= MAX_RETRIES:
            raise LocalProtocolError(f"retries must be 0..{MAX_RETRIES}")
        self.reader = FrameReader(self.config.dialect)
        #: (A1, A2) of the terminal once it has logged in.
        self.address: tuple[str, int] | None = None
        self.ec: tuple[int, int] | None = None
        # A list, not a deque: it is drained after every read and an empty deque
        # costs ten times the memory.
        self._events: list[MasterEvent] = []
        self._out = b""  # the empty bytes object is shared: an idle link costs nothing
        self._pending: dict[int, _Pending] = _NONE_PENDING  # by PSEQ; a dict once used
        self._pfc = 0
        self._next_id = 0
        self.frames_in = 0
        self.frames_out = 0

    # --- host API ------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes from the transport."""
        for ev in self.reader.feed(data):
            if isinstance(ev, Discarded):
                self._events.append(FrameDiscarded(ev.reason, ev.data))
            else:
                self.receive_frame(ev, now)

    def receive_frame(self, frame: Frame, now: float) -> None:
        """Feed one link-decoded frame (e.g. from a protocol-detecting host)."""
        self.frames_in += 1
        c = frame.c  # the bits are read here, not through Frame's properties: this
        if not c & DIR_BIT:  # runs for every frame of every terminal
            self._events.append(FrameDiscarded("wrong_direction", frame.raw))
            return
        if c & PRM_BIT:
            self._initiated(frame)
        else:
            self._response(frame, now)
        # After the frame's own event: a login that carries new counters is a login
        # first (the host knows the terminal by then), then events pending. An
        # uplink frame carries EC exactly when ACD=1.
        if c & ACD_BIT:
            ec = frame.ec
            if ec is not None and ec != self.ec:
                previous, self.ec = self.ec, ec
                self._events.append(EventsPending(ec[0], ec[1], previous))

    def next_event(self) -> MasterEvent | _NeedData:
        return self._events.pop(0) if self._events else NEED_DATA

    def events(self) -> list[MasterEvent]:
        """Drain every queued event."""
        out = self._events
        if out:
            self._events = []
        return out

    def data_to_send(self) -> bytes:
        out = self._out
        self._out = b""
        return out

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def send_request(
        self,
        afn: int,
        units: Sequence[DataUnit],
        now: float,
        *,
        address: tuple[str, int] | None = None,
        con: bool | None = None,
        tp: Tp | None = None,
        pw: bytes | None = None,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> int:
        """Queue a request for sending; returns its id (seen again in the answer)."""
        a1, a2 = address or self.address or (None, None)
        if a1 is None or a2 is None:
            raise LocalProtocolError("no terminal address: not logged in")
        pseq = self._free_pseq()
        frame = build.request(a1, a2, afn, units, pseq=pseq, msa=self.config.msa,
                              con=con, tp=tp, pw=pw)  # fmt: skip
        wire = encode_frame(frame, self.config.dialect)
        self._next_id += 1
        t = self.config.timeout if timeout is None else timeout
        r = self.config.retries if retries is None else retries
        if not 0 <= r <= MAX_RETRIES:
            raise LocalProtocolError(f"retries must be 0..{MAX_RETRIES}")
        if self._pending is _NONE_PENDING:
            self._pending = {}
        asked = frozenset((u.pn, u.fn) for u in units)
        self._pending[pseq] = _Pending(self._next_id, afn, a1, a2, pseq, wire, t, r,
                                       now + t, asked=asked)  # fmt: skip
        self._write(wire)
        return self._next_id

    def fail_all(self, reason: str = "closed") -> None:
        """Fail every outstanding request (the connection is gone)."""
        for p in self._pending.values():
            self._events.append(RequestFailed(p.request_id, reason, tuple(p.parts)))
        self._pending = _NONE_PENDING

    def get_timer(self) -> float | None:
        if not self._pending:
            return None
        return min(p.deadline for p in self._pending.values())

    def handle_timer(self, now: float) -> None:
        for pseq, p in list(self._pending.items()):
            if p.deadline > now:
                continue
            if p.parts:
                # A multi-frame answer stalled; retransmitting would restart it.
                del self._pending[pseq]
                self._events.append(
                    RequestFailed(p.request_id, "incomplete", tuple(p.parts))
                )
            elif p.attempts < p.retries:
                p.attempts += 1
                p.deadline = now + p.timeout * self.config.backoff**p.attempts
                self._write(p.wire)  # same PSEQ: the terminal may answer from cache
            else:
                del self._pending[pseq]
                self._events.append(RequestFailed(p.request_id, "timeout"))

    # --- internals -----------------------------------------------------------------

    def _write(self, wire: bytes) -> None:
        self._out += wire
        self.frames_out += 1

    def _free_pseq(self) -> int:
        for _ in range(16):
            self._pfc = (self._pfc + 1) & 0xFF
            pseq = self._pfc & 0x0F
            if pseq not in self._pending:
                return pseq
        raise LocalProtocolError("16 requests in flight: no free PSEQ")

    def _initiated(self, frame: Frame) -> None:
        fn = frame.fn if frame.afn == _AFN_LINK else None
        if fn is not None:
            if self.config.link_reply_f3:
                self._write(build.per_unit_confirm(frame, dialect=self.config.dialect))
            else:
                self._write(build.link_reply(frame.a1_word, frame.a2, frame.a3,
                                             frame.seq & PSEQ_MASK))  # fmt: skip
            if fn == HEARTBEAT:
                self._events.append(Heartbeat(frame))
            elif fn == LOGIN:
                self.address = (frame.a1, frame.a2)
                self._events.append(Login(frame))
            elif fn == LOGOUT:
                self._events.append(Logout(frame))
            else:
                self._events.append(Report(frame))
            return
        if frame.con:
            self._write(build.confirm(frame, dialect=self.config.dialect))
        self._events.append(Report(frame))

    def _response(self, frame: Frame, now: float) -> None:
        if frame.con:  # the terminal wants each response frame confirmed
            self._write(build.confirm(frame, dialect=self.config.dialect))
        rseq = frame.pseq
        # Continuation of a multi-frame answer?
        if not frame.fir:
            for p in self._pending.values():
                if (
                    p.parts
                    and p.next_rseq == rseq
                    and p.afn == frame.afn
                    and self._same(p, frame)
                    and self._answers(p, frame)
                ):
                    self._add_part(p, frame, now)
                    return
        found = self._pending.get(rseq)
        if found is None or not self._same(found, frame) or found.parts:
            self._events.append(Unmatched(frame))
            return
        p = found
        if frame.afn == AFN.CONFIRM or frame.func == Func.DENY_NO_DATA:
            del self._pending[rseq]
            self._events.append(self._verdict(p, frame))
            return
        if frame.afn != p.afn or not self._answers(p, frame):
            # e.g. the tail of a duplicate answer to a retransmitted request, whose
            # RSEQ is this request's PSEQ: taking it would drop the real answer
            self._events.append(Unmatched(frame))
            return
        if frame.fin:  # FIR/FIN = 11, or the 01 quirk on single answers (S4)
            del self._pending[rseq]
            self._events.append(Response(p.request_id, (frame,)))
            return
        self._add_part(p, frame, now)

    @staticmethod
    def _answers(p: _Pending, frame: Frame) -> bool:
        """Whether the frame's units are among those asked (unknown: assume so)."""
        if not p.asked:
            return True
        try:
            units = frame.units
        except ProtocolError:
            return True  # the consumer reports the damage
        asked = p.asked
        return all((u.pn, u.fn) in asked or (ALL_POINTS, u.fn) in asked for u in units)

    @staticmethod
    def _same(p: _Pending, frame: Frame) -> bool:
        return p.a2 == frame.a2 and p.a1 == frame.a1

    def _add_part(self, p: _Pending, frame: Frame, now: float) -> None:
        p.parts.append(frame)
        if frame.fin:
            del self._pending[p.pseq]
            self._events.append(Response(p.request_id, tuple(p.parts)))
        elif len(p.parts) >= self.config.max_parts:
            del self._pending[p.pseq]
            self._events.append(
                RequestFailed(p.request_id, "too_many_parts", tuple(p.parts))
            )
        else:
            p.next_rseq = (frame.pseq + 1) & 0x0F
            p.deadline = now + p.timeout

    @staticmethod
    def _verdict(p: _Pending, frame: Frame) -> Confirmed | Denied:
        if frame.func == Func.DENY_NO_DATA and frame.afn != AFN.CONFIRM:
            return Denied(p.request_id, frame, "no_data")
        fns = {u.fn for u in frame.units}
        if 1 in fns:
            return Confirmed(p.request_id, frame)
        if 2 in fns:
            return Denied(p.request_id, frame, "denied")
        for u in frame.units:
            if isinstance(u.data, PerUnitConfirm):
                if any(v.err for v in u.data.verdicts):
                    return Denied(p.request_id, frame, "unit_error")
                return Confirmed(p.request_id, frame)
        return Denied(p.request_id, frame, "security_error" if 4 in fns else "denied")
