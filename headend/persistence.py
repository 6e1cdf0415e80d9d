"""What one worker persists, and how: wiring between the link layer and storage.

* the database: ``database_url``, or the embedded PostgreSQL when none is given;
* migrations and partition maintenance at start, maintenance again every day;
* the writer (with this worker's own spool directory) and the archive directory;
* the communication log: every :class:`~headend.connections.CommEvent` becomes a
  ``comm_log`` row (never waiting: past the buffer bound it is spooled);
* data the terminals send on their own (active reports) is ingested from a bounded
  queue by one task, so an event handler never awaits;
* the terminal directory (``terminal_link``, :mod:`headend.routing`), which also
  decides the retained online/offline status published on the bus;
* the writer's totals, exported to Prometheus every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Final

import structlog

from headend import metrics
from headend.bus import Bus
from headend.config import Settings
from headend.connections import CommEvent, Connections
from headend.ingest import REPORT, Ingest
from headend.listener import TerminalConnection
from headend.routing import LinkDirectory
from headend.storage import maintenance, migrate
from headend.storage.directory import Directory
from headend.storage.embedded import start_embedded
from headend.storage.writer import Writer, WriterStats
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.events import MasterEvent, Report

log = structlog.get_logger("headend.persistence")

REPORT_QUEUE: Final = 10_000
MAINTENANCE_EVERY: Final = 24 * 3600.0
METRICS_EVERY: Final = 2.0


def database_url(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return start_embedded(settings.state_dir)


class Persistence:
    """Storage for one worker (see the module docstring)."""

    def __init__(self, settings: Settings, worker: str, index: int = 0) -> None:
        self.settings = settings
        self.worker = worker
        self.index = index
        self.links: LinkDirectory | None = None
        self._exported = WriterStats()
        self.dsn = ""
        self.writer: Writer | None = None
        self.directory: Directory | None = None
        self.ingest: Ingest | None = None
        self._reports: asyncio.Queue[tuple[tuple[str, int], int, list[DataUnit]]] = (
            asyncio.Queue(REPORT_QUEUE)
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, connections: Connections, bus: Bus | None = None) -> None:
        self.dsn = database_url(self.settings)
        await migrate.upgrade(self.dsn)
        await maintenance.run(self.dsn)
        spool = self.settings.state_dir / "spool" / self.worker
        self.writer = Writer(self.dsn, spool)
        await self.writer.start()
        self.directory = Directory(self.dsn)
        self.ingest = Ingest(
            self.writer,
            self.directory,
            self.settings.timezone,
            publish=bus.publish_readings if bus is not None else None,
        )
        announce = None
        if bus is not None:

            def announce(terminal: str, online: bool, since: float, peer: str,
                         reason: str) -> None:  # fmt: skip
                bus.publish_status(terminal, online=online, since=since, peer=peer,
                                   reason=reason)  # fmt: skip

        self.links = LinkDirectory(self.dsn, self.settings.node, self.index, announce)
        connections.sinks.append(self.comm_sink)
        connections.sinks.append(self.links.sink)
        connections.report_handlers.append(self.on_report)
        self.links.start()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._ingest_reports(), name="persistence-reports"),
            loop.create_task(self._maintain(), name="persistence-maintenance"),
            loop.create_task(self._export_metrics(), name="persistence-metrics"),
        ]
        log.info("storage_ready", worker=self.worker, spool=str(spool),
                 replaying=not self.writer.db_up)  # fmt: skip

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.links is not None:
            await self.links.stop()
        if self.writer is not None:
            await self.writer.stop(within=self.settings.limits.drain_timeout)
            self._export()
        if self.directory is not None:
            await self.directory.close()

    # --- sinks -----------------------------------------------------------------------

    def comm_sink(self, event: CommEvent) -> None:
        if self.writer is None:
            return
        row = (
            datetime.fromtimestamp(event.ts, UTC),
            uuid.uuid4(),
            event.kind,
            event.terminal,
            None,
            event.peer,
            self.worker,
            event.detail,
        )
        self.writer.submit_nowait("comm_log", [row])

    def on_report(self, conn: TerminalConnection, event: MasterEvent) -> None:
        if not isinstance(event, Report) or conn.key is None:
            return
        frame = event.frame
        item = ((frame.a1, frame.a2), frame.afn, list(frame.units))
        try:
            self._reports.put_nowait(item)
        except asyncio.QueueFull:
            # A burst beyond the queue: the rows go address-keyed straight to the
            # writer (spooled past its bound), so nothing is dropped.
            if self.ingest is not None:
                self.ingest.store_nowait(item[0], item[1], item[2], REPORT)

    async def _ingest_reports(self) -> None:
        while True:
            terminal, afn, units = await self._reports.get()
            if self.ingest is not None:
                try:
                    await self.ingest.store(terminal, afn, units, REPORT)
                except Exception:
                    log.exception(
                        "report_ingest_failed", terminal=f"{terminal[0]}-{terminal[1]}"
                    )

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(MAINTENANCE_EVERY)
            try:
                await maintenance.run(self.dsn)
            except Exception:
                log.exception("maintenance_failed")

    async def _export_metrics(self) -> None:
        while True:
            await asyncio.sleep(METRICS_EVERY)
            self._export()

    def _export(self) -> None:
        """Push what the writer did since the last call to Prometheus."""
        writer = self.writer
        if writer is None:
            return
        now, was = writer.stats, self._exported
        for table, rows in now.rows_written.items():
            new = rows - was.rows_written.get(table, 0)
            if new:
                metrics.STORAGE_ROWS.labels(table=table).inc(new)
        for counter, field in (
            (metrics.STORAGE_SPOOLED, "rows_spooled"),
            (metrics.STORAGE_REPLAYED, "rows_replayed"),
            (metrics.STORAGE_REJECTED, "rows_rejected"),
            (metrics.STORAGE_OUTAGES, "outages"),
        ):
            new = getattr(now, field) - getattr(was, field)
            if new:
                counter.inc(new)
        self._exported = dataclasses.replace(now, rows_written=dict(now.rows_written))
        metrics.STORAGE_BUFFERED.set(writer.buffered)
        metrics.STORAGE_UP.set(1 if writer.db_up else 0)
        metrics.STORAGE_SPOOL_BYTES.set(writer.spool.size())
