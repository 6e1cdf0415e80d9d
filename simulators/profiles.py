"""Behaviour profiles of a simulated fleet (仿真行为配置), read from TOML.

A profile says how the simulated concentrators behave on the wire: how fast and
how reliably they answer, which stream faults they inject and which connection and
terminal faults a share of them shows. The shipped profiles live in
``simulators/profiles/<name>.toml``; :func:`load_profile` also takes a path.

File layout (every key optional; unknown keys are an error, so typos surface)::

    description = "..."
    [link]      heartbeat_interval (s), reconnect_min / reconnect_max (s, back-off),
                loss (probability a request is dropped silently)
    [latency]   min, max: answer delay, uniform in [min, max] seconds
    [stream]    garbage (probability of random bytes before a frame), garbage_max
                (bytes), split (probability a frame goes out in chunks),
                split_chunk_max (bytes), split_gap (s between chunks)
    [faults]    duplicate_login, ip_jump, flap, wrong_parameters: share of the
                concentrators showing each fault; duplicate_hold (s the second
                connection stays), duplicate_interval (s, 0 = once), ip_jump_interval,
                ip_jump_hold (s the abandoned connection stays open), flap_interval;
                zero_energy_meter, relay_fails: one such meter per concentrator;
                the data anomalies (数据异常), also one such meter per concentrator,
                each on its own point: negative_step_meter (register cleared at
                00:00 on the 1st of every month: that day's frozen value falls to
                0), jump_meter (forward active register +3,000 kWh at the same
                instants), meter_clock_drift (s the meter's clock is off, 0 = none,
                + ahead); terminal_clock_drift (s every concentrator's own clock,
                AFN0C F2, is off, until the master syncs it)
    [terminal]  v2009 (share of 2009 terminals: heartbeat without clock),
                meter_1997_every (every k-th meter speaks DL/T 645-1997, 0 = none)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Final

PROFILE_DIR: Final = Path(__file__).with_name("profiles")
MAX_CLOCK_DRIFT: Final = 366 * 86400.0  # s: a year either way


@dataclass(frozen=True, slots=True)
class Profile:
    """One behaviour profile (see the module docstring for the meaning of fields)."""

    name: str
    description: str = ""
    heartbeat_interval: float = 60.0
    reconnect_min: float = 1.0
    reconnect_max: float = 30.0
    loss: float = 0.0
    latency_min: float = 0.0
    latency_max: float = 0.0
    garbage: float = 0.0
    garbage_max: int = 16
    split: float = 0.0
    split_chunk_max: int = 8
    split_gap: float = 0.005
    duplicate_login: float = 0.0
    duplicate_hold: float = 10.0
    duplicate_interval: float = 0.0
    ip_jump: float = 0.0
    ip_jump_interval: float = 120.0
    ip_jump_hold: float = 30.0
    flap: float = 0.0
    flap_interval: float = 60.0
    wrong_parameters: float = 0.0
    zero_energy_meter: bool = False
    relay_fails: bool = False
    negative_step_meter: bool = False
    jump_meter: bool = False
    meter_clock_drift: float = 0.0
    terminal_clock_drift: float = 0.0
    v2009: float = 0.0
    meter_1997_every: int = 0

    def __post_init__(self) -> None:
        for name in ("loss", "garbage", "split", "duplicate_login", "ip_jump", "flap",
                     "wrong_parameters", "v2009"):  # fmt: skip
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"profile {self.name}: {name} must be in 0..1")
        if not 0.0 <= self.latency_min <= self.latency_max:
            raise ValueError(f"profile {self.name}: need 0 <= latency min <= max")
        if not 0.0 < self.reconnect_min <= self.reconnect_max:
            raise ValueError(f"profile {self.name}: need 0 < reconnect min <= max")
        if self.heartbeat_interval <= 0:
            raise ValueError(f"profile {self.name}: heartbeat_interval must be > 0")
        for name in ("garbage_max", "split_chunk_max"):
            if getattr(self, name) < 1:
                raise ValueError(f"profile {self.name}: {name} must be >= 1")
        for name in ("duplicate_hold", "duplicate_interval", "ip_jump_interval",
                     "ip_jump_hold", "flap_interval", "split_gap"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"profile {self.name}: {name} must be >= 0")
        if self.meter_1997_every < 0:
            raise ValueError(f"profile {self.name}: meter_1997_every must be >= 0")
        for name in ("meter_clock_drift", "terminal_clock_drift"):
            if not abs(getattr(self, name)) <= MAX_CLOCK_DRIFT:  # NaN fails too
                raise ValueError(
                    f"profile {self.name}: {name} must be within ±{MAX_CLOCK_DRIFT:.0f} s"
                )

    def with_heartbeat(self, interval: float | None) -> Profile:
        return self if interval is None else replace(self, heartbeat_interval=interval)


#: TOML section -> {key: Profile field}.
SECTIONS: Final[dict[str, dict[str, str]]] = {
    "link": {k: k for k in ("heartbeat_interval", "reconnect_min", "reconnect_max",
                            "loss")},
    "latency": {"min": "latency_min", "max": "latency_max"},
    "stream": {k: k for k in ("garbage", "garbage_max", "split", "split_chunk_max",
                              "split_gap")},
    "faults": {k: k for k in ("duplicate_login", "duplicate_hold",
                              "duplicate_interval", "ip_jump", "ip_jump_interval",
                              "ip_jump_hold", "flap", "flap_interval",
                              "wrong_parameters", "zero_energy_meter",
                              "relay_fails", "negative_step_meter", "jump_meter",
                              "meter_clock_drift", "terminal_clock_drift")},
    "terminal": {k: k for k in ("v2009", "meter_1997_every")},
}  # fmt: skip
_TYPES: Final = {f.name: f.type for f in fields(Profile)}


def available_profiles() -> list[str]:
    """Names of the shipped profiles."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def parse_profile(name: str, doc: dict[str, Any]) -> Profile:
    """A profile from a parsed TOML document (ValueError on unknown or bad keys)."""
    values: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "description" and isinstance(value, str):
            values["description"] = value
            continue
        section = SECTIONS.get(key)
        if section is None or not isinstance(value, dict):
            raise ValueError(f"profile {name}: unknown entry {key!r}")
        for sub, raw in value.items():
            field_name = section.get(sub)
            if field_name is None:
                raise ValueError(f"profile {name}: unknown key {key}.{sub}")
            values[field_name] = _typed(name, f"{key}.{sub}", _TYPES[field_name], raw)
    return Profile(name, **values)


def _typed(profile: str, where: str, kind: object, raw: object) -> object:
    wanted = {"float": (int, float), "int": (int,), "bool": (bool,)}[str(kind)]
    if isinstance(raw, bool) != (str(kind) == "bool") or not isinstance(raw, wanted):
        raise ValueError(f"profile {profile}: {where} must be a {kind}")
    return float(raw) if str(kind) == "float" and not isinstance(raw, bool) else raw


def load_profile(name: str) -> Profile:
    """A shipped profile by name (``"field"``), or a TOML file by path."""
    path = Path(name)
    if path.suffix == ".toml" or len(path.parts) > 1:
        label = path.stem
    else:
        path = PROFILE_DIR / f"{name}.toml"
        label = name
        if not path.is_file():
            known = ", ".join(available_profiles())
            raise ValueError(f"no profile {name!r} (shipped: {known})")
    with path.open("rb") as f:
        return parse_profile(label, tomllib.load(f))
