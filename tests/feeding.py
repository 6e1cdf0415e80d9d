"""Feed a byte stream four ways (STYLE T4): whole, in halves, byte by byte, and
wrapped in garbage that contains start bytes and broken headers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

# Garbage with 0x68 start bytes, a plausible-but-wrong header and FE preambles.
GARBAGE = bytes.fromhex("00 68 FF 68 32 00 33 00 68 16 FE 12 68")


def splits(data: bytes) -> Iterator[tuple[str, list[bytes]]]:
    yield "whole", [data]
    half = len(data) // 2
    yield "halves", [data[:half], data[half:]]
    yield "bytes", [data[i : i + 1] for i in range(len(data))]


def feed_all(
    feed: Callable[[bytes], Sequence[object]], chunks: list[bytes]
) -> list[object]:
    out: list[object] = []
    for chunk in chunks:
        out += feed(chunk)
    return out
