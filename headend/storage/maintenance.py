"""Partitions ahead of time and retention, for every table in ``timeseries_table``.

On plain PostgreSQL each time-series table is range-partitioned by month. This job
creates the partitions from ``PAST`` months back to ``AHEAD`` months ahead plus a
DEFAULT partition (a reading with a wild meter clock must not fail the batch), drops
partitions wholly older than the table's retention and deletes expired rows from the
default partition. On TimescaleDB, chunks are created by the engine and retention is
``drop_chunks``. The head-end runs it after migrations and then daily.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import structlog
from psycopg import sql

from headend.storage.engine import Engine, detect

log = structlog.get_logger("headend.maintenance")

PAST = 2  # months of partitions behind today (re-collection rarely reaches further)
AHEAD = 3  # months ahead


@dataclass(frozen=True, slots=True)
class Report:
    """What one maintenance pass did."""

    created: list[str]
    dropped: list[str]
    expired_rows: int


def _month(d: date, offset: int) -> date:
    m = d.year * 12 + d.month - 1 + offset
    return date(m // 12, m % 12 + 1, 1)


async def run(dsn: str, today: date | None = None) -> Report:
    """Create missing partitions, drop expired ones (see the module docstring)."""
    today = today or date.today()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        engine = await detect(conn)
        rows = await (
            await conn.execute(
                "SELECT name, time_column, retention FROM timeseries_table ORDER BY name"
            )
        ).fetchall()
        created: list[str] = []
        dropped: list[str] = []
        expired = 0
        for name, column, retention in rows:
            if engine.timescaledb:
                dropped += await _drop_chunks(conn, str(name), retention)
            else:
                created += await _ensure_partitions(conn, str(name), today)
                gone, n = await _expire(conn, str(name), str(column), retention, today)
                dropped += gone
                expired += n
    if created or dropped or expired:
        log.info("maintenance", engine=engine.label, created=len(created),
                 dropped=len(dropped), expired_rows=expired)  # fmt: skip
    return Report(created, dropped, expired)


async def _partitions(conn: psycopg.AsyncConnection[Any], table: str) -> set[str]:
    rows = await (
        await conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            (table,),
        )
    ).fetchall()
    return {str(r[0]) for r in rows}


async def _ensure_partitions(
    conn: psycopg.AsyncConnection[Any], table: str, today: date
) -> list[str]:
    existing = await _partitions(conn, table)
    made = []
    default = f"{table}_default"
    if default not in existing:
        await conn.execute(
            sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(
                sql.Identifier(default), sql.Identifier(table)
            )
        )
        made.append(default)
    for offset in range(-PAST, AHEAD + 1):
        start = _month(today, offset)
        name = f"{table}_p{start:%Y%m}"
        if name in existing:
            continue
        try:
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
                ).format(
                    sql.Identifier(name),
                    sql.Identifier(table),
                    sql.Literal(start),
                    sql.Literal(_month(start, 1)),
                )
            )
        except psycopg.errors.CheckViolation:
            # Rows of that month already sit in the default partition (e.g. a clock
            # far off): leave them there rather than fail; they are still queried.
            log.warning(
                "partition_blocked_by_default_rows", table=table, partition=name
            )
            continue
        made.append(name)
    return made


async def _expire(conn: psycopg.AsyncConnection[Any], table: str, column: str,
                  retention: object, today: date) -> tuple[list[str], int]:  # fmt: skip
    cutoff_row = await (
        await conn.execute("SELECT (%s::date - %s::interval)::date", (today, retention))
    ).fetchone()
    assert cutoff_row is not None  # noqa: S101 - a SELECT of one value
    cutoff: date = cutoff_row[0]
    dropped = []
    for name in sorted(await _partitions(conn, table)):
        if not name.startswith(f"{table}_p"):
            continue
        start = date(int(name[-6:-2]), int(name[-2:]), 1)
        if _month(start, 1) <= cutoff:
            await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            dropped.append(name)
    result = await conn.execute(
        sql.SQL("DELETE FROM {} WHERE {} < {}").format(
            sql.Identifier(f"{table}_default"),
            sql.Identifier(column),
            sql.Literal(cutoff),
        )
    )
    return dropped, result.rowcount


async def _drop_chunks(
    conn: psycopg.AsyncConnection[Any], table: str, retention: object
) -> list[str]:
    rows = await (
        await conn.execute(
            "SELECT drop_chunks(%s, older_than => %s::interval)", (table, retention)
        )
    ).fetchall()
    return [str(r[0]) for r in rows]


async def describe(dsn: str) -> tuple[Engine, list[tuple[str, int]]]:
    """The engine and, per time-series table, how many partitions or chunks it has."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        engine = await detect(conn)
        names = [
            str(r[0])
            for r in await (
                await conn.execute("SELECT name FROM timeseries_table")
            ).fetchall()
        ]
        out = []
        for name in names:
            if engine.timescaledb:
                row = await (
                    await conn.execute(
                        "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = %s",
                        (name,),
                    )
                ).fetchone()
                out.append((name, int(row[0]) if row else 0))
            else:
                out.append((name, len(await _partitions(conn, name))))
    return engine, out
