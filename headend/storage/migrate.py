"""Versioned, forward-only schema migrations (``schema/NNNN_name.sql``).

``headend db upgrade`` applies the files not yet applied, in order, each in its own
transaction, under an advisory lock (several workers may start at once). Applied
files are recorded with a checksum; editing an applied file is an error, not a silent
re-run: a change is a new file.

Time-series tables are declared once and created for the engine found at runtime.
Two directives inside the SQL do it:

* ``{{partition_by(col)}}`` at the end of a ``CREATE TABLE``: ``PARTITION BY RANGE
  (col)`` on plain PostgreSQL, nothing on TimescaleDB;
* ``{{timeseries(table, col, 'chunk', 'retention')}}`` after it: ``create_hypertable``
  on TimescaleDB; on plain PostgreSQL the table gets monthly partitions, created ahead
  of time by :mod:`headend.storage.maintenance`, which also applies the retention.

``{{if_community}} ... {{end}}`` wraps statements that need the TimescaleDB community
edition (compression, continuous aggregates, policies); they are left out on the
Apache-licensed edition and on plain PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import psycopg
import structlog
from psycopg import sql

from headend.storage.engine import Engine, detect

log = structlog.get_logger("headend.migrate")

SCHEMA_DIR: Final = Path(__file__).resolve().parents[2] / "schema"
_LOCK_ID: Final = 0x4845_4144  # "HEAD": one migrator at a time per database
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_PARTITION = re.compile(r"\{\{partition_by\((\w+)\)\}\}")
_TIMESERIES = re.compile(
    r"\{\{timeseries\((\w+),\s*(\w+),\s*'([^']+)',\s*'([^']+)'\)\}\}"
)
_COMMUNITY = re.compile(r"\{\{if_community\}\}(.*?)\{\{end\}\}", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Migration:
    """A migration file."""

    version: int
    name: str
    path: Path
    checksum: str


@dataclass(frozen=True, slots=True)
class Status:
    """A migration file and whether it was applied."""

    version: int
    name: str
    applied_at: datetime | None
    changed: bool  # applied, but the file differs from what was applied


class MigrationError(Exception):
    """A migration cannot be applied (or an applied one was edited)."""


def discover(directory: Path = SCHEMA_DIR) -> list[Migration]:
    out = []
    for path in sorted(directory.glob("*.sql")):
        found = _NAME.match(path.name)
        if not found:
            raise MigrationError(f"{path.name}: migration files are NNNN_name.sql")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        out.append(Migration(int(found[1]), found[2], path, digest))
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return out


def render(text: str, engine: Engine) -> str:
    """The SQL of a migration for this engine (see the module docstring)."""
    ts = engine.timescaledb

    def partition(m: re.Match[str]) -> str:
        return "" if ts else f"PARTITION BY RANGE ({m[1]})"

    def timeseries(m: re.Match[str]) -> str:
        table, column, chunk, retention = m[1], m[2], m[3], m[4]
        # Names come from our own schema files, not from input.
        register = (
            "INSERT INTO timeseries_table (name, time_column, chunk_interval, retention) "  # noqa: S608
            f"VALUES ('{table}', '{column}', INTERVAL '{chunk}', INTERVAL '{retention}') "
            "ON CONFLICT (name) DO NOTHING;"
        )
        if ts:
            return (
                f"SELECT create_hypertable('{table}', '{column}', "
                f"chunk_time_interval => INTERVAL '{chunk}', if_not_exists => TRUE);\n"
                + register
            )
        # A default partition from the start: no row ever fails for want of a
        # partition, even before the maintenance job has made the monthly ones.
        return (
            register + f"\nCREATE TABLE {table}_default PARTITION OF {table} DEFAULT;"
        )

    text = _PARTITION.sub(partition, text)
    text = _TIMESERIES.sub(timeseries, text)
    return _COMMUNITY.sub(lambda m: m[1] if engine.community else "", text)


async def _ensure_bookkeeping(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migration (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            engine     text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


async def status(dsn: str, directory: Path = SCHEMA_DIR) -> list[Status]:
    """Every migration file and whether (and when) it was applied."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            await _ensure_bookkeeping(conn)
        rows = await (
            await conn.execute(
                "SELECT version, checksum, applied_at FROM schema_migration"
            )
        ).fetchall()
    applied = {int(r[0]): (str(r[1]), r[2]) for r in rows}
    out = []
    for m in discover(directory):
        checksum, at = applied.get(m.version, (None, None))
        out.append(
            Status(
                m.version, m.name, at, checksum is not None and checksum != m.checksum
            )
        )
    return out


async def upgrade(dsn: str, directory: Path = SCHEMA_DIR) -> list[Migration]:
    """Apply the pending migrations; returns those applied now."""
    done: list[Migration] = []
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        # A session lock: each migration commits on its own, and a second migrator
        # (another worker starting) waits here, then finds nothing left to do. Taken
        # first: even CREATE ... IF NOT EXISTS races with itself.
        await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            engine = await detect(conn)
            await _ensure_bookkeeping(conn)
            rows = await (
                await conn.execute("SELECT version, checksum FROM schema_migration")
            ).fetchall()
            applied = {int(r[0]): str(r[1]) for r in rows}
            for m in discover(directory):
                if m.version in applied:
                    if applied[m.version] != m.checksum:
                        raise MigrationError(
                            f"{m.path.name} was edited after it was applied; "
                            "add a new migration instead"
                        )
                    continue
                body = render(m.path.read_text(encoding="utf-8"), engine)
                try:
                    async with conn.transaction():
                        await conn.execute(sql.SQL(body))
                        await conn.execute(
                            "INSERT INTO schema_migration (version, name, checksum, engine) "
                            "VALUES (%s, %s, %s, %s)",
                            (m.version, m.name, m.checksum, engine.label),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"{m.path.name}: {exc}") from exc
                log.info("migration_applied", version=m.version, name=m.name,
                         engine=engine.label)  # fmt: skip
                done.append(m)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return done
