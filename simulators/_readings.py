"""AFN 0CH real-time and AFN 0DH frozen answers of a concentrator, from its meters.

Each answer is one data unit per (pn, Fn), computed from the meter model and
encoded here with the unit's own layout, so :class:`~protocols.gdw1376.terminal.
TerminalSession` only frames it (the encoded bytes ride in ``DataUnit.raw``, see
:data:`PRE_ENCODED`). Frozen answers (daily, monthly) never change once the
freeze has happened, so they are kept in a bounded per-process cache.

What the concentrator holds (its "stored data"): daily freezes of the last
``DAILY_DAYS`` days and monthly freezes of the last ``MONTHLY_MONTHS`` months, each
available from its read time on (00:01-00:30 after the freeze, by point); curves
(F81 active power, F89 phase-A voltage, F101 forward active reading) at any density
of appendix C, with points in the future left absent (EE).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Final

from protocols.errors import ProtocolError
from protocols.gdw1376.formats import YearMonth
from protocols.gdw1376.frame import DataUnit
from protocols.gdw1376.registry import AFN, lookup
from protocols.gdw1376.units.afn0c import (
    METER_POWER_OFF,
    METER_POWER_ON,
    ActiveReading,
    ForwardReadings,
    MeterClock,
    MeterClockAndCounts,
    MeterSupplyState,
    PowerVoltageCurrent,
)
from protocols.gdw1376.units.afn0d import (
    DENSITY_MINUTES,
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
from simulators._model import (
    T0_DAY,
    Kind,
    Registers,
    date_day,
    fault_start,
    faults_since_t0,
    kwh,
    local_datetime,
    local_day,
    midnight,
    month_start,
    months_back,
)
from simulators._points import MeterBus
from simulators.meter645 import Meter

DAILY_DAYS: Final = 62
MONTHLY_MONTHS: Final = 12
TARIFF_COUNT: Final = 4


class PreEncoded(ProtocolError):
    """Marks a data unit whose ``raw`` bytes are already its encoded content.

    ``encode_units`` copies ``raw`` through for units that carry an error (the
    pass-through for undecodable units); the simulator uses that path to hand
    ready-made unit bytes to the session, which saves encoding them twice.
    """

    reason = "pre_encoded"


PRE_ENCODED: Final = PreEncoded("data unit encoded by the simulator")


def unit(afn: int, fn: int, pn: int, obj: object) -> DataUnit:
    """An uplink data unit of ``obj``, encoded now with the (AFN, Fn) layout."""
    layout = lookup(afn, fn, 1).layout
    if layout is None:
        return DataUnit(pn, fn)
    return DataUnit(pn, fn, None, PRE_ENCODED, layout.encode(obj))


def raw_unit(pn: int, fn: int, raw: bytes) -> DataUnit:
    return DataUnit(pn, fn, None, PRE_ENCODED, raw)


class AnswerCache:
    """Encoded frozen answers by key, least recently used dropped first (bounded)."""

    __slots__ = ("_data", "hits", "maxsize", "misses")

    def __init__(self, maxsize: int = 100_000) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[int, ...]) -> bytes | None:
        raw = self._data.get(key)
        if raw is None:
            self.misses += 1
        else:
            self.hits += 1
            self._data.move_to_end(key)
        return raw

    def put(self, key: tuple[int, ...], raw: bytes) -> None:
        self._data[key] = raw
        if len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


#: The process-wide cache concentrators use unless given another.
SHARED_CACHE: Final = AnswerCache()


def _minute(now: float) -> datetime:
    return local_datetime(now).replace(second=0)


def _local(when: float | None) -> datetime | None:
    return None if when is None else local_datetime(when)


def _reactive1(m: Meter, now: float) -> Registers:
    """Combined reactive 1 (组合无功1, 正向无功) = Q1 + Q2."""
    a, b = m.energy(Kind.Q1, now), m.energy(Kind.Q2, now)
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4])


# --- AFN 0CH ---------------------------------------------------------------------------


def _f27(m: Meter, now: float) -> MeterClockAndCounts:
    """Meter clock and operation counts; a cleared meter counts its clears (清零)."""
    clears = faults_since_t0(now) if m.register_reset else 0
    last_clear = _local(fault_start(now)) if clears else None
    return MeterClockAndCounts(_minute(now), m.clock(now), 0, 0, None, clears,
                               last_clear, 0, None, 0, None, 0, None)  # fmt: skip


def _f25(m: Meter, now: float) -> PowerVoltageCurrent:
    i = m.instant(now)
    pf = round(i.power_factor * 100, 1)
    va, vb, vc = i.voltage
    ia, ib, ic = i.current
    return PowerVoltageCurrent(
        read_time=_minute(now),
        active_power=i.active[0], active_power_a=i.active[1],
        active_power_b=i.active[2], active_power_c=i.active[3],
        reactive_power=i.reactive[0], reactive_power_a=i.reactive[1],
        reactive_power_b=i.reactive[2], reactive_power_c=i.reactive[3],
        power_factor=pf, power_factor_a=pf if va is not None else None,
        power_factor_b=pf if vb is not None else None,
        power_factor_c=pf if vc is not None else None,
        voltage_a=va, voltage_b=vb, voltage_c=vc,
        current_a=ia, current_b=ib, current_c=ic, current_zero=None,
        apparent_power=i.apparent[0], apparent_power_a=i.apparent[1],
        apparent_power_b=i.apparent[2], apparent_power_c=i.apparent[3],
    )  # fmt: skip


def _f33(m: Meter, now: float) -> ForwardReadings:
    return ForwardReadings(_minute(now), TARIFF_COUNT,
                           kwh(m.energy(Kind.FORWARD, now)), kwh(_reactive1(m, now)),
                           kwh(m.energy(Kind.Q1, now)),
                           kwh(m.energy(Kind.Q4, now)))  # fmt: skip


def _f129(m: Meter, now: float) -> ActiveReading:
    return ActiveReading(_minute(now), TARIFF_COUNT, kwh(m.energy(Kind.FORWARD, now)))


def _f161(m: Meter, now: float) -> MeterSupplyState:
    state = METER_POWER_OFF if m.relay_open else METER_POWER_ON
    return MeterSupplyState(_minute(now), state, _local(m.last_close),
                            _local(m.last_trip))  # fmt: skip


def _f162(m: Meter, now: float) -> MeterClock:
    return MeterClock(_minute(now), m.clock(now))


CLASS1: Final[dict[int, Callable[[Meter, float], object]]] = {
    25: _f25,
    27: _f27,
    33: _f33,
    129: _f129,
    161: _f161,
    162: _f162,
}


def class1(m: Meter, pn: int, fn: int, now: float) -> DataUnit | None:
    """AFN0C Fn of measuring point ``pn`` (None: not supported)."""
    make = CLASS1.get(fn)
    return None if make is None else unit(AFN.CLASS1, fn, pn, make(m, now))


# --- AFN 0DH ---------------------------------------------------------------------------


def read_delay(pn: int) -> int:
    """Seconds after a freeze at which the concentrator has read it from the meter."""
    return 60 * (1 + pn % 30)


def _available(pn: int, mark: date | YearMonth, now: float) -> float | None:
    """The read time of a freeze the concentrator holds at ``now``, else None."""
    if isinstance(mark, date):
        day = date_day(mark)
        if day < T0_DAY or local_day(now) - day >= DAILY_DAYS:
            return None
        start = midnight(mark)
    else:
        start = month_start(mark.year, mark.month)
        oldest = month_start(*months_back(now, MONTHLY_MONTHS - 1))
        if mark.year < 2020 or start < oldest:
            return None
    at = start + read_delay(pn)
    return at if at <= now else None


def _frozen(m: Meter, pn: int, fn: int, mark: date | YearMonth, at: float) -> object:
    read_time = _minute(at)
    if isinstance(mark, date):
        t = midnight(mark)
        forward = kwh(m.energy(Kind.FORWARD, t))
        if fn == 161:
            return DailyActiveReading(mark, read_time, TARIFF_COUNT, forward)
        return DailyForwardReadings(mark, read_time, TARIFF_COUNT, forward,
                                    kwh(_reactive1(m, t)), kwh(m.energy(Kind.Q1, t)),
                                    kwh(m.energy(Kind.Q4, t)))  # fmt: skip
    t = month_start(mark.year, mark.month)
    forward = kwh(m.energy(Kind.FORWARD, t))
    if fn == 177:
        return MonthlyActiveReading(mark, read_time, TARIFF_COUNT, forward)
    return MonthlyForwardReadings(mark, read_time, TARIFF_COUNT, forward,
                                  kwh(_reactive1(m, t)), kwh(m.energy(Kind.Q1, t)),
                                  kwh(m.energy(Kind.Q4, t)))  # fmt: skip


_CURVES: Final[dict[int, tuple[type, Callable[[Meter, float], float | None]]]] = {
    81: (PowerCurve, lambda m, t: m.instant(t).active[0]),
    89: (VoltageCurve, lambda m, t: m.instant(t).voltage[0]),
    101: (ReadingCurve, lambda m, t: m.energy(Kind.FORWARD, t)[0] / 100),
}
_EPOCH_LOCAL: Final = datetime(1970, 1, 1) + timedelta(hours=8)


def _curve(m: Meter, fn: int, td: TdCurve, now: float) -> object | None:
    minutes = DENSITY_MINUTES.get(td.density)
    if td.td_start is None or minutes is None or td.points == 0:
        return None
    cls, value = _CURVES[fn]
    start = (td.td_start - _EPOCH_LOCAL).total_seconds()
    step = minutes * 60
    values = [
        value(m, t) if t <= now else None
        for t in (start + k * step for k in range(td.points))
    ]
    curve: object = cls(td.td_start, td.density, td.points, values)
    return curve


DAILY: Final = frozenset({1, 161})
MONTHLY: Final = frozenset({17, 177})
CURVES: Final = frozenset(_CURVES)


def class2(bus: MeterBus, pn: int, fn: int, td: object, now: float,
           cache: AnswerCache | None = None) -> DataUnit | None:  # fmt: skip
    """AFN0D Fn of point ``pn`` for the request's time mark ``td`` (None: no data).

    Frozen answers are cached by concentrator index, pn, register fault
    (:meth:`MeterBus.register_fault`), Fn and time mark (together they fix the
    meter's seed and so the values); the cache is consulted before any meter object
    is built.
    """
    mark: date | YearMonth | None
    if (fn in DAILY and isinstance(td, TdDaily)) or (
        fn in MONTHLY and isinstance(td, TdMonthly)
    ):
        mark = td.td
    elif fn in CURVES and isinstance(td, TdCurve):
        m = bus.meter(pn)
        obj = None if m is None else _curve(m, fn, td, now)
        return None if obj is None else unit(AFN.CLASS2, fn, pn, obj)
    else:
        return None
    if mark is None or not bus.table.has(pn):
        return None
    at = _available(pn, mark, now)
    if at is None:
        return None
    key = (bus.index, pn, bus.register_fault(pn), fn,
           mark.toordinal() if isinstance(mark, date)
           else mark.year * 12 + mark.month)  # fmt: skip
    raw = None if cache is None else cache.get(key)
    if raw is not None:
        return raw_unit(pn, fn, raw)
    m = bus.meter(pn)
    if m is None:
        return None
    made = unit(AFN.CLASS2, fn, pn, _frozen(m, pn, fn, mark, at))
    if cache is not None and made.raw is not None:
        cache.put(key, made.raw)
    return made
