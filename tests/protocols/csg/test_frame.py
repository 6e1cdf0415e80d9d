"""Q/CSG 1209022 envelope: T22, DA rules, AUX, errors, build -> parse identity."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.csg import ALL_POINTS, Afn, Frame, Tp, da_of, decode_frame, encode_frame
from protocols.csg.frame import DIR_BIT, SINGLE, TPV_BIT, has_pw, pns_of
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

T22 = vector("T22")


def test_t22_envelope() -> None:
    f = decode_frame(T22)
    assert len(T22) == 205 + 8  # L = 205, plain length
    # C4: uplink active report
    assert (f.c, f.up, f.prm, f.acd, f.func) == (0xC4, True, True, False, 4)
    # A1 FFFFFF (3 bytes BCD), A2 FFFFFF (3 bytes BIN), MSA 0
    assert (f.a1, f.a2, f.a3, f.msa) == ("FFFFFF", 0xFFFFFF, 0, 0)
    assert f.afn == 0x12
    assert Afn(f.afn) is Afn.READ_TASK
    # SEQ 70: single frame, CON=1
    assert (f.seq, f.tpv, f.fir, f.fin, f.con, f.pseq) == (
        0x70,
        False,
        True,
        True,
        True,
        0,
    )
    # DA 0000, DI E000030D (task 13)
    assert (f.da, f.pns) == (0, (0,))
    assert (f.di, f.di_text, f.task) == (0xE000030D, "E000030D", 13)
    assert f.pw is None
    assert f.tp is None
    assert f.units_raw == T22[22:-2]
    # Table A.10.4: structure 0, n = 1, m = 12; last the data time 2026-07-01 00:00
    assert f.units_raw[:3] == bytes((0, 1, 12))
    assert f.units_raw[-6:] == bytes.fromhex("20 26 07 01 00 00")
    assert len(f.units_raw) == 3 + 12 * 15 + 6
    assert f.raw == T22


def test_t22_encodes_back() -> None:
    assert encode_frame(decode_frame(T22)) == T22


@pytest.mark.parametrize(
    ("da", "pns"),
    [
        (0x0000, (0,)),
        (0x0101, (1,)),
        (0x0103, (1, 2)),  # "DA=0103H" in §6.1.4: p1 and p2
        (0x0107, (1, 2, 3)),
        (0x0180, (8,)),
        (0x0201, (9,)),
        (0xFE80, (2032,)),
        (0xFFFF, (ALL_POINTS,)),
    ],
)
def test_da(da: int, pns: tuple[int, ...]) -> None:
    assert pns_of(da) == pns
    if len(pns) == 1:
        assert da_of(pns[0]) == da


@pytest.mark.parametrize("da", [0x0001, 0x0100, 0xFF01, 0xFF00, 0xFF7F])
def test_da_naming_no_point(da: int) -> None:
    with pytest.raises(BadValue):
        pns_of(da)


@pytest.mark.parametrize("pn", [-1, 2033, 0x10000])
def test_da_of_out_of_range(pn: int) -> None:
    with pytest.raises(LocalProtocolError):
        da_of(pn)


def test_pw_afns() -> None:
    assert has_pw(0x04, up=False)
    assert has_pw(0x06, up=False)
    assert has_pw(0x06, up=True)
    assert not has_pw(0x04, up=True)
    assert not has_pw(0x00, up=False)
    assert not has_pw(0x10, up=False)


def test_write_params_with_pw_and_tp() -> None:
    """AFN 04H downlink: units, then PW (16), then Tp (5), sized from the end."""
    tp = Tp(bytes.fromhex("09 13 14 30"), 5)
    frame = Frame(
        0x4A,
        "440105",
        123456,
        1,
        Afn.WRITE_PARAMS,
        SINGLE | TPV_BIT | 0x10 | 3,
        da=0,
        di=0xE0000107,  # heartbeat period, 1 byte (table A.2)
        units_raw=b"\x0f",
        pw=bytes(range(16)),
        tp=tp,
    )
    wire = encode_frame(frame)
    assert wire[7:10] == bytes.fromhex("05 01 44")  # A1 low byte first
    assert wire[10:13] == (123456).to_bytes(3, "little")
    assert wire[16:22] == bytes.fromhex("00 00 07 01 00 E0")
    assert wire[-2 - 5 - 16 : -2 - 5] == bytes(range(16))
    back = decode_frame(wire)
    assert back == frame
    assert (back.tpv, back.con, back.pseq, back.tp) == (True, True, 3, tp)


def test_pw_defaults_to_zeros() -> None:
    frame = Frame(0x4A, "000001", 1, 1, Afn.WRITE_PARAMS, SINGLE, 0, 0xE0000107, b"\1")
    assert decode_frame(encode_frame(frame)).pw == bytes(16)


def test_confirm_all() -> None:
    """AFN 00H "all confirm": DA 0000, DI E0000000, content 00 (§6.2.1.4)."""
    frame = Frame(0x0B, "440105", 1, 0, Afn.CONFIRM, SINGLE, 0, 0xE0000000, b"\x00")
    wire = encode_frame(frame)
    assert wire[:6] == bytes.fromhex("68 11 00 11 00 68")
    assert decode_frame(wire) == frame


def test_frame_without_units() -> None:
    frame = Frame(0xC9, "440105", 7, 0, Afn.LINK_TEST, SINGLE)
    assert decode_frame(encode_frame(frame)) == frame


def _corrupt(data: bytes, at: int, value: int) -> bytes:
    out = bytearray(data)
    out[at] = value
    return bytes(out)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (T22[:5], Truncated),
        (T22[:-1], Truncated),
        (T22 + b"\x16", BadLength),
        (_corrupt(T22, 0, 0x69), BadDelimiter),
        (_corrupt(T22, 5, 0x69), BadDelimiter),
        (_corrupt(T22, 3, 0xCC), BadLength),
        (_corrupt(T22, 30, 0x62), BadChecksum),
        (_corrupt(T22, len(T22) - 2, 0xCB), BadChecksum),
        (_corrupt(T22, len(T22) - 1, 0x17), BadDelimiter),
        (bytes.fromhex("68 09 00 09 00 68") + bytes(9) + b"\x00\x16", BadLength),
        (bytes.fromhex("68 00 40 00 40 68"), BadLength),
    ],
)
def test_envelope_errors(data: bytes, error: type[ProtocolError]) -> None:
    with pytest.raises(error):
        decode_frame(data)


def _frame_bytes(body: bytes) -> bytes:
    n = len(body)
    head = bytes((0x68, n & 0xFF, n >> 8, n & 0xFF, n >> 8, 0x68))
    return head + body + bytes((sum(body) & 0xFF, 0x16))


def test_units_area_too_short_for_da_di() -> None:
    body = bytes.fromhex("88 05 01 44 01 00 00 01 0C 60") + bytes(5)
    with pytest.raises(Truncated):
        decode_frame(_frame_bytes(body))


def test_no_room_for_pw_and_tp() -> None:
    # downlink AFN 04H with TpV=1 but only 4 bytes after SEQ
    body = bytes.fromhex("4A 05 01 44 01 00 00 01 04 E0") + bytes(4)
    with pytest.raises(Truncated):
        decode_frame(_frame_bytes(body))
    body = bytes.fromhex("4A 05 01 44 01 00 00 01 04 60") + bytes(10)
    with pytest.raises(Truncated):
        decode_frame(_frame_bytes(body))


@pytest.mark.parametrize(
    "frame",
    [
        Frame(0x4A, "44010", 1, 1, 0x0C, SINGLE),  # A1 not 6 digits
        Frame(0x4A, "44010G", 1, 1, 0x0C, SINGLE),
        Frame(0x4A, "440105", 1 << 24, 1, 0x0C, SINGLE),
        Frame(0x4A, "440105", 1, 256, 0x0C, SINGLE),
        Frame(0x4A, "440105", 1, 1, 0x0C, SINGLE, da=0),  # DA without DI
        Frame(0x4A, "440105", 1, 1, 0x0C, SINGLE, units_raw=b"\1"),
        Frame(0x4A, "440105", 1, 1, 0x0C, SINGLE, da=0x10000, di=0),
        Frame(0x4A, "440105", 1, 1, 0x0C, SINGLE, pw=bytes(16)),  # no PW on 0C
        Frame(0x4A, "440105", 1, 1, 0x04, SINGLE, pw=bytes(2)),
        Frame(0x4A, "440105", 1, 1, 0x0C, SINGLE | TPV_BIT),  # TpV without Tp
        Frame(0x4A, "440105", 1, 1, 0x0C, SINGLE, tp=Tp(bytes(4), 0)),
        Frame(0x4A, "440105", 1, 1, 0x0C, SINGLE | TPV_BIT, tp=Tp(bytes(5), 0)),
        Frame(0x4A, "440105", 1, 1, 0x0C, SINGLE, 0, 0, bytes(16383)),
    ],
)
def test_encode_rejects(frame: Frame) -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(frame)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    c = draw(st.integers(0, 255))
    afn = draw(st.sampled_from([*Afn, 0x01, 0x20, 0xFF]))
    seq = draw(st.integers(0, 255))
    has_unit = draw(st.booleans())
    pw = None
    if has_pw(afn, up=bool(c & DIR_BIT)):
        pw = draw(st.binary(min_size=16, max_size=16))
    tp = None
    if seq & TPV_BIT:
        tp = Tp(draw(st.binary(min_size=4, max_size=4)), draw(st.integers(0, 255)))
    return Frame(
        c,
        draw(st.text("0123456789ABCDEF", min_size=6, max_size=6)),
        draw(st.integers(0, 0xFFFFFF)),
        draw(st.integers(0, 255)),
        afn,
        seq,
        draw(st.integers(0, 0xFFFF)) if has_unit else None,
        draw(st.integers(0, 0xFFFFFFFF)) if has_unit else None,
        draw(st.binary(max_size=64)) if has_unit else b"",
        pw,
        tp,
    )


@settings(max_examples=300, deadline=None)
@given(frames())
def test_encode_decode_identity(frame: Frame) -> None:
    wire = encode_frame(frame)
    back = decode_frame(wire)
    assert back == frame
    assert back.raw == wire
    assert encode_frame(back) == wire


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.binary(max_size=4))
def test_any_bytes_decode_or_protocol_error(body: bytes, tail: bytes) -> None:
    """STYLE E1: garbage gives a Frame or a ProtocolError, never anything else."""
    for data in (body, _frame_bytes(body), _frame_bytes(body) + tail):
        with contextlib.suppress(ProtocolError):
            decode_frame(data)
