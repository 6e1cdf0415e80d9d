"""Codec benchmark (issue 2): decode and encode cost per frame type.

Three implementations parse the same bytes in the same run:

* ours: the stream scanner plus ``decode_checked`` (link, application layer and every
  data unit decoded to typed values; for AFN10 the embedded 645 frame as well);
* construct: the reference grammar (``protocols/gdw1376/grammar.py``), plain and
  compiled, parsing the same frames down to the same values;
* hand: a minimal hand-written ``struct`` parser of the link header (delimiters,
  lengths, CS, C/A/AFN/SEQ and the first DA/DT) - the floor for any link layer.

Run: ``make bench`` (or ``python -m benchmarks.codec --output docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.common import (
    paired_us,
    per_call_us,
    pin_to_one_core,
    stamp,
    write_section,
)
from protocols.gdw1376 import DataUnit, Frame, decode_frame, encode_frame, grammar
from protocols.gdw1376 import build as gbuild
from protocols.gdw1376.frame import HEADER_STRUCT, wire_frame
from protocols.gdw1376.scanner import FrameReader
from protocols.gdw1376.units.afn0d import DailyActiveReading
from tests.vectors import vector

_HDR = struct.Struct("<BHHB")
_LINK = struct.Struct("<BHHBBBHH")  # C A1 A2 A3 AFN SEQ DA DT


def hand_parse(buf: bytes) -> tuple[int, ...]:
    """The minimal link-layer parse every implementation must do."""
    start, l_a, l_b, start2 = _HDR.unpack_from(buf)
    n = (l_a >> 2) + 8
    if start != 0x68 or start2 != 0x68 or l_a != l_b or len(buf) != n:
        raise ValueError("bad header")
    if buf[-1] != 0x16 or sum(buf[6 : n - 2]) & 0xFF != buf[n - 2]:
        raise ValueError("bad CS or end")
    fields: tuple[int, ...] = _LINK.unpack_from(buf, 6)
    return fields


def hand_build(head: tuple[int, int, int, int, int, int], app: bytes) -> bytes:
    body = struct.pack("<BHHBBB", *head) + app
    length = len(body) << 2 | 2
    return (
        struct.pack("<BHHB", 0x68, length, length, 0x68)
        + body
        + bytes((sum(body) & 0xFF, 0x16))
    )


def daily_f161(points: int) -> bytes:
    """An AFN0D F161 response for p1..p<points> in one DA, 4 tariffs each."""
    units = [
        DataUnit(
            pn,
            161,
            DailyActiveReading(
                date(2024, 5, 1),
                datetime(2024, 5, 2, 0, 5),
                4,
                [12345.6789 + pn, 3000.1, 3000.2, 3000.3, 3345.0789 + pn],
            ),
        )
        for pn in range(1, points + 1)
    ]
    return encode_frame(Frame(0x88, "4403", 1, 2, 0x0D, 0x60 | 5, units))


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    payload: Any  # reference-grammar struct of each unit's data
    units: int = 1
    tp: bool = False
    ec: bool = False


def cases() -> list[Case]:
    heartbeat = gbuild.link_test("4403", 1, 3, 5, clock=datetime(2024, 5, 1, 12, 0, 0))
    return [
        Case("login (AFN02 F1, T01)", vector("T01"), None),
        Case("heartbeat 2009 (AFN02 F3, T02)", vector("T02"), None),
        Case("heartbeat 2013 with clock", heartbeat, grammar.Afn02F3),
        Case(
            "heartbeat with EC (ACD=1)",
            gbuild.link_test("4403", 1, 3, 6, ec=(3, 0)),
            None,
            ec=True,
        ),
        Case("AFN0C F33 response (T06)", vector("T06"), grammar.Afn0cF33, tp=True),
        Case("AFN0D F161 response, 1 point", daily_f161(1), grammar.Afn0dF161),
        Case(
            "AFN0D F161 response, 8 points", daily_f161(8), grammar.Afn0dF161, units=8
        ),
        Case(
            "AFN10 F1 with 645 reply (T10)",
            vector("T10"),
            grammar.Afn10F1Up,
            tp=True,
            ec=True,
        ),
    ]


def ours_link(raw: bytes) -> Callable[[], object]:
    """Scanner + link layer: the frame found, verified and its header decoded."""
    return partial(FrameReader().feed, raw)


def ours_decode(raw: bytes) -> Callable[[], object]:
    """Scanner + link + every data unit decoded to typed values."""
    reader = FrameReader()

    def run() -> object:
        out = []
        for frame in reader.feed(raw):
            assert isinstance(frame, Frame)
            for unit in frame.units:
                embedded = getattr(unit.data, "embedded", None)
                if embedded is not None:
                    embedded()
            out.append(frame)
        return out

    return run


def construct_encode(case: Case, compiled: bool) -> Callable[[], bytes]:
    ref = grammar.parse(
        case.raw, case.payload, units=case.units, tp=case.tp, ec=case.ec
    )
    units = grammar.units_struct(case.payload, case.units)
    user_s, link_s = grammar.UserData, grammar.LinkFrame
    if compiled:
        units, user_s, link_s = units.compile(), user_s.compile(), link_s.compile()
    app_tail = ref["user"].app[
        len(units.build(ref["units"])) :
    ]  # AUX bytes as received

    def run() -> bytes:
        app = units.build(ref["units"]) + app_tail
        user = dict(ref["user"])
        user["app"] = app
        body = user_s.build(user)
        length = len(body) << 2 | 2
        return bytes(
            link_s.build({"length": length, "length2": length, "user": {"value": body}})
        )

    return run


def compiled_parser(case: Case) -> Callable[[], object]:
    """The reference grammar, ``.compile()``d, parsing ``case`` to the same values."""
    link_s = grammar.LinkFrame.compile()
    user_s = grammar.UserData.compile()
    units_s = grammar.units_struct(case.payload, case.units).compile()
    aux = (6 if case.tp else 0) + (2 if case.ec else 0)

    def run() -> object:
        link = link_s.parse(case.raw)
        app = user_s.parse(link.user.value).app
        return units_s.parse(app[: len(app) - aux] if aux else app)

    return run


def measure() -> list[dict[str, Any]]:
    rows = []
    for case in cases():
        frame = decode_frame(case.raw)
        assert encode_frame(frame) == case.raw, case.name  # encoder is exact on these
        parse_compiled = compiled_parser(case)

        head = (frame.c, int(frame.a1, 16), frame.a2, frame.a3, frame.afn, frame.seq)
        app = case.raw[14:-2]
        link, hand, ratio = paired_us(
            ours_link(case.raw), partial(hand_parse, case.raw)
        )
        rows.append(
            {
                "name": case.name,
                "bytes": len(case.raw),
                "link": link,
                "hand": hand,
                "link_ratio": ratio,
                "ours": per_call_us(ours_decode(case.raw)),
                "construct": per_call_us(
                    partial(
                        grammar.parse,
                        case.raw,
                        case.payload,
                        units=case.units,
                        tp=case.tp,
                        ec=case.ec,
                    )
                ),
                "compiled": per_call_us(parse_compiled),
                "ours_enc": per_call_us(partial(encode_frame, frame)),
                "construct_enc": per_call_us(construct_encode(case, compiled=False)),
                "hand_enc": per_call_us(partial(hand_build, head, app)),
            }
        )
    return rows


def link_profile() -> dict[str, float]:
    """Where the link-layer time of a login frame goes, step by step (same run)."""
    raw = vector("T01")
    head = HEADER_STRUCT.unpack_from(raw)
    _, _, _, _, c, a1, a2, a3, afn, sq = head

    def envelope() -> bool:
        h = HEADER_STRUCT.unpack_from(raw)
        return (
            (h[1] >> 2) + 8 == len(raw)
            and raw[-1] == 0x16
            and sum(raw[6:-2]) & 0xFF == raw[-2]
        )

    return {
        "reader.feed (whole link layer)": per_call_us(partial(FrameReader().feed, raw)),
        "unpack + envelope checks": per_call_us(envelope),
        "Frame object (a wire_frame call; the reader builds it inline)": per_call_us(
            partial(wire_frame, c, a1, a2, a3, afn, sq, raw, 18, None)
        ),
        "hand-written baseline": per_call_us(partial(hand_parse, raw)),
    }


def report(
    rows: list[dict[str, Any]], command: str, pinned: str, profile: dict[str, float]
) -> str:
    lines = [
        "## Codec: decode and encode per frame (issue 2)",
        "",
        stamp(command)
        + f" One process, {pinned}; each figure is the median of 9 timed",
        "batches (garbage collector off while timing), all columns measured in the same run.",
        "",
        "Scanner + link layer: *link* = our stream scanner finding and verifying the frame",
        "plus the link-layer decode (envelope, C, A, AFN, SEQ, AUX; data units are decoded",
        "on first access); *hand* = a minimal hand-written `struct` parse of the same link",
        "header (delimiters, L, CS, C/A/AFN/SEQ, first DA/DT). The two are timed in",
        "alternating batches; the ratio is the median of the 15 per-batch ratios.",
        "",
        "| frame | bytes | link µs | hand µs | link ÷ hand |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['bytes']} | {r['link']:.2f} | {r['hand']:.2f} | "
            f"{r['link_ratio']:.2f} |"
        )
    lines += [
        "",
        "Full decode: *ours* = scanner + link + every data unit decoded to typed values",
        "(AFN10: and the embedded 645 frame); *construct* = the reference grammar parsing",
        "the same frame to the same values, plain and `.compile()`d.",
        "",
        "| frame | ours µs | frames/s | construct µs | construct ÷ ours | compiled µs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['ours']:.2f} | {1e6 / r['ours']:,.0f} | "
            f"{r['construct']:.1f} | {r['construct'] / r['ours']:.1f} | {r['compiled']:.1f} |"
        )
    lines += [
        "",
        "Encode (frame object to bytes): *ours* = `encode_frame` from typed values; *construct* =",
        "the reference grammar building the same frame from its parsed containers; *hand* =",
        "`struct.pack` of the link header around already-encoded application bytes.",
        "",
        "| frame | ours µs | frames/s | construct µs | × ours | hand (link only) µs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['ours_enc']:.2f} | {1e6 / r['ours_enc']:,.0f} | "
            f"{r['construct_enc']:.1f} | {r['construct_enc'] / r['ours_enc']:.1f} | {r['hand_enc']:.2f} |"
        )
    lines += [
        "",
        "Where the link-layer time of a login frame goes (µs, same run):",
        "",
        "| step | µs |",
        "|---|---:|",
        *(f"| {k} | {v:.2f} |" for k, v in profile.items()),
    ]
    f161 = next(r for r in rows if r["name"].endswith("1 point"))
    worst = max(rows, key=lambda r: r["link_ratio"])
    lines += [
        "",
        "Targets:",
        f"- AFN0D F161 single-point response, full decode ≤ 10 µs: **{f161['ours']:.2f} µs** "
        f"({'met' if f161['ours'] <= 10 else 'missed'}).",
        f"- scanner + link layer within 2× of the hand-written baseline: worst case "
        f"**{worst['link_ratio']:.2f}×** ({worst['name']}; "
        f"{'met' if worst['link_ratio'] <= 2 else 'missed'}).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output", type=Path, help="results file to update (docs/benchmarks.md)"
    )
    args = parser.parse_args()
    pinned = pin_to_one_core()
    rows = measure()
    text = report(rows, "make bench", pinned, link_profile())
    print(text)
    if args.output:
        write_section(args.output, "codec", text)


if __name__ == "__main__":
    main()
