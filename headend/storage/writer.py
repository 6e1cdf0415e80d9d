"""The write path: bounded buffer → binary COPY into staging → INSERT ... ON CONFLICT.

Producers hand rows to :meth:`Writer.submit`, which waits while the buffer is full
(back-pressure on collection, never on the terminal links). Flusher tasks, each with
its own connection, take batches per table, drop duplicate keys within the batch
(last wins), ``COPY ... FROM STDIN (FORMAT BINARY)`` them into a temporary staging
table and move them with one idempotent ``INSERT ... SELECT ... ON CONFLICT``: a
re-collected or replayed reading lands on its key and never duplicates.

When the database cannot be reached, batches go to the local spool (fsynced,
checksummed) instead; a recovery task retries with back-off, replays the spool in
order, and only then lets flushers write directly again. A spool left by a previous
run is replayed first. :meth:`submit_nowait` never waits: past the buffer bound it
spools at once (the communication log uses it from inside event handlers).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

import psycopg
import structlog

from headend.storage.spool import Row, Spool
from headend.storage.tables import TABLES, TableSpec

log = structlog.get_logger("headend.writer")

_DOWN_ERRORS: Final = (psycopg.OperationalError, psycopg.InterfaceError, OSError)


@dataclass(slots=True)
class WriterStats:
    """Running totals (the metrics module exports them)."""

    rows_written: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    rows_spooled: int = 0
    rows_replayed: int = 0
    rows_rejected: int = 0  # batches the database refused for their content
    outages: int = 0
    last_error: str = ""


class Writer:
    """Owns the flusher tasks, their connections and the spool."""

    def __init__(
        self,
        dsn: str,
        spool_dir: Path,
        *,
        connections: int = 2,
        batch_rows: int = 20_000,
        flush_interval: float = 0.1,
        max_buffered_rows: int = 500_000,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self.dsn = dsn
        self.spool = Spool(spool_dir)
        self.rejected = Spool(spool_dir / "rejected")
        self.connections = connections
        self.batch_rows = batch_rows
        self.flush_interval = flush_interval
        self.max_buffered_rows = max_buffered_rows
        self.retry_min, self.retry_max = retry_min, retry_max
        self.stats = WriterStats()
        self._pending: dict[str, list[Row]] = {}
        self._buffered = 0
        self._in_flight = 0
        self._space = asyncio.Event()
        self._space.set()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._spool_lock = asyncio.Lock()
        self.db_up = self.spool.empty()
        self._down = asyncio.Event()
        if not self.db_up:
            self._down.set()
        self._running = False
        self._tasks: list[asyncio.Task[None]] = []
        self._keys = {name: itemgetter(*(spec.columns.index(k) for k in spec.key))
                      for name, spec in TABLES.items()}  # fmt: skip

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self._running = True
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._flusher(i), name=f"writer-flusher-{i}")
            for i in range(self.connections)
        ]
        self._tasks.append(loop.create_task(self._recover(), name="writer-recovery"))

    async def stop(self, within: float = 10.0) -> None:
        """Write (or spool) everything buffered, then stop the tasks."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.flush()
        self._running = False
        self._ready.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Whatever could not be written in time is kept in the spool, not dropped.
        for name, rows in list(self._pending.items()):
            if rows:
                self.spool.append(TABLES[name], rows)
                self.stats.rows_spooled += len(rows)
        self._pending.clear()
        self._buffered = 0
        self.spool.close()
        self.rejected.close()

    async def flush(self) -> None:
        """Wait until every row submitted so far is in the database or the spool."""
        while self._buffered or self._in_flight:
            self._ready.set()
            self._idle.clear()
            await self._idle.wait()

    # --- producers ---------------------------------------------------------------------

    async def submit(self, table: str, rows: Sequence[Row]) -> None:
        """Queue rows for ``table``; waits while the buffer is full."""
        if table not in TABLES:
            raise KeyError(f"no table {table!r}")
        while self._buffered >= self.max_buffered_rows:
            self._space.clear()
            await self._space.wait()
        self._add(table, rows)

    def submit_nowait(self, table: str, rows: Sequence[Row]) -> None:
        """Queue rows without waiting; past the bound they are spooled at once."""
        if table not in TABLES:
            raise KeyError(f"no table {table!r}")
        if self._buffered >= self.max_buffered_rows:
            self.spool.append(TABLES[table], rows)
            self.stats.rows_spooled += len(rows)
            self._note_down("buffer full")  # the recovery task replays it
            return
        self._add(table, rows)

    def _add(self, table: str, rows: Sequence[Row]) -> None:
        if not rows:
            return
        self._pending.setdefault(table, []).extend(rows)
        self._buffered += len(rows)
        if self._buffered >= self.batch_rows:
            self._ready.set()

    @property
    def buffered(self) -> int:
        return self._buffered

    # --- flushers ------------------------------------------------------------------------

    def _take(self) -> tuple[TableSpec, list[Row]] | None:
        """The largest pending batch (at most ``batch_rows`` rows)."""
        if not self._buffered:
            return None
        name = max(self._pending, key=lambda n: len(self._pending[n]))
        pending = self._pending[name]
        rows = pending[: self.batch_rows]
        del pending[: self.batch_rows]
        self._buffered -= len(rows)
        if self._buffered < self.max_buffered_rows:
            self._space.set()
        return TABLES[name], rows

    async def _flusher(self, index: int) -> None:
        conn: psycopg.AsyncConnection[Any] | None = None
        stages: set[str] = set()
        try:
            while self._running:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.flush_interval):
                        await self._ready.wait()
                self._ready.clear()
                while (batch := self._take()) is not None:
                    spec, rows = batch
                    self._in_flight += 1
                    try:
                        if self.db_up:
                            try:
                                if conn is None or conn.closed:
                                    conn = await psycopg.AsyncConnection.connect(
                                        self.dsn
                                    )
                                    stages = set()
                                await self._write(conn, stages, spec, rows)
                                continue
                            except _DOWN_ERRORS as exc:
                                self._note_down(str(exc))
                                await _discard(conn)
                                conn = None
                            except psycopg.Error as exc:
                                await self._reject(spec, rows, exc)
                                await _discard(conn)
                                conn = None
                                continue
                        await self._to_spool(spec, rows)
                    finally:
                        self._in_flight -= 1
                if not self._buffered and not self._in_flight:
                    self._idle.set()
        finally:
            await _discard(conn)

    async def _write(self, conn: psycopg.AsyncConnection[Any], stages: set[str],
                     spec: TableSpec, rows: list[Row]) -> None:  # fmt: skip
        try:
            await self._copy_upsert(conn, stages, spec, rows)
        except psycopg.errors.CardinalityViolation:
            # The same key twice in one batch (rare: usually batches of distinct
            # readings); keep the last and write again.
            key = self._keys[spec.name]
            rows = list({key(r): r for r in rows}.values())
            await self._copy_upsert(conn, stages, spec, rows)
        written = self.stats.rows_written
        written[spec.name] = written.get(spec.name, 0) + len(rows)
        self.stats.batches += 1

    @staticmethod
    async def _copy_upsert(conn: psycopg.AsyncConnection[Any], stages: set[str],
                           spec: TableSpec, rows: list[Row]) -> None:  # fmt: skip
        new_stage = spec.name not in stages
        async with conn.transaction():
            if new_stage:
                await conn.execute(spec.create_stage())
            async with conn.cursor() as cur, cur.copy(spec.copy_stage()) as copy:
                copy.set_types(list(spec.types))
                for row in rows:
                    await copy.write_row(row)
            await conn.execute(spec.upsert())
        if new_stage:  # only once committed: a rollback takes the table with it
            stages.add(spec.name)

    async def _reject(self, spec: TableSpec, rows: list[Row], exc: Exception) -> None:
        """Keep a batch the database refused for its content aside for an operator.

        Losing it or retrying it forever would both be worse.
        """
        log.error("batch_rejected", table=spec.name, rows=len(rows), error=str(exc))
        async with self._spool_lock:
            await asyncio.to_thread(self.rejected.append, spec, rows)
        self.stats.rows_rejected += len(rows)

    async def _to_spool(self, spec: TableSpec, rows: list[Row]) -> None:
        async with self._spool_lock:
            await asyncio.to_thread(self.spool.append, spec, rows)
        self.stats.rows_spooled += len(rows)

    def _note_down(self, error: str) -> None:
        if self.db_up:
            self.db_up = False
            self.stats.outages += 1
            log.warning("database_unavailable", error=error)
        self.stats.last_error = error
        self._down.set()

    # --- recovery ------------------------------------------------------------------------

    async def _recover(self) -> None:
        delay = self.retry_min
        while self._running:
            await self._down.wait()
            try:
                replayed = await self._replay()
            except _DOWN_ERRORS as exc:
                self.stats.last_error = str(exc)
                await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter
                delay = min(delay * 2, self.retry_max)
                continue
            delay = self.retry_min
            self._down.clear()
            self.db_up = True
            if replayed:
                log.info("spool_replayed", rows=replayed)

    def _read_segment(self, segment: Path) -> list[tuple[TableSpec, list[Row]]]:
        return list(self.spool.records(segment))

    async def _replay(self) -> int:
        """Write every spooled batch in order; returns the rows replayed."""
        total = 0
        async with await psycopg.AsyncConnection.connect(
            self.dsn, connect_timeout=5
        ) as conn:
            stages: set[str] = set()
            while True:
                async with self._spool_lock:
                    self.spool.close()  # appends made from now on go to a new segment
                    segments = [s for s in self.spool.segments() if s.stat().st_size]
                    for empty in set(self.spool.segments()) - set(segments):
                        self.spool.remove(empty)
                if not segments:
                    return (
                        total  # nothing awaited since the check: no append in between
                    )
                for segment in segments:
                    records = await asyncio.to_thread(self._read_segment, segment)
                    for spec, rows in records:
                        try:
                            await self._write(conn, stages, spec, rows)
                        except _DOWN_ERRORS:
                            raise
                        except psycopg.Error as exc:
                            await self._reject(spec, rows, exc)
                            continue
                        total += len(rows)
                        self.stats.rows_replayed += len(rows)
                    async with self._spool_lock:
                        self.spool.remove(segment)


async def _discard(conn: psycopg.AsyncConnection[Any] | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.close()
