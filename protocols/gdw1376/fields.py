"""Declarative data-unit layouts: a dataclass whose fields name their wire format.

A data unit (数据单元) is declared the way the standard's tables are written, one row
per field::

    @dataclass(slots=True)
    class DailyForwardActive:
        td: date = spec(A20)
        read_time: datetime | None = spec(A15)
        tariff_count: int = spec(BIN1)
        energy: list[float | None] = spec(A14, count="tariff_count", plus=1)

:func:`layout_of` compiles the field list once into a :class:`Layout` with a decoder
``(buf, offset, end) -> (object, offset)`` and an encoder ``object -> bytes``.

Why not construct: construct declarations (see ``grammar.py``) are the reference, but
even compiled they cost 5–6 µs for a one-point daily reading before any value
conversion, more than the whole frame budget (docs/benchmarks.md). These layouts keep
the table form and compile to a short list of closures over the appendix-A decoders.

Field kinds, by ``spec`` arguments:

* ``spec(FMT)``: one value of a :class:`~protocols.gdw1376.formats.Format`.
* ``spec(FMT, count=N | "field", plus=k)``: a list; its length is a constant or an
  earlier field's value plus ``k``.
* ``spec(FMT, count=TO_END)``: a list that runs to the end of the unit area (only for
  the last unit of a frame, as the standard's variable-length units are).
* ``spec(RecordClass, ...)``: a nested record (another spec'd dataclass), single or
  repeated like a format.
* ``spec(BYTES, length="field")``: raw bytes whose length an earlier field gives.
* ``spec(FMT, bits=(hi, lo))``: bits Dhi..Dlo of a binary field; consecutive bit
  fields of the same format share one wire field.
* ``optional=True``: the field may be missing at the end of the unit (value None),
  e.g. the 2013 heartbeat clock that 2009 terminals do not send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from protocols.errors import BadValue, LocalProtocolError, Truncated
from protocols.gdw1376.formats import Buffer, Format, bytes_format

TO_END: Final = "*"
#: Raw bytes with a length taken from an earlier field (``spec(BYTES, length=...)``).
BYTES: Final = bytes_format(0)


@dataclass(frozen=True, slots=True)
class Spec:
    """The wire description of one dataclass field."""

    fmt: Format | type
    count: int | str | None = None
    plus: int = 0
    length: str | None = None
    optional: bool = False
    bits: tuple[int, int] | None = None


def spec(
    fmt: Format | type,
    *,
    count: int | str | None = None,
    plus: int = 0,
    length: str | None = None,
    optional: bool = False,
    bits: tuple[int, int] | None = None,
) -> Any:
    """Declare a field's wire format (see the module docstring)."""
    return dataclasses.field(
        metadata={"spec": Spec(fmt, count, plus, length, optional, bits)}
    )


class Decoder(Protocol):
    """Signature of a layout decoder."""

    def __call__(self, buf: Buffer, off: int, end: int) -> tuple[Any, int]: ...


# A step decodes one wire field into ``vals`` (and appends messages for bad values
# to ``errs``); it returns the new offset.
_Step = Callable[[Buffer, int, int, list[Any], list[str]], int]
_Emit = Callable[[Any, bytearray], None]


@dataclass(frozen=True, slots=True)
class Layout:
    """A compiled data-unit layout."""

    cls: type
    names: tuple[str, ...]
    steps: tuple[_Step, ...]
    emitters: tuple[_Emit, ...]
    #: Size in bytes when every field is fixed, else None.
    fixed_size: int | None

    def decode(self, buf: Buffer, off: int, end: int) -> tuple[Any, int, list[str]]:
        """Decode one unit; returns the object, the new offset and bad-value notes."""
        vals: list[Any] = []
        errs: list[str] = []
        for step in self.steps:
            off = step(buf, off, end, vals, errs)
        return self.cls(*vals), off, errs

    def encode(self, obj: Any) -> bytes:
        out = bytearray()
        for emit in self.emitters:
            emit(obj, out)
        return bytes(out)


_LAYOUT_ATTR: Final = "__gdw1376_layout__"


def layout_of(cls: type) -> Layout:
    """Compile (once) and return the layout of a spec'd dataclass."""
    cached: Layout | None = cls.__dict__.get(_LAYOUT_ATTR)
    if cached is None:
        cached = _compile(cls)
        setattr(cls, _LAYOUT_ATTR, cached)
    return cached


def is_record(fmt: object) -> bool:
    return isinstance(fmt, type) and dataclasses.is_dataclass(fmt)


def field_specs(cls: type) -> list[tuple[str, Spec]]:
    """The (name, Spec) list of a spec'd dataclass, in wire order."""
    out = []
    for f in dataclasses.fields(cls):
        s = f.metadata.get("spec")
        if not isinstance(s, Spec):
            raise LocalProtocolError(f"{cls.__name__}.{f.name} has no spec()")
        out.append((f.name, s))
    return out


