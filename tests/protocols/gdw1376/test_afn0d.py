"""AFN 0DH class-2 data (Std-2013 §5.13): vectors T07/T08 and constructed frames."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from protocols.gdw1376 import AFN, DataUnit, Dir, Frame, Tp, decode_frame, encode_frame
from protocols.gdw1376.formats import DayTime, MonthTime, YearMonth
from protocols.gdw1376.registry import REGISTRY, lookup
from protocols.gdw1376.units.afn0c import Demand
from protocols.gdw1376.units.afn0d import (
    DENSITY_MINUTES,
    TIME_MARKS,
    CurrentCurve,
    DailyActiveReading,
    DailyDemandReading,
    DailyForwardReadings,
    Density,
    MonthlyActiveReading,
    PowerCurve,
    Td,
    TdCurve,
    TdDaily,
    TdMonthly,
    VoltageCurve,
    point_times,
)
from tests.protocols.gdw1376.unitframes import wrap
from tests.vectors import vector

T07_TP = Tp(pfc=5, send_time=DayTime(28, 16, 34, 5), delay=0)
F161_REQUEST = bytes.fromhex(
    "68 3E 00 3E 00 68 4B 03 44 01 00 02 0D 65 01 01 01 14 01 05 24 48 16"
)


def roundtrip(wire: bytes) -> Frame:
    frame = decode_frame(wire)
    assert frame.ok, frame.errors
    assert encode_frame(frame) == wire
    return frame


# --- third-party vectors -------------------------------------------------------------


def test_t07_f1_request_with_daily_time_mark() -> None:
    frame = roundtrip(vector("T07"))
    assert frame.dir is Dir.DOWN
    assert frame.c == 0x4B
    assert (frame.a1, frame.a2, frame.msa) == ("0171", 2082, 1)
    assert frame.afn == AFN.CLASS2
    assert frame.pseq == 5
    assert frame.tp == T07_TP
    assert frame.units == [DataUnit(1, 1, TdDaily(date(2018, 8, 27)))]


def test_t08_f1_response_field_by_field() -> None:
    frame = roundtrip(vector("T08"))
    assert frame.dir is Dir.UP
    assert frame.c == 0x88
    assert frame.ec is None
    assert frame.afn == AFN.CLASS2
    assert frame.tp == T07_TP  # echoed
    [unit] = frame.units
    assert (unit.pn, unit.fn) == (1, 1)
    data = unit.data
    assert isinstance(data, DailyForwardReadings)
    assert data.td == date(2018, 8, 27)
    assert data.read_time == datetime(2018, 8, 27, 23, 59)
    assert data.tariff_count == 4
    assert data.active == [0.01, None, None, None, None]
    assert data.reactive == [None] * 5
    assert data.q1_reactive == [None] * 5
    assert data.q4_reactive == [None] * 5


# --- constructed frames (built here by the rules of §4.3 and §5.13, not captures) ----


def test_f161_request_constructed_in_protocols_md() -> None:
    assert vector("X_afn0d_f161_request") == F161_REQUEST
    frame = roundtrip(F161_REQUEST)
    assert (frame.a1, frame.a2, frame.msa, frame.pseq) == ("4403", 1, 1, 5)
    assert frame.units == [DataUnit(1, 161, TdDaily(date(2024, 5, 1)))]


def test_f161_response() -> None:
    unit_hex = (
        "01 01 01 14"  # p1 F161
        "01 05 24"  # Td_d 2024-05-01 (echoed)
        "05 00 02 05 24"  # read time 2024-05-02 00:05
        "04"  # M = 4
        "78 56 34 12 00"  # total 1234.5678 kWh
        "00 10 00 03 00  00 20 00 05 00  00 00 00 04 00  78 26 34 00 00"
    )
    [unit] = roundtrip(wrap(0x88, 0x0D, 0x63, unit_hex)).units
    assert unit.data == DailyActiveReading(
        td=date(2024, 5, 1),
        read_time=datetime(2024, 5, 2, 0, 5),
        tariff_count=4,
        readings=[1234.5678, 300.1, 500.2, 400.0, 34.2678],
    )


def test_f161_to_f163_for_p1_and_p2() -> None:
    # One identifier: p1,p2 x F161-F163; each unit carries its own Td_d.
    td = "01 05 24"
    wire = wrap(0x4B, 0x0D, 0x65, "03 01 07 14" + td * 6)
    frame = roundtrip(wire)
    assert [(u.pn, u.fn) for u in frame.units] == [
        (1, 161),
        (1, 162),
        (1, 163),
        (2, 161),
        (2, 162),
        (2, 163),
    ]
    assert all(u.data == TdDaily(date(2024, 5, 1)) for u in frame.units)


def test_monthly_f177_request_and_response() -> None:
    frame = roundtrip(wrap(0x4B, 0x0D, 0x63, "01 01 01 16 04 24"))
    assert frame.units == [DataUnit(1, 177, TdMonthly(YearMonth(2024, 4)))]
    unit_hex = "01 01 01 16 04 24 00 00 01 05 24 00 78 56 34 12 00"
    [unit] = roundtrip(wrap(0x88, 0x0D, 0x63, unit_hex)).units
    assert unit.data == MonthlyActiveReading(
        YearMonth(2024, 4), datetime(2024, 5, 1, 0, 0), 0, [1234.5678]
    )


def test_f81_curve_request_and_response() -> None:
    td_c = "15 00 01 05 24 01 04"  # from 2024-05-01 00:15, 15 min, 4 points
    frame = roundtrip(wrap(0x4B, 0x0D, 0x63, "01 01 01 0A" + td_c))
    request = TdCurve(datetime(2024, 5, 1, 0, 15), Density.MIN15, 4)
    assert frame.units == [DataUnit(1, 81, request)]
    wire = wrap(
        0x88, 0x0D, 0x63, "01 01 01 0A" + td_c + "56 34 12 00 50 01 EE EE EE 00 25 80"
    )
    [unit] = roundtrip(wire).units
    assert unit.data == PowerCurve(
        datetime(2024, 5, 1, 0, 15), 1, 4, [12.3456, 1.5, None, -0.25]
    )
    assert point_times(unit.data.td_start, unit.data.density, unit.data.points) == [
        datetime(2024, 5, 1, 0, 15),
        datetime(2024, 5, 1, 0, 30),
        datetime(2024, 5, 1, 0, 45),
        datetime(2024, 5, 1, 1, 0),
    ]


def test_voltage_and_current_curves_in_one_frame() -> None:
    td_c = "00 00 01 05 24 03 02"  # 60 min, 2 points
    f89 = td_c + "05 22 EE EE"  # Ua: 220.5 V, absent
    f92 = td_c + "00 15 00 25 10 00"  # Ia: 1.5 A, 1.025 A
    start = datetime(2024, 5, 1)
    expected = [
        DataUnit(1, 89, VoltageCurve(start, 3, 2, [220.5, None])),
        DataUnit(1, 92, CurrentCurve(start, 3, 2, [1.5, 1.025])),
    ]
    # One identifier for both Fns (the encoder's form) ...
    assert (
        roundtrip(wrap(0x88, 0x0D, 0x63, "01 01 09 0B" + f89 + f92)).units == expected
    )
    # ... or one identifier per Fn: the same units.
    split = wrap(0x88, 0x0D, 0x63, "01 01 01 0B" + f89 + "01 01 08 0B" + f92)
    assert decode_frame(split).units == expected


def test_daily_demand_pairs() -> None:
    unit_hex = "01 01 01 17 01 05 24 05 00 02 05 24 00 00 50 05 30 10 12 04"
    [unit] = roundtrip(wrap(0x88, 0x0D, 0x63, unit_hex)).units
    assert unit.data == DailyDemandReading(
        date(2024, 5, 1),
        datetime(2024, 5, 2, 0, 5),
        0,
        [Demand(5.5, MonthTime(4, 12, 10, 30))],
    )


def test_every_defined_fn_has_its_time_mark_registered() -> None:
    layouts = {Td.CURVE: TdCurve, Td.DAILY: TdDaily, Td.MONTHLY: TdMonthly}
    for fn, td in TIME_MARKS.items():
        assert lookup(AFN.CLASS2, fn, Dir.DOWN).cls is layouts[td], fn
    downs = {k[1] for k in REGISTRY if k[0] == AFN.CLASS2 and k[2] == Dir.DOWN}
    assert downs == set(TIME_MARKS)
    assert len(TIME_MARKS) == 170
    assert TIME_MARKS[1] is Td.DAILY
    assert TIME_MARKS[17] is Td.MONTHLY
    assert TIME_MARKS[81] is Td.CURVE
    assert TIME_MARKS[219] is Td.CURVE
    assert 13 not in TIME_MARKS  # 备用


def test_uplink_time_mark_matches_downlink() -> None:
    # Every uplink layout starts with the time mark its downlink carries.
    first_field = {Td.CURVE: "td_start", Td.DAILY: "td", Td.MONTHLY: "td"}
    for (afn, fn, d), spec in REGISTRY.items():
        if afn != AFN.CLASS2 or d != Dir.UP:
            continue
        assert spec.layout is not None
        assert spec.layout.names[0] == first_field[TIME_MARKS[fn]], fn


@pytest.mark.parametrize(
    ("m", "minutes"), [(1, 15), (2, 30), (3, 60), (254, 5), (255, 1)]
)
def test_appendix_c_densities(m: int, minutes: int) -> None:
    assert DENSITY_MINUTES[m] == minutes


def test_density_zero_has_no_point_times() -> None:
    with pytest.raises(KeyError):
        point_times(datetime(2024, 5, 1), Density.NONE, 1)


def test_names_are_distinct_and_bilingual() -> None:
    ups = [s.name for k, s in REGISTRY.items() if k[0] == AFN.CLASS2 and k[2] == 1]
    assert len(ups) == len(set(ups))
    assert all(n.endswith(")") and not n.isascii() for n in ups)
