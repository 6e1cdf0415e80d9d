"""Partitions ahead of time and retention (plain PostgreSQL); drop_chunks (TimescaleDB)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import psycopg

from headend.storage import maintenance, migrate


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


async def test_partitions_and_retention(dsn: str, engine: str) -> None:
    await migrate.upgrade(dsn)
    first = await maintenance.run(dsn, today=date(2026, 6, 15))
    described_engine, tables = await maintenance.describe(dsn)
    assert (described_engine.timescaledb is not None) == (engine == "timescaledb")
    now = datetime(2026, 6, 15, tzinfo=UTC)
    with psycopg.connect(dsn) as conn:
        for day in (
            date(2026, 4, 2),
            date(2026, 6, 14),
            date(1999, 1, 1),
            date(2099, 1, 1),
        ):
            conn.execute(
                "INSERT INTO reading_daily (meter_id, item_id, day, value, received_at, terminal_id, source) VALUES (1, 1, %s, 1.0, %s, 1, 1)",
                (day, now),
            )
        conn.commit()
    assert rows(dsn, "SELECT count(*) FROM reading_daily") == [(4,)]  # wild dates kept
    if engine == "postgres":
        assert "reading_daily_p202606" in first.created
        assert "reading_daily_default" not in first.created  # made by the migration
        assert (
            dict(tables)["reading_daily"] == 7
        )  # 2 back, this month, 3 ahead, default
        # Five years on: April 2026 is past the 5-year retention of reading_daily.
        later = await maintenance.run(dsn, today=date(2031, 7, 1))
        assert "reading_daily_p202604" in later.dropped
        assert later.expired_rows >= 1  # the 1999 row in the default partition
        left = {d for (d,) in rows(dsn, "SELECT day FROM reading_daily")}
        assert left == {
            date(2099, 1, 1)
        }  # June 2026 ends on the cutoff day: dropped too
    else:
        assert first.created == []  # the engine makes its chunks
        await maintenance.run(
            dsn
        )  # drop_chunks with the real clock: the 1999 chunk goes
        left = {d for (d,) in rows(dsn, "SELECT day FROM reading_daily")}
        assert date(1999, 1, 1) not in left
        assert date(2099, 1, 1) in left
