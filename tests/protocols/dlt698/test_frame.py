"""DL/T 698.45 envelope and LINK-Request: vectors, CRC, errors, build -> parse."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.dlt698 import (
    AddressType,
    DateTime,
    Frame,
    Func,
    LinkRequest,
    LinkType,
    Tag,
    crc16,
    decode_frame,
    decode_link_request,
    encode_frame,
    encode_link_request,
)
from protocols.dlt698.frame import FRAGMENT_BIT, SCRAMBLE_BIT
from protocols.errors import (
    BadChecksum,
    BadDelimiter,
    BadLength,
    BadValue,
    LocalProtocolError,
    ProtocolError,
    Truncated,
)
from tests.vectors import vector

T20 = vector("T20")
T21 = vector("T21")


def _crc_bitwise(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def test_crc_known_answer() -> None:
    assert crc16(b"123456789") == 0x906E  # CRC-16/X.25 check value
    assert crc16(b"") == 0x0000
    assert crc16(bytearray(b"xx123456789"), 2) == 0x906E
    assert crc16(b"123456789xx", 0, 9) == 0x906E


@given(st.binary(max_size=300))
def test_crc_table_matches_bitwise(data: bytes) -> None:
    assert crc16(data) == _crc_bitwise(data)


@pytest.mark.parametrize(("name", "fcs"), [("T20", 0x3477), ("T21", 0xBC1C)])
def test_vector_checksums(name: str, fcs: int) -> None:
    data = vector(name)
    assert crc16(data, 1, 12) == 0xB6D2 == data[12] | data[13] << 8  # HCS, low first
    assert crc16(data, 1, len(data) - 3) == fcs == data[-3] | data[-2] << 8


def _check_common(f: Frame) -> None:
    # C = 81: DIR=1 (from the terminal), PRM=0, no fragment/scramble, link management
    assert (f.c, f.up, f.prm, f.fragmented, f.scrambled) == (
        0x81,
        True,
        False,
        False,
        False,
    )
    assert f.func == Func.LINK
    # AF = 05: 6-byte SA, logical address 0, single address
    assert (f.af, f.address_type, f.logical_address) == (5, AddressType.SINGLE, 0)
    assert f.sa == bytes.fromhex("01 00 00 00 00 00")
    assert f.address == "000000000001"
    assert f.ca == 0
    assert f.fragment is None
    assert f.tag == Tag.LINK_REQUEST


def test_t20_heartbeat() -> None:
    f = decode_frame(T20)
    _check_common(f)
    req = f.link_request
    assert req is not None
    assert (req.piid_acd, req.kind, req.heartbeat) == (0, LinkType.HEARTBEAT, 300)
    # 01 2C is big-endian (A-XDR long-unsigned): 300 s; little-endian would be 11265 s
    assert T20[17:19] == b"\x01\x2c"
    assert req.time == DateTime(2022, 2, 23, 3, 0, 4, 51, 104)
    assert f.apdu == T20[14:-3]
    assert f.raw == T20


def test_t21_login() -> None:
    f = decode_frame(T21)
    _check_common(f)
    req = f.link_request
    assert req is not None
    assert (req.kind, req.heartbeat) == (LinkType.LOGIN, 300)
    # 07 E6 02 17 03 08 06 38 03 22: year BE, month, day, weekday (3 = Wednesday),
    # hh mm ss, milliseconds BE
    assert req.time == DateTime(2022, 2, 23, 3, 8, 6, 56, 802)
    assert str(req.time) == "2022-02-23 08:06:56.802"


@pytest.mark.parametrize("data", [T20, T21])
def test_vectors_encode_back(data: bytes) -> None:
    f = decode_frame(data)
    assert encode_frame(f) == data
    assert f.link_request is not None
    assert encode_link_request(f.link_request) == f.apdu


def test_extended_logical_address() -> None:
    """AF D5 = 1: the first SA byte is the logical address (AF 26 = 7-byte SA)."""
    sa = bytes.fromhex("02 01 00 00 00 00 00")
    f = decode_frame(encode_frame(Frame(0x43, 0x26, sa, 0x10, b"\x05\x01\x00")))
    assert (f.logical_address, f.address, f.address_type) == (2, "000000000001", 0)
    f = decode_frame(encode_frame(Frame(0x43, 0xD5, sa[1:], 0x10, b"\x05")))
    assert (f.logical_address, f.address_type) == (1, AddressType.BROADCAST)


def test_wildcard_address_digits() -> None:
    f = Frame(0x43, 0x45, bytes.fromhex("AA AA AA AA AA AA"), 0, b"\x05")
    assert f.address == "AAAAAAAAAAAA"
    assert f.address_type == AddressType.WILDCARD


def test_fragmented_and_scrambled_apdus_stay_raw() -> None:
    apdu = encode_link_request(
        LinkRequest(0, LinkType.LOGIN, 60, DateTime(2024, 1, 1, 1, 0, 0, 0, 0))
    )
    frag = Frame(0x81 | FRAGMENT_BIT, 5, bytes(6), 0, apdu, fragment=b"\x01\x40")
    back = decode_frame(encode_frame(frag))
    assert back == frag
    assert (back.fragment, back.link_request, back.tag) == (b"\x01\x40", None, None)
    scr = Frame(0x81 | SCRAMBLE_BIT, 5, bytes(6), 0, apdu)
    back = decode_frame(encode_frame(scr))
    assert (back.link_request, back.tag) == (None, None)


def _with(data: bytes, at: int, value: int) -> bytes:
    out = bytearray(data)
    out[at] = value
    return bytes(out)


def _rebuild(apdu: bytes) -> bytes:
    """T20's header around another APDU, with valid HCS and FCS."""
    return encode_frame(Frame(0x81, 5, bytes.fromhex("01 00 00 00 00 00"), 0, apdu))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (T20[:4], Truncated),
        (T20[:-1], Truncated),
        (T20 + b"\x16", BadLength),
        (_with(T20, 0, 0x69), BadDelimiter),
        (_with(T20, 2, 0x40), BadLength),  # D14: length in KiB
        (_with(T20, 2, 0x80), BadLength),  # D15 reserved
        (_with(T20, 1, 0x0A), BadLength),  # below the smallest frame
        (_with(T20, 1, 0x10), BadLength),  # no room for an APDU after a 6-byte SA
        (_with(T20, 12, 0xD3), BadChecksum),  # HCS
        (_with(T20, 8, 0x01), BadChecksum),  # header byte: HCS
        (_with(T20, 20, 0x01), BadChecksum),  # APDU byte: FCS
        (_with(T20, 29, 0x78), BadChecksum),  # FCS
        (_with(T20, 31, 0x17), BadDelimiter),
        (_rebuild(bytes.fromhex("01 00 01 01 2C")), Truncated),  # short LINK-Request
        (_rebuild(T20[14:-3] + b"\x00"), BadLength),  # long LINK-Request
        (_rebuild(_with(T20[14:-3], 2, 3)), BadValue),  # type 3
    ],
)
def test_errors(data: bytes, error: type[ProtocolError]) -> None:
    with pytest.raises(error):
        decode_frame(data)


