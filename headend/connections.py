"""The live registry of terminals, keyed by address, and what happens on the link.

* A login registers the connection under (A1, A2). A second login for an address that
  is online replaces the old connection and records the old and new peer (the SIM
  "fixed IP" that jumps); requests still waiting move to the new connection.
* Unknown terminals follow the configured policy: accept and flag, or reject.
* One sweeper task drives the login watchdog, the idle timeout and request timers.
* Requests go through each terminal's pipeline and come back as awaitables.
* Communication events (connected, login, logout, replaced, offline...) are kept in a
  bounded log and handed to sinks (storage subscribes to them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from headend import metrics
from headend.config import Limits, Settings, format_address, parse_address
from headend.listener import TerminalConnection
from headend.pipeline import Answer, Priority, Queue, Request, RequestError
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.events import (
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
)
from protocols.gdw1376.frame import Tp
from protocols.gdw1376.session import MasterSession, SessionConfig

log = structlog.get_logger("headend.connections")


@dataclass(frozen=True, slots=True)
class CommEvent:
    """A communication-log entry (通信日志): what happened to a link, and when."""

    ts: float  # wall clock, seconds since the epoch
    kind: str  # connected|login|logout|replaced|rejected|offline|events_pending
    terminal: str | None  # "A1-A2", once known
    peer: str
    detail: dict[str, Any] = field(default_factory=dict)


Sink = Callable[[CommEvent], None]
ReportHandler = Callable[[TerminalConnection, MasterEvent], None]

_HEARTBEAT: Final = 0x02


class Connections:
    """Everything the head-end knows about its links, for one worker process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits: Limits = settings.limits
        s = settings.session
        self.session_config = SessionConfig(
            msa=s.msa,
            link_reply_f3=s.link_reply_f3,
            timeout=s.timeout,
            retries=s.retries,
            backoff=s.backoff,
        )
        self.window = s.window
        self.registry: dict[tuple[int, int], TerminalConnection] = {}
        self.open: set[TerminalConnection] = set()
        self.timed: set[TerminalConnection] = set()  # with requests in flight
        self.log: deque[CommEvent] = deque(maxlen=self.limits.event_log_size)
        self.sinks: list[Sink] = []
        #: Handlers for terminal-initiated data (reports) and EC changes.
        self.report_handlers: list[ReportHandler] = []
        self.known: frozenset[tuple[int, int]] | None = (
            frozenset(parse_address(a) for a in settings.known_terminals)
            if settings.known_terminals
            else None
        )
        self.loop = asyncio.get_running_loop()
        #: Monotonic seconds, refreshed by the sweeper and on demand (cheap to read).
        self.now = self.loop.time()
        self.accepting = True
        self.tally = metrics.Tally()
        self._sweeper: asyncio.Task[None] | None = None
        self._next_watchdog = 0.0

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        self._sweeper = self.loop.create_task(self._sweep(), name="connections-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    def protocol(self) -> TerminalConnection:
        """Factory for ``loop.create_server`` / serial connections."""
        self.now = self.loop.time()
        return TerminalConnection(self)

    def new_session(self) -> MasterSession:
        return MasterSession(self.session_config)

    # --- link events (called by TerminalConnection) --------------------------------

    def opened(self, conn: TerminalConnection) -> None:
        if not self.accepting or len(self.open) >= self.limits.max_connections:
            conn.close("shutdown" if not self.accepting else "too_many_connections")
        self.open.add(conn)
        metrics.CONNECTIONS_OPEN.inc()

    def closed(self, conn: TerminalConnection, reason: str) -> None:
        if conn not in self.open:
            return
        conn.closing = conn.closing or reason
        self.open.discard(conn)
        self.timed.discard(conn)
        metrics.CONNECTIONS_OPEN.dec()
        metrics.CLOSED.labels(reason=reason).inc()
        self._fail_all(conn, "replaced" if reason == "replaced" else "offline")
        key = conn.key
        if key is not None and self.registry.get(key) is conn:
            del self.registry[key]
            metrics.TERMINALS_ONLINE.dec()
            self.record("offline", conn, reason=reason)
            log.info("terminal_offline", terminal=format_address(key), peer=conn.peer,
                     reason=reason)  # fmt: skip

    def malformed(self, conn: TerminalConnection, reason: str, data: bytes) -> None:
        metrics.DECODE_ERRORS.labels(reason=reason).inc()
        conn.errors += 1
        if conn.errors > self.limits.error_budget:
            log.warning("error_budget_exhausted", peer=conn.peer, errors=conn.errors,
                        last_reason=reason, sample=data[:32].hex())  # fmt: skip
            conn.close("error_budget")

    def dispatch(self, conn: TerminalConnection, events: list[MasterEvent]) -> None:
        for ev in events:
            handler = _HANDLERS.get(type(ev))
            if handler is not None:
                handler(self, conn, ev)

    # --- event handlers --------------------------------------------------------------

    def _on_heartbeat(self, conn: TerminalConnection, ev: MasterEvent) -> None:
        tally = self.tally
        tally.frames_in[_HEARTBEAT] += 1
        tally.frames_out[0] += 1
        tally.heartbeats += 1
        if conn.key is None:  # a terminal that kept its link up across our restart
            assert isinstance(ev, Heartbeat)  # noqa: S101 - dispatch by type
            self._login(conn, ev.frame.address, "login_by_heartbeat")

    def _on_login(self, conn: TerminalConnection, ev: MasterEvent) -> None:
        assert isinstance(ev, Login)  # noqa: S101 - dispatch by type
        self.tally.frame_in(_HEARTBEAT)
        self.tally.frame_out(0)
        self._login(conn, ev.frame.address, "login")

    def _login(self, conn: TerminalConnection, key: tuple[int, int], kind: str) -> None:
        terminal = format_address(key)
        if self.known is not None and key not in self.known:
            if self.settings.unknown_terminals == "reject":
                self.record("rejected", conn, terminal=terminal)
                log.warning("terminal_rejected", terminal=terminal, peer=conn.peer)
                conn.close("rejected")
                return
            kind += "_unknown"
        old = self.registry.get(key)
        if old is conn:
            return
        metrics.LOGINS.inc()
        if (
            conn.key is not None
            and conn.key != key
            and self.registry.get(conn.key) is conn
        ):
            # One socket, a second address: keep the first, it is what we route by.
            log.warning("second_address_on_link", terminal=terminal, peer=conn.peer)
            return
        conn.key = key
        conn.login_at = self.now
        self.registry[key] = conn
        if old is not None:
            metrics.REPLACED.inc()
            self.record("replaced", conn, terminal=terminal, old_peer=old.peer,
                        new_peer=conn.peer)  # fmt: skip
            log.warning("terminal_replaced", terminal=terminal, old_peer=old.peer,
                        new_peer=conn.peer)  # fmt: skip
            self._adopt(conn, old)
            old.key = None  # its close must not unregister the new link
            old.close("replaced")
        else:
            metrics.TERMINALS_ONLINE.inc()
        self.record(kind, conn, terminal=terminal)
        log.info("terminal_login", terminal=terminal, peer=conn.peer, kind=kind)

    def _on_logout(self, conn: TerminalConnection, ev: MasterEvent) -> None:
        metrics.LOGOUTS.inc()
        self.tally.frame_in(_HEARTBEAT)
        if conn.key is not None:
            self.record("logout", conn)
        # The confirm is written after dispatch; close once it has been flushed.
        self.loop.call_soon(conn.close, "logout")

    def _on_discarded(self, conn: TerminalConnection, ev: MasterEvent) -> None:
        assert isinstance(ev, FrameDiscarded)  # noqa: S101 - dispatch by type
        self.malformed(conn, ev.reason, ev.data)

    def _on_report(self, conn: TerminalConnection, ev: MasterEvent) -> None:
        assert isinstance(ev, Report | EventsPending)  # noqa: S101 - dispatch by type
        if isinstance(ev, Report):
            self.tally.frame_in(ev.frame.afn)
        else:
            self.record("events_pending", conn, ec1=ev.ec1, ec2=ev.ec2)
        for handler in self.report_handlers:
            handler(conn, ev)

    def _on_answer(self, conn: TerminalConnection, ev: MasterEvent) -> None:
        assert isinstance(ev, Response | Confirmed | Denied | RequestFailed)  # noqa: S101
        request = conn.inflight.pop(ev.request_id, None) if conn.inflight else None
        if request is None:
            return
        metrics.IN_FLIGHT.dec()
        afn = metrics.afn_label(request.afn)
        if isinstance(ev, RequestFailed):
            if ev.reason == "timeout":
                metrics.TIMEOUTS.inc()
            metrics.REQUESTS.labels(afn=afn, result=ev.reason).inc()
            _settle(request, exc=RequestError(ev.reason))
        else:
            metrics.REQUEST_SECONDS.labels(afn=afn).observe(self.now - request.sent_at)
            if isinstance(ev, Response):
                answer = Answer("data", ev.frames)
                self.tally.frame_in(request.afn, len(ev.frames))
            elif isinstance(ev, Confirmed):
                answer = Answer("confirmed", (ev.frame,))
                self.tally.frame_in(0)
            else:
                answer = Answer("denied", (ev.frame,), ev.reason)
                self.tally.frame_in(0)
            metrics.REQUESTS.labels(afn=afn, result=answer.kind).inc()
            _settle(request, answer=answer)
        self._pump(conn)

    def _on_unmatched(self, conn: TerminalConnection, ev: MasterEvent) -> None:
        assert isinstance(ev, Unmatched)  # noqa: S101 - dispatch by type
        self.tally.frame_in(ev.frame.afn)
        metrics.DECODE_ERRORS.labels(reason="unmatched_response").inc()

    # --- requests --------------------------------------------------------------------

    def find(self, key: tuple[int, int]) -> TerminalConnection | None:
        return self.registry.get(key)

    async def request(
        self,
        key: tuple[int, int],
        afn: int,
        units: Sequence[DataUnit],
        *,
        priority: int = Priority.ON_DEMAND,
        con: bool | None = None,
        tp: Tp | None = None,
        response_timeout: float | None = None,
        retries: int | None = None,
    ) -> Answer:
        """Send a request to a terminal held by this worker and await its answer.

        ``response_timeout`` and ``retries`` override the session defaults for this
        request; the session retransmits with back-off before giving up.
        """
        conn = self.registry.get(key)
        if conn is None or conn.closing is not None:
            raise RequestError("offline", format_address(key))
        if not self.accepting:
            raise RequestError("shutdown")
        future: asyncio.Future[Answer] = self.loop.create_future()
        request = Request(
            priority, afn, units, future, con, tp, response_timeout, retries
        )
        if conn.queue is None:
            conn.queue = Queue(self.limits.max_queued_requests)
        conn.queue.push(request)
        metrics.QUEUE_DEPTH.inc()
        self._pump(conn)
        return await future

    def _pump(self, conn: TerminalConnection) -> None:
        """Send queued requests while the in-flight window has room."""
        queue, session = conn.queue, conn.session
        if queue is None or session is None or conn.closing is not None:
            return
        while len(queue) and session.in_flight < self.window:
            request = queue.pop()
            metrics.QUEUE_DEPTH.dec()
            if request is None:
                continue
            self.now = now = self.loop.time()
            rid = session.send_request(
                request.afn, request.units, now, con=request.con, tp=request.tp,
                timeout=request.timeout, retries=request.retries,
            )  # fmt: skip
            request.sent_at = now
            if conn.inflight is None:
                conn.inflight = {}
            conn.inflight[rid] = request
            metrics.IN_FLIGHT.inc()
            self.tally.frame_out(request.afn)
            self.timed.add(conn)
            conn.write(session.data_to_send())
        if not queue:
            conn.queue = None

    def _adopt(self, new: TerminalConnection, old: TerminalConnection) -> None:
        """Move requests still waiting on the old link to the new one."""
        if old.queue is None:
            return
        waiting = old.queue.drain()
        old.queue = None
        if new.queue is None:
            new.queue = Queue(self.limits.max_queued_requests)
        for request in waiting:
            if not request.future.done():
                new.queue.push(request)
            else:
                metrics.QUEUE_DEPTH.dec()
        self._pump(new)

    def _fail_all(self, conn: TerminalConnection, reason: str) -> None:
        if conn.session is not None:
            conn.session.fail_all(reason)
            for ev in conn.session.events():
                if isinstance(ev, RequestFailed):
                    self._on_answer(conn, ev)
        if conn.inflight:
            for request in conn.inflight.values():
                metrics.IN_FLIGHT.dec()
                _settle(request, exc=RequestError(reason))
            conn.inflight = None
        if conn.queue is not None:
            for request in conn.queue.drain():
                metrics.QUEUE_DEPTH.dec()
                _settle(request, exc=RequestError(reason))
            conn.queue = None

    # --- watchdogs and timers --------------------------------------------------------

    async def _sweep(self) -> None:
        interval = self.limits.sweep_interval
        while True:
            await asyncio.sleep(interval)
            self.now = self.loop.time()
            self.sweep(self.now)
            self.tally.flush()

    def sweep(self, now: float) -> None:
        """One pass of the watchdogs and request timers (the sweeper calls it)."""
        for conn in list(self.timed):
            session = conn.session
            if session is None or not session.in_flight:
                self.timed.discard(conn)
                continue
            deadline = session.get_timer()
            if deadline is not None and deadline <= now:
                before = session.frames_out
                session.handle_timer(now)
                retried = session.frames_out - before
                if retried:
                    metrics.RETRIES.inc(retried)
                    conn.write(session.data_to_send())
                events = session.events()
                if events:
                    self.dispatch(conn, events)
        if now < self._next_watchdog:
            return
        # Watchdogs look at every link, so they run a few times per timeout, not at
        # every tick: at 20,000 links a pass costs milliseconds.
        limits = self.limits
        self._next_watchdog = now + min(limits.login_timeout, limits.idle_timeout) / 8
        login_limit = now - limits.login_timeout
        idle_limit = now - limits.idle_timeout
        for conn in list(self.open):
            if conn.closing is not None:
                continue
            if conn.key is None:
                if conn.connected_at < login_limit:
                    conn.close("login_timeout")
            elif conn.last_seen < idle_limit:
                conn.close("idle")

    # --- communication log -------------------------------------------------------------

    def record(self, kind: str, conn: TerminalConnection, **detail: Any) -> None:
        terminal = detail.pop("terminal", None)
        if terminal is None and conn.key is not None:
            terminal = format_address(conn.key)
        event = CommEvent(time.time(), kind, terminal, conn.peer, detail)
        self.log.append(event)
        for sink in self.sinks:
            sink(event)

    # --- views -------------------------------------------------------------------------

    def terminals(self) -> list[dict[str, Any]]:
        """Online terminals with peer, login time and last-seen (wall clock)."""
        wall = time.time() - self.loop.time()
        return [
            {
                "address": format_address(key),
                "peer": conn.peer,
                "login_at": conn.login_at + wall,
                "last_seen": conn.last_seen + wall,
                "in_flight": len(conn.inflight or ()),
                "queued": len(conn.queue or ()),
            }
            for key, conn in self.registry.items()
        ]

    # --- shutdown ----------------------------------------------------------------------

    async def drain(self, within: float) -> int:
        """Stop taking requests, let in-flight ones finish (up to ``within`` seconds).

        Returns how many were still in flight when the time ran out.
        """
        self.accepting = False
        for conn in list(self.open):
            if conn.queue is not None:
                for request in conn.queue.drain():
                    metrics.QUEUE_DEPTH.dec()
                    _settle(request, exc=RequestError("shutdown"))
                conn.queue = None
        waiting = [
            r.future
            for c in self.open
            for r in (c.inflight or {}).values()
            if not r.future.done()
        ]
        if waiting:
            await asyncio.wait(waiting, timeout=within)
        left = sum(len(c.inflight or ()) for c in self.open)
        for conn in list(self.open):
            conn.close("shutdown")
        return left


def _settle(
    request: Request, *, answer: Answer | None = None, exc: BaseException | None = None
) -> None:
    future = request.future
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(answer)  # type: ignore[arg-type]


_HANDLERS: Final[dict[type, Callable[[Connections, TerminalConnection, Any], None]]] = {
    Heartbeat: Connections._on_heartbeat,
    Login: Connections._on_login,
    Logout: Connections._on_logout,
    FrameDiscarded: Connections._on_discarded,
    Report: Connections._on_report,
    EventsPending: Connections._on_report,
    Response: Connections._on_answer,
    Confirmed: Connections._on_answer,
    Denied: Connections._on_answer,
    RequestFailed: Connections._on_answer,
    Unmatched: Connections._on_unmatched,
}
