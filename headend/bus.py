"""The MQTT bus (消息总线): readings, events and terminal status out; requests in.

One :class:`Bus` per worker owns one aiomqtt client and its whole life: connect,
re-subscribe, publish, lose the broker, back off, reconnect, stop. Callers never wait
for the broker:

* :meth:`Bus.publish_nowait` appends to a bounded queue and returns at once. When the
  queue is full the **oldest** message is dropped and counted
  (``headend_bus_dropped_total{reason="queue_full"}``); a broker outage costs data on
  the bus, never collection time.
* A fixed window of publisher coroutines sends QoS 1 PUBLISHes in queue order and
  waits for their PUBACKs. Messages in flight when the connection breaks go back to
  the head of the queue (at least once: a consumer may see a message twice).
* Subscriptions (topic filter + async callback) are made again after every reconnect,
  before anything queued is sent; the routing layer uses them for per-worker request
  topics and its replies.
* Reconnects wait an exponential back-off with jitter, bounded by
  ``reconnect_max``; the client task survives every error.

Topics and the v1 JSON payloads are documented in ``docs/mqtt.md``; this module
builds them (:class:`Topics`, :func:`encode_readings`, :func:`encode_event`,
:func:`encode_status`), and :func:`comm_event_sink` turns the communication log
(通信日志) into retained terminal status (终端在线状态) and an event stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import json
import random
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Protocol, Self
from urllib.parse import unquote, urlsplit
from uuid import UUID

import aiomqtt
import structlog
from pydantic import BaseModel, ConfigDict, Field, model_validator

from headend import metrics

log = structlog.get_logger("headend.bus")

PAYLOAD_VERSION: Final = 1
_MAX_TOPIC_BYTES: Final = 65535
_ILLEGAL_IN_SEGMENT: Final = frozenset("/+#\0")


# --- configuration ----------------------------------------------------------------


class BusSettings(BaseModel):
    """How the bus talks to the broker (the broker itself is ``mqtt_url``)."""

    model_config = ConfigDict(extra="forbid")

    #: First topic level: <prefix>/<site>/...
    prefix: str = "headend"
    #: Messages waiting for the broker; beyond it the oldest is dropped (and counted).
    queue_size: int = Field(100_000, ge=1)
    #: QoS 1 messages sent and not yet acknowledged (PUBACK) at once.
    inflight: int = Field(64, ge=1, le=1000)
    #: MQTT keepalive (seconds): a silent broker is declared lost after 1.5 × this.
    keepalive: int = Field(30, ge=5, le=65535)
    #: Seconds to wait for CONNACK, SUBACK and DISCONNECT (the TCP connect itself
    #: has paho's own 5 s).
    connect_timeout: float = Field(5.0, gt=0, le=60)
    #: Seconds to wait for a PUBACK before the connection is treated as lost.
    publish_timeout: float = Field(15.0, gt=0)
    #: Reconnect back-off: doubles from ``reconnect_min`` up to ``reconnect_max``
    #: seconds, each delay drawn in [d/2, d] (jitter: workers do not reconnect in step).
    reconnect_min: float = Field(0.5, gt=0)
    reconnect_max: float = Field(30.0, gt=0)
    #: On stop, how long (seconds) to keep sending what is queued before giving up.
    stop_timeout: float = Field(5.0, ge=0)
    #: MQTT client id; default "<prefix>-<site>-<node>-<worker>". Must be unique per
    #: broker: a second client with the same id takes the session over.
    client_id: str | None = None
    #: Largest payload accepted by publish_nowait (bytes); larger ones are dropped.
    max_payload: int = Field(1024 * 1024, ge=1024, le=268_435_455)
    #: Received messages waiting for their callback; beyond it the broker's are dropped.
    incoming_queue: int = Field(10_000, ge=1)
    #: Publish a retained presence message for this worker (with an offline will).
    presence: bool = True
    #: CA bundle for ``mqtts://`` brokers with a private CA (default: system CAs).
    tls_ca_file: Path | None = None

    @model_validator(mode="after")
    def _backoff_order(self) -> Self:
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must be >= reconnect_min")
        return self


@dataclass(frozen=True, slots=True)
class Broker:
    """Where the broker is, from ``mqtt://[user[:password]@]host[:port]``."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """Parse ``mqtt://`` (port 1883) or ``mqtts://`` (TLS, port 8883)."""
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "mqtts"}:
            raise ValueError(f"MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"MQTT URL {url!r}: no host")
        if parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise ValueError(f"MQTT URL {url!r}: unexpected path or query")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"MQTT URL {url!r}: bad port") from None
        user = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.hostname, port, tls, user, password)