def test_fragment_header_needs_room() -> None:
    # C.D5 set but only 2 bytes of link user data: no APDU after the header
    head = struct.pack("<HBB", 12, 0xA1, 0) + b"\x01\x00"
    head += struct.pack("<H", crc16(head))
    body = head + b"\x01\x40"
    data = b"\x68" + body + struct.pack("<HB", crc16(body), 0x16)
    assert len(data) == 14
    with pytest.raises(Truncated, match="fragment header"):
        decode_frame(data)


@pytest.mark.parametrize(
    "frame",
    [
        Frame(0x100, 5, bytes(6), 0, b"\1"),
        Frame(0x81, 5, bytes(5), 0, b"\1"),  # SA length disagrees with AF
        Frame(0x81, 5, bytes(6), 0, b""),
        Frame(0x81 | FRAGMENT_BIT, 5, bytes(6), 0, b"\1"),  # fragment header missing
        Frame(0x81, 5, bytes(6), 0, b"\1", fragment=b"\0\0"),
        Frame(0x81, 5, bytes(6), 0, bytes(16383)),
    ],
)
def test_encode_rejects(frame: Frame) -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(frame)


def test_encode_link_request_rejects_out_of_range() -> None:
    bad = LinkRequest(0, LinkType.LOGIN, 70000, DateTime(2022, 1, 1, 6, 0, 0, 0, 0))
    with pytest.raises(LocalProtocolError):
        encode_link_request(bad)


def test_decode_link_request_wrong_tag() -> None:
    with pytest.raises(BadValue):
        decode_link_request(b"\x81" + bytes(14))


date_times = st.builds(
    DateTime,
    st.integers(0, 0xFFFF),
    *(st.integers(0, 255) for _ in range(6)),
    st.integers(0, 0xFFFF),
)
link_requests = st.builds(
    LinkRequest,
    st.integers(0, 255),
    st.sampled_from(LinkType),
    st.integers(0, 0xFFFF),
    date_times,
)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    c = draw(st.integers(0, 255))
    af = draw(st.integers(0, 255))
    sa = draw(st.binary(min_size=(af & 0x0F) + 1, max_size=(af & 0x0F) + 1))
    plain = not c & (FRAGMENT_BIT | SCRAMBLE_BIT)
    if plain and draw(st.booleans()):
        apdu = encode_link_request(draw(link_requests))
    else:
        apdu = draw(st.binary(min_size=1, max_size=64))
        if plain and apdu[0] == Tag.LINK_REQUEST:
            apdu = b"\x05" + apdu[1:]  # keep raw APDUs clear of tag 01
    fragment = draw(st.binary(min_size=2, max_size=2)) if c & FRAGMENT_BIT else None
    return Frame(c, af, sa, draw(st.integers(0, 255)), apdu, fragment)


@settings(max_examples=300, deadline=None)
@given(frames())
def test_encode_decode_identity(frame: Frame) -> None:
    wire = encode_frame(frame)
    back = decode_frame(wire)
    assert back == frame
    assert back.raw == wire
    assert encode_frame(back) == wire
    if back.link_request is not None:
        assert encode_link_request(back.link_request) == frame.apdu


@given(link_requests)
def test_link_request_identity(req: LinkRequest) -> None:
    assert decode_link_request(encode_link_request(req)) == req


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_any_bytes_decode_or_protocol_error(data: bytes) -> None:
    """STYLE E1: garbage gives a Frame or a ProtocolError, never anything else."""
    for candidate in (data, b"\x68" + data, b"\x68" + data + b"\x16"):
        with contextlib.suppress(ProtocolError):
            decode_frame(candidate)
