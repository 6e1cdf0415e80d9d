"""Q/CSG 1209022-2019 (China Southern Grid) master station ↔ terminal uplink protocol.

Link envelope only so far (PROTOCOLS.md §3); the DI catalogue comes later.
"""

from protocols.csg.frame import (
    ALL_POINTS,
    Afn,
    Frame,
    Tp,
    da_of,
    decode_frame,
    encode_frame,
    pns_of,
)
from protocols.csg.scanner import CsgFramer

__all__ = [
    "ALL_POINTS",
    "Afn",
    "CsgFramer",
    "Frame",
    "Tp",
    "da_of",
    "decode_frame",
    "encode_frame",
    "pns_of",
]
