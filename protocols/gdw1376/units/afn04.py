"""AFN 04H set parameters (设置参数) and AFN 0AH query parameters (查询参数).

Std-2013 §5.5 and §5.10. An AFN04 downlink unit and the AFN0A uplink answer for the
same Fn share one layout (§5.10.2.2), so each layout here is registered under both
keys. An AFN0A query carries no data except for the Fns that select objects
(§5.10.1.3: F10, F11, F13–F15, F33, F34, F38, F39); those query forms are at the end.
AFN04 downlinks carry PW, which the link layer handles; the terminal answers AFN04
with AFN 00H.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from enum import IntEnum
from typing import Final, TypeVar

from protocols.errors import LocalProtocolError
from protocols.gdw1376.fields import BYTES, spec
from protocols.gdw1376.formats import (
    A2,
    A3,
    A4,
    A7,
    A12,
    A19,
    A20,
    A22,
    A23,
    BIN1,
    BIN2,
    BIN3,
    BIN4,
    IPV4,
    Buffer,
    Format,
    ascii_format,
    bytes_format,
)
from protocols.gdw1376.registry import AFN, Dir, down, no_data_for_every_fn, unit, up

T = TypeVar("T", bound=type)


def _bs64_decode(b: Buffer, o: int) -> int:
    return int.from_bytes(b[o : o + 8], "little")


def _bs64_encode(v: int) -> bytes:
    try:
        return int(v).to_bytes(8, "little")
    except OverflowError:
        raise LocalProtocolError(f"BS64: {v} does not fit") from None


#: BS64 bit string, D0 first (low byte first, Std-2013 §4.2); e.g. ERC1–ERC64 flags.
BS64: Final = Format("BS64", 8, _bs64_decode, _bs64_encode, "64-bit flags", "", "bin")


def _param(fn: int, name: str) -> Callable[[T], T]:
    """Register a layout as AFN04 Fn (downlink) and AFN0A Fn (uplink answer)."""
    return unit(down(AFN.SET_PARAM, fn), up(AFN.QUERY_PARAM, fn), name=name)


class BaudCode(IntEnum):
    """F10 baud-rate code, D7–D5 of the rate/port byte (Std-2013 §5.5.1.3.10 d)."""

    DEFAULT = 0  # 无需设置或使用默认的
    B600 = 1
    B1200 = 2
    B2400 = 3
    B4800 = 4
    B7200 = 5
    B9600 = 6
    B19200 = 7


class MeterProtocol(IntEnum):
    """F10 communication protocol type (通信协议类型, Std-2013 §5.5.1.3.10 e)."""

    NONE = 0  # 终端无需对本序号的电能表/交流采样装置进行抄表
    DLT645_1997 = 1
    AC_SAMPLER = 2  # 交流采样装置通信协议
    DLT645_2007 = 30
    CARRIER = 31  # "串行接口连接窄带低压载波通信模块"接口协议


class Wiring(IntEnum):
    """F25 power wiring mode, D1–D0 (电源接线方式, Std-2013 §5.5.1.3.24)."""

    THREE_PHASE_THREE_WIRE = 1  # 三相三线
    THREE_PHASE_FOUR_WIRE = 2  # 三相四线
    SINGLE_PHASE = 3  # 单相表


class PurchaseMode(IntEnum):
    """F47 append/refresh flag (追加/刷新标志, Std-2013 §5.5.1.3.44)."""

    APPEND = 0x55  # 追加
    REFRESH = 0xAA  # 刷新


@_param(1, "terminal uplink comm parameters (终端上行通信口通信参数设置)")
@dataclass(slots=True)
class UplinkCommParams:
    """F1 终端上行通信口通信参数设置, Std-2013 §5.5.1.3.1, table 22 and fig. 20.

    ``rts_delay`` counts 20 ms; ``allowed_delay`` (min) is the transmission delay
    the terminal allows as initiator; ``response_timeout`` (0–4095 s) and
    ``retries`` (0–3) share two bytes; ``con_class1..3`` ask the master to confirm
    class-1/2/3 active reports; ``heartbeat_period`` is in minutes.
    """

    rts_delay: int = spec(BIN1)
    allowed_delay: int = spec(BIN1)
    response_timeout: int = spec(BIN2, bits=(11, 0))
    retries: int = spec(BIN2, bits=(13, 12))
    con_class1: int = spec(BIN1, bits=(0, 0))
    con_class2: int = spec(BIN1, bits=(1, 1))
    con_class3: int = spec(BIN1, bits=(2, 2))
    heartbeat_period: int = spec(BIN1)


@_param(3, "master IP address and port (主站IP地址和端口)")
@dataclass(slots=True)
class MasterAddress:
    """F3 主站IP地址和端口, Std-2013 §5.5.1.3.3, table 24: main, backup and APN."""

    main_ip: str = spec(IPV4)
    main_port: int = spec(BIN2)
    backup_ip: str = spec(IPV4)
    backup_port: int = spec(BIN2)
    apn: str = spec(ascii_format(16))


@_param(5, "uplink message authentication (终端上行通信消息认证参数设置)")
@dataclass(slots=True)
class MessageAuth:
    """F5 终端上行通信消息认证参数设置, Std-2013 §5.5.1.3.5, table 26.

    ``scheme``: 0 none, 1–254 software schemes, 255 dedicated hardware.
    """

    scheme: int = spec(BIN1)
    parameter: int = spec(BIN2)


@_param(6, "terminal group addresses (终端组地址设置)")
@dataclass(slots=True)
class GroupAddresses:
    """F6 终端组地址设置, Std-2013 §5.5.1.3.6, table 27: eight, 0 = unused."""

    addresses: list[int] = spec(BIN2, count=8)


@_param(7, "terminal IP address and port (终端IP地址和端口)")
@dataclass(slots=True)
class TerminalAddress:
    """F7 终端IP地址和端口, Std-2013 §5.5.1.3.7, table 28.

    ``proxy_type``: 0 none, 1 HTTP CONNECT, 2 SOCKS4, 3 SOCKS5; ``proxy_auth``:
    0 none, 1 user name and password. The ASCII user name and password (0–20
    bytes each) are kept as bytes.
    """

    ip: str = spec(IPV4)
    netmask: str = spec(IPV4)
    gateway: str = spec(IPV4)
    proxy_type: int = spec(BIN1)
    proxy_ip: str = spec(IPV4)
    proxy_port: int = spec(BIN2)
    proxy_auth: int = spec(BIN1)
    user_length: int = spec(BIN1)
    user: bytes = spec(BYTES, length="user_length")
    password_length: int = spec(BIN1)
    password: bytes = spec(BYTES, length="password_length")
    listen_port: int = spec(BIN2)


@_param(
    8, "uplink work mode, Ethernet or VPN (终端上行通信工作方式（以太专网或虚拟专网）)"
)
@dataclass(slots=True)
class WorkMode:
    """F8 终端上行通信工作方式（以太专网或虚拟专网）, Std-2013 §5.5.1.3.8, table 29.

    ``udp`` (D7): 0 TCP, 1 UDP; ``mode`` (D5–D4): 0 mixed, 1 client, 2 server;
    ``online`` (D1–D0): 1 permanent, 2 passive activation, 3 time window.
    ``redial_interval`` is in seconds, ``idle_disconnect`` in minutes and
    ``online_hours`` is BS24 (bit h = hour h).
    """

    udp: int = spec(BIN1, bits=(7, 7))
    mode: int = spec(BIN1, bits=(5, 4))
    online: int = spec(BIN1, bits=(1, 0))
    redial_interval: int = spec(BIN2)
    passive_redials: int = spec(BIN1)
    idle_disconnect: int = spec(BIN1)
    online_hours: int = spec(BIN3)


@_param(9, "event record configuration (终端事件记录配置设置)")
@dataclass(slots=True)
class EventConfig:
    """F9 终端事件记录配置设置, Std-2013 §5.5.1.3.9, table 30.

    Bit i of each BS64 stands for ERC i+1: record it, and treat it as important.
    """

    recorded: int = spec(BS64)
    important: int = spec(BS64)


@dataclass(slots=True)
class MeterConfig:
    """One meter / AC sampler of F10, Std-2013 §5.5.1.3.10, table 31 (27 bytes).

    ``point`` 0 deletes the entry. ``baud`` is a :class:`BaudCode`, ``protocol`` a
    :class:`MeterProtocol`. ``integer_code`` 0–3 means 4–7 integer digits and
    ``decimal_code`` 0–3 means 1–4 decimals of the active energy reading.
    ``collector`` "000000000000" means the meter hangs directly on the terminal.
    """

    number: int = spec(BIN2)
    point: int = spec(BIN2)
    baud: int = spec(BIN1, bits=(7, 5))
    port: int = spec(BIN1, bits=(4, 0))
    protocol: int = spec(BIN1)
    address: str | None = spec(A12)
    password: bytes = spec(bytes_format(6))
    tariff_count: int = spec(BIN1, bits=(3, 0))
    integer_code: int = spec(BIN1, bits=(3, 2))
    decimal_code: int = spec(BIN1, bits=(1, 0))
    collector: str | None = spec(A12)
    user_class: int = spec(BIN1, bits=(7, 4))
    user_subclass: int = spec(BIN1, bits=(3, 0))


@_param(10, "meter / AC sampler configuration (终端电能表/交流采样装置配置参数)")
@dataclass(slots=True)
class MeterConfigs:
    """F10 终端电能表/交流采样装置配置参数, Std-2013 §5.5.1.3.10, table 31."""

    count: int = spec(BIN2)
    meters: list[MeterConfig] = spec(MeterConfig, count="count")


@_param(17, "terminal security power value (终端保安定值)")
@dataclass(slots=True)
class SecurityValue:
    """F17 终端保安定值, Std-2013 §5.5.1.3.17, table 38 (kW, A.2)."""

    value: float | None = spec(A2)


@_param(18, "power-control periods (终端功控时段)")
@dataclass(slots=True)
class ControlPeriods:
    """F18 终端功控时段, Std-2013 §5.5.1.3.18, table 39.

    Two bits per half hour from 00:00, low bits first: 0 no control, 1 control 1,
    2 control 2. :meth:`states` unpacks the 48 codes.
    """

    raw: bytes = spec(bytes_format(12))

    def states(self) -> list[int]:
        return [b >> s & 3 for b in self.raw for s in (0, 2, 4, 6)]


@_param(19, "period power-control float coefficient (终端时段功控定值浮动系数)")
@_param(20, "monthly energy-control float coefficient (终端月电能量控定值浮动系数)")
@dataclass(slots=True)
class FloatCoefficient:
    """F19 终端时段功控定值浮动系数 and F20 终端月电能量控定值浮动系数.

    Std-2013 §5.5.1.3.19–20, tables 40 and 41: one A.4 percentage.
    """

    coefficient: int | None = spec(A4)


@_param(23, "arrears alarm hours (终端催费告警参数)")
@dataclass(slots=True)
class ArrearsAlarmHours:
    """F23 终端催费告警参数, Std-2013 §5.5.1.3.23, table 44: BS24, bit h = hour h."""

    hours: int = spec(BIN3)


@_param(25, "measuring point basic parameters (测量点基本参数)")
@dataclass(slots=True)
class PointBasics:
    """F25 测量点基本参数, Std-2013 §5.5.1.3.24, table 45 (pn = measuring point).

    ``wiring`` (D1–D0) is a :class:`Wiring`; ``phase`` (D3–D2) is the phase of a
    single-phase meter: 0 unknown, 1 A, 2 B, 3 C.
    """

    pt_ratio: int = spec(BIN2)
    ct_ratio: int = spec(BIN2)
    rated_voltage: float | None = spec(A7)
    rated_current: float | None = spec(A22)
    rated_load: float | None = spec(A23)
    wiring: int = spec(BIN1, bits=(1, 0))
    phase: int = spec(BIN1, bits=(3, 2))


@_param(42, "factory-rest control parameters (厂休功控参数)")
@dataclass(slots=True)
class FactoryRestControl:
    """F42 厂休功控参数, Std-2013 §5.5.1.3.39, table 59 (pn = total-add group).

    ``duration`` counts half hours (1–48); ``weekdays`` bit D1–D7 = Monday–Sunday.
    """

    value: float | None = spec(A2)
    start: time | None = spec(A19)
    duration: int = spec(BIN1)
    weekdays: int = spec(BIN1)


@_param(43, "power slip time (功率控制的功率计算滑差时间)")
@dataclass(slots=True)
class PowerSlipTime:
    """F43 功率控制的功率计算滑差时间, Std-2013 §5.5.1.3.40, table 60 (1–60 min)."""

    minutes: int = spec(BIN1)


@_param(44, "business-suspension control parameters (营业报停控参数)")
@dataclass(slots=True)
class BusinessSuspensionControl:
    """F44 营业报停控参数, Std-2013 §5.5.1.3.41, table 61 (pn = total-add group)."""

    start: date | None = spec(A20)
    end: date | None = spec(A20)
    value: float | None = spec(A2)


@_param(45, "power-control rounds (功控轮次设定)")
@_param(48, "energy-control rounds (电控轮次设定)")
@dataclass(slots=True)
class ControlRounds:
    """F45 功控轮次设定 and F48 电控轮次设定, Std-2013 §5.5.1.3.42/45, tables 62/65.

    ``rounds``: bit i set = the switch of round i+1 is controlled.
    """

    rounds: int = spec(BIN1)


@_param(46, "monthly energy control value (月电量控定值)")
@dataclass(slots=True)
class MonthlyEnergyControl:
    """F46 月电量控定值, Std-2013 §5.5.1.3.43, table 63 (kWh A.3, alarm % A.4)."""

    quota: int | None = spec(A3)
    alarm_coefficient: int | None = spec(A4)


@_param(47, "purchase energy (fee) control parameters (购电量（费）控参数)")
@dataclass(slots=True)
class PurchaseControl:
    """F47 购电量（费）控参数, Std-2013 §5.5.1.3.44, table 64.

    ``mode`` is a :class:`PurchaseMode`; amounts are A.3 (kWh or 厘). A repeated
    ``order_number`` must be denied by the terminal.
    """

    order_number: int = spec(BIN4)
    mode: int = spec(BIN1)
    amount: int | None = spec(A3)
    alarm_threshold: int | None = spec(A3)
    trip_threshold: int | None = spec(A3)


@_param(49, "power-control alarm time (功控告警时间)")
@dataclass(slots=True)
class PowerControlAlarmTime:
    """F49 功控告警时间, Std-2013 §5.5.1.3.46, table 66 (pn = control round; min)."""

    minutes: int = spec(BIN1)


@unit(up(AFN.QUERY_PARAM, 150), name="measuring point status (测量点状态)")
@dataclass(slots=True)
class PointStatus:
    """F150 测量点状态 (2013, read only), Std-2013 §5.5.1.3.66, table 85 and fig. 21.

    Bit n of each 256-byte map stands for measuring point n: valid, and changed by
    local discovery. :func:`flagged_points` lists the set bits.
    """

    valid: bytes = spec(bytes_format(256))
    changed: bytes = spec(bytes_format(256))


def flagged_points(bitmap: bytes) -> list[int]:
    """Numbers of the set bits of a D0-first bitmap (F150 maps, BS fields as bytes)."""
    return [
        i * 8 + bit for i, b in enumerate(bitmap) for bit in range(8) if b >> bit & 1
    ]


# --- AFN0A downlink query forms (Std-2013 §5.10.1.3) ---------------------------------

no_data_for_every_fn(AFN.QUERY_PARAM, Dir.DOWN, "query parameter (查询参数)")


@unit(
    down(AFN.QUERY_PARAM, 10),
    name="query meter / AC sampler configuration (查询终端电能表/交流采样装置配置参数)",
)
@dataclass(slots=True)
class MeterConfigQuery:
    """AFN0A F10 query, Std-2013 §5.10.1.3.1, table 124: the F10 numbers wanted."""

    count: int = spec(BIN2)
    numbers: list[int] = spec(BIN2, count="count")


@dataclass(slots=True)
class ObjectQuery:
    """AFN0A F11/F13/F14/F15/F33/F34 query, Std-2013 §5.10.1.3.2–7, table 125."""

    count: int = spec(BIN1)
    numbers: list[int] = spec(BIN1, count="count")


for _fn, _name in (
    (11, "query pulse configuration (查询终端脉冲配置参数)"),
    (13, "query analogue configuration (查询终端电压/电流模拟量配置参数)"),
    (14, "query total-add group configuration (查询终端总加组配置参数)"),
    (15, "query energy differential limits (查询有功总电能量差动越限事件参数)"),
    (33, "query meter-reading run parameters (查询终端抄表运行参数)"),
    (34, "query comm module parameters (查询与终端接口的通信模块的参数)"),
):
    unit(down(AFN.QUERY_PARAM, _fn), name=_name)(ObjectQuery)


@dataclass(slots=True)
class DataConfigQuery:
    """AFN0A F38/F39 query, Std-2013 §5.10.1.3.8–9, table 126.

    One user class (用户大类号) and the subclasses (用户小类号) wanted.
    """

    user_class: int = spec(BIN1)
    count: int = spec(BIN1)
    subclasses: list[int] = spec(BIN1, count="count")


unit(
    down(AFN.QUERY_PARAM, 38),
    name="query class-1 data configuration (查询1类数据配置设置)",
)(DataConfigQuery)
unit(
    down(AFN.QUERY_PARAM, 39),
    name="query class-2 data configuration (查询2类数据配置设置)",
)(DataConfigQuery)