def backoff_delay(
    attempt: int, low: float, high: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before reconnect ``attempt`` (0, 1, ...): in [d/2, d], d ≤ ``high``."""
    ceiling = min(high, low * 2.0 ** min(attempt, 32))
    return ceiling / 2 + rand() * ceiling / 2


# --- topics and payloads (docs/mqtt.md) ------------------------------------------


def _segment(value: str, what: str) -> str:
    if not value or not _ILLEGAL_IN_SEGMENT.isdisjoint(value):
        raise ValueError(f"{what} {value!r} cannot be a topic level")
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic scheme: ``<prefix>/<site>/{readings,events,status,node}/...``."""

    prefix: str
    site: str

    def __post_init__(self) -> None:
        _segment(self.prefix, "prefix")
        _segment(self.site, "site")

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.site}"

    def readings(self, table: str, terminal: str) -> str:
        """Readings batches (抄表数据) of one table from one terminal."""
        return (
            f"{self.base}/readings/{_segment(table, 'table')}/"
            f"{_segment(terminal, 'terminal')}"
        )

    def events(self, terminal: str) -> str:
        """Communication and terminal events (事件) of one terminal."""
        return f"{self.base}/events/{_segment(terminal, 'terminal')}"

    def status(self, terminal: str) -> str:
        """Retained online/offline status (在线状态) of one terminal."""
        return f"{self.base}/status/{_segment(terminal, 'terminal')}"

    def node(self, node: str, worker: int, *parts: str) -> str:
        """A worker's own topics (presence; requests and replies of the routing)."""
        tail = "".join(f"/{_segment(p, 'topic level')}" for p in parts)
        return f"{self.base}/node/{_segment(node, 'node')}/{worker:d}{tail}"


