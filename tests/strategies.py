"""Hypothesis strategies derived from the wire layouts, so every registered data
unit gets a build -> parse identity test without hand-written generators."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from typing import Any

from hypothesis import strategies as st

from protocols.gdw1376.fields import BYTES, TO_END, Spec, field_specs, is_record
from protocols.gdw1376.formats import (
    DayHour,
    DayTime,
    Format,
    GeoAngle,
    MonthTime,
    YearMonth,
)

_DATETIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)
)


def _a2_values() -> st.SearchStrategy[float]:
    def build(m: int, exp: int, neg: bool) -> float:
        v = float(m * 10**exp) if exp >= 0 else m / 10**-exp
        return -v if neg and v else v

    return st.builds(build, st.integers(0, 999), st.integers(-3, 4), st.booleans())


def format_values(fmt: Format) -> st.SearchStrategy[Any]:
    """Values a format can carry, absent (None) included where the format allows it."""
    kind = fmt.kind
    base: st.SearchStrategy[Any]
    if kind == "number":
        # A signed format's top digit has three bits (0..7) beside the sign.
        top = (8 * 10 ** (fmt.digits - 1) if fmt.signed else 10**fmt.digits) - 1
        ints = st.integers(-top if fmt.signed else 0, top)
        base = ints.map(lambda n: n / 10**fmt.scale) if fmt.scale else ints
    elif kind == "a2":
        base = _a2_values()
    elif kind == "a3":
        base = st.one_of(
            st.integers(-9_999_999, 9_999_999),
            st.integers(-9_999_999, 9_999_999)
            .filter(lambda n: abs(n) > 9999)
            .map(lambda n: n * 1000),
        )
    elif kind == "datetime":
        base = _DATETIMES.map(lambda d: d.replace(microsecond=0))
    elif kind == "datetime_min":
        base = _DATETIMES.map(lambda d: d.replace(second=0, microsecond=0))
    elif kind == "date":
        base = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
    elif kind == "yearmonth":
        base = st.builds(YearMonth, st.integers(2000, 2099), st.integers(1, 12))
    elif kind == "daytime":
        base = st.builds(
            DayTime,
            st.integers(1, 31),
            st.integers(0, 23),
            st.integers(0, 59),
            st.integers(0, 59),
        )
    elif kind == "daytime_min":
        base = st.tuples(  # no seconds in A.18
            st.integers(1, 31), st.integers(0, 23), st.integers(0, 59)
        ).map(lambda t: DayTime(*t))
    elif kind == "monthtime":
        base = st.builds(
            MonthTime,
            st.integers(1, 12),
            st.integers(1, 31),
            st.integers(0, 23),
            st.integers(0, 59),
        )
    elif kind == "time":
        base = st.builds(time, st.integers(0, 23), st.integers(0, 59))
    elif kind == "dayhour":
        base = st.builds(DayHour, st.integers(1, 31), st.integers(0, 23))
    elif kind == "geo":
        base = st.builds(
            GeoAngle,
            st.integers(0, 180),
            st.integers(0, 59),
            st.integers(0, 5999).map(lambda c: c / 100),
            st.booleans(),
        )
    elif kind == "address":
        base = st.text("0123456789", min_size=12, max_size=12)
    elif kind == "bin":
        return st.integers(0, 2 ** (8 * fmt.size) - 1)
    elif kind == "ascii":
        return st.text(
            st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=fmt.size
        )
    elif kind == "bytes":
        return st.binary(min_size=fmt.size, max_size=fmt.size)
    elif kind == "ipv4":
        return st.lists(st.integers(0, 255), min_size=4, max_size=4).map(
            lambda p: ".".join(map(str, p))
        )
    else:  # pragma: no cover - a new kind must get a strategy here
        raise AssertionError(f"no strategy for format kind {kind!r}")
    return st.one_of(st.none(), base)


@st.composite
def layout_values(draw: st.DrawFn, cls: type, max_items: int = 6) -> Any:
    """An instance of a spec'd dataclass whose count/length fields agree."""
    specs = field_specs(cls)
    # Count/length fields and the fields whose size they determine (one count
    # field may size several lists, e.g. tariff count M in AFN0C F33).
    linked: dict[str, list[tuple[str, Spec]]] = {}
    for name, s in specs:
        src = s.length if s.length is not None else s.count
        if isinstance(src, str) and src != TO_END:
            linked.setdefault(src, []).append((name, s))
    values: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    for name, s in specs:
        if name in linked:
            n = draw(st.integers(0, max_items))
            for dep_name, dep in linked[name]:
                sizes[dep_name] = n + dep.plus if dep.length is None else n
            values[name] = n
            continue
        values[name] = draw(_field_values(s, sizes.get(name), max_items))
    return cls(**values)


def _field_values(s: Spec, size: int | None, max_items: int) -> st.SearchStrategy[Any]:
    fmt = s.fmt
    if s.bits is not None:
        hi, lo = s.bits
        return st.integers(0, (1 << (hi - lo + 1)) - 1)
    if s.length is not None:
        assert size is not None
        return st.binary(min_size=size, max_size=size)
    one: st.SearchStrategy[Any]
    if is_record(fmt):
        assert isinstance(fmt, type)
        one = layout_values(fmt, max_items=max(1, max_items // 2))
    else:
        assert isinstance(fmt, Format)
        assert fmt is not BYTES
        one = format_values(fmt)
    if s.count is None:
        return st.one_of(st.none(), one) if s.optional else one
    if s.count == TO_END:
        return st.lists(one, max_size=max_items)
    n = s.count if isinstance(s.count, int) else size
    assert n is not None
    return st.lists(one, min_size=n, max_size=n)


def is_layout(cls: object) -> bool:
    return isinstance(cls, type) and dataclasses.is_dataclass(cls)
