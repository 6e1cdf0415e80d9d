"""The head-end with storage: the communication log, active reports and ingest land in
the database (both engines)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from headend.config import Settings
from headend.ingest import SCHEDULED, Ingest
from headend.storage import migrate
from headend.storage.directory import Directory
from headend.storage.writer import Writer
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units._afn0c_meter import ActiveReading
from protocols.gdw1376.units.afn0d import DailyActiveReading
from tests.headend.conftest import running
from tests.headend.terminals import TestTerminal
from tests.waiting import until


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


async def test_comm_log_and_reports_are_stored(
    dsn: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(storage=True, database_url=dsn)
    async with running(settings) as worker:
        term = await TestTerminal.connect(worker.port, 7)
        await term.login()
        reading = ActiveReading(
            datetime(2024, 5, 1, 12, 30), 4, [1234.5678, 100.0, 200.0, 300.0, 634.5678]
        )
        term.session.report(AFN.CLASS1, [DataUnit(1, 129, reading)])
        term.flush()
        await until(lambda: len(query(dsn, "SELECT 1 FROM reading_instant")) == 1)
        term.close()
        await until(lambda: worker.connections.find((0x4403, 7)) is None)
    kinds = [
        r[0]
        for r in query(
            dsn, "SELECT kind FROM comm_log WHERE terminal = '4403-00007' ORDER BY ts"
        )
    ]
    assert kinds == ["login", "offline"]
    stored = query(
        dsn,
        "SELECT item_id, value, tariff1, tariff2, tariff3, tariff4, ts, source FROM reading_instant",
    )
    assert [tuple(map(str, r[:6])) for r in stored] == [
        ("1", "1234.5678", "100.0000", "200.0000", "300.0000", "634.5678"),
    ]
    assert stored[0][6] == datetime(
        2024, 5, 1, 4, 30, tzinfo=UTC
    )  # 12:30 in Asia/Shanghai
    assert stored[0][7] == 4  # a terminal report
    # The terminal and meter the archive lacked are there, flagged.
    assert query(dsn, "SELECT a1, a2, status FROM terminal") == [
        ("4403", 7, "discovered")
    ]
    assert query(dsn, "SELECT pn, status FROM meter") == [(1, "discovered")]


async def test_ingest_daily_frozen(dsn: str, tmp_path) -> None:
    await migrate.upgrade(dsn)
    writer = Writer(dsn, tmp_path / "spool")
    await writer.start()
    directory = Directory(dsn)
    ingest = Ingest(writer, directory)
    units = [
        DataUnit(
            pn,
            161,
            DailyActiveReading(
                date(2024, 5, 1),
                datetime(2024, 5, 2, 0, 5),
                4,
                [1000.0 + pn, 250.0, 250.0, 250.0, 250.0 + pn],
            ),
        )
        for pn in range(1, 11)
    ] + [
        DataUnit(11, 161, DailyActiveReading(None, None, 0, [None]))
    ]  # no day: not storable
    assert await ingest.store(("4403", 9), AFN.CLASS2, units, SCHEDULED) == 10
    await ingest.store(("4403", 9), AFN.CLASS2, units, SCHEDULED)  # collected twice
    await writer.stop()
    await directory.close()
    rows = query(
        dsn,
        "SELECT count(*), count(DISTINCT meter_id), min(day), max(day) FROM reading_daily",
    )
    assert rows == [(10, 10, date(2024, 5, 1), date(2024, 5, 1))]
    total = query(
        dsn,
        "SELECT value, tariff4 FROM reading_daily r JOIN meter m ON m.id = r.meter_id WHERE m.pn = 3 AND item_id = 1",
    )
    assert [tuple(map(str, r)) for r in total] == [("1003.0000", "253.0000")]
