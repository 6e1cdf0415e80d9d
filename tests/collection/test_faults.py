"""The database stopped and restarted while a collection window is storing readings.

Nothing may be lost or duplicated: what ends up in ``reading_daily`` is compared,
meter by meter, with what the simulators serve (read back through an inspection).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from headend.config import Settings
from headend.storage import migrate
from tests.collection.fleet import load_archive, online, profile, query
from tests.fixtures.postgres import Cluster
from tests.waiting import until

CONCENTRATORS, METERS = 4, 16


async def test_database_outage_during_collection_loses_and_duplicates_nothing(
    private_cluster: Cluster, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    dsn = private_cluster.dsn("postgres")
    await migrate.upgrade(dsn)
    prof = profile(tmp_path, latency=(0.3, 0.5))  # the window lasts several seconds
    load_archive(dsn, CONCENTRATORS, METERS, prof)
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
    settings = make_settings(
        storage=True, database_url=dsn, session={"timeout": 3.0, "retries": 0},
        collection={"catchup_on_login": False, "spread": 0, "points_per_request": 1},
    )  # fmt: skip
    async with online(settings, CONCENTRATORS, METERS, prof) as (worker, client):
        task = {"name": "daily", "kind": "daily", "fns": [161], "interval_s": 86400,
                "lookback_days": 0, "retries": 0}  # fmt: skip
        assert (await client.post("/api/v1/tasks", json=task)).status_code == 201
        await client.post("/api/v1/tasks/daily/run")
        await until(
            lambda: worker.collector is not None and bool(worker.collector._running)
        )
        await asyncio.sleep(1.5)  # part of the window is stored ...
        await asyncio.to_thread(
            private_cluster.stop, "immediate"
        )  # ... then the database goes
        await asyncio.sleep(3)
        await asyncio.to_thread(private_cluster.start)
        assert worker.collector is not None
        await until(lambda: not worker.collector._running, within=40)  # type: ignore[union-attr]
        assert worker.persistence is not None
        writer = worker.persistence.writer
        assert writer is not None
        await until(lambda: writer.db_up and writer.spool.empty(), within=30)
        await asyncio.wait_for(writer.flush(), 30)
        assert writer.stats.rows_spooled > 0  # the outage was met while storing
        # What the simulators serve, read again through an inspection (巡测).
        targets = [{"terminal": f"4403-{i:05d}", "pn": pn}
                   for i in range(1, CONCENTRATORS + 1) for pn in range(1, METERS + 1)]  # fmt: skip
        started = await client.post("/api/v1/inspections", json={
            "targets": targets, "read": {"afn": 13, "fn": 161, "day": str(day), "timeout": 5},
            "concurrency": 64})  # fmt: skip
        assert started.status_code == 202, started.text
        inspection = started.json()["id"]

        async def finished() -> bool:
            got = (await client.get(f"/api/v1/inspections/{inspection}")).json()
            return bool(got["state"] == "finished")

        await until(finished, within=60)
        report = (
            await client.get(f"/api/v1/inspections/{inspection}?limit=10000")
        ).json()
    served = {}
    for r in report["results"]:
        assert r["ok"], r
        (unit,) = r["value"]
        served[r["target"]] = round(unit["data"]["readings"][0], 4)
    stored = {
        f"{a1}-{a2:05d}/p{pn}": float(value)
        for a1, a2, pn, value in query(
            dsn,
            "SELECT t.a1, t.a2, m.pn, r.value FROM reading_daily r "
            "JOIN meter m ON m.id = r.meter_id JOIN terminal t ON t.id = m.terminal_id "
            "WHERE r.day = %s AND r.item_id = 1",
            (day,),
        )
    }
    assert (
        len(stored) == CONCENTRATORS * METERS
    )  # every meter, once (the key is unique)
    assert stored == served
