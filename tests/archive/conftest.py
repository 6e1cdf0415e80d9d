"""Fixtures of the archive tests: a migrated database and the fixture files.

The files under ``data/`` are written as a marketing system exports them: GBK
(regions, areas, customers, terminals) and UTF-8 with a BOM (tariffs, sims, meters),
CRLF line ends, the headers of ``config/archive-mapping.toml``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from headend.archive.csvio import import_csv
from headend.archive.mapping import Mapping, load_mapping
from headend.archive.models import Kind
from headend.storage.migrate import upgrade

DATA = Path(__file__).parent / "data"

#: The clean archive, in dependency order.
CLEAN: list[tuple[Kind, str]] = [
    (Kind.REGIONS, "regions.csv"),
    (Kind.TARIFFS, "tariffs.csv"),
    (Kind.AREAS, "areas.csv"),
    (Kind.CUSTOMERS, "customers.csv"),
    (Kind.SIMS, "sims.csv"),
    (Kind.TERMINALS, "terminals.csv"),
    (Kind.METERS, "meters.csv"),
]

Conn = psycopg.AsyncConnection[Any]


@pytest.fixture
def archive_dsn(dsn: str) -> str:
    """A fresh database on the engine under test, migrated to the latest schema."""
    asyncio.run(upgrade(dsn))
    return dsn


@pytest.fixture
async def conn(archive_dsn: str) -> AsyncIterator[Conn]:
    async with await psycopg.AsyncConnection.connect(archive_dsn, autocommit=True) as c:
        yield c


@pytest.fixture(scope="session")
def mapping() -> Mapping:
    return load_mapping()


async def import_clean(conn: Conn, mapping: Mapping, actor: str = "loader") -> None:
    for kind, name in CLEAN:
        result = await import_csv(conn, DATA / name, kind, mapping, actor=actor)
        assert result.errors == [], (name, result.errors)
        assert result.committed


@pytest.fixture
async def clean(conn: Conn, mapping: Mapping) -> Conn:
    """The connection, with the clean fixture archive imported."""
    await import_clean(conn, mapping)
    return conn


async def scalar(conn: Conn, query: str, *params: Any) -> Any:
    row = await (await conn.execute(query, params or None)).fetchone()
    assert row is not None
    return row[0]
