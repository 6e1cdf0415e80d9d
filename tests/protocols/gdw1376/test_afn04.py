"""AFN 04H set-parameter / AFN 0AH query-parameter units (Std-2013 §5.5, §5.10).

Each unit is built by hand from the standard's table, decoded both as an AFN04
downlink (with PW) and as an AFN0A answer (uplink, same layout), and re-encoded.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest

from protocols.gdw1376 import AFN, DataUnit, decode_frame
from protocols.gdw1376.registry import lookup
from protocols.gdw1376.units.afn04 import (
    ArrearsAlarmHours,
    BaudCode,
    BusinessSuspensionControl,
    ControlPeriods,
    ControlRounds,
    DataConfigQuery,
    EventConfig,
    FactoryRestControl,
    FloatCoefficient,
    GroupAddresses,
    MasterAddress,
    MessageAuth,
    MeterConfig,
    MeterConfigQuery,
    MeterConfigs,
    MeterProtocol,
    MonthlyEnergyControl,
    ObjectQuery,
    PointBasics,
    PointStatus,
    PowerControlAlarmTime,
    PowerSlipTime,
    PurchaseControl,
    PurchaseMode,
    SecurityValue,
    TerminalAddress,
    UplinkCommParams,
    Wiring,
    WorkMode,
    flagged_points,
)
from tests.protocols.gdw1376.unitframes import command, query, response, single


def both_ways(identifier: str, data: str) -> Any:
    """Decode ``identifier + data`` as AFN04 (down) and AFN0A (up); both must agree."""
    down = single(command(AFN.SET_PARAM, f"{identifier} {data}"))
    up = single(response(AFN.QUERY_PARAM, f"{identifier} {data}"))
    assert down == up
    return down.data


def test_f1_uplink_comm_params() -> None:
    # Table 22 / fig. 20: RTS 5 x 20 ms, delay 10 min, timeout 30 s (0x01E) with
    # 3 retries (byte 2 = retries << 4 | timeout >> 8 = 0x30), CON for class 1 and 3
    # (0b101), heartbeat 15 min.
    params = both_ways("00 00 01 00", "05 0A 1E 30 05 0F")
    assert params == UplinkCommParams(
        rts_delay=5,
        allowed_delay=10,
        response_timeout=30,
        retries=3,
        con_class1=1,
        con_class2=0,
        con_class3=1,
        heartbeat_period=15,
    )


def test_f1_timeout_uses_twelve_bits() -> None:
    # 4095 s = byte 1 FF + byte 2 D3-D0 F; retries 1 in D5-D4.
    params = both_ways("00 00 01 00", "00 00 FF 1F 00 01")
    assert (params.response_timeout, params.retries) == (4095, 1)


def test_f3_master_address() -> None:
    # Table 24; the main part is the AFN0A F3 reply of PROTOCOLS.md §1.11.
    apn = b"ZJDL.ZJ".hex() + "00" * 9
    data = both_ways("00 00 04 00", f"C0 A8 00 01 90 1F 0A 00 00 02 91 1F {apn}")
    assert data == MasterAddress("192.168.0.1", 8080, "10.0.0.2", 8081, "ZJDL.ZJ")


def test_f5_message_auth_and_f6_groups() -> None:
    assert both_ways("00 00 10 00", "01 34 12") == MessageAuth(1, 0x1234)
    groups = "01 00 02 00" + " 00 00" * 6
    assert both_ways("00 00 20 00", groups) == GroupAddresses([1, 2, 0, 0, 0, 0, 0, 0])


def test_f7_terminal_address() -> None:
    # Table 28: IP, mask, gateway, proxy SOCKS5 at 10.0.0.9:1080 with user "abc" and
    # no password, listening on 9001.
    data = both_ways(
        "00 00 40 00",
        "C0 A8 01 0A FF FF FF 00 C0 A8 01 01 03 0A 00 00 09 38 04 01 03 61 62 63 00"
        " 29 23",
    )
    assert data == TerminalAddress(
        ip="192.168.1.10",
        netmask="255.255.255.0",
        gateway="192.168.1.1",
        proxy_type=3,
        proxy_ip="10.0.0.9",
        proxy_port=1080,
        proxy_auth=1,
        user_length=3,
        user=b"abc",
        password_length=0,
        password=b"",
        listen_port=9001,
    )


def test_f8_work_mode() -> None:
    # Table 29: TCP (D7 0), client (D5-D4 01), permanent online (D1-D0 01) = 0x11;
    # redial 30 s, 3 redials, idle 10 min, online 08:00-18:00 (bits 8..17).
    data = both_ways("00 00 80 00", "11 1E 00 03 0A 00 FF 03")
    assert data == WorkMode(0, 1, 1, 30, 3, 10, 0x03FF00)


def test_f9_event_config() -> None:
    # Table 30: record ERC1 and ERC14 (bits 0 and 13), ERC14 important.
    data = both_ways("00 00 01 01", "01 20" + " 00" * 6 + " 00 20" + " 00" * 6)
    assert data == EventConfig(recorded=0x2001, important=0x2000)


METER_1 = (
    "01 00"  # number 1
    " 01 00"  # measuring point 1
    " 62"  # D7-D5 baud code 3 (2400), D4-D0 port 2
    " 1E"  # protocol 30: DL/T 645-2007
    " 78 56 34 12 00 00"  # address 000012345678 (A.12, low byte first)
    " 00 00 00 00 00 00"  # password
    " 04"  # D3-D0 four tariffs
    " 09"  # D3-D2 = 2 (6 integer digits), D1-D0 = 1 (2 decimals)
    " 00 00 00 00 00 00"  # collector 0: directly on the terminal
    " 12"  # user class 1, subclass 2
)


def test_f10_meter_config() -> None:
    # Table 31: n = 2 (BIN2), then 27 bytes per meter; the second one is deleted
    # (point 0) and uses the default baud on carrier port 31.
    meter_2 = "02 00 00 00 1F 1F 01 00 00 00 00 00" + " 00" * 6 + " 00 00" + " 00" * 7
    data = both_ways("00 00 02 01", f"02 00 {METER_1} {meter_2}")
    assert isinstance(data, MeterConfigs)
    assert data.count == 2
    first, second = data.meters
    assert first == MeterConfig(
        number=1,
        point=1,
        baud=BaudCode.B2400,
        port=2,
        protocol=MeterProtocol.DLT645_2007,
        address="000012345678",
        password=bytes(6),
        tariff_count=4,
        integer_code=2,
        decimal_code=1,
        collector="000000000000",
        user_class=1,
        user_subclass=2,
    )
    assert (second.point, second.baud, second.port) == (0, BaudCode.DEFAULT, 31)
    assert second.protocol == MeterProtocol.CARRIER
    assert second.address == "000000000001"


def test_load_control_values() -> None:
    # F17 (DT 01 02) A.2 120 kW: BCD 20, G3G2G1 = 100 (x1), hundreds 1 -> 20 81.
    assert both_ways("00 00 01 02", "20 81") == SecurityValue(120.0)
    # F19 / F20 (DT 04 02 / 08 02) A.4: 5 % up, 5 % down (S0 = 1).
    assert both_ways("00 00 04 02", "05") == FloatCoefficient(5)
    assert both_ways("00 00 08 02", "85") == FloatCoefficient(-5)
    # F23 (DT 40 02) BS24: alarm 00:00-08:00.
    assert both_ways("00 00 40 02", "FF 00 00") == ArrearsAlarmHours(0xFF)


def test_f18_control_periods() -> None:
    # Table 39: two bits per half hour, D1-D0 first. 0x24 = 00 10 01 00:
    # 00:00 none, 00:30 control 1, 01:00 control 2, 01:30 none.
    data = both_ways("00 00 02 02", "24" + " 00" * 10 + " 03")
    assert isinstance(data, ControlPeriods)
    states = data.states()
    assert len(states) == 48
    assert states[:4] == [0, 1, 2, 0]
    assert states[44:] == [3, 0, 0, 0]


def test_f25_point_basics() -> None:
    # Table 45: PT 10, CT 40, 220.0 V (A.7 00 22), 5.0 A (A.22 50),
    # 0.6600 kVA (A.23 00 66 00), three-phase four-wire, phase unknown. Point 9.
    unit = single(
        command(AFN.SET_PARAM, "01 02 01 03 0A 00 28 00 00 22 50 00 66 00 02")
    )
    assert unit.pn == 9
    assert unit.data == PointBasics(
        10, 40, 220.0, 5.0, 0.66, Wiring.THREE_PHASE_FOUR_WIRE, 0
    )


def test_f42_to_f49_load_control() -> None:
    # F42 (DT 02 05) table 59: 500 kW (A.2 00 85), from 08:30 (A.19 30 08) for
    # 4 half hours, Monday-Friday (D1-D5 = 0x3E).
    assert both_ways("01 01 02 05", "00 85 30 08 04 3E") == FactoryRestControl(
        500.0, time(8, 30), 4, 0x3E
    )
    # F43 (DT 04 05) table 60: 15 min.
    assert both_ways("01 01 04 05", "0F") == PowerSlipTime(15)
    # F44 (DT 08 05) table 61: 2024-05-01 .. 2024-06-30 (A.20), 200 kW (A.2 00 82).
    assert both_ways("01 01 08 05", "01 05 24 30 06 24 00 82") == (
        BusinessSuspensionControl(date(2024, 5, 1), date(2024, 6, 30), 200.0)
    )
    # F45 / F48 (DT 10 05 / 80 05) tables 62/65: rounds 1 and 2.
    assert both_ways("01 01 10 05", "03") == ControlRounds(3)
    assert both_ways("01 01 80 05", "03") == ControlRounds(3)
    # F46 (DT 20 05) table 63: 15000 kWh (A.3 00 50 01 00), alarm at 10 % (A.4).
    assert both_ways("01 01 20 05", "00 50 01 00 10") == MonthlyEnergyControl(15000, 10)
    # F49 (DT 01 06) table 66, pn = control round 1: 5 min.
    assert both_ways("01 01 01 06", "05") == PowerControlAlarmTime(5)


def test_f47_purchase_control() -> None:
    # Table 64: order 1, append (55H), 1000 kWh, alarm at 200, trip at 50 (A.3).
    data = both_ways(
        "01 01 40 05", "01 00 00 00 55 00 10 00 00 00 02 00 00 50 00 00 00"
    )
    assert data == PurchaseControl(1, PurchaseMode.APPEND, 1000, 200, 50)


def test_f150_point_status_is_query_only() -> None:
    # Table 85 / fig. 21: bit n = point n; points 1 and 2 valid, point 2 changed.
    valid = "06" + " 00" * 255
    changed = "04" + " 00" * 255
    unit = single(response(AFN.QUERY_PARAM, f"00 00 20 12 {valid} {changed}"))
    assert unit.fn == 150
    assert isinstance(unit.data, PointStatus)
    assert flagged_points(unit.data.valid) == [1, 2]
    assert flagged_points(unit.data.changed) == [2]
    with pytest.raises(Exception, match="not in the catalogue"):
        lookup(AFN.SET_PARAM, 150, 0)


# --- AFN0A query forms ---------------------------------------------------------------


def test_query_without_data() -> None:
    # Most queries carry only the identifier: F1, F3 (DT1 = 0b101) at p0.
    frame = decode_frame(query(AFN.QUERY_PARAM, "00 00 05 00"))
    assert frame.ok
    assert frame.units == [DataUnit(0, 1), DataUnit(0, 3)]
    assert "查询参数" in lookup(AFN.QUERY_PARAM, 25, 0).name


def test_f10_query_selects_numbers() -> None:
    # Table 124: n = 2 (BIN2), numbers 1 and 5 (BIN2 each).
    unit = single(query(AFN.QUERY_PARAM, "00 00 02 01 02 00 01 00 05 00"))
    assert unit.data == MeterConfigQuery(2, [1, 5])


OBJECT_QUERIES = [
    (11, "04 01"),
    (13, "10 01"),
    (14, "20 01"),
    (15, "40 01"),
    (33, "01 04"),
    (34, "02 04"),
]


@pytest.mark.parametrize(("fn", "dt"), OBJECT_QUERIES)
def test_object_queries(fn: int, dt: str) -> None:
    # Table 125: n (BIN1) then n numbers (BIN1).
    unit = single(query(AFN.QUERY_PARAM, f"00 00 {dt} 02 01 03"))
    assert (unit.fn, unit.data) == (fn, ObjectQuery(2, [1, 3]))


def test_data_config_queries() -> None:
    # Table 126: user class 1, n = 2, subclasses 0 and 1; F38 (DT 20 04), F39 (40 04).
    unit = single(query(AFN.QUERY_PARAM, "00 00 20 04 01 02 00 01"))
    assert (unit.fn, unit.data) == (38, DataConfigQuery(1, 2, [0, 1]))
    unit = single(query(AFN.QUERY_PARAM, "00 00 40 04 01 00"))
    assert (unit.fn, unit.data) == (39, DataConfigQuery(1, 0, []))
