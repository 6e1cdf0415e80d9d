"""AFN 0DH class-2 meter state, purchase and settlement (F209-F216), Std-2013.

§5.13.2.4.160-167 (table 221 group 27). Imported and re-exported by
:mod:`protocols.gdw1376.units.afn0d`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from protocols.gdw1376.fields import spec
from protocols.gdw1376.formats import (
    A1,
    A5,
    A8,
    A10,
    A11,
    A14,
    A15,
    A20,
    A21,
    BIN1,
    YearMonth,
)
from protocols.gdw1376.registry import AFN, Dir
from protocols.gdw1376.units._afn0d_tables import NAMES
from protocols.gdw1376.units._common import fn_registrar

_fns = fn_registrar(AFN.CLASS2, Dir.UP, NAMES)


@_fns(209)
@dataclass(slots=True)
class DailyMeterSupplyState:
    """F209 日冻结电能表远程控制通断电状态及记录, §5.13.2.4.160 table 339.

    ``state``: 00 power off (断电), 11H power on (通电).
    """

    td: date | None = spec(A20)
    read_time: datetime | None = spec(A15)
    state: int = spec(BIN1)
    last_close: datetime | None = spec(A1)
    last_trip: datetime | None = spec(A1)


@_fns(210)
@dataclass(slots=True)
class DailyMeterPurchase:
    """F210 日冻结电能表购、用电信息, §5.13.2.4.161 table 340 (元, kWh)."""

    td: date | None = spec(A20)
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


@_fns(215)
@dataclass(slots=True)
class MonthlyMeterPurchase:
    """F215 月冻结电能表购、用电信息, §5.13.2.4.166 table 345 (元, kWh)."""

    td: YearMonth | None = spec(A21)
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


@_fns(211)
@dataclass(slots=True)
class DailyUnbalance:
    """F211 日冻结三相电压、电流不平衡度95％概率值, §5.13.2.4.162 table 341."""

    td: date | None = spec(A20)
    current_unbalance: float | None = spec(A5)
    voltage_unbalance: float | None = spec(A5)


@_fns(212)
@dataclass(slots=True)
class MonthlyUnbalance:
    """F212 月冻结三相电压、电流不平衡度95％概率值, §5.13.2.4.163 table 342."""

    td: YearMonth | None = spec(A21)
    current_unbalance: float | None = spec(A5)
    voltage_unbalance: float | None = spec(A5)


@_fns(213)
@dataclass(slots=True)
class MonthlyMeterSwitchOperations:
    """F213 月冻结电能表开关操作次数及时间, §5.13.2.4.164 table 343."""

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    programmings: int | None = spec(A10)
    last_programmed: datetime | None = spec(A1)
    tail_cover_openings: int | None = spec(A10)
    last_tail_cover_opening: datetime | None = spec(A1)


@_fns(214)
@dataclass(slots=True)
class MonthlyMeterParameterChanges:
    """F214 月冻结电能表参数修改次数及时间, §5.13.2.4.165 table 344."""

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    clock_syncs: int | None = spec(A10)
    before_sync: datetime | None = spec(A1)
    after_sync: datetime | None = spec(A1)
    schedule_programmings: int | None = spec(A10)
    last_schedule_programmed: datetime | None = spec(A1)


@_fns(216)
@dataclass(slots=True)
class MonthlyMeterSettlement:
    """F216 月冻结电能表结算信息, §5.13.2.4.167 table 346 (total then tariffs 1..M)."""

    td: YearMonth | None = spec(A21)
    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    settled: list[float | None] = spec(A14, count="tariff_count", plus=1)
    unsettled: list[float | None] = spec(A14, count="tariff_count", plus=1)
    fault_energy: float | None = spec(A14)
