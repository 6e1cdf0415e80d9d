"""Build -> parse identity for every registered data unit (STYLE T5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.gdw1376 import DataUnit, Frame, decode_frame, encode_frame
from protocols.gdw1376.frame import ACD_BIT, DIR_BIT, SINGLE
from protocols.gdw1376.registry import REGISTRY, FnSpec
from tests.strategies import layout_values

WITH_DATA = sorted(
    (spec for spec in REGISTRY.values() if spec.layout is not None),
    key=lambda s: (s.afn, s.fn, s.dir),
)


def _id(spec: FnSpec) -> str:
    return f"AFN{spec.afn:02X}-F{spec.fn}-{'up' if spec.dir else 'down'}"


@pytest.mark.parametrize("spec", WITH_DATA, ids=_id)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_layout_roundtrip(spec: FnSpec, data: st.DataObject) -> None:
    assert spec.layout is not None
    assert spec.cls is not None
    obj = data.draw(layout_values(spec.cls))
    wire = spec.layout.encode(obj)
    back, end, errors = spec.layout.decode(wire, 0, len(wire))
    assert errors == []
    assert end == len(wire)
    assert back == obj


@pytest.mark.parametrize("spec", WITH_DATA, ids=_id)
@settings(max_examples=10, deadline=None)
@given(data=st.data(), pn=st.sampled_from([0, 1, 9, 2040]), acd=st.booleans())
def test_frame_roundtrip(spec: FnSpec, data: st.DataObject, pn: int, acd: bool) -> None:
    assert spec.cls is not None
    obj = data.draw(layout_values(spec.cls))
    c = 0x88 | (ACD_BIT if acd else 0) if spec.dir else 0x4A
    frame = Frame(c, "4403", 1, 2, spec.afn, SINGLE | 3, [DataUnit(pn, spec.fn, obj)])
    if c & DIR_BIT and c & ACD_BIT:
        frame.ec = (1, 2)
    wire = encode_frame(frame)
    back = decode_frame(wire)
    assert back.ok, back.errors
    if spec.afn in (0x01, 0x04, 0x05, 0x06, 0x0F, 0x10) and not spec.dir:
        frame.pw = bytes(16)
    assert back == frame
