"""AFN 05H control commands (控制命令), Std-2013 §5.6, tables 86–97.

Downlink only: the terminal answers with AFN 00H (§5.6.2). The downlink carries PW,
which the link layer handles. The information point is the control round for F1/F2,
the total-add group (总加组) for F9–F24, the measuring point for F41/F42 and p0 for
every other command (table 86).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Final

from protocols.errors import LocalProtocolError
from protocols.gdw1376.fields import BYTES, spec
from protocols.gdw1376.formats import A1, A4, BIN1, BIN2
from protocols.gdw1376.registry import AFN, down, no_data, unit

#: Longest Chinese message text in bytes, Lcn ≤ 200 (Std-2013 table 93).
MAX_MESSAGE_BYTES: Final = 200
#: Table 93 allows GB 2312-1980 or GB 18030-2005; GB 18030 decodes both.
MESSAGE_CODEC: Final = "gb18030"


class ControlFn(IntEnum):
    """Control commands (Std-2013 table 86)."""

    REMOTE_TRIP = 1  # 遥控跳闸
    ALLOW_CLOSE = 2  # 允许合闸
    PERIOD_POWER_CONTROL_ON = 9  # 时段功控投入
    FACTORY_REST_CONTROL_ON = 10  # 厂休功控投入
    BUSINESS_SUSPENSION_CONTROL_ON = 11  # 营业报停功控投入
    FLOAT_DOWN_CONTROL_ON = 12  # 当前功率下浮控投入
    MONTHLY_ENERGY_CONTROL_ON = 15  # 月电控投入
    PURCHASE_CONTROL_ON = 16  # 购电控投入
    PERIOD_POWER_CONTROL_OFF = 17  # 时段功控解除
    FACTORY_REST_CONTROL_OFF = 18  # 厂休功控解除
    BUSINESS_SUSPENSION_CONTROL_OFF = 19  # 营业报停功控解除
    FLOAT_DOWN_CONTROL_OFF = 20  # 当前功率下浮控解除
    MONTHLY_ENERGY_CONTROL_OFF = 23  # 月电控解除
    PURCHASE_CONTROL_OFF = 24  # 购电控解除
    KEEP_POWER_ON = 25  # 终端保电投入
    ARREARS_ALARM_ON = 26  # 催费告警投入
    ALLOW_TALK = 27  # 允许终端与主站通话
    EXCLUSION_ON = 28  # 终端剔除投入
    ALLOW_ACTIVE_REPORT = 29  # 允许终端主动上报
    METER_TIME_SYNC_SWITCH = 30  # 终端对电能表对时功能的开启与关闭 (2013)
    TIME_SYNC = 31  # 对时命令
    CHINESE_MESSAGE = 32  # 中文信息
    KEEP_POWER_OFF = 33  # 终端保电解除
    ARREARS_ALARM_OFF = 34  # 催费告警解除
    FORBID_TALK = 35  # 禁止终端与主站通话
    EXCLUSION_OFF = 36  # 终端剔除解除
    FORBID_ACTIVE_REPORT = 37  # 禁止终端主动上报
    ACTIVATE_LINK = 38  # 激活终端连接主站
    DISCONNECT_LINK = 39  # 命令终端断开连接
    CAPACITOR_ON = 41  # 电容器控制投入
    CAPACITOR_OFF = 42  # 电容器控制切除
    PAUSE_READING = 49  # 命令指定通信端口暂停抄表
    RESUME_READING = 50  # 命令指定通信端口恢复抄表
    RESTART_READING = 51  # 命令指定通信端口重新抄表
    INIT_ROUTES = 52  # 初始化指定通信端口下的全部中继路由信息
    DELETE_PORT_METERS = 53  # 删除指定通信端口下的全部电表
    METER_PARAM_AUTO_MAINTENANCE = 149  # 电能表通信参数自动维护功能开启与关闭 (2013)
    RESET_POINT_CHANGE_FLAGS = 150  # 复位测量点参数变更标志 (2013)


class MessageKind(IntEnum):
    """F32 Chinese message kind (中文信息种类, Std-2013 table 93)."""

    NORMAL = 0  # 普通信息
    IMPORTANT = 1  # 重要信息


class AutoMaintenance(IntEnum):
    """F149 meter comm-parameter auto-maintenance state (Std-2013 table 97)."""

    OFF = 0  # 关闭
    ON_UPDATE_F10 = 1  # 启用并更新F10
    ON_KEEP_F10 = 2  # 启用但不更新F10


def _cmd(fn: ControlFn) -> list[tuple[int, int, int]]:
    return down(AFN.CONTROL, int(fn))


_NO_DATA: Final[tuple[tuple[ControlFn, str], ...]] = (
    (ControlFn.ALLOW_CLOSE, "allow close (允许合闸)"),
    (ControlFn.FACTORY_REST_CONTROL_ON, "factory-rest control on (厂休功控投入)"),
    (
        ControlFn.BUSINESS_SUSPENSION_CONTROL_ON,
        "business-suspension control on (营业报停功控投入)",
    ),
    (ControlFn.MONTHLY_ENERGY_CONTROL_ON, "monthly energy control on (月电控投入)"),
    (ControlFn.PURCHASE_CONTROL_ON, "purchase energy control on (购电控投入)"),
    (ControlFn.PERIOD_POWER_CONTROL_OFF, "period power control off (时段功控解除)"),
    (ControlFn.FACTORY_REST_CONTROL_OFF, "factory-rest control off (厂休功控解除)"),
    (
        ControlFn.BUSINESS_SUSPENSION_CONTROL_OFF,
        "business-suspension control off (营业报停功控解除)",
    ),
    (
        ControlFn.FLOAT_DOWN_CONTROL_OFF,
        "current-power float-down control off (当前功率下浮控解除)",
    ),
    (ControlFn.MONTHLY_ENERGY_CONTROL_OFF, "monthly energy control off (月电控解除)"),
    (ControlFn.PURCHASE_CONTROL_OFF, "purchase energy control off (购电控解除)"),
    (ControlFn.ARREARS_ALARM_ON, "arrears alarm on (催费告警投入)"),
    (ControlFn.ALLOW_TALK, "allow talk with master (允许终端与主站通话)"),
    (ControlFn.EXCLUSION_ON, "terminal exclusion on (终端剔除投入)"),
    (ControlFn.ALLOW_ACTIVE_REPORT, "allow active report (允许终端主动上报)"),
    (ControlFn.KEEP_POWER_OFF, "keep-power off (终端保电解除)"),
    (ControlFn.ARREARS_ALARM_OFF, "arrears alarm off (催费告警解除)"),
    (ControlFn.FORBID_TALK, "forbid talk with master (禁止终端与主站通话)"),
    (ControlFn.EXCLUSION_OFF, "terminal exclusion off (终端剔除解除)"),
    (ControlFn.FORBID_ACTIVE_REPORT, "forbid active report (禁止终端主动上报)"),
    (ControlFn.ACTIVATE_LINK, "activate link to master (激活终端连接主站)"),
    (ControlFn.DISCONNECT_LINK, "disconnect link (命令终端断开连接)"),
    (
        ControlFn.RESET_POINT_CHANGE_FLAGS,
        "reset point-parameter change flags (复位测量点参数变更标志)",
    ),
)
for _fn, _name in _NO_DATA:
    no_data(_cmd(_fn), name=_name)


@unit(_cmd(ControlFn.REMOTE_TRIP), name="remote trip (遥控跳闸)")
@dataclass(slots=True)
class RemoteTrip:
    """F1 遥控跳闸, Std-2013 §5.6.1.3.1, table 87 (pn = control round).

    ``alarm_delay``: minutes of alarm before the trip, 0 = trip at once.
    ``limit_time``: load-limit duration in half hours, 0 = emergency limit that is
    never released automatically.
    """

    alarm_delay: int = spec(BIN1, bits=(7, 4))
    limit_time: int = spec(BIN1, bits=(3, 0))


@unit(
    _cmd(ControlFn.PERIOD_POWER_CONTROL_ON),
    name="period power control on (时段功控投入)",
)
@dataclass(slots=True)
class PeriodPowerControlOn:
    """F9 时段功控投入, Std-2013 §5.6.1.3.3, table 88 (pn = total-add group).

    ``periods``: bit i enables control period i+1; ``scheme``: 0–2 = value scheme
    1–3 (set by AFN04 F41).
    """

    periods: int = spec(BIN1)
    scheme: int = spec(BIN1)


@unit(
    _cmd(ControlFn.FLOAT_DOWN_CONTROL_ON),
    name="current-power float-down control on (当前功率下浮控投入)",
)
@dataclass(slots=True)
class FloatDownControlOn:
    """F12 当前功率下浮控投入, Std-2013 §5.6.1.3.6, table 89 (pn = total-add group).

    ``slip_time`` (1–60 min) and ``coefficient`` (A.4, %) fix the control value;
    ``freeze_delay`` (5–60 min) is the wait before the load is frozen;
    ``control_time`` counts half hours; ``alarm_times`` are rounds 1–4, in minutes.
    """

    slip_time: int = spec(BIN1)
    coefficient: int | None = spec(A4)
    freeze_delay: int = spec(BIN1)
    control_time: int = spec(BIN1)
    alarm_times: list[int] = spec(BIN1, count=4)


@unit(_cmd(ControlFn.KEEP_POWER_ON), name="keep-power on (终端保电投入)")
@dataclass(slots=True)
class KeepPowerOn:
    """F25 终端保电投入, Std-2013 §5.6.1.3.15, table 90.

    ``duration``: half hours, 0–48; 0 keeps power indefinitely.
    """

    duration: int = spec(BIN1)


@unit(
    _cmd(ControlFn.METER_TIME_SYNC_SWITCH),
    name="meter time-sync switch (终端对电能表对时功能的开启与关闭)",
)
@dataclass(slots=True)
class MeterTimeSyncSwitch:
    """F30 终端对电能表对时功能的开启与关闭 (2013), Std-2013 §5.6.1.3.20, table 91.

    ``enabled``: 0 off (default), 1 on.
    """

    enabled: int = spec(BIN1)


@unit(_cmd(ControlFn.TIME_SYNC), name="time sync (对时命令)")
@dataclass(slots=True)
class TimeSync:
    """F31 对时命令, Std-2013 §5.6.1.3.20, table 92: the clock as A.1."""

    clock: datetime | None = spec(A1)


def _swap_pairs(raw: bytes) -> bytes:
    """Swap the two bytes of every double-byte character (both bytes ≥ 0x80)."""
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] >= 0x80 and i + 1 < len(raw):
            out += bytes((raw[i + 1], raw[i]))
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


@unit(_cmd(ControlFn.CHINESE_MESSAGE), name="Chinese message (中文信息)")
@dataclass(slots=True)
class ChineseMessage:
    """F32 中文信息, Std-2013 §5.6.1.3.21, table 93.

    ``kind`` (:class:`MessageKind`) and ``number`` share the first byte (D7–D4 and
    D3–D0); ``text`` is the Lcn bytes as sent. Table 93 asks for GB 2312 / GB 18030
    "low byte first, high byte after"; terminals differ on whether that swaps each
    double-byte character, so :meth:`build` and :meth:`decoded` send the usual GB
    byte stream unless ``low_byte_first`` is set.
    """

    kind: int = spec(BIN1, bits=(7, 4))
    number: int = spec(BIN1, bits=(3, 0))
    length: int = spec(BIN1)
    text: bytes = spec(BYTES, length="length")

    @classmethod
    def build(
        cls, kind: int, number: int, text: str, *, low_byte_first: bool = False
    ) -> ChineseMessage:
        raw = text.encode(MESSAGE_CODEC)
        if len(raw) > MAX_MESSAGE_BYTES:
            raise LocalProtocolError(
                f"Chinese message is {len(raw)} bytes, limit {MAX_MESSAGE_BYTES}"
            )
        if low_byte_first:
            raw = _swap_pairs(raw)
        return cls(kind, number, len(raw), raw)

    def decoded(self, *, low_byte_first: bool = False) -> str:
        """The text; undecodable bytes become U+FFFD rather than an error."""
        raw = _swap_pairs(self.text) if low_byte_first else self.text
        return raw.decode(MESSAGE_CODEC, errors="replace")


@unit(_cmd(ControlFn.CAPACITOR_ON), name="capacitor control on (电容器控制投入)")
@dataclass(slots=True)
class CapacitorOn:
    """F41 电容器控制投入, Std-2013 §5.6.1.3.29, table 94 (pn = measuring point).

    ``groups``: BS16, bit i switches capacitor group i+1 in (0 = leave as is).
    """

    groups: int = spec(BIN2)


@unit(_cmd(ControlFn.CAPACITOR_OFF), name="capacitor control off (电容器控制切除)")
@dataclass(slots=True)
class CapacitorOff:
    """F42 电容器控制切除, Std-2013 §5.6.1.3.30, table 95 (pn = measuring point).

    ``groups``: BS16, bit i switches capacitor group i+1 out (0 = leave as is).
    """

    groups: int = spec(BIN2)


@dataclass(slots=True)
class PortCommand:
    """F49–F53 port commands, Std-2013 §5.6.1.3.31–35, table 96.

    F49 pause, F50 resume, F51 restart meter reading, F52 initialise all relay
    routes, F53 delete all meters, each on terminal comm port ``port`` (1–31).
    """

    port: int = spec(BIN1)


for _fn, _name in (
    (
        ControlFn.PAUSE_READING,
        "pause meter reading on a port (命令指定通信端口暂停抄表)",
    ),
    (
        ControlFn.RESUME_READING,
        "resume meter reading on a port (命令指定通信端口恢复抄表)",
    ),
    (
        ControlFn.RESTART_READING,
        "restart meter reading on a port (命令指定通信端口重新抄表)",
    ),
    (
        ControlFn.INIT_ROUTES,
        "initialise relay routes on a port (初始化指定通信端口下的全部中继路由信息)",
    ),
    (
        ControlFn.DELETE_PORT_METERS,
        "delete all meters on a port (删除指定通信端口下的全部电表)",
    ),
):
    unit(_cmd(_fn), name=_name)(PortCommand)


@unit(
    _cmd(ControlFn.METER_PARAM_AUTO_MAINTENANCE),
    name="meter comm-parameter auto maintenance (电能表通信参数自动维护功能开启与关闭)",
)
@dataclass(slots=True)
class AutoMaintenanceSwitch:
    """F149 电能表通信参数自动维护功能开启与关闭 (2013), Std-2013 §5.6.1.3.36, table 97.

    ``state``: see :class:`AutoMaintenance`.
    """

    state: int = spec(BIN1)
