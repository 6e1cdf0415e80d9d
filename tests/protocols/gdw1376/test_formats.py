"""Appendix-A data formats: known answers, absent values, invalid content."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from hypothesis import given, settings

from protocols.errors import BadValue, LocalProtocolError
from protocols.gdw1376 import formats as F  # noqa: N812
from tests.strategies import format_values


@pytest.mark.parametrize(
    ("fmt", "wire", "value"),
    [
        # PROTOCOLS.md §1.13 examples (captured frames)
        (F.A1, "17 41 17 03 67 19", datetime(2019, 7, 3, 17, 41, 17)),
        (F.A5, "00 10", 100.0),
        (F.A7, "27 24", 242.7),
        (F.A14, "00 01 00 00 00", 0.01),
        # constructed from the appendix-A tables
        (F.A2, "50 E1", 0.15),  # G=111 (10^-3), S=0, hundreds 1, BCD 50: 150e-3
        (F.A2, "12 14", -4120000.0),  # G=000 (10^4), S=1, hundreds 4: -412e4
        (F.A3, "56 34 12 00", 123456),
        (F.A3, "56 34 12 40", 123456000),  # G=1: MWh, returned in kWh
        (F.A3, "01 00 00 10", -1),
        (F.A4, "79", 79),
        (F.A4, "85", -5),
        (F.A5, "34 92", -123.4),
        (F.A6, "45 23", 23.45),
        (F.A9, "78 56 B4", -34.5678),
        (F.A11, "78 56 34 12", 123456.78),
        (F.A12, "12 90 78 56 34 12", "123456789012"),
        (F.A13, "78 56 34 12", 1234.5678),
        (F.A15, "48 16 28 08 18", datetime(2018, 8, 28, 16, 48)),
        (F.A16, "09 50 16 28", F.DayTime(28, 16, 50, 9)),
        (F.A17, "59 23 31 12", F.MonthTime(12, 31, 23, 59)),
        (F.A18, "59 23 31", F.DayTime(31, 23, 59)),
        (F.A19, "30 08", time(8, 30)),
        (F.A20, "27 08 18", date(2018, 8, 27)),
        (F.A21, "05 24", F.YearMonth(2024, 5)),
        (F.A22, "55", 5.5),
        (F.A23, "56 34 12", 12.3456),
        (F.A24, "23 15", F.DayHour(15, 23)),
        (F.A25, "56 34 92", -123.456),
        (F.A26, "34 12", 1.234),
        (F.A27, "78 56 34 12", 12345678),
        (F.A28, "25 30 12 20 81", F.GeoAngle(120, 12, 30.25, True)),
    ],
    ids=lambda v: v.name if isinstance(v, F.Format) else None,
)
def test_known_answers(fmt: F.Format, wire: str, value: object) -> None:
    raw = bytes.fromhex(wire)
    assert fmt.decode(raw, 0) == value
    assert fmt.encode(value) == raw


def test_a1_weekday_is_computed_on_encode() -> None:
    assert F.A1.encode(datetime(2019, 7, 3, 17, 41, 17)) == bytes.fromhex(
        "17 41 17 03 67 19"
    )


@pytest.mark.parametrize("fmt", list(F.APPENDIX_A.values()), ids=lambda f: f.name)
def test_absent_values(fmt: F.Format) -> None:
    assert fmt.decode(b"\xee" * fmt.size, 0) is None
    assert fmt.encode(None) == b"\xee" * fmt.size


@pytest.mark.parametrize(
    "fmt", [f for f in F.APPENDIX_A.values() if f.name != "A.12"], ids=lambda f: f.name
)
def test_partially_absent_is_absent(fmt: F.Format) -> None:
    raw = bytearray(
        fmt.encode(
            fmt.decode(b"\x01" * fmt.size, 0)
            if fmt.name
            not in (
                "A.1",
                "A.15",
                "A.20",
                "A.21",
                "A.19",
                "A.16",
                "A.17",
                "A.18",
                "A.24",
                "A.28",
            )
            else None
        )
    )
    raw[0] = 0xEE
    assert fmt.decode(bytes(raw), 0) is None


@pytest.mark.parametrize(
    "fmt", [F.A5, F.A7, F.A14, F.A15, F.A20, F.A1, F.A11], ids=lambda f: f.name
)
def test_non_bcd_is_a_bad_value(fmt: F.Format) -> None:
    raw = bytearray(b"\x01" * fmt.size)
    raw[0] = 0x1A
    with pytest.raises(BadValue):
        fmt.decode(bytes(raw), 0)


def test_impossible_dates_are_bad_values() -> None:
    with pytest.raises(BadValue):
        F.A15.decode(bytes.fromhex("00 00 31 02 24"), 0)  # 31 February


def test_encoding_out_of_range_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        F.A7.encode(1000.0)
    with pytest.raises(LocalProtocolError):
        F.A14.encode(-1.0)


@pytest.mark.parametrize("fmt", list(F.APPENDIX_A.values()), ids=lambda f: f.name)
@settings(max_examples=60, deadline=None)
@given(data=__import__("hypothesis").strategies.data())
def test_roundtrip(fmt: F.Format, data) -> None:
    value = data.draw(format_values(fmt))
    assert fmt.decode(fmt.encode(value), 0) == value
