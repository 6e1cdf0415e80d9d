"""DL/T 645 link frame: published vectors, envelope errors, build -> parse identity."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.dlt645 import Frame, Version, decode_frame, encode_frame
from protocols.dlt645.frame import scramble, unscramble, version_of_function
from protocols.errors import (
    BadChecksum,
    BadDelimiter,
    BadLength,
    FrameError,
    LocalProtocolError,
    Truncated,
)
from tests.protocols.dlt645.strategies import frames
from tests.vectors import vector

# (vector, address, control, DATA after -0x33, edition)
DECODED = [
    ("T12", "000000000161", 0x11, "00 00 01 00", Version.V2007),
    ("T13", "218231000114", 0x91, "00 00 01 00 06 00 00 00", Version.V2007),
    ("T14", "000000000001", 0x91, "00 00 01 00 26 80 22 11", Version.V2007),
    ("T15", "123456789012", 0xD1, "02", Version.V2007),
    (
        "T17",
        "151230011061",
        0x1C,
        "02 37 06 02 01 00 00 00 1A 00 00 00 00 30 12 99",
        Version.V2007,
    ),
    ("T18", "000000000414", 0x01, "10 90", Version.V1997),
    ("T19", "000000000414", 0x81, "10 90 15 80 95 00", Version.V1997),
]


@pytest.mark.parametrize(("name", "address", "control", "data", "version"), DECODED)
def test_vectors_decode(
    name: str, address: str, control: int, data: str, version: Version
) -> None:
    wire = vector(name)
    frame = decode_frame(wire)
    assert frame == Frame(address, control, bytes.fromhex(data))
    assert frame.version is version
    preamble = len(wire) - len(wire.lstrip(b"\xfe"))
    assert encode_frame(frame, preamble=preamble) == wire


def test_control_bits() -> None:
    reply = decode_frame(vector("T13"))
    assert (reply.up, reply.abnormal, reply.follow, reply.func) == (
        True,
        False,
        False,
        0x11,
    )
    error = decode_frame(vector("T15"))
    assert (error.up, error.abnormal, error.func) == (True, True, 0x11)
    request = decode_frame(vector("T12"))
    assert not request.up
    assert Frame("000000000001", 0xB1).follow


def test_t16_checksum_is_rejected() -> None:
    with pytest.raises(BadChecksum):
        decode_frame(vector("T16"))


def test_checksum_starts_at_first_68_not_at_c() -> None:
    wire = vector("T12")
    from_c = sum(wire[8:-2]) & 0xFF
    assert wire[-2] != from_c
    assert wire[-2] == sum(wire[:-2]) & 0xFF


def test_preamble_is_optional_on_decode_and_encode() -> None:
    wire = vector("T12")
    for n in range(5):
        assert decode_frame(b"\xfe" * n + wire) == decode_frame(wire)
        assert encode_frame(decode_frame(wire), preamble=n) == b"\xfe" * n + wire


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda w: w[:-1], Truncated),
        (lambda w: w[:5], Truncated),
        (lambda w: b"", Truncated),
        (lambda w: b"\xfe\xfe", Truncated),
        (lambda w: w + b"\x16", BadLength),
        (lambda w: b"\x69" + w[1:], BadDelimiter),
        (lambda w: w[:7] + b"\x00" + w[8:], BadDelimiter),
        (lambda w: w[:-1] + b"\x17", BadDelimiter),
        (lambda w: w[:-2] + bytes(((w[-2] + 1) & 0xFF,)) + w[-1:], BadChecksum),
    ],
)
def test_envelope_errors(mutate: object, error: type[FrameError]) -> None:
    assert callable(mutate)
    with pytest.raises(error):
        decode_frame(mutate(vector("T12")))


def test_address_keeps_wildcards_and_case() -> None:
    frame = Frame("aaaaaaaaaaaa", 0x13)
    assert decode_frame(encode_frame(frame)).address == "AAAAAAAAAAAA"
    wire = encode_frame(Frame("123456789012", 0x11, b"\x00\x00\x01\x00"))
    assert wire[1:7] == bytes.fromhex("12 90 78 56 34 12")


@pytest.mark.parametrize(
    "frame",
    [
        Frame("12345678901", 0x11),
        Frame("12345678901Z", 0x11),
        Frame("123456789012", 0x100),
        Frame("123456789012", 0x11, bytes(256)),
    ],
)
def test_encode_rejects_what_the_wire_cannot_carry(frame: Frame) -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(frame)


def test_encode_rejects_long_preamble() -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(Frame("123456789012", 0x11), preamble=5)


def test_version_from_function_code() -> None:
    for func in (0x08, 0x11, 0x12, 0x13, 0x14, 0x16, 0x1C, 0x03):
        assert version_of_function(func) is Version.V2007
    for func in (0x01, 0x02, 0x04, 0x0A, 0x0C, 0x0F, 0x10):
        assert version_of_function(func) is Version.V1997
    assert version_of_function(0x81) is Version.V1997  # reply bits ignored
    forced = Frame("123456789012", 0x08, version_override=Version.V1997)
    assert forced.version is Version.V1997
    assert forced == Frame("123456789012", 0x08)  # the override is not on the wire


@given(data=st.binary(max_size=300))
def test_scramble_is_inverse(data: bytes) -> None:
    assert unscramble(scramble(data)) == data


@settings(max_examples=200)
@given(frame=frames, preamble=st.integers(0, 4))
def test_frame_roundtrip(frame: Frame, preamble: int) -> None:
    wire = encode_frame(frame, preamble)
    assert len(wire) == preamble + 12 + len(frame.data)
    assert decode_frame(wire) == frame


@settings(max_examples=300)
@given(data=st.binary(max_size=300))
def test_any_bytes_decode_or_raise_frame_error(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        decode_frame(data)
