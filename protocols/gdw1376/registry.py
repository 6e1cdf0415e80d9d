"""The data-unit catalogue: one entry per (AFN, Fn, direction).

Units are registered by decorating their layout dataclass::

    @unit(up(AFN.CLASS2, 161), name="daily frozen forward active (日冻结正向有功)")
    @dataclass(slots=True)
    class DailyForwardActive: ...

A key registered twice is an error at import time; an unknown key is an
:class:`~protocols.errors.UnknownFunction`, never a ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, TypeVar

from protocols.errors import LocalProtocolError, UnknownFunction
from protocols.gdw1376.fields import Layout, layout_of


class Dir(IntEnum):
    """Transmission direction, the DIR bit of the control field."""

    DOWN = 0  # master -> terminal
    UP = 1  # terminal -> master


class AFN(IntEnum):
    """Application function codes (Std-2013 table 5)."""

    CONFIRM = 0x00  # 确认/否认
    RESET = 0x01  # 复位
    LINK = 0x02  # 链路接口检测
    RELAY = 0x03  # 中继站命令
    SET_PARAM = 0x04  # 设置参数
    CONTROL = 0x05  # 控制命令
    AUTH = 0x06  # 身份认证及密钥协商
    CASCADE = 0x08  # 请求被级联终端主动上报
    CONFIG = 0x09  # 请求终端配置
    QUERY_PARAM = 0x0A  # 查询参数
    TASK_DATA = 0x0B  # 请求任务数据
    CLASS1 = 0x0C  # 请求1类数据 (real-time)
    CLASS2 = 0x0D  # 请求2类数据 (frozen / history)
    CLASS3 = 0x0E  # 请求3类数据 (events)
    FILE = 0x0F  # 文件传输
    FORWARD = 0x10  # 数据转发


AFN_NAMES: Final[dict[int, str]] = {
    AFN.CONFIRM: "confirm/deny (确认/否认)",
    AFN.RESET: "reset (复位)",
    AFN.LINK: "link interface detection (链路接口检测)",
    AFN.RELAY: "relay station command (中继站命令)",
    AFN.SET_PARAM: "set parameters (设置参数)",
    AFN.CONTROL: "control command (控制命令)",
    AFN.AUTH: "authentication / key agreement (身份认证及密钥协商)",
    AFN.CASCADE: "request cascaded terminal report (请求被级联终端主动上报)",
    AFN.CONFIG: "request terminal configuration (请求终端配置及信息)",
    AFN.QUERY_PARAM: "query parameters (查询参数)",
    AFN.TASK_DATA: "request task data (请求任务数据)",
    AFN.CLASS1: "request class-1 data (请求1类数据)",
    AFN.CLASS2: "request class-2 data (请求2类数据)",
    AFN.CLASS3: "request class-3 data (请求3类数据)",
    AFN.FILE: "file transfer (文件传输)",
    AFN.FORWARD: "data forwarding (数据转发)",
}

Key = tuple[int, int, int]  # (AFN, Fn, Dir as int: hashing an IntEnum is slow)


@dataclass(frozen=True, slots=True)
class FnSpec:
    """A registered data unit."""

    afn: int
    fn: int
    dir: int
    name: str
    cls: type | None  # None: the unit carries no data
    layout: Layout | None


REGISTRY: Final[dict[Key, FnSpec]] = {}
# (AFN, direction) pairs whose every Fn carries no data, e.g. AFN0C requests.
_NO_DATA_DEFAULT: Final[dict[tuple[int, int], str]] = {}


def up(afn: int, *fns: int) -> list[Key]:
    return [(int(afn), fn, 1) for fn in fns]


def down(afn: int, *fns: int) -> list[Key]:
    return [(int(afn), fn, 0) for fn in fns]


def both(afn: int, *fns: int) -> list[Key]:
    return up(afn, *fns) + down(afn, *fns)


def _add(keys: Iterable[Key], name: str, cls: type | None) -> None:
    layout = layout_of(cls) if cls is not None else None
    for afn, fn, d in keys:
        if not 1 <= fn <= 248:
            raise LocalProtocolError(f"F{fn} is outside F1..F248")
        key = (int(afn), int(fn), int(d))
        if key in REGISTRY:
            raise LocalProtocolError(
                f"AFN{afn:02X} F{fn} {Dir(d).name} registered twice"
            )
        REGISTRY[key] = FnSpec(int(afn), int(fn), int(d), name, cls, layout)


T = TypeVar("T", bound=type)


def unit(*keys: Iterable[Key], name: str) -> Callable[[T], T]:
    """Register a layout dataclass under one or more keys."""

    def deco(cls: T) -> T:
        _add((k for group in keys for k in group), name, cls)
        return cls

    return deco


def no_data(*keys: Iterable[Key], name: str) -> None:
    """Register units that carry no data (e.g. AFN02 F1 login)."""
    _add((k for group in keys for k in group), name, None)


def no_data_for_every_fn(afn: int, d: int, name: str) -> None:
    """Declare that no Fn of this AFN carries data in this direction."""
    _NO_DATA_DEFAULT[(int(afn), int(d))] = name


def lookup(afn: int, fn: int, d: int) -> FnSpec:
    """The registered unit, or UnknownFunction."""
    found = REGISTRY.get((afn, fn, d))
    if found is not None:
        return found
    default = _NO_DATA_DEFAULT.get((afn, d))
    if default is not None:
        return FnSpec(afn, fn, d, f"{default} F{fn}", None, None)
    where = "up" if d else "down"
    raise UnknownFunction(
        f"AFN{afn:02X} F{fn} ({where}) is not in the catalogue", afn=afn, fn=fn
    )


def unit_name(afn: int, fn: int, d: int) -> str | None:
    try:
        return lookup(afn, fn, d).name
    except UnknownFunction:
        return None
