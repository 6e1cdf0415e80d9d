"""The deterministic meter model: local time, seeds and energy registers (电能示值).

Everything here is a pure function. A register's value at an instant ``now`` (epoch
seconds) depends only on the meter's seed and ``now``, never on what was asked
before, so a simulator restarted mid-run answers exactly as the one it replaces
and the head-end can check a reading against the formula.

Meters keep local time, UTC+8 (Beijing time), and a day starts at local midnight.

The load follows a time-of-use schedule (时段表) with four tariffs (费率): 1 sharp
(尖), 2 peak (峰), 3 flat (平), 4 valley (谷). Each tariff register grows with the
seconds spent in that tariff times the meter's load in it; the total register is
the sum of the tariff registers, in whole hundredths of a kWh (the DL/T 645
resolution), so "total = sum of tariffs" holds exactly in every protocol. At the
loads used here (≤ 3.2 kW) a register needs some 35 years to reach 999999.99 kWh,
so roll-over is not modelled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import IntEnum
from typing import Final

UTC_OFFSET: Final = 8 * 3600  # Beijing time
DAY: Final = 86400
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
#: Registers start growing at local midnight, 2020-01-01 (their base value before).
T0_DAY: Final = date(2020, 1, 1).toordinal() - _EPOCH_ORDINAL
T0: Final = T0_DAY * DAY - UTC_OFFSET

#: Tariff of each local hour 0..23: an example schedule (时段表) in the usual shape:
#: valley at night, sharp around the late-morning and afternoon peaks.
TARIFF_OF_HOUR: Final[tuple[int, ...]] = (
    4, 4, 4, 4, 4, 4, 4, 4,  # 00-08 valley (谷)
    3, 3,  # 08-10 flat (平)
    2, 1,  # 10-11 peak (峰), 11-12 sharp (尖)
    3, 3,  # 12-14 flat
    2, 1, 1,  # 14-15 peak, 15-17 sharp
    2, 2, 2, 2,  # 17-21 peak
    3, 3, 4,  # 21-23 flat, 23-24 valley
)  # fmt: skip
TARIFFS: Final = 4
#: Load in each tariff, % of the meter's flat-tariff load.
LOAD_PERCENT: Final = (160, 130, 100, 60)
#: Share of the base (value at T0) in each tariff register, %.
BASE_SHARE: Final = (10, 25, 40, 25)

# _PREFIX[h][t]: seconds spent in tariff t+1 during local hours [0, h).
_rows = [(0, 0, 0, 0)]
for _h in range(24):
    _row = list(_rows[-1])
    _row[TARIFF_OF_HOUR[_h] - 1] += 3600
    _rows.append((_row[0], _row[1], _row[2], _row[3]))
_PREFIX: Final = tuple(_rows)
_PER_DAY: Final = _PREFIX[24]


class Kind(IntEnum):
    """The energy registers a simulated meter keeps (total and tariffs 1-4 each)."""

    FORWARD = 0  # 正向有功
    REVERSE = 1  # 反向有功 (small: a little back-feed)
    Q1 = 2  # 第一象限无功
    Q2 = 3  # 第二象限无功
    Q3 = 4  # 第三象限无功
    Q4 = 5  # 第四象限无功


#: Each register grows at this many ‰ of the forward active rate.
KIND_PERMILLE: Final = (1000, 2, 300, 3, 2, 40)

Registers = tuple[int, int, int, int, int]
"""(total, tariff 1, 2, 3, 4) in hundredths of a kWh (kvarh for reactive kinds)."""


# --- seeds ---------------------------------------------------------------------------

_MASK: Final = (1 << 64) - 1


def mix(*values: int) -> int:
    """A 64-bit hash of integers (splitmix64 chained): stable across runs."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (v & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK
        h ^= h >> 31
    return h


def meter_seed(index: int, pn: int) -> int:
    """Seed of measuring point ``pn`` of fleet concentrator ``index``."""
    return mix(index, pn)


def meter_address(index: int, pn: int) -> str:
    """12-digit meter address (通信地址) of point ``pn`` of concentrator ``index``.

    Eight digits of ``index + 1`` then four of ``pn``: readable, unique in a fleet
    of up to 10⁸ concentrators, and reversible by :func:`address_point`.
    """
    return f"{index + 1:08d}{pn:04d}"


def address_point(address: str) -> tuple[int, int] | None:
    """(index, pn) of an address made by :func:`meter_address`, else None."""
    if len(address) != 12 or not address.isdigit():
        return None
    return int(address[:8]) - 1, int(address[8:])


# --- local time ----------------------------------------------------------------------


def local_datetime(now: float) -> datetime:
    """The meter's local wall-clock time (naive, whole seconds)."""
    local = datetime.fromtimestamp(int(now), UTC) + timedelta(seconds=UTC_OFFSET)
    return local.replace(tzinfo=None)


def local_day(now: float) -> int:
    """Days since 1970-01-01 in local time."""
    return int(now + UTC_OFFSET) // DAY


