"""Protocol detection: which protocol does a frame or a stream speak.

One listening port serves several protocols; the first valid frame decides
(ARCHITECTURE.md). :func:`detecting_scanner` does that for a stream.
:func:`decode_any` does it for one complete frame, and when no decoder accepts the
frame it still names the protocol whose envelope matched best, so a frame with a
bad checksum is reported as "a 645 frame with a bad checksum", not as noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from protocols import csg, dlt645, dlt698, gdw1376
from protocols.csg.scanner import CsgFramer
from protocols.dlt645.scanner import Dlt645Framer
from protocols.dlt698.scanner import Dlt698Framer
from protocols.errors import (
    BadChecksum,
    BadLength,
    ProtocolError,
    Truncated,
)
from protocols.gdw1376.scanner import Gdw1376Framer
from protocols.scanner import PREAMBLE, DetectingScanner

#: Tried in this order; 1376.1 first as the most common, 645 last as the loosest.
ORDER: Final = ("gdw1376", "csg", "dlt698", "dlt645")

_DECODERS: Final[dict[str, Callable[[bytes], Any]]] = {
    "gdw1376": gdw1376.decode_frame,
    "csg": csg.decode_frame,
    "dlt698": dlt698.decode_frame,
    "dlt645": dlt645.decode_frame,
}


def detecting_scanner() -> DetectingScanner:
    """A stream scanner that locks onto the protocol of the first valid frame."""
    return DetectingScanner(
        [Gdw1376Framer(), CsgFramer(), Dlt698Framer(), Dlt645Framer()]
    )


@dataclass(frozen=True, slots=True)
class Decoded:
    """The outcome of decoding one frame of unknown protocol."""

    protocol: str | None  # None: no protocol's envelope matched at all
    frame: Any  # the protocol's Frame, or None
    error: ProtocolError | None


# How far into a frame a decoder got before it failed: deeper means "this is mine".
_DEPTH: Final[dict[type[ProtocolError], int]] = {
    BadChecksum: 3,
    Truncated: 2,
    BadLength: 1,
}


def decode_any(data: bytes) -> Decoded:
    """Decode a frame with the first protocol that accepts it (see module doc)."""
    body = data.lstrip(bytes((PREAMBLE,)))
    best: tuple[int, str, ProtocolError] | None = None
    for name in ORDER:
        try:
            frame = _DECODERS[name](data if name == "dlt645" else body)
        except ProtocolError as exc:
            depth = max((d for t, d in _DEPTH.items() if isinstance(exc, t)), default=0)
            if best is None or depth > best[0]:
                best = (depth, name, exc)
            continue
        return Decoded(name, frame, None)
    if best is None:  # pragma: no cover - ORDER is never empty
        return Decoded(None, None, ProtocolError("no decoder"))
    depth, name, error = best
    return Decoded(name if depth else None, None, error)
