"""Frame presentation for ``headend decode``: JSON objects and an analyzer-style tree.

The tree is drawn from the same dictionary the JSON output prints, so the two can
never disagree.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from rich.text import Text
from rich.tree import Tree

from protocols import csg, dlt645, dlt698
from protocols.detect import Decoded, decode_any
from protocols.errors import ProtocolError
from protocols.gdw1376 import Frame as GdwFrame
from protocols.gdw1376.formats import YearMonth
from protocols.gdw1376.frame import FUNC_NAMES
from protocols.gdw1376.registry import AFN_NAMES, unit_name


def jsonable(obj: Any) -> Any:
    """Turn decoded values into JSON-ready data (numbers stay numbers)."""
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj  # IntEnum values are ints and print as such
    if isinstance(obj, datetime | date | time):
        return obj.isoformat()
    if isinstance(obj, bytes | bytearray | memoryview):
        return bytes(obj).hex(" ").upper()
    if isinstance(obj, YearMonth | dlt698.DateTime):
        return str(obj)
    if isinstance(obj, ProtocolError):
        return f"{obj.reason}: {obj}"
    if isinstance(obj, dlt645.Frame):
        return dlt645_json(obj)
    if isinstance(obj, Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        embedded = getattr(obj, "embedded", None)
        if callable(embedded):
            out.update({k: jsonable(v) for k, v in embedded().items()})
        return out
    if isinstance(obj, tuple) and hasattr(obj, "_asdict"):  # NamedTuple values
        return {k: jsonable(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(x) for x in obj]
    return str(obj)


def _bit(flag: bool) -> int:
    return 1 if flag else 0


def gdw1376_json(f: GdwFrame) -> dict[str, Any]:
    errors = f.errors
    return {
        "protocol": "gdw1376",
        "ok": not errors,
        "error": jsonable(errors[0]) if errors else None,
        "length": len(f.raw),
        "control": {
            "dir": _bit(f.up),
            "prm": _bit(f.prm),
            "acd": _bit(f.acd) if f.up else None,
            "fcb": None if f.up else _bit(f.fcb),
            "fcv": None if f.up else _bit(f.fcv),
            "func": f.func,
            "func_name": FUNC_NAMES.get((_bit(f.prm), f.func), "reserved"),
        },
        "address": {"a1": f.a1, "a2": f.a2, "msa": f.msa, "group": f.group},
        "afn": f.afn,
        "afn_name": AFN_NAMES.get(f.afn, "reserved"),
        "seq": {
            "tpv": _bit(f.tpv),
            "fir": _bit(f.fir),
            "fin": _bit(f.fin),
            "con": _bit(f.con),
            "seq": f.pseq,
        },
        "units": [
            {
                "pn": u.pn,
                "fn": u.fn,
                "name": unit_name(f.afn, u.fn, f.dir),
                "data": jsonable(u.data),
                "error": jsonable(u.error),
                **({"raw": jsonable(u.raw)} if u.error is not None else {}),
            }
            for u in f.units
        ],
        "aux": {
            "pw": jsonable(f.pw),
            "ec": list(f.ec) if f.ec is not None else None,
            "tp": jsonable(f.tp),
        },
    }


def dlt645_json(f: dlt645.Frame) -> dict[str, Any]:
    meaning = dlt645.interpret(f)
    return {
        "protocol": f"dlt645-{f.version.value}",
        "ok": True,
        "error": None,
        "address": f.address,
        "control": {
            "dir": _bit(f.up),
            "abnormal": _bit(f.abnormal),
            "follow": _bit(f.follow),
            "func": f.func,
        },
        "di": meaning.di,
        "di_name": meaning.name,
        "values": jsonable(meaning.values),
        "error_word": (
            {"raw": meaning.error_word.raw, "flags": meaning.error_word.names}
            if meaning.error_word is not None
            else None
        ),
        "data": jsonable(f.data),
    }


def csg_json(f: csg.Frame) -> dict[str, Any]:
    return {
        "protocol": "csg",
        "ok": True,
        "error": None,
        "control": {
            "dir": _bit(f.up),
            "prm": _bit(f.prm),
            "acd": _bit(f.acd) if f.up else None,
            "fcb": None if f.up else _bit(f.fcb),
            "fcv": None if f.up else _bit(f.fcv),
            "func": f.func,
        },
        "address": {"a1": f.a1, "a2": f.a2, "msa": f.msa},
        "afn": f.afn,
        "seq": {
            "tpv": _bit(f.tpv),
            "fir": _bit(f.fir),
            "fin": _bit(f.fin),
            "con": _bit(f.con),
            "seq": f.pseq,
        },
        "da": f.da,
        "pn": list(f.pns) if f.da is not None else None,
        "di": f.di_text,
        "task": f.task,
        "units_raw": jsonable(f.units_raw),
        "aux": {"pw": jsonable(f.pw), "tp": jsonable(f.tp)},
    }


def dlt698_json(f: dlt698.Frame) -> dict[str, Any]:
    return {
        "protocol": "dlt698",
        "ok": True,
        "error": None,
        "control": {
            "dir": _bit(f.up),
            "prm": _bit(f.prm),
            "fragmented": _bit(f.fragmented),
            "scrambled": _bit(f.scrambled),
            "func": f.func,
        },
        "address": {
            "sa": f.address,
            "type": f.address_type.name.lower(),
            "logical": f.logical_address,
            "ca": f.ca,
        },
        "apdu_tag": f.tag,
        "link_request": jsonable(f.link_request),
        "apdu": jsonable(f.apdu),
    }


def to_json(decoded: Decoded, raw: bytes) -> dict[str, Any]:
    """The JSON object ``headend decode --json`` prints for one frame."""
    frame = decoded.frame
    if isinstance(frame, GdwFrame):
        return gdw1376_json(frame)
    if isinstance(frame, dlt645.Frame):
        out = dlt645_json(frame)
    elif isinstance(frame, csg.Frame):
        out = csg_json(frame)
    elif isinstance(frame, dlt698.Frame):
        out = dlt698_json(frame)
    else:
        protocol = decoded.protocol
        if protocol == "dlt645":
            protocol = "dlt645-2007"
        out = {"protocol": protocol, "ok": False, "error": jsonable(decoded.error)}
    out["length"] = len(raw)
    return out


def decode_hex(text: str) -> tuple[bytes, dict[str, Any]]:
    """Decode one frame given as hex (spaces allowed); ValueError if not hex."""
    raw = bytes.fromhex("".join(text.split()))
    return raw, to_json(decode_any(raw), raw)


def tree(obj: dict[str, Any], raw: bytes) -> Tree:
    """A protocol-analyzer style tree of one decoded frame."""
    status = "[green]ok[/]" if obj.get("ok") else f"[red]{obj.get('error')}[/]"
    root = Tree(
        f"[bold]{obj.get('protocol') or 'unknown'}[/] frame, {len(raw)} bytes: {status}"
    )
    root.add(Text(raw.hex(" ").upper(), style="dim", overflow="fold"))
    for key, value in obj.items():
        if key in ("protocol", "ok", "error", "length"):
            continue
        _branch(root, key, value)
    return root


def _branch(parent: Tree, key: str, value: Any) -> None:
    if isinstance(value, dict) and all(
        not isinstance(v, dict | list) for v in value.values()
    ):
        # A record of plain values reads best on one line, as analyzers show it.
        shown = " ".join(f"{k}={v}" for k, v in value.items() if v is not None)
        parent.add(f"[cyan]{key}[/]: {shown}")
    elif isinstance(value, dict):
        node = parent.add(f"[cyan]{key}[/]")
        for k, v in value.items():
            _branch(node, k, v)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        node = parent.add(f"[cyan]{key}[/] ({len(value)})")
        for i, item in enumerate(value):
            label = _unit_label(item) or f"[{i}]"
            child = node.add(label)
            for k, v in item.items():
                if k not in ("pn", "fn", "name"):
                    _branch(child, k, v)
    elif value is not None:
        parent.add(f"[cyan]{key}[/]: {value}")


def _unit_label(item: dict[str, Any]) -> str | None:
    if "pn" in item and "fn" in item:
        return f"[bold]p{item['pn']} F{item['fn']}[/] {item.get('name') or '(unknown)'}"
    return None
