"""A test-side concentrator: a TerminalSession on a real TCP connection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from protocols.gdw1376 import DataUnit, Frame
from protocols.gdw1376.events import LinkConfirmed, LinkLost, Request
from protocols.gdw1376.terminal import TerminalConfig, TerminalSession

Answerer = Callable[["TestTerminal", Frame], None]


class TestTerminal(asyncio.Protocol):
    """Logs in, heartbeats on demand, and answers requests with ``answer``."""

    __test__ = False  # not a pytest class

    def __init__(self, a2: int, *, a1: str = "4403", answer: Answerer | None = None,
                 max_l1: int = 1024, version: int = 2013) -> None:  # fmt: skip
        self.session = TerminalSession(
            TerminalConfig(
                a1, a2, heartbeat_interval=3600, max_l1=max_l1, version=version
            )
        )
        self.answer = answer
        self.transport: asyncio.Transport | None = None
        self.confirmed: asyncio.Queue[int] = asyncio.Queue()
        self.requests: list[Frame] = []
        self.closed = asyncio.Event()
        self.received = bytearray()

    @classmethod
    async def connect(cls, port: int, a2: int, *, host: str = "127.0.0.1",
                      local: str | None = None, **kw: object) -> TestTerminal:  # fmt: skip
        loop = asyncio.get_running_loop()
        term = cls(a2, **kw)  # type: ignore[arg-type]
        await loop.create_connection(
            lambda: term, host, port, local_addr=(local, 0) if local else None
        )
        return term

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += data
        self.session.receive_data(data, time.time())
        for ev in self.session.events():
            if isinstance(ev, LinkConfirmed):
                self.confirmed.put_nowait(ev.fn)
            elif isinstance(ev, Request):
                self.requests.append(ev.frame)
                if self.answer is not None:
                    self.answer(self, ev.frame)
            elif isinstance(ev, LinkLost):
                pass
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def flush(self) -> None:
        out = self.session.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(out)

    async def login(self) -> None:
        self.session.connect(time.time())
        self.flush()
        assert await asyncio.wait_for(self.confirmed.get(), 5) == 1

    async def heartbeat(self) -> float:
        """Send a heartbeat; return the seconds until it was confirmed."""
        start = time.perf_counter()
        self.session.handle_timer(time.time() + 10_000)
        self.flush()
        assert await asyncio.wait_for(self.confirmed.get(), 5) == 3
        return time.perf_counter() - start

    def respond(self, request: Frame, units: list[DataUnit]) -> None:
        self.session.respond(request, units)
        self.flush()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
