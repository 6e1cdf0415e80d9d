"""One ``asyncio.Protocol`` per terminal connection (TCP or serial).

``data_received`` never awaits (STYLE H1). It feeds the sans-IO session, writes what
the session has to send at once (so a heartbeat is confirmed in the same callback
that read it, never behind queued requests) and hands events to the connection
manager, whose handlers are plain non-blocking functions. There is no task per
connection: timers, watchdogs and idle checks are one sweeper for all of them, and
"last seen" is a timestamp, not a timer (no per-frame timer churn).

Departure from STYLE H1 (a bounded queue and a consumer task per connection): a task
costs about a kilobyte, a third of the per-connection memory budget, and no event
handler here needs to await; anything slow (storage, MQTT) takes events through its
own bounded queue.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from headend.pipeline import Queue, Request
from protocols.detect import detecting_scanner
from protocols.gdw1376.frame import decode_checked
from protocols.gdw1376.session import MasterSession
from protocols.scanner import DetectingScanner, Discarded

if TYPE_CHECKING:
    from headend.connections import Connections


class TerminalConnection(asyncio.Protocol):
    """A link to one terminal (or, before login, to an unknown peer)."""

    __slots__ = (
        "_detect",
        "closing",
        "connected_at",
        "errors",
        "inflight",
        "key",
        "last_seen",
        "login_at",
        "manager",
        "peer",
        "queue",
        "session",
        "transport",
    )

    def __init__(self, manager: Connections) -> None:
        self.manager = manager
        self.transport: asyncio.BaseTransport | None = None
        self.peer = ""
        self.session: MasterSession | None = None
        self._detect: DetectingScanner | None = None
        #: (A1 word, A2) once logged in.
        self.key: tuple[int, int] | None = None
        self.connected_at = manager.now
        self.last_seen = manager.now
        self.login_at = 0.0
        self.errors = 0
        self.queue: Queue | None = None
        self.inflight: dict[int, Request] | None = None
        #: Why we are closing it, once we decided to (None while open).
        self.closing: str | None = None

    # --- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = f"{peer[0]}:{peer[1]}"
        elif peer:
            self.peer = str(peer)
        else:
            port = getattr(transport.get_extra_info("serial"), "port", None)
            self.peer = f"serial:{port}"
        self.manager.opened(self)

    def data_received(self, data: bytes) -> None:
        manager = self.manager
        self.last_seen = now = manager.now
        manager.tally.bytes_in += len(data)
        session = self.session
        if session is None:
            session = self._detect_protocol(data, now)
            if session is None:
                return
        else:
            session.receive_data(data, now)
        events = session.events()
        if events:
            manager.dispatch(self, events)
        out = session.data_to_send()
        if out and self.closing is None:
            self.write(out)

    def connection_lost(self, exc: Exception | None) -> None:
        self.manager.closed(self, self.closing or ("peer_error" if exc else "peer"))

    # --- helpers ---------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(data)  # type: ignore[attr-defined]
        self.manager.tally.bytes_out += len(data)
        if transport.get_write_buffer_size() > self.manager.limits.write_buffer_limit:  # type: ignore[attr-defined]
            self.close("write_overflow")

    def close(self, reason: str) -> None:
        """Close with a reason (recorded when the connection is lost)."""
        if self.closing is None:
            self.closing = reason
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _detect_protocol(self, data: bytes, now: float) -> MasterSession | None:
        """The first bytes decide the protocol (ARCHITECTURE.md: one port, several)."""
        if self._detect is None:
            self._detect = detecting_scanner()
        detect = self._detect
        events = detect.feed(data)
        for ev in events:
            if isinstance(ev, Discarded):
                self.manager.malformed(self, ev.reason, ev.data)
        if detect.protocol is None:
            return None
        if detect.protocol != "gdw1376":
            self.close("unsupported_protocol")
            return None
        session = self.session = self.manager.new_session()
        held = detect.scanner.held if detect.scanner is not None else b""
        self._detect = None
        for ev in events:
            if isinstance(ev, bytes):
                session.receive_frame(decode_checked(ev, session.config.dialect), now)
        if held:
            session.receive_data(held, now)
        return session

    def info(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "connected_at": self.connected_at,
            "login_at": self.login_at,
            "last_seen": self.last_seen,
        }
