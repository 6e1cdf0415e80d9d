"""Data-anomaly options of the simulator: each faulty meter or clock answers the wrong
values it promises, on its own point, and every other meter answers as if healthy."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from protocols import dlt645
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.formats import YearMonth
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0c import (
    ActiveReading,
    MeterClock,
    MeterClockAndCounts,
    TerminalClock,
)
from protocols.gdw1376.units.afn0d import (
    DailyActiveReading,
    DailyForwardReadings,
    MonthlyActiveReading,
    TdDaily,
    TdMonthly,
)
from protocols.gdw1376.units.afn05 import TimeSync
from protocols.gdw1376.units.afn10 import (
    ForwardMeterRead,
    ForwardMeterReadReply,
    TransparentForward,
)
from simulators._fleetparts import ProcessSpec, anomaly_points, concentrator_config
from simulators._model import (
    JUMP,
    Kind,
    fault_day,
    local_datetime,
    meter_address,
    meter_seed,
    midnight,
)
from simulators.meter645 import Meter
from simulators.profiles import Profile, load_profile, parse_profile
from tests.simulators.test_concentrator import NOW, Pair

FAULT_DAY = date(2025, 11, 1)  # the last register fault before NOW (2025-11-25)
DAYS = [FAULT_DAY + timedelta(days=k) for k in (-2, -1, 0, 1)]
ANOMALOUS = {
    "zero_energy_point": 1,
    "negative_step_point": 3,
    "jump_point": 4,
    "clock_drift_point": 2,
    "meter_clock_drift": 900.0,
    "terminal_clock_drift": 600.0,
}


def daily(pair: Pair, pn: int, days: list[date] = DAYS) -> list[float]:
    """Daily frozen forward active totals (F161) of ``pn`` on ``days``."""
    got = pair.data(AFN.CLASS2, [DataUnit(pn, 161, TdDaily(d)) for d in days])
    out = []
    for u in got:
        assert isinstance(u.data, DailyActiveReading)
        total = u.data.readings[0]
        assert total is not None
        out.append(total)
    return out


def increments(values: list[float]) -> list[float]:
    return [round(b - a, 2) for a, b in itertools.pairwise(values)]


# --- profiles and the fleet's choice of points -----------------------------------------


def test_the_anomalies_profile() -> None:
    p = load_profile("anomalies")
    assert p.zero_energy_meter
    assert p.negative_step_meter
    assert p.jump_meter
    assert p.meter_clock_drift == 900.0
    assert p.terminal_clock_drift == 600.0
    # nothing else is faulty, the link is clean and quick
    assert p.loss == p.garbage == p.split == 0
    assert p.duplicate_login == p.ip_jump == p.flap == p.wrong_parameters == 0
    assert not p.relay_fails
    assert p.latency_max <= 0.1
    faults = load_profile("faults")  # every fault at once: these too
    assert faults.negative_step_meter
    assert faults.jump_meter
    assert faults.meter_clock_drift > 0
    assert faults.terminal_clock_drift > 0
    assert Profile("plain").meter_clock_drift == 0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"faults": {"jump_meter": 1}}, "must be a bool"),
        ({"faults": {"meter_clock_drift": "900"}}, "must be a float"),
        ({"faults": {"terminal_clock_drift": 1e9}}, "within"),
        ({"faults": {"meter_clock_drift": float("nan")}}, "within"),
    ],
)
def test_bad_anomaly_options_are_rejected(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_profile("bad", doc)


def test_the_fleet_puts_each_anomaly_on_its_own_point() -> None:
    spec = ProcessSpec("127.0.0.1", 9000, 0, 50, 8, profile=load_profile("faults"))
    for index in range(50):
        c = concentrator_config(spec, index)
        points = [c.negative_step_point, c.jump_point, c.clock_drift_point]
        assert all(1 <= pn <= 8 for pn in points)
        assert len(set(points)) == 3
        assert not {c.zero_energy_point, c.relay_fails_point} & set(points)
        assert (c.meter_clock_drift, c.terminal_clock_drift) == (900.0, 600.0)
    healthy = concentrator_config(ProcessSpec("127.0.0.1", 9000, 0, 1, 8), 0)
    assert (healthy.negative_step_point, healthy.jump_point,
            healthy.clock_drift_point) == (0, 0, 0)  # fmt: skip
    assert (healthy.meter_clock_drift, healthy.terminal_clock_drift) == (0.0, 0.0)
    # Too few points: the later anomalies go without, none doubles up.
    assert anomaly_points(7, 2, {1}, (True, True, True)) == [2, 0, 0]
    assert anomaly_points(7, 0, set(), (True, True, True)) == [0, 0, 0]
    assert anomaly_points(7, 8, set(), (False, True, False))[::2] == [0, 0]


def test_the_fault_day_is_the_first_of_the_month() -> None:
    assert fault_day(NOW) == FAULT_DAY
    assert fault_day(midnight(FAULT_DAY)) == FAULT_DAY
    assert fault_day(midnight(FAULT_DAY) - 1) == date(2025, 10, 1)


# --- register faults -----------------------------------------------------------------


def test_negative_step_meter_is_cleared_on_the_fault_day() -> None:
    faulty, healthy = Pair(**ANOMALOUS), Pair()
    values = daily(faulty, 3)
    normal = daily(healthy, 3)
    before, last, cleared, after = values
    assert cleared == 0  # 电表清零: the frozen value of the 1st
    assert cleared < last
    assert after > 0
    assert before < last < normal[1]  # counting from the last clear (1 October)
    # Once cleared it advances as a healthy meter does.
    assert increments(values)[2] == increments(normal)[2] > 0
    assert increments(values)[0] == increments(normal)[0]
    # the monthly freeze of the month (F177) and the meter's own counts agree
    [month] = faulty.data(
        AFN.CLASS2, [DataUnit(3, 177, TdMonthly(YearMonth(2025, 11)))]
    )
    assert isinstance(month.data, MonthlyActiveReading)
    assert month.data.readings[0] == 0
    [counts] = faulty.data(AFN.CLASS1, [DataUnit(3, 27)])
    assert isinstance(counts.data, MeterClockAndCounts)
    assert counts.data.meter_clears == 70  # monthly since January 2020
    assert counts.data.last_meter_clear == local_datetime(midnight(FAULT_DAY))


def test_jump_meter_gains_3000_kwh_on_the_fault_day() -> None:
    pair = Pair(**ANOMALOUS)
    steps = increments(daily(pair, 4))
    assert steps[1] >= JUMP / 100  # +3,000 kWh in one day (飞走)
    assert steps[1] - JUMP / 100 < 20  # the day's own (capped) load on top
    assert max(steps[0], steps[2]) < 20  # ordinary days around it
    got = pair.data(AFN.CLASS2, [DataUnit(4, 1, TdDaily(FAULT_DAY))])
    assert isinstance(got[0].data, DailyForwardReadings)
    total, *tariffs = got[0].data.active
    assert total is not None
    assert total == pytest.approx(sum(t for t in tariffs if t is not None))


def test_a_jump_meter_stays_in_the_645_register_range_until_2043() -> None:
    later = midnight(date(2043, 1, 1))
    for seed in range(0, 4000 * 2**24, 2**24 + 7919):  # every load, 3-phase too
        m = Meter(meter_address(0, 1), seed, register_jump=True)
        assert m.watts <= 500
        assert m.energy(Kind.FORWARD, later)[0] <= 99_999_999


def test_register_faults_leave_reactive_and_other_registers_sane() -> None:
    m = Meter(meter_address(0, 3), meter_seed(0, 3), register_reset=True)
    t = midnight(FAULT_DAY)
    for kind in Kind:
        assert m.energy(kind, t) == (0, 0, 0, 0, 0)
        total, *tariffs = m.energy(kind, NOW)
        assert total == sum(tariffs) >= 0
    jump = Meter(meter_address(0, 4), meter_seed(0, 4), register_jump=True)
    plain = Meter(meter_address(0, 4), meter_seed(0, 4))
    plain.watts = jump.watts
    assert jump.energy(Kind.Q1, NOW) == plain.energy(Kind.Q1, NOW)  # active only


# --- clocks --------------------------------------------------------------------------


def test_meter_clock_drift_in_f162_f27_and_645() -> None:
    pair = Pair(**ANOMALOUS)
    drifted = local_datetime(NOW + 900)
    got = pair.data(AFN.CLASS1, [DataUnit(pn, fn) for pn in (2, 5) for fn in (162, 27)])
    clocks = [u.data.meter_clock for u in got
              if isinstance(u.data, (MeterClock, MeterClockAndCounts))]  # fmt: skip
    assert clocks == [drifted, drifted, local_datetime(NOW), local_datetime(NOW)]
    # DL/T 645 date and time read through the concentrator (AFN10 F9)
    for di, key, want in ((0x04000102, "time", drifted.time()),
                          (0x04000101, "date", drifted.date())):  # fmt: skip
        read = ForwardMeterRead(31, 0, [], meter_address(0, 2), 1, 0, di)
        [unit] = pair.data(AFN.FORWARD, [DataUnit(0, 9, read)])
        assert isinstance(unit.data, ForwardMeterReadReply)
        assert unit.data.reading().values == {key: want}
    # A broadcast time sync (广播校时) does not cure a drift.
    sync = dlt645.encode_frame(dlt645.broadcast_time(local_datetime(NOW)))
    pair.data(AFN.FORWARD, [DataUnit(0, 1, TransparentForward.of(31, sync))])
    m = pair.conc.meter(2)
    assert m is not None
    assert m.clock(NOW) == drifted


def test_terminal_clock_drift_until_a_time_sync() -> None:
    pair = Pair(**ANOMALOUS)
    [unit] = pair.data(AFN.CLASS1, [DataUnit(0, 2)])
    assert unit.data == TerminalClock(local_datetime(NOW + 600))
    pair.ask(AFN.CONTROL, [DataUnit(0, 31, TimeSync(local_datetime(NOW)))])
    [unit] = pair.data(AFN.CLASS1, [DataUnit(0, 2)])
    assert unit.data == TerminalClock(local_datetime(NOW))
    [healthy] = Pair().data(AFN.CLASS1, [DataUnit(0, 2)])
    assert healthy.data == TerminalClock(local_datetime(NOW))


# --- the others ----------------------------------------------------------------------


def test_other_meters_are_unaffected() -> None:
    faulty, healthy = Pair(**ANOMALOUS), Pair()
    for pn in (5, 6, 7, 8):
        assert daily(faulty, pn) == daily(healthy, pn)
    units = [DataUnit(pn, fn) for pn in (5, 6, 7, 8) for fn in (27, 129, 162)]
    assert faulty.data(AFN.CLASS1, units) == healthy.data(AFN.CLASS1, units)
    # the jump and clock points only change what they promise
    assert daily(faulty, 2) == daily(healthy, 2)
    # the cleared meter's current reading (F129) counts from the clear
    [now_reading] = faulty.data(AFN.CLASS1, [DataUnit(3, 129)])
    assert isinstance(now_reading.data, ActiveReading)
    m = healthy.conc.meter(3)
    assert m is not None
    since_clear = (
        m.energy(Kind.FORWARD, NOW)[0] - m.energy(Kind.FORWARD, midnight(FAULT_DAY))[0]
    )
    assert now_reading.data.readings[0] == since_clear / 100


def test_cached_answers_keep_faulty_and_healthy_meters_apart() -> None:
    faulty, healthy = Pair(**ANOMALOUS), Pair()
    healthy.conc.cache = faulty.cache  # one process-wide cache, as in a fleet
    first = daily(faulty, 3) + daily(faulty, 4) + daily(faulty, 1)
    assert len(faulty.cache) == 12
    second = daily(healthy, 3) + daily(healthy, 4) + daily(healthy, 1)
    assert len(faulty.cache) == 24  # no faulty answer served to the healthy meters
    assert first != second
    assert daily(faulty, 3) == first[:4]  # and served back from the cache
    assert faulty.cache.hits >= 4
