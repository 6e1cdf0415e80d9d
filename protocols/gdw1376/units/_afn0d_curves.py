"""AFN 0DH class-2 curves (曲线类数据), Std-2013 §5.13.2.4.56-88, 103-107, 168-170.

Every curve echoes the request's Td_c (start time ts, density m, point count n) and
then carries n points of one format, so the point list is sized by ``points``.
Imported and re-exported by :mod:`protocols.gdw1376.units.afn0d`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocols.gdw1376.fields import spec
from protocols.gdw1376.formats import A2, A3, A5, A7, A9, A11, A12, A13, A15, A25, BIN1
from protocols.gdw1376.registry import AFN, Dir
from protocols.gdw1376.units._afn0d_tables import NAMES
from protocols.gdw1376.units._common import fn_registrar

_fns = fn_registrar(AFN.CLASS2, Dir.UP, NAMES)


@_fns(73, 74, 138)
@dataclass(slots=True)
class GroupPowerCurve:
    """F73 总加组有功功率曲线, table 276; F74 (277) and F138 DC analogue (304), A.2."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[float | None] = spec(A2, count="points")


@_fns(75, 76)
@dataclass(slots=True)
class GroupEnergyCurve:
    """F75 总加组有功电能量曲线, table 278; F76 (279), A.3."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[int | None] = spec(A3, count="points")


@_fns(81, 82, 83, 84, 85, 86, 87, 88)
@dataclass(slots=True)
class PowerCurve:
    """F81 测量点有功功率曲线, table 280; F82-F84, F85-F88 (281), A.9."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[float | None] = spec(A9, count="points")


@_fns(89, 90, 91)
@dataclass(slots=True)
class VoltageCurve:
    """F89 测量点A相电压曲线, table 282; F90, F91, A.7."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[float | None] = spec(A7, count="points")


@_fns(92, 93, 94, 95)
@dataclass(slots=True)
class CurrentCurve:
    """F92 测量点A相电流曲线, table 283; F93-F95, A.25."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[float | None] = spec(A25, count="points")


@_fns(97, 98, 99, 100)
@dataclass(slots=True)
class EnergyCurve:
    """F97 测量点正向有功总电能量曲线, table 284; F98-F100 (285), A.13."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[float | None] = spec(A13, count="points")


@_fns(101, 102, 103, 104, 145, 146, 147, 148)
@dataclass(slots=True)
class ReadingCurve:
    """F101 测量点正向有功总电能示值曲线, table 286, A.11.

    F102-F104 and the quadrant reactive curves F145-F148 (table 305) share it.
    """

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[float | None] = spec(A11, count="points")


@_fns(105, 106, 107, 108)
@dataclass(slots=True)
class PowerFactorCurve:
    """F105 测量点功率因数曲线, table 287; F106-F108, A.5."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[float | None] = spec(A5, count="points")


@dataclass(slots=True)
class ThreePhaseAngles:
    """One point of F109/F110: phase A, B, C angles in degrees (A.5)."""

    a: float | None = spec(A5)
    b: float | None = spec(A5)
    c: float | None = spec(A5)


@_fns(109, 110)
@dataclass(slots=True)
class PhaseAngleCurve:
    """F109 测量点电压相位角曲线, table 288; F110 (289)."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[ThreePhaseAngles] = spec(ThreePhaseAngles, count="points")


@_fns(217)
@dataclass(slots=True)
class NoiseCurve:
    """F217 台区集中抄表载波主节点白噪声曲线, §5.13.2.4.168 table 347 (0-31)."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[int] = spec(BIN1, count="points")


@dataclass(slots=True)
class NodeNoise:
    """One point of F218: noise ratio and the master node address."""

    ratio: int = spec(BIN1)
    node: str | None = spec(A12)


@_fns(218)
@dataclass(slots=True)
class ColouredNoiseCurve:
    """F218 台区集中抄表载波主节点色噪声曲线, §5.13.2.4.169 table 348."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[NodeNoise] = spec(NodeNoise, count="points")


@dataclass(slots=True)
class CombinedPoint:
    """One point of F219 (table 349)."""

    active_power: float | None = spec(A9)
    reactive_power: float | None = spec(A9)
    voltage_a: float | None = spec(A7)
    voltage_b: float | None = spec(A7)
    voltage_c: float | None = spec(A7)
    current_a: float | None = spec(A25)
    current_b: float | None = spec(A25)
    current_c: float | None = spec(A25)
    forward_active: float | None = spec(A11)
    q1_reactive: float | None = spec(A11)
    q4_reactive: float | None = spec(A11)


@_fns(219)
@dataclass(slots=True)
class CombinedCurve:
    """F219 测量点组合数据曲线, §5.13.2.4.170 table 349: n points of the record."""

    td_start: datetime | None = spec(A15)
    density: int = spec(BIN1)
    points: int = spec(BIN1)
    values: list[CombinedPoint] = spec(CombinedPoint, count="points")
