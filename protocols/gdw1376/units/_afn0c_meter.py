"""AFN 0CH class-1 data, measuring-point registers and meter state (F129-F178).

Std-2013 §5.12.2.4.85-126. Imported and re-exported by
:mod:`protocols.gdw1376.units.afn0c`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from protocols.gdw1376.fields import spec
from protocols.gdw1376.formats import (
    A1,
    A8,
    A10,
    A11,
    A12,
    A14,
    A15,
    A17,
    A23,
    BIN1,
    MonthTime,
)
from protocols.gdw1376.registry import AFN, Dir
from protocols.gdw1376.units._afn0c_tables import NAMES
from protocols.gdw1376.units._common import fn_registrar

_fns = fn_registrar(AFN.CLASS1, Dir.UP, NAMES)

#: F161 meter supply state values (table 211).
METER_POWER_OFF: Final = 0x00  # 断电
METER_POWER_ON: Final = 0x11  # 通电


# --- measuring point: per-register readings (total, tariffs 1..M) ---------------------


@_fns(129, 131, 137, 139, 153, 154, 155, 156, 157, 158, 159, 160)
@dataclass(slots=True)
class ActiveReading:
    """F129 当前正向有功电能示值（总、费率1～M）, §5.12.2.4.85 table 198.

    F131 (table 200), F137, F139 and the time-zone freezes F153-F160 (table 210)
    share it.
    """

    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    readings: list[float | None] = spec(A14, count="tariff_count", plus=1)


@_fns(130, 132, 133, 134, 135, 136, 138, 140, 141, 142, 143, 144)
@dataclass(slots=True)
class ReactiveReading:
    """F130 当前正向无功（组合无功1）电能示值（总、费率1～M）, §5.12.2.4.86 table 199.

    F132-F136 (tables 201-205) and F138, F140-F144 share it.
    """

    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    readings: list[float | None] = spec(A11, count="tariff_count", plus=1)


@dataclass(slots=True)
class Demand:
    """A maximum demand (A.23) and when it occurred (A.17)."""

    value: float | None = spec(A23)
    time: MonthTime | None = spec(A17)


@_fns(145, 146, 147, 148, 149, 150, 151, 152)
@dataclass(slots=True)
class DemandReading:
    """F145 当月正向有功最大需量及发生时间（总、费率1～M）, §5.12.2.4.101 table 206.

    F146-F148 (tables 207-209) and F149-F152 share it.
    """

    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    demands: list[Demand] = spec(Demand, count="tariff_count", plus=1)


# --- measuring point: meter state (2013) ----------------------------------------------


@_fns(161)
@dataclass(slots=True)
class MeterSupplyState:
    """F161 电能表远程控制通断电状态及记录, §5.12.2.4.117 table 211.

    ``state`` is :data:`METER_POWER_OFF` (00) or :data:`METER_POWER_ON` (11H).
    """

    read_time: datetime | None = spec(A15)
    state: int = spec(BIN1)
    last_close: datetime | None = spec(A1)
    last_trip: datetime | None = spec(A1)


@_fns(162)
@dataclass(slots=True)
class MeterClock:
    """F162 电能表日历时钟, §5.12.2.4.118 table 212."""

    read_time: datetime | None = spec(A15)
    meter_clock: datetime | None = spec(A1)


@_fns(165)
@dataclass(slots=True)
class MeterSwitchOperations:
    """F165 电能表开关操作次数及时间, §5.12.2.4.119 table 213."""

    read_time: datetime | None = spec(A15)
    programmings: int | None = spec(A10)
    last_programmed: datetime | None = spec(A1)
    tail_cover_openings: int | None = spec(A10)
    last_tail_cover_opening: datetime | None = spec(A1)


@_fns(166)
@dataclass(slots=True)
class MeterParameterChanges:
    """F166 电能表参数修改次数及时间, §5.12.2.4.120 table 214."""

    read_time: datetime | None = spec(A15)
    clock_syncs: int | None = spec(A10)
    before_sync: datetime | None = spec(A1)
    after_sync: datetime | None = spec(A1)
    schedule_programmings: int | None = spec(A10)
    last_schedule_programmed: datetime | None = spec(A1)


@_fns(167)
@dataclass(slots=True)
class MeterPurchase:
    """F167 电能表购、用电信息, §5.12.2.4.121 table 215 (money in 元, energy kWh)."""

    read_time: datetime | None = spec(A15)
    purchases: int | None = spec(A8)
    remaining_money: float | None = spec(A14)
    purchased_money: float | None = spec(A14)
    remaining_energy: float | None = spec(A11)
    overdraft_energy: float | None = spec(A11)
    purchased_energy: float | None = spec(A11)
    credit_limit_energy: float | None = spec(A11)
    alarm_energy: float | None = spec(A11)
    fault_energy: float | None = spec(A11)


@_fns(168)
@dataclass(slots=True)
class MeterSettlement:
    """F168 电能表结算信息, §5.12.2.4.122 table 216 (total then tariffs 1..M)."""

    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    settled: list[float | None] = spec(A14, count="tariff_count", plus=1)
    unsettled: list[float | None] = spec(A14, count="tariff_count", plus=1)


@dataclass(slots=True)
class RelayRoute:
    """One route of F169 (table 217): its depth and relay addresses."""

    depth: int = spec(BIN1)
    relays: list[str | None] = spec(A12, count="depth")


@_fns(169)
@dataclass(slots=True)
class RelayRoutes:
    """F169 集中抄表中继路由信息, §5.12.2.4.123 table 217 (0 routes: direct)."""

    port: int = spec(BIN1)
    count: int = spec(BIN1)
    routes: list[RelayRoute] = spec(RelayRoute, count="count")


@_fns(170)
@dataclass(slots=True)
class MeterReadingInfo:
    """F170 集中抄表电表抄读信息, §5.12.2.4.124 table 218."""

    port: int = spec(BIN1)
    relay_depth: int = spec(BIN1)
    phases: int = spec(BIN1)  # D6-D4 reading phase C/B/A, D2-D0 meter phase C/B/A
    signal_quality: int = spec(BIN1)  # D7-D4 meter send, D3-D0 meter receive
    last_succeeded: int = spec(BIN1)  # 1 success, 0 failure
    last_success: datetime | None = spec(A1)
    last_failure: datetime | None = spec(A1)
    failures: int = spec(BIN1)


@_fns(177, 178)
@dataclass(slots=True)
class CombinedActiveReading:
    """F177 当前组合有功电能示值（总、费率1～M）, §5.12.2.4.125 table 219; F178."""

    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    readings: list[float | None] = spec(A14, count="tariff_count", plus=1)
