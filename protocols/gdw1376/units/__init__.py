"""The data-unit catalogue, one module per AFN (Std-2013 chapter 5).

Importing this package registers every unit in :mod:`protocols.gdw1376.registry`.
"""

from protocols.gdw1376.units import (
    afn0c,
    afn0d,
    afn0e,
    afn00,
    afn01,
    afn02,
    afn04,
    afn05,
    afn09,
    afn10,
)

__all__ = [
    "afn0c",
    "afn0d",
    "afn0e",
    "afn00",
    "afn01",
    "afn02",
    "afn04",
    "afn05",
    "afn09",
    "afn10",
]
