"""AFN10 data forwarding (Std-2013 §5.16): F1 with embedded DL/T 645, and F9."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import dlt645
from protocols.dlt645 import RelayCommand, StatusWord, Version
from protocols.errors import BadChecksum, LocalProtocolError, Truncated
from protocols.gdw1376 import DataUnit, Frame, decode_frame, encode_frame
from protocols.gdw1376.frame import SINGLE
from protocols.gdw1376.registry import AFN, lookup
from protocols.gdw1376.units.afn10 import (
    AUTO_ROUTE,
    RELAY_DEPTH,
    DiType,
    ForwardMeterRead,
    ForwardMeterReadReply,
    ForwardResult,
    TransparentForward,
    TransparentForwardReply,
)
from tests.vectors import vector

T17_P = "370602"  # P0 P1 P2 of T17, wire order


def _only_unit(frame: Frame) -> object:
    assert frame.afn == AFN.FORWARD
    assert frame.ok, frame.errors
    [unit] = frame.units
    assert (unit.pn, unit.fn) == (0, 1)
    return unit.data


def test_t09_forward_645_read() -> None:
    wire = vector("T09")
    frame = decode_frame(wire)
    assert frame.c == 0x4B
    data = _only_unit(frame)
    assert isinstance(data, TransparentForward)
    assert data.port == 31
    assert (data.baud, data.two_stop_bits, data.parity, data.odd_parity) == (3, 0, 1, 0)
    assert data.data_bits == 3
    assert (data.baud_rate, data.serial) == (2400, "8E1")
    assert (data.timeout_in_seconds, data.frame_timeout) == (1, 0x3C)
    assert data.frame_timeout_ms == 60_000
    assert data.byte_timeout_ms == 100
    assert data.length == len(data.content) == 16
    embedded = data.embedded()
    inner = embedded["frame"]
    assert isinstance(inner, dlt645.Frame)
    assert inner.control == 0x11
    meaning = dlt645.interpret(inner)
    assert meaning.di == "04000503"
    assert meaning.name is not None
    assert "运行状态字3" in meaning.name
    assert encode_frame(frame) == wire


def test_t10_forward_645_reply_relay_off() -> None:
    wire = vector("T10")
    frame = decode_frame(wire)
    data = _only_unit(frame)
    assert isinstance(data, TransparentForwardReply)
    assert (data.port, data.length) == (31, 18)
    inner = data.embedded()["frame"]
    assert isinstance(inner, dlt645.Frame)
    assert inner.control == 0x91
    meaning = dlt645.interpret(inner)
    assert meaning.di == "04000503"
    assert meaning.values is not None
    word = meaning.values["status_word_3"]
    assert isinstance(word, StatusWord)
    assert word.raw == 0x0050
    assert word["relay_off"] == 1  # bit4 authoritative: relay open (断)
    assert encode_frame(frame) == wire


def test_embedded_strips_preamble_and_never_raises() -> None:
    t13 = vector("T13")
    with_wake = TransparentForwardReply(1, len(t13) + 4, b"\xfe" * 4 + t13)
    assert with_wake.embedded() == {"frame": dlt645.decode_frame(t13)}
    broken = TransparentForwardReply(1, 5, b"\x68\x01\x02\x03\x04")
    assert isinstance(broken.embedded()["frame_error"], Truncated)
    bad_cs = TransparentForwardReply(1, 16, vector("T16"))
    assert isinstance(bad_cs.embedded()["frame_error"], BadChecksum)
    empty = TransparentForwardReply(1, 0, b"")
    assert "frame_error" in empty.embedded()


def test_forward_trip_builds_like_the_published_frame() -> None:
    t17 = vector("T17")
    trip = dlt645.relay_control(
        "151230011061",
        RelayCommand.TRIP,
        datetime(2099, 12, 30),
        password=T17_P,
        operator="01000000",
    )
    unit = TransparentForward.of(31, dlt645.encode_frame(trip))
    assert unit.content == t17
    assert (unit.baud, unit.parity, unit.odd_parity, unit.data_bits) == (3, 1, 0, 3)
    assert (unit.timeout_in_seconds, unit.frame_timeout, unit.byte_timeout) == (
        1,
        60,
        10,
    )
    frame = Frame(
        0x4A, "0200", 0x1234, 4, AFN.FORWARD, SINGLE | 1, [DataUnit(0, 1, unit)]
    )
    back = decode_frame(encode_frame(frame))
    assert back.units[0].data == unit


@pytest.mark.parametrize(
    ("kwargs", "byte"),
    [
        ({"baud_rate": 300, "serial": "5N1"}, 0x00),
        ({"baud_rate": 19200, "serial": "8O2"}, 0xFF),
        ({"baud_rate": 1200, "serial": "7E1"}, 0x4A),
    ],
)
def test_control_word(kwargs: dict[str, object], byte: int) -> None:
    unit = TransparentForward.of(2, b"", frame_timeout_ms=500, **kwargs)  # type: ignore[arg-type]
    wire = lookup(AFN.FORWARD, 1, 0).layout.encode(unit)  # type: ignore[union-attr]
    assert wire[1] == byte
    assert wire[2] == 50  # 500 ms in 10 ms units, D7 = 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baud_rate": 115200},
        {"serial": "8X1"},
        {"serial": "8E"},
        {"frame_timeout_ms": 1234},
        {"frame_timeout_ms": 200_000},
        {"byte_timeout_ms": 5},
    ],
)
def test_control_word_rejects_what_it_cannot_say(kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        TransparentForward.of(1, b"", **kwargs)  # type: ignore[arg-type]


def test_f9_downlink_layout() -> None:
    layout = lookup(AFN.FORWARD, 9, 0).layout
    assert layout is not None
    unit = ForwardMeterRead(
        2, 1, ["000000000099"], "151230011061", DiType.DLT645_2007, 0, 0x04000503
    )
    wire = layout.encode(unit)
    assert wire == bytes.fromhex(
        "02 01 99 00 00 00 00 00 61 10 01 30 12 15 01 03 05 00 04"
    )
    back, end, errors = layout.decode(wire, 0, len(wire))
    assert (back, end, errors) == (unit, len(wire), [])


def test_f9_auto_route() -> None:
    layout = lookup(AFN.FORWARD, 9, 0).layout
    assert layout is not None
    auto = ForwardMeterRead(
        2, AUTO_ROUTE, [], "000000000414", DiType.DLT645_1997, 0, 0x9010
    )
    wire = layout.encode(auto)
    assert wire[1] == 0xFF
    back, _, _ = layout.decode(wire, 0, len(wire))
    assert back.relay_depth is AUTO_ROUTE
    direct = ForwardMeterRead(2, 0, [], "000000000414", DiType.DLT645_1997, 0, 0x9010)
    assert back != direct  # FF (auto) is not n = 0 (direct)
    assert layout.encode(direct)[1] == 0x00
    assert repr(AUTO_ROUTE) == "AUTO_ROUTE"
    with pytest.raises(LocalProtocolError):
        RELAY_DEPTH.encode(33)


def test_f9_uplink_reading() -> None:
    layout = lookup(AFN.FORWARD, 9, 1).layout
    assert layout is not None
    wire = bytes.fromhex("02 14 01 00 31 82 21 05 08 00 00 01 00 06 00 00 00")
    reply, end, errors = layout.decode(wire, 0, len(wire))
    assert (end, errors) == (len(wire), [])
    assert isinstance(reply, ForwardMeterReadReply)
    assert reply.target == "218231000114"
    assert reply.result == ForwardResult.DATA
    assert reply.di == 0x00010000
    assert reply.content == bytes.fromhex("06 00 00 00")
    meaning = reply.reading()
    assert meaning.values == {"forward_active_total": 0.06}
    old = ForwardMeterReadReply(
        1, "000000000414", 5, 8, bytes.fromhex("10 90 00 00 15 80 95 00")
    )
    assert old.reading(Version.V1997).values == {"forward_active_total": 9580.15}
    timeout = ForwardMeterReadReply(1, "000000000414", ForwardResult.TIMEOUT, 0, b"")
    assert timeout.di is None
    assert timeout.reading().values is None


@settings(max_examples=50, deadline=None)
@given(content=st.binary(max_size=64), port=st.integers(1, 31))
def test_embedded_never_raises(content: bytes, port: int) -> None:
    for unit in (
        TransparentForwardReply(port, len(content), content),
        TransparentForward.of(port, content),
    ):
        result = unit.embedded()
        assert set(result) <= {"frame", "frame_error"}
        assert len(result) == 1
