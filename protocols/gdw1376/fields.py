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
    """Signature of a compiled layout decoder."""

    def __call__(
        self, buf: Buffer, off: int, end: int
    ) -> tuple[Any, int, list[str]]: ...


@dataclass(frozen=True, slots=True)
class Layout:
    """A compiled data-unit layout.

    ``decode(buf, off, end)`` returns the object, the offset after it and notes on
    fields whose content was invalid (they decode to None); it raises Truncated
    when the unit does not fit before ``end``. ``encode(obj)`` returns the bytes and
    raises LocalProtocolError when the object cannot be expressed.
    """

    cls: type
    names: tuple[str, ...]
    decode: Decoder
    encode: Callable[[Any], bytes]
    #: Size in bytes when every field is fixed, else None.
    fixed_size: int | None
    #: The generated source, for debugging and for the curious.
    source: str


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


# --- runtime helpers the generated code calls -----------------------------------------


def _truncated(name: str, need: int, off: int, end: int) -> Truncated:
    return Truncated(f"{name}: needs {need} bytes, {max(end - off, 0)} left")


def _count(name: str, value: object, plus: int) -> int:
    if not isinstance(value, int):
        raise BadValue(f"{name}: count is {value!r}")
    return value + plus


def _safe_list(
    dec: Callable[[Buffer, int], Any], buf: Buffer, lo: int, hi: int, size: int,
    errs: list[str], name: str,
) -> list[Any]:  # fmt: skip
    """Decode a list value by value, keeping the good ones (the slow path)."""
    out = []
    for o in range(lo, hi, size):
        try:
            out.append(dec(buf, o))
        except BadValue as exc:
            errs.append(f"{name}: {exc}")
            out.append(None)
    return out


def _sub_errors(name: str, errs: list[str], sub: list[str]) -> None:
    errs.extend(f"{name}.{e}" for e in sub)


def _check_len(name: str, n: int, want: object) -> None:
    if n != want:
        raise LocalProtocolError(f"{name}: {n} items but the layout says {want}")


def _check_bits(name: str, value: int, mask: int) -> int:
    if not 0 <= value <= mask:
        raise LocalProtocolError(
            f"{name}: {value} does not fit {mask.bit_length()} bits"
        )
    return value


# --- the compiler --------------------------------------------------------------------


class _Source:
    """Accumulates the generated decoder and encoder of one layout."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.ns: dict[str, Any] = {
            "cls": cls,
            "BadValue": BadValue,
            "_truncated": _truncated,
            "_count": _count,
            "_safe_list": _safe_list,
            "_sub_errors": _sub_errors,
            "_check_len": _check_len,
            "_check_bits": _check_bits,
        }
        self.dec = ["def decode(buf, off, end):", "    errs = []"]
        self.enc = ["def encode(obj):", "    out = []"]
        self.var: dict[str, str] = {}  # field name -> local variable in decode

    def bind(self, prefix: str, obj: object) -> str:
        name = f"{prefix}{len(self.ns)}"
        self.ns[name] = obj
        return name


def _count_expr(src: _Source, owner: str, name: str, s: Spec) -> str | None:
    """Python expression of a list's length in the decoder, or None for TO_END."""
    if s.count is None or s.count == TO_END:
        return None
    if isinstance(s.count, int):
        return str(s.count)
    if s.count not in src.var:
        raise LocalProtocolError(
            f"{owner}.{name}: count field {s.count!r} must come first"
        )
    return f"_count({name!r}, {src.var[s.count]}, {s.plus})"


def _emit_value(src: _Source, name: str, v: str, fmt: Format, ind: str) -> None:
    dec = src.bind("d", fmt.decode)
    size = fmt.size
    src.dec += [
        f"{ind}if off + {size} > end: raise _truncated({name!r}, {size}, off, end)",
        f"{ind}try:",
        f"{ind}    {v} = {dec}(buf, off)",
        f"{ind}except BadValue as exc:",
        f"{ind}    {v} = None",
        f"{ind}    errs.append({name + ': '!r} + str(exc))",
        f"{ind}off += {size}",
    ]


def _emit_list(src: _Source, name: str, v: str, fmt: Format, count: str | None,
               ind: str) -> None:  # fmt: skip
    dec = src.bind("d", fmt.decode)
    size = fmt.size
    if count is None:  # to the end of the unit area
        src.dec += [
            f"{ind}if (end - off) % {size}:",
            f"{ind}    k = end - (end - off) % {size}",
            f"{ind}    raise _truncated({name!r}, {size}, k, end)",
            f"{ind}nxt = end",
        ]
    else:
        src.dec += [
            f"{ind}n = {count}",
            f"{ind}nxt = off + n * {size}",
            f"{ind}if n < 0 or nxt > end:",
            f"{ind}    raise _truncated({name!r}, n * {size}, off, end)",
        ]
    if fmt.decode_many is not None:
        many = src.bind("m", fmt.decode_many)
        fast = f"{many}(buf, off, (nxt - off) // {size})"
    else:
        fast = f"[{dec}(buf, o) for o in range(off, nxt, {size})]"
    src.dec += [
        f"{ind}try:",
        f"{ind}    {v} = {fast}",
        f"{ind}except BadValue:",
        f"{ind}    {v} = _safe_list({dec}, buf, off, nxt, {size}, errs, {name!r})",
        f"{ind}off = nxt",
    ]


