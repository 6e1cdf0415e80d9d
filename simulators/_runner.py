"""One fleet process: simulated concentrators on asyncio Protocols and one sweeper.

* One :class:`asyncio.Protocol` per TCP connection (``Conn``, slotted);
  ``data_received`` feeds the concentrator's session and never awaits.
* Every timer lives in one heap driven by one sweeper task: session timers
  (heartbeats, link-test retries), delayed answers (the profile's latency), the
  chunks of split frames, reconnects and fault injections. There is no
  ``call_later`` per concentrator; stale timer entries are skipped when popped and
  the heap is compacted when it grows past a bound.
* Connects go through a bounded queue to a fixed pool of connector tasks, from
  source addresses 127.0.0.1..N (``sources``) so ephemeral ports never run out.
* Sessions get wall-clock seconds: a 2013 heartbeat carries the terminal clock.
* Every loop is bounded in count and time; :meth:`Runner.run` returns after
  ``duration`` seconds with the process's :class:`~simulators._stats.Stats`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import socket
import time
from functools import partial
from typing import Final

from protocols.errors import ProtocolError
from protocols.gdw1376.events import FrameDiscarded, LinkConfirmed, LinkLost, Request
from protocols.gdw1376.frame import Frame
from protocols.gdw1376.units.afn02 import HEARTBEAT, LOGIN
from simulators._fleetparts import (
    ABANDONED,
    ANSWER,
    CHUNK,
    CONNECT,
    DUP,
    DUPLICATE,
    F_DUP,
    F_FLAP,
    F_JUMP,
    F_SCHEDULED,
    FLAP,
    GHOST_CLOSE,
    JUMP,
    MAIN,
    TIMER,
    Conn,
    Entry,
    ProcessSpec,
    Sender,
    Term,
    concentrator_config,
    fault_bits,
)
from simulators._model import mix
from simulators._stats import Stats
from simulators.concentrator import DENY, Concentrator

MAX_PENDING: Final = 16  # delayed answers per concentrator: the PSEQ space
CONNECTORS: Final = 256
CONNECT_TIMEOUT: Final = 10.0
BATCH: Final = 2000  # heap entries handled before yielding to the loop
TICK: Final = 0.05  # longest sleep of the sweeper: the stop check's latency
#: Shortest sleep: entries due within it are handled together (a timing-wheel
#: slot), so a spread of heartbeats costs one wake-up per slot, not one each.
SLOT: Final = 0.005


def _peak_rss_mb() -> float:
    try:
        import resource  # noqa: PLC0415 - Unix only

        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    except ImportError:
        return 0.0


class Runner(Sender):
    """The concentrators of one process (see the module docstring)."""

    def __init__(self, spec: ProcessSpec) -> None:
        self.spec = spec
        self.profile = spec.profile
        self.stats = Stats(concentrators=spec.count)
        self.rng = random.Random(mix(spec.seed, spec.process_index))  # noqa: S311
        self.heap: list[Entry] = []
        self._seq = itertools.count()
        self.terms: list[Term] = []
        self.ghosts: set[Conn] = set()
        self.stopping = False
        self._queue: asyncio.Queue[tuple[Term, int]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop_requested = asyncio.Event()

    def request_stop(self) -> None:
        """Stop before ``duration`` is up (e.g. on SIGTERM); the report still comes."""
        self._stop_requested.set()

    # --- lifecycle -------------------------------------------------------------------

    async def run(self) -> Stats:
        spec = self.spec
        cpu = time.process_time()
        now = time.time()
        for k in range(spec.count):
            i = spec.first + k
            conc = Concentrator(concentrator_config(spec, i), now)
            term = Term(i, conc, fault_bits(spec, i))
            self.terms.append(term)
            self._push(now + spec.ramp * k / max(1, spec.count), CONNECT, term)
        self._queue = asyncio.Queue(maxsize=2 * spec.count + CONNECTORS)
        name = f"fleet-{spec.process_index}"
        async with asyncio.TaskGroup() as tg:
            self._tasks = [tg.create_task(self._connector(), name=f"{name}-connect-{k}")
                           for k in range(CONNECTORS)]  # fmt: skip
            self._tasks.append(tg.create_task(self._sweep(), name=f"{name}-sweeper"))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(spec.duration):
                    await self._stop_requested.wait()
            self._stop()
        for _ in range(20):  # let the closes finish (bounded)
            if not self.ghosts and all(t.conn is None for t in self.terms):
                break
            await asyncio.sleep(0.01)
        for t in self.terms:
            if t.conn is not None:
                t.conn.close(abort=True)
        for g in list(self.ghosts):
            g.close(abort=True)
        await asyncio.sleep(0)
        self.stats.cpu_seconds = round(time.process_time() - cpu, 3)
        self.stats.peak_rss_mb = _peak_rss_mb()
        return self.stats

    def _stop(self) -> None:
        self.stopping = True
        self.stats.online_at_end = sum(
            1 for t in self.terms if t.conn is not None and t.conc.session.online
        )
        for t in self.terms:
            if t.conn is not None:
                t.conn.close()
        for g in list(self.ghosts):
            g.close()
        for task in self._tasks:
            task.cancel()

    async def _connector(self) -> None:
        assert self._queue is not None  # noqa: S101 - set before the tasks start
        loop = asyncio.get_running_loop()
        spec = self.spec
        while not self.stopping:
            term, kind = await self._queue.get()
            local = None
            if spec.sources:
                octet = 1 + (term.index + term.source) % spec.sources
                local = (f"127.0.0.{octet}", 0)
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await loop.create_connection(partial(Conn, self, term, kind),
                                                 spec.host, spec.port,
                                                 local_addr=local)  # fmt: skip
            except (OSError, TimeoutError):
                self.stats.connect_failures += 1
                if kind == MAIN:
                    term.connecting = False
                    self._retry(term, time.time())

    async def _sweep(self) -> None:
        heap = self.heap
        while not self.stopping:
            now = time.time()
            n = 0
            while heap and heap[0][0] <= now and n < BATCH:
                _, _, kind, term, obj, epoch = heapq.heappop(heap)
                self._fire(kind, term, obj, epoch, now)
                n += 1
            if len(heap) > 8 * len(self.terms) + 1024:
                self._compact()
            if n >= BATCH:
                await asyncio.sleep(0)
                continue
            delay = heap[0][0] - time.time() if heap else TICK
            await asyncio.sleep(min(max(delay, SLOT), TICK))

    def _compact(self) -> None:
        self.heap[:] = [e for e in self.heap
                        if e[2] != TIMER or e[3].timer_due == e[0]]  # fmt: skip
        heapq.heapify(self.heap)

    def _push(self, due: float, kind: int, term: Term, obj: object = None,
              epoch: int = 0) -> None:  # fmt: skip
        heapq.heappush(self.heap, (due, next(self._seq), kind, term, obj, epoch))

    # --- connection events -----------------------------------------------------------

    def made(self, conn: Conn) -> None:
        term, now, transport = conn.term, time.time(), conn.transport
        assert transport is not None  # noqa: S101 - set by connection_made
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.stopping or (conn.kind == MAIN and term.conn is not None):
            if conn.kind == MAIN:
                term.connecting = False
            conn.close(abort=True)
            return
        if conn.session is not None:  # a duplicate login of the same address
            self.ghosts.add(conn)
            self.stats.duplicate_logins += 1
            conn.session.connect(now)
            self._write(conn, conn.session.data_to_send())
            self._push(now + self.profile.duplicate_hold, GHOST_CLOSE, term, conn)
            return
        term.connecting = False
        term.conn = conn
        term.epoch += 1
        self.stats.connects += 1
        if term.started:
            self.stats.reconnects += 1
        else:
            term.started = True
            self.stats.started += 1
        term.conc.new_session().connect(now)
        self._flush(term, now)
        self._reschedule(term)

    def received(self, conn: Conn, data: bytes) -> None:
        self.stats.bytes_in += len(data)
        term, now = conn.term, time.time()
        if conn.kind != MAIN:
            if conn.session is not None:
                conn.session.receive_data(data, now)
                conn.session.events()
                self._write(conn, conn.session.data_to_send())
            return
        if conn is not term.conn:
            return
        term.conc.session.receive_data(data, now)
        self._events(term, now)
        self._flush(term, now)
        self._reschedule(term)

    def lost(self, conn: Conn) -> None:
        if conn.kind != MAIN:
            self.ghosts.discard(conn)
            return
        term = conn.term
        if conn is not term.conn:
            return
        term.detach()
        if self.stopping:
            return
        if not conn.by_us:
            self.stats.closed_by_peer += 1
        self._retry(term, time.time())

    def _retry(self, term: Term, now: float) -> None:
        p = self.profile
        delay = min(p.reconnect_max, p.reconnect_min * 2 ** min(term.attempt, 16))
        term.attempt += 1
        self._push(now + delay * self.rng.uniform(0.5, 1.0), CONNECT, term)

    def _events(self, term: Term, now: float) -> None:
        stats = self.stats
        for ev in term.conc.session.events():
            if isinstance(ev, Request):
                self._request(term, ev.frame, now)
            elif isinstance(ev, LinkConfirmed):
                if ev.fn == LOGIN:
                    self._logged_in(term, now)
                elif ev.fn == HEARTBEAT:
                    stats.heartbeats_confirmed += 1
                    if term.hb_sent is not None:
                        stats.heartbeat_latency.add(time.perf_counter() - term.hb_sent)
                        term.hb_sent = None
            elif isinstance(ev, LinkLost):
                stats.link_lost += 1
                if term.conn is not None:
                    term.conn.close()
            elif isinstance(ev, FrameDiscarded):
                stats.frames_discarded += 1

    def _logged_in(self, term: Term, now: float) -> None:
        self.stats.logins_confirmed += 1
        term.attempt = 0
        if term.faults & F_SCHEDULED:
            return
        term.faults |= F_SCHEDULED
        p, u = self.profile, self.rng.uniform
        if term.faults & F_DUP:
            self._push(now + u(1.0, 1.0 + min(30.0, p.heartbeat_interval)), DUP, term)
        if term.faults & F_JUMP and p.ip_jump_interval:
            self._push(now + p.ip_jump_interval * u(0.5, 1.5), JUMP, term)
        if term.faults & F_FLAP and p.flap_interval:
            self._push(now + p.flap_interval * u(0.5, 1.5), FLAP, term)

    def _request(self, term: Term, frame: Frame, now: float) -> None:
        p = self.profile
        self.stats.requests += 1
        if term.pending >= MAX_PENDING or (p.loss and self.rng.random() < p.loss):
            self.stats.requests_dropped += 1
        elif p.latency_max > 0:
            term.pending += 1
            due = now + self.rng.uniform(p.latency_min, p.latency_max)
            self._push(due, ANSWER, term, frame, term.epoch)
        else:
            self._answer(term, frame, now)

    def _answer(self, term: Term, frame: Frame, now: float) -> None:
        try:
            outcome = term.conc.handle(frame, now)
        except ProtocolError:  # an answer the codec cannot express: refuse it
            term.conc.session.deny(frame)
            outcome = DENY
        self.stats.answered[f"{frame.afn:02X}"] += 1
        if outcome == DENY:
            self.stats.denied += 1

    # --- the heap --------------------------------------------------------------------

    def _fire(self, kind: int, term: Term, obj: object, epoch: int,
              now: float) -> None:  # fmt: skip
        if kind == TIMER:
            self._timer(term, now)
        elif kind == ANSWER:
            if term.epoch != epoch or term.conn is None or not isinstance(obj, Frame):
                self.stats.answers_abandoned += 1
                return
            term.pending -= 1
            self._answer(term, obj, now)
            self._flush(term, now)
        elif kind == CONNECT:
            self._connect(term, now)
        elif kind == CHUNK:
            self._chunk(term, epoch, now)
        elif kind == GHOST_CLOSE:
            if isinstance(obj, Conn):
                obj.close(abort=obj.kind == ABANDONED)
        else:
            self._fault(kind, term, now)

    def _timer(self, term: Term, now: float) -> None:
        due = term.timer_due
        if due is None or due > now or term.conn is None:
            return  # stale: the session's timer moved since this entry was pushed
        term.timer_due = None
        session = term.conc.session
        session.handle_timer(now)
        data = session.data_to_send()
        if len(data) >= 18 and data[12] == 0x02:  # AFN02: a link test went out
            fn = data[16]  # DT1: 01 login, 04 heartbeat
            if fn == 0x04 and term.hb_sent is None:
                term.hb_sent = time.perf_counter()
                self.stats.heartbeats_sent += 1
            elif fn == 0x04:
                self.stats.heartbeat_retries += 1
            elif fn == 0x01:
                self.stats.login_retries += 1
        if data:
            self._send(term, data, now)
        self._events(term, now)
        self._reschedule(term)

    def _reschedule(self, term: Term) -> None:
        due = term.conc.session.get_timer() if term.conn is not None else None
        if due != term.timer_due:
            term.timer_due = due
            if due is not None:
                self._push(due, TIMER, term)

    def _connect(self, term: Term, now: float) -> None:
        if self.stopping or term.conn is not None or term.connecting:
            return
        assert self._queue is not None  # noqa: S101 - set before the sweeper runs
        try:
            self._queue.put_nowait((term, MAIN))
            term.connecting = True
        except asyncio.QueueFull:
            self._push(now + 1.0, CONNECT, term)

    def _fault(self, kind: int, term: Term, now: float) -> None:
        p, conn = self.profile, term.conn
        online = conn is not None and term.conc.session.online
        if kind == DUP:
            if online and self._queue is not None and not self._queue.full():
                self._queue.put_nowait((term, DUPLICATE))
            if p.duplicate_interval:
                self._push(now + p.duplicate_interval, DUP, term)
        elif kind == JUMP:
            if online and conn is not None:
                # The SIM got a new IP: the old connection is left dangling (no FIN)
                # and the terminal logs in again from another source address.
                conn.kind = ABANDONED
                self.ghosts.add(conn)
                self._push(now + p.ip_jump_hold, GHOST_CLOSE, term, conn)
                term.detach()
                term.source += 1
                term.attempt = 0
                self.stats.ip_jumps += 1
                self._connect(term, now)
            self._push(now + p.ip_jump_interval, JUMP, term)
        elif kind == FLAP:
            if conn is not None:
                term.attempt = 0
                self.stats.flaps += 1
                conn.close()
            self._push(now + p.flap_interval, FLAP, term)
