"""Event collection (事件采集): every event record of a terminal, stored once, no gaps.

A terminal keeps two rings of 256 event records, read with AFN 0EH (Std-2013 §5.14):
important events (重要事件, F1) and normal events (一般事件, F2). Their counters EC1
and EC2 (§4.3.4.6.3) go up by one per event and wrap at 256, so record k of a class
sits at pointer k mod 256 and the counter names the pointer of the *next* record
(as ``simulators/_events.py`` implements it). The head-end learns the counters from
any uplink frame with ACD=1 (the session's ``EventsPending``: a login, heartbeat,
answer or report), from every AFN0E answer, and from AFN0C F7 when it polls.

``terminal_event_state`` (schema/0007) holds, per terminal and class, ``ec``: every
record at the pointers before it is stored. When the terminal's counter ``e``
differs, the collector asks for pointers ``ec .. e-1`` in chunks of at most
``chunk`` records. A chunk that wraps past 255 is asked as Pm > Pn, which the
standard defines (§5.14.1.3 table 351: Y = 256 + Pn − Pm); Pm = Pn is not defined,
so no chunk spans the whole ring. Rows go to the writer, and ``ec`` moves only once
the writer holds them in the database or its fsynced spool: a crash may repeat a
fetch, never skip one (``event_record`` rows are idempotent on their key).

An answer states the pointers it carries (Pm, Pn of "this frame"). A terminal may
send fewer than asked (frame budget): the collector goes on from its Pn. When an
answer holds fewer records than Pn − Pm, the missing pointers are taken to be the
oldest ones (pointers never written, at the start of the walk) and the records are
aligned at Pn.

Decisions:

* **New terminal** (no state row): the whole ring is read, the 256 pointers ending at
  the counter, and the terminal answers with what it has, so the archive starts with
  its last (up to 256) events. That is 256 / ``chunk`` small requests per class, once.
* **Wrap**: a counter below the stored one has wrapped: (e − ec) mod 256 records.
* **Gap**: more than 256 events since the last fetch do not show in a counter. The
  collector therefore reads pointer ``ec − 1`` again and compares it with the record
  kept in ``last_record``: another record there, or none, means the ring was
  overwritten (or cleared) meanwhile. That is logged (``event_gap``), counted
  (``headend_event_gaps_total``), written to ``comm_log`` (kind ``event_gap``), and
  the whole ring is read as for a new terminal: what the terminal still has is saved.
* **Active reports** (主动上报, AFN0E with C = C4) are stored at once; they move ``ec``
  only when they start at or before it (contiguous). Otherwise the fetch their
  counters trigger fills the hole (the reported records again: idempotent).
* A failed fetch is retried ``attempts`` times with back-off; then ``ec`` stays where
  it is, for the next ``EventsPending``, login or poll.

One named task (``events-collector``) picks terminals from a bounded dict of pending
work, where a newer counter replaces an older one, and runs at most ``concurrency``
terminals at once (tasks named ``events-fetch``); a terminal is never fetched twice
at the same time. The metrics live here rather than in :mod:`headend.metrics`, so
that this module can be wired in on its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import structlog

from headend.collection.event_records import (
    RING,
    PointerTable,
    State,
    StateUnavailable,
    event_rows,
    place,
    wire,
)
from headend.config import format_address
from headend.listener import TerminalConnection
from headend.metrics import EVENT_FETCH_FAILURES, EVENT_GAPS, EVENTS_FETCHED
from headend.pipeline import Answer, Priority, RequestError
from headend.storage.directory import ArchiveUnavailable
from headend.storage.spool import Row
from headend.storage.tables import COMM_LOG, EVENT_RECORD
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.events import EventsPending, MasterEvent, Report
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0c import EventCounters
from protocols.gdw1376.units.afn0e import EventReport, EventRequest

log = structlog.get_logger("headend.events")

IMPORTANT: Final = 1  # AFN0E F1 重要事件
NORMAL: Final = 2  # AFN0E F2 一般事件
CLASSES: Final = (IMPORTANT, NORMAL)
CLASS_LABELS: Final = {IMPORTANT: "important", NORMAL: "normal"}
COUNTERS_FN: Final = 7  # AFN0C F7 终端事件计数器当前值 (table 135)

CHUNK: Final = 32  # records asked for per request
CONCURRENCY: Final = 16  # terminals fetched at once
MAX_TERMINALS: Final = 10_000  # terminals waiting; past it a trigger is dropped
MAX_REPORTS: Final = 8  # active reports kept per waiting terminal
MAX_ROUNDS: Final = 4  # counter re-checks per turn while a terminal keeps counting
ATTEMPTS: Final = 3  # tries of one terminal's fetch
BACKOFF: Final = 2.0  # seconds before the second try, doubled after
FLUSH_TIMEOUT: Final = 30.0  # seconds for the writer to make rows durable
REQUEST_GUARD: Final = 300.0  # seconds; the pipeline's own timeouts come well before

# Bounded labels: RequestError reasons (headend/pipeline.py) plus our own.
REASONS: Final = frozenset({
    "timeout", "incomplete", "offline", "replaced", "queue_full", "shutdown",
    "too_many_parts", "denied", "bad_answer", "archive", "database", "storage",
    "overflow", "internal",
})  # fmt: skip
# Retrying cannot help: the link is gone (the next login triggers a fetch anyway).
FINAL: Final = frozenset({"offline", "replaced", "shutdown"})


Address = tuple[int, int]  # (A1 word, A2), as Connections keys terminals
#: request(address, afn, units, priority) -> the terminal's answer
RequestFn = Callable[[Address, int, Sequence[DataUnit], int], Awaitable[Answer]]


class Requester(Protocol):
    """What sends a request to a terminal: ``Connections`` or ``Cluster``."""

    async def request(
        self,
        key: tuple[int, int],
        afn: int,
        units: Sequence[DataUnit],
        *,
        priority: int = ...,
    ) -> Answer: ...


class RowSink(Protocol):
    """The parts of :class:`headend.storage.writer.Writer` used here."""

    async def submit(self, table: str, rows: Sequence[Row]) -> None: ...
    def submit_nowait(self, table: str, rows: Sequence[Row]) -> None: ...
    async def flush(self) -> None: ...


class TerminalIds(Protocol):
    """The part of :class:`headend.storage.directory.Directory` used here."""

    async def terminal_id(self, a1: str, a2: int) -> int: ...


class Pointers(Protocol):
    """Per terminal and class: the stored counter and the record before it."""

    async def load(self, terminal_id: int, importance: int) -> State | None: ...
    async def save(
        self, terminal_id: int, importance: int, ec: int, last: bytes | None
    ) -> None: ...
    async def close(self) -> None: ...


def requests_via(requester: Requester) -> RequestFn:
    """The request callable of :class:`EventCollector`, sent through ``requester``."""

    async def request(
        address: Address, afn: int, units: Sequence[DataUnit], priority: int
    ) -> Answer:
        return await requester.request(address, afn, units, priority=priority)

    return request


# --- records -------------------------------------------------------------------------


class _Failure(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class _Work:
    """What one terminal waits for; a newer counter replaces an older one."""

    ec: list[int | None] = field(default_factory=lambda: [None, None])
    reports: list[tuple[int, EventReport]] = field(default_factory=list)
    poll: bool = False  # read the counters first (AFN0C F7)
    peer: str = ""
    waiters: list[asyncio.Future[bool]] = field(default_factory=list)


class EventCollector:
    """Fetches and stores the event records of the terminals (module docstring)."""

    def __init__(
        self,
        request: RequestFn,
        directory: TerminalIds,
        writer: RowSink,
        dsn: str,
        *,
        timezone: str = "Asia/Shanghai",
        worker: str = "",
        priority: int = Priority.ON_DEMAND,
        chunk: int = CHUNK,
        concurrency: int = CONCURRENCY,
        max_terminals: int = MAX_TERMINALS,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        flush_timeout: float = FLUSH_TIMEOUT,
        pointers: Pointers | None = None,
    ) -> None:
        if not 1 <= chunk < RING:
            raise ValueError(f"chunk must be 1..{RING - 1}")
        self.request = request
        self.directory = directory
        self.writer = writer
        self.pointers: Pointers = pointers or PointerTable(dsn)
        self.tz = ZoneInfo(timezone)
        self.worker = worker
        self.priority = priority
        self.chunk = chunk
        self.concurrency = max(1, concurrency)
        self.max_terminals = max_terminals
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.flush_timeout = flush_timeout
        self.dropped = 0  # triggers dropped because too many terminals were waiting
        self._pending: OrderedDict[Address, _Work] = OrderedDict()
        self._active: set[Address] = set()
        self._fetches: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="events-collector"
        )

    async def stop(self) -> None:
        """Stop at once; what was not stored is fetched again next time."""
        tasks = [*self._fetches, *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        for work in self._pending.values():
            for waiter in work.waiters:
                waiter.cancel()
        self._pending.clear()
        await self.pointers.close()

    @property
    def busy(self) -> bool:
        """Terminals waiting or being fetched."""
        return bool(self._pending or self._active)

    # --- triggers (sync, never blocking) ---------------------------------------------

    def on_event(self, conn: TerminalConnection, event: MasterEvent) -> None:
        """A ``Connections.report_handlers`` entry: never blocks, never raises."""
        try:
            key = conn.key
            if key is None:
                return
            if isinstance(event, EventsPending):
                self.schedule(key, event.ec1, event.ec2, peer=conn.peer)
            elif isinstance(event, Report) and event.frame.afn == AFN.CLASS3:
                self._reported(key, event, conn.peer)
        except Exception:
            EVENT_FETCH_FAILURES.labels(reason="internal").inc()
            log.exception("event_trigger_failed")

    def schedule(
        self, address: Address, ec1: int | None, ec2: int | None, *, peer: str = ""
    ) -> None:
        """Fetch up to these counters (None: that class unknown, left alone)."""
        work = self._work(address, peer)
        if work is None:
            return
        for i, ec in enumerate((ec1, ec2)):
            if ec is not None:
                work.ec[i] = ec % RING
        self._wake.set()

    def poll(self, address: Address) -> None:
        """Read the counters (AFN0C F7), then fetch: the collection runner's hook.

        Normal events do not raise ACD (§4.3.3.2.4), so a terminal with only new
        normal events shows them to a poll, or to the next important event's answer.
        """
        work = self._work(address, "")
        if work is not None:
            work.poll = True
            self._wake.set()

    async def collect(
        self, address: Address, ec1: int | None = None, ec2: int | None = None
    ) -> bool:
        """Schedule (a poll when no counter is given) and wait for that terminal.

        True when the turn ended without a failure. Needs :meth:`start`.
        """
        work = self._work(address, "")
        if work is None:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        work.waiters.append(future)
        if ec1 is None and ec2 is None:
            work.poll = True
        self.schedule(address, ec1, ec2)
        return await future

    def _work(self, address: Address, peer: str) -> _Work | None:
        work = self._pending.get(address)
        if work is None:
            if len(self._pending) >= self.max_terminals:
                self.dropped += 1
                EVENT_FETCH_FAILURES.labels(reason="overflow").inc()
                if self.dropped % 1000 == 1:
                    log.warning("event_trigger_dropped", terminal=format_address(address),
                                waiting=len(self._pending), dropped=self.dropped)  # fmt: skip
                return None
            work = self._pending[address] = _Work()
        if peer:
            work.peer = peer
        return work

    def _reported(self, address: Address, event: Report, peer: str) -> None:
        for unit in event.frame.units:
            data = unit.data
            if unit.fn not in CLASSES or not isinstance(data, EventReport):
                continue
            work = self._work(address, peer)
            if work is None:
                return
            # Past the bound the report is not kept: its counters make the fetch read
            # the same records from the terminal.
            if len(work.reports) < MAX_REPORTS:
                work.reports.append((unit.fn, data))
            work.ec[:] = [data.ec1, data.ec2]
        self._wake.set()

    # --- the task --------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            for address in list(self._pending):
                if len(self._active) >= self.concurrency:
                    break
                if address in self._active:
                    continue  # its newer work waits for the turn in progress
                work = self._pending.pop(address)
                self._active.add(address)
                task = loop.create_task(self._turn(address, work), name="events-fetch")
                self._fetches.add(task)
                task.add_done_callback(self._fetches.discard)

    async def _turn(self, address: Address, work: _Work) -> None:
        ok = False
        try:
            ok = await self._serve(address, work)
        finally:
            self._active.discard(address)
            self._wake.set()
            for waiter in work.waiters:
                if not waiter.done():
                    waiter.set_result(ok)

    async def _serve(self, address: Address, work: _Work) -> bool:
        """One terminal's turn, tried ``attempts`` times; True when it succeeded."""
        terminal = format_address(address)
        for attempt in range(1, self.attempts + 1):
            try:
                await self._fetch_terminal(address, work)
            except _Failure as exc:
                EVENT_FETCH_FAILURES.labels(reason=_label(exc.reason)).inc()
                final = exc.reason in FINAL or attempt == self.attempts
                log.warning("event_fetch_failed", terminal=terminal, reason=exc.reason,
                            detail=exc.detail, attempt=attempt, gave_up=final)  # fmt: skip
                if final:
                    return False
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            except Exception:
                EVENT_FETCH_FAILURES.labels(reason="internal").inc()
                log.exception("event_fetch_crashed", terminal=terminal)
                return False
            else:
                return True
        return False  # pragma: no cover - the loop returns

    async def _fetch_terminal(self, address: Address, work: _Work) -> None:
        terminal_id = await self._terminal_id(address)
        while work.reports:
            importance, report = work.reports[0]
            await self._store_report(terminal_id, importance, report)
            work.reports.pop(0)  # only once stored: a retry goes on with the next
        if work.poll:
            work.ec[:] = await self._counters(address)
            work.poll = False
        targets = work.ec
        reached: list[int | None] = [None, None]
        for _ in range(MAX_ROUNDS):
            moved = False
            for i, importance in enumerate(CLASSES):
                target = targets[i]
                if target is None or reached[i] == target:
                    continue
                reached[i], seen = await self._fetch_class(
                    address, terminal_id, importance, target, work.peer
                )
                # Every answer carries both counters: a class may have moved on.
                for j, ec in enumerate(seen):
                    if ec is not None:
                        targets[j] = ec
                moved = True
            if not moved:
                return
        # Still counting after several rounds: another turn, after the others.
        self.schedule(address, targets[0], targets[1], peer=work.peer)

    async def _fetch_class(self, address: Address, terminal_id: int, importance: int,
                           target: int, peer: str) -> tuple[int, list[int | None]]:  # fmt: skip
        """Store the records up to ``target``; returns (ec reached, counters seen)."""
        seen: list[int | None] = [None, None]
        state = await self._load(terminal_id, importance)
        check: bytes | None = None
        if state is None:  # a new terminal: its whole ring
            reached, position, remaining, ring = target, target, RING, True
        else:
            reached, last = state
            remaining = (target - reached) % RING
            if remaining == 0:
                return reached, seen
            position, ring = reached, False
            if last is not None:  # read pointer ec - 1 again: is the ring still ours?
                position, remaining, check = (reached - 1) % RING, remaining + 1, last
        while remaining > 0:
            n = min(self.chunk, remaining)
            pm, pn = position, (position + n) % RING
            reports = await self._ask(address, importance, pm, pn, tolerate_deny=ring)
            for report in reports:
                seen = [report.ec1, report.ec2]
            placed = [p for report in reports for p in place(report)]
            end = reports[-1].pn if reports else pn
            done = (end - pm) % RING
            missing = False
            if not 0 < done <= n:
                if placed or ring:  # nothing more there, or a confused Pn: take it all
                    end, done = pn, n
                else:  # the counter promised records the terminal does not have
                    missing = True
            if check is not None or missing:
                found = dict(placed).get(pm)
                if missing or found is None or wire(found) != check:
                    current = seen[importance - 1]
                    current = target if current is None else current
                    self._gap(address, terminal_id, importance, reached, current, peer)
                    target = current  # read what the ring holds now
                    position, remaining, check, ring = current, RING, None, True
                    continue
                check = None
            received = datetime.now(UTC)
            await self._store(
                importance,
                event_rows(terminal_id, importance, placed, self.tz, received),
            )
            last_record = dict(placed).get((end - 1) % RING)
            await self._save(terminal_id, importance, end,
                             None if last_record is None else wire(last_record))  # fmt: skip
            reached, position, remaining = end, end, remaining - done
        return reached, seen

    async def _store_report(
        self, terminal_id: int, importance: int, report: EventReport
    ) -> None:
        placed = place(report)
        received = datetime.now(UTC)
        await self._store(
            importance, event_rows(terminal_id, importance, placed, self.tz, received)
        )
        span = (report.pn - report.pm) % RING
        state = await self._load(terminal_id, importance)
        if state is None or len(placed) != span or span == 0:
            return  # a new terminal is read whole first; a short report proves little
        ec, _ = state
        if (ec - report.pm) % RING < span:  # contiguous: [Pm, Pn) covers ec
            last = dict(placed)[(report.pn - 1) % RING]
            await self._save(terminal_id, importance, report.pn, wire(last))

    # --- IO helpers ------------------------------------------------------------------

    async def _ask(self, address: Address, importance: int, pm: int, pn: int, *,
                   tolerate_deny: bool) -> list[EventReport]:  # fmt: skip
        """The AFN0E answer's units; a deny is "nothing there" while reading a ring."""
        unit = DataUnit(0, importance, EventRequest(pm, pn))
        answer = await self._send(address, AFN.CLASS3, unit)
        if answer.kind != "data":
            if tolerate_deny:
                return []
            raise _Failure("denied", f"F{importance} {pm}..{pn}: {answer.reason}")
        reports = [
            u.data
            for u in answer.units
            if u.fn == importance and isinstance(u.data, EventReport)
        ]
        if not reports:
            errors = "; ".join(str(u.error) for u in answer.units if u.error)
            raise _Failure("bad_answer", errors or "no event data unit")
        return reports

    async def _counters(self, address: Address) -> list[int | None]:
        answer = await self._send(address, AFN.CLASS1, DataUnit(0, COUNTERS_FN))
        for u in answer.units:
            if isinstance(u.data, EventCounters):
                return [u.data.ec1, u.data.ec2]
        raise _Failure(
            "bad_answer" if answer.kind == "data" else "denied",
            "AFN0C F7 event counters",
        )

    async def _send(self, address: Address, afn: int, unit: DataUnit) -> Answer:
        try:
            async with asyncio.timeout(REQUEST_GUARD):
                return await self.request(address, afn, [unit], self.priority)
        except RequestError as exc:
            raise _Failure(exc.reason, str(exc)) from None
        except TimeoutError:
            raise _Failure("timeout", "no answer within the guard") from None

    async def _terminal_id(self, address: Address) -> int:
        try:
            return await self.directory.terminal_id(f"{address[0]:04X}", address[1])
        except (ArchiveUnavailable, LookupError) as exc:
            raise _Failure("archive", str(exc)) from None

    async def _load(self, terminal_id: int, importance: int) -> State | None:
        try:
            return await self.pointers.load(terminal_id, importance)
        except StateUnavailable as exc:
            raise _Failure("database", str(exc)) from None

    async def _save(
        self, terminal_id: int, importance: int, ec: int, last: bytes | None
    ) -> None:
        try:
            await self.pointers.save(terminal_id, importance, ec, last)
        except StateUnavailable as exc:
            raise _Failure("database", str(exc)) from None

    async def _store(self, importance: int, rows: list[Row]) -> None:
        """Hand rows to the writer and wait until they are durable (DB or spool)."""
        if not rows:
            return
        await self.writer.submit(EVENT_RECORD.name, rows)
        try:
            async with asyncio.timeout(self.flush_timeout):
                await self.writer.flush()
        except TimeoutError:
            raise _Failure("storage", "the writer did not flush in time") from None
        EVENTS_FETCHED.labels(importance=CLASS_LABELS[importance]).inc(len(rows))

    def _gap(self, address: Address, terminal_id: int, importance: int, stored: int,
             current: int, peer: str) -> None:  # fmt: skip
        terminal = format_address(address)
        EVENT_GAPS.inc()
        log.warning("event_gap", terminal=terminal, importance=importance,
                    stored_ec=stored, terminal_ec=current)  # fmt: skip
        detail = {"importance": importance, "stored_ec": stored, "terminal_ec": current}
        row = (datetime.now(UTC), uuid.uuid4(), "event_gap", terminal, terminal_id,
               peer, self.worker, detail)  # fmt: skip
        self.writer.submit_nowait(COMM_LOG.name, [row])


def _label(reason: str) -> str:
    return reason if reason in REASONS else "internal"
