"""On-demand reads (召测) and batch inspections (批量巡测).

An on-demand read asks one terminal for one data item of one measuring point at
on-demand priority, wherever the terminal is connected, and returns the decoded
answer; values the head-end stores (energy registers, powers, frozen values) are
stored as well, with source ``ON_DEMAND``. The item is a 1376.1 Fn (AFN0C current
data, AFN0D frozen data with its day or month) or a DL/T 645 data identifier, read
from the meter through the concentrator's transparent forwarding (AFN10 F1) with
the port, baud rate and 645 version the archive gives.

An inspection reads many targets with bounded concurrency; its progress and its
per-target results are rows of ``inspection`` / ``inspection_result``, so any worker
answers for it and the result outlives the request that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import structlog
from psycopg.rows import dict_row
from pydantic import BaseModel, Field, field_validator, model_validator

from headend import metrics
from headend.cluster import Cluster
from headend.collection import forward
from headend.config import Settings, parse_address
from headend.decode import jsonable
from headend.ingest import ON_DEMAND, Ingest
from headend.pipeline import Answer, Priority, RequestError
from protocols.errors import ProtocolError
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.formats import YearMonth
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0d import TIME_MARKS, Td, TdDaily, TdMonthly

log = structlog.get_logger(__name__)

#: Inspections whose progress rows are flushed at least this often (seconds).
FLUSH_EVERY = 0.5
#: Inspections one worker runs at once; more are refused (503).
MAX_INSPECTIONS = 8
#: How long the concentrator waits for the meter's reply to a forwarded frame.
METER_TIMEOUT_MS = 10_000
#: Targets of one inspection at most.
MAX_TARGETS = 100_000

AnyConnection = psycopg.AsyncConnection[Any]


class ReadSpec(BaseModel):
    """What to read: a Fn of AFN0C / AFN0D, or a 645 data identifier."""

    afn: int = Field(AFN.CLASS1, description="12 (0CH, current) or 13 (0DH, frozen)")
    fn: int | None = Field(None, ge=1, le=248)
    di: str | None = None
    #: The day (daily) or any day of the month (monthly) of a frozen value;
    #: default yesterday / last month.
    day: date | None = None
    timeout: float = Field(30.0, gt=0, le=300)

    @field_validator("di")
    @classmethod
    def _di(cls, v: str | None) -> str | None:
        return None if v is None else forward.data_identifier(v)

    @model_validator(mode="after")
    def _one(self) -> ReadSpec:
        if (self.fn is None) == (self.di is None):
            raise ValueError("give exactly one of fn and di")
        if self.fn is not None and self.afn not in (AFN.CLASS1, AFN.CLASS2):
            raise ValueError("afn: 12 (0CH) or 13 (0DH)")
        return self


class Target(BaseModel):
    """A terminal and measuring point (pn 0: the terminal itself)."""

    terminal: str
    pn: int = Field(0, ge=0, le=2040)

    @field_validator("terminal")
    @classmethod
    def _address(cls, v: str) -> str:
        parse_address(v)
        return v.strip()

    @property
    def label(self) -> str:
        return self.terminal if self.pn == 0 else f"{self.terminal}/p{self.pn}"


@dataclass(slots=True)
class ReadResult:
    """One read's outcome (JSON-ready through :meth:`as_dict`)."""

    target: str
    ok: bool
    error: str | None = None
    value: Any = None
    stored: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "ok": self.ok, "error": self.error,
                "value": self.value, "stored": self.stored}  # fmt: skip


