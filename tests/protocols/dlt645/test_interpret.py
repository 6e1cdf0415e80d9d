"""What published 645 frames mean, and that interpret() never raises."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.dlt645 import (
    ErrorFlag,
    Frame,
    RelayCommand,
    StatusWord,
    UnknownDi,
    Version,
    decode_frame,
    interpret,
    interpret_value,
    read_reply,
)
from protocols.errors import BadLength, BadValue, Truncated
from tests.protocols.dlt645.strategies import frames
from tests.vectors import vector


def test_t12_read_request() -> None:
    meaning = interpret(decode_frame(vector("T12")))
    assert meaning.di == "00010000"
    assert meaning.name is not None
    assert "正向有功总电能" in meaning.name
    assert meaning.values is None
    assert meaning.error_word is None


def test_t13_read_reply() -> None:
    frame = decode_frame(vector("T13"))
    assert frame.address == "218231000114"
    meaning = interpret(frame)
    assert meaning.version is Version.V2007
    assert meaning.di == "00010000"
    assert meaning.values == {"forward_active_total": 0.06}
    assert meaning.error is None


def test_t14_read_reply() -> None:
    meaning = interpret(decode_frame(vector("T14")))
    assert meaning.values == {"forward_active_total": 112280.26}


def test_t15_error_word() -> None:
    meaning = interpret(decode_frame(vector("T15")))
    assert meaning.di is None
    assert meaning.values is None
    assert meaning.error_word is not None
    assert meaning.error_word.raw == 0x02
    assert meaning.error_word.flags == ErrorFlag.NO_DATA
    assert meaning.error_word.names == ["no_data"]


def test_t17_relay_trip() -> None:
    meaning = interpret(decode_frame(vector("T17")))
    assert meaning.di is None
    assert meaning.values == {
        "level": 0x02,
        "password": "370602",  # P0 P1 P2 in wire order
        "operator": "01000000",  # C0..C3 in wire order
        "command": RelayCommand.TRIP,
        "reserved": 0,
        "valid_until": datetime(2099, 12, 30, 0, 0, 0),
    }
    assert meaning.error is None


def test_t18_t19_1997_read() -> None:
    request = interpret(decode_frame(vector("T18")))
    assert (request.version, request.di) == (Version.V1997, "9010")
    reply = interpret(decode_frame(vector("T19")))
    assert reply.di == "9010"
    assert reply.values == {"forward_active_total": 9580.15}


def test_status_word_reply() -> None:
    frame = read_reply("151230011061", 0x04000503, bytes.fromhex("50 00"))
    meaning = interpret(frame)
    assert meaning.di == "04000503"
    assert meaning.values is not None
    word = meaning.values["status_word_3"]
    assert isinstance(word, StatusWord)
    assert (word.raw, word["relay_off"]) == (0x0050, 1)


def test_unknown_di_keeps_raw_bytes() -> None:
    meaning = interpret(read_reply("000000000001", 0x0EEEEEEE, b"\x01\x02"))
    assert meaning.di == "0EEEEEEE"
    assert meaning.values is None
    assert meaning.raw == b"\x01\x02"
    assert isinstance(meaning.error, UnknownDi)


def test_bad_value_is_reported_not_raised() -> None:
    bad_bcd = interpret(
        read_reply("000000000001", 0x00010000, bytes.fromhex("AA 00 00 00"))
    )
    assert bad_bcd.values is None
    assert isinstance(bad_bcd.error, BadValue)
    short = interpret(read_reply("000000000001", 0x00010000, b"\x00"))
    assert isinstance(short.error, BadLength)
    no_di = interpret(Frame("000000000001", 0x91, b"\x00\x00"))
    assert (no_di.di, no_di.values) == (None, None)
    assert isinstance(no_di.error, Truncated)
    empty_error = interpret(Frame("000000000001", 0xD1))
    assert empty_error.error_word is None
    assert isinstance(empty_error.error, Truncated)


def test_follow_up_reply_carries_seq() -> None:
    frame = read_reply("000000000001", 0x00010000, bytes.fromhex("06 00 00 00"), seq=7)
    assert frame.control == 0x92
    meaning = interpret(frame)
    assert meaning.seq == 7
    assert meaning.values == {"forward_active_total": 0.06}


def test_write_request_values() -> None:
    data = bytes.fromhex("02 01 00 04 02 12 34 56 01 02 03 04 00 30 12")
    meaning = interpret(Frame("000000000001", 0x14, data))
    assert meaning.di == "04000102"
    assert meaning.values is not None
    expected = "".join(("12", "34", "56"))
    assert meaning.values["password"] == expected
    assert meaning.values["time"].hour == 12


def test_enciphered_relay_control_keeps_ciphertext() -> None:
    data = bytes.fromhex("98 00 00 00 00 00 00 00") + bytes(range(16))
    meaning = interpret(Frame("000000000001", 0x1C, data))
    assert meaning.values is not None
    assert meaning.values["ciphertext"] == bytes(range(16))
    assert "command" not in meaning.values


def test_unknown_relay_command_is_reported() -> None:
    data = bytes.fromhex("02 00 00 00 00 00 00 00 77 00 00 00 00 01 01 30")
    meaning = interpret(Frame("000000000001", 0x1C, data))
    assert isinstance(meaning.error, BadValue)


def test_broadcast_time_and_address_reply() -> None:
    sync = interpret(Frame("999999999999", 0x08, bytes.fromhex("56 34 12 01 05 24")))
    assert sync.values == {"time": datetime(2024, 5, 1, 12, 34, 56)}
    addr = interpret(Frame("123456789012", 0x93, bytes.fromhex("12 90 78 56 34 12")))
    assert addr.values == {"address": "123456789012"}


def test_interpret_value_for_1997() -> None:
    meaning = interpret_value(0x9010, bytes.fromhex("15 80 95 00"), Version.V1997)
    assert meaning.values == {"forward_active_total": 9580.15}


KNOWN_CONTROLS = [0x01, 0x02, 0x08, 0x11, 0x12, 0x14, 0x1C, 0x81, 0x82, 0x91, 0x92,
                  0x93, 0xB1, 0xC1, 0xD1, 0xDC]  # fmt: skip
handled = st.builds(
    Frame,
    st.just("000000000001"),
    st.sampled_from(KNOWN_CONTROLS),
    st.one_of(
        st.binary(max_size=24),
        st.sampled_from(
            [b"\x00\x00\x01\x00", b"\x03\x05\x00\x04", b"\x10\x90"]
        ).flatmap(lambda di: st.binary(max_size=20).map(lambda tail: di + tail)),
    ),
)


@settings(max_examples=500)
@given(
    frame=st.one_of(frames, handled),
    override=st.sampled_from([None, Version.V1997, Version.V2007]),
)
def test_interpret_never_raises(frame: Frame, override: Version | None) -> None:
    frame.version_override = override
    meaning = interpret(frame)
    assert meaning.version is frame.version
