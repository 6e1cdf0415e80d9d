"""1376.1 stream scanner: any split, garbage, preambles, bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.gdw1376.frame import Dialect, Frame
from protocols.gdw1376.scanner import scanner
from protocols.scanner import Discarded
from tests.feeding import GARBAGE, feed_all, splits

LOGIN = bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16")
HEARTBEAT = bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 79 00 00 04 00 E4 16")


def frames_of(events: list[object]) -> list[bytes]:
    return [e for e in events if isinstance(e, bytes)]


@pytest.mark.parametrize(("how", "chunks"), list(splits(LOGIN + HEARTBEAT)))
def test_two_frames_any_split(how: str, chunks: list[bytes]) -> None:
    s = scanner()
    events = feed_all(s.feed, chunks)
    assert events == [LOGIN, HEARTBEAT], how
    assert s.pending == 0


@pytest.mark.parametrize(
    ("how", "chunks"), list(splits(GARBAGE + LOGIN + GARBAGE + HEARTBEAT + GARBAGE))
)
def test_frames_between_garbage(how: str, chunks: list[bytes]) -> None:
    s = scanner()
    events = feed_all(s.feed, chunks)
    assert frames_of(events) == [LOGIN, HEARTBEAT], how
    discarded = b"".join(e.data for e in events if isinstance(e, Discarded))
    # Every garbage byte is reported except FE preambles and a trailing partial
    # candidate the scanner still holds.
    assert len(discarded) + s.pending >= 3 * len(GARBAGE) - 3 * GARBAGE.count(0xFE)
    assert all(e.reason for e in events if isinstance(e, Discarded))


def test_preamble_is_not_garbage() -> None:
    s = scanner()
    assert s.feed(b"\xfe\xfe\xfe\xfe" + LOGIN) == [LOGIN]
    assert s.discarded_bytes == 0


def test_discard_reasons_name_the_failed_check() -> None:
    bad_cs = bytearray(LOGIN)
    bad_cs[-2] ^= 0xFF
    s = scanner()
    events = s.feed(bytes(bad_cs) + HEARTBEAT)
    assert events[-1] == HEARTBEAT
    assert isinstance(events[0], Discarded)
    assert events[0].reason == "bad_checksum"


def test_a_frame_inside_a_broken_candidate_is_found() -> None:
    # A header whose length swallows the next frame: the scanner drops one byte at a
    # time and finds the real frame (PROTOCOLS.md §6 resync rule).
    fake = bytes.fromhex("68 36 00 36 00 68")  # declares 21 bytes
    for how, chunks in splits(fake + LOGIN + HEARTBEAT):
        s = scanner()
        events = feed_all(s.feed, chunks)
        assert frames_of(events) == [LOGIN, HEARTBEAT], how
        assert events[0] == Discarded("bad_checksum", fake), how


def test_incomplete_frame_is_bounded_and_flushable() -> None:
    s = scanner()
    assert s.feed(LOGIN[:10]) == []
    assert s.pending == 10
    flushed = s.flush("timeout")
    assert flushed == Discarded("timeout", LOGIN[:10])
    assert s.pending == 0


def test_declared_length_above_bound_is_rejected_early() -> None:
    s = scanner(Dialect(max_l1=255))
    # L1 = 300 > 255 (a dedicated-radio bound): rejected from the header alone.
    length = (300 << 2 | 2).to_bytes(2, "little")
    header = b"\x68" + length + length + b"\x68"
    events = s.feed(header + LOGIN)
    assert events == [Discarded("bad_length", header), LOGIN]
    assert s.pending == 0


@settings(max_examples=200, deadline=None)
@given(
    cuts=st.lists(st.integers(0, 2 * len(LOGIN)), max_size=6),
    noise=st.binary(max_size=20),
)
def test_random_splits_lose_nothing(cuts: list[int], noise: bytes) -> None:
    stream = noise + LOGIN + HEARTBEAT
    points = sorted({c % len(stream) for c in cuts})
    chunks = [
        stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)
    ]
    s = scanner()
    events = feed_all(s.feed, [c for c in chunks if c])
    assert frames_of(events)[-2:] == [LOGIN, HEARTBEAT]


GDW_VECTORS = [f"T{i:02d}" for i in range(1, 12)]


@pytest.mark.parametrize("name", GDW_VECTORS)
def test_frame_reader_fast_and_slow_paths_agree(name: str) -> None:
    from protocols.gdw1376 import decode_frame
    from protocols.gdw1376.scanner import FrameReader
    from tests.vectors import vector

    raw = vector(name)
    [fast] = FrameReader().feed(raw)  # one whole frame: the fused path
    slow_reader = FrameReader()
    slow = feed_all(slow_reader.feed, [raw[:3], raw[3:]])  # split: the hunting path
    assert slow == [fast]
    assert fast == decode_frame(raw)
    other = slow[0]
    assert isinstance(other, Frame)
    assert isinstance(fast, Frame)
    assert (fast.tp, fast.ec, fast.pw) == (other.tp, other.ec, other.pw)


@settings(max_examples=200, deadline=None)
@given(
    up=st.booleans(),
    acd=st.booleans(),
    afn=st.sampled_from([0x00, 0x02, 0x04, 0x05, 0x0C, 0x10]),
    tp=st.none() | st.tuples(st.integers(0, 255), st.integers(0, 255)),
    units=st.binary(min_size=0, max_size=12),
)
def test_aux_is_read_back_on_both_reader_paths(
    up: bool, acd: bool, afn: int, tp: tuple[int, int] | None, units: bytes
) -> None:
    """PW, EC and Tp are split from the wire on first access, on the fused path (one
    whole frame) and on the hunting path (a split read) alike. The frame is built
    by hand here, so the encoder is not checked against itself."""
    from protocols.gdw1376.formats import DayTime
    from protocols.gdw1376.frame import STANDARD, Tp
    from protocols.gdw1376.scanner import FrameReader

    c = (0x80 if up else 0) | (0x20 if acd else 0) | 0x08
    pw = bytes(range(16)) if not up and afn in STANDARD.pw_afns else None
    ec = (7, 250) if up and acd else None
    label = None if tp is None else Tp(tp[0], DayTime(27, 13, 5, 9), tp[1])
    seq = (0x80 if tp else 0) | 0x60 | 3
    aux = (pw or b"") + (bytes(ec) if ec else b"")
    if tp is not None:
        aux += bytes((tp[0], 0x09, 0x05, 0x13, 0x27, tp[1]))  # PFC, A.16, delay
    body = bytes((c, 0x03, 0x44, 1, 0, 2, afn, seq)) + units + aux
    length = (len(body) << 2 | 2).to_bytes(2, "little")
    wire = b"\x68" + length + length + b"\x68" + body + bytes((sum(body) & 0xFF, 0x16))

    [fast] = FrameReader().feed(wire)
    slow = feed_all(FrameReader().feed, [wire[:5], wire[5:]])
    assert slow == [fast]
    for frame in (fast, slow[0]):
        assert isinstance(frame, Frame)
        assert (frame.c, frame.a1, frame.a2, frame.afn) == (c, "4403", 1, afn)
        assert (frame.pw, frame.ec, frame.tp) == (pw, ec, label)
        assert frame.raw[14 : frame._end] == units  # the units end where AUX begins