def iso_time(ts: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC with milliseconds: ...T08:00:00.000Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return iso_time(value.timestamp())
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(message: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; raises ValueError/TypeError on NaN or unknown types."""
    return json.dumps(
        message,
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
        default=_json_default,
    ).encode()


def encode_readings(
    table: str,
    terminal: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    ts: float,
    node: str,
    worker: int,
) -> bytes:
    """A readings batch: ``rows`` are column → value, as written to ``table``."""
    return encode({
        "v": PAYLOAD_VERSION, "kind": "readings", "table": table,
        "terminal": terminal, "ts": iso_time(ts), "node": node, "worker": worker,
        "rows": rows,
    })  # fmt: skip


def encode_event(
    terminal: str,
    event: str,
    *,
    ts: float,
    peer: str | None,
    node: str,
    worker: int,
    detail: Mapping[str, Any] | None = None,
) -> bytes:
    """One event (login, logout, replaced, offline, events_pending, ...)."""
    return encode({
        "v": PAYLOAD_VERSION, "kind": "event", "event": event, "terminal": terminal,
        "ts": iso_time(ts), "peer": peer, "node": node, "worker": worker,
        "detail": dict(detail or {}),
    })  # fmt: skip


def encode_status(
    terminal: str,
    *,
    online: bool,
    since: float,
    peer: str | None,
    reason: str,
    node: str,
    worker: int,
) -> bytes:
    """Terminal status: online since a login, or offline since the link closed."""
    return encode({
        "v": PAYLOAD_VERSION, "kind": "status", "terminal": terminal,
        "state": "online" if online else "offline", "since": iso_time(since),
        "peer": peer, "reason": reason, "node": node, "worker": worker,
    })  # fmt: skip


def _encode_presence(node: str, worker: int, *, online: bool, reason: str) -> bytes:
    return encode({
        "v": PAYLOAD_VERSION, "kind": "presence", "node": node, "worker": worker,
        "state": "online" if online else "offline", "since": iso_time(time.time()),
        "reason": reason,
    })  # fmt: skip


# --- the client -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BusMessage:
    """A message received on a subscription."""

    topic: str
    payload: bytes
    retain: bool
    qos: int


Handler = Callable[[BusMessage], Awaitable[None]]


@dataclass(slots=True, eq=False)
class _Outgoing:
    topic: str
    payload: bytes
    retain: bool
    qos: int


@dataclass(slots=True)
class BusStats:
    """This bus's own counts (the Prometheus counters add up all buses)."""

    published: int = 0
    dropped_queue_full: int = 0
    dropped_invalid: int = 0
    dropped_shutdown: int = 0
    failed: int = 0
    reconnects: int = 0
    received: int = 0
    handler_errors: int = 0


def _as_bytes(payload: object) -> bytes | None:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, bytearray | memoryview):
        return bytes(payload)
    if isinstance(payload, str):
        with contextlib.suppress(UnicodeError):
            return payload.encode()
    return None


def _valid_topic(topic: object) -> bool:
    return (
        isinstance(topic, str)
        and bool(topic)
        and "+" not in topic
        and "#" not in topic
        and "\0" not in topic
        and (
            len(topic) * 4 <= _MAX_TOPIC_BYTES
            or len(topic.encode()) <= _MAX_TOPIC_BYTES
        )
    )


class Bus:
    """One MQTT connection with a bounded publish queue and re-made subscriptions."""

    def __init__(
        self,
        url: str,
        *,
        site: str,
        node: str,
        worker: int = 0,
        settings: BusSettings | None = None,
    ) -> None:
        self.settings = s = settings or BusSettings()
        self.broker = Broker.from_url(url)
        self.topics = Topics(s.prefix, site)
        self.node = _segment(node, "node")
        self.worker = worker
        self.client_id = s.client_id or f"{s.prefix}-{site}-{node}-{worker}"
        self.name = f"bus-{worker}"
        self.stats = BusStats()
        self._tls = (
            ssl.create_default_context(
                cafile=str(s.tls_ca_file) if s.tls_ca_file else None
            )
            if self.broker.tls
            else None
        )
        self._queue: deque[_Outgoing] = deque()
        self._inflight: dict[_Outgoing, None] = {}  # in send order
        self._subscriptions: dict[str, tuple[Handler, int]] = {}
        #: Idle senders, each waiting on a future: a queued message wakes one of them.
        self._idle: deque[asyncio.Future[None]] = deque()
        self._stop = asyncio.Event()
        self._connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._deadline = 0.0
        self._closed = False
        self._overflowing = False
        self._up = False  # the current connection attempt got connected
        self._up_since = 0.0

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        """Start the client task; it connects (and reconnects) in the background."""
        if self._task is not None:
            raise RuntimeError("bus already started")
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Send what can be sent within ``stop_timeout``, then disconnect.

        Returns within ``stop_timeout`` + 0.5 s against a broker that answers; at
        worst (a broker that stopped answering, or a connect under way) within
        ``stop_timeout + connect_timeout + 6`` s. What is still queued then is counted
        as dropped (shutdown). Stop the bus after the connections, so that their
        offline statuses are queued before it flushes.
        """
        if self._closed:
            return
        self._closed = True
        task = self._task
        if task is not None:
            loop = asyncio.get_running_loop()
            self._deadline = loop.time() + self.settings.stop_timeout
            self._stop.set()
            self._wake_all()
            # Each phase is bounded: flush (stop_timeout), offline presence (0.5 s),
            # CONNACK or DISCONNECT (connect_timeout), TCP connect (paho's 5 s).
            s = self.settings
            limit = s.stop_timeout + s.connect_timeout + 6
            _, pending = await asyncio.wait({task}, timeout=limit)
            if pending:  # a safety net: not reached unless a bound above is broken
                log.error("bus_stop_overran", limit=limit)
                task.cancel()
                await asyncio.wait({task}, timeout=1)
            # aiomqtt cancels its keepalive task from the socket-close callback; give
            # it the loop turns it needs to finish so no task outlives the bus.
            for _ in range(3):
                await asyncio.sleep(0)
        left = len(self._queue) + len(self._inflight)
        if left:
            self.stats.dropped_shutdown += left
            metrics.BUS_DROPPED_SHUTDOWN.inc(left)
        self._queue.clear()
        self._inflight.clear()
        metrics.BUS_QUEUE_DEPTH.set(0)
        log.info("bus_stopped", published=self.stats.published, dropped_on_stop=left)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def node_topic(self, *parts: str) -> str:
        """A topic under this worker's own ``<base>/node/<node>/<worker>``."""
        return self.topics.node(self.node, self.worker, *parts)

    @property
    def queued(self) -> int:
        """Messages waiting in the queue (not counting those in flight)."""
        return len(self._queue)

    async def wait_connected(self) -> None:
        """Return once connected and subscribed (wrap it in ``asyncio.timeout``)."""
        await self._connected.wait()

    # --- publishing --------------------------------------------------------------

    def publish_nowait(
        self,
        topic: str,
        payload: bytes | bytearray | str,
        *,
        retain: bool = False,
        qos: int = 1,
    ) -> bool:
        """Queue a message; never blocks, never raises (call it on the bus's loop).

        Returns False when the message was refused (invalid topic or payload, or the
        bus is stopped), counted in ``headend_bus_dropped_total``. A full queue drops
        its oldest message, not this one.
        """
        if self._closed:
            self.stats.dropped_shutdown += 1
            metrics.BUS_DROPPED_SHUTDOWN.inc()
            return False
        data = _as_bytes(payload)
        if (
            data is None
            or len(data) > self.settings.max_payload
            or not _valid_topic(topic)
            or qos not in (0, 1, 2)
        ):
            self._invalid(topic)
            return False
        queue = self._queue
        if len(queue) >= self.settings.queue_size:
            queue.popleft()
            self.stats.dropped_queue_full += 1
            metrics.BUS_DROPPED_QUEUE_FULL.inc()
            if not self._overflowing:
                self._overflowing = True
                log.warning("bus_queue_full", queue_size=self.settings.queue_size,
                            connected=self.connected)  # fmt: skip
        queue.append(_Outgoing(topic, data, retain, qos))
        metrics.BUS_QUEUE_DEPTH.set(len(queue))
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break
        return True

    def publish_readings(
        self, table: str, terminal: str, rows: Sequence[Mapping[str, Any]]
    ) -> bool:
        """Queue a readings batch on ``<base>/readings/<table>/<terminal>``."""
        try:
            topic = self.topics.readings(table, terminal)
            payload = encode_readings(table, terminal, rows, ts=time.time(),
                                      node=self.node, worker=self.worker)  # fmt: skip
        except (ValueError, TypeError):
            self._invalid(table)
            return False
        return self.publish_nowait(topic, payload)

    def publish_event(
        self,
        terminal: str,
        event: str,
        *,
        ts: float,
        peer: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> bool:
        """Queue an event on ``<base>/events/<terminal>``."""
        try:
            topic = self.topics.events(terminal)
            payload = encode_event(terminal, event, ts=ts, peer=peer, node=self.node,
                                   worker=self.worker, detail=detail)  # fmt: skip
        except (ValueError, TypeError):
            self._invalid(event)
            return False
        return self.publish_nowait(topic, payload)

    def publish_status(
        self,
        terminal: str,
        *,
        online: bool,
        since: float,
        peer: str | None,
        reason: str,
    ) -> bool:
        """Queue a retained status on ``<base>/status/<terminal>``."""
        try:
            topic = self.topics.status(terminal)
            payload = encode_status(terminal, online=online, since=since, peer=peer,
                                    reason=reason, node=self.node,
                                    worker=self.worker)  # fmt: skip
        except (ValueError, TypeError):
            self._invalid(terminal)
            return False
        return self.publish_nowait(topic, payload, retain=True)

    def _invalid(self, what: object) -> None:
        self.stats.dropped_invalid += 1
        metrics.BUS_DROPPED_INVALID.inc()
        log.warning("bus_message_invalid", what=repr(what)[:80])

    # --- subscriptions -----------------------------------------------------------

    async def subscribe(
        self, topic_filter: str, handler: Handler, qos: int = 1
    ) -> None:
        """Call ``handler`` for every message matching ``topic_filter``.

        The subscription is made now if connected and again after every reconnect.
        Handlers run one at a time on the receiving task: hand long work to a task of
        your own. A handler that raises is logged and counted; the bus goes on.
        """
        aiomqtt.Wildcard(topic_filter)  # raises ValueError on a malformed filter
        self._subscriptions[topic_filter] = (handler, qos)
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):  # made again on reconnect
                await client.subscribe(topic_filter, qos)

    async def unsubscribe(self, topic_filter: str) -> None:
        if self._subscriptions.pop(topic_filter, None) is None:
            return
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.unsubscribe(topic_filter)

    # --- the client task ---------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            self._up = False
            try:
                await self._connection()
            except Exception as exc:  # the task must survive anything
                error = _leaf(exc)
                if isinstance(error, aiomqtt.MqttError | OSError):
                    log.warning("bus_connection_lost" if self._up
                                else "bus_connect_failed", broker=self._where,
                                error=str(error) or type(error).__name__,
                                attempt=attempt)  # fmt: skip
                else:
                    log.exception("bus_internal_error", broker=self._where)
            if self._stop.is_set():
                return
            # A connection that held for a while starts the back-off afresh; one that
            # flaps (accepted, then dropped at once) keeps backing off.
            loop_time = asyncio.get_running_loop().time()
            if self._up and loop_time - self._up_since >= self.settings.reconnect_max:
                attempt = 0
            delay = backoff_delay(
                attempt, self.settings.reconnect_min, self.settings.reconnect_max
            )
            attempt += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stop.wait()
            if not self._stop.is_set():
                self.stats.reconnects += 1
                metrics.BUS_RECONNECTS.inc()

    @property
    def _where(self) -> str:
        return f"{self.broker.host}:{self.broker.port}"

    def _make_client(self) -> aiomqtt.Client:
        s = self.settings
        will = None
        if s.presence:
            will = aiomqtt.Will(
                self.node_topic("presence"),
                _encode_presence(self.node, self.worker, online=False,
                                 reason="connection_lost"),
                qos=1, retain=True,
            )  # fmt: skip
        client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=self.client_id,
            will=will,
            clean_session=True,  # our queue is the buffer, not the broker's session
            timeout=s.connect_timeout,
            keepalive=s.keepalive,
            max_queued_incoming_messages=s.incoming_queue,
            max_inflight_messages=s.inflight,
            tls_context=self._tls,
        )
        # aiomqtt warns above this many pending calls; a full window is normal here.
        client.pending_calls_threshold = s.inflight + 16
        return client

    async def _connection(self) -> None:
        """One connection, from CONNECT to its end (an exception, or a stop)."""
        client = self._make_client()
        try:
            # Never cancelled while connecting (aiomqtt's connect does not survive a
            # cancel): stop() waits, as every phase here is bounded by a timeout.
            async with client:
                self._up = True
                self._up_since = asyncio.get_running_loop().time()
                await self._serve(client)
        except aiomqtt.MqttError:
            if not self._up:
                _abandon(client)
            raise
        finally:
            self._client = None
            self._connected.clear()
            metrics.BUS_CONNECTED.set(0)
            self._idle.clear()  # the senders of this connection are gone
            self._requeue()

    async def _serve(self, client: aiomqtt.Client) -> None:
        s = self.settings
        if self._stop.is_set() and asyncio.get_running_loop().time() >= self._deadline:
            return  # connected too late to send anything: just disconnect
        presence = self.node_topic("presence")
        if s.presence:
            await client.publish(presence, _encode_presence(
                self.node, self.worker, online=True, reason="connected"),
                qos=1, retain=True)  # fmt: skip
            self._acked()
        for topic_filter, (_, qos) in list(self._subscriptions.items()):
            await client.subscribe(topic_filter, qos)
        self._client = client
        self._connected.set()
        metrics.BUS_CONNECTED.set(1)
        log.info("bus_connected", broker=self._where, client_id=self.client_id,
                 queued=len(self._queue), subscriptions=len(self._subscriptions),
                 dropped_queue_full=self.stats.dropped_queue_full)  # fmt: skip
        self._overflowing = False
        async with asyncio.TaskGroup() as group:
            receiver = group.create_task(
                self._receive(client), name=f"{self.name}:receive"
            )
            senders = [
                group.create_task(self._send(client), name=f"{self.name}:send{i}")
                for i in range(s.inflight)
            ]
            await self._stop.wait()
            # Stopping: the senders drain the queue, then return, or the deadline ends it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(self._deadline):
                    await asyncio.gather(*senders)
            for task in senders:
                task.cancel()
            if s.presence:  # a clean DISCONNECT suppresses the will: say it ourselves
                with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                    async with asyncio.timeout(0.5):
                        await client.publish(presence, _encode_presence(
                            self.node, self.worker, online=False, reason="stopped"),
                            qos=1, retain=True)  # fmt: skip
                        self._acked()
            receiver.cancel()

    def _wake_all(self) -> None:
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def _send(self, client: aiomqtt.Client) -> None:
        queue, inflight, stats = self._queue, self._inflight, self.stats
        timeout = self.settings.publish_timeout
        loop = asyncio.get_running_loop()
        while True:
            while not queue:
                self._overflowing = False  # log the next overflow episode again
                if self._stop.is_set():
                    return
                waiter = loop.create_future()
                self._idle.append(waiter)
                try:
                    await waiter
                finally:
                    if not waiter.done():  # cancelled while idle
                        waiter.cancel()
            message = queue.popleft()
            metrics.BUS_QUEUE_DEPTH.set(len(queue))
            inflight[message] = None
            # Raises MqttError on a lost connection or a missing PUBACK: the message
            # stays in flight and goes back to the queue when the connection ends.
            await client.publish(message.topic, message.payload, qos=message.qos,
                                 retain=message.retain, timeout=timeout)  # fmt: skip
            del inflight[message]
            stats.published += 1
            metrics.BUS_PUBLISHED.inc()

    def _acked(self) -> None:
        self.stats.published += 1
        metrics.BUS_PUBLISHED.inc()

    async def _receive(self, client: aiomqtt.Client) -> None:
        # Also the connection watchdog: the iterator raises MqttError on a disconnect,
        # which ends the task group and with it this connection.
        async for message in client.messages:
            self.stats.received += 1
            metrics.BUS_RECEIVED.inc()
            received = BusMessage(
                message.topic.value, bytes(message.payload), message.retain, message.qos
            )
            for topic_filter, (handler, _) in list(self._subscriptions.items()):
                if not message.topic.matches(topic_filter):
                    continue
                try:
                    await handler(received)
                except Exception:  # a handler bug must not drop the link
                    self.stats.handler_errors += 1
                    metrics.BUS_HANDLER_ERRORS.inc()
                    log.exception("bus_handler_failed", topic=received.topic,
                                  topic_filter=topic_filter)  # fmt: skip

    def _requeue(self) -> None:
        """Put unacknowledged messages back at the head, in their original order."""
        if not self._inflight:
            return
        unacked = list(self._inflight)
        self._inflight.clear()
        self.stats.failed += len(unacked)
        metrics.BUS_FAILED.inc(len(unacked))
        room = self.settings.queue_size - len(self._queue)
        if room < len(unacked):  # drop-oldest holds for these too
            lost = len(unacked) - max(room, 0)
            self.stats.dropped_queue_full += lost
            metrics.BUS_DROPPED_QUEUE_FULL.inc(lost)
            unacked = unacked[lost:]
        self._queue.extendleft(reversed(unacked))
        metrics.BUS_QUEUE_DEPTH.set(len(self._queue))


