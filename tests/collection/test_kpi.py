"""Collection success rates from what is stored, for each kind of target set."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from headend.collection import kpi
from headend.collection.tasks import Task
from headend.storage import migrate
from tests.collection.fleet import load_archive, profile

DAY = date(2026, 3, 1)


async def test_success_counts_the_target_among_all_archive_terminals(
    pg_dsn: str, tmp_path: Path
) -> None:
    await migrate.upgrade(pg_dsn)
    load_archive(pg_dsn, 4, 3, profile(tmp_path))  # terminals 1..4, areas A0 A1 A0 A1
    now = datetime.now(UTC)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        # Collected: every meter of terminal 1 and one of terminal 2.
        conn.execute(
            "INSERT INTO reading_daily (meter_id, item_id, day, value, received_at, "
            "terminal_id, source) SELECT m.id, 1, %s, 1.0, %s, t.id, 1 FROM meter m "
            "JOIN terminal t ON t.id = m.terminal_id WHERE t.a2 = 1 OR (t.a2 = 2 AND m.pn = 1)",
            (DAY, now),
        )
    spec = {"name": "d", "kind": "daily", "fns": [161], "interval_s": 86400, "id": 1}

    async def rates(
        target: dict[str, object], by: str | None = None
    ) -> list[tuple[object, ...]]:
        task = Task.model_validate({**spec, "target": target})
        async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
            rows = await kpi.success(conn, task, DAY, by)
        return [(r.get("area") or r.get("terminal") or r["scope"], r["expected"],
                 r["collected"]) for r in rows]  # fmt: skip

    assert await rates({"all": True}) == [("all", 12, 4)]
    assert await rates({"all": True}, "area") == [("A0", 6, 3), ("A1", 6, 1)]
    assert await rates({"areas": ["A1"]}) == [("all", 6, 1)]
    assert await rates({"terminals": ["4403-00002", "4403-00003"]}, "terminal") == [
        ("4403-00002", 3, 1), ("4403-00003", 3, 0),
    ]  # fmt: skip
    assert await rates({"meters": [{"terminal": "4403-00002", "pn": 1}]}) == [
        ("all", 1, 1)
    ]
