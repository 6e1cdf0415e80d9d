"""Write-path benchmark (issue 4): readings per second into reading_daily.

For each engine (plain PostgreSQL 15 and TimescaleDB, private servers started here):

* **write path**: the rows go through :class:`headend.storage.writer.Writer` — bounded
  buffer, binary COPY into the staging table, ``INSERT ... ON CONFLICT`` into
  ``reading_daily`` — until all are committed;
* **raw COPY**: the same rows, psycopg binary ``COPY`` straight into the same empty
  table, no staging, no conflict handling — the fastest a client can load them.

Both use the same number of connections and the table is emptied between runs; each
figure is the median of three runs in the same session.

Run: ``make bench-storage`` (``python -m benchmarks.storage --output docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.common import stamp, write_section
from headend.storage import maintenance, migrate
from headend.storage.tables import READING_DAILY
from headend.storage.writer import Writer
from tests.fixtures.postgres import Cluster, start_cluster

COLUMNS = READING_DAILY.columns
RAW_TYPES = [
    "int8",
    "int2",
    "date",
    *["numeric"] * 5,
    "timestamptz",
    "timestamptz",
    "int4",
    "int2",
]


def make_rows(n: int) -> list[tuple[Any, ...]]:
    day = date.today() - timedelta(days=1)
    now = datetime.now(UTC)
    read_at = now.replace(hour=0, minute=5, second=0, microsecond=0)
    rows = []
    for i in range(n):
        total = 10_000 + i * 0.0001 + (i % 5) * 0.25
        quarter = round(total / 4, 4)
        rows.append((i // 5 + 1, i % 5 + 1, day, total, quarter, quarter, quarter,
                     quarter, read_at, now, i // 500, 1))  # fmt: skip
    return rows


async def truncate(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(FLOAT_TABLE)
        await conn.execute("TRUNCATE reading_daily, bench_float")


async def write_path(
    dsn: str, rows: list[tuple[Any, ...]], connections: int, spool: Path
) -> float:
    writer = Writer(dsn, spool, connections=connections, batch_rows=20_000,
                    max_buffered_rows=200_000)  # fmt: skip
    await writer.start()
    start = time.perf_counter()
    for k in range(0, len(rows), 10_000):  # the way collection hands rows over
        await writer.submit("reading_daily", rows[k : k + 10_000])
    await writer.flush()
    elapsed = time.perf_counter() - start
    await writer.stop()
    assert writer.stats.rows_written.get("reading_daily") == len(rows), writer.stats
    return len(rows) / elapsed


async def _copy_parts(
    dsn: str, rows: list[tuple[Any, ...]], connections: int, stmt: str,
    types: list[str] | None, convert: bool,
) -> float:  # fmt: skip
    async def one(part: list[tuple[Any, ...]]) -> None:
        async with (
            await psycopg.AsyncConnection.connect(dsn) as conn,
            conn.cursor() as cur,
        ):
            async with cur.copy(stmt) as copy:
                if types:
                    copy.set_types(types)
                for r in part:
                    await copy.write_row(
                        # binary numeric takes Decimal only
                        (*r[:3], *(Decimal(repr(v)) for v in r[3:8]), *r[8:])
                        if convert
                        else r
                    )
            await conn.commit()

    start = time.perf_counter()
    size = -(-len(rows) // connections)
    await asyncio.gather(*(one(rows[k : k + size]) for k in range(0, len(rows), size)))
    return len(rows) / (time.perf_counter() - start)


_COLS = ", ".join(COLUMNS)
#: The same shape and key with float8 values: what binary COPY costs with no
#: conversion at all on the client (the floor under both raw figures).
FLOAT_TABLE = """
CREATE TABLE IF NOT EXISTS bench_float (
    meter_id bigint NOT NULL, item_id smallint NOT NULL, day date NOT NULL,
    value float8, tariff1 float8, tariff2 float8, tariff3 float8, tariff4 float8,
    read_at timestamptz, received_at timestamptz NOT NULL, terminal_id integer NOT NULL,
    source smallint NOT NULL, PRIMARY KEY (meter_id, item_id, day))
