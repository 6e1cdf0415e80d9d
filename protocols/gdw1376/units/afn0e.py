"""AFN 0EH class-3 event data (请求3类数据), Std-2013 §5.14 and appendix B.

Downlink F1 (important events) and F2 (normal events) carry the pointer range Pm..Pn
(table 351); 2013 defines no other Fn (F3-F248 reserved, table 350). The uplink
carries EC1, EC2, Pm, Pn and the event records to the end of the unit (table 352).

Records are sized by their own length byte Le (table 353), never by a per-ERC
table: real terminals send ERC14 with Le = 11 where the text gives 10
(PROTOCOLS.md §1.11). The content stays raw bytes on the record; :meth:`EventRecord.
embedded` decodes it with the ERC's layout from :data:`ERC_LAYOUTS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeVar

from protocols.errors import BadLength, BadValue, ProtocolError
from protocols.gdw1376.fields import BYTES, TO_END, layout_of, spec
from protocols.gdw1376.formats import (
    A1,
    A2,
    A3,
    A5,
    A7,
    A12,
    A14,
    A15,
    A25,
    BIN1,
    BIN2,
    ascii_format,
    bytes_format,
)
from protocols.gdw1376.registry import AFN, down, unit, up
from protocols.gdw1376.units._afn0e_tables import ERC_NAMES

__all__ = [
    "ERC_LAYOUTS",
    "ERC_NAMES",
    "ERC_VARIANTS",
    "AuthError",
    "ChangedUnit",
    "ClockSync",
    "EnergyControlTrip",
    "EventRecord",
    "EventReport",
    "EventRequest",
    "Initialisation",
    "LoopFault",
    "MeterClockDrift",
    "MeterFault",
    "MeterParameterChange",
    "MeterStatusChange",
    "ParameterChange",
    "ParameterLoss",
    "PhaseSequenceFault",
    "PowerControlTrip",
    "PowerOffOn",
    "PowerOffOnWithAttribute",
    "RemoteTrip",
    "StateChange",
    "UnknownMeter",
    "UnknownMeters",
]

IMPORTANT = 1  # F1 请求重要事件
NORMAL = 2  # F2 请求一般事件


# --- the data units (§5.14.1.3, §5.14.2.3) -------------------------------------------


@unit(down(AFN.CLASS3, IMPORTANT), name="important events request (请求重要事件)")
@unit(down(AFN.CLASS3, NORMAL), name="normal events request (请求一般事件)")
@dataclass(slots=True)
class EventRequest:
    """请求事件记录指针, Std-2013 §5.14.1.3 table 351: start Pm, end Pn."""

    pm: int = spec(BIN1)
    pn: int = spec(BIN1)

    @property
    def count(self) -> int:
        """Records requested, Y = Pn - Pm, or 256 + Pn - Pm when Pm > Pn."""
        return (self.pn - self.pm) % 256


@dataclass(slots=True)
class EventRecord:
    """事件记录, Std-2013 §5.14.2.4 table 353: ERC, Le, then Le bytes of content."""

    erc: int = spec(BIN1)
    le: int = spec(BIN1)
    body: bytes = spec(BYTES, length="le")

    @property
    def name(self) -> str | None:
        """English name of the ERC (appendix B), or None when reserved."""
        names = ERC_NAMES.get(self.erc)
        return None if names is None else names[0]

    def embedded(self) -> dict[str, object]:
        """The decoded content: ``{"event": obj}``, ``{}`` for an unknown ERC.

        A body that does not fit its layout gives ``{"event_error": ProtocolError}``;
        bad field values give both keys (the object has None in those fields).
        Never raises.
        """
        cls = ERC_VARIANTS.get((self.erc, self.le)) or ERC_LAYOUTS.get(self.erc)
        if cls is None:
            return {}
        body = self.body
        try:
            obj, end, errs = layout_of(cls).decode(body, 0, len(body))
        except ProtocolError as exc:
            return {"event_error": exc}
        if end != len(body):
            return {
                "event_error": BadLength(
                    f"ERC{self.erc}: {len(body) - end} bytes after {cls.__name__}"
                )
            }
        if errs:
            return {"event": obj, "event_error": BadValue("; ".join(errs))}
        return {"event": obj}


@unit(up(AFN.CLASS3, IMPORTANT), name="important events (请求重要事件)")
@unit(up(AFN.CLASS3, NORMAL), name="normal events (请求一般事件)")
@dataclass(slots=True)
class EventReport:
    """F1、F2数据单元格式, Std-2013 §5.14.2.3.1 table 352.

    ``records`` runs to the end of the unit area, so the unit must be the frame's
    last (the standard sends one DA/DT per AFN 0EH frame).
    """

    ec1: int = spec(BIN1)
    ec2: int = spec(BIN1)
    pm: int = spec(BIN1)
    pn: int = spec(BIN1)
    records: list[EventRecord] = spec(EventRecord, count=TO_END)


# --- event record contents (§5.14.2.5) -----------------------------------------------

#: ERC -> layout of the record content (after ERC and Le).
ERC_LAYOUTS: Final[dict[int, type]] = {}
#: (ERC, Le) -> layout, for lengths real terminals send beside the standard's.
ERC_VARIANTS: Final[dict[tuple[int, int], type]] = {}

T = TypeVar("T", bound=type)


def _erc(code: int, le: int | None = None) -> Callable[[T], T]:
    def deco(cls: T) -> T:
        if le is None:
            ERC_LAYOUTS[code] = cls
        else:
            ERC_VARIANTS[(code, le)] = cls
        return cls

    return deco


@_erc(1)
@dataclass(slots=True)
class Initialisation:
    """ERC1 数据初始化和版本变更记录, Std-2013 §5.14.2.5.1 table 354."""

    time: datetime | None = spec(A15)
    initialised: int = spec(BIN1, bits=(0, 0))
    version_changed: int = spec(BIN1, bits=(1, 1))
    reserved: int = spec(BIN1, bits=(7, 2))
    old_version: str = spec(ascii_format(4))
    new_version: str = spec(ascii_format(4))


@_erc(2)
@dataclass(slots=True)
class ParameterLoss:
    """ERC2 参数丢失记录, §5.14.2.5.2 table 355."""

    time: datetime | None = spec(A15)
    terminal_lost: int = spec(BIN1, bits=(0, 0))
    point_lost: int = spec(BIN1, bits=(1, 1))
    reserved: int = spec(BIN1, bits=(7, 2))


@dataclass(slots=True)
class ChangedUnit:
    """One changed parameter's data-unit identifier (DA, DT as little-endian words)."""

    da: int = spec(BIN2)
    dt: int = spec(BIN2)


