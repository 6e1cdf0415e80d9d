"""AFN 0CH class-1 real-time data (请求1类数据), Std-2013 §5.12.

The request carries only data-unit identifiers (table 129), so every downlink Fn has
no data. Uplink layouts follow §5.12.2.4. Where several Fns share one table (the
"数据排列及格式同…" clauses), the shape is declared once and registered per Fn with
its own name.

Not declared here (their lists cannot be delimited by a count field):

* F5, F6: one block per bit set in the total-add-group flag byte.
* F81-F121 hourly freezes: the point count follows from the Td_h density.
* F57, F58 harmonics: the harmonic count N comes from terminal configuration.

F12-F14, F162, F177 and F178 are 2013 additions (PROTOCOLS.md §1.14). The
measuring-point register and meter-state Fns (F129-F178) live in ``_afn0c_meter``
and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocols.gdw1376.fields import spec
from protocols.gdw1376.formats import (
    A1,
    A2,
    A3,
    A5,
    A7,
    A9,
    A10,
    A11,
    A12,
    A13,
    A14,
    A15,
    A17,
    A23,
    A25,
    A27,
    BIN1,
    BIN2,
    BIN4,
    MonthTime,
    bytes_format,
)
from protocols.gdw1376.registry import AFN, Dir, no_data_for_every_fn
from protocols.gdw1376.units._afn0c_meter import (
    METER_POWER_OFF,
    METER_POWER_ON,
    ActiveReading,
    CombinedActiveReading,
    Demand,
    DemandReading,
    MeterClock,
    MeterParameterChanges,
    MeterPurchase,
    MeterReadingInfo,
    MeterSettlement,
    MeterSupplyState,
    MeterSwitchOperations,
    ReactiveReading,
    RelayRoute,
    RelayRoutes,
)
from protocols.gdw1376.units._afn0c_tables import NAMES
from protocols.gdw1376.units._common import fn_registrar

__all__ = [
    "METER_POWER_OFF",
    "METER_POWER_ON",
    "ActiveReading",
    "CapacitorEnergy",
    "CapacitorState",
    "CapacitorTotals",
    "CombinedActiveReading",
    "CommTraffic",
    "DcAnalogue",
    "Demand",
    "DemandReading",
    "EnergyTotals",
    "EventCounters",
    "EventFlags",
    "ForwardReadings",
    "FoundMeter",
    "FoundMeters",
    "GroupEnergy",
    "GroupPower",
    "LossEnergy",
    "MaxDemands",
    "MeterClock",
    "MeterClockAndCounts",
    "MeterParameterChanges",
    "MeterPurchase",
    "MeterReadingInfo",
    "MeterReadingStatus",
    "MeterSettlement",
    "MeterStatusWords",
    "MeterSupplyState",
    "MeterSwitchOperations",
    "MissingSegments",
    "ParameterStatus",
    "PhaseAngles",
    "PhaseBreaks",
    "PhaseEnergy",
    "PhaseEnergyReadings",
    "PortReadingStatus",
    "PowerVoltageCurrent",
    "ReactiveReading",
    "RelayRoute",
    "RelayRoutes",
    "RemainingEnergy",
    "ReverseReadings",
    "StateAndChange",
    "TerminalClock",
    "UplinkCommStatus",
]

no_data_for_every_fn(AFN.CLASS1, Dir.DOWN, "class-1 data request (请求1类数据)")


_fns = fn_registrar(AFN.CLASS1, Dir.UP, NAMES)


# --- terminal (p0) --------------------------------------------------------------------


@_fns(2)
@dataclass(slots=True)
class TerminalClock:
    """F2 终端日历时钟, Std-2013 §5.12.2.4.1 table 130."""

    clock: datetime | None = spec(A1)


@_fns(3)
@dataclass(slots=True)
class ParameterStatus:
    """F3 终端参数状态, §5.12.2.4.2 table 131: BS248, bit i set = AFN04 F(i+1) set."""

    parameter_map: bytes = spec(bytes_format(31))


@_fns(4)
@dataclass(slots=True)
class UplinkCommStatus:
    """F4 终端上行通信状态, §5.12.2.4.3 table 132 (1 allowed, 2 forbidden)."""

    active_report: int = spec(BIN1, bits=(1, 0))
    talk: int = spec(BIN1, bits=(3, 2))
    reserved: int = spec(BIN1, bits=(7, 4))


@_fns(7)
@dataclass(slots=True)
class EventCounters:
    """F7 终端事件计数器当前值, §5.12.2.4.6 table 135."""

    ec1: int = spec(BIN1)
    ec2: int = spec(BIN1)


@_fns(8)
@dataclass(slots=True)
class EventFlags:
    """F8 终端事件标志状态, §5.12.2.4.7 table 136: BS64, bit i = ERC(i+1)."""

    flags: bytes = spec(bytes_format(8))


@_fns(9, 12)
@dataclass(slots=True)
class StateAndChange:
    """F9 终端状态量及变位标志 (table 137) and F12 (table 140): ST and CD bytes."""

    state: int = spec(BIN1)
    changed: int = spec(BIN1)


@_fns(10)
@dataclass(slots=True)
class CommTraffic:
    """F10 终端与主站当日、月通信流量, §5.12.2.4.9 table 138 (bytes)."""

    today: int = spec(BIN4)
    this_month: int = spec(BIN4)


@dataclass(slots=True)
class PortReadingStatus:
    """One port block of F11 (table 139)."""

    port: int = spec(BIN1)
    meters: int = spec(BIN2)
    status: int = spec(BIN1)  # D0 busy, D1 finished within the task window
    succeeded: int = spec(BIN2)
    key_succeeded: int = spec(BIN1)
    started: datetime | None = spec(A1)
    finished: datetime | None = spec(A1)


@_fns(11)
@dataclass(slots=True)
class MeterReadingStatus:
    """F11 终端集中抄表状态信息, §5.12.2.4.10 table 139."""

    count: int = spec(BIN1)
    ports: list[PortReadingStatus] = spec(PortReadingStatus, count="count")


@dataclass(slots=True)
class FoundMeter:
    """One result of F13 (table 141)."""

    address: str | None = spec(A12)
    protocol: int = spec(BIN1)
    collector: str | None = spec(A12)


@_fns(13)
@dataclass(slots=True)
class FoundMeters:
    """F13 搜索到的电表信息, §5.12.2.4.12 table 141."""

    total: int = spec(BIN2)
    count: int = spec(BIN2)
    meters: list[FoundMeter] = spec(FoundMeter, count="count")


@_fns(14)
@dataclass(slots=True)
class MissingSegments:
    """F14 文件传输未收到数据段, §5.12.2.4.13 table 142: BS1024, 1 = missing."""

    group: int = spec(BIN2)
    missing: bytes = spec(bytes_format(128))


# --- total-add group (总加组) ---------------------------------------------------------


@_fns(17, 18, 24)
@dataclass(slots=True)
class GroupPower:
    """F17 当前总加有功功率 (table 143), F18 (144), F24 (148): one A.2 value."""

    power: float | None = spec(A2)


@_fns(19, 20, 21, 22)
@dataclass(slots=True)
class GroupEnergy:
    """F19 当日总加有功电能量（总、费率1～M）, table 145; F20-F22 the same shape."""

    tariff_count: int = spec(BIN1)
    energy: list[int | None] = spec(A3, count="tariff_count", plus=1)


@_fns(23)
@dataclass(slots=True)
class RemainingEnergy:
    """F23 终端当前剩余电量（费）, §5.12.2.4.20 table 147."""

    remaining: int | None = spec(A3)


# --- measuring point: instantaneous values --------------------------------------------


@_fns(25)
@dataclass(slots=True)
class PowerVoltageCurrent:
    """F25 当前三相及总有/无功功率、功率因数…视在功率, §5.12.2.4.22 table 149 (67 B)."""

    read_time: datetime | None = spec(A15)
    active_power: float | None = spec(A9)
    active_power_a: float | None = spec(A9)
    active_power_b: float | None = spec(A9)
    active_power_c: float | None = spec(A9)
    reactive_power: float | None = spec(A9)
    reactive_power_a: float | None = spec(A9)
    reactive_power_b: float | None = spec(A9)
    reactive_power_c: float | None = spec(A9)
    power_factor: float | None = spec(A5)
    power_factor_a: float | None = spec(A5)
    power_factor_b: float | None = spec(A5)
    power_factor_c: float | None = spec(A5)
    voltage_a: float | None = spec(A7)
    voltage_b: float | None = spec(A7)
    voltage_c: float | None = spec(A7)
    current_a: float | None = spec(A25)
    current_b: float | None = spec(A25)
    current_c: float | None = spec(A25)
    current_zero: float | None = spec(A25)
    apparent_power: float | None = spec(A9)
    apparent_power_a: float | None = spec(A9)
    apparent_power_b: float | None = spec(A9)
    apparent_power_c: float | None = spec(A9)


@_fns(26)
@dataclass(slots=True)
class PhaseBreaks:
    """F26 三相断相统计数据及最近一次断相记录, §5.12.2.4.23 table 150.

    Each list is (total or latest, phase A, phase B, phase C).
    """

    read_time: datetime | None = spec(A15)
    counts: list[int | None] = spec(A10, count=4)
    minutes: list[int | None] = spec(A10, count=4)
    last_starts: list[MonthTime | None] = spec(A17, count=4)
    last_ends: list[MonthTime | None] = spec(A17, count=4)


@_fns(27)
@dataclass(slots=True)
class MeterClockAndCounts:
    """F27 电能表日历时钟、编程次数及其最近一次操作时间, §5.12.2.4.24 table 151."""

    read_time: datetime | None = spec(A15)
    meter_clock: datetime | None = spec(A1)
    battery_minutes: int | None = spec(A27)
    programmings: int | None = spec(A10)
    last_programmed: datetime | None = spec(A1)
    meter_clears: int | None = spec(A10)
    last_meter_clear: datetime | None = spec(A1)
    demand_clears: int | None = spec(A10)
    last_demand_clear: datetime | None = spec(A1)
    event_clears: int | None = spec(A10)
    last_event_clear: datetime | None = spec(A1)
    clock_syncs: int | None = spec(A10)
    last_clock_sync: datetime | None = spec(A1)


@_fns(28)
@dataclass(slots=True)
class MeterStatusWords:
    """F28 电表运行状态字及其变位标志, §5.12.2.4.25 table 152 (figures 34-40)."""

    read_time: datetime | None = spec(A15)
    change_flags: list[int] = spec(BIN2, count=7)
    status_words: list[int] = spec(BIN2, count=7)


@_fns(29, 30)
@dataclass(slots=True)
class LossEnergy:
    """F29 当前铜损、铁损有功总电能示值 (table 153); F30 (table 154)."""

    read_time: datetime | None = spec(A15)
    copper_loss: float | None = spec(A14)
    iron_loss: float | None = spec(A14)


@dataclass(slots=True)
class PhaseEnergy:
    """One phase of F31/F32: forward/reverse active, combined reactive 1/2."""

    forward_active: float | None = spec(A14)
    reverse_active: float | None = spec(A14)
    reactive_1: float | None = spec(A11)
    reactive_2: float | None = spec(A11)


@_fns(31, 32)
@dataclass(slots=True)
class PhaseEnergyReadings:
    """F31 当前A、B、C三相正/反向有功电能示值、组合无功1/2电能示值, table 155; F32."""

    read_time: datetime | None = spec(A15)
    phases: list[PhaseEnergy] = spec(PhaseEnergy, count=3)


# --- measuring point: energy registers ------------------------------------------------


@_fns(33, 37)
@dataclass(slots=True)
class ForwardReadings:
    """F33 当前正向有/无功电能示值、一/四象限无功电能示值, §5.12.2.4.30 table 157.

    Each list is the total then tariffs 1..M; F37 (table 161) is the same shape.
    """

    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    active: list[float | None] = spec(A14, count="tariff_count", plus=1)
    reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q1_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q4_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)


@_fns(34, 38)
@dataclass(slots=True)
class ReverseReadings:
    """F34 当前反向有/无功电能示值、二/三象限无功电能示值, §5.12.2.4.31 table 158.

    Each list is the total then tariffs 1..M; F38 (table 162) is the same shape.
    """

    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    active: list[float | None] = spec(A14, count="tariff_count", plus=1)
    reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q2_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)
    q3_reactive: list[float | None] = spec(A11, count="tariff_count", plus=1)


@_fns(35, 36, 39, 40)
@dataclass(slots=True)
class MaxDemands:
    """F35 当月正向有/无功最大需量及发生时间, §5.12.2.4.32 table 159; F36, F39, F40."""

    read_time: datetime | None = spec(A15)
    tariff_count: int = spec(BIN1)
    active: list[float | None] = spec(A23, count="tariff_count", plus=1)
    active_times: list[MonthTime | None] = spec(A17, count="tariff_count", plus=1)
    reactive: list[float | None] = spec(A23, count="tariff_count", plus=1)
    reactive_times: list[MonthTime | None] = spec(A17, count="tariff_count", plus=1)


@_fns(41, 42, 43, 44, 45, 46, 47, 48)
@dataclass(slots=True)
class EnergyTotals:
    """F41 当日正向有功电能量（总、费率1～M）, §5.12.2.4.38 table 165; F42-F48."""

    tariff_count: int = spec(BIN1)
    energy: list[float | None] = spec(A13, count="tariff_count", plus=1)


@_fns(49)
@dataclass(slots=True)
class PhaseAngles:
    """F49 当前电压、电流相位角, §5.12.2.4.46 table 173 (degrees)."""

    voltage_a: float | None = spec(A5)
    voltage_b: float | None = spec(A5)
    voltage_c: float | None = spec(A5)
    current_a: float | None = spec(A5)
    current_b: float | None = spec(A5)
    current_c: float | None = spec(A5)


@_fns(65)
@dataclass(slots=True)
class CapacitorState:
    """F65 当前电容器投切状态, §5.12.2.4.49 table 176 (state: bit i = group i+1)."""

    run_mode: int = spec(BIN1)
    state: int = spec(BIN2)


@_fns(66)
@dataclass(slots=True)
class CapacitorTotals:
    """F66 当前电容器累计补偿投入时间和次数, §5.12.2.4.50 table 177 (groups 1-9)."""

    seconds: list[int] = spec(BIN4, count=9)
    counts: list[int] = spec(BIN4, count=9)


@_fns(67)
@dataclass(slots=True)
class CapacitorEnergy:
    """F67 当日、当月电容器累计补偿的无功电能量, §5.12.2.4.51 table 178 (kvarh)."""

    today: float | None = spec(A13)
    this_month: float | None = spec(A13)


@_fns(73)
@dataclass(slots=True)
class DcAnalogue:
    """F73 直流模拟量当前数据, §5.12.2.4.52 table 179."""

    value: float | None = spec(A2)
