"""The registered catalogue equals the checked-in list (STYLE F3), so a unit cannot
disappear or change name without a visible diff; and the reference grammar agrees
with the fast codec on every published frame it covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocols.gdw1376 import decode_frame, grammar
from protocols.gdw1376.registry import REGISTRY
from tests.vectors import vector

LIST = Path(__file__).with_name("catalogue.txt")


def render() -> str:
    lines = [
        "# Supported Q/GDW 1376.1 data units: AFN Fn direction name",
        "# Regenerate with: python -m tests.protocols.gdw1376.test_catalogue"
        " > tests/protocols/gdw1376/catalogue.txt",
    ]
    for (afn, fn, d), spec in sorted(REGISTRY.items()):
        lines.append(f"{afn:02X} F{fn:<3} {'up  ' if d else 'down'} {spec.name}")
    return "\n".join(lines) + "\n"


def test_registry_matches_the_checked_in_list() -> None:
    assert render() == LIST.read_text(encoding="utf-8")


def test_the_list_covers_what_issue_2_requires() -> None:
    required = {
        (0x00, 1), (0x00, 2), (0x00, 3), (0x00, 4), (0x01, 1), (0x01, 4), (0x02, 1),
        (0x02, 2), (0x02, 3), (0x04, 1), (0x04, 3), (0x04, 10), (0x0A, 1), (0x0A, 3),
        (0x0A, 10), (0x05, 1), (0x05, 2), (0x05, 9), (0x05, 12), (0x05, 15), (0x05, 20),
        (0x05, 23), (0x05, 26), (0x05, 31), (0x05, 33), (0x05, 34), (0x09, 1),
        (0x0C, 2), (0x0C, 25), (0x0C, 33), (0x0C, 129), (0x0D, 1), (0x0D, 17),
        (0x0D, 161), *((0x0D, f) for f in range(81, 93)), (0x0E, 1), (0x0E, 2), (0x10, 1),
    }  # fmt: skip
    registered = {(afn, fn) for afn, fn, _ in REGISTRY}
    assert required <= registered


@pytest.mark.parametrize(
    ("name", "payload", "tp", "ec"),
    [
        ("T01", None, False, False),
        ("T02", None, False, False),
        ("T06", grammar.Afn0cF33, True, False),
        ("T10", grammar.Afn10F1Up, True, True),
    ],
)
def test_reference_grammar_agrees(
    name: str, payload: object, tp: bool, ec: bool
) -> None:
    raw = vector(name)
    ref = grammar.parse(raw, payload, tp=tp, ec=ec)
    fast = decode_frame(raw)
    user = ref["user"]
    assert (user.address.a1, user.address.a2, user.address.a3.msa) == (
        fast.a1,
        fast.a2,
        fast.msa,
    )
    assert (user.control.dir, user.control.prm, user.control.func) == (
        fast.up,
        fast.prm,
        fast.func,
    )
    assert (user.afn, user.seq.pseq, user.seq.tpv) == (fast.afn, fast.pseq, fast.tpv)
    if tp:
        assert fast.tp is not None
        assert ref["tp"].pfc == fast.tp.pfc
    unit = ref["units"]
    assert unit.id.dt1 == 1 << ((fast.units[0].fn - 1) % 8)
    if name == "T06":
        data = fast.units[0].data
        assert unit.data[0].forward_active == data.active
        assert unit.data[0].tariff_count == data.tariff_count
    if name == "T10":
        assert (
            unit.data[0].content.address
            == fast.units[0].data.embedded()["frame"].address
        )


if __name__ == "__main__":
    print(render(), end="")  # noqa: T201
