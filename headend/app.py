"""Composition root of one head-end worker: listener, sweeper, API, signals, shutdown.

Start order: connections (and their sweeper) → bus → storage → sibling-worker link
and cross-machine routing → TCP listener → serial ports → API. SIGTERM/SIGINT stop it
gracefully: stop accepting, let in-flight requests finish (``limits.drain_timeout``),
stop the API and the routing, close every link (their offline events are still
stored and published), then flush storage and the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
import uvicorn

from headend.api.http import build_app
from headend.bus import Bus, comm_event_sink
from headend.cluster import Cluster
from headend.collection.events import EventCollector, requests_via
from headend.collection.reads import Reader
from headend.collection.runner import Collector
from headend.config import Settings
from headend.connections import Connections
from headend.persistence import Persistence
from headend.pipeline import Priority
from headend.routing import RemoteRequests

log = structlog.get_logger("headend.app")


class _ApiServer(uvicorn.Server):
    """uvicorn in our loop; the head-end, not uvicorn, owns the process signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(
    host: str, port: int, *, reuse_port: bool, backlog: int = 4096
) -> socket.socket:
    """A listening TCP socket; SO_REUSEPORT lets several workers share the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


@dataclass
class Worker:
    """One running worker (also what tests drive directly)."""

    settings: Settings
    index: int = 0
    connections: Connections = field(init=False)
    cluster: Cluster = field(init=False)
    port: int = field(init=False, default=0)
    api_port: int = field(init=False, default=0)
    _server: asyncio.Server | None = field(init=False, default=None)
    _api: _ApiServer | None = field(init=False, default=None)
    _api_task: asyncio.Task[None] | None = field(init=False, default=None)
    _serial: list[asyncio.BaseTransport] = field(init=False, default_factory=list)
    persistence: Persistence | None = field(init=False, default=None)
    collector: Collector | None = field(init=False, default=None)
    reader: Reader | None = field(init=False, default=None)
    events: EventCollector | None = field(init=False, default=None)
    bus: Bus | None = field(init=False, default=None)
    remote: RemoteRequests | None = field(init=False, default=None)

    async def start(self) -> None:
        s = self.settings
        loop = asyncio.get_running_loop()
        self.connections = Connections(s)
        self.connections.start()
        if s.mqtt_url:
            self.bus = Bus(s.mqtt_url, site=s.site, node=s.node, worker=self.index,
                           settings=s.bus)  # fmt: skip
            self.bus.start()
            # With storage the terminal directory publishes the status (routing.py).
            self.connections.sinks.append(
                comm_event_sink(self.bus, status=not s.storage)
            )
        if s.storage:
            self.persistence = Persistence(s, f"{s.node}-w{self.index}", self.index)
            await self.persistence.start(self.connections, self.bus)
        self.cluster = Cluster(self.connections, self.index, s.workers, s.runtime_dir,
                               s.node)  # fmt: skip
        await self.cluster.start()
        if self.persistence is not None:
            self.cluster.links = self.persistence.links
        if self.bus is not None:
            self.remote = RemoteRequests(self.bus, self.cluster.handle)
            await self.remote.start()
            self.cluster.remote = self.remote
        p = self.persistence
        if p is not None and p.writer is not None and p.directory is not None:
            # Events (事件): fetched when a terminal flags them (ACD/EC) or reports.
            self.events = EventCollector(
                requests_via(self.connections), p.directory, p.writer, p.dsn,
                timezone=s.timezone, worker=p.worker,
                # behind control and on-demand reads, ahead of scheduled collection
                priority=Priority.RECOLLECT,
            )  # fmt: skip
            self.connections.report_handlers.append(self.events.on_event)
            await self.events.start()
        if p is not None and p.ingest is not None and p.writer is not None:
            self.collector = Collector(s, self.connections, p.ingest, p.writer, p.dsn,
                                       self.index)  # fmt: skip
            if self.events is not None:
                self.collector.events_hook = self.events.poll
            await self.collector.start()
        self.reader = Reader(self.cluster, s, p.dsn if p is not None else None,
                             p.ingest if p is not None else None)  # fmt: skip
        reuse = s.workers > 1
        sock = bind(s.host, s.port, reuse_port=reuse)
        self.port = sock.getsockname()[1]
        self._server = await loop.create_server(self.connections.protocol, sock=sock)
        for port in s.serial:
            from headend.serial import open_serial  # noqa: PLC0415 - optional transport

            self._serial.append(await open_serial(self.connections, port))
        api_sock = bind(s.api_host, s.api_port, reuse_port=reuse, backlog=256)
        self.api_port = api_sock.getsockname()[1]
        dsn = p.dsn if p is not None else None
        config = uvicorn.Config(
            build_app(self.cluster, s, dsn=dsn, reader=self.reader),
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._api = _ApiServer(config)
        self._api_task = loop.create_task(
            self._api.serve(sockets=[api_sock]), name="api"
        )
        log.info(
            "worker_started", worker=self.index, port=self.port, api_port=self.api_port
        )

    async def stop(self) -> None:
        """Graceful stop: no new links, drain requests, close links, flush, stop."""
        if self._server is not None:
            self._server.close()
        if self.collector is not None:
            await self.collector.stop()
        if self.reader is not None:
            await self.reader.stop()
        left = await self.connections.drain(within=self.settings.limits.drain_timeout)
        for transport in self._serial:
            transport.close()
        for _ in range(200):  # closed links report themselves; wait up to 2 s
            if not self.connections.open:
                break
            await asyncio.sleep(0.01)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self._server.wait_closed()
        if self._api is not None and self._api_task is not None:
            self._api.should_exit = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self._api_task
        if self.remote is not None:
            await self.remote.stop()
        await self.cluster.stop()
        await self.connections.stop()  # links close: their offline events go out
        if self.events is not None:
            await self.events.stop()
        if self.persistence is not None:
            await self.persistence.stop()
        if self.bus is not None:
            await self.bus.stop()
        log.info("worker_stopped", worker=self.index, requests_abandoned=left)


async def run(settings: Settings, index: int = 0) -> None:
    """Run one worker until SIGTERM or SIGINT."""
    worker = Worker(settings, index)
    await worker.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await worker.stop()


def event_loop_factory() -> type[asyncio.AbstractEventLoop] | None:
    """Uvloop's loop when it is installed (ARCHITECTURE.md), else asyncio's."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return None
    return uvloop.Loop
