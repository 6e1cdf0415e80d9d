"""Q/GDW 1376.1-2013 (and 376.1-2009) master station ↔ terminal protocol."""

from protocols.gdw1376 import units as _units  # registers the catalogue
from protocols.gdw1376.frame import (
    ALL_POINTS,
    STANDARD,
    DataUnit,
    Dialect,
    Frame,
    Tp,
    decode_frame,
    encode_frame,
)
from protocols.gdw1376.registry import AFN, Dir

__all__ = [
    "AFN",
    "ALL_POINTS",
    "STANDARD",
    "DataUnit",
    "Dialect",
    "Dir",
    "Frame",
    "Tp",
    "decode_frame",
    "encode_frame",
]
del _units
