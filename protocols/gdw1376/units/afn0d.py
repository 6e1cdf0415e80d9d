"""AFN 0DH class-2 frozen/history data (请求2类数据), Std-2013 §5.13.

Downlink: each DA/DT carries only a time mark (§5.13.1.3), Td_d, Td_m or Td_c
according to table 221 (``_afn0d_tables.TIME_MARKS``); all of them are registered
here, so any request can be delimited. Uplink: the unit repeats the time mark and
then the data of §5.13.2.4. Shapes shared by several Fns are declared once.

Curves (Td_c Fns) live in ``_afn0d_curves`` and the meter-information group
F209-F216 in ``_afn0d_meter``; both are re-exported here. Uplink layouts not declared
yet (their requests still decode): the statistics F25-F52, F57, F60, F65, F66 and
the harmonics and DC analogue statistics F113-F130.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum
from typing import Final

from protocols.gdw1376.fields import spec
from protocols.gdw1376.formats import (
    A3,
    A11,
    A13,
    A14,
    A15,
    A17,
    A20,
    A21,
    A23,
    BIN1,
    BIN4,
    MonthTime,
    YearMonth,
)
from protocols.gdw1376.registry import AFN, Dir, down, unit
from protocols.gdw1376.units._afn0d_curves import (
    ColouredNoiseCurve,
    CombinedCurve,
    CombinedPoint,
    CurrentCurve,
    EnergyCurve,
    GroupEnergyCurve,
    GroupPowerCurve,
    NodeNoise,
    NoiseCurve,
    PhaseAngleCurve,
    PowerCurve,
    PowerFactorCurve,
    ReadingCurve,
    ThreePhaseAngles,
    VoltageCurve,
)
from protocols.gdw1376.units._afn0d_meter import (
    DailyMeterPurchase,
    DailyMeterSupplyState,
    DailyUnbalance,
    MonthlyMeterParameterChanges,
    MonthlyMeterPurchase,
    MonthlyMeterSettlement,
    MonthlyMeterSwitchOperations,
    MonthlyUnbalance,
)
from protocols.gdw1376.units._afn0d_tables import NAMES, TIME_MARKS, Td
from protocols.gdw1376.units._common import fn_registrar
from protocols.gdw1376.units.afn0c import Demand

__all__ = [
    "DENSITY_MINUTES",
    "TIME_MARKS",
    "ColouredNoiseCurve",
    "CombinedCurve",
    "CombinedPoint",
    "CurrentCurve",
    "DailyActiveReading",
    "DailyDemandReading",
    "DailyEnergy",
    "DailyForwardReadings",
    "DailyGroupEnergy",
    "DailyMaxDemands",
    "DailyMeterPurchase",
    "DailyMeterSupplyState",
    "DailyPhaseReactiveReadings",
    "DailyPhaseReadings",
    "DailyReactiveReading",
    "DailyReverseReadings",
    "DailyTraffic",
    "DailyUnbalance",
    "Density",
    "EnergyCurve",
    "GroupEnergyCurve",
    "GroupPowerCurve",
    "MonthlyActiveReading",
    "MonthlyDemandReading",
    "MonthlyEnergy",
    "MonthlyForwardReadings",
    "MonthlyGroupEnergy",
    "MonthlyMaxDemands",
    "MonthlyMeterParameterChanges",
    "MonthlyMeterPurchase",
    "MonthlyMeterSettlement",
    "MonthlyMeterSwitchOperations",
    "MonthlyPhaseReactiveReadings",
    "MonthlyPhaseReadings",
    "MonthlyReactiveReading",
    "MonthlyReverseReadings",
    "MonthlyTraffic",
    "MonthlyUnbalance",
    "NodeNoise",
    "NoiseCurve",
    "PhaseAngleCurve",
    "PowerCurve",
    "PowerFactorCurve",
    "ReadingCurve",
    "Td",
    "TdCurve",
    "TdDaily",
    "TdMonthly",
    "ThreePhaseAngles",
    "VoltageCurve",
    "point_times",
]


class Density(IntEnum):
    """Freeze density m of Td_c (数据冻结密度), Std-2013 appendix C table C.1."""

    NONE = 0  # 不冻结
    MIN15 = 1
    MIN30 = 2
    MIN60 = 3
    MIN5 = 254
    MIN1 = 255


#: Density m -> interval in minutes (other values are reserved).
DENSITY_MINUTES: Final[dict[int, int]] = {
    Density.MIN15: 15,
    Density.MIN30: 30,
    Density.MIN60: 60,
    Density.MIN5: 5,
    Density.MIN1: 1,
}


def point_times(td_start: datetime, density: int, points: int) -> list[datetime]:
    """The time of each curve point: ts, ts + interval, ... (appendix C order).

    Raises KeyError for density 0 (no freeze) or a reserved value.
    """
    step = timedelta(minutes=DENSITY_MINUTES[density])
    return [td_start + i * step for i in range(points)]


# --- downlink time marks (§5.13.1.3) --------------------------------------------------


@dataclass(slots=True)
class TdCurve:
    """曲线类数据时标Td_c, §5.13.1.3.2 table 222: start, density (appendix C), n."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)