class Reader:
    """On-demand reads and inspections through the cluster (any worker's terminal)."""

    def __init__(self, cluster: Cluster, settings: Settings, dsn: str | None,
                 ingest: Ingest | None) -> None:  # fmt: skip
        self.cluster = cluster
        self.settings = settings
        self.dsn = dsn
        self.ingest = ingest
        self.tz = ZoneInfo(settings.timezone)
        self._inspections: dict[uuid.UUID, asyncio.Task[None]] = {}

    # --- one read ----------------------------------------------------------------------

    async def read(self, target: Target, spec: ReadSpec) -> ReadResult:
        try:
            if spec.di is not None:
                result = await self._read_di(target, spec)
            else:
                result = await self._read_fn(target, spec)
        except RequestError as exc:
            result = ReadResult(target.label, False, exc.reason)
        except ProtocolError as exc:
            result = ReadResult(target.label, False, f"protocol: {exc}")
        metrics.ON_DEMAND_READS.labels(
            "ok" if result.ok else (result.error or "?")[:20]
        ).inc()
        return result

    def _mark(self, spec: ReadSpec, fn: int) -> object | None:
        if spec.afn != AFN.CLASS2:
            return None
        kind = TIME_MARKS.get(fn)
        today = datetime.now(self.tz).date()
        if kind == Td.DAILY:
            return TdDaily(spec.day or today - timedelta(days=1))
        if kind == Td.MONTHLY:
            day = spec.day or (today.replace(day=1) - timedelta(days=1))
            return TdMonthly(YearMonth(day.year, day.month))
        raise ValueError(f"AFN0D F{fn}: only daily and monthly frozen values are read")

    async def _read_fn(self, target: Target, spec: ReadSpec) -> ReadResult:
        assert spec.fn is not None  # noqa: S101 - validated
        key = parse_address(target.terminal)
        unit = DataUnit(target.pn, spec.fn, self._mark(spec, spec.fn))
        answer = await self.cluster.request(
            key, spec.afn, [unit], priority=Priority.ON_DEMAND,
            response_timeout=spec.timeout,
        )  # fmt: skip
        if not answer.ok:
            return ReadResult(target.label, False, "denied")
        units = [u for u in answer.units if u.data is not None]
        if not units:
            return ReadResult(target.label, False, "no_data")
        stored = 0
        if self.ingest is not None:
            a1, a2 = target.terminal.split("-")
            try:
                stored = await self.ingest.store(
                    (a1, int(a2)), spec.afn, units, ON_DEMAND
                )
            except (psycopg.Error, OSError) as exc:  # the answer still goes back
                log.warning(
                    "on_demand_store_failed", target=target.label, error=str(exc)
                )
        value = [{"pn": u.pn, "fn": u.fn, "data": jsonable(u.data)} for u in units]
        return ReadResult(target.label, True, None, value, stored)

    async def _read_di(self, target: Target, spec: ReadSpec) -> ReadResult:
        assert spec.di is not None  # noqa: S101 - validated
        meter = await self._meter(target)
        if meter is None:
            return ReadResult(target.label, False, "not_in_archive")
        key = parse_address(target.terminal)
        got = await forward.read(self._request, key, meter, spec.di,
                                 Priority.ON_DEMAND, spec.timeout)  # fmt: skip
        if got.meaning is None or got.error is not None:
            return ReadResult(target.label, False, got.error)
        meaning = got.meaning
        stored = 0
        reg = forward.register(meaning)
        if reg is not None and self.ingest is not None:
            a1, a2 = target.terminal.split("-")
            try:
                stored = await self.ingest.store_registers(
                    (a1, int(a2)), [(target.pn, *reg)], ON_DEMAND
                )
            except (psycopg.Error, OSError) as exc:  # the answer still goes back
                log.warning(
                    "on_demand_store_failed", target=target.label, error=str(exc)
                )
        value = {
            "di": meaning.di,
            "name": meaning.name,
            "values": jsonable(meaning.values),
        }
        return ReadResult(target.label, True, None, value, stored)

    async def _request(self, key: tuple[int, int], afn: int, units: list[DataUnit],
                       priority: int, response_timeout: float) -> Answer:  # fmt: skip
        return await self.cluster.request(key, afn, units, priority=priority,
                                          response_timeout=response_timeout)  # fmt: skip

    async def _meter(self, target: Target) -> forward.MeterLink | None:
        if not self.dsn:
            return None
        a1, a2 = target.terminal.split("-")
        async with await psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, connect_timeout=5
        ) as conn:
            row = await (
                await conn.execute(
                    "SELECT m.id FROM meter m JOIN terminal t ON t.id = m.terminal_id "
                    "WHERE t.a1 = %s AND t.a2 = %s AND m.pn = %s AND m.status = 'active'",
                    (a1, int(a2), target.pn),
                )
            ).fetchone()
            if row is None:
                return None
            return (await forward.meter_links(conn, [int(row[0])])).get(int(row[0]))

    # --- inspections -------------------------------------------------------------------

    async def start_inspection(self, targets: Sequence[Target], spec: ReadSpec,
                               operator: str, concurrency: int | None = None) -> uuid.UUID:  # fmt: skip
        """Record the inspection and start it in the background; returns its id."""
        if not self.dsn:
            raise RuntimeError("inspections need the database")
        self._inspections = {k: t for k, t in self._inspections.items() if not t.done()}
        if len(self._inspections) >= MAX_INSPECTIONS:
            raise OverflowError(
                f"{MAX_INSPECTIONS} inspections are running on this worker"
            )
        unique = list({t.label: t for t in targets}.values())
        inspection_id = uuid.uuid4()
        async with await self._connect() as conn:
            await conn.execute(
                "INSERT INTO inspection (id, operator, spec, total) VALUES (%s, %s, %s, %s)",
                (
                    inspection_id,
                    operator,
                    json.dumps(spec.model_dump(mode="json")),
                    len(unique),
                ),
            )
        limit = min(concurrency or self.settings.collection.inspection_concurrency,
                    self.settings.collection.inspection_concurrency)  # fmt: skip
        task = asyncio.get_running_loop().create_task(
            self._inspect(inspection_id, unique, spec, limit),
            name=f"inspection-{inspection_id}",
        )
        self._inspections[inspection_id] = task
        return inspection_id

    def _connect(self) -> Any:
        assert self.dsn  # noqa: S101 - checked by the callers
        return psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, connect_timeout=5
        )

    async def _inspect(self, inspection_id: uuid.UUID, targets: list[Target],
                       spec: ReadSpec, limit: int) -> None:  # fmt: skip
        pending: list[ReadResult] = []
        queue: asyncio.Queue[Target] = asyncio.Queue()
        for t in targets:
            queue.put_nowait(t)

        async def reader() -> None:
            while not queue.empty():
                target = queue.get_nowait()
                pending.append(await self.read(target, spec))

        readers = [
            asyncio.get_running_loop().create_task(
                reader(), name=f"inspection-read-{i}"
            )
            for i in range(min(limit, len(targets)))
        ]
        state = "interrupted"
        try:
            async with await self._connect() as conn:
                while not all(r.done() for r in readers):
                    await asyncio.wait(readers, timeout=FLUSH_EVERY)
                    await self._flush(conn, inspection_id, self._take(pending))
                state = "finished"
        finally:
            for r in readers:
                r.cancel()
            try:
                async with await self._connect() as conn:
                    await self._flush(conn, inspection_id, self._take(pending))
                    await conn.execute(
                        "UPDATE inspection SET state = %s, finished_at = now() WHERE id = %s",
                        (state, inspection_id),
                    )
            except (psycopg.Error, OSError) as exc:
                log.warning(
                    "inspection_not_closed", id=str(inspection_id), error=str(exc)
                )

    @staticmethod
    def _take(pending: list[ReadResult]) -> list[ReadResult]:
        """Empty ``pending`` in place (the readers keep appending to it)."""
        taken = pending[:]
        del pending[: len(taken)]
        return taken

    @staticmethod
    async def _flush(conn: AnyConnection, inspection_id: uuid.UUID,
                     results: list[ReadResult]) -> None:  # fmt: skip
        if not results:
            return
        async with conn.transaction():
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO inspection_result (inspection_id, target, ok, error, value) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(inspection_id, r.target, r.ok, r.error,
                      None if r.value is None else json.dumps(r.value)) for r in results],
                )  # fmt: skip
            await conn.execute(
                "UPDATE inspection SET done = done + %s, ok = ok + %s WHERE id = %s",
                (len(results), sum(r.ok for r in results), inspection_id),
            )

    async def inspection(self, inspection_id: uuid.UUID, *, results: bool = True,
                         limit: int = 1000, offset: int = 0) -> dict[str, Any] | None:  # fmt: skip
        """Progress and (a page of) results of an inspection, from the database."""
        async with (
            await self._connect() as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute(
                "SELECT id, created_at, finished_at, operator, spec, total, done, ok, state "
                "FROM inspection WHERE id = %s",
                (inspection_id,),
            )
            head = await cur.fetchone()
            if head is None:
                return None
            out: dict[str, Any] = {k: jsonable(v) for k, v in head.items()}
            out["id"] = str(head["id"])
            out["failed"] = head["done"] - head["ok"]
            if results:
                await cur.execute(
                    "SELECT target, ok, error, value FROM inspection_result "
                    "WHERE inspection_id = %s ORDER BY target LIMIT %s OFFSET %s",
                    (inspection_id, limit, offset),
                )
                out["results"] = await cur.fetchall()
        return out

    async def stop(self) -> None:
        for task in self._inspections.values():
            task.cancel()
        for task in self._inspections.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
