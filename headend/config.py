"""Configuration: defaults < TOML file < ``HEADEND_*`` environment < command line.

Nested settings use ``__`` in the environment, e.g. ``HEADEND_LIMITS__IDLE_TIMEOUT=600``.
Every limit the server enforces lives in :class:`Limits` (STYLE H2); the commented
example is ``config/headend.toml``.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from headend.bus import BusSettings


class Limits(BaseModel):
    """Bounds on everything a connection can make the server hold."""

    max_connections: int = Field(60_000, ge=1)
    #: A socket that has not logged in (AFN02 F1 or a heartbeat) after this is closed.
    login_timeout: float = Field(60.0, gt=0)
    #: A logged-in terminal silent for this long is closed (3 × a 5-minute heartbeat).
    idle_timeout: float = Field(900.0, gt=0)
    #: Malformed frames and discarded bytes runs a connection may send before closing.
    error_budget: int = Field(20, ge=1)
    #: Bytes queued for a peer that does not read before the connection is dropped.
    write_buffer_limit: int = Field(256 * 1024, ge=1024)
    #: Requests waiting per terminal (beyond the in-flight window).
    max_queued_requests: int = Field(256, ge=1)
    #: Communication events (login, logout, IP change...) kept in memory.
    event_log_size: int = Field(10_000, ge=100)
    #: How often the sweeper checks timers, watchdogs and idle links (seconds).
    sweep_interval: float = Field(0.5, gt=0, le=10)
    #: How long a SIGTERM waits for in-flight requests before closing links.
    drain_timeout: float = Field(10.0, ge=0)


class SessionSettings(BaseModel):
    """Link behaviour towards terminals (see protocols/gdw1376/session.py)."""

    msa: int = Field(1, ge=1, le=127)
    link_reply_f3: bool = False
    timeout: float = Field(15.0, gt=0)
    retries: int = Field(2, ge=0, le=3)
    backoff: float = Field(1.5, ge=1.0)
    #: Requests in flight per terminal (1 is the safe default, PROTOCOLS.md §1.5).
    window: int = Field(1, ge=1, le=15)


class CollectionSettings(BaseModel):
    """How a worker runs collection task windows (headend/collection/)."""

    #: Measuring points asked in one request frame (one Fn, one period).
    points_per_request: int = Field(32, ge=1, le=256)
    #: Terminals started within this many seconds of a window's start (jitter; at
    #: most ``max_terminals`` run at once anyway, so this only smooths the burst).
    spread: float = Field(0.5, ge=0, le=3600)
    #: Terminals collected at once by one worker.
    max_terminals: int = Field(4096, ge=1, le=100_000)
    #: Collect the gaps of a terminal that logs in (补采 on reconnection) ...
    catchup_on_login: bool = True
    #: ... this many seconds after its login (logins in between are batched).
    catchup_delay: float = Field(30.0, ge=0, le=3600)
    #: How often worker 0 exports the collection KPIs as metrics (seconds).
    kpi_interval: float = Field(60.0, gt=0, le=3600)
    #: Concurrent reads of one batch inspection (批量巡测) at most.
    inspection_concurrency: int = Field(64, ge=1, le=1024)


class SerialPort(BaseModel):
    """A locally attached concentrator or meter (8E1 by the standard)."""

    url: str
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "E"


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "headend"


def _default_runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"headend-{os.getuid()}"


class Settings(BaseSettings):
    """Everything ``headend serve`` can be told."""

    model_config = SettingsConfigDict(
        env_prefix="HEADEND_", env_nested_delimiter="__", extra="forbid"
    )

    host: str = "0.0.0.0"  # noqa: S104 - terminals dial in from the mobile network
    port: int = Field(10000, ge=0, le=65535)
    api_host: str = "0.0.0.0"  # noqa: S104
    api_port: int = Field(8080, ge=0, le=65535)
    #: Bearer token for /api/v1 (``HEADEND_API_TOKEN``). Unset: the API refuses all.
    api_token: SecretStr | None = None
    workers: int = Field(1, ge=1, le=64)
    #: What to do with a terminal the archive does not know: accept and flag, or reject.
    unknown_terminals: Literal["accept", "reject"] = "accept"
    #: Known terminal addresses as "A1-A2" (e.g. "4403-00001"); empty: all are known.
    known_terminals: list[str] = []
    #: PostgreSQL / TimescaleDB (``HEADEND_DATABASE_URL``). Unset: an embedded
    #: PostgreSQL under the user's state directory is started and used.
    database_url: SecretStr | None = None
    #: MQTT broker (``HEADEND_MQTT_URL``), e.g. mqtt://127.0.0.1:1883. Unset: no MQTT.
    mqtt_url: str | None = None
    #: This head-end's name on the bus and in the terminal directory (several machines).
    node: str = Field(default_factory=socket.gethostname)
    #: Topic prefix on the bus: <prefix>/<site>/...
    site: str = "default"
    #: Persist readings, events and the communication log. Off: a link-only head-end.
    storage: bool = True
    #: Where the head-end keeps local state: the spool of batches the database could
    #: not take, and the embedded database when no database_url is given.
    state_dir: Path = Field(default_factory=_default_state_dir)
    #: Time zone of the terminals' clocks (their timestamps carry none).
    timezone: str = "Asia/Shanghai"
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    runtime_dir: Path = Field(default_factory=_default_runtime_dir)
    serial: list[SerialPort] = []
    limits: Limits = Limits()
    session: SessionSettings = SessionSettings()
    bus: BusSettings = BusSettings()
    collection: CollectionSettings = CollectionSettings()

    @field_validator("known_terminals")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_address(item)
        return value


def parse_address(text: str) -> tuple[int, int]:
    """A terminal address "A1-A2" (A1 four BCD digits, A2 decimal) as (A1 word, A2)."""
    a1, sep, a2 = text.strip().partition("-")
    if not sep or len(a1) != 4:
        raise ValueError(f"terminal address {text!r}: expected A1-A2, e.g. 4403-00001")
    try:
        word, number = int(a1, 16), int(a2)
    except ValueError:
        raise ValueError(f"terminal address {text!r}: not A1-A2") from None
    if not 0 <= number <= 0xFFFF:
        raise ValueError(f"terminal address {text!r}: A2 must be 0..65535")
    return word, number


def format_address(key: tuple[int, int]) -> str:
    """(A1 word, A2) as printed: "4403-00001"."""
    return f"{key[0]:04X}-{key[1]:05d}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the file (if any), the environment and explicit overrides."""

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if config_file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls))
            return tuple(sources)

    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"configuration file {config_file} not found")
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings.model_validate(_FromFile(**values).model_dump())