@dataclass(slots=True)
class TdDaily:
    """日冻结类数据时标Td_d, §5.13.1.3.3 table 223 (daily and reading-day frozen)."""

    td: date | None = spec(A20)


@dataclass(slots=True)
class TdMonthly:
    """月冻结类数据时标Td_m, §5.13.1.3.4 table 224."""

    td: YearMonth | None = spec(A21)


_TD_LAYOUTS: Final[dict[Td, type]] = {
    Td.CURVE: TdCurve,
    Td.DAILY: TdDaily,
    Td.MONTHLY: TdMonthly,
}
for _fn, _td in TIME_MARKS.items():
    unit(down(AFN.CLASS2, _fn), name=NAMES[_fn])(_TD_LAYOUTS[_td])

_fns = fn_registrar(AFN.CLASS2, Dir.UP, NAMES)


# --- groups 1-3: readings, demand and energy per tariff -------------------------------


@_fns(1, 9)
@dataclass(slots=True)
class DailyForwardReadings:
    """F1 日冻结正向有/无功电能示值、一/四象限无功电能示值, §5.13.2.4.1 table 225; F9.

    Each list is the total then tariffs 1..M.
    """

    td: date | None = spec(A20)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    active: list[float | None] = spec(A14, count="tariff_count", plus=1)
    reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q1_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q4_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)


@_fns(2, 10)
@dataclass(slots=True)
class DailyReverseReadings:
    """F2 日冻结反向有/无功电能示值、二/三象限无功电能示值, §5.13.2.4.2 table 226.

    F10 (reading-day frozen) shares it.
    """

    td: date | None = spec(A20)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    active: list[float | None] = spec(A14, count="tariff_count", plus=1)
    reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q2_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q3_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)


@_fns(17)
@dataclass(slots=True)
class MonthlyForwardReadings:
    """F17 月冻结正向有/无功电能示值、一/四象限无功电能示值, §5.13.2.4.13 table 233."""

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    active: list[float | None] = spec(A14, count="tariff_count", plus=1)
    reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q1_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q4_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)


@_fns(18)
@dataclass(slots=True)
class MonthlyReverseReadings:
    """F18 月冻结反向有/无功电能示值、二/三象限无功电能示值, §5.13.2.4.14 table 234."""

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    active: list[float | None] = spec(A14, count="tariff_count", plus=1)
    reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q2_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q3_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)


@_fns(3, 4, 11, 12)
@dataclass(slots=True)
class DailyMaxDemands:
    """F3 日冻结正向有/无功最大需量及发生时间, §5.13.2.4.3 table 227; F4, F11, F12."""

    td: date | None = spec(A20)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    active: list[float | None] = spec(A23, count="tariff_count", plus=1)
    active_times: list[MonthTime | None] = spec(A17, count="tariff_count", plus=1)
    reactive: list[float | None] = spec(A23, count="tariff_count", plus=1)
    reactive_times: list[MonthTime | None] = spec(A17, count="tariff_count", plus=1)


@_fns(19, 20)
@dataclass(slots=True)
class MonthlyMaxDemands:
    """F19 月冻结电能表正向有/无功最大需量及发生时间, §5.13.2.4.15 table 235; F20."""

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    active: list[float | None] = spec(A23, count="tariff_count", plus=1)
    active_times: list[MonthTime | None] = spec(A17, count="tariff_count", plus=1)
    reactive: list[float | None] = spec(A23, count="tariff_count", plus=1)
    reactive_times: list[MonthTime | None] = spec(A17, count="tariff_count", plus=1)


@_fns(5, 6, 7, 8)
@dataclass(slots=True)
class DailyEnergy:
    """F5 日冻结正向有功电能量（总、费率1～M）, §5.13.2.4.5 table 229; F6-F8."""

    td: date | None = spec(A20)
    tariff_count: int = spec(BIN1)
    energy: list[float | None] = spec(A13, count="tariff_count", plus=1)


@_fns(21, 22, 23, 24)
@dataclass(slots=True)
class MonthlyEnergy:
    """F21 月冻结正向有功电能量（总、费率1～M）, §5.13.2.4.17 table 237; F22-F24."""

    td: YearMonth | None = spec(A21)
    tariff_count: int = spec(BIN1)
    energy: list[float | None] = spec(A13, count="tariff_count", plus=1)


# --- group 7-8: terminal traffic, total-add group energy ------------------------------


