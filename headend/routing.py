"""Which worker of which machine holds a terminal, and how a request gets there.

Several head-end machines (``node``), each with several workers, accept terminals;
an operator request or a collection task may start on any of them. Two pieces make
the request reach the link:

* :class:`LinkDirectory` keeps ``terminal_link`` (schema/0004_routing.sql) current:
  a row per online terminal naming its node and worker, written at login and removed
  when the link closes; a terminal the archive lacks is added to it as
  ``discovered`` (an archive mismatch to resolve). Writes are coalesced per terminal and flushed in one
  statement a few times a second, so a login storm is a handful of round trips and a
  database outage only delays them. Because the table decides who holds a terminal,
  it also decides the retained online/offline status on the bus: a worker announces
  "offline" only if the row was still its own, so a late close on the old worker can
  never overwrite the login on the new one.
* :class:`RemoteRequests` carries requests over MQTT to
  ``<prefix>/<site>/node/<node>/<worker>/request`` and the answer back to the asking
  worker's ``…/reply`` topic. QoS 1 may deliver a message twice: the serving side
  remembers recent request ids and runs each once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
import structlog

from headend import metrics
from headend.bus import ONLINE_KINDS, Bus, BusMessage
from headend.connections import CommEvent

log = structlog.get_logger("headend.routing")

FLUSH_INTERVAL: Final = 0.2  # seconds between directory writes
MAX_PENDING: Final = 200_000  # terminals with a change not yet written
LOOKUP_TIMEOUT: Final = 2.0  # seconds; past it the caller falls back to asking around
RETRY_MAX: Final = 30.0  # seconds between attempts while the database is away
MAX_SERVING: Final = 1_000  # requests from other machines running at once
MAX_WAITING: Final = 10_000  # requests this worker awaits answers for
SEEN_IDS: Final = 10_000  # request ids remembered against QoS 1 duplicates

#: announce(terminal, online, since, peer, reason)
Announce = Callable[[str, bool, float, str, str], None]


class LinkDirectory:
    """This worker's rows of ``terminal_link`` (see the module docstring)."""

    def __init__(self, dsn: str, node: str, worker: int,
                 announce: Announce | None = None) -> None:  # fmt: skip
        self.dsn = dsn
        self.node = node
        self.worker = worker
        self.announce = announce
        # terminal -> (online, ts, peer, reason); the latest change wins
        self._pending: OrderedDict[str, tuple[bool, float, str, str]] = OrderedDict()
        self._wake = asyncio.Event()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        self._cleared = False
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"routing-links-{self.worker}"
        )

    async def stop(self, within: float = 5.0) -> None:
        """Write what is pending (bounded in time), then close."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(TimeoutError, psycopg.Error, OSError):
            async with asyncio.timeout(within):
                await self.flush()
        await self._drop_connection()

    # --- events from the link layer ---------------------------------------------------

    def sink(self, event: CommEvent) -> None:
        """A ``Connections.sinks`` entry."""
        terminal = event.terminal
        if terminal is None:
            return
        if event.kind in ONLINE_KINDS:
            change = (True, event.ts, event.peer, event.kind)
        elif event.kind == "offline":
            change = (False, event.ts, event.peer, str(event.detail.get("reason", "")))
        else:
            return
        pending = self._pending
        pending[terminal] = change
        pending.move_to_end(terminal)
        if len(pending) > MAX_PENDING:  # only while the database is long away
            pending.popitem(last=False)
            self.dropped += 1
        self._wake.set()

    # --- the database -----------------------------------------------------------------

    async def lookup(self, terminal: str) -> tuple[str, int] | None:
        """(node, worker) holding the terminal, or None (not online, or unknown now)."""
        try:
            async with self._lock, asyncio.timeout(LOOKUP_TIMEOUT):
                conn = await self._connection()
                row = await (
                    await conn.execute(
                        "SELECT node, worker FROM terminal_link WHERE terminal = %s",
                        (terminal,),
                    )
                ).fetchone()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            log.warning("link_lookup_failed", terminal=terminal, error=str(exc))
            await self._drop_connection()
            return None
        return None if row is None else (str(row[0]), int(row[1]))

    async def flush(self) -> None:
        """Write the pending changes (raises if the database is unreachable)."""
        if not self._cleared:
            await self._clear_own()
        if not self._pending:
            return
        batch, self._pending = self._pending, OrderedDict()
        try:
            await self._write(batch)
        except BaseException:
            # put back what no newer change replaced meanwhile
            for terminal, change in batch.items():
                self._pending.setdefault(terminal, change)
            raise

    async def _write(
        self, batch: OrderedDict[str, tuple[bool, float, str, str]]
    ) -> None:
        ups = [(t, c) for t, c in batch.items() if c[0]]
        downs = [t for t, c in batch.items() if not c[0]]
        async with self._lock:
            conn = await self._connection()
            async with conn.transaction():
                held: list[Any] = []
                if ups:
                    # A terminal the archive lacks is recorded as met in the field.
                    await conn.execute(
                        "INSERT INTO terminal (a1, a2, status) "
                        "SELECT split_part(t, '-', 1), split_part(t, '-', 2)::int, "
                        "'discovered' FROM unnest(%s::text[]) AS t "
                        "WHERE t ~ '^[0-9]{4}-[0-9]{1,5}$' "
                        "AND split_part(t, '-', 2)::int <= 65535 "
                        "ON CONFLICT (a1, a2) DO NOTHING",
                        ([t for t, _ in ups],),
                    )
                    cur = await conn.execute(
                        "INSERT INTO terminal_link (terminal, node, worker, peer, since) "
                        "SELECT t, %s, %s, p, s FROM unnest(%s::text[], %s::text[], "
                        "%s::timestamptz[]) AS u(t, p, s) "
                        "ON CONFLICT (terminal) DO UPDATE SET node = EXCLUDED.node, "
                        "worker = EXCLUDED.worker, peer = EXCLUDED.peer, "
                        "since = EXCLUDED.since, updated_at = now() "
                        "WHERE terminal_link.since <= EXCLUDED.since "
                        "RETURNING terminal",
                        (self.node, self.worker, [t for t, _ in ups],
                         [c[2] for _, c in ups],
                         [datetime.fromtimestamp(c[1], UTC) for _, c in ups]),
                    )  # fmt: skip
                    held = await cur.fetchall()
                released: list[Any] = []
                if downs:
                    cur = await conn.execute(
                        "DELETE FROM terminal_link WHERE terminal = ANY(%s) "
                        "AND node = %s AND worker = %s RETURNING terminal",
                        (downs, self.node, self.worker),
                    )
                    released = await cur.fetchall()
        if self.announce is None:
            return
        for (terminal,) in held:
            _, ts, peer, reason = batch[terminal]
            self.announce(terminal, True, ts, peer, reason)
        for (terminal,) in released:
            _, ts, peer, reason = batch[terminal]
            self.announce(terminal, False, ts, peer, reason)

    async def _clear_own(self) -> None:
        """Rows a previous run of this worker left (it was killed): offline now."""
        async with self._lock:
            conn = await self._connection()
            rows = await (
                await conn.execute(
                    "DELETE FROM terminal_link WHERE node = %s AND worker = %s "
                    "RETURNING terminal, peer",
                    (self.node, self.worker),
                )
            ).fetchall()
        self._cleared = True
        now = time.time()
        for terminal, peer in rows:
            if terminal not in self._pending and self.announce is not None:
                self.announce(str(terminal), False, now, str(peer), "worker_restart")

    async def _run(self) -> None:
        delay = FLUSH_INTERVAL
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
                delay = FLUSH_INTERVAL
            except (psycopg.Error, OSError) as exc:
                log.warning("link_directory_unavailable", error=str(exc),
                            pending=len(self._pending))  # fmt: skip
                await self._drop_connection()
                delay = min(max(delay * 2, 1.0), RETRY_MAX)
            # coalesce: what arrives in the next interval goes in one statement
            await asyncio.sleep(FLUSH_INTERVAL)

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, connect_timeout=5
            )
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


class RemoteError(Exception):
    """A request could not be carried to, or answered by, another machine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RemoteRequests:
    """Requests to workers on other machines, over the bus (see the module docstring).

    ``serve`` runs one request message on this worker and returns the answer message
    (the same shape as the Unix-socket IPC of :mod:`headend.cluster`).
    """

    def __init__(self, bus: Bus, serve: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> None:  # fmt: skip
        self.bus = bus
        self.serve = serve
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._serving: set[asyncio.Task[None]] = set()
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def start(self) -> None:
        await self.bus.subscribe(self.bus.node_topic("request"), self._on_request)
        await self.bus.subscribe(self.bus.node_topic("reply"), self._on_reply)

    async def stop(self) -> None:
        await self.bus.unsubscribe(self.bus.node_topic("request"))
        await self.bus.unsubscribe(self.bus.node_topic("reply"))
        for task in list(self._serving):
            task.cancel()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(RemoteError("shutdown"))
        self._waiting.clear()

    async def request(self, node: str, worker: int, message: dict[str, Any],
                      budget: float) -> dict[str, Any]:  # fmt: skip
        """Send ``message`` to that worker and wait up to ``budget`` s for its answer."""
        if len(self._waiting) >= MAX_WAITING:
            raise RemoteError("busy")
        rid = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[rid] = future
        body = dict(message, id=rid, reply_to=self.bus.node_topic("reply"),
                    deadline=time.time() + budget)  # fmt: skip
        try:
            topic = self.bus.topics.node(node, worker, "request")
            if not self.bus.publish_nowait(topic, json.dumps(body)):
                raise RemoteError("bus_refused")
            metrics.ROUTED_REQUESTS.labels(way="out").inc()
            async with asyncio.timeout(budget):
                return await future
        except TimeoutError:
            raise RemoteError("timeout") from None
        finally:
            self._waiting.pop(rid, None)

    async def _on_reply(self, message: BusMessage) -> None:
        try:
            reply = json.loads(message.payload)
            future = self._waiting.get(str(reply["id"]))
        except (ValueError, KeyError, TypeError):
            metrics.DECODE_ERRORS.labels(reason="bad_routed_reply").inc()
            return
        if future is not None and not future.done():
            future.set_result(reply)

    async def _on_request(self, message: BusMessage) -> None:
        try:
            body = json.loads(message.payload)
            rid, reply_to = str(body["id"]), str(body["reply_to"])
            deadline = float(body["deadline"])
        except (ValueError, KeyError, TypeError):
            metrics.DECODE_ERRORS.labels(reason="bad_routed_request").inc()
            return
        if rid in self._seen:  # a QoS 1 duplicate: it ran (or runs) already
            return
        self._seen[rid] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
        if time.time() > deadline:
            return  # the asker has given up: running it now would surprise everyone
        if len(self._serving) >= MAX_SERVING:
            self._reply(reply_to, {"id": rid, "found": True, "error": "busy"})
            return
        metrics.ROUTED_REQUESTS.labels(way="in").inc()
        task = asyncio.get_running_loop().create_task(
            self._run(rid, reply_to, body), name=f"routed-request-{rid[:8]}"
        )
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)

    async def _run(self, rid: str, reply_to: str, body: dict[str, Any]) -> None:
        try:
            answer = await self.serve(body)
        except (ValueError, KeyError, TypeError) as exc:
            answer = {"found": True, "error": f"bad_request: {exc}"}
        self._reply(reply_to, dict(answer, id=rid))

    def _reply(self, topic: str, answer: dict[str, Any]) -> None:
        self.bus.publish_nowait(topic, json.dumps(answer))
