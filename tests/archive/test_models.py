"""Field validation of the archive models (mirrors the CHECKs of 0002_archive.sql)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address

import pytest
from pydantic import ValidationError

from headend.archive.models import (
    Customer,
    Meter,
    MeterProtocol,
    SimCard,
    Terminal,
    TransformerArea,
    terminal_address,
)

METER = {"terminal_a1": "4403", "terminal_a2": 1, "pn": 1, "address": "000000000001"}


def errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {str(e["loc"][0]): e["msg"] for e in exc.value.errors()}


@pytest.mark.parametrize("a1", ["4403", "0000", "9999", " 4403 "])
def test_a1_four_bcd_digits(a1):
    assert Terminal(a1=a1, a2=1).a1 == a1.strip()


@pytest.mark.parametrize("a1", ["440", "44030", "44A3", "", "４４０３"])
def test_a1_refused(a1):
    with pytest.raises(ValidationError) as exc:
        Terminal(a1=a1, a2=1)
    assert "A1 must be 4 BCD digits" in errors(exc)["a1"]


@pytest.mark.parametrize(
    ("a2", "ok"),
    [
        (0, True),
        (65535, True),
        ("00017", True),
        (-1, False),
        (65536, False),
        ("x", False),
    ],
)
def test_a2_range(a2, ok):
    if ok:
        assert 0 <= Terminal(a1="4403", a2=a2).a2 <= 65535
    else:
        with pytest.raises(ValidationError):
            Terminal(a1="4403", a2=a2)


def test_terminal_address_printing():
    assert Terminal(a1="4403", a2=17).address == "4403-00017"
    assert terminal_address("0101", 65535) == "0101-65535"


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("000000000001", True),
        ("123456789012", True),
        ("12345678901", False),
        ("1234567890123", False),
        ("12345678901A", False),
        ("", False),
    ],
)
def test_meter_address_twelve_digits(address, ok):
    if ok:
        assert Meter(**{**METER, "address": address}).address == address
    else:
        with pytest.raises(ValidationError) as exc:
            Meter(**{**METER, "address": address})
        assert "address" in errors(exc)


@pytest.mark.parametrize(
    ("pn", "ok"), [(1, True), (2040, True), (0, False), (2041, False)]
)
def test_pn_range(pn, ok):
    if ok:
        assert Meter(**{**METER, "pn": pn}).pn == pn
    else:
        with pytest.raises(ValidationError):
            Meter(**{**METER, "pn": pn})


def test_meter_defaults_and_codes():
    meter = Meter(**METER)
    assert meter.protocol is MeterProtocol.DLT645_2007
    assert (meter.ct_ratio, meter.pt_ratio, meter.status) == (1, 1, "active")
    assert Meter(**METER, protocol="1").protocol is MeterProtocol.DLT645_1997
    with pytest.raises(ValidationError):
        Meter(**METER, protocol=7)


@pytest.mark.parametrize(
    ("text", "ratio"), [("40", 40), ("200/5", 40), ("10000/100", 100)]
)
def test_ratios(text, ratio):
    assert Meter(**METER, ct_ratio=text).ct_ratio == ratio


@pytest.mark.parametrize("text", ["7/2", "0", "5/0", "a/5", "70000"])
def test_bad_ratios(text):
    with pytest.raises(ValidationError):
        Meter(**METER, ct_ratio=text)


def test_baud_rates():
    assert Meter(**METER, baud_rate="2400").baud_rate == 2400
    with pytest.raises(ValidationError) as exc:
        Meter(**METER, baud_rate=9601)
    assert "baud rate must be one of 600" in errors(exc)["baud_rate"]


@pytest.mark.parametrize(
    ("iccid", "ok"),
    [
        ("8986011775000000000", True),
        ("89860117750000000001", True),
        ("898601177500000000", False),
        ("898601177500000000011", False),
        ("8986011775000000000F", False),
    ],
)
def test_iccid_19_or_20_digits(iccid, ok):
    if ok:
        assert SimCard(iccid=iccid).iccid == iccid
    else:
        with pytest.raises(ValidationError) as exc:
            SimCard(iccid=iccid)
        assert errors(exc)["iccid"] == "Value error, ICCID must be 19 or 20 digits"


def test_imsi_and_msisdn():
    sim = SimCard(
        iccid="89860117750000000001", imsi="460011234500001", msisdn="1064800000001"
    )
    assert sim.imsi == "460011234500001"
    with pytest.raises(ValidationError) as exc:
        SimCard(iccid="89860117750000000001", imsi="46001123450000")
    assert "IMSI must be 15 digits" in errors(exc)["imsi"]
    with pytest.raises(ValidationError):
        SimCard(iccid="89860117750000000001", msisdn="1380013800")


def test_ip_addresses():
    assert SimCard(iccid="89860117750000000001", static_ip="10.88.0.1").static_ip == (
        IPv4Address("10.88.0.1")
    )
    terminal = Terminal(a1="4403", a2=1, expected_master_ip="2001:db8::1")
    assert terminal.expected_master_ip == IPv6Address("2001:db8::1")
    with pytest.raises(ValidationError):
        Terminal(a1="4403", a2=1, expected_master_ip="10.0.0.256")
    with pytest.raises(ValidationError):
        Terminal(a1="4403", a2=1, expected_master_port=70000)


@pytest.mark.parametrize(
    "text",
    [
        "2023-06-15",
        "2023/6/15",
        "20230615",
        "2023.06.15",
        "2023-06-15 00:00:00",
        "2023-06-15T08:00:00",
    ],
)
def test_dates(text):
    assert Terminal(a1="4403", a2=1, install_date=text).install_date == date(
        2023, 6, 15
    )


@pytest.mark.parametrize("text", ["2023-13-01", "15/06/2023", "yesterday"])
def test_bad_dates(text):
    with pytest.raises(ValidationError) as exc:
        Terminal(a1="4403", a2=1, install_date=text)
    assert "not a date" in errors(exc)["install_date"]


def test_customer_fields():
    customer = Customer(
        account_no="0100000001",
        name=" 张三 ",
        contract_capacity_kva="8",
        phone="0755-26000001",
    )
    assert customer.name == "张三"
    assert customer.contract_capacity_kva == Decimal(8)
    for bad in (
        {"phone": "phone#1"},
        {"contract_capacity_kva": "-1"},
        {"contract_capacity_kva": "1.234"},
        {"account_no": "01 02"},
        {"name": ""},
    ):
        with pytest.raises(ValidationError):
            Customer(**{"account_no": "0100000001", "name": "张三", **bad})


def test_models_are_frozen_and_strict():
    area = TransformerArea(code="TQ0001", name="南山花园1号公变")
    with pytest.raises(ValidationError):
        area.name = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        TransformerArea(code="TQ0001", name="x", colour="red")  # type: ignore[call-arg]
    assert area.key == ("TQ0001",)
    assert Meter(**METER).key == ("4403", 1, 1)
