"""AFN 0CH class-1 data (Std-2013 §5.12): vectors T05/T06 and constructed frames."""

from __future__ import annotations

from datetime import datetime

import pytest

from protocols.errors import UnknownFunction
from protocols.gdw1376 import AFN, DataUnit, Dir, Frame, Tp, decode_frame, encode_frame
from protocols.gdw1376.formats import DayTime
from protocols.gdw1376.registry import REGISTRY, lookup
from protocols.gdw1376.units import afn0c
from protocols.gdw1376.units.afn0c import (
    METER_POWER_ON,
    ActiveReading,
    EventCounters,
    ForwardReadings,
    MeterSupplyState,
    PowerVoltageCurrent,
    ReactiveReading,
    TerminalClock,
)
from tests.protocols.gdw1376.unitframes import wrap
from tests.vectors import vector

T05_TP = Tp(pfc=12, send_time=DayTime(28, 16, 50, 9), delay=0)


def roundtrip(wire: bytes) -> Frame:
    frame = decode_frame(wire)
    assert frame.ok, frame.errors
    assert encode_frame(frame) == wire
    return frame


# --- third-party vectors --------------------------------------------------------------


def test_t05_f33_request_with_tp() -> None:
    frame = roundtrip(vector("T05"))
    assert frame.dir is Dir.DOWN
    assert frame.c == 0x4B
    assert frame.func == 11
    assert (frame.a1, frame.a2, frame.msa) == ("0171", 2082, 1)
    assert frame.afn == AFN.CLASS1
    assert frame.tpv
    assert frame.pseq == 12
    assert frame.tp == T05_TP
    assert frame.units == [DataUnit(1, 33)]


def test_t06_f33_response_field_by_field() -> None:
    frame = roundtrip(vector("T06"))
    assert frame.dir is Dir.UP
    assert frame.c == 0x88
    assert not frame.acd
    assert frame.ec is None
    assert (frame.a1, frame.a2, frame.msa) == ("0171", 2082, 1)
    assert frame.afn == AFN.CLASS1
    # Field quirk: a single-frame answer marked FIR=0 FIN=1 (PROTOCOLS.md §1.5).
    assert (frame.fir, frame.fin, frame.pseq) == (False, True, 12)
    assert frame.tp == T05_TP  # echoed from T05
    [unit] = frame.units
    assert (unit.pn, unit.fn) == (1, 33)
    data = unit.data
    assert isinstance(data, ForwardReadings)
    assert data.read_time == datetime(2018, 8, 28, 16, 48)
    assert data.tariff_count == 4
    assert data.active == [0.01, None, None, None, None]
    assert data.reactive == [None] * 5
    assert data.q1_reactive == [None] * 5
    assert data.q4_reactive == [None] * 5


# --- constructed frames (built here by the rules of §4.3 and §5.12, not captures) -----


def test_f2_and_f7_share_one_identifier() -> None:
    # p0, DT1 = bit1 | bit6 -> F2 and F7: units follow in Fn order.
    wire = wrap(0x88, 0x0C, 0x63, "00 00 42 00  05 30 08 30 44 24  03 07")
    frame = roundtrip(wire)
    assert frame.units == [
        DataUnit(0, 2, TerminalClock(datetime(2024, 4, 30, 8, 30, 5))),
        DataUnit(0, 7, EventCounters(3, 7)),
    ]


def test_f25_power_voltage_current() -> None:
    unit_hex = (
        "01 01 01 03"  # p1 F25
        "15 00 01 05 24"  # read time 2024-05-01 00:15
        "00 50 01  00 50 01  EE EE EE  EE EE EE"  # P total, A (1.5 kW), B, C absent
        "00 25 80  00 25 80  EE EE EE  EE EE EE"  # Q total, A (-0.25 kvar)
        "95 09  95 09  EE EE  EE EE"  # PF total, A 99.5 %
        "01 23  EE EE  EE EE"  # Ua 230.1 V
        "25 51 80  EE EE EE  EE EE EE  EE EE EE"  # Ia -5.125 A, Ib, Ic, I0
        "00 50 01  00 50 01  EE EE EE  EE EE EE"  # S total, A
    )
    frame = roundtrip(wrap(0x88, 0x0C, 0x63, unit_hex))
    [unit] = frame.units
    data = unit.data
    assert isinstance(data, PowerVoltageCurrent)
    assert len(bytes.fromhex(unit_hex)) - 4 == 67
    assert data.read_time == datetime(2024, 5, 1, 0, 15)
    assert (data.active_power, data.active_power_a, data.active_power_b) == (
        1.5,
        1.5,
        None,
    )
    assert data.reactive_power_a == -0.25
    assert data.power_factor == 99.5
    assert data.voltage_a == 230.1
    assert data.voltage_b is None
    assert data.current_a == -5.125
    assert data.current_zero is None
    assert data.apparent_power_a == 1.5


