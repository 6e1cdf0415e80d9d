"""AFN 01H reset and AFN 05H control units, on frames built from Std-2013 §5.2, §5.6."""

from __future__ import annotations

from datetime import datetime

import pytest

from protocols.errors import LocalProtocolError
from protocols.gdw1376 import AFN, DataUnit, Frame, decode_frame, encode_frame
from protocols.gdw1376.registry import lookup
from protocols.gdw1376.units.afn01 import ResetFn
from protocols.gdw1376.units.afn05 import (
    MAX_MESSAGE_BYTES,
    AutoMaintenance,
    AutoMaintenanceSwitch,
    CapacitorOff,
    CapacitorOn,
    ChineseMessage,
    ControlFn,
    FloatDownControlOn,
    KeepPowerOn,
    MessageKind,
    MeterTimeSyncSwitch,
    PeriodPowerControlOn,
    PortCommand,
    RemoteTrip,
    TimeSync,
)
from tests.protocols.gdw1376.unitframes import (
    C_RESET,
    PW,
    SEQ_CON,
    command,
    decoded,
    single,
    wrap,
)

# PROTOCOLS.md §1.11 (constructed there, also tests/vectors/gdw1376/X_afn05_f1_*.hex):
# round 1, alarm delay 0, limit time 0, PW zero, A1 4403, A2 1, MSA 1, PSEQ 3.
REMOTE_TRIP = bytes.fromhex(
    "68 76 00 76 00 68 4A 03 44 01 00 02 05 73 01 01 01 00 00" + " 00" * 16 + " 0F 16"
)
# Same, F2 allow close, PSEQ 4, no data byte.
ALLOW_CLOSE = bytes.fromhex(
    "68 72 00 72 00 68 4A 03 44 01 00 02 05 74 01 01 02 00" + " 00" * 16 + " 11 16"
)


# --- AFN 01H -------------------------------------------------------------------------


@pytest.mark.parametrize("fn", list(ResetFn))
def test_reset_has_no_data(fn: ResetFn) -> None:
    # DA p0, DT = bit (fn-1) of group 0; PW follows directly (table 13, fig. 14).
    wire = wrap(C_RESET, AFN.RESET, SEQ_CON, bytes((0, 0, 1 << (fn - 1), 0)), PW)
    frame = decoded(wire)
    assert frame.units == [DataUnit(0, fn)]
    assert frame.pw == PW
    assert lookup(AFN.RESET, fn, 0).cls is None


# --- AFN 05H -------------------------------------------------------------------------


def test_remote_trip_protocols_vector() -> None:
    frame = decoded(REMOTE_TRIP)
    assert (frame.c, frame.a1, frame.a2, frame.msa) == (0x4A, "4403", 1, 1)
    assert (frame.afn, frame.con, frame.pseq) == (AFN.CONTROL, True, 3)
    assert frame.units == [DataUnit(1, ControlFn.REMOTE_TRIP, RemoteTrip(0, 0))]
    built = Frame(0x4A, "4403", 1, 2, 5, 0x73, [DataUnit(1, 1, RemoteTrip(0, 0))])
    assert encode_frame(built) == REMOTE_TRIP


def test_allow_close_protocols_vector() -> None:
    frame = decoded(ALLOW_CLOSE)
    assert frame.pseq == 4
    assert frame.units == [DataUnit(1, ControlFn.ALLOW_CLOSE)]


def test_remote_trip_bit_fields() -> None:
    # Table 87: D7-D4 alarm delay 5 min, D3-D0 limit time 4 half hours -> 0x54; round 2.
    unit = single(command(AFN.CONTROL, "02 01 01 00 54"))
    assert unit.pn == 2
    assert unit.data == RemoteTrip(alarm_delay=5, limit_time=4)
    with pytest.raises(LocalProtocolError):
        encode_frame(
            Frame(0x4A, "4403", 1, 2, 5, 0x73, [DataUnit(1, 1, RemoteTrip(16, 0))])
        )


def test_period_power_control_on() -> None:
    # Table 88: periods 1 and 3 (BS8 0x05), scheme 1 = second scheme; group 1.
    unit = single(command(AFN.CONTROL, "01 01 01 01 05 01"))
    assert (unit.pn, unit.fn) == (1, 9)
    assert unit.data == PeriodPowerControlOn(periods=0x05, scheme=1)


def test_float_down_control_on() -> None:
    # Table 89: slip 15 min, coefficient A.4 down 20 % (0xA0), freeze 10 min,
    # control 2 h (4 half hours), alarm times 1..4 min.
    unit = single(command(AFN.CONTROL, "01 01 08 01 0F A0 0A 04 01 02 03 04"))
    assert unit.fn == 12
    assert unit.data == FloatDownControlOn(15, -20, 10, 4, [1, 2, 3, 4])


def test_keep_power_and_switches() -> None:
    # F25 (DT bit 0 of group 3): 48 half hours; F30 (bit 5): time sync on; both p0,
    # so one identifier DT 21 03 names both and their data follow in Fn order.
    frame = decoded(command(AFN.CONTROL, "00 00 21 03 30 01"))
    assert frame.units == [
        DataUnit(0, 25, KeepPowerOn(48)),
        DataUnit(0, 30, MeterTimeSyncSwitch(1)),
    ]


