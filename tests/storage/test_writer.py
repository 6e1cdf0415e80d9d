"""The write path on both engines: COPY → staging → idempotent upsert, and the spool
when the database goes away (stopped mid-ingest, and a head-end killed with a
non-empty spool)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from headend.ingest import SCHEDULED, Ingest
from headend.storage import maintenance, migrate
from headend.storage.directory import Directory
from headend.storage.spool import Spool, decode_rows, encode_rows
from headend.storage.tables import COMM_LOG, READING_DAILY, TABLES
from headend.storage.writer import Writer
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0d import DailyActiveReading
from tests.fixtures.postgres import Cluster

DAY = date.today() - timedelta(days=1)
NOW = datetime.now(UTC).replace(microsecond=0)


def reading(
    meter: int, item: int, value: float | None, received: datetime = NOW
) -> tuple[Any, ...]:
    tariffs = (None,) * 4 if value is None else (value / 4,) * 4
    return (meter, item, DAY, value, *tariffs, NOW, received, meter // 10, 1)


async def prepare(dsn: str) -> None:
    await migrate.upgrade(dsn)
    await maintenance.run(dsn)


def table(
    dsn: str,
    sql: str = "SELECT meter_id, item_id, value FROM reading_daily ORDER BY 1, 2",
) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


async def test_rows_arrive_once_however_often_written(dsn: str, tmp_path: Path) -> None:
    await prepare(dsn)
    writer = Writer(dsn, tmp_path / "spool", connections=2, batch_rows=1000)
    await writer.start()
    rows = [
        reading(m, i, m * 10 + i + 0.1234) for m in range(1, 501) for i in (1, 2, 3)
    ]
    await writer.submit("reading_daily", rows)
    await writer.submit("reading_daily", rows[:700])  # a re-collection of some of them
    await writer.flush()
    await writer.submit("reading_daily", rows)  # and a replay of all
    await writer.stop()
    stored = table(dsn)
    assert len(stored) == 1500
    assert stored[0][:2] == (1, 1)
    assert str(stored[0][2]) == "11.1234"  # numeric(14,4), exact
    assert writer.stats.rows_spooled == 0


async def test_conflict_rules(dsn: str, tmp_path: Path) -> None:
    await prepare(dsn)
    writer = Writer(dsn, tmp_path / "spool")
    await writer.start()
    later = NOW + timedelta(hours=1)
    await writer.submit(
        "reading_daily",
        [
            reading(1, 1, 10.0),
            reading(2, 1, 20.0),
            reading(3, 1, None),
            reading(5, 1, 8.0),
        ],
    )
    await writer.flush()
    await writer.submit(
        "reading_daily",
        [
            reading(1, 1, 11.0, later),  # newer and different: wins
            reading(2, 1, None, later),  # absent never erases a known value
            reading(3, 1, 30.0, later),  # a value where there was none
            reading(4, 1, 1.0),
            reading(4, 1, 2.0),  # same key twice in one batch: last wins
            # the same total with a corrected tariff split: the tariffs change
            (5, 1, DAY, 8.0, 1.0, 2.0, 3.0, 2.0, NOW, later, 0, 1),
        ],
    )
    await writer.flush()
    await writer.submit(
        "reading_daily", [reading(1, 1, 99.0, NOW - timedelta(hours=1))]
    )  # older: ignored
    await writer.stop()
    assert [(m, float(v) if v is not None else None) for m, _, v in table(dsn)] == [
        (1, 11.0),
        (2, 20.0),
        (3, 30.0),
        (4, 2.0),
        (5, 8.0),
    ]
    split = table(dsn, "SELECT tariff1, tariff2, tariff3, tariff4 FROM reading_daily"
                       " WHERE meter_id = 5")  # fmt: skip
    assert [tuple(map(float, r)) for r in split] == [(1.0, 2.0, 3.0, 2.0)]


def test_spool_codec_round_trips_every_table(tmp_path: Path) -> None:
    import uuid

    samples = {
        "reading_daily": reading(1, 1, 1.5),
        "comm_log": (
            NOW,
            uuid.uuid4(),
            "login",
            "4403-00001",
            None,
            "127.0.0.1:1",
            "w0",
            {"a": [1, 2]},
        ),
        "event_record": (1, 1, 14, NOW, 3, b"\x01\x02", {"x": 1}, NOW),
    }
    for name, row in samples.items():
        spec, rows = decode_rows(encode_rows(TABLES[name], [row]))
        assert spec.name == name
        assert rows == [row]


def test_spool_survives_a_torn_tail_and_keeps_damage_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(READING_DAILY, [reading(1, 1, 1.0)])
    spool.append(READING_DAILY, [reading(2, 1, 2.0)])
    spool.close()
    [segment] = spool.segments()
    data = segment.read_bytes()
    segment.write_bytes(data + data[:10])  # a crash while appending a third record
    assert [rows[0][0] for _, rows in spool.records(segment)] == [1, 2]
    damaged = bytearray(data)
    damaged[-3] ^= 0xFF  # the second record's payload
    segment.write_bytes(bytes(damaged))
    assert [rows[0][0] for _, rows in spool.records(segment)] == [1]
    assert segment.with_suffix(".corrupt").exists()


async def test_database_stopped_and_restarted_during_ingest(
    private_cluster: Cluster, tmp_path: Path
) -> None:
    dsn = private_cluster.dsn("postgres")
    await prepare(dsn)
    writer = Writer(dsn, tmp_path / "spool", batch_rows=500, flush_interval=0.05,
                    retry_min=0.2, retry_max=1.0)  # fmt: skip
    await writer.start()
    expected = {}
    for batch in range(40):
        rows = [reading(batch * 100 + k, 1, batch * 1000.0 + k) for k in range(100)]
        expected.update({r[0]: r[3] for r in rows})
        await writer.submit("reading_daily", rows)
        if batch == 10:
            await asyncio.to_thread(private_cluster.stop, "immediate")
        if batch == 30:
            await asyncio.to_thread(private_cluster.start)
        await asyncio.sleep(0.02)
    await asyncio.wait_for(writer.flush(), 30)
    for _ in range(200):  # the recovery task replays the spool
        if writer.db_up and writer.spool.empty():
            break
        await asyncio.sleep(0.05)
    await writer.stop()
    assert writer.stats.rows_spooled > 0, "the outage was noticed and batches spooled"
    assert writer.stats.rows_replayed == writer.stats.rows_spooled
    stored = {m: float(v) for m, _, v in table(dsn)}
    assert stored == expected  # nothing lost, nothing duplicated, values intact


async def test_killed_head_end_restarts_with_its_spool(
    private_cluster: Cluster, tmp_path: Path
) -> None:
    dsn = private_cluster.dsn("postgres")
    await prepare(dsn)
    spool = tmp_path / "spool"
    # A head-end process that spools (its database is down) and is killed with SIGKILL.
    await asyncio.to_thread(private_cluster.stop, "immediate")
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from datetime import date, datetime, UTC
        from pathlib import Path
        from headend.storage.writer import Writer
        async def main():
            w = Writer({dsn!r}, Path({str(spool)!r}), batch_rows=100, flush_interval=0.01)
            await w.start()
            now = datetime.fromisoformat({NOW.isoformat()!r})
            rows = [(m, 1, date.fromisoformat({DAY.isoformat()!r}), m + 0.5, None, None, None, None, now, now, 1, 1) for m in range(1, 2001)]
            await w.submit("reading_daily", rows)
            await w.flush()
            print("spooled", w.stats.rows_spooled, flush=True)
            await asyncio.sleep(3600)
        asyncio.run(main())
        """
    )
    proc = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    line = ""
    for _ in range(50):  # log lines come first
        line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
        if line.startswith("spooled") or not line:
            break
    assert line.strip() == "spooled 2000"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()  # type: ignore[union-attr]
    assert not Spool(spool).empty()
    await asyncio.to_thread(private_cluster.start)
    writer = Writer(dsn, spool, retry_min=0.1)
    # A spool from the last run is replayed before anything else.
    assert not writer.db_up
    await writer.start()
    for _ in range(200):
        if len(await asyncio.to_thread(table, dsn)) >= 2000:
            break
        await asyncio.sleep(0.05)
    await writer.stop()
    stored = table(dsn)
    assert len(stored) == 2000
    assert {float(v) for _, _, v in stored} == {m + 0.5 for m in range(1, 2001)}


