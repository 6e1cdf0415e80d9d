"""Schema migrations: rendering for each engine and edition, discovery of the files,
and upgrade/status against real PostgreSQL 15 and TimescaleDB servers."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import LiteralString

import psycopg
import pytest

from headend.storage.engine import Engine
from headend.storage.migrate import (
    SCHEMA_DIR,
    MigrationError,
    discover,
    render,
    status,
    upgrade,
)

PLAIN = Engine(150020, None, None)
APACHE = Engine(150020, "2.19.3", "apache")
COMMUNITY = Engine(150020, "2.19.3", "timescale")

# The time-series tables of 0003 (docs/storage.md is the contract for them).
TIMESERIES = {
    "reading_daily",
    "reading_monthly",
    "reading_instant",
    "reading_curve",
    "event_record",
    "comm_log",
    "command_audit",
    "collection_run",
}

TABLE = """\
CREATE TABLE reading (
    ts timestamptz NOT NULL,
    value numeric
) {{partition_by(ts)}};
{{timeseries(reading, ts, '7 days', '1 year')}}
{{if_community}}
ALTER TABLE reading SET (timescaledb.compress);
{{end}}
"""


# -- render ---------------------------------------------------------------------------


def test_render_plain_postgres_partitions_and_registers() -> None:
    sql = render(TABLE, PLAIN)
    assert ") PARTITION BY RANGE (ts);" in sql
    assert "create_hypertable" not in sql
    assert (
        "INSERT INTO timeseries_table (name, time_column, chunk_interval, retention) "
        "VALUES ('reading', 'ts', INTERVAL '7 days', INTERVAL '1 year') "
        "ON CONFLICT (name) DO NOTHING;"
    ) in sql
    assert "compress" not in sql
    assert "{{" not in sql


@pytest.mark.parametrize("edition", [APACHE, COMMUNITY], ids=["apache", "community"])
def test_render_timescaledb_makes_a_hypertable(edition: Engine) -> None:
    sql = render(TABLE, edition)
    assert "PARTITION BY" not in sql
    assert (
        "SELECT create_hypertable('reading', 'ts', "
        "chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE);"
    ) in sql
    # registered on TimescaleDB too: maintenance applies retention from this table
    assert "INSERT INTO timeseries_table" in sql
    assert "{{" not in sql


@pytest.mark.parametrize(
    ("edition", "included"),
    [(PLAIN, False), (APACHE, False), (COMMUNITY, True)],
    ids=["postgres", "apache", "community"],
)
def test_render_community_blocks_only_on_the_community_edition(
    edition: Engine, *, included: bool
) -> None:
    sql = render(TABLE, edition)
    assert ("ALTER TABLE reading SET (timescaledb.compress);" in sql) is included
    assert "if_community" not in sql
    assert "{{end}}" not in sql


def test_render_several_community_blocks_are_separate() -> None:
    text = "{{if_community}}A;{{end}}\nB;\n{{if_community}}C;{{end}}"
    assert render(text, APACHE) == "\nB;\n"
    assert render(text, COMMUNITY) == "A;\nB;\nC;"


def test_engine_labels_and_editions() -> None:
    assert PLAIN.label == "postgresql-15"
    assert APACHE.label == "timescaledb-2.19.3-apache"
    assert COMMUNITY.label == "timescaledb-2.19.3-timescale"
    assert not PLAIN.community
    assert not APACHE.community
    assert COMMUNITY.community


@pytest.mark.parametrize(
    "edition", [PLAIN, APACHE, COMMUNITY], ids=["postgres", "apache", "community"]
)
def test_every_schema_file_renders_completely(edition: Engine) -> None:
    for migration in discover():
        sql = render(migration.path.read_text(encoding="utf-8"), edition)
        code = re.sub(r"--[^\n]*", "", sql)  # comments may name the directives
        assert "{{" not in code, migration.path.name
        assert "}}" not in code, migration.path.name


def test_schema_0003_declares_each_timeseries_table_for_both_engines() -> None:
    text = (SCHEMA_DIR / "0003_timeseries.sql").read_text(encoding="utf-8")
    plain = render(text, PLAIN)
    apache = render(text, APACHE)
    partitioned = set(
        re.findall(r"CREATE TABLE (\w+) \([^;]*\) PARTITION BY RANGE", plain)
    )
    hypertables = set(re.findall(r"create_hypertable\('(\w+)'", apache))
    assert partitioned == TIMESERIES
    assert hypertables == TIMESERIES


# -- discover -------------------------------------------------------------------------


def test_discover_orders_by_version_and_ignores_other_files(tmp_path: Path) -> None:
    for name in ("0010_later.sql", "0002_second.sql", "0001_first.sql"):
        (tmp_path / name).write_text("SELECT 1;")
    (tmp_path / "README.md").write_text("not a migration")
    found = discover(tmp_path)
    assert [(m.version, m.name) for m in found] == [
        (1, "first"),
        (2, "second"),
        (10, "later"),
    ]
    assert len({m.checksum for m in found}) == 1  # same content, same checksum
    assert all(len(m.checksum) == 64 for m in found)


@pytest.mark.parametrize(
    "name",
    [
        "1_first.sql",
        "0001-first.sql",
        "0001_First.sql",
        "00001_first.sql",
        "0001_.sql",
        "first.sql",
    ],
)
def test_discover_refuses_badly_named_files(tmp_path: Path, name: str) -> None:
    (tmp_path / "0001_ok.sql").write_text("SELECT 1;")
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        discover(tmp_path)


def test_discover_refuses_duplicate_versions(tmp_path: Path) -> None:
    (tmp_path / "0001_one.sql").write_text("SELECT 1;")
    (tmp_path / "0001_other.sql").write_text("SELECT 2;")
    with pytest.raises(MigrationError, match="share a version"):
        discover(tmp_path)


def test_discover_finds_the_project_schema() -> None:
    versions = [m.version for m in discover()]
    assert versions == sorted(versions)
    assert {1, 3} <= set(versions)


# -- upgrade and status on the real engines -------------------------------------------


async def fetch(dsn: str, query: LiteralString) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        return await (await conn.execute(query)).fetchall()


def schema_copy(tmp_path: Path, *versions: int) -> Path:
    """The project's migrations of these versions, copied to a directory of the test's."""
    directory = tmp_path / "schema"
    directory.mkdir()
    for migration in discover():
        if migration.version in versions:
            shutil.copy(migration.path, directory / migration.path.name)
    return directory


@pytest.mark.db
async def test_upgrade_applies_every_migration_once(dsn: str, engine: str) -> None:
    expected = [m.version for m in discover()]
    before = await status(dsn)
    assert [s.version for s in before] == expected
    assert all(s.applied_at is None and not s.changed for s in before)

    applied = await upgrade(dsn)
    assert [m.version for m in applied] == expected
    assert {1, 3} <= set(expected)
    assert await upgrade(dsn) == []  # idempotent

    after = await status(dsn)
    assert [s.version for s in after] == expected
    assert all(s.applied_at is not None and not s.changed for s in after)
    rows = await fetch(
        dsn, "SELECT version, engine FROM schema_migration ORDER BY version"
    )
    assert [r[0] for r in rows] == expected
    labels = {str(r[1]) for r in rows}
    if engine == "timescaledb":
        assert len(labels) == 1
        assert re.fullmatch(r"timescaledb-\d+\.\d+\.\d+-apache", labels.pop())
    else:
        assert labels == {"postgresql-15"}


@pytest.mark.db
async def test_timeseries_tables_are_hypertables_or_partitioned(
    dsn: str, engine: str
) -> None:
    await upgrade(dsn)
    registered = {
        str(r[0]) for r in await fetch(dsn, "SELECT name FROM timeseries_table")
    }
    assert registered >= TIMESERIES
    if engine == "timescaledb":
        hypertables = await fetch(
            dsn, "SELECT hypertable_name FROM timescaledb_information.hypertables"
        )
        assert {str(r[0]) for r in hypertables} == registered
        partitioned = await fetch(dsn, "SELECT count(*) FROM pg_partitioned_table")
        assert partitioned == [(0,)]
        lic = await fetch(dsn, "SELECT current_setting('timescaledb.license')")
        assert lic == [("apache",)]
    else:
        partitioned = await fetch(
            dsn,
            "SELECT c.relname FROM pg_partitioned_table p "
            "JOIN pg_class c ON c.oid = p.partrelid",
        )
        assert {str(r[0]) for r in partitioned} == registered
        extensions = await fetch(dsn, "SELECT extname FROM pg_extension")
        assert ("timescaledb",) not in extensions


@pytest.mark.db
async def test_editing_an_applied_migration_is_refused(
    dsn: str, tmp_path: Path
) -> None:
    directory = schema_copy(tmp_path, 1, 3)
    assert [m.version for m in await upgrade(dsn, directory)] == [1, 3]
    edited = directory / "0003_timeseries.sql"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n-- an afterthought\n")

    changed = {s.version: s.changed for s in await status(dsn, directory)}
    assert changed == {1: False, 3: True}
    with pytest.raises(MigrationError, match=r"0003_timeseries\.sql was edited"):
        await upgrade(dsn, directory)


@pytest.mark.db
async def test_a_new_migration_is_applied_alone(dsn: str, tmp_path: Path) -> None:
    directory = schema_copy(tmp_path, 1, 3)
    await upgrade(dsn, directory)
    (directory / "0004_extra.sql").write_text(
        "CREATE TABLE extra (id int PRIMARY KEY);"
    )
    assert [(m.version, m.name) for m in await upgrade(dsn, directory)] == [
        (4, "extra")
    ]
    assert await fetch(dsn, "SELECT count(*) FROM extra") == [(0,)]


@pytest.mark.db
async def test_a_failing_migration_leaves_nothing_behind(
    dsn: str, tmp_path: Path
) -> None:
    directory = schema_copy(tmp_path, 1)
    (directory / "0002_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\nSELECT 1 / 0;\n"
    )
    with pytest.raises(MigrationError, match=r"0002_broken\.sql: division by zero"):
        await upgrade(dsn, directory)
    recorded = await fetch(dsn, "SELECT version FROM schema_migration ORDER BY 1")
    assert recorded == [(1,)]  # 0001 committed on its own, 0002 not at all
    assert await fetch(dsn, "SELECT to_regclass('half_done') IS NULL") == [(True,)]
    # the advisory lock was released: the next migrator is not blocked
    (directory / "0002_broken.sql").write_text("CREATE TABLE half_done (id int);\n")
    assert [m.version for m in await asyncio.wait_for(upgrade(dsn, directory), 30)] == [
        2
    ]


@pytest.mark.db
async def test_concurrent_upgrades_apply_each_migration_once(dsn: str) -> None:
    first, second = await asyncio.wait_for(
        asyncio.gather(upgrade(dsn), upgrade(dsn)), 60
    )
    versions = [m.version for m in discover()]
    # one migrator did the work, the other waited on the lock and found nothing to do
    assert sorted(m.version for m in [*first, *second]) == versions
    assert [] in (first, second)
    rows = await fetch(
        dsn, "SELECT version, count(*) FROM schema_migration GROUP BY 1 ORDER BY 1"
    )
    assert rows == [(v, 1) for v in versions]
