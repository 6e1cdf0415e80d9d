"""DL/T 645 data-identifier table: every spec's value codec, and sourced examples."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.dlt645 import (
    DI_1997,
    DI_2007,
    Demand,
    DiSpec,
    StatusWord,
    UnknownDi,
    Version,
    by_key,
    decode_value,
    di_label,
    encode_value,
    find,
    lookup,
    parse_di,
)
from protocols.errors import BadLength, BadValue, LocalProtocolError, ProtocolError
from tests.protocols.dlt645.strategies import codec_values

ALL_SPECS = sorted(
    [*DI_2007.values(), *DI_1997.values()], key=lambda s: (s.version.value, s.di)
)
# One representative per distinct codec keeps the property tests fast; the codec
# object is what decides the behaviour.
BY_CODEC = list({id(s.codec): s for s in ALL_SPECS}.values())


def _id(spec: DiSpec) -> str:
    return f"{spec.version.value}-{spec.label}"


@pytest.mark.parametrize("spec", BY_CODEC, ids=_id)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_value_codec_roundtrip(spec: DiSpec, data: st.DataObject) -> None:
    value = data.draw(codec_values(spec.codec))
    wire = spec.encode(value)
    assert len(wire) % spec.size == 0
    assert spec.decode(wire) == value


@pytest.mark.parametrize("spec", ALL_SPECS, ids=_id)
def test_every_spec_is_described(spec: DiSpec) -> None:
    assert spec.key.isidentifier()
    assert spec.key == spec.key.lower()
    assert "(" in spec.name  # English with the Chinese term beside it
    assert spec.source
    assert spec.fmt
    assert len(spec.label) == (8 if spec.version is Version.V2007 else 4)
    assert find(spec.di, spec.version) is spec
    assert by_key(spec.key, spec.version) is spec


@pytest.mark.parametrize("spec", BY_CODEC, ids=_id)
@settings(max_examples=40, deadline=None)
@given(junk=st.binary(max_size=40))
def test_decode_raises_only_protocol_errors(spec: DiSpec, junk: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        spec.decode(junk)


def test_required_identifiers_are_present() -> None:
    for di in (
        0x00000000, 0x00010000, 0x00010100, 0x00010400, 0x0001FF00, 0x00020000,
        0x00030000, 0x00040000, 0x00050000, 0x00080000, 0x00010001, 0x0001FF01,
        0x05060001, 0x05060101, 0x05060201, 0x01010000, 0x02010100, 0x02010300,
        0x0201FF00, 0x02020100, 0x02030000, 0x02040000, 0x02060000, 0x02800002,
        0x04000101, 0x04000102, 0x04000401, 0x04000402, 0x04000306, 0x04000307,
        0x04000409, 0x04000403, 0x1D000101, 0x1E000101,
        *range(0x04000501, 0x04000508),
    ):  # fmt: skip
        assert find(di) is not None, f"{di:08X}"
    for di in (0x9010, 0x901F, 0x9020, 0xB611, 0xB612, 0xB613, 0xB621, 0xB622,
               0xB623, 0xB630, 0xB640, 0xB650, 0xC010, 0xC011):  # fmt: skip
        assert find(di, Version.V1997) is not None, f"{di:04X}"


def test_energy_values() -> None:
    assert decode_value(0x00010000, bytes.fromhex("06 00 00 00")) == 0.06
    assert decode_value(0x00010000, bytes.fromhex("26 80 22 11")) == 112280.26
    assert decode_value(0x9010, bytes.fromhex("15 80 95 00"), Version.V1997) == 9580.15
    # Combined energy is signed: D7 of the highest byte.
    assert decode_value(0x00000000, bytes.fromhex("01 00 00 80")) == -0.01
    block = decode_value(0x0001FF00, bytes.fromhex("00 01 00 00" * 5))
    assert block == [1.0] * 5


def test_instantaneous_values() -> None:
    assert decode_value(0x02010100, bytes.fromhex("27 24")) == 242.7
    assert decode_value(0x02020100, bytes.fromhex("00 05 80")) == -0.5
    assert decode_value(0x02030000, bytes.fromhex("34 12 00")) == 0.1234
    assert decode_value(0x02060000, bytes.fromhex("00 10")) == 1.0
    assert decode_value(0x02800002, bytes.fromhex("00 50")) == 50.0
    assert decode_value(0x0201FF00, bytes.fromhex("00 22 10 22 20 22")) == [
        220.0,
        221.0,
        222.0,
    ]
    assert decode_value(0xB611, bytes.fromhex("20 02"), Version.V1997) == 220


def test_calendar_values() -> None:
    # 2024-05-01 is a Wednesday (WW = 3); the weekday byte is redundant.
    assert decode_value(0x04000101, bytes.fromhex("03 01 05 24")) == date(2024, 5, 1)
    assert encode_value(0x04000101, date(2024, 5, 5)) == bytes.fromhex("00 05 05 24")
    assert decode_value(0x04000102, bytes.fromhex("56 34 12")) == time(12, 34, 56)
    assert decode_value(0x05060001, bytes.fromhex("00 00 01 05 24")) == datetime(
        2024, 5, 1
    )
    record = bytes.fromhex("05 04 03 02 01 24") + bytes(28)  # time + other fields
    assert decode_value(0x1D000101, record) == datetime(2024, 1, 2, 3, 4, 5)


def test_demand_value_then_time() -> None:
    wire = bytes.fromhex("34 12 00 30 14 01 05 24")
    assert decode_value(0x01010000, wire) == Demand(
        0.1234, datetime(2024, 5, 1, 14, 30)
    )


def test_address_and_text_values() -> None:
    assert (
        decode_value(0x04000402, bytes.fromhex("08 02 02 41 22 00")) == "002241020208"
    )
    assert encode_value(0x04000401, "123456789012") == bytes.fromhex(
        "12 90 78 56 34 12"
    )
    # ASCII items are sent lowest byte first: the wire holds the text reversed.
    assert encode_value(0x04000404, "220V") == b"\x00\x00V022"
    assert decode_value(0x04000404, b"\x00\x00V022") == "220V"


def test_status_word_3_relay_bit() -> None:
    word = decode_value(0x04000503, bytes.fromhex("50 00"))
    assert isinstance(word, StatusWord)
    assert word.raw == 0x0050
    assert word["relay_off"] == 1  # bit4: 0 on (通), 1 off (断)
    assert word.bits["relay_command_off"] == 1
    assert word.bits["power_supply"] == 0
    assert decode_value(0x04000503, bytes.fromhex("06 00")).bits["power_supply"] == 3
    assert encode_value(0x04000503, 0x10) == b"\x10\x00"


def test_phase_fault_words_share_bits() -> None:
    a = decode_value(0x04000504, bytes.fromhex("81 00"))
    assert a.bits["loss_of_voltage"] == 1
    assert a.bits["phase_break"] == 1
    assert lookup(0x04000506).codec.bits == lookup(0x04000504).codec.bits


@pytest.mark.parametrize(
    ("di", "data", "error"),
    [
        (0x00010000, "0A 00 00 00", BadValue),
        (0x00010000, "00 00 00", BadLength),
        (0x0001FF00, "00 00 00 00 00", BadLength),
        (0x0001FF00, "", BadLength),
        (0x04000101, "03 32 05 24", BadValue),
        (0x04000102, "00 60 12", BadValue),
        (0x04000503, "00", BadLength),
    ],
)
def test_bad_values(di: int, data: str, error: type[ProtocolError]) -> None:
    with pytest.raises(error):
        decode_value(di, bytes.fromhex(data))


@pytest.mark.parametrize(
    ("di", "value"),
    [
        (0x00010000, -1.0),
        (0x00010000, 1_000_000.0),
        (0x02020100, 800.0),
        (0x04000101, date(1999, 12, 31)),
        (0x04000401, "12345"),
        (0x04000404, "toolong!"),
        (0x04000404, "电压"),
        (0x04000503, 0x10000),
        (0x0001FF00, []),
    ],
)
def test_encode_rejects_unfit_values(di: int, value: object) -> None:
    with pytest.raises(LocalProtocolError):
        encode_value(di, value)


def test_unknown_di_is_typed() -> None:
    assert find(0x0EEEEEEE) is None
    with pytest.raises(UnknownDi) as info:
        lookup(0x0EEEEEEE)
    assert info.value.di == 0x0EEEEEEE
    with pytest.raises(UnknownDi):
        by_key("no_such_item")
    with pytest.raises(UnknownDi):
        lookup(0x00010000, Version.V1997)


def test_labels() -> None:
    assert di_label(0x00010000) == "00010000"
    assert di_label(0x9010, Version.V1997) == "9010"
    assert parse_di("04 00 05 03") == 0x04000503
    assert parse_di("9010") == 0x9010
    for bad in ("123", "XYZW"):
        with pytest.raises(LocalProtocolError):
            parse_di(bad)
