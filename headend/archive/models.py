"""Archive entities (档案) as validated models, keyed by their natural keys.

The models carry what the marketing system (营销系统) knows: references to other
entities are natural keys (a meter names its terminal by A1/A2 and its customer by
account number), never database ids. Field validation mirrors the CHECK constraints
of ``schema/0002_archive.sql`` so that a row that validates here is stored as is.

Text coming from CSV is accepted in the forms marketing exports use: dates as
``2024-03-01``, ``2024/3/1`` or ``20240301`` (a time part is ignored), CT/PT ratios as
``40`` or ``200/5``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyAddress,
    StringConstraints,
)


class Kind(StrEnum):
    """The entity kinds, named as on the command line (``--kind``)."""

    REGIONS = "regions"
    TARIFFS = "tariffs"
    AREAS = "areas"
    CUSTOMERS = "customers"
    SIMS = "sims"
    TERMINALS = "terminals"
    METERS = "meters"


class MeterProtocol(IntEnum):
    """Meter protocol codes as AFN04 F10 carries them (Std-2013 §5.5.1.3.10 e).

    The codes of ``protocols.gdw1376.units.afn04.MeterProtocol`` but 0 ("not
    read"): a meter the terminal must not read is a status, not a protocol.
    """

    DLT645_1997 = 1
    AC_SAMPLING = 2  # 交流采样装置
    DLT645_2007 = 30
    CARRIER_MODULE = 31  # 串行接口连接窄带低压载波通信模块


#: Rates AFN04 F10 can encode (D7..D5 = 1..7; 0, the default, is stored as NULL).
BAUD_RATES: Final = (600, 1200, 2400, 4800, 7200, 9600, 19200)

_A1 = re.compile(r"[0-9]{4}")
_DIGITS = re.compile(r"[0-9]+")
_DATE_FORMATS: Final = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")


def _digits(name: str, lengths: tuple[int, ...]) -> AfterValidator:
    wanted = " or ".join(str(n) for n in lengths)

    def check(value: str) -> str:
        if len(value) not in lengths or not _DIGITS.fullmatch(value):
            raise ValueError(f"{name} must be {wanted} digits")
        return value

    return AfterValidator(check)


def _pattern(pattern: str, what: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


def _a1(value: str) -> str:
    if not _A1.fullmatch(value):
        raise ValueError("A1 must be 4 BCD digits (行政区划码)")
    return value


def _baud_rate(value: int) -> int:
    if value not in BAUD_RATES:
        rates = ", ".join(str(r) for r in BAUD_RATES)
        raise ValueError(f"baud rate must be one of {rates}")
    return value


def _parse_date(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().split(" ", 1)[0].split("T", 1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)")


def _parse_ratio(value: Any) -> Any:
    """``200/5`` (primary/secondary, as nameplates and marketing write it) → 40."""
    if isinstance(value, str) and "/" in value:
        primary, _, secondary = value.partition("/")
        try:
            p, s = int(primary), int(secondary)
        except ValueError:
            raise ValueError("not a ratio (40 or 200/5)") from None
        if s <= 0 or p % s:
            raise ValueError("the ratio is not a whole number")
        return p // s
    return value


Code = Annotated[
    str, _pattern(r"[0-9A-Za-z_-]{1,32}", "1 to 32 letters, digits, '-' or '_'")
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
A1 = Annotated[str, AfterValidator(_a1)]
A2 = Annotated[int, Field(ge=0, le=0xFFFF)]
MeterAddress = Annotated[str, _digits("meter address (通信地址)", (12,))]
Iccid = Annotated[str, _digits("ICCID", (19, 20))]
Imsi = Annotated[str, _digits("IMSI", (15,))]
Msisdn = Annotated[str, _digits("MSISDN", (11, 12, 13))]
Phone = Annotated[
    str, _pattern(r"[0-9+()\- ]{3,32}", "a phone number (digits, +, -, parentheses)")
]
Day = Annotated[date, BeforeValidator(_parse_date)]
Ratio = Annotated[int, BeforeValidator(_parse_ratio), Field(ge=1, le=0xFFFF)]
BaudRate = Annotated[int, AfterValidator(_baud_rate)]
Kva = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
IpAddress = IPvAnyAddress


class ArchiveModel(BaseModel):
    """Base of the archive entities: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    kind: ClassVar[Kind]
    #: Fields forming the natural key, in order.
    key_fields: ClassVar[tuple[str, ...]]

    @property
    def key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self.key_fields)


