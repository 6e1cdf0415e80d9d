"""The DL/T 645 data identifiers a simulated meter answers (DI -> value bytes).

Energy DIs are decoded from their structure (2007: DI2 kind, DI1 tariff or FF
block, DI0 settlement period; 1997: the 90xx/91xx/94xx groups); every other
supported DI is looked up by its key in the codec's DI table
(:mod:`protocols.dlt645.di`) and encoded with that table's codec, so a value
always has the wire format the head-end decodes. Settlement periods are the 1st
of the month at 00:00; the n-th last daily freeze (0506xxnn) is that day's 00:00.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from protocols import dlt645
from protocols.dlt645 import Version
from protocols.errors import ProtocolError
from simulators._model import (
    Kind,
    Registers,
    day_date,
    local_datetime,
    local_day,
    month_start,
    months_back,
)

if TYPE_CHECKING:
    from simulators.meter645 import Instant, Meter


def read_value(m: Meter, di: int, now: float) -> bytes | None:
    """Value bytes of ``di`` (after the DI, 0x33 removed), None when unsupported."""
    spec = dlt645.find(di, m.version)
    if m.version is Version.V1997:
        found = _energy_1997(di)
    elif di >> 24 == 0:
        found = ((di >> 16) & 0xFF, di & 0xFF, (di >> 8) & 0xFF)
    elif di >> 8 in _FREEZE_2007:
        return _frozen_2007(m, di, now)
    else:
        found = None
    if spec is None:
        return None
    try:
        if found is not None:
            kind, period, rate = found
            values = _energy(m, kind, period, now)
            if values is None or not (rate <= 4 or rate == 0xFF):
                return None
            return spec.encode([v / 100 for v in values] if rate == 0xFF
                               else values[rate] / 100)  # fmt: skip
        getter = _VALUES.get(spec.key)
        if getter is None:
            return None
        value = getter(m, now)
        return None if value is None else spec.encode(value)
    except ProtocolError:
        return None


def _energy(m: Meter, kind: int, period: int, now: float) -> Registers | None:
    """2007 energy kind (DI2) at settlement period ``period`` (DI0, 0 = now)."""
    if period:
        if period > 12:
            return None
        now = month_start(*months_back(now, period - 1))
    if kind in _BASE_KIND:
        return m.energy(_BASE_KIND[kind], now)
    if kind in _SUMS:
        a, b = (m.energy(k, now) for k in _SUMS[kind])
        return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4])
    return None


def _frozen_2007(m: Meter, di: int, now: float) -> bytes | None:
    n = di & 0xFF  # the n-th last daily freeze
    if not 1 <= n <= 62:
        return None
    day = day_date(local_day(now) - n + 1)
    spec = dlt645.find((di & 0xFFFFFF00) | 1)
    if spec is None:
        return None
    what = (di >> 8) & 0xFF
    if what == 0:
        return spec.encode(datetime(day.year, day.month, day.day))
    kind = Kind.FORWARD if what == 1 else Kind.REVERSE
    return spec.encode([v / 100 for v in m.daily_frozen(day, kind)])


# 2007 DI2 of energy -> register kind, or the two kinds it sums (S9 A.1; 组合有功 is
# forward + reverse and 组合无功1/2 are Q1 + Q2 / Q3 + Q4 in the default mode word).
_BASE_KIND: Final = {1: Kind.FORWARD, 2: Kind.REVERSE, 5: Kind.Q1, 6: Kind.Q2,
                     7: Kind.Q3, 8: Kind.Q4}  # fmt: skip
_SUMS: Final = {0: (Kind.FORWARD, Kind.REVERSE), 3: (Kind.Q1, Kind.Q2),
                4: (Kind.Q3, Kind.Q4)}  # fmt: skip
_FREEZE_2007: Final = frozenset({0x050600, 0x050601, 0x050602})
# 1997 energy groups: first DI & 0xFFF0 -> (2007 kind, settlement period).
_GROUPS_1997: Final = {0x9010: (1, 0), 0x9020: (2, 0), 0x9410: (1, 1), 0x9420: (2, 1),
                       0x9110: (3, 0), 0x9120: (4, 0), 0x9130: (5, 0), 0x9140: (8, 0),
                       0x9150: (6, 0), 0x9160: (7, 0)}  # fmt: skip


def _energy_1997(di: int) -> tuple[int, int, int] | None:
    group = _GROUPS_1997.get(di & 0xFFF0)
    if group is None:
        return None
    low = di & 0xF
    return group[0], group[1], 0xFF if low == 0xF else low


def _instant(pick: Callable[[Instant], Any]) -> Callable[[Meter, float], Any]:
    return lambda m, now: pick(m.instant(now))


def _block(values: tuple[float | None, ...]) -> list[float] | None:
    present = [v for v in values if v is not None]
    return present or None


def _local_last(when: float | None) -> datetime | None:
    return None if when is None else local_datetime(when)


def _status(word: int) -> Callable[[Meter, float], Any]:
    return lambda m, now: m.status_word(word)


def _phase(name: str, k: int) -> Callable[[Meter, float], Any]:
    """Phase ``k`` (0 = A) of ``Instant.name``; powers lead with their total."""
    offset = 1 if name in ("active", "reactive", "apparent") else 0
    return _instant(lambda i: getattr(i, name)[k + offset])


def _power(name: str, total: bool) -> Callable[[Meter, float], Any]:
    if total:
        return _instant(lambda i: getattr(i, name)[0])
    return _instant(lambda i: _block(getattr(i, name)))


def _phase_pf(k: int) -> Callable[[Meter, float], Any]:
    return _instant(lambda i: i.power_factor if i.voltage[k] is not None else None)


#: DI key (``protocols.dlt645`` table) -> value of this meter at ``now``.
_VALUES: Final[dict[str, Callable[[Meter, float], Any]]] = {
    "frequency": _instant(lambda i: i.frequency),
    "neutral_current": _instant(lambda i: 0.0),
    "power_factor_total": _instant(lambda i: i.power_factor),
    "power_factor_block": _instant(
        lambda i: [i.power_factor] * sum(v is not None for v in i.voltage)
    ),
    "voltage_block": _instant(lambda i: _block(i.voltage)),
    "current_block": _instant(lambda i: _block(i.current)),
    "date": lambda m, now: m.clock(now).date(),
    "time": lambda m, now: m.clock(now).time(),
    "ct_ratio": lambda m, now: 1,
    "pt_ratio": lambda m, now: 1,
    "comm_address": lambda m, now: m.address,
    "meter_number": lambda m, now: m.address,
    "asset_number": lambda m, now: f"SIM{m.address}",
    "rated_voltage": lambda m, now: "220V" if m.phases == 1 else "3x220V",
    "rated_current": lambda m, now: "5(60)A",
    "max_current": lambda m, now: "60A",
    "active_constant": lambda m, now: 1200,
    "reactive_constant": lambda m, now: 1200,
    "last_trip_time": lambda m, now: _local_last(m.last_trip),
    "last_close_time": lambda m, now: _local_last(m.last_close),
    **{f"status_word_{w}": _status(w) for w in range(1, 8)},
    **{f"{n}_{p}": _phase(n, k) for n in ("voltage", "current")
       for k, p in enumerate("abc")},
    **{f"power_factor_{p}": _phase_pf(k) for k, p in enumerate("abc")},
    **{f"{n}_power_{p}": _phase(n, k) for n in ("active", "reactive", "apparent")
       for k, p in enumerate("abc")},
    **{f"{n}_power_{what}": _power(n, what == "total")
       for n in ("active", "reactive", "apparent") for what in ("total", "block")},
}  # fmt: skip
