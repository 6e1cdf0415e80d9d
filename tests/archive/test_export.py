"""Export writes what import reads: same mapping, same encoding; export → import is
the identity."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from headend.archive import repository
from headend.archive.csvio import CsvFormatError, export_csv, import_csv
from headend.archive.models import MODELS, ArchiveModel, Customer, Kind
from tests.archive.conftest import CLEAN, DATA, Conn

TABLES = "meter, terminal, sim_card, customer, transformer_area, tariff, region"


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def snapshot(conn: Conn) -> dict[Kind, list[ArchiveModel]]:
    return {
        kind: await repository.list_all(conn, MODELS[kind], limit=None)
        for kind, _ in CLEAN
    }


async def test_round_trip_every_kind(clean, mapping, tmp_path: Path):
    before = await snapshot(clean)
    files = {}
    for kind, _ in CLEAN:
        files[kind] = tmp_path / f"{kind}.csv"
        written = await export_csv(clean, files[kind], kind, mapping)
        assert written == len(before[kind])
    await clean.execute(f"TRUNCATE {TABLES} RESTART IDENTITY")
    for kind, _ in CLEAN:
        result = await import_csv(clean, files[kind], kind, mapping, actor="restore")
        assert result.errors == [], (kind, result.errors)
    assert await snapshot(clean) == before
    # ... and importing the export over the same data changes nothing.
    for kind, _ in CLEAN:
        result = await import_csv(clean, files[kind], kind, mapping, actor="again")
        assert result.counts is not None
        assert result.counts.unchanged == result.rows


async def test_export_format(clean, mapping, tmp_path: Path):
    path = tmp_path / "meters.csv"
    await export_csv(clean, path, Kind.METERS, mapping)
    raw = path.read_bytes()
    assert not raw.startswith(codecs.BOM_UTF8)
    lines = raw.decode("gbk").split("\r\n")
    assert (
        lines[0]
        == "终端行政区划码,终端地址,测量点号,通信地址,规约,端口号,波特率,CT变比,PT变比,用户编号,台区编号,资产编号,运行状态"
    )
    assert (
        lines[3]
        == "4403,2,1,000000000101,DL/T645-2007,2,9600,40,1,0100000003,TQ0002,3120001000101,运行"
    )
    assert (
        "4403,2,3,000000000098,DL/T645-1997,2,1200,1,1,0100000003,TQ0002,,拆除" in lines
    )
    terminals = tmp_path / "terminals.csv"
    await export_csv(clean, terminals, Kind.TERMINALS, mapping, encoding="utf-8-sig")
    text = terminals.read_bytes()
    assert text.startswith(codecs.BOM_UTF8)
    assert "Q/GDW 376.1-2009" in text.decode("utf-8-sig")
    assert "2023-06-15" in text.decode("utf-8-sig")
    # The header of the fixture and of the export are the same columns.
    fixture_header = (
        (DATA / "customers.csv").read_bytes().decode("gbk").split("\r\n")[0]
    )
    customers = tmp_path / "customers.csv"
    await export_csv(clean, customers, Kind.CUSTOMERS, mapping)
    exported_header = customers.read_bytes().decode("gbk").split("\r\n")[0]
    assert (
        exported_header.split(",") == fixture_header.split(",")[:-1]
    )  # 抄表段编号 ignored


async def test_export_refuses_text_gbk_cannot_hold(clean, mapping, tmp_path: Path):
    await repository.upsert(
        clean, Customer(account_no="0100000009", name="𠮷野家"), actor="op"
    )
    with pytest.raises(
        CsvFormatError, match="customer 0100000009: '𠮷' cannot be written in gbk"
    ):
        await export_csv(clean, tmp_path / "c.csv", Kind.CUSTOMERS, mapping)
    assert files(tmp_path) == []  # no half-written file left behind
    await export_csv(
        clean, tmp_path / "c.csv", Kind.CUSTOMERS, mapping, encoding="utf-8-sig"
    )
    result = await import_csv(
        clean, tmp_path / "c.csv", Kind.CUSTOMERS, mapping, actor="op"
    )
    assert result.counts is not None
    assert result.counts.unchanged == 4