def _emit_record(src: _Source, name: str, v: str, sub: Layout, count: str | None,
                 repeated: bool, ind: str) -> None:  # fmt: skip
    dec = src.bind("r", sub.decode)
    one = [
        f"{ind}    x, off, e = {dec}(buf, off, end)",
        f"{ind}    if e: _sub_errors({name!r}, errs, e)",
    ]
    if not repeated:
        src.dec += [line.replace(f"{ind}    ", ind, 1) for line in one]
        src.dec.append(f"{ind}{v} = x")
        return
    src.dec.append(f"{ind}{v} = []")
    if count is None:
        src.dec.append(f"{ind}while off < end:")
    else:
        src.dec += [
            f"{ind}n = {count}",
            f"{ind}if n < 0: raise BadValue({name + ': negative count'!r})",
        ]
        if sub.fixed_size is not None:
            src.dec.append(
                f"{ind}if off + n * {sub.fixed_size} > end: "
                f"raise _truncated({name!r}, n * {sub.fixed_size}, off, end)"
            )
        src.dec.append(f"{ind}for _ in range(n):")
    src.dec += [*one, f"{ind}    {v}.append(x)"]


def _emit_encoder(src: _Source, name: str, s: Spec, fmt: Format | None,
                  sub: Layout | None) -> None:  # fmt: skip
    enc = src.bind("e", sub.encode if sub is not None else fmt.encode)  # type: ignore[union-attr]
    if s.length is not None:
        src.enc += [
            f"    v = obj.{name}",
            f"    _check_len({name!r}, len(v), obj.{s.length})",
            "    out.append(bytes(v))",
        ]
    elif s.count is not None:
        src.enc.append(f"    v = obj.{name}")
        if isinstance(s.count, int):
            src.enc.append(f"    _check_len({name!r}, len(v), {s.count})")
        elif s.count != TO_END:
            src.enc.append(
                f"    _check_len({name!r}, len(v), obj.{s.count} + {s.plus})"
            )
        src.enc.append(f"    out.extend([{enc}(x) for x in v])")
    elif s.optional:
        src.enc += [
            f"    v = obj.{name}",
            f"    if v is not None: out.append({enc}(v))",
        ]
    else:
        src.enc.append(f"    out.append({enc}(obj.{name}))")


def _emit_bits(src: _Source, fmt: Format, group: list[tuple[str, int, int]]) -> None:
    dec = src.bind("d", fmt.decode)
    enc = src.bind("e", fmt.encode)
    size = fmt.size
    label = "/".join(n for n, _, _ in group)
    src.dec += [
        f"    if off + {size} > end: raise _truncated({label!r}, {size}, off, end)",
        f"    w = {dec}(buf, off)",
        f"    off += {size}",
    ]
    parts = []
    for gname, hi, lo in group:
        mask = (1 << (hi - lo + 1)) - 1
        v = f"v{len(src.var)}"
        src.var[gname] = v
        src.dec.append(f"    {v} = (w >> {lo}) & {mask}")
        parts.append(f"_check_bits({gname!r}, obj.{gname}, {mask}) << {lo}")
    src.enc.append(f"    out.append({enc}({' | '.join(parts)}))")


def _compile(cls: type) -> Layout:
    specs = field_specs(cls)
    owner = cls.__name__
    src = _Source(cls)
    fixed: int | None = 0
    i = 0
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
                i += 1
            _emit_bits(src, fmt, group)
            if fixed is not None:
                fixed += fmt.size
            continue

        v = f"v{len(src.var)}"
        sub = layout_of(s.fmt) if isinstance(s.fmt, type) and is_record(s.fmt) else None
        vfmt = s.fmt if isinstance(s.fmt, Format) else None
        if sub is None and vfmt is None:
            raise LocalProtocolError(f"{owner}.{name}: {s.fmt!r} is no format")
        count = _count_expr(src, owner, name, s)
        ind = "    "
        if s.optional:
            src.dec += ["    if off >= end:", f"        {v} = None", "    else:"]
            ind = "        "
            fixed = None
        if s.length is not None:
            if s.length not in src.var:
                raise LocalProtocolError(
                    f"{owner}.{name}: length field must come first"
                )
            src.dec += [
                f"{ind}n = _count({name!r}, {src.var[s.length]}, 0)",
                f"{ind}nxt = off + n",
                f"{ind}if nxt > end: raise _truncated({name!r}, n, off, end)",
                f"{ind}{v} = bytes(buf[off:nxt])",
                f"{ind}off = nxt",
            ]
            fixed = None
        elif sub is not None:
            _emit_record(src, name, v, sub, count, s.count is not None, ind)
            if s.count is None and sub.fixed_size is not None and fixed is not None:
                fixed += sub.fixed_size
            elif (
                isinstance(s.count, int)
                and sub.fixed_size is not None
                and fixed is not None
            ):
                fixed += s.count * sub.fixed_size
            else:
                fixed = None
        elif vfmt is None:  # pragma: no cover - excluded above
            raise LocalProtocolError(f"{owner}.{name}: no format")
        elif s.count is not None:
            _emit_list(src, name, v, vfmt, count, ind)
            if isinstance(s.count, int) and fixed is not None:
                fixed += s.count * vfmt.size
            else:
                fixed = None
        else:
            _emit_value(src, name, v, vfmt, ind)
            if fixed is not None:
                fixed += vfmt.size
        src.var[name] = v
        _emit_encoder(src, name, s, vfmt, sub)
        i += 1

    names = tuple(name for name, _ in specs)
    args = ", ".join(src.var[n] for n in names)
    src.dec.append(f"    return cls({args}), off, errs")
    src.enc.append('    return b"".join(out)')
    text = "\n".join(src.dec) + "\n\n" + "\n".join(src.enc) + "\n"
    exec(compile(text, f"<layout {cls.__module__}.{cls.__qualname__}>", "exec"), src.ns)  # noqa: S102
    return Layout(cls, names, src.ns["decode"], src.ns["encode"], fixed, text)
