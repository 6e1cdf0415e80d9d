"""DL/T 645 stream scanner: any split, garbage, FE preambles, bounds (STYLE T4)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.dlt645 import Dlt645Framer, decode_frame, scanner
from protocols.errors import BadDelimiter
from protocols.scanner import Discarded, Scanner
from tests.feeding import GARBAGE, splits
from tests.vectors import vector

T12 = vector("T12")
T13 = vector("T13")
T17 = vector("T17")
T19 = vector("T19")
T18_BODY = vector("T18").lstrip(b"\xfe")
WAKE = b"\xfe\xfe\xfe\xfe"


def frames_of(events: Sequence[object]) -> list[bytes]:
    return [e for e in events if isinstance(e, bytes)]


def feed_all(s: Scanner, chunks: list[bytes]) -> list[object]:
    out: list[object] = []
    for chunk in chunks:
        out += s.feed(chunk)
    return out


STREAM = WAKE + T12 + T13 + b"\xfe\xfe" + T17 + vector("T18") + T19


@pytest.mark.parametrize(("how", "chunks"), list(splits(STREAM)))
def test_frames_any_split_with_preambles(how: str, chunks: list[bytes]) -> None:
    s = scanner()
    events = feed_all(s, chunks)
    assert events == [T12, T13, T17, T18_BODY, T19], how
    assert s.pending == 0
    assert s.discarded_bytes == 0
    assert sum(isinstance(e, bytes) for e in events) == 5


@pytest.mark.parametrize(
    ("how", "chunks"), list(splits(GARBAGE + T13 + GARBAGE + WAKE + T17 + GARBAGE))
)
def test_frames_between_garbage(how: str, chunks: list[bytes]) -> None:
    s = scanner()
    events = feed_all(s, chunks)
    assert frames_of(events) == [T13, T17], how
    discards = [e for e in events if isinstance(e, Discarded)]
    assert discards
    assert all(e.reason for e in discards)
    for frame in frames_of(events):
        decode_frame(frame)


def test_bad_checksum_frame_is_discarded_with_its_reason() -> None:
    s = scanner()
    events = s.feed(vector("T16") + T12)
    assert events[-1] == T12
    assert isinstance(events[0], Discarded)
    assert events[0].reason == "bad_checksum"


def test_impossible_header_is_rejected_at_byte_7() -> None:
    framer = Dlt645Framer()
    assert framer.probe(T12[:7], 0, 7) == 0  # not decidable yet
    with pytest.raises(BadDelimiter):
        framer.probe(T12[:7] + b"\x00", 0, 8)
    assert framer.probe(T12[:9], 0, 9) == 0
    assert framer.probe(T12, 0, len(T12)) == len(T12)


def test_a_frame_behind_a_false_start_is_found() -> None:
    # 68 at offset 0 and 7 with a length that swallows the real frame.
    fake = bytes.fromhex("68 11 22 33 44 55 66 68 91 20")
    for how, chunks in splits(fake + T13):
        s = scanner()
        events = feed_all(s, chunks)
        assert frames_of(events) == [T13], how


def test_incomplete_frame_is_bounded_and_flushable() -> None:
    s = scanner()
    assert s.feed(T13[:12]) == []
    assert s.pending == 12
    assert s.flush("timeout") == Discarded("timeout", T13[:12])
    assert Dlt645Framer().max_frame == 12 + 255


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(0, 400))
def test_garbage_never_breaks_the_scanner(data: bytes, cut: int) -> None:
    s = scanner()
    events = s.feed(data[:cut]) + s.feed(data[cut:] + T12)
    assert T12 in frames_of(events)
    assert s.pending <= Dlt645Framer().max_frame