def _truncated(name: str, need: int, off: int, end: int) -> Truncated:
    return Truncated(f"{name}: needs {need} bytes, {max(end - off, 0)} left")


def _count_getter(
    names: list[str], count: int | str, plus: int, owner: str
) -> Callable[[list[Any]], int]:
    if isinstance(count, int):
        return lambda vals: count
    if count not in names:
        raise LocalProtocolError(f"{owner}: count field {count!r} must come first")
    idx = names.index(count)

    def get(vals: list[Any]) -> int:
        n = vals[idx]
        if not isinstance(n, int):
            raise BadValue(f"{owner}: count field {count!r} is {n!r}")
        return n + plus

    return get


def _value_step(name: str, fmt: Format) -> _Step:
    size = fmt.size
    dec = fmt.decode

    def step(buf: Buffer, off: int, end: int, vals: list[Any], errs: list[str]) -> int:
        nxt = off + size
        if nxt > end:
            raise _truncated(name, size, off, end)
        try:
            vals.append(dec(buf, off))
        except BadValue as exc:
            vals.append(None)
            errs.append(f"{name}: {exc}")
        return nxt

    return step


def _list_step(name: str, fmt: Format, count: Callable[[list[Any]], int]) -> _Step:
    size = fmt.size
    dec = fmt.decode

    def one(buf: Buffer, off: int, errs: list[str]) -> Any:
        try:
            return dec(buf, off)
        except BadValue as exc:
            errs.append(f"{name}: {exc}")
            return None

    def step(buf: Buffer, off: int, end: int, vals: list[Any], errs: list[str]) -> int:
        n = count(vals)
        nxt = off + n * size
        if n < 0 or nxt > end:
            raise _truncated(name, n * size, off, end)
        vals.append([one(buf, o, errs) for o in range(off, nxt, size)])
        return nxt

    return step