def _abandon(client: aiomqtt.Client) -> None:
    """Close the socket of a CONNECT that failed after the TCP connect.

    On a CONNACK timeout or refusal aiomqtt (2.5) forgets the client but leaves its
    socket open and watched by the loop; paho's DISCONNECT closes it once written.
    aiomqtt has no public way to reach it.
    """
    paho = client._client
    if paho.socket() is not None:
        paho.disconnect()


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


# --- communication log → bus --------------------------------------------------------


class CommEventLike(Protocol):
    """What :func:`comm_event_sink` reads from ``headend.connections.CommEvent``."""

    @property
    def ts(self) -> float: ...
    @property
    def kind(self) -> str: ...
    @property
    def terminal(self) -> str | None: ...
    @property
    def peer(self) -> str: ...
    @property
    def detail(self) -> Mapping[str, Any]: ...


#: Communication-log kinds that set a terminal's retained status.
ONLINE_KINDS: Final = frozenset({
    "login", "login_unknown", "login_by_heartbeat", "login_by_heartbeat_unknown",
    "replaced",
})  # fmt: skip
OFFLINE_KINDS: Final = frozenset({"offline"})


def comm_event_sink(
    bus: Bus, *, status: bool = True
) -> Callable[[CommEventLike], None]:
    """A ``Connections.sinks`` entry: every terminal event, and its status, on the bus.

    Every event with a terminal address goes to ``events/<terminal>``; logins and
    replacements also set ``status/<terminal>`` online (peer = the new link), and
    ``offline`` sets it offline with the close reason. A logout is an event only: the
    ``offline`` that follows when the link closes sets the status.

    With ``status=False`` the status is left to the terminal directory
    (:class:`headend.routing.LinkDirectory`), which publishes it once the database
    has settled which worker holds the terminal.
    """

    def sink(event: CommEventLike) -> None:
        terminal = event.terminal
        if terminal is None:  # "connected": not yet a terminal, nothing to address
            return
        kind = event.kind
        if status and (kind in ONLINE_KINDS or kind in OFFLINE_KINDS):
            online = kind in ONLINE_KINDS
            reason = kind if online else str(event.detail.get("reason", "closed"))
            bus.publish_status(terminal, online=online, since=event.ts,
                               peer=event.peer, reason=reason)  # fmt: skip
        bus.publish_event(terminal, kind, ts=event.ts, peer=event.peer,
                          detail=event.detail)  # fmt: skip

    return sink