"""


async def raw_copy(dsn: str, rows: list[tuple[Any, ...]], connections: int) -> float:
    """psycopg binary COPY into reading_daily (numeric needs Decimal objects)."""
    stmt = f"COPY reading_daily ({_COLS}) FROM STDIN (FORMAT BINARY)"
    return await _copy_parts(dsn, rows, connections, stmt, RAW_TYPES, True)


async def raw_copy_text(
    dsn: str, rows: list[tuple[Any, ...]], connections: int
) -> float:
    """The same in text format, where floats go as text (no Decimal in Python)."""
    stmt = f"COPY reading_daily ({_COLS}) FROM STDIN"
    return await _copy_parts(dsn, rows, connections, stmt, None, False)


async def raw_copy_float(
    dsn: str, rows: list[tuple[Any, ...]], connections: int
) -> float:
    """Binary COPY of the rows as they are (float8) into ``bench_float``."""
    stmt = f"COPY bench_float ({_COLS}) FROM STDIN (FORMAT BINARY)"
    types = [("float8" if t == "numeric" else t) for t in RAW_TYPES]
    return await _copy_parts(dsn, rows, connections, stmt, types, False)


async def measure(dsn: str, rows: list[tuple[Any, ...]], connections: int, runs: int,
                  tmp: Path) -> dict[str, float]:  # fmt: skip
    await migrate.upgrade(dsn)
    await maintenance.run(dsn)
    results: dict[str, list[float]] = {
        "path": [], "raw": [], "raw_text": [], "raw_float": []
    }  # fmt: skip
    for run in range(runs):
        await truncate(dsn)
        results["raw"].append(await raw_copy(dsn, rows, connections))
        await truncate(dsn)
        results["raw_text"].append(await raw_copy_text(dsn, rows, connections))
        await truncate(dsn)
        results["raw_float"].append(await raw_copy_float(dsn, rows, connections))
        await truncate(dsn)
        results["path"].append(
            await write_path(dsn, rows, connections, tmp / f"spool{run}")
        )
    return {k: statistics.median(v) for k, v in results.items()}


def report(
    found: dict[str, dict[str, float]], n: int, connections: int, runs: int
) -> str:
    lines = [
        "## Storage write path (issue 4)",
        "",
        stamp("make bench-storage")
        + f" {n:,} daily frozen readings ({n // 5:,} meters × 5 registers; a reading is"
        " one row with the total and tariffs 1-4) into `reading_daily`,"
        f" {connections} connections for the write path and for each raw COPY; median of"
        f" {runs} runs per figure; private servers on this machine (fsync on).",
        "",
        "| engine | write path (staging + upsert) | raw binary COPY | raw text COPY"
        " | path ÷ best raw | raw float8 COPY (floor) | path ÷ floor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, r in found.items():
        best = max(r["raw"], r["raw_text"])
        lines.append(
            f"| {engine} | {r['path']:,.0f} /s | {r['raw']:,.0f} /s | {r['raw_text']:,.0f} /s "
            f"| {r['path'] / best * 100:.0f} % | {r['raw_float']:,.0f} /s "
            f"| {r['path'] / r['raw_float'] * 100:.0f} % |"
        )
    worst = min(r["path"] for r in found.values())
    ratio = min(r["path"] / max(r["raw"], r["raw_text"]) for r in found.values())
    lines += [
        "",
        "Raw binary COPY into a `numeric` column needs `Decimal` objects on the client; the"
        " raw text COPY sends the floats as text instead. The write path sends `float8` to"
        " the staging table and casts in the database. The float8 floor is binary COPY of"
        " the same rows, unconverted, into a table of the same shape and key with float8"
        " values: no client conversion, no numeric parsing, no partition routing.",
        "",
        f"Targets: ≥ 150,000 readings/s — slowest engine **{worst:,.0f}/s**"
        f" ({'met' if worst >= 150_000 else 'missed'}); ≥ 75 % of raw COPY — lowest"
        f" **{ratio * 100:.0f} %** ({'met' if ratio >= 0.75 else 'missed'}).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    root = Path(tempfile.mkdtemp(prefix="headend-bench-pg-"))
    started: list[Cluster] = []
    found: dict[str, dict[str, float]] = {}
    try:
        for engine in ("postgres", "timescaledb"):
            cluster = start_cluster(engine, root, started)
            found[engine] = asyncio.run(
                measure(
                    cluster.dsn("postgres"), rows, args.connections, args.runs, root
                )
            )
            print(engine, found[engine], flush=True)
    finally:
        for cluster in started:
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
    text = report(found, args.rows, args.connections, args.runs)
    print(text)
    if args.output:
        write_section(args.output, "storage", text)


if __name__ == "__main__":
    main()
