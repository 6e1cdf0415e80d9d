"""CsgFramer through protocols.scanner, fed four ways (STYLE T4), and detection."""

from __future__ import annotations

import pytest

from protocols.csg import Afn, CsgFramer, Frame, encode_frame
from protocols.csg.frame import SINGLE
from protocols.dlt698.scanner import Dlt698Framer
from protocols.errors import BadChecksum, BadLength, FrameError
from protocols.gdw1376.frame import Dialect
from protocols.gdw1376.scanner import Gdw1376Framer
from protocols.scanner import DetectingScanner, Discarded, Event, Scanner
from tests.vectors import vector

T22 = vector("T22")
GDW1376 = [f"T{i:02d}" for i in range(1, 12)]
# 68s with plausible L behind them, a lone 16: garbage that has to be hunted through.
# The tail leaves "68 00" that could still start a frame.
PREFIX = bytes.fromhex("00 68 01 02 68 16 AA 68 CD 00 CD 00 67")
SUFFIX = bytes.fromhex("55 68 00")


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
def test_t22_four_ways(way: str) -> None:
    chunks = four_ways(T22)[way]
    scanner = Scanner(CsgFramer())
    events = feed(scanner, chunks)
    assert frames_of(events) == [T22]
    dropped = b"".join(ev.data for ev in events if isinstance(ev, Discarded))
    assert len(dropped) + len(T22) + scanner.pending == sum(map(len, chunks))
    if way == "garbage":
        assert dropped == PREFIX + SUFFIX[:1]
        assert scanner.pending == 2  # "68 00" may still start a frame
    else:
        assert dropped == b""
        assert scanner.pending == 0


def test_back_to_back_frames() -> None:
    confirm = encode_frame(Frame(0x0B, "FFFFFF", 0xFFFFFF, 0, Afn.CONFIRM, SINGLE,
                                 0, 0xE0000000, b"\x00"))  # fmt: skip
    stream = T22 + confirm + T22
    for way, chunks in four_ways(stream).items():
        events = feed(Scanner(CsgFramer()), chunks)
        assert frames_of(events) == [T22, confirm, T22], way


def test_channel_bound() -> None:
    """On GPRS (L <= 1024) a longer declared L is garbage, not a frame to wait for."""
    framer = CsgFramer(max_l=255)
    head = bytes.fromhex("68 00 01 00 01 68")
    with pytest.raises(BadLength):
        framer.probe(head, 0, len(head))
    assert framer.probe(T22, 0, len(T22)) == len(T22)


@pytest.mark.parametrize("way", ["whole", "halves", "bytes", "garbage"])
def test_detected_as_csg(way: str) -> None:
    det = DetectingScanner([Gdw1376Framer(), CsgFramer(), Dlt698Framer()])
    events = feed(det, four_ways(T22)[way])
    assert det.protocol == "csg"
    assert frames_of(events) == [T22]


@pytest.mark.parametrize("way", ["whole", "halves", "bytes", "garbage"])
@pytest.mark.parametrize("name", GDW1376)
def test_1376_still_detected_as_1376(name: str, way: str) -> None:
    data = vector(name)
    det = DetectingScanner([Gdw1376Framer(), CsgFramer(), Dlt698Framer()])
    events = feed(det, four_ways(data)[way])
    assert det.protocol == "gdw1376"
    assert frames_of(events) == [data]


def test_t22_is_not_1376() -> None:
    """T22's L = 00CD has D1D0 = 01: the 130-2005 id, not 376.1's 10."""
    with pytest.raises(FrameError):
        Gdw1376Framer().probe(T22, 0, len(T22))
    # Even a 1376.1 framer that accepts id 01 rejects it: L1 = 0xCD >> 2 = 51 puts the
    # CS at offset 57, where the byte is not the sum.
    lenient = Gdw1376Framer(Dialect(protocol_ids=frozenset({1, 2})))
    with pytest.raises(BadChecksum):
        lenient.probe(T22, 0, len(T22))


@pytest.mark.parametrize("name", GDW1376)
def test_1376_is_not_csg(name: str) -> None:
    """Read as CSG, a 1376.1 L = 4 * L1 + 2 declares a longer frame: the CSG framer
    waits, and its CS check fails once the bytes are there.
    """
    data = vector(name)
    framer = CsgFramer()
    assert framer.probe(data, 0, len(data)) == 0
    l1 = (data[1] | data[2] << 8) >> 2
    padded = data + bytes(3 * l1 + 2)  # now the CSG length (4 * L1 + 2 + 8) is there
    with pytest.raises(BadChecksum):
        framer.probe(padded, 0, len(padded))


def test_csg_frames_are_not_698() -> None:
    with pytest.raises(FrameError):
        Dlt698Framer().probe(T22, 0, len(T22))
