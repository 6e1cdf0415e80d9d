"""Collection end to end: a worker with storage, the simulator fleet, tasks run by API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from headend.config import Settings
from headend.storage import migrate
from tests.collection.fleet import Fleet, load_archive, online, profile, query
from tests.headend.conftest import api, running
from tests.waiting import until

CONCENTRATORS, METERS = 6, 20
DAILY_TASK: dict[str, Any] = {
    "name": "daily-f161",
    "kind": "daily",
    "fns": [161],
    "interval_s": 86400,
    "lookback_days": 1,
    "retries": 5,
    "retry_interval_s": 1,
}


def settings_for(
    make_settings: Callable[..., Settings], dsn: str, **collection: Any
) -> Settings:
    return make_settings(
        storage=True,
        database_url=dsn,
        session={"timeout": 2.0, "retries": 0},
        collection={
            "catchup_on_login": False,
            "spread": 0.2,
            "kpi_interval": 0.5,
            **collection,
        },
    )


def yesterday() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)


def stored(dsn: str, day: date) -> int:
    return int(
        query(
            dsn,
            "SELECT count(*) FROM reading_daily WHERE item_id = 1 AND day = %s",
            (day,),
        )[0][0]
    )


async def test_daily_collection_collects_every_meter_with_reads_alongside(
    pg_dsn: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    await migrate.upgrade(pg_dsn)
    # Slower answers and 4 points a request: the window lasts a few seconds.
    prof = profile(tmp_path, latency=(0.2, 0.3))
    load_archive(pg_dsn, CONCENTRATORS, METERS, prof)
    settings = settings_for(make_settings, pg_dsn, points_per_request=4)
    async with online(settings, CONCENTRATORS, METERS, prof) as (worker, client):
        created = await client.post("/api/v1/tasks", json=DAILY_TASK)
        assert created.status_code == 201, created.text
        task = created.json()
        assert (await client.post("/api/v1/tasks", json=DAILY_TASK)).status_code == 409
        run = await client.post(f"/api/v1/tasks/{task['id']}/run")
        assert run.status_code == 200, run.text
        collector = worker.collector
        assert collector is not None
        await until(lambda: bool(collector._running))
        # An on-demand read (召测) and an inspection (巡测) while the window runs:
        # they overtake the window's queued requests (on-demand priority).
        read = await client.post(
            "/api/v1/reads",
            json={"terminal": "4403-00002", "pn": 3, "afn": 12, "fn": 129},
        )
        assert read.status_code == 200, read.text
        assert collector._running  # answered while the window still runs
        assert read.json()["ok"]
        assert read.json()["stored"] == 1
        started = await client.post(
            "/api/v1/inspections",
            json={
                "targets": [{"terminal": f"4403-{i:05d}", "pn": 1}
                            for i in range(1, CONCENTRATORS + 1)]
                + [{"terminal": "4403-09999", "pn": 1}],
                "read": {"afn": 12, "fn": 129, "timeout": 2},
            },
        )  # fmt: skip
        assert started.status_code == 202, started.text
        inspection_id = started.json()["id"]

        async def finished() -> bool:
            got = (await client.get(f"/api/v1/inspections/{inspection_id}")).json()
            return bool(got["state"] == "finished")

        await until(finished)
        report = (await client.get(f"/api/v1/inspections/{inspection_id}")).json()
        assert (report["total"], report["done"], report["ok"]) == (7, 7, 6)
        errors = {r["target"]: r["error"] for r in report["results"] if not r["ok"]}
        assert errors == {"4403-09999/p1": "offline"}

        # Every meter's daily frozen reading, yesterday and the day before.
        day = yesterday()
        await until(lambda: stored(pg_dsn, day) == CONCENTRATORS * METERS)
        await until(
            lambda: stored(pg_dsn, day - timedelta(days=1)) == CONCENTRATORS * METERS
        )
        kpi = (await client.get(f"/api/v1/kpi/tasks/{task['id']}")).json()
        assert kpi == [
            {"scope": "all", "expected": 120, "collected": 120, "rate": 1.0,
             "task": "daily-f161", "period": day.isoformat()}
        ]  # fmt: skip
        by_area = (await client.get(f"/api/v1/kpi/tasks/{task['id']}?by=area")).json()
        assert [(r["area"], r["expected"], r["rate"]) for r in by_area] == [
            ("A0", 60, 1.0), ("A1", 60, 1.0),
        ]  # fmt: skip
        rate = (await client.get("/api/v1/kpi/online")).json()
        assert rate == {"active": CONCENTRATORS, "online": CONCENTRATORS, "rate": 1.0}
        # The same as metrics (worker 0 exports them every kpi_interval).
        text = ""

        async def exported() -> bool:
            nonlocal text
            text = (await client.get("/metrics")).text
            return 'headend_collection_success_ratio{task="daily-f161"} 1.0' in text

        await until(exported, within=5)
        assert "headend_terminal_online_ratio 1.0" in text
    # Every terminal has its window recorded, with what it was asked and gave.
    runs = query(
        pg_dsn,
        "SELECT sum(expected), sum(received), count(*) FILTER (WHERE result = 'ok') "
        "FROM collection_run WHERE detail->>'phase' = 'window'",
    )
    assert runs == [
        (CONCENTRATORS * METERS * 2, CONCENTRATORS * METERS * 2, CONCENTRATORS)
    ]
    # Energy only grows from one day to the next, per meter.
    assert query(
        pg_dsn,
        "SELECT count(*) FROM reading_daily a JOIN reading_daily b USING (meter_id, item_id) "
        "WHERE a.day = %s AND b.day = %s AND b.value < a.value",
        (day - timedelta(days=1), day),
    ) == [(0,)]


async def test_recollection_fills_the_gaps_of_a_lossy_network(
    pg_dsn: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    await migrate.upgrade(pg_dsn)
    prof = profile(tmp_path, loss=0.4)  # 40 % of requests lost on the way
    load_archive(pg_dsn, CONCENTRATORS, METERS, prof)
    settings = settings_for(make_settings, pg_dsn, points_per_request=4)
    async with online(settings, CONCENTRATORS, METERS, prof) as (_worker, client):
        task = (
            await client.post("/api/v1/tasks", json={**DAILY_TASK, "lookback_days": 0,
                                                     "retries": 10})
        ).json()  # fmt: skip
        await client.post(f"/api/v1/tasks/{task['id']}/run")
        day = yesterday()
        await until(lambda: stored(pg_dsn, day) == CONCENTRATORS * METERS, within=60)
    phases = dict(
        query(
            pg_dsn,
            "SELECT detail->>'phase', sum(received) FROM collection_run GROUP BY 1",
        )
    )
    assert phases["window"] < CONCENTRATORS * METERS  # the loss left gaps ...
    assert phases["recollect"] > 0  # ... and re-collection (补采) filled them


async def test_a_terminal_that_comes_back_is_caught_up(
    pg_dsn: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    await migrate.upgrade(pg_dsn)
    prof = profile(tmp_path)
    load_archive(pg_dsn, CONCENTRATORS, METERS, prof)
    settings = settings_for(
        make_settings, pg_dsn, catchup_on_login=True, catchup_delay=0.5
    )
    async with running(settings) as worker, api(worker) as client:
        task = (
            await client.post("/api/v1/tasks", json={**DAILY_TASK, "lookback_days": 0})
        ).json()
        await until(lambda: bool(worker.collector and worker.collector._tasks))
        # Nobody is online: the window finds nothing to do.
        await client.post(f"/api/v1/tasks/{task['id']}/run")
        await asyncio.sleep(3)
        assert stored(pg_dsn, yesterday()) == 0
        async with Fleet(worker.port, CONCENTRATORS, METERS, prof):
            await until(lambda: stored(pg_dsn, yesterday()) == CONCENTRATORS * METERS)
    phases = {
        r[0] for r in query(pg_dsn, "SELECT detail->>'phase' FROM collection_run")
    }
    assert phases == {"catchup"}


async def test_curve_task_stores_every_point_of_the_day(
    pg_dsn: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    await migrate.upgrade(pg_dsn)
    prof = profile(tmp_path)
    load_archive(pg_dsn, 2, 5, prof)
    async with online(settings_for(make_settings, pg_dsn), 2, 5, prof) as (
        _worker,
        client,
    ):
        task = {"name": "curves", "kind": "curve", "fns": [81, 101], "interval_s": 3600,
                "lookback_days": 0, "retries": 2, "retry_interval_s": 1}  # fmt: skip
        created = await client.post("/api/v1/tasks", json=task)
        assert created.status_code == 201, created.text
        refused = await client.post(
            "/api/v1/tasks", json={**task, "name": "x", "fns": [161]}
        )
        assert refused.status_code == 422
        await client.post("/api/v1/tasks/curves/run")
        day = yesterday()

        def points() -> list[tuple[Any, ...]]:
            return query(
                pg_dsn,
                "SELECT item_id, count(*), count(DISTINCT meter_id), min(ts), max(ts), "
                "min(density_min) FROM reading_curve GROUP BY 1 ORDER BY 1",
            )

        await until(lambda: [r[1] for r in points()] == [10 * 96, 10 * 96])
    tz = ZoneInfo("Asia/Shanghai")
    start = datetime.combine(day, datetime.min.time(), tz)
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in points()] == [
        (1, 10, start, start + timedelta(minutes=15 * 95), 15),  # F101 readings (示值)
        (30, 10, start, start + timedelta(minutes=15 * 95), 15),  # F81 active power
    ]


async def test_realtime_task_reads_645_identifiers_through_forwarding(
    pg_dsn: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    await migrate.upgrade(pg_dsn)
    prof = profile(tmp_path)
    load_archive(pg_dsn, 2, 3, prof)
    async with online(settings_for(make_settings, pg_dsn), 2, 3, prof) as (
        _worker,
        client,
    ):
        task = {"name": "meters-645", "kind": "realtime", "dis": ["0001FF00"],
                "fns": [2], "interval_s": 3600}  # fmt: skip
        created = await client.post("/api/v1/tasks", json=task)
        assert created.status_code == 201, created.text
        await client.post("/api/v1/tasks/meters-645/run")

        def stored() -> list[tuple[Any, ...]]:
            return query(
                pg_dsn,
                "SELECT count(*), count(tariff4), min(value) > 0, min(source) "
                "FROM reading_instant WHERE item_id = 1",
            )

        await until(lambda: stored()[0][0] == 6)
    # Every meter's forward active block (total + 4 tariffs), read by the task.
    assert stored() == [(6, 6, True, 1)]
    runs = query(pg_dsn, "SELECT sum(expected), sum(received) FROM collection_run")
    assert runs == [(2 * (1 + 3), 2 * (1 + 3))]  # F2 once + one forward per meter
