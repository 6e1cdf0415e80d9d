"""The simulated concentrator against a head-end session, in memory (STYLE T6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pytest

from protocols import dlt645
from protocols.dlt645 import RelayCommand
from protocols.gdw1376 import ALL_POINTS, DataUnit, decode_frame
from protocols.gdw1376.events import (
    Confirmed,
    Denied,
    MasterEvent,
    Request,
    Response,
)
from protocols.gdw1376.formats import YearMonth
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.session import MasterSession, SessionConfig
from protocols.gdw1376.units.afn0c import (
    METER_POWER_OFF,
    METER_POWER_ON,
    ActiveReading,
    ForwardReadings,
    MeterSupplyState,
    PowerVoltageCurrent,
    TerminalClock,
)
from protocols.gdw1376.units.afn0d import (
    DailyActiveReading,
    DailyForwardReadings,
    MonthlyActiveReading,
    MonthlyForwardReadings,
    PowerCurve,
    ReadingCurve,
    TdCurve,
    TdDaily,
    TdMonthly,
    VoltageCurve,
)
from protocols.gdw1376.units.afn0e import (
    EventReport,
    EventRequest,
    ParameterChange,
    PowerOffOn,
)
from protocols.gdw1376.units.afn0e import RemoteTrip as RemoteTripRecord
from protocols.gdw1376.units.afn04 import (
    MasterAddress,
    MeterConfig,
    MeterConfigQuery,
    MeterConfigs,
    UplinkCommParams,
)
from protocols.gdw1376.units.afn05 import KeepPowerOn, RemoteTrip, TimeSync
from protocols.gdw1376.units.afn09 import TerminalVersion
from protocols.gdw1376.units.afn10 import (
    ForwardMeterRead,
    ForwardMeterReadReply,
    ForwardResult,
    TransparentForward,
    TransparentForwardReply,
)
from simulators._model import Kind, local_datetime, meter_address
from simulators._readings import AnswerCache
from simulators.concentrator import (
    NO_BACKUP,
    WRONG_APN,
    Concentrator,
    ConcentratorConfig,
)

NOW = 1_764_050_000.0  # 2025-11-25 13:53:20 Beijing time
TODAY = date(2025, 11, 25)


class Pair:
    """A concentrator and a master session joined in memory."""

    def __init__(self, **config: object) -> None:
        cfg = ConcentratorConfig(**{"meters": 8, **config})  # type: ignore[arg-type]
        self.cache = AnswerCache()
        self.conc = Concentrator(cfg, NOW, cache=self.cache)
        self.master = MasterSession(SessionConfig(timeout=5.0))
        self.outcomes: list[str] = []
        self.wire_up: list[bytes] = []
        self.conc.session.connect(NOW)
        self.pump()
        assert self.conc.session.online

    def pump(self, now: float = NOW) -> list[MasterEvent]:
        events: list[MasterEvent] = []
        for _ in range(50):
            up = self.conc.session.data_to_send()
            if up:
                self.wire_up.append(up)
                self.master.receive_data(up, 0.0)
                events += self.master.events()
            down = self.master.data_to_send()
            if down:
                self.conc.session.receive_data(down, now)
                for ev in self.conc.session.events():
                    if isinstance(ev, Request):
                        self.outcomes.append(self.conc.handle(ev.frame, now))
            if not up and not down:
                return events
        raise AssertionError("link did not settle")

    def ask(self, afn: int, units: Sequence[DataUnit], now: float = NOW) -> MasterEvent:
        rid = self.master.send_request(afn, units, 0.0)
        for ev in self.pump(now):
            if getattr(ev, "request_id", None) == rid:
                return ev
        raise AssertionError("no answer")

    def data(
        self, afn: int, units: Sequence[DataUnit], now: float = NOW
    ) -> list[DataUnit]:
        found = self.ask(afn, units, now)
        assert isinstance(found, Response), found
        assert all(u.error is None for u in found.units)
        return found.units


def test_login_carries_the_power_on_event() -> None:
    pair = Pair()
    login = decode_frame(pair.wire_up[0])
    assert login.acd
    assert login.ec == (1, 0)
    [unit] = pair.data(AFN.CLASS3, [DataUnit(0, 1, EventRequest(0, 1))])
    report = unit.data
    assert isinstance(report, EventReport)
    assert (report.ec1, report.pm, report.pn) == (1, 0, 1)
    [record] = report.records
    assert record.erc == 14
    event = record.embedded()["event"]
    assert isinstance(event, PowerOffOn)
    assert event.power_on == local_datetime(NOW).replace(second=0)
    assert pair.conc.session.ec is None  # all important events read: ACD cleared
    # Normal events: none yet.
    [normal] = pair.data(AFN.CLASS3, [DataUnit(0, 2, EventRequest(0, 5))])
    assert isinstance(normal.data, EventReport)
    assert normal.data.records == []


def test_version_info() -> None:
    [unit] = Pair(a2=1234).data(AFN.CONFIG, [DataUnit(0, 1)])
    assert isinstance(unit.data, TerminalVersion)
    assert unit.data.device_number == "00001234"
    assert unit.data.protocol_version == "12.X"


def test_terminal_clock_and_unknown_requests() -> None:
    pair = Pair()
    [unit] = pair.data(AFN.CLASS1, [DataUnit(0, 2)])
    assert unit.data == TerminalClock(local_datetime(NOW))
    assert isinstance(pair.ask(AFN.CLASS1, [DataUnit(0, 3)]), Denied)  # not kept
    assert isinstance(pair.ask(AFN.RESET, [DataUnit(0, 1)]), Denied)


def test_real_time_data_per_point() -> None:
    pair = Pair(meters=8)
    m = pair.conc.meter(3)
    assert m is not None
    units = [DataUnit(pn, fn) for pn in (3, 4, 99) for fn in (25, 33, 129, 161)]
    got = pair.data(AFN.CLASS1, units)
    assert [(u.pn, u.fn) for u in got] == [(pn, fn) for pn in (3, 4)
                                           for fn in (25, 33, 129, 161)]  # fmt: skip
    pvc, fwd, active, state = (u.data for u in got[:4])
    assert isinstance(pvc, PowerVoltageCurrent)
    assert pvc.voltage_a is not None
    assert isinstance(fwd, ForwardReadings)
    assert fwd.tariff_count == 4
    assert isinstance(active, ActiveReading)
    assert active.readings == [v / 100 for v in m.energy(Kind.FORWARD, NOW)]
    assert fwd.active == active.readings
    assert isinstance(state, MeterSupplyState)
    assert state.state == METER_POWER_ON
    assert isinstance(pair.ask(AFN.CLASS1, [DataUnit(99, 129)]), Denied)


def test_all_points_request() -> None:
    got = Pair(meters=5).data(AFN.CLASS1, [DataUnit(ALL_POINTS, 129)])
    assert [u.pn for u in got] == [1, 2, 3, 4, 5]


def test_daily_frozen_over_several_frames() -> None:
    pair = Pair(meters=40, max_l1=300)
    day = date(2025, 11, 20)
    units = [DataUnit(pn, 161, TdDaily(day)) for pn in range(1, 41)]
    found = pair.ask(AFN.CLASS2, units)
    assert isinstance(found, Response)
    assert len(found.frames) > 3  # split into FIR/FIN frames
    assert [u.pn for u in found.units] == list(range(1, 41))
    for u in found.units:
        m = pair.conc.meter(u.pn)
        assert m is not None
        assert isinstance(u.data, DailyActiveReading)
        assert u.data.td == day
        assert u.data.readings == [v / 100 for v in m.daily_frozen(day)]
        assert u.data.read_time is not None
        assert u.data.read_time.date() == day
        assert u.data.read_time.hour == 0
    # The same request again is answered from the cache, with the same bytes.
    hits = pair.cache.hits
    again = pair.ask(AFN.CLASS2, units)
    assert isinstance(again, Response)
    assert again.units == found.units
    assert pair.cache.hits == hits + 40


def test_daily_f1_and_availability() -> None:
    pair = Pair()
    [unit] = pair.data(AFN.CLASS2, [DataUnit(2, 1, TdDaily(date(2025, 11, 24)))])
    assert isinstance(unit.data, DailyForwardReadings)
    assert sum(unit.data.active[1:]) == pytest.approx(unit.data.active[0])  # type: ignore[arg-type]
    # Tomorrow, and today before the freeze has been read: nothing.
    for when, day in ((NOW, date(2025, 11, 26)), (1_764_000_000.0 + 30, TODAY)):
        assert isinstance(pair.ask(AFN.CLASS2, [DataUnit(2, 161, TdDaily(day))], when),
                          Denied)  # fmt: skip


def test_monthly_frozen() -> None:
    pair = Pair()
    m = pair.conc.meter(1)
    assert m is not None
    got = pair.data(AFN.CLASS2, [DataUnit(1, 17, TdMonthly(YearMonth(2025, 10))),
                                 DataUnit(1, 177, TdMonthly(YearMonth(2025, 11)))])  # fmt: skip
    f17, f177 = (u.data for u in got)
    assert isinstance(f17, MonthlyForwardReadings)
    assert isinstance(f177, MonthlyActiveReading)
    assert f177.readings == [v / 100 for v in m.monthly_frozen(2025, 11)]


def test_curves() -> None:
    pair = Pair()
    start = datetime(2025, 11, 25, 13, 0)
    got = pair.data(AFN.CLASS2, [DataUnit(1, fn, TdCurve(start, 1, 8))
                                 for fn in (81, 89, 101)])  # fmt: skip
    power, volts, readings = (u.data for u in got)
    assert isinstance(power, PowerCurve)
    assert isinstance(volts, VoltageCurve)
    assert isinstance(readings, ReadingCurve)
    assert power.values[:4] != [None] * 4
    assert power.values[4:] == [None] * 4
    assert all(v is not None and 215 < v < 225 for v in volts.values[:4])
    past = [v for v in readings.values if v is not None]
    assert past == sorted(past)


def test_set_and_query_parameters() -> None:
    pair = Pair(master_port=10000)
    [f3] = pair.data(AFN.QUERY_PARAM, [DataUnit(0, 3)])
    assert f3.data == MasterAddress("127.0.0.1", 10000, NO_BACKUP, 0, "CMNET")
    params = UplinkCommParams(0, 5, 30, 3, 0, 0, 1, 15)
    new_master = MasterAddress("10.1.2.3", 9001, "10.1.2.4", 9002, "ZJDL.ZJ")
    found = pair.ask(
        AFN.SET_PARAM, [DataUnit(0, 1, params), DataUnit(0, 3, new_master)]
    )
    assert isinstance(found, Confirmed)
    assert pair.conc.session.config.heartbeat_interval == 15 * 60
    got = pair.data(AFN.QUERY_PARAM, [DataUnit(0, 1), DataUnit(0, 3)])
    assert [u.data for u in got] == [params, new_master]
    # The change is an ERC3 event.
    [unit] = pair.data(AFN.CLASS3, [DataUnit(0, 1, EventRequest(1, 2))])
    assert isinstance(unit.data, EventReport)
    change = unit.data.records[0].embedded()["event"]
    assert isinstance(change, ParameterChange)
    assert len(change.units) == 2


def test_wrong_parameters() -> None:
    [f3] = Pair(wrong_parameters=True).data(AFN.QUERY_PARAM, [DataUnit(0, 3)])
    assert isinstance(f3.data, MasterAddress)
    assert f3.data.apn == WRONG_APN


def test_meter_configuration() -> None:
    pair = Pair(meters=4)
    [unit] = pair.data(AFN.QUERY_PARAM, [DataUnit(0, 10, MeterConfigQuery(2, [2, 9]))])
    assert isinstance(unit.data, MeterConfigs)
    assert unit.data.count == 1
    entry = unit.data.meters[0]
    assert (entry.point, entry.protocol, entry.address) == (2, 30, meter_address(0, 2))
    # Delete p2 (point 0) and add number 9 as p9 with another address.
    new = MeterConfig(9, 9, 3, 2, 30, "123456789012", bytes(6), 4, 2, 1,
                      "000000000000", 0, 0)  # fmt: skip
    gone = MeterConfig(2, 0, 0, 0, 0, "000000000000", bytes(6), 0, 0, 0,
                       "000000000000", 0, 0)  # fmt: skip
    assert isinstance(pair.ask(AFN.SET_PARAM, [DataUnit(0, 10, MeterConfigs(2, [new, gone]))]),
                      Confirmed)  # fmt: skip
    got = pair.data(AFN.CLASS1, [DataUnit(pn, 129) for pn in (1, 2, 9)])
    assert [u.pn for u in got] == [1, 9]
    assert pair.conc.table.point_of_address("123456789012") == 9


def test_meter_configuration_answers_are_split_into_units() -> None:
    pair = Pair(meters=100, max_l1=400)
    got = pair.data(AFN.QUERY_PARAM,
                    [DataUnit(0, 10, MeterConfigQuery(100, list(range(1, 101))))])  # fmt: skip
    assert len(got) > 1
    assert sum(u.data.count for u in got) == 100


def test_remote_trip_allow_close_and_keep_power() -> None:
    pair = Pair()
    assert isinstance(
        pair.ask(AFN.CONTROL, [DataUnit(1, 1, RemoteTrip(0, 0))]), Confirmed
    )
    assert pair.conc.tripped_rounds == 0b1
    assert isinstance(pair.ask(AFN.CONTROL, [DataUnit(1, 2)]), Confirmed)
    assert pair.conc.tripped_rounds == 0
    assert isinstance(
        pair.ask(AFN.CONTROL, [DataUnit(0, 25, KeepPowerOn(2))]), Confirmed
    )
    assert pair.conc.keep_power(NOW)
    assert not pair.conc.keep_power(NOW + 3601)
    assert isinstance(pair.ask(AFN.CONTROL, [DataUnit(2, 1, RemoteTrip(0, 0))]), Denied)
    assert isinstance(pair.ask(AFN.CONTROL, [DataUnit(0, 33)]), Confirmed)
    assert isinstance(
        pair.ask(AFN.CONTROL, [DataUnit(2, 1, RemoteTrip(0, 0))]), Confirmed
    )
    assert isinstance(pair.ask(AFN.CONTROL, [DataUnit(0, 29)]), Confirmed)  # any other
    # Each trip is an ERC5 record (after ERC14 at pointer 0).
    [unit] = pair.data(AFN.CLASS3, [DataUnit(0, 1, EventRequest(0, 10))])
    assert isinstance(unit.data, EventReport)
    trips = [r.embedded()["event"] for r in unit.data.records if r.erc == 5]
    assert [t.rounds for t in trips if isinstance(t, RemoteTripRecord)] == [1, 2]


def test_time_sync() -> None:
    pair = Pair()
    target = local_datetime(NOW) + timedelta(minutes=5)
    assert isinstance(
        pair.ask(AFN.CONTROL, [DataUnit(0, 31, TimeSync(target))]), Confirmed
    )
    [unit] = pair.data(AFN.CLASS1, [DataUnit(0, 2)])
    assert unit.data == TerminalClock(target)


def _forward(content: bytes) -> DataUnit:
    return DataUnit(0, 1, TransparentForward.of(31, content))


def test_transparent_forwarding_of_a_645_read() -> None:
    pair = Pair()
    address = meter_address(0, 3)
    request = dlt645.encode_frame(dlt645.read(address, 0x00010000))
    [unit] = pair.data(AFN.FORWARD, [_forward(request)])
    reply = unit.data
    assert isinstance(reply, TransparentForwardReply)
    assert reply.port == 31
    frame = reply.embedded()["frame"]
    assert isinstance(frame, dlt645.Frame)
    m = pair.conc.meter(3)
    assert m is not None
    assert dlt645.interpret(frame).values == {
        "forward_active_total": m.energy(Kind.FORWARD, NOW)[0] / 100
    }
    # An address the concentrator does not have: an empty reply (timeout).
    unknown = dlt645.encode_frame(dlt645.read("999999999990", 0x00010000))
    [empty] = pair.data(AFN.FORWARD, [_forward(unknown)])
    assert isinstance(empty.data, TransparentForwardReply)
    assert empty.data.length == 0


def test_transparent_relay_control_keeps_the_meter_state() -> None:
    pair = Pair(relay_fails_point=5)
    until = local_datetime(NOW) + timedelta(minutes=10)
    for pn in (4, 5):
        trip = dlt645.relay_control(meter_address(0, pn), RelayCommand.TRIP, until,
                                    password="000000", operator="00000000")  # fmt: skip
        [unit] = pair.data(AFN.FORWARD, [_forward(dlt645.encode_frame(trip))])
        assert isinstance(unit.data, TransparentForwardReply)
        assert unit.data.content[8] == 0x9C  # acknowledged
    got = pair.data(AFN.CLASS1, [DataUnit(4, 161), DataUnit(5, 161)])
    states = [u.data.state for u in got if isinstance(u.data, MeterSupplyState)]
    assert states == [METER_POWER_OFF, METER_POWER_ON]  # p5's relay failed to trip


def test_forwarded_meter_read() -> None:
    pair = Pair()
    read = ForwardMeterRead(31, 0, [], meter_address(0, 2), 1, 0, 0x00010000)
    [unit] = pair.data(AFN.FORWARD, [DataUnit(0, 9, read)])
    reply = unit.data
    assert isinstance(reply, ForwardMeterReadReply)
    assert reply.result == ForwardResult.DATA
    assert reply.di == 0x00010000
    m = pair.conc.meter(2)
    assert m is not None
    assert reply.reading().values == {
        "forward_active_total": m.energy(Kind.FORWARD, NOW)[0] / 100
    }


def test_zero_energy_point() -> None:
    pair = Pair(zero_energy_point=2)
    days = [date(2025, 11, 1), date(2025, 11, 24)]
    got = pair.data(AFN.CLASS2, [DataUnit(pn, 161, TdDaily(d)) for pn in (1, 2)
                                 for d in days])  # fmt: skip
    p1_first, p1_last, p2_first, p2_last = (u.data.readings[0] for u in got)
    assert p1_last > p1_first
    assert p2_last == p2_first


def test_answers_are_fast() -> None:
    # O(points asked): 100 F161 points of a 2,000-meter concentrator, uncached.
    pair = Pair(meters=2000)
    pair.conc.cache = None
    units = [DataUnit(pn, 161, TdDaily(date(2025, 11, 24))) for pn in range(1901, 2001)]
    found = pair.ask(AFN.CLASS2, units)
    assert isinstance(found, Response)
    assert len(found.units) == 100
