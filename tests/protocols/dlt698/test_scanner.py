"""Dlt698Framer through protocols.scanner, fed four ways (STYLE T4), and detection."""

from __future__ import annotations

import pytest

from protocols.csg.scanner import CsgFramer
from protocols.dlt698 import Dlt698Framer, Frame, encode_frame
from protocols.errors import BadChecksum, BadDelimiter, BadLength, FrameError
from protocols.gdw1376.scanner import Gdw1376Framer
from protocols.scanner import DetectingScanner, Discarded, Event, Scanner
from tests.vectors import vector

T20 = vector("T20")
T21 = vector("T21")
# Garbage with 68s that declare plausible lengths: "68 01 02" (L = 513) fails on HCS,
# "68 1E 00 81 05" (T20's own header) fails on HCS too. The tail "68 1E" could still
# start a frame and is kept.
PREFIX = bytes.fromhex("00 68 01 02 68 16 AA") + T20[:9] + bytes.fromhex("33")
SUFFIX = bytes.fromhex("55 68 1E")


def four_ways(data: bytes) -> dict[str, list[bytes]]:
    half = len(data) // 2
    return {
        "whole": [data],
        "halves": [data[:half], data[half:]],
        "bytes": [data[i : i + 1] for i in range(len(data))],
        "garbage": [PREFIX + data + SUFFIX],
    }


def feed(scanner: Scanner | DetectingScanner, chunks: list[bytes]) -> list[Event]:
    out: list[Event] = []
    for chunk in chunks:
        out += scanner.feed(chunk)
    return out


def frames_of(events: list[Event]) -> list[bytes]:
    return [ev for ev in events if isinstance(ev, bytes)]


@pytest.mark.parametrize("way", ["whole", "halves", "bytes", "garbage"])
@pytest.mark.parametrize("name", ["T20", "T21"])
def test_four_ways(name: str, way: str) -> None:
    data = vector(name)
    chunks = four_ways(data)[way]
    scanner = Scanner(Dlt698Framer())
    events = feed(scanner, chunks)
    assert frames_of(events) == [data]
    dropped = b"".join(ev.data for ev in events if isinstance(ev, Discarded))
    assert len(dropped) + len(data) + scanner.pending == sum(map(len, chunks))
    if way == "garbage":
        assert dropped == PREFIX + SUFFIX[:1]
        assert scanner.pending == 2
        assert scanner.flush() == Discarded("incomplete", SUFFIX[1:])
    else:
        assert (dropped, scanner.pending) == (b"", 0)


def test_back_to_back_and_preamble() -> None:
    """Several frames in one read, with FE wake-up bytes before one of them."""
    other = encode_frame(Frame(0x43, 0x05, bytes(6), 0x10, bytes.fromhex("05 01 00")))
    stream = T20 + b"\xfe\xfe\xfe\xfe" + T21 + other
    for way, chunks in four_ways(stream).items():
        events = feed(Scanner(Dlt698Framer()), chunks)
        assert frames_of(events) == [T20, T21, other], way


def test_header_rejected_before_the_body_arrives() -> None:
    """Garbage declaring a long L is rejected on HCS, not waited for."""
    framer = Dlt698Framer()
    bad = bytearray(T20[:14])
    bad[1] = 0xFF  # L = 0x00FF: 257-byte frame
    with pytest.raises(BadChecksum):
        framer.probe(bytes(bad), 0, len(bad))
    assert framer.probe(T20[:13], 0, 13) == 0  # HCS not complete yet: wait
    assert framer.probe(T20[:14], 0, 14) == 0  # header fine, body not there yet


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (bytes.fromhex("68 00 40"), BadLength),  # unit flag
        (bytes.fromhex("68 0A 00"), BadLength),  # too short for any frame
        (bytes.fromhex("68 0F 00 81 05"), BadLength),  # no room after a 6-byte SA
        (T20[:-1] + b"\x17", BadDelimiter),
        (T20[:-3] + b"\x00\x00\x16", BadChecksum),
    ],
)
def test_probe_errors(data: bytes, error: type[FrameError]) -> None:
    with pytest.raises(error):
        Dlt698Framer().probe(data, 0, len(data))


def test_max_l_bound() -> None:
    with pytest.raises(BadLength):
        Dlt698Framer(max_l=20).probe(T20, 0, len(T20))


@pytest.mark.parametrize("way", ["whole", "halves", "bytes", "garbage"])
@pytest.mark.parametrize("name", ["T20", "T21"])
def test_detected_as_698(name: str, way: str) -> None:
    data = vector(name)
    det = DetectingScanner([Gdw1376Framer(), CsgFramer(), Dlt698Framer()])
    events = feed(det, four_ways(data)[way])
    assert det.protocol == "dlt698"
    assert frames_of(events) == [data]


@pytest.mark.parametrize("name", ["T20", "T21"])
def test_698_is_not_1376_or_csg(name: str) -> None:
    data = vector(name)
    for framer in (Gdw1376Framer(), CsgFramer()):
        with pytest.raises(FrameError):
            framer.probe(data, 0, len(data))


@pytest.mark.parametrize("name", [*(f"T{i:02d}" for i in range(1, 12)), "T22"])
def test_1376_and_csg_are_not_698(name: str) -> None:
    data = vector(name)
    with pytest.raises(FrameError):
        Dlt698Framer().probe(data, 0, len(data))
