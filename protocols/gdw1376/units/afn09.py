"""AFN 09H terminal configuration (请求终端配置及信息), Std-2013 §5.9, tables 115–123.

The request carries only data-unit identifiers (p0, no data); the terminal answers
with the units below. F6/F7 (supported class-1/2 data per user class) are not
declared: the number of groups follows the set bits of a flag word, which the
layout DSL cannot count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from protocols.gdw1376.fields import spec
from protocols.gdw1376.formats import (
    A8,
    A12,
    A20,
    BIN1,
    BIN2,
    BIN4,
    ascii_format,
    bytes_format,
)
from protocols.gdw1376.registry import AFN, Dir, no_data_for_every_fn, unit, up
from protocols.gdw1376.units.afn04 import BS64

ASCII2 = ascii_format(2)
ASCII4 = ascii_format(4)
ASCII8 = ascii_format(8)

no_data_for_every_fn(
    AFN.CONFIG, Dir.DOWN, "request terminal configuration (请求终端配置及信息)"
)


@unit(up(AFN.CONFIG, 1), name="terminal version (终端版本信息)")
@dataclass(slots=True)
class TerminalVersion:
    """F1 终端版本信息, Std-2013 §5.9.2.4.1, table 116.

    ``protocol_version`` is e.g. "09.X" / "12.X": the table gives 4 bytes although
    its note writes 09.XX, so longer strings do not fit.
    """

    vendor: str = spec(ASCII4)
    device_number: str = spec(ASCII8)
    software_version: str = spec(ASCII4)
    software_date: date | None = spec(A20)
    capacity_code: str = spec(ascii_format(11))
    protocol_version: str = spec(ASCII4)
    hardware_version: str = spec(ASCII4)
    hardware_date: date | None = spec(A20)


@dataclass(slots=True)
class PortConfig:
    """One comm port of F2, Std-2013 §5.9.2.4.2, table 117 g.

    ``usage`` (D15–D13): 0 special-transformer / public-transformer reading,
    1 substation reading, 2 low-voltage concentrated reading, 3 local data sharing.
    ``non_standard`` (D7) marks a non-standard async port; ``channel`` (D6–D5):
    0 RS485, 1 RS232, 2 narrow-band PLC module.
    """

    usage: int = spec(BIN2, bits=(15, 13))
    non_standard: int = spec(BIN2, bits=(7, 7))
    channel: int = spec(BIN2, bits=(6, 5))
    port: int = spec(BIN2, bits=(4, 0))
    max_baud: int = spec(BIN4)
    max_devices: int = spec(BIN2)
    rx_buffer: int = spec(BIN2)
    tx_buffer: int = spec(BIN2)


@unit(
    up(AFN.CONFIG, 2),
    name="supported I/O and comm ports (终端支持的输入、输出及通信端口配置)",
)
@dataclass(slots=True)
class PortsConfig:
    """F2 终端支持的输入、输出及通信端口配置, Std-2013 §5.9.2.4.2, table 117."""

    pulse_inputs: int = spec(BIN1)
    switch_inputs: int = spec(BIN1)
    dc_inputs: int = spec(BIN1)
    switch_outputs: int = spec(BIN1)
    max_meters: int = spec(BIN2)
    rx_buffer: int = spec(BIN2)
    tx_buffer: int = spec(BIN2)
    mac: bytes = spec(bytes_format(6))
    port_count: int = spec(BIN1)
    ports: list[PortConfig] = spec(PortConfig, count="port_count")


@unit(up(AFN.CONFIG, 3), name="other supported configuration (终端支持的其他配置)")
@dataclass(slots=True)
class OtherConfig:
    """F3 终端支持的其他配置, Std-2013 §5.9.2.4.3, table 118.

    Densities are appendix-C codes. ``user_classes`` is BS16 (bit i = user class
    i supported); ``subclass_counts`` gives the subclasses of classes 0–15.
    """

    max_points: int = spec(BIN2)
    max_groups: int = spec(BIN1)
    max_tasks: int = spec(BIN1)
    max_differential_groups: int = spec(BIN1)
    max_tariffs: int = spec(BIN1)
    point_density: int = spec(BIN1)
    group_active_power_density: int = spec(BIN1)
    group_reactive_power_density: int = spec(BIN1)
    group_active_energy_density: int = spec(BIN1)
    group_reactive_energy_density: int = spec(BIN1)
    daily_days: int = spec(BIN1)
    monthly_months: int = spec(BIN1)
    max_power_schemes: int = spec(BIN1)
    max_harmonic: int = spec(BIN1)
    max_capacitor_groups: int = spec(BIN1)
    max_key_users: int = spec(BIN1)
    user_classes: int = spec(BIN2)
    subclass_counts: list[int] = spec(BIN1, count=16)


@dataclass(slots=True)
class SupportedFns:
    """F4 终端支持的参数配置 / F5 终端支持的控制配置, Std-2013 §5.9.2.4.4–5, table 119.

    ``groups[g]`` bit i set = F(8g + i + 1) supported; :meth:`fns` lists them.
    """

    count: int = spec(BIN1)
    groups: list[int] = spec(BIN1, count="count")

    def fns(self) -> list[int]:
        return [g * 8 + i + 1 for g, b in enumerate(self.groups) for i in range(8)
                if b >> i & 1]  # fmt: skip


unit(up(AFN.CONFIG, 4), name="supported parameters (终端支持的参数配置)")(SupportedFns)
unit(up(AFN.CONFIG, 5), name="supported controls (终端支持的控制配置)")(SupportedFns)


@unit(up(AFN.CONFIG, 8), name="supported event records (终端支持的事件记录配置)")
@dataclass(slots=True)
class SupportedEvents:
    """F8 终端支持的事件记录配置, Std-2013 §5.9.2.4.8, table 121 (bit i = ERC i+1)."""

    ercs: int = spec(BS64)


@unit(up(AFN.CONFIG, 9), name="remote comm module version (远程通信模块版本信息)")
@dataclass(slots=True)
class RemoteModuleVersion:
    """F9 远程通信模块版本信息, Std-2013 §5.9.2.4.9, table 122."""

    vendor: str = spec(ASCII4)
    model: str = spec(ASCII8)
    software_version: str = spec(ASCII4)
    software_date: date | None = spec(A20)
    hardware_version: str = spec(ASCII4)
    hardware_date: date | None = spec(A20)
    iccid: str = spec(ascii_format(20))


@unit(up(AFN.CONFIG, 10), name="local comm module version (本地通信模块版本信息)")
@dataclass(slots=True)
class LocalModuleVersion:
    """F10 本地通信模块版本信息, Std-2013 §5.9.2.4.10, table 123.

    The module address is 6 BCD bytes (read like A.12), the date DD MM YY BCD (as
    A.20) and the version 2 BCD bytes (as A.8).
    """

    address: str | None = spec(A12)
    vendor: str = spec(ASCII2)
    chip: str = spec(ASCII2)
    release_date: date | None = spec(A20)
    version: int | None = spec(A8)
