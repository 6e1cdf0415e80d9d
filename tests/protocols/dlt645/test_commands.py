"""DL/T 645 request/reply builders against the published frames, and error words."""

from __future__ import annotations

from datetime import datetime

import pytest

from protocols.dlt645 import (
    BROADCAST,
    WILDCARD,
    Control1997,
    Control2007,
    ErrorFlag,
    ErrorWord,
    Frame,
    MeterRefused,
    RelayCommand,
    Version,
    address_reply,
    broadcast_time,
    decode_frame,
    encode_frame,
    error_reply,
    freeze,
    read,
    read_1997,
    read_address,
    read_follow,
    read_reply,
    relay_control,
    relay_reply,
    reply_control,
    write,
)
from protocols.errors import LocalProtocolError, RemoteProtocolError
from tests.vectors import vector

# Password P0 P1 P2 and operator C0..C3 of T17, wire order (see commands.py).
T17_P = "370602"
T17_OPERATOR = "01000000"
ZERO_P = "000000"


def test_read_request_is_t12() -> None:
    assert encode_frame(read("000000000161", 0x00010000)) == vector("T12")


def test_read_replies_are_t13_t14() -> None:
    t13 = read_reply("218231000114", 0x00010000, bytes.fromhex("06 00 00 00"))
    assert encode_frame(t13) == vector("T13")
    t14 = read_reply("000000000001", 0x00010000, bytes.fromhex("26 80 22 11"))
    assert encode_frame(t14) == vector("T14")


def test_error_reply_is_t15() -> None:
    frame = error_reply("123456789012", Control2007.READ, ErrorFlag.NO_DATA)
    assert encode_frame(frame) == vector("T15")


def test_relay_trip_is_t17() -> None:
    frame = relay_control(
        "151230011061",
        RelayCommand.TRIP,
        datetime(2099, 12, 30),
        password=T17_P,
        operator=T17_OPERATOR,
    )
    assert encode_frame(frame) == vector("T17")


def test_1997_read_is_t18_and_reply_t19() -> None:
    request = read_1997("000000000414", 0x9010)
    assert request.version is Version.V1997
    assert encode_frame(request, preamble=3) == vector("T18")
    reply = read_reply(
        "000000000414", 0x9010, bytes.fromhex("15 80 95 00"), version=Version.V1997
    )
    assert encode_frame(reply) == vector("T19")


def test_reply_control_codes() -> None:
    assert reply_control(Control2007.READ) == 0x91
    assert reply_control(Control2007.READ, follow=True) == 0xB1
    assert reply_control(Control2007.READ, abnormal=True) == 0xD1
    assert reply_control(Control2007.RELAY_CONTROL) == 0x9C
    assert reply_control(Control2007.RELAY_CONTROL, abnormal=True) == 0xDC
    assert reply_control(Control1997.READ) == 0x81
    assert reply_control(Control1997.READ, follow=True) == 0xA1
    assert reply_control(Control1997.READ, abnormal=True) == 0xC1


def test_relay_replies() -> None:
    ok = relay_reply("151230011061")
    assert (ok.control, ok.data) == (0x9C, b"")
    wire = encode_frame(ok)
    assert wire[9] == 0  # L = 0
    refused = error_reply("151230011061", Control2007.RELAY_CONTROL, 0x04)
    assert (refused.control, refused.data) == (0xDC, b"\x04")


@pytest.mark.parametrize("command", list(RelayCommand))
def test_relay_commands(command: RelayCommand) -> None:
    frame = relay_control(
        "000000000001",
        command,
        datetime(2030, 1, 2, 3, 4, 5),
        password=ZERO_P,
        operator="00000000",
    )
    assert frame.data[8] == command
    assert frame.data[9] == 0  # N2 reserved
    assert frame.data[10:] == bytes.fromhex("05 04 03 02 01 30")