@_erc(3)
@dataclass(slots=True)
class ParameterChange:
    """ERC3 参数变更记录, §5.14.2.5.3 table 356: time, master address, DA/DT list."""

    time: datetime | None = spec(A15)
    master: int = spec(BIN1)
    units: list[ChangedUnit] = spec(ChangedUnit, count=TO_END)


@_erc(4)
@dataclass(slots=True)
class StateChange:
    """ERC4 状态量变位记录, §5.14.2.5.4 table 357 (bit i = input i+1)."""

    time: datetime | None = spec(A15)
    changed: int = spec(BIN1)
    state: int = spec(BIN1)


@_erc(5)
@dataclass(slots=True)
class RemoteTrip:
    """ERC5 遥控跳闸记录, §5.14.2.5.5 table 358 (rounds: bit i = round i+1)."""

    time: datetime | None = spec(A15)
    rounds: int = spec(BIN1)
    power: float | None = spec(A2)
    power_after_2min: float | None = spec(A2)


@_erc(6)
@dataclass(slots=True)
class PowerControlTrip:
    """ERC6 功控跳闸记录, §5.14.2.5.6 table 359.

    ``control_type``: D0 period, D1 factory rest, D2 business stop, D3 float-down.
    """

    time: datetime | None = spec(A15)
    group: int = spec(BIN1, bits=(5, 0))
    reserved: int = spec(BIN1, bits=(7, 6))
    rounds: int = spec(BIN1)
    control_type: int = spec(BIN1)
    power_before: float | None = spec(A2)
    power_after_2min: float | None = spec(A2)
    setpoint: float | None = spec(A2)


@_erc(7)
@dataclass(slots=True)
class EnergyControlTrip:
    """ERC7 电控跳闸记录, §5.14.2.5.7 tables 360-361 (type: D0 monthly, D1 purchase)."""

    time: datetime | None = spec(A15)
    group: int = spec(BIN1, bits=(5, 0))
    reserved: int = spec(BIN1, bits=(7, 6))
    rounds: int = spec(BIN1)
    control_type: int = spec(BIN1)
    energy: int | None = spec(A3)
    setpoint: int | None = spec(A3)


@_erc(8)
@dataclass(slots=True)
class MeterParameterChange:
    """ERC8 电能表参数变更, §5.14.2.5.8 table 362 (flags D0-D5 per the table)."""

    time: datetime | None = spec(A15)
    pn: int = spec(BIN2, bits=(11, 0))
    reserved: int = spec(BIN2, bits=(15, 12))
    flags: int = spec(BIN1)


