"""The collector of one worker: task windows, dispatch, re-collection (补采), catch-up.

Every worker runs the same schedule (APScheduler, coarse windows only) and, when a
window fires, collects from the terminals *it* holds: the target set is resolved
for those terminals alone, so N workers split a window without talking to each
other. Inside a window the terminals are started from a heap ordered by a jittered
due time, at most ``max_terminals`` at once; each terminal's requests then go
through its own pipeline (several points per frame, at the task's priority), so
control commands and on-demand reads overtake scheduled work on the same link.

Frozen kinds are collected by gap (:mod:`headend.collection.plan`): a window asks
for the missing (meter, period) pairs of the look-back, then asks again for what is
still missing up to ``retries`` times, ``retry_interval_s`` apart, at re-collection
priority. A terminal that logs in is caught up the same way after a short delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import structlog
from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from headend import metrics
from headend.collection import anomalies, forward, kpi, plan, tasks
from headend.collection.tasks import Task
from headend.config import Settings, format_address, parse_address
from headend.connections import CommEvent, Connections
from headend.ingest import RECOLLECT, SCHEDULED, Ingest
from headend.pipeline import Answer, Priority, RequestError
from headend.storage.writer import Writer
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0c import MeterClock, MeterClockAndCounts, TerminalClock

log = structlog.get_logger(__name__)

#: Checks of the task table for changes (seconds).
RELOAD_INTERVAL = 2.0
#: Terminals that logged in and wait for their catch-up (bounded; more are dropped,
#: the next window or retry collects them anyway).
MAX_RETURNING = 100_000
#: Reasons after which the rest of a terminal's batches are not tried this time.
_GIVE_UP = frozenset({"offline", "shutdown", "replaced", "queue_full"})

#: Seconds a forwarded 645 read may take (the meter answers through the terminal).
FORWARD_TIMEOUT = 30.0
#: Kinds collected by gap (re-collected, caught up).
FROZEN = frozenset({"daily", "monthly", "curve"})
#: Tasks with a success-rate series at most (bounded label values).
KPI_TASKS = 100

EventsHook = Callable[[tuple[int, int]], None]


@dataclass(slots=True)
class WindowResult:
    """What one window (or one retry) of one task did on this worker."""

    task: str
    phase: str
    terminals: int = 0
    expected: int = 0
    received: int = 0
    failed_terminals: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)


class Collector:
    """Scheduled collection for the terminals one worker holds."""

    def __init__(self, settings: Settings, connections: Connections, ingest: Ingest,
                 writer: Writer, dsn: str, index: int = 0) -> None:  # fmt: skip
        self.settings = settings
        self.limits = settings.collection
        self.connections = connections
        self.ingest = ingest
        self.writer = writer
        self.dsn = dsn
        self.index = index
        self.tz = ZoneInfo(settings.timezone)
        #: Called for each target terminal of an events task (the event collector).
        self.events_hook: EventsHook | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self._tasks: dict[int, Task] = {}
        self._version: tuple[int, Any, Any] | None = None
        self._running: dict[int, asyncio.Task[None]] = {}
        self._returning: set[tuple[int, int]] = set()
        self._returned = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []
        self.last: dict[str, WindowResult] = {}
        #: Clocks found off during the running windows, recorded at their end.
        self._clocks: list[anomalies.ClockDrift] = []

    # --- life --------------------------------------------------------------------------

    async def start(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone=self.tz)
        self.scheduler.start()
        loop = asyncio.get_running_loop()
        self._background.append(
            loop.create_task(self._reload_forever(), name="collection-tasks")
        )
        if self.index == 0:  # one worker exports the database-wide KPIs
            self._background.append(
                loop.create_task(self._kpis_forever(), name="collection-kpis")
            )
        if self.limits.catchup_on_login:
            self.connections.sinks.append(self._on_comm)
            self._background.append(
                loop.create_task(self._catch_up_forever(), name="collection-catchup")
            )

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        running = [*self._background, *self._running.values()]
        for t in running:
            t.cancel()
        for t in running:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._running.clear()

    def _connect(self) -> Any:
        return psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, connect_timeout=5
        )

    # --- the schedule ------------------------------------------------------------------

    async def _reload_forever(self) -> None:
        while True:
            try:
                await self.reload()
            except (psycopg.Error, OSError) as exc:
                log.warning("collection_tasks_unavailable", error=str(exc))
            await asyncio.sleep(RELOAD_INTERVAL)

    async def reload(self) -> None:
        """Read the task table and bring the scheduler's jobs in line with it."""
        async with await self._connect() as conn:
            version = await tasks.version(conn)
            if version == self._version:
                return
            found = {t.id: t for t in await tasks.list_all(conn)}
        assert self.scheduler is not None  # noqa: S101 - started first
        first = self._version is None
        for task in found.values():  # "run now" requests made since the last look
            old = self._tasks.get(task.id)
            asked = task.run_requested_at
            if (
                not first
                and asked is not None
                and (old is None or old.run_requested_at != asked)
            ):
                self.start_task(task)
        enabled = {t.id for t in found.values() if t.enabled}
        for task_id in set(self._tasks) - enabled:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(f"task-{task_id}")
        for task in found.values():
            if not task.enabled:
                continue
            old = self._tasks.get(task.id)
            if old is not None and old.model_dump(exclude={"run_requested_at"}) == (
                task.model_dump(exclude={"run_requested_at"})
            ):
                continue
            trigger = (
                CronTrigger.from_crontab(task.schedule, timezone=self.tz)
                if task.schedule
                else IntervalTrigger(seconds=task.interval_s, timezone=self.tz)
            )
            self.scheduler.add_job(
                self._fire, trigger, args=(task.id,), id=f"task-{task.id}",
                name=task.name, replace_existing=True, coalesce=True,
                max_instances=1, misfire_grace_time=300,
            )  # fmt: skip
        self._tasks = found
        self._version = version
        log.info("collection_tasks_loaded", tasks=len(found), worker=self.index)

    async def _fire(self, task_id: int) -> None:
        task = self._tasks.get(task_id)
        if task is None or not task.enabled or not self._in_window(task):
            return
        self.start_task(task)

    def _in_window(self, task: Task) -> bool:
        if task.window_start is None or task.window_end is None:
            return True
        now = datetime.now(self.tz).time()
        if task.window_start <= task.window_end:
            return task.window_start <= now <= task.window_end
        return now >= task.window_start or now <= task.window_end  # over midnight

    def start_task(
        self, task: Task, today: date | None = None
    ) -> asyncio.Task[None] | None:
        """Start a window of ``task`` now (skipped while one is still running)."""
        running = self._running.get(task.id)
        if running is not None and not running.done():
            log.info(
                "collection_window_skipped", task=task.name, reason="still running"
            )
            return None
        job = asyncio.get_running_loop().create_task(
            self._window_and_retries(task, today), name=f"collect-{task.name}"
        )
        self._running[task.id] = job
        job.add_done_callback(lambda _: self._running.pop(task.id, None))
        return job

    async def _window_and_retries(self, task: Task, today: date | None) -> None:
        try:
            result = await self.run_window(task, today=today)
            for _ in range(task.retries if task.kind in FROZEN else 0):
                if result.expected == 0:  # nothing was missing
                    break
                await asyncio.sleep(task.retry_interval_s)
                result = await self.run_window(task, today=today, phase="recollect")
            if task.kind == "daily" and self.index == 0:
                # What is still wrong once re-collection is over (数据异常).
                day = plan.periods("daily", today or datetime.now(self.tz).date(), 0)[0]
                async with await self._connect() as conn:
                    found = await anomalies.detect_day(conn, day)
                log.info("anomalies_detected", day=day.isoformat(), found=found)
        except (psycopg.Error, OSError) as exc:
            log.warning("collection_window_failed", task=task.name, error=str(exc))

    # --- one window --------------------------------------------------------------------

    def held(self) -> list[tuple[str, int]]:
        return [(f"{a1:04X}", a2) for a1, a2 in self.connections.registry]

    async def run_window(self, task: Task, *, today: date | None = None,
                         phase: str = "window",
                         only: Sequence[tuple[str, int]] | None = None) -> WindowResult:  # fmt: skip
        """Collect ``task`` from the held terminals (or ``only`` those) once."""
        began = time.monotonic()
        started_at = datetime.now(UTC)
        today = today or datetime.now(self.tz).date()
        held = list(only) if only is not None else self.held()
        result = WindowResult(task.name, phase)
        if task.kind == "events":
            targets = tasks.narrow(task.target, held)
            if self.events_hook is not None:
                for a1, a2 in targets:
                    self.events_hook((int(a1, 16), a2))
            result.terminals = len(targets)
            metrics.COLLECTION_WINDOWS.labels(task.kind, phase).inc()
            return result
        target_day: date | None = None
        async with await self._connect() as conn:
            if task.kind in FROZEN:
                days = plan.periods(task.kind, today, task.lookback_days)
                target_day = days[0]
                gaps = {}
                for fn in task.fns:
                    gaps[fn] = await plan.gaps(
                        conn, task.target, held, fn, days, curve=task.kind == "curve",
                        timezone=self.settings.timezone,
                    )  # fmt: skip
                jobs = plan.frozen_jobs(task.kind, gaps, self.limits.points_per_request)
            else:
                found = await tasks.targets(conn, task.target, held)
                links = None
                if task.dis:
                    meters = [mid for _, ms in found.values() for mid in ms.values()]
                    links = await forward.meter_links(conn, meters)
                jobs = plan.realtime_jobs(task.fns, found, self.limits.points_per_request,
                                          task.dis, links)  # fmt: skip
        priority = task.priority if phase == "window" else Priority.RECOLLECT
        source = SCHEDULED if phase == "window" else RECOLLECT
        run_id = uuid.uuid5(
            uuid.NAMESPACE_URL, f"headend:{task.id}:{started_at.isoformat()}"
        )
        rows: list[tuple[Any, ...]] = []

        async def one(job: plan.TerminalJob) -> None:
            received, reason = await self._collect(job, priority, source, phase)
            result.expected += job.expected
            result.received += received
            if reason:
                result.failed_terminals += 1
                result.reasons[reason] = result.reasons.get(reason, 0) + 1
            outcome = (
                "ok" if received >= job.expected
                else "offline" if reason in _GIVE_UP and received == 0
                else "failed" if received == 0
                else "partial"
            )  # fmt: skip
            rows.append((started_at, run_id, task.id, job.terminal_id, target_day,
                         datetime.now(UTC), job.expected, received, outcome,
                         {"phase": phase, "reason": reason} if reason else {"phase": phase}))  # fmt: skip

        result.terminals = len(jobs)
        await self._dispatch(jobs, one)
        if rows:
            await self.writer.submit("collection_run", rows)
        if self._clocks:
            clocks, self._clocks = self._clocks, []
            async with await self._connect() as conn:
                await anomalies.record(conn, clocks)
        result.seconds = time.monotonic() - began
        metrics.COLLECTION_WINDOWS.labels(task.kind, phase).inc()
        metrics.COLLECTION_WINDOW_SECONDS.observe(result.seconds)
        self.last[task.name] = result
        log.info("collection_window", task=task.name, phase=phase, worker=self.index,
                 terminals=result.terminals, expected=result.expected,
                 received=result.received, seconds=round(result.seconds, 3),
                 reasons=result.reasons or None)  # fmt: skip
        return result

    async def _dispatch(self, jobs: list[plan.TerminalJob],
                        one: Callable[[plan.TerminalJob], Any]) -> None:  # fmt: skip
        """Start jobs from a heap by jittered due time, at most ``max_terminals`` at once."""
        loop = asyncio.get_running_loop()
        spread = self.limits.spread
        now = loop.time()
        heap = [(now + random.uniform(0, spread), i, job) for i, job in enumerate(jobs)]  # noqa: S311
        heapq.heapify(heap)
        slots = asyncio.Semaphore(self.limits.max_terminals)
        running: set[asyncio.Task[None]] = set()

        async def guarded(job: plan.TerminalJob) -> None:
            try:
                await one(job)
            finally:
                slots.release()

        while heap:
            due, _, job = heapq.heappop(heap)
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            t = loop.create_task(
                guarded(job), name=f"collect-{format_address(job.key)}"
            )
            running.add(t)
            t.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running)

    async def _collect(self, job: plan.TerminalJob, priority: int, source: int,
                       phase: str) -> tuple[int, str]:  # fmt: skip
        """Send one terminal's batches in turn; (units received, last failure)."""
        text_key = (f"{job.key[0]:04X}", job.key[1])
        received = 0
        reason = ""
        for batch in job.batches:
            try:
                answer = await self.connections.request(
                    job.key, batch.afn, batch.units, priority=priority
                )
            except RequestError as exc:
                reason = exc.reason
                metrics.COLLECTION_REQUESTS.labels(exc.reason).inc()
                if exc.reason in _GIVE_UP:
                    break
                continue
            if not answer.ok:
                reason = "denied"
                metrics.COLLECTION_REQUESTS.labels("denied").inc()
                continue
            metrics.COLLECTION_REQUESTS.labels("ok").inc()
            asked, fn = set(batch.pns), batch.fn
            units = [u for u in answer.units
                     if u.data is not None and u.fn == fn and u.pn in asked]  # fmt: skip
            received += len(units)
            await self.ingest.store(text_key, batch.afn, units, source,
                                    known=(job.terminal_id, job.meters))  # fmt: skip
            if batch.afn == AFN.CLASS1:
                self._clocks.extend(self._clock_findings(job, units))
        registers = []
        for pn, di, link in job.forwards if reason not in _GIVE_UP else ():
            try:
                got = await forward.read(self._request, job.key, link, di, priority,
                                         FORWARD_TIMEOUT)  # fmt: skip
            except RequestError as exc:
                reason = exc.reason
                metrics.COLLECTION_REQUESTS.labels(exc.reason).inc()
                if exc.reason in _GIVE_UP:
                    break
                continue
            if got.meaning is None or got.error is not None:
                reason = (got.error or "no_data").split(":")[0]
                metrics.COLLECTION_REQUESTS.labels(reason).inc()
                continue
            metrics.COLLECTION_REQUESTS.labels("ok").inc()
            received += 1
            reg = forward.register(got.meaning)
            if reg is not None:
                registers.append((pn, *reg))
        if registers:
            await self.ingest.store_registers(text_key, registers, source,
                                              known=(job.terminal_id, job.meters))  # fmt: skip
        metrics.COLLECTION_READINGS.labels(phase).inc(received)
        return received, reason

    async def _request(self, key: tuple[int, int], afn: int, units: list[DataUnit],
                       priority: int, response_timeout: float) -> Answer:  # fmt: skip
        return await self.connections.request(key, afn, units, priority=priority,
                                              response_timeout=response_timeout)  # fmt: skip

    def _clock_findings(self, job: plan.TerminalJob,
                        units: list[DataUnit]) -> list[anomalies.ClockDrift]:  # fmt: skip
        """Terminal (F2) and meter (F27, F162) clocks beyond the drift threshold."""
        received = datetime.now(self.tz)
        out = []
        for u in units:
            data = u.data
            if isinstance(data, TerminalClock) and data.clock is not None:
                found = anomalies.check_clock(
                    anomalies.Kind.TERMINAL_CLOCK_DRIFT, terminal_id=job.terminal_id,
                    device_time=data.clock.replace(tzinfo=self.tz), received=received,
                )  # fmt: skip
            elif (
                isinstance(data, MeterClock | MeterClockAndCounts) and data.meter_clock
            ):
                found = anomalies.check_clock(
                    anomalies.Kind.METER_CLOCK_DRIFT, terminal_id=job.terminal_id,
                    meter_id=job.meters.get(u.pn),
                    device_time=data.meter_clock.replace(tzinfo=self.tz), received=received,
                )  # fmt: skip
            else:
                continue
            if found is not None:
                out.append(found)
        return out

    # --- catch-up of terminals that come back --------------------------------------------

    def _on_comm(self, event: CommEvent) -> None:
        if event.kind != "login" or event.terminal is None:
            return
        if len(self._returning) >= MAX_RETURNING:
            return
        with contextlib.suppress(ValueError):
            self._returning.add(parse_address(event.terminal))
            self._returned.set()

    async def _catch_up_forever(self) -> None:
        while True:
            await self._returned.wait()
            await asyncio.sleep(self.limits.catchup_delay)
            self._returned.clear()
            back, self._returning = self._returning, set()
            held = [
                (f"{a1:04X}", a2)
                for a1, a2 in back
                if (a1, a2) in self.connections.registry
            ]
            for task in list(self._tasks.values()):
                if (
                    task.kind not in ("daily", "monthly")
                    or not task.enabled
                    or not held
                ):
                    continue
                try:
                    await self.run_window(task, phase="catchup", only=held)
                except (psycopg.Error, OSError) as exc:
                    log.warning(
                        "collection_catchup_failed", task=task.name, error=str(exc)
                    )

    # --- KPIs as metrics -----------------------------------------------------------------

    async def _kpis_forever(self) -> None:
        while True:
            await asyncio.sleep(self.limits.kpi_interval)
            try:
                await self.export_kpis()
            except (psycopg.Error, OSError) as exc:
                log.warning("collection_kpis_unavailable", error=str(exc))

    async def export_kpis(self) -> None:
        """Success of each daily/monthly task (latest period) and the online rate."""
        today = datetime.now(self.tz).date()
        frozen = [
            t
            for t in self._tasks.values()
            if t.enabled and t.kind in ("daily", "monthly")
        ]
        async with await self._connect() as conn:
            for task in frozen[:KPI_TASKS]:
                period = plan.periods(task.kind, today, 0)[0]
                (total,) = await kpi.success(conn, task, period)
                if total["rate"] is not None:
                    metrics.COLLECTION_SUCCESS.labels(task.name).set(total["rate"])
            online = await kpi.online_rate(conn)
        if online["rate"] is not None:
            metrics.TERMINAL_ONLINE_RATIO.set(online["rate"])