def test_relay_control_refuses_cipher_levels_and_bad_secrets() -> None:
    when = datetime(2030, 1, 1)
    kwargs = {"password": ZERO_P, "operator": "00000000"}
    with pytest.raises(LocalProtocolError):
        relay_control("000000000001", RelayCommand.TRIP, when, level=0x98, **kwargs)
    with pytest.raises(LocalProtocolError):
        relay_control(
            "000000000001", RelayCommand.TRIP, when, password=ZERO_P[:5], operator="0"
        )
    with pytest.raises(LocalProtocolError):
        relay_control(
            "000000000001",
            RelayCommand.TRIP,
            when,
            password="zz" + ZERO_P[2:],
            operator="00",
        )


def test_read_load_records() -> None:
    frame = read(
        "000000000001", 0x06000001, blocks=2, start=datetime(2024, 5, 1, 8, 15)
    )
    assert frame.data == bytes.fromhex("01 00 00 06 02 15 08 01 05 24")
    assert read("000000000001", 0x06000000, blocks=1).data[-1] == 1
    with pytest.raises(LocalProtocolError):
        read("000000000001", 0x06000001, start=datetime(2024, 5, 1))
    with pytest.raises(LocalProtocolError):
        read("000000000001", 0x1_0000_0000)


def test_read_follow_and_write() -> None:
    assert read_follow("000000000001", 0x00010000, 3).data == bytes.fromhex(
        "00 00 01 00 03"
    )
    frame = write(
        "000000000001",
        0x04000102,
        bytes.fromhex("00 30 12"),
        password=ZERO_P.replace("0", "1"),
        operator="01020304",
    )
    assert frame.control == Control2007.WRITE
    assert frame.data == bytes.fromhex("02 01 00 04 02 11 11 11 01 02 03 04 00 30 12")


def test_broadcast_frames() -> None:
    sync = broadcast_time(datetime(2024, 5, 1, 12, 34, 56))
    assert (sync.address, sync.control) == (BROADCAST, 0x08)
    assert sync.data == bytes.fromhex("56 34 12 01 05 24")
    ask = read_address()
    assert (ask.address, ask.control, ask.data) == (WILDCARD, 0x13, b"")
    assert encode_frame(ask)[1:7] == b"\xaa" * 6
    answer = address_reply("123456789012")
    assert decode_frame(encode_frame(answer)).data == bytes.fromhex("12 90 78 56 34 12")


@pytest.mark.parametrize(
    ("fields", "data"),
    [
        ({}, "99 99 99 99"),
        ({"minute": 30}, "30 99 99 99"),
        ({"minute": 0, "hour": 23}, "00 23 99 99"),
        ({"minute": 0, "hour": 0, "day": 1}, "00 00 01 99"),
        ({"minute": 5, "hour": 4, "day": 3, "month": 2}, "05 04 03 02"),
    ],
)
def test_freeze_patterns(fields: dict[str, int], data: str) -> None:
    frame = freeze(**fields)  # type: ignore[arg-type]
    assert (frame.address, frame.control) == (BROADCAST, 0x16)
    assert frame.data == bytes.fromhex(data)


def test_freeze_wildcards_must_lead() -> None:
    with pytest.raises(LocalProtocolError):
        freeze(month=5, minute=0)
    with pytest.raises(LocalProtocolError):
        freeze(minute=100)


def test_error_word() -> None:
    word = ErrorWord(0x02)
    assert word.names == ["no_data"]
    assert word.flags == ErrorFlag.NO_DATA
    many = ErrorWord(0x45)
    assert many.names == ["other", "unauthorized", "tariffs_exceeded"]
    assert ErrorWord(0x80).names == []  # D7 reserved
    err = many.error()
    assert isinstance(err, MeterRefused)
    assert isinstance(err, RemoteProtocolError)
    assert err.reply_code == 0x45
    assert err.error_word is many
    with pytest.raises(LocalProtocolError):
        error_reply("000000000001", Control2007.READ, 0x100)


def test_built_frames_roundtrip() -> None:
    frames: list[Frame] = [
        read("000000000001", 0x00010000),
        read_follow("000000000001", 0x00010000, 1),
        broadcast_time(datetime(2024, 1, 1)),
        read_address(),
        freeze("000000000001"),
        relay_reply("000000000001"),
    ]
    for frame in frames:
        assert decode_frame(encode_frame(frame)) == frame