def test_f161_meter_supply_state() -> None:
    unit_hex = (
        "01 01 01 14"  # p1 F161
        "15 00 01 05 24"  # read time
        "11"  # state: 11H power on
        "05 30 08 30 44 24"  # last close 2024-04-30 08:30:05 (Tue)
        "00 00 22 29 24 24"  # last trip 2024-04-29 22:00:00 (Mon)
    )
    [unit] = roundtrip(wrap(0x88, 0x0C, 0x63, unit_hex)).units
    assert unit.data == MeterSupplyState(
        datetime(2024, 5, 1, 0, 15),
        METER_POWER_ON,
        datetime(2024, 4, 30, 8, 30, 5),
        datetime(2024, 4, 29, 22, 0, 0),
    )


def test_f129_p1_to_p8_in_one_identifier() -> None:
    # DA FF 01 = p1..p8, DT 01 10 = F129: eight units follow, p ascending.
    units = "".join(
        f"15 00 01 05 24 01 {i:02d} 00 00 00 00 00 10 00 00 00" for i in range(1, 9)
    )
    wire = wrap(0x88, 0x0C, 0x63, "FF 01 01 10" + units)
    frame = roundtrip(wire)
    assert [u.pn for u in frame.units] == list(range(1, 9))
    assert {u.fn for u in frame.units} == {129}
    third = frame.units[2].data
    assert isinstance(third, ActiveReading)
    assert third.tariff_count == 1
    assert third.readings == [0.0003, 0.1]


def test_multi_point_request_encodes_one_identifier() -> None:
    units = [DataUnit(pn, fn) for pn in range(1, 9) for fn in (129, 130)]
    frame = Frame(0x4B, "4403", 1, 2, AFN.CLASS1, 0x63, units)
    wire = encode_frame(frame)
    assert wire[14:18] == bytes.fromhex("FF 01 03 10")
    assert len(wire) == 18 + 2
    assert decode_frame(wire).units == units


def test_reactive_register_uses_a11() -> None:
    # F130: read time, M = 0, total 12.34 kvarh (A.11).
    [unit] = roundtrip(
        wrap(0x88, 0x0C, 0x63, "01 01 02 10 15 00 01 05 24 00 34 12 00 00")
    ).units
    assert unit.data == ReactiveReading(datetime(2024, 5, 1, 0, 15), 0, [12.34])


def test_undeclared_fn_keeps_the_rest_raw() -> None:
    # F5 is not declared (its block count is a bit count); later units are lost.
    frame = decode_frame(wrap(0x88, 0x0C, 0x63, "00 00 10 00 01 02 03"))
    [unit] = frame.units
    assert isinstance(unit.error, UnknownFunction)
    assert unit.raw == bytes.fromhex("01 02 03")


def test_every_downlink_fn_carries_no_data() -> None:
    for fn in (1, 2, 25, 33, 129, 161, 248):
        spec = lookup(AFN.CLASS1, fn, Dir.DOWN)
        assert spec.layout is None


@pytest.mark.parametrize(
    ("fn", "cls"),
    [
        (2, TerminalClock),
        (33, ForwardReadings),
        (37, ForwardReadings),
        (161, MeterSupplyState),
    ],
)
def test_registered_shapes(fn: int, cls: type) -> None:
    assert lookup(AFN.CLASS1, fn, Dir.UP).cls is cls


def test_names_are_distinct_and_bilingual() -> None:
    names = [s.name for k, s in REGISTRY.items() if k[0] == AFN.CLASS1]
    assert len(names) == len(set(names))
    assert all("(" in n and n.isascii() is False for n in names)
    assert set(afn0c.__all__) <= set(dir(afn0c))
