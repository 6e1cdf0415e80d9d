"""What the database can do, detected at runtime.

Plain PostgreSQL or TimescaleDB, and which TimescaleDB edition: the Apache-licensed
build has hypertables but not compression, continuous aggregates or policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True, slots=True)
class Engine:
    """The server behind a connection."""

    server_version: int  # e.g. 150019
    timescaledb: str | None  # extension version when installed and loaded
    license: str | None  # "apache" or "timescale" (community), when TimescaleDB

    @property
    def community(self) -> bool:
        """Compression, continuous aggregates and policies are available."""
        return self.timescaledb is not None and self.license == "timescale"

    @property
    def label(self) -> str:
        if self.timescaledb is None:
            return f"postgresql-{self.server_version // 10000}"
        return f"timescaledb-{self.timescaledb}-{self.license}"


async def detect(conn: psycopg.AsyncConnection[Any]) -> Engine:
    """Probe the server; creates the timescaledb extension when it can be loaded."""
    row = await (await conn.execute("SHOW server_version_num")).fetchone()
    version = int(str(row[0])) if row else 0
    available = await (
        await conn.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
        )
    ).fetchone()
    preloaded = await (await conn.execute("SHOW shared_preload_libraries")).fetchone()
    if available is None or "timescaledb" not in str(preloaded[0] if preloaded else ""):
        return Engine(version, None, None)
    await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    ext = await (
        await conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        )
    ).fetchone()
    lic = await (
        await conn.execute("SELECT current_setting('timescaledb.license', true)")
    ).fetchone()
    return Engine(
        version,
        str(ext[0]) if ext else None,
        str(lic[0]) if lic and lic[0] else "apache",
    )