@_erc(9)
@_erc(10)
@dataclass(slots=True)
class LoopFault:
    """ERC9 电流回路异常 (table 363) and ERC10 电压回路异常 (table 364).

    ``started``: 1 occurred, 0 recovered. ``phases``: D0-D2 = A, B, C. ``kind``:
    ERC9 1 short, 2 open, 3 reverse; ERC10 1 phase break, 2 voltage loss.
    """

    time: datetime | None = spec(A15)
    pn: int = spec(BIN2, bits=(11, 0))
    reserved: int = spec(BIN2, bits=(14, 12))
    started: int = spec(BIN2, bits=(15, 15))
    phases: int = spec(BIN1, bits=(2, 0))
    flags_reserved: int = spec(BIN1, bits=(5, 3))
    kind: int = spec(BIN1, bits=(7, 6))
    voltage_a: float | None = spec(A7)
    voltage_b: float | None = spec(A7)
    voltage_c: float | None = spec(A7)
    current_a: float | None = spec(A25)
    current_b: float | None = spec(A25)
    current_c: float | None = spec(A25)
    forward_active: float | None = spec(A14)


@_erc(11)
@dataclass(slots=True)
class PhaseSequenceFault:
    """ERC11 相序异常, §5.14.2.5.11 table 365 (angles in degrees)."""

    time: datetime | None = spec(A15)
    pn: int = spec(BIN2, bits=(11, 0))
    reserved: int = spec(BIN2, bits=(14, 12))
    started: int = spec(BIN2, bits=(15, 15))
    angles: list[float | None] = spec(A5, count=6)  # Ua, Ub, Uc, Ia, Ib, Ic
    forward_active: float | None = spec(A14)


@_erc(12)
@dataclass(slots=True)
class MeterClockDrift:
    """ERC12 电能表时间超差, §5.14.2.5.12 table 366."""

    time: datetime | None = spec(A15)
    pn: int = spec(BIN2, bits=(11, 0))
    reserved: int = spec(BIN2, bits=(14, 12))
    started: int = spec(BIN2, bits=(15, 15))


@_erc(13)
@dataclass(slots=True)
class MeterFault:
    """ERC13 电表故障信息, §5.14.2.5.13 table 367 (flags D0-D4 per the table)."""

    time: datetime | None = spec(A15)
    pn: int = spec(BIN2, bits=(11, 0))
    reserved: int = spec(BIN2, bits=(14, 12))
    started: int = spec(BIN2, bits=(15, 15))
    flags: int = spec(BIN1)


@_erc(14)
@dataclass(slots=True)
class PowerOffOn:
    """ERC14 终端停/上电事件, §5.14.2.5.14 table 368 (Le = 10)."""

    power_off: datetime | None = spec(A15)
    power_on: datetime | None = spec(A15)


@_erc(14, le=11)
@dataclass(slots=True)
class PowerOffOnWithAttribute:
    """ERC14 终端停/上电事件 as field terminals send it: an attribute byte first.

    Le = 11 (PROTOCOLS.md §1.11, S2 capture); the byte is kept as it is.
    """

    attribute: int = spec(BIN1)
    power_off: datetime | None = spec(A15)
    power_on: datetime | None = spec(A15)


@_erc(20)
@dataclass(slots=True)
class AuthError:
    """ERC20 消息认证错误记录, §5.14.2.5.20 table 374."""

    time: datetime | None = spec(A15)
    pw: bytes = spec(bytes_format(16))
    master: int = spec(BIN1)


@_erc(33)
@dataclass(slots=True)
class MeterStatusChange:
    """ERC33 电能表运行状态字变位事件记录, §5.14.2.5.33 table 388 (words 1-7)."""

    time: datetime | None = spec(A15)
    pn: int = spec(BIN2, bits=(11, 0))
    reserved: int = spec(BIN2, bits=(15, 12))
    change_flags: list[int] = spec(BIN2, count=7)
    status_words: list[int] = spec(BIN2, count=7)


@dataclass(slots=True)
class UnknownMeter:
    """One meter of ERC35: address, phase/signal quality byte, protocol byte."""

    address: str | None = spec(A12)
    phase_quality: int = spec(BIN1)  # D7-D5 phase C/B/A, D3-D0 signal quality
    protocol: int = spec(BIN1)  # D1-D0: 0 DL/T 645-1997, 1 DL/T 645-2007


@_erc(35)
@dataclass(slots=True)
class UnknownMeters:
    """ERC35 发现未知电表事件记录, §5.14.2.5.35 table 390."""

    time: datetime | None = spec(A15)
    port: int = spec(BIN1, bits=(5, 0))
    reserved: int = spec(BIN1, bits=(7, 6))
    count: int = spec(BIN1)
    meters: list[UnknownMeter] = spec(UnknownMeter, count="count")


@_erc(41)
@dataclass(slots=True)
class ClockSync:
    """ERC41 对时事件记录, §5.14.2.5.41 table 396 (pn 0: the terminal itself)."""

    pn: int = spec(BIN2, bits=(11, 0))
    reserved: int = spec(BIN2, bits=(15, 12))
    before: datetime | None = spec(A1)
    after: datetime | None = spec(A1)
