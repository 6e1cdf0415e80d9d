"""Data anomalies (数据异常) injected by the simulator's anomalies profile, found end to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from headend.config import Settings
from headend.storage import migrate
from simulators._model import fault_day
from simulators.profiles import PROFILE_DIR
from tests.collection.fleet import load_archive, online, query
from tests.waiting import until

CONCENTRATORS, METERS = 4, 12


async def test_injected_anomalies_are_detected(
    pg_dsn: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    await migrate.upgrade(pg_dsn)
    prof = PROFILE_DIR / "anomalies.toml"
    load_archive(pg_dsn, CONCENTRATORS, METERS, prof, areas=1)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    struck = fault_day(time.time())  # the 1st of this month: resets and jumps
    lookback = (today - struck).days  # back to the last day of the month before
    settings = make_settings(
        storage=True, database_url=pg_dsn, session={"timeout": 2.0, "retries": 0},
        collection={"catchup_on_login": False, "spread": 0},
    )  # fmt: skip
    async with online(settings, CONCENTRATORS, METERS, prof) as (_worker, client):
        daily = {"name": "daily", "kind": "daily", "fns": [161], "interval_s": 86400,
                 "lookback_days": lookback, "retries": 1, "retry_interval_s": 1}  # fmt: skip
        clocks = {"name": "clocks", "kind": "realtime", "fns": [2, 162],
                  "interval_s": 86400, "retries": 0}  # fmt: skip
        for spec in (daily, clocks):
            created = await client.post("/api/v1/tasks", json=spec)
            assert created.status_code == 201, created.text
            await client.post(f"/api/v1/tasks/{spec['name']}/run")

        def kinds(day: str) -> dict[str, int]:
            return dict(query(pg_dsn, "SELECT kind, count(*) FROM data_anomaly "
                                      "WHERE day = %s GROUP BY 1", (day,)))  # fmt: skip

        # Clocks are checked at read time, on today's date.
        await until(
            lambda: (
                kinds(today.isoformat()).get("terminal_clock_drift") == CONCENTRATORS
            )
        )
        assert kinds(today.isoformat())["meter_clock_drift"] == CONCENTRATORS
        # Register faults: collected back to the month before, then detected for the 1st.
        await until(
            lambda: query(pg_dsn, "SELECT count(*) FROM reading_daily WHERE day = %s",
                          (struck - timedelta(days=1),))[0][0] == CONCENTRATORS * METERS,
            within=60,
        )  # fmt: skip
        await until(lambda: query(pg_dsn, "SELECT count(*) FROM reading_daily WHERE day = %s",
                                  (struck,))[0][0] == CONCENTRATORS * METERS)  # fmt: skip
        detected = await client.post(
            "/api/v1/anomalies/detect", params={"day": str(struck)}
        )
        assert detected.status_code == 200, detected.text
        found = kinds(struck.isoformat())
        assert found.get("negative_increment") == CONCENTRATORS
        assert found.get("energy_jump") == CONCENTRATORS
        assert found.get("stalled_energy") == CONCENTRATORS
        listed = await client.get("/api/v1/anomalies", params={"day": str(struck),
                                                               "kind": "energy_jump"})  # fmt: skip
        assert listed.status_code == 200
        assert len(listed.json()) == CONCENTRATORS
