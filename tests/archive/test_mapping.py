"""The column mapping file: the shipped one, and what a malformed one reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from headend.archive.mapping import (
    DEFAULT_MAPPING,
    MappingError,
    load_mapping,
    parse_mapping,
)
from headend.archive.models import Kind, MeterProtocol


def test_shipped_mapping_covers_every_kind():
    mapping = load_mapping()
    assert mapping.path == DEFAULT_MAPPING
    assert set(mapping.kinds) == set(Kind)
    customers = mapping[Kind.CUSTOMERS]
    assert customers.encoding == "gbk"
    assert customers.delimiter == ","
    headers = {c.field: c.headers[0] for c in customers.columns}
    assert headers["account_no"] == "用户编号"
    assert headers["tariff_code"] == "电价代码"


def test_value_tables_both_ways():
    meters = load_mapping()[Kind.METERS]
    assert meters.to_model("protocol", "DL/T645-2007") == "30"
    assert meters.to_model("protocol", "30") == "30"  # model values pass through
    assert meters.to_csv("protocol", MeterProtocol.DLT645_1997) == "DL/T645-1997"
    assert meters.to_csv("status", "removed") == "拆除"
    assert meters.to_csv("asset_no", None) == ""
    terminals = load_mapping()[Kind.TERMINALS]
    assert terminals.to_csv("install_date", date(2023, 6, 15)) == "2023-06-15"


def _minimal(**extra: object) -> dict[str, object]:
    return {"tariffs": {"columns": {"code": "电价代码", "name": "电价名称"}, **extra}}


def test_per_kind_overrides():
    mapping = parse_mapping(
        {
            "defaults": {"encoding": "utf-8"},
            **_minimal(delimiter="|", encoding="gb18030"),
        }
    )
    assert mapping[Kind.TARIFFS].delimiter == "|"
    assert mapping[Kind.TARIFFS].encoding == "gb18030"
    with pytest.raises(MappingError, match=r"no \[meters\] section"):
        mapping[Kind.METERS]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"customer": {}}, r"unknown section \[customer\]"),
        ({"defaults": {"colour": "red"}}, "unknown keys"),
        (_minimal(encoding="klingon"), "unknown encoding"),
        (_minimal(delimiter=";;"), "one character"),
        (_minimal(extra=1), "unknown keys"),
        (
            {"tariffs": {"columns": {"code": "电价代码"}}},
            r"required fields without a column: \['name'\]",
        ),
        ({"tariffs": {"columns": {"code": "A", "name": "A"}}}, "used by code and name"),
        (
            {"tariffs": {"columns": {"code": "A", "name": "B", "price": "C"}}},
            "unknown field 'price'",
        ),
        (
            {"tariffs": {"columns": {"code": "A", "name": []}}},
            "one or more non-empty headers",
        ),
        (
            _minimal(values={"status": {"x": "y"}}),
            "values for status, which has no column",
        ),
        (
            {
                "meters": {
                    "columns": {"terminal_a1": "A1", "pn": "pn", "address": "addr"}
                }
            },
            "required fields without a column",
        ),
        (
            {"terminals": {"columns": {"a1": "A1", "a2": "A2", "region_code": "R"}}},
            None,
        ),
    ],
)
def test_malformed_mappings(data, message):
    if message is None:
        parse_mapping(data)
        return
    with pytest.raises(MappingError, match=message):
        parse_mapping(data)


def test_load_errors(tmp_path: Path):
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[tariffs\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"bad\.toml"):
        load_mapping(bad)