def test_time_sync() -> None:
    # Table 92, A.1: 2019-07-03 17:41:17, Wednesday (week 3 in D7-D5 of the month byte).
    unit = single(command(AFN.CONTROL, "00 00 40 03 17 41 17 03 67 19"))
    assert unit.fn == 31
    assert unit.data == TimeSync(datetime(2019, 7, 3, 17, 41, 17))


def test_chinese_message() -> None:
    # Table 93: kind 1 (important) in D7-D4, number 3 in D3-D0, Lcn 4, GB2312 "测试".
    unit = single(command(AFN.CONTROL, "00 00 80 03 13 04 B2 E2 CA D4"))
    assert unit.fn == 32
    msg = unit.data
    assert isinstance(msg, ChineseMessage)
    assert (msg.kind, msg.number, msg.length) == (MessageKind.IMPORTANT, 3, 4)
    assert msg.decoded() == "测试"
    assert ChineseMessage.build(MessageKind.IMPORTANT, 3, "测试") == msg


def test_chinese_message_low_byte_first() -> None:
    # The literal reading of table 93 c): each GB character low byte first.
    msg = ChineseMessage.build(0, 1, "测A试", low_byte_first=True)
    assert msg.text == bytes.fromhex("E2 B2 41 D4 CA")
    assert msg.decoded(low_byte_first=True) == "测A试"


def test_chinese_message_limit() -> None:
    ChineseMessage.build(0, 0, "字" * (MAX_MESSAGE_BYTES // 2))
    with pytest.raises(LocalProtocolError):
        ChineseMessage.build(0, 0, "字" * (MAX_MESSAGE_BYTES // 2 + 1))


def test_capacitor_control() -> None:
    # Tables 94/95, BS16: groups 1 and 2 in (F41), group 9 out (F42); point 1. Both
    # Fns are in DT group 5, so one identifier (DT1 = 0b11) carries both units.
    frame = decoded(command(AFN.CONTROL, "01 01 03 05 03 00 00 01"))
    assert frame.units == [
        DataUnit(1, 41, CapacitorOn(0x0003)),
        DataUnit(1, 42, CapacitorOff(0x0100)),
    ]


@pytest.mark.parametrize("fn", [49, 50, 51, 52, 53])
def test_port_commands(fn: int) -> None:
    # Table 96: port 2. F49-F53 are DT group 6 (bits 0-4).
    dt1 = 1 << (fn - 49)
    unit = single(command(AFN.CONTROL, bytes((0, 0, dt1, 6, 2))))
    assert (unit.fn, unit.data) == (fn, PortCommand(2))


def test_auto_maintenance() -> None:
    # Table 97: F149 = DT group 18, bit 4; state 1 = on, update F10.
    unit = single(command(AFN.CONTROL, "00 00 10 12 01"))
    assert unit.data == AutoMaintenanceSwitch(AutoMaintenance.ON_UPDATE_F10)


NO_DATA = [
    ControlFn.ALLOW_CLOSE,
    ControlFn.FACTORY_REST_CONTROL_ON,
    ControlFn.BUSINESS_SUSPENSION_CONTROL_ON,
    ControlFn.MONTHLY_ENERGY_CONTROL_ON,
    ControlFn.PURCHASE_CONTROL_ON,
    ControlFn.PERIOD_POWER_CONTROL_OFF,
    ControlFn.FACTORY_REST_CONTROL_OFF,
    ControlFn.BUSINESS_SUSPENSION_CONTROL_OFF,
    ControlFn.FLOAT_DOWN_CONTROL_OFF,
    ControlFn.MONTHLY_ENERGY_CONTROL_OFF,
    ControlFn.PURCHASE_CONTROL_OFF,
    ControlFn.ARREARS_ALARM_ON,
    ControlFn.ALLOW_TALK,
    ControlFn.EXCLUSION_ON,
    ControlFn.ALLOW_ACTIVE_REPORT,
    ControlFn.KEEP_POWER_OFF,
    ControlFn.ARREARS_ALARM_OFF,
    ControlFn.FORBID_TALK,
    ControlFn.EXCLUSION_OFF,
    ControlFn.FORBID_ACTIVE_REPORT,
    ControlFn.ACTIVATE_LINK,
    ControlFn.DISCONNECT_LINK,
    ControlFn.RESET_POINT_CHANGE_FLAGS,
]


def test_every_control_fn_is_registered() -> None:
    for fn in ControlFn:
        spec = lookup(AFN.CONTROL, fn, 0)
        assert (spec.cls is None) == (fn in NO_DATA), fn


def test_no_data_commands_share_identifiers() -> None:
    # Group 3 of table 86: F17-F20, F23, F24 release commands, total-add group 1, one
    # DA/DT (DT1 = 0b11001111) and no data bytes at all.
    frame = decoded(command(AFN.CONTROL, "01 01 CF 02"))
    assert [(u.pn, u.fn, u.data) for u in frame.units] == [
        (1, fn, None) for fn in (17, 18, 19, 20, 23, 24)
    ]
    # Group 5, p0: F33-F39. Decode only: the encoder gives each p0 unit its own
    # identifier, which is also valid.
    frame = decode_frame(command(AFN.CONTROL, "00 00 7F 04"))
    assert frame.ok
    assert [(u.pn, u.fn, u.data) for u in frame.units] == [
        (0, fn, None) for fn in range(33, 40)
    ]