async def test_submit_nowait_spools_past_the_bound(pg_dsn: str, tmp_path: Path) -> None:
    await prepare(pg_dsn)
    writer = Writer(pg_dsn, tmp_path / "spool", max_buffered_rows=10)
    for _ in range(15):
        row: tuple[Any, ...] = (
            NOW,
            uuid.uuid4(),
            "login",
            "4403-00001",
            None,
            "p",
            "w",
            {},
        )
        writer.submit_nowait(COMM_LOG.name, [row])
    assert writer.buffered == 10
    assert writer.stats.rows_spooled == 5
    await writer.start()  # nothing is waiting on it; the recovery task replays
    for _ in range(100):
        if writer.db_up:
            break
        await asyncio.sleep(0.05)
    await writer.stop()
    assert table(pg_dsn, "SELECT count(*) FROM comm_log") == [(15,)]


async def test_readings_outlive_an_unreachable_archive(
    private_cluster: Cluster, tmp_path: Path
) -> None:
    """Ids of a new terminal cannot be resolved while the database is down: its
    readings travel address-keyed through the spool and are resolved on return."""
    dsn = private_cluster.dsn("postgres")
    await prepare(dsn)
    writer = Writer(dsn, tmp_path / "spool", flush_interval=0.05, retry_min=0.2,
                    retry_max=1.0)  # fmt: skip
    await writer.start()
    directory = Directory(dsn)
    ingest = Ingest(writer, directory)

    def units(day: date, base: float) -> list[DataUnit]:
        return [
            DataUnit(pn, 161, DailyActiveReading(day, None, 4, [base + pn, 1.0, 2.0, 3.0, 4.0]))
            for pn in (1, 2, 3)
        ]  # fmt: skip

    first, second = date(2026, 11, 1), date(2026, 11, 2)
    assert (
        await ingest.store(("4403", 1), AFN.CLASS2, units(first, 100), SCHEDULED) == 3
    )
    await writer.flush()
    await asyncio.to_thread(private_cluster.stop, "immediate")
    # A known terminal (ids cached) and one never seen before (ids unknown).
    assert (
        await ingest.store(("4403", 1), AFN.CLASS2, units(second, 200), SCHEDULED) == 3
    )
    assert (
        await ingest.store(("4403", 2), AFN.CLASS2, units(second, 300), SCHEDULED) == 3
    )
    await writer.flush()
    assert writer.stats.rows_spooled == 6
    await asyncio.to_thread(private_cluster.start)
    for _ in range(200):
        if writer.db_up and writer.spool.empty():
            break
        await asyncio.sleep(0.05)
    await writer.stop()
    await directory.close()
    stored = table(
        dsn,
        "SELECT t.a2, m.pn, m.status, r.day, r.value::float, r.tariff4::float"
        " FROM reading_daily r JOIN meter m ON m.id = r.meter_id"
        " JOIN terminal t ON t.id = r.terminal_id ORDER BY 1, 4, 2",
    )
    assert stored == [
        *[(1, pn, "discovered", first, 100.0 + pn, 4.0) for pn in (1, 2, 3)],
        *[(1, pn, "discovered", second, 200.0 + pn, 4.0) for pn in (1, 2, 3)],
        *[(2, pn, "discovered", second, 300.0 + pn, 4.0) for pn in (1, 2, 3)],
    ]
