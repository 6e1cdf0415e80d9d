"""The simulated DL/T 645 meter: registers, freezes, relay and faults."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from protocols import dlt645
from protocols.dlt645 import ErrorFlag, RelayCommand, Version
from simulators._model import (
    Kind,
    local_datetime,
    meter_address,
    meter_seed,
    midnight,
    registers,
)
from simulators.meter645 import Meter

NOW = 1_764_050_000.0  # 2025-11-25 13:53:20 Beijing time
ADDRESS = meter_address(0, 1)
PASSWORD, OPERATOR = "000000", "00000000"


def meter(**kw: object) -> Meter:
    return Meter(ADDRESS, meter_seed(0, 1), **kw)  # type: ignore[arg-type]


def ask(m: Meter, request: dlt645.Frame, now: float = NOW) -> dlt645.Frame | None:
    reply = m.answer(dlt645.encode_frame(request), now)
    return None if reply is None else dlt645.decode_frame(reply)


def read(m: Meter, di: int, now: float = NOW) -> dlt645.Interpretation:
    reply = ask(m, dlt645.read(m.address, di), now)
    assert reply is not None
    return dlt645.interpret(reply)


def is_open(m: Meter) -> bool:
    """The relay state (a call, so that mypy does not narrow it between commands)."""
    return m.relay_open


def relay(m: Meter, command: RelayCommand, now: float = NOW) -> dlt645.Frame:
    until = local_datetime(now) + timedelta(minutes=10)
    frame = dlt645.relay_control(m.address, command, until, password=PASSWORD,
                                 operator=OPERATOR)  # fmt: skip
    reply = ask(m, frame, now)
    assert reply is not None
    return reply


def test_registers_are_deterministic_and_monotonic() -> None:
    a, b = meter(), meter()
    times = [NOW + k * 997.0 for k in range(300)]  # ~3.5 days, every tariff
    for kind in Kind:
        values = [a.energy(kind, t) for t in times]
        assert values == [b.energy(kind, t) for t in times]  # pure function
        for earlier, later in itertools.pairwise(values):
            assert all(x <= y for x, y in zip(earlier, later, strict=True))
        assert values[-1][0] > values[0][0]  # it does grow
        for total, *tariffs in values:
            assert total == sum(tariffs)  # exactly, in 0.01 kWh


def test_registers_depend_only_on_seed_and_time() -> None:
    m = meter()
    m.relay(RelayCommand.TRIP, NOW)  # state does not change the registers
    assert m.energy(Kind.FORWARD, NOW + 3600) == meter().energy(Kind.FORWARD,
                                                                NOW + 3600)  # fmt: skip
    assert m.energy(Kind.FORWARD, NOW) == registers(m.base, m.watts, Kind.FORWARD, NOW)
    other = Meter(meter_address(0, 2), meter_seed(0, 2))
    assert other.energy(Kind.FORWARD, NOW) != m.energy(Kind.FORWARD, NOW)


def test_daily_freeze_is_the_register_at_midnight() -> None:
    m = meter()
    day = date(2025, 11, 20)
    assert m.daily_frozen(day) == m.energy(Kind.FORWARD, midnight(day))
    assert local_datetime(midnight(day)) == datetime(2025, 11, 20, 0, 0)
    # The 645 "last daily freeze" block is today's 00:00 value.
    today = date(2025, 11, 25)
    found = read(m, 0x05060101)
    assert found.values == {
        "daily_freeze_forward_active": [v / 100 for v in m.daily_frozen(today)]
    }
    assert read(m, 0x05060001).values == {"daily_freeze_time": datetime(2025, 11, 25)}
    # The one before (DI0 = 02) is not in the codec's DI table: decode it by hand.
    older = read(m, 0x05060102)
    spec = dlt645.find(0x05060101)
    assert spec is not None
    assert spec.decode(older.raw) == [
        v / 100 for v in m.daily_frozen(date(2025, 11, 24))
    ]


def test_monthly_freeze_and_settlement_day() -> None:
    m = meter()
    assert m.monthly_frozen(2025, 11) == m.energy(
        Kind.FORWARD, midnight(date(2025, 11, 1))
    )
    settled = read(m, 0x0001FF01)  # forward active block, last settlement day
    assert settled.values == {
        "forward_active_block_settlement_1": [
            v / 100 for v in m.monthly_frozen(2025, 11)
        ]
    }


def test_read_energy_and_instantaneous_values() -> None:
    m = meter()
    total = read(m, 0x00010000).values
    assert total == {"forward_active_total": m.energy(Kind.FORWARD, NOW)[0] / 100}
    block = read(m, 0x0001FF00).values
    assert block == {
        "forward_active_block": [v / 100 for v in m.energy(Kind.FORWARD, NOW)]
    }
    voltage = read(m, 0x02010100).values
    assert voltage is not None
    assert 215 < voltage["voltage_a"] < 225
    power = read(m, 0x02030000).values
    assert power is not None
    assert power["active_power_total"] > 0
    assert read(m, 0x04000401).values == {"comm_address": ADDRESS}
    assert read(m, 0x04000101).values == {"date": date(2025, 11, 25)}


def test_unknown_di_gets_an_abnormal_reply() -> None:
    m = meter()
    reply = ask(m, dlt645.read(m.address, 0x12345678))
    assert reply is not None
    assert reply.abnormal
    assert reply.control == 0xD1
    found = dlt645.interpret(reply)
    assert found.error_word is not None
    assert found.error_word.flags == ErrorFlag.NO_DATA


def test_other_addresses_and_broadcasts_get_no_reply() -> None:
    m = meter()
    assert ask(m, dlt645.read(meter_address(0, 2), 0x00010000)) is None
    sync = dlt645.broadcast_time(local_datetime(NOW) + timedelta(seconds=90))
    assert ask(m, sync) is None
    assert m.clock_offset == 90
    assert m.answer(b"\x68garbage", NOW) is None


def test_read_address_with_the_wildcard() -> None:
    reply = ask(meter(), dlt645.read_address())
    assert reply is not None
    assert dlt645.interpret(reply).values == {"address": ADDRESS}


def test_relay_trip_close_and_keep_power() -> None:
    m = meter()
    assert relay(m, RelayCommand.TRIP).control == 0x9C
    assert is_open(m)
    assert m.instant(NOW).active[0] == 0.0
    word = read(m, 0x04000503).values
    assert word is not None
    assert word["status_word_3"]["relay_off"] == 1
    assert relay(m, RelayCommand.CLOSE_DIRECT).control == 0x9C
    assert not is_open(m)
    assert m.last_close == NOW
    assert relay(m, RelayCommand.HOLD_POWER).control == 0x9C
    refused = relay(m, RelayCommand.TRIP)  # keep-power (保电) refuses trips
    assert refused.abnormal
    assert not is_open(m)
    relay(m, RelayCommand.HOLD_POWER_RELEASE)
    relay(m, RelayCommand.TRIP)
    assert is_open(m)
    relay(m, RelayCommand.CLOSE_ALLOWED)
    assert not is_open(m)


def test_expired_relay_command_is_refused() -> None:
    m = meter()
    old = dlt645.relay_control(m.address, RelayCommand.TRIP,
                               local_datetime(NOW) - timedelta(minutes=1),
                               password=PASSWORD, operator=OPERATOR)  # fmt: skip
    reply = ask(m, old)
    assert reply is not None
    assert reply.abnormal
    assert not is_open(m)


def test_relay_that_fails_to_trip() -> None:
    m = meter(relay_fails=True)
    assert relay(m, RelayCommand.TRIP).control == 0x9C  # acknowledged ...
    assert not is_open(m)  # ... but the relay stayed closed
    word = read(m, 0x04000503).values
    assert word is not None
    assert word["status_word_3"]["relay_off"] == 0
    assert word["status_word_3"]["relay_command_off"] == 1
    assert m.last_trip == NOW


def test_zero_energy_meter_has_load_but_no_growth() -> None:
    m = meter(zero_energy=True)
    assert m.energy(Kind.FORWARD, NOW) == m.energy(Kind.FORWARD, NOW + 30 * 86400)
    assert m.instant(NOW).active[0] > 0  # the load is there: a wiring error


@pytest.mark.parametrize(("di", "key"), [(0x9010, "forward_active_total"),
                                         (0xB611, "voltage_a")])  # fmt: skip
def test_1997_meter(di: int, key: str) -> None:
    m = meter(version=Version.V1997)
    reply = ask(m, dlt645.read_1997(m.address, di))
    assert reply is not None
    assert reply.control == 0x81
    reply.version_override = Version.V1997
    values = dlt645.interpret(reply).values
    assert values is not None
    assert key in values
    assert ask(m, dlt645.read(m.address, 0x00010000)) is None  # 2007 code: silence


def test_three_phase_meters_exist() -> None:
    kinds = {
        Meter(meter_address(0, pn), meter_seed(0, pn)).phases for pn in range(1, 60)
    }
    assert kinds == {1, 3}
