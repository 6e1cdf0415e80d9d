"""Hypothesis strategies for DL/T 645 frames and data-item values, derived from each
codec's own description (kind, size, scale, limit) so that every DI gets a
build -> parse identity test without a hand-written generator."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from hypothesis import strategies as st

from protocols.dlt645 import Codec, Demand, Frame, StatusWord

_DATETIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(microsecond=0))

addresses = st.text("0123456789A", min_size=12, max_size=12)
frames = st.builds(
    Frame,
    addresses,
    st.integers(0, 255),
    st.binary(max_size=255),
)


def _number(c: Codec) -> st.SearchStrategy[Any]:
    ints = st.integers(-c.limit if c.signed else 0, c.limit)
    return ints.map(lambda n: n / 10**c.scale) if c.scale else ints


def _status(c: Codec) -> st.SearchStrategy[StatusWord]:
    def build(raw: int) -> StatusWord:
        bits = {n: (raw >> lo) & ((1 << (hi - lo + 1)) - 1) for n, hi, lo in c.bits}
        return StatusWord(raw, bits)

    return st.integers(0, c.limit).map(build)


def codec_values(c: Codec) -> st.SearchStrategy[Any]:
    """Values ``c`` can carry."""
    if c.block:
        assert c.element is not None
        return st.lists(codec_values(c.element), min_size=1, max_size=8)
    kind = c.kind
    if kind == "number":
        return _number(c)
    if kind == "date":
        return st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
    if kind == "time":
        return st.builds(
            time, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)
        )
    if kind == "datetime":
        return _DATETIMES
    if kind == "datetime_min":
        return _DATETIMES.map(lambda d: d.replace(second=0))
    if kind == "demand":
        value = st.integers(-799999, 799999).map(lambda n: n / 10**4)
        return st.builds(Demand, value, _DATETIMES.map(lambda d: d.replace(second=0)))
    if kind == "digits":
        return st.text("0123456789A", min_size=c.limit, max_size=c.limit)
    if kind == "ascii":
        printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
        inner = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
        return st.one_of(
            st.just(""),
            st.builds(
                lambda a, m, z: a + m + z if c.limit > 1 else a,
                printable,
                st.text(inner, max_size=max(c.limit - 2, 0)),
                printable,
            ),
        )
    if kind == "status":
        return _status(c)
    raise AssertionError(f"no strategy for codec kind {kind!r}")