def day_date(day: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + day)


def date_day(d: date) -> int:
    return d.toordinal() - _EPOCH_ORDINAL


def midnight(d: date) -> float:
    """Epoch seconds of local 00:00 on ``d``."""
    return float((d.toordinal() - _EPOCH_ORDINAL) * DAY - UTC_OFFSET)


def month_start(year: int, month: int) -> float:
    """Epoch seconds of local 00:00 on the first day of the month."""
    return midnight(date(year, month, 1))


def months_back(now: float, n: int) -> tuple[int, int]:
    """(year, month) ``n`` months before the local month of ``now`` (0 = this one)."""
    d = day_date(local_day(now))
    k = d.year * 12 + d.month - 1 - n
    return k // 12, k % 12 + 1


def tariff_at(now: float) -> int:
    """The tariff (1-4) in force at ``now``."""
    return TARIFF_OF_HOUR[int(now + UTC_OFFSET) % DAY // 3600]


def tariff_seconds(now: float) -> tuple[int, int, int, int]:
    """Seconds spent in each tariff between T0 and ``now``."""
    local = int(now) + UTC_OFFSET
    days = local // DAY - T0_DAY
    if days < 0:
        return (0, 0, 0, 0)
    sod = local % DAY
    hour = sod // 3600
    part = _PREFIX[hour]
    t1, t2, t3, t4 = (days * _PER_DAY[i] + part[i] for i in range(4))
    extra = sod - hour * 3600
    current = TARIFF_OF_HOUR[hour]
    if current == 1:
        t1 += extra
    elif current == 2:
        t2 += extra
    elif current == 3:
        t3 += extra
    else:
        t4 += extra
    return t1, t2, t3, t4


def registers(base: int, watts: int, kind: int, now: float) -> Registers:
    """Register values of one kind at ``now``; total = sum of the tariffs.

    ``base``: forward active total at T0 (hundredths of a kWh); ``watts``: load in
    the flat tariff (W); the growth of tariff t is load × seconds / 36000 (W·s per
    0.01 kWh), floored, so values only ever grow.
    """
    permille = KIND_PERMILLE[kind]
    secs = tariff_seconds(now)
    rate = watts * permille
    t1 = base * BASE_SHARE[0] * permille // 100_000 + (
        rate * LOAD_PERCENT[0] * secs[0] // 3_600_000_000
    )
    t2 = base * BASE_SHARE[1] * permille // 100_000 + (
        rate * LOAD_PERCENT[1] * secs[1] // 3_600_000_000
    )
    t3 = base * BASE_SHARE[2] * permille // 100_000 + (
        rate * LOAD_PERCENT[2] * secs[2] // 3_600_000_000
    )
    t4 = base * BASE_SHARE[3] * permille // 100_000 + (
        rate * LOAD_PERCENT[3] * secs[3] // 3_600_000_000
    )
    return t1 + t2 + t3 + t4, t1, t2, t3, t4


def kwh(values: Registers) -> list[float | None]:
    """Register values in kWh (what the 1376.1 layouts carry)."""
    return [v / 100 for v in values]


# --- register faults -------------------------------------------------------------------
#
# The anomaly profiles give one meter per concentrator a register fault. It strikes
# at local 00:00 on the first of every month: always inside the DAILY_DAYS of daily
# freezes a concentrator keeps, so a test finds the last one (:func:`fault_day`),
# and still a pure function of ``now``.

#: What a jump meter's forward active register gains at each fault (飞走): 3,000 kWh,
#: beyond what any direct-connected meter passes in a day.
JUMP: Final = 300_000
#: A jump meter draws at most this load (W), so that its register, 36,000 kWh a year
#: of jumps on top, stays below the DL/T 645 maximum (999999.99 kWh) until 2043.
JUMP_MAX_WATTS: Final = 500


def fault_start(now: float) -> float:
    """Epoch seconds of the last register fault at or before ``now``."""
    return month_start(*months_back(now, 0))


def fault_day(now: float) -> date:
    """The data day of the last register fault: the first of the local month."""
    year, month = months_back(now, 0)
    return date(year, month, 1)


def faults_since_t0(now: float) -> int:
    """Register faults from T0 to ``now``: the months begun since January 2020."""
    if now < T0:
        return 0
    year, month = months_back(now, 0)
    return (year - 2020) * 12 + month - 1


def since(values: Registers, start: Registers) -> Registers:
    """Registers counted from ``start``: a meter cleared then (电表清零)."""
    return (values[0] - start[0], values[1] - start[1], values[2] - start[2],
            values[3] - start[3], values[4] - start[4])  # fmt: skip


def jumped(values: Registers, jumps: int) -> Registers:
    """Registers after ``jumps`` jumps, each booked in the valley tariff (00:00)."""
    extra = JUMP * jumps
    return (values[0] + extra, values[1], values[2], values[3], values[4] + extra)