class Region(ArchiveModel):
    """A region / supply unit (供电单位, 行政区划)."""

    kind = Kind.REGIONS
    key_fields = ("code",)

    code: Code
    name: Name


class Tariff(ArchiveModel):
    """A tariff code known to the marketing system (电价代码)."""

    kind = Kind.TARIFFS
    key_fields = ("code",)

    code: Code
    name: Name


class TransformerArea(ArchiveModel):
    """A transformer area (台区)."""

    kind = Kind.AREAS
    key_fields = ("code",)

    code: Code
    name: Name
    region_code: Code | None = None
    capacity_kva: (
        Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)] | None
    ) = None
    supply_line: Name | None = None


class Customer(ArchiveModel):
    """A customer (用户) of the marketing system."""

    kind = Kind.CUSTOMERS
    key_fields = ("account_no",)

    account_no: Code
    name: Name
    category: Name | None = None
    contract_capacity_kva: Kva | None = None
    voltage_level: Name | None = None
    supply_line: Name | None = None
    tariff_code: Code | None = None
    address: Text | None = None
    phone: Phone | None = None
    area_code: Code | None = None


class SimCard(ArchiveModel):
    """A SIM card (SIM卡) of a terminal's modem."""

    kind = Kind.SIMS
    key_fields = ("iccid",)

    iccid: Iccid
    imsi: Imsi | None = None
    msisdn: Msisdn | None = None
    apn: Name | None = None
    static_ip: IpAddress | None = None
    status: Literal["active", "suspended", "cancelled"] = "active"


class Terminal(ArchiveModel):
    """A terminal (采集终端 / 集中器), addressed by A1 and A2."""

    kind = Kind.TERMINALS
    key_fields = ("a1", "a2")

    a1: A1
    a2: A2
    vendor: Name | None = None
    model: Name | None = None
    firmware_version: Name | None = None
    protocol: Literal["gdw1376-2013", "gdw1376-2009"] = "gdw1376-2013"
    iccid: Iccid | None = None
    expected_apn: Name | None = None
    expected_master_ip: IpAddress | None = None
    expected_master_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    install_place: Text | None = None
    install_date: Day | None = None
    region_code: Code | None = None
    area_code: Code | None = None
    status: Literal["active", "inactive", "discovered"] = "active"

    @property
    def address(self) -> str:
        return terminal_address(self.a1, self.a2)


class Meter(ArchiveModel):
    """A measuring point / meter (测量点 / 电能表): point ``pn`` of a terminal."""

    kind = Kind.METERS
    key_fields = ("terminal_a1", "terminal_a2", "pn")

    terminal_a1: A1
    terminal_a2: A2
    pn: Annotated[int, Field(ge=1, le=2040)]
    address: MeterAddress
    protocol: MeterProtocol = MeterProtocol.DLT645_2007
    port: Annotated[int, Field(ge=1, le=31)] | None = None
    baud_rate: BaudRate | None = None
    ct_ratio: Ratio = 1
    pt_ratio: Ratio = 1
    account_no: Code | None = None
    area_code: Code | None = None
    asset_no: Name | None = None
    status: Literal["active", "removed", "discovered"] = "active"

    @property
    def terminal(self) -> str:
        return terminal_address(self.terminal_a1, self.terminal_a2)


def terminal_address(a1: str, a2: int) -> str:
    """A terminal address as printed everywhere in the head-end: ``4403-00001``."""
    return f"{a1}-{a2:05d}"


MODELS: Final[dict[Kind, type[ArchiveModel]]] = {
    m.kind: m
    for m in (Region, Tariff, TransformerArea, Customer, SimCard, Terminal, Meter)
}

__all__ = [
    "BAUD_RATES",
    "MODELS",
    "ArchiveModel",
    "Customer",
    "Kind",
    "Meter",
    "MeterProtocol",
    "Region",
    "SimCard",
    "Tariff",
    "Terminal",
    "TransformerArea",
    "terminal_address",
]