def _to_end_step(name: str, fmt: Format) -> _Step:
    size = fmt.size
    dec = fmt.decode

    def step(buf: Buffer, off: int, end: int, vals: list[Any], errs: list[str]) -> int:
        if (end - off) % size:
            raise _truncated(name, size, off + (end - off) // size * size, end)
        out = []
        for o in range(off, end, size):
            try:
                out.append(dec(buf, o))
            except BadValue as exc:
                errs.append(f"{name}: {exc}")
                out.append(None)
        vals.append(out)
        return end

    return step


def _record_step(name: str, sub: Layout, count: Callable[[list[Any]], int] | None,
                 to_end: bool) -> _Step:  # fmt: skip
    def one(buf: Buffer, off: int, end: int, errs: list[str]) -> tuple[Any, int]:
        obj, off, sub_errs = sub.decode(buf, off, end)
        errs.extend(f"{name}.{e}" for e in sub_errs)
        return obj, off

    def step(buf: Buffer, off: int, end: int, vals: list[Any], errs: list[str]) -> int:
        if count is None and not to_end:
            obj, off = one(buf, off, end, errs)
            vals.append(obj)
            return off
        out = []
        if to_end:
            while off < end:
                obj, off = one(buf, off, end, errs)
                out.append(obj)
        else:
            n = count(vals)  # type: ignore[misc]
            if n < 0:
                raise BadValue(f"{name}: negative count {n}")
            if sub.fixed_size is not None and off + n * sub.fixed_size > end:
                raise _truncated(name, n * sub.fixed_size, off, end)
            for _ in range(n):
                obj, off = one(buf, off, end, errs)
                out.append(obj)
        vals.append(out)
        return off

    return step


def _bytes_step(name: str, length: Callable[[list[Any]], int]) -> _Step:
    def step(buf: Buffer, off: int, end: int, vals: list[Any], errs: list[str]) -> int:
        n = length(vals)
        nxt = off + n
        if n < 0 or nxt > end:
            raise _truncated(name, n, off, end)
        vals.append(bytes(buf[off:nxt]))
        return nxt

    return step


def _optional(step: _Step) -> _Step:
    def opt(buf: Buffer, off: int, end: int, vals: list[Any], errs: list[str]) -> int:
        if off >= end:
            vals.append(None)
            return off
        return step(buf, off, end, vals, errs)

    return opt


def _bits_step(fmt: Format, group: list[tuple[str, int, int]]) -> _Step:
    size = fmt.size
    dec = fmt.decode
    extract = [(lo, (1 << (hi - lo + 1)) - 1) for _, hi, lo in group]
    label = "/".join(n for n, _, _ in group)

    def step(buf: Buffer, off: int, end: int, vals: list[Any], errs: list[str]) -> int:
        nxt = off + size
        if nxt > end:
            raise _truncated(label, size, off, end)
        word = dec(buf, off)
        vals.extend((word >> lo) & mask for lo, mask in extract)
        return nxt

    return step


def _bits_emit(fmt: Format, group: list[tuple[str, int, int]]) -> _Emit:
    parts = [(name, lo, (1 << (hi - lo + 1)) - 1) for name, hi, lo in group]

    def emit(obj: Any, out: bytearray) -> None:
        word = 0
        for name, lo, mask in parts:
            v = getattr(obj, name)
            if not 0 <= v <= mask:
                raise LocalProtocolError(
                    f"{name}: {v} does not fit {mask.bit_length()} bits"
                )
            word |= v << lo
        out += fmt.encode(word)

    return emit


def _emitter(name: str, s: Spec, names: list[str], sub: Layout | None) -> _Emit:
    fmt = s.fmt
    enc = sub.encode if sub is not None else fmt.encode  # type: ignore[union-attr]

    def check_count(obj: Any, n: int) -> None:
        if s.count == TO_END:
            return
        if isinstance(s.count, str):
            want = getattr(obj, s.count) + s.plus
            if want != n:
                raise LocalProtocolError(
                    f"{name}: {n} items but {s.count} + {s.plus} = {want}"
                )
        elif isinstance(s.count, int) and s.count != n:
            raise LocalProtocolError(f"{name}: {n} items, layout says {s.count}")

    if s.length is not None:
        length_field = s.length

        def emit_bytes(obj: Any, out: bytearray) -> None:
            v = getattr(obj, name)
            if len(v) != getattr(obj, length_field):
                raise LocalProtocolError(
                    f"{name}: {len(v)} bytes, {length_field} disagrees"
                )
            out += v

        return emit_bytes

    if s.count is not None:

        def emit_list(obj: Any, out: bytearray) -> None:
            items = getattr(obj, name)
            check_count(obj, len(items))
            for item in items:
                out += enc(item)

        return emit_list

    def emit_one(obj: Any, out: bytearray) -> None:
        v = getattr(obj, name)
        if v is None and s.optional:
            return
        out += enc(v)

    return emit_one


def _compile(cls: type) -> Layout:
    specs = field_specs(cls)
    names: list[str] = []
    steps: list[_Step] = []
    emitters: list[_Emit] = []
    fixed: int | None = 0
    i = 0
    owner = cls.__name__
    while i < len(specs):
        name, s = specs[i]
        if s.bits is not None:
            fmt = s.fmt
            if not isinstance(fmt, Format):
                raise LocalProtocolError(f"{owner}.{name}: bits need a binary format")
            group: list[tuple[str, int, int]] = []
            used = 0
            while i < len(specs):
                gname, gs = specs[i]
                if gs.bits is None or gs.fmt is not fmt:
                    break
                hi, lo = gs.bits
                mask = ((1 << (hi - lo + 1)) - 1) << lo
                if used & mask:
                    break
                used |= mask
                group.append((gname, hi, lo))
                names.append(gname)
                i += 1
            steps.append(_bits_step(fmt, group))
            emitters.append(_bits_emit(fmt, group))
            if fixed is not None:
                fixed += fmt.size
            continue

        sub = layout_of(s.fmt) if isinstance(s.fmt, type) and is_record(s.fmt) else None
        count = (
            _count_getter(names, s.count, s.plus, f"{owner}.{name}")
            if s.count is not None and s.count != TO_END
            else None
        )
        step: _Step
        if s.length is not None:
            step = _bytes_step(name, _count_getter(names, s.length, 0, owner))
            fixed = None
        elif sub is not None:
            step = _record_step(name, sub, count, s.count == TO_END)
            if s.count is None and sub.fixed_size is not None and fixed is not None:
                fixed += sub.fixed_size
            elif not isinstance(s.count, int) or sub.fixed_size is None:
                fixed = None
            elif fixed is not None:
                fixed += s.count * sub.fixed_size
        else:
            if not isinstance(s.fmt, Format):
                raise LocalProtocolError(f"{owner}.{name}: {s.fmt!r} is no format")
            fmt = s.fmt
            if s.count == TO_END:
                step = _to_end_step(name, fmt)
                fixed = None
            elif count is not None:
                step = _list_step(name, fmt, count)
                if isinstance(s.count, int) and fixed is not None:
                    fixed += s.count * fmt.size
                else:
                    fixed = None
            else:
                step = _value_step(name, fmt)
                if fixed is not None:
                    fixed += fmt.size
        if s.optional:
            step = _optional(step)
            fixed = None
        names.append(name)
        steps.append(step)
        emitters.append(_emitter(name, s, names, sub))
        i += 1
    return Layout(cls, tuple(names), tuple(steps), tuple(emitters), fixed)
