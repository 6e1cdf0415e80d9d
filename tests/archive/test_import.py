"""CSV import: every kind, bad rows with their line numbers, all-or-nothing, --partial."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from headend.archive import repository
from headend.archive.csvio import CsvFormatError, RowError, import_csv
from headend.archive.models import (
    Customer,
    Kind,
    Meter,
    MeterProtocol,
    SimCard,
    Terminal,
    TransformerArea,
)
from tests.archive.conftest import DATA, import_clean, scalar

CUSTOMERS_BAD = [
    "line 3: 户名: missing value",
    "line 4: 合同容量 'abc': Input should be a valid decimal",
    "line 7: 联系电话 'phone#1': must be a phone number (digits, +, -, parentheses)",
    "line 8: duplicate customer 0100000011 (first on line 2)",
    "line 9: 4 fields, the header has 10",
    "line 11: transformer area TQ9999 not found",
]  # line 5-6 is one row with a two-line address; line 10 is blank

METERS_BAD = [
    "line 3: 通信地址 '12345': meter address (通信地址) must be 12 digits",
    "line 4: 测量点号 '0': Input should be greater than or equal to 1",
    "line 5: 规约 'DL/T698': expected one of DL/T645-2007, DL/T645-1997, 交流采样, 载波模块",
    "line 6: terminal 4403-00099 not found",
    "line 7: customer 0100009999 not found",
    "line 8: CT变比 '7/2': the ratio is not a whole number",
    "line 9: duplicate meter 4403-00001 pn 5 (first on line 2)",
    "line 10: 终端行政区划码 '44A3': A1 must be 4 BCD digits (行政区划码)",
    "line 11: 波特率 '9601': baud rate must be one of 600, 1200, 2400, 4800, 7200, 9600, 19200",
    "line 12: 运行状态 '在用': expected one of 运行, 拆除, 待建档",
]

TERMINALS_BAD = [
    "line 2: SIM 89860117750000009999 not found; transformer area TQ9999 not found",
    "line 4: 终端地址 '70000': Input should be less than or equal to 65535",
    "line 5: 主站IP '10.10.1.300': value is not a valid IPv4 or IPv6 address",
    "line 6: 安装日期 '2023-13-01': not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)",
]


async def count(conn, table: str) -> int:
    return int(await scalar(conn, f"SELECT count(*) FROM {table}"))  # noqa: S608


async def test_every_kind_from_gbk_and_utf8_bom(conn, mapping):
    await import_clean(conn, mapping)
    counts = {
        t: await count(conn, t)
        for t in (
            "region",
            "tariff",
            "transformer_area",
            "customer",
            "sim_card",
            "terminal",
            "meter",
        )
    }
    assert counts == {
        "region": 2,
        "tariff": 3,
        "transformer_area": 2,
        "customer": 3,
        "sim_card": 3,
        "terminal": 2,
        "meter": 5,
    }

    area = await repository.get(conn, TransformerArea, "TQ0002")
    assert (area.name, area.region_code, area.capacity_kva) == (
        "宝安工业区2号公变",
        "440306",
        Decimal("630.50"),
    )
    zhang = await repository.get(conn, Customer, "0100000001")
    assert zhang.address == "深圳市南山区南园路1号,101室"  # quoted delimiter
    assert (zhang.tariff_code, zhang.area_code, zhang.phone) == (
        "101",
        "TQ0001",
        "13800138000",
    )
    company = await repository.get(conn, Customer, "0100000003")
    assert company.phone is None  # empty cell
    assert company.contract_capacity_kva == Decimal(315)
    sim = await repository.get(conn, SimCard, "8986011775000000003")  # 19 digits
    assert sim.status == "suspended"  # 停机
    assert (await repository.get(conn, SimCard, "89860117750000000001")).static_ip == (
        IPv4Address("10.88.0.1")
    )
    terminal = await repository.get(conn, Terminal, "4403", 2)
    assert terminal.protocol == "gdw1376-2009"
    assert terminal.install_date == date(2023, 6, 15)  # from 2023/6/15
    assert terminal.iccid == "89860117750000000002"
    assert (terminal.vendor, terminal.status) == ("科陆", "active")
    meter = await repository.get(conn, Meter, "4403", 2, 1)
    assert (meter.ct_ratio, meter.baud_rate, meter.account_no) == (
        40,
        9600,
        "0100000003",
    )
    # pn 3: the replaced meter is kept as history, the new one is live.
    live = await repository.get(conn, Meter, "4403", 2, 3)
    assert (live.address, live.protocol) == ("000000000103", MeterProtocol.DLT645_2007)
    removed = await scalar(
        conn, "SELECT status FROM meter WHERE address = '000000000098'"
    )
    assert removed == "removed"


async def test_reimport_changes_nothing(clean, mapping):
    audits = await count(clean, "archive_audit")
    sequence = "SELECT last_value FROM customer_id_seq"
    last_id = await scalar(clean, sequence)
    for kind, name in [
        (Kind.CUSTOMERS, "customers.csv"),
        (Kind.METERS, "meters.csv"),
        (Kind.TERMINALS, "terminals.csv"),
    ]:
        result = await import_csv(clean, DATA / name, kind, mapping, actor="again")
        assert result.counts is not None
        assert (result.counts.inserted, result.counts.updated) == (0, 0)
        assert result.counts.unchanged == result.rows
    assert await count(clean, "archive_audit") == audits
    assert await scalar(clean, sequence) == last_id  # no id drawn for existing rows


async def test_bad_rows_commit_nothing(clean, mapping):
    result = await import_csv(
        clean, DATA / "customers_bad.csv", Kind.CUSTOMERS, mapping, actor="op"
    )
    assert [str(e) for e in result.errors] == CUSTOMERS_BAD
    assert result.errors[0] == RowError(3, "户名: missing value")
    assert result.rows == 9  # the blank line is not a row
    assert not result.committed
    assert await count(clean, "customer") == 3


async def test_partial_commits_the_good_rows(clean, mapping):
    result = await import_csv(
        clean,
        DATA / "customers_bad.csv",
        Kind.CUSTOMERS,
        mapping,
        actor="op",
        partial=True,
    )
    assert [str(e) for e in result.errors] == CUSTOMERS_BAD
    assert result.counts is not None
    assert (result.counts.staged, result.counts.inserted) == (3, 3)
    accounts = [c.account_no for c in await repository.list_all(clean, Customer)]
    assert accounts == [
        "0100000001",
        "0100000002",
        "0100000003",
        "0100000011",
        "0100000014",
        "0100000018",
    ]
    two_lines = await repository.get(clean, Customer, "0100000014")
    assert two_lines.address is not None
    assert two_lines.address.startswith("南园路5号")
    assert two_lines.address.endswith("二楼")
    # An unknown tariff code is a finding of `check`, not a row error.
    assert (await repository.get(clean, Customer, "0100000018")).tariff_code == "999"


async def test_meter_rows_and_unresolved_references(clean, mapping):
    result = await import_csv(
        clean, DATA / "meters_bad.csv", Kind.METERS, mapping, actor="op"
    )
    assert [str(e) for e in result.errors] == METERS_BAD
    assert await count(clean, "meter") == 5
    result = await import_csv(
        clean, DATA / "meters_bad.csv", Kind.METERS, mapping, actor="op", partial=True
    )
    assert result.counts is not None
    assert result.counts.inserted == 1
    assert (await repository.get(clean, Meter, "4403", 1, 5)).address == "000000000005"


async def test_terminal_references(clean, mapping):
    result = await import_csv(
        clean,
        DATA / "terminals_bad.csv",
        Kind.TERMINALS,
        mapping,
        actor="op",
        partial=True,
    )
    assert [str(e) for e in result.errors] == TERMINALS_BAD
    assert [t.address for t in await repository.list_all(clean, Terminal)] == [
        "4403-00001",
        "4403-00002",
        "4403-00004",
    ]


async def test_references_need_the_referenced_files_first(conn, mapping):
    result = await import_csv(
        conn, DATA / "meters.csv", Kind.METERS, mapping, actor="op"
    )
    assert [str(e) for e in result.errors][:2] == [
        "line 2: terminal 4403-00001 not found; customer 0100000001 not found; "
        "transformer area TQ0001 not found",
        "line 3: terminal 4403-00001 not found; customer 0100000002 not found; "
        "transformer area TQ0001 not found",
    ]
    assert not result.committed


async def test_utf8_without_bom_and_explicit_encodings(conn, mapping, tmp_path: Path):
    # The mapping says GBK; the file is UTF-8 without a BOM: recognised as UTF-8.
    result = await import_csv(
        conn, DATA / "sims_utf8.csv", Kind.SIMS, mapping, actor="op"
    )
    assert result.errors == []
    assert (
        await repository.get(conn, SimCard, "89860117750000000004")
    ).status == "active"
    # An explicit encoding is obeyed: GBK bytes read as UTF-8 fail with the line.
    gbk = tmp_path / "sims.csv"
    gbk.write_bytes("ICCID,状态\r\n89860117750000000005,停机\r\n".encode("gbk"))
    # (the GBK header happens to be valid UTF-8 too: line 2 is the first that is not)
    with pytest.raises(CsvFormatError, match=r"^line 2: not UTF-8 text"):
        await import_csv(conn, gbk, Kind.SIMS, mapping, actor="op", encoding="utf-8")
    result = await import_csv(conn, gbk, Kind.SIMS, mapping, actor="op", encoding="gbk")
    assert result.errors == []
    assert (
        await repository.get(conn, SimCard, "89860117750000000005")
    ).status == "suspended"


async def test_undecodable_line_is_located(conn, mapping, tmp_path: Path):
    # UTF-8 for the first 64 KiB (so the file is read as UTF-8), then a GBK row. The
    # text layer decodes blocks ahead of the CSV reader; the error still names its line.
    path = tmp_path / "tariffs.csv"
    rows = "".join(f"{i},居民生活{i}\n" for i in range(5000))
    path.write_bytes(
        "电价代码,电价名称\n".encode() + rows.encode() + "X1,电\n".encode("gbk")
    )
    with pytest.raises(CsvFormatError, match=r"^line 5002: not UTF-8 text"):
        await import_csv(conn, path, Kind.TARIFFS, mapping, actor="op")
    assert await count(conn, "tariff") == 0


async def test_unknown_encoding(conn, mapping, tmp_path: Path):
    with pytest.raises(CsvFormatError, match="unknown encoding 'klingon'"):
        await import_csv(
            conn,
            DATA / "tariffs.csv",
            Kind.TARIFFS,
            mapping,
            actor="op",
            encoding="klingon",
        )


async def test_file_level_errors(conn, mapping, tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CsvFormatError, match="line 1: the file is empty"):
        await import_csv(conn, empty, Kind.TARIFFS, mapping, actor="op")
    headless = tmp_path / "headless.csv"
    headless.write_text("户名,电价代码\n张三,101\n", encoding="gbk")
    with pytest.raises(
        CsvFormatError, match=r"line 1: missing column 用户编号 \(account_no\)"
    ):
        await import_csv(
            conn, headless, Kind.CUSTOMERS, mapping, actor="op", partial=True
        )
    assert await count(conn, "customer") == 0


async def test_aliases_case_blanks_and_ignored_columns(conn, mapping, tmp_path: Path):
    path = tmp_path / "sims.csv"
    path.write_text(
        " sim卡号 ,手机号码,备注\n89860117750000000006,13800000006,新卡\n",
        encoding="gbk",
    )
    result = await import_csv(conn, path, Kind.SIMS, mapping, actor="op")
    assert result.errors == []
    assert (
        await repository.get(conn, SimCard, "89860117750000000006")
    ).msisdn == "13800000006"


async def test_absent_columns_keep_stored_values(clean, mapping, tmp_path: Path):
    path = tmp_path / "terminals.csv"
    path.write_text(
        "行政区划码,终端地址,软件版本\n4403,1,V1.03\n4403,7,V1.00\n", encoding="gbk"
    )
    result = await import_csv(clean, path, Kind.TERMINALS, mapping, actor="op")
    assert result.counts is not None
    assert (result.counts.inserted, result.counts.updated) == (1, 1)
    one = await repository.get(clean, Terminal, "4403", 1)
    assert (one.firmware_version, one.vendor, one.iccid) == (
        "V1.03",
        "威胜",
        "89860117750000000001",
    )
    new = await repository.get(clean, Terminal, "4403", 7)
    assert (new.status, new.protocol) == ("active", "gdw1376-2013")  # column defaults


async def test_empty_cell_clears_a_field(clean, mapping, tmp_path: Path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "用户编号,户名,联系电话,台区编号\n0100000001,张三,,\n", encoding="gbk"
    )
    await import_csv(clean, path, Kind.CUSTOMERS, mapping, actor="op")
    zhang = await repository.get(clean, Customer, "0100000001")
    assert (zhang.phone, zhang.area_code, zhang.tariff_code) == (None, None, "101")


async def test_meter_replacement_in_one_file(clean, mapping, tmp_path: Path):
    # 换表: the meter at 4403-00001 pn 1 is removed and a new one takes the point.
    path = tmp_path / "meters.csv"
    path.write_text(
        "终端行政区划码,终端地址,测量点号,通信地址,运行状态\n"
        "4403,1,1,000000000001,拆除\n"
        "4403,1,1,000000000201,运行\n",
        encoding="gbk",
    )
    result = await import_csv(clean, path, Kind.METERS, mapping, actor="op")
    assert result.counts is not None
    assert (result.counts.inserted, result.counts.updated) == (1, 1)
    assert (await repository.get(clean, Meter, "4403", 1, 1)).address == "000000000201"
    rows = await (
        await clean.execute(
            "SELECT address, status FROM meter WHERE pn = 1 AND terminal_id = "
            "(SELECT id FROM terminal WHERE a2 = 1) ORDER BY id"
        )
    ).fetchall()
    assert rows == [("000000000001", "removed"), ("000000000201", "active")]
    # Importing the same file again changes nothing.
    again = await import_csv(clean, path, Kind.METERS, mapping, actor="op")
    assert again.counts is not None
    assert again.counts.unchanged == 2


async def test_delimiter_and_date_format_from_the_mapping(
    conn, mapping, tmp_path: Path
):
    from headend.archive.mapping import parse_mapping

    custom = parse_mapping(
        {
            "terminals": {
                "delimiter": ";",
                "date_format": "%d.%m.%Y",
                "columns": {"a1": "A1", "a2": "A2", "install_date": "installed"},
            }
        }
    )
    path = tmp_path / "t.csv"
    path.write_text(
        "A1;A2;installed\n4403;9;15.06.2023\n4403;10;2023-06-16\n", encoding="utf-8"
    )
    result = await import_csv(conn, path, Kind.TERMINALS, custom, actor="op")
    assert result.errors == []
    assert (await repository.get(conn, Terminal, "4403", 9)).install_date == date(
        2023, 6, 15
    )
    assert (await repository.get(conn, Terminal, "4403", 10)).install_date == date(
        2023, 6, 16
    )
    del mapping