@_fns(53)
@dataclass(slots=True)
class DailyTraffic:
    """F53 终端与主站日通信流量, §5.13.2.4.46 table 266 (bytes)."""

    td: date | None = spec(A20)
    traffic: int = spec(BIN4)


@_fns(54)
@dataclass(slots=True)
class MonthlyTraffic:
    """F54 终端与主站月通信流量, §5.13.2.4.47 table 267 (bytes)."""

    td: YearMonth | None = spec(A21)
    traffic: int = spec(BIN4)


@_fns(58, 59)
@dataclass(slots=True)
class DailyGroupEnergy:
    """F58 日冻结总加组日累计有功电能量（总、费率1～M）, table 269; F59 (270), A.3."""

    td: date | None = spec(A20)
    tariff_count: int = spec(BIN1)
    energy: list[int | None] = spec(A3, count="tariff_count", plus=1)


@_fns(61, 62)
@dataclass(slots=True)
class MonthlyGroupEnergy:
    """F61 月冻结总加组月有功电能量（总、费率1～M）, table 272; F62 (273), A.3."""

    td: YearMonth | None = spec(A21)
    tariff_count: int = spec(BIN1)
    energy: list[int | None] = spec(A3, count="tariff_count", plus=1)


# --- group 20: per-phase readings -----------------------------------------------------


@_fns(153, 155)
@dataclass(slots=True)
class DailyPhaseReadings:
    """F153 日冻结测量点分相正向有功电能示值, table 306; F155 (308): phases A, B, C."""

    td: date | None = spec(A20)
    read_time: datetime | None = spec(A15)
    phases: list[float | None] = spec(A14, count=3)


@_fns(154, 156)
@dataclass(slots=True)
class DailyPhaseReactiveReadings:
    """F154 日冻结测量点分相正向无功电能示值, table 307; F156 (309): phases A-C."""

    td: date | None = spec(A20)
    read_time: datetime | None = spec(A15)
    phases: list[float | None] = spec(A11, count=3)


@_fns(157, 159)
@dataclass(slots=True)
class MonthlyPhaseReadings:
    """F157 月冻结测量点分相正向有功电能示值, table 310; F159: phases A, B, C."""

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    phases: list[float | None] = spec(A14, count=3)


@_fns(158, 160)
@dataclass(slots=True)
class MonthlyPhaseReactiveReadings:
    """F158 月冻结测量点分相正向无功电能示值, table 311; F160: phases A, B, C."""

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    phases: list[float | None] = spec(A11, count=3)


# --- groups 21-26: per-register readings and demand (hot path: keep flat) -------------


@_fns(161, 163, 169, 171)
@dataclass(slots=True)
class DailyActiveReading:
    """F161 日冻结正向有功电能示值（总、费率1～M）, §5.13.2.4.116 table 314.

    F163 (table 316) and the reading-day F169, F171 share it.
    """

    td: date | None = spec(A20)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    readings: list[float | None] = spec(A14, count="tariff_count", plus=1)


@_fns(162, 164, 165, 166, 167, 168, 170, 172, 173, 174, 175, 176)
@dataclass(slots=True)
class DailyReactiveReading:
    """F162 日冻结正向无功（组合无功1）电能示值（总、费率1～M）, table 315.

    F164-F168 (tables 317-321) and the reading-day F170, F172-F176 share it.
    """

    td: date | None = spec(A20)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    readings: list[float | None] = spec(A11, count="tariff_count", plus=1)


@_fns(177, 179, 201, 202, 203, 204, 205, 206, 207, 208)
@dataclass(slots=True)
class MonthlyActiveReading:
    """F177 月冻结正向有功电能示值（总、费率1～M）, §5.13.2.4.132 table 322.

    F179 (table 324) and the time-zone freezes F201-F208 (table 338) share it.
    """

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    readings: list[float | None] = spec(A14, count="tariff_count", plus=1)


@_fns(178, 180, 181, 182, 183, 184)
@dataclass(slots=True)
class MonthlyReactiveReading:
    """F178 月冻结正向无功（组合无功1）电能示值（总、费率1～M）, table 323.

    F180-F184 (tables 325-329) share it.
    """

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    readings: list[float | None] = spec(A11, count="tariff_count", plus=1)


@_fns(185, 186, 187, 188, 189, 190, 191, 192)
@dataclass(slots=True)
class DailyDemandReading:
    """F185 日冻结正向有功最大需量及发生时间, §5.13.2.4.140 table 330; F186-F192."""

    td: date | None = spec(A20)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    demands: list[Demand] = spec(Demand, count="tariff_count", plus=1)


@_fns(193, 194, 195, 196)
@dataclass(slots=True)
class MonthlyDemandReading:
    """F193 月冻结正向有功最大需量及发生时间, §5.13.2.4.148 table 334; F194-F196."""

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    demands: list[Demand] = spec(Demand, count="tariff_count", plus=1)
