"""AFN 0EH class-3 events (Std-2013 §5.14, appendix B).

Every frame here is constructed by the rules of §4.3 and §5.14 (no third-party AFN0E
vector is in the shared set); the 11-byte ERC14 form mirrors the S2 terminal
described in PROTOCOLS.md §1.11.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.errors import BadLength, BadValue, Truncated
from protocols.gdw1376 import AFN, DataUnit, Dir, Frame, decode_frame, encode_frame
from protocols.gdw1376.fields import layout_of
from protocols.gdw1376.registry import lookup
from protocols.gdw1376.units.afn0e import (
    ERC_LAYOUTS,
    ERC_NAMES,
    ERC_VARIANTS,
    ChangedUnit,
    EventRecord,
    EventReport,
    EventRequest,
    Initialisation,
    ParameterChange,
    PowerOffOn,
    PowerOffOnWithAttribute,
    RemoteTrip,
)
from tests.protocols.gdw1376.unitframes import wrap
from tests.strategies import layout_values

OFF = "30 22 29 04 24"  # A.15 2024-04-29 22:30
ON = "05 08 30 04 24"  # A.15 2024-04-30 08:05
RECORDS = (
    "0E 0A" + OFF + ON  # ERC14 as the text gives it, Le = 10
    + "0E 0B 01" + OFF + ON  # ERC14 with a leading attribute byte, Le = 11
    + "32 03 AA BB CC"  # ERC50: reserved code, kept raw
    + "01 0E 00 08 30 04 24 02 56 31 2E 30 56 31 2E 31"  # ERC1: V1.0 -> V1.1
    + "03 0E 00 08 30 04 24 02 00 00 01 00 01 01 01 03"  # ERC3: p0 F1, p1 F25
    + "05 0A 00 08 30 04 24 01 50 81 25 A1"  # ERC5: round 1, 150 kW, 12.5 kW
)  # fmt: skip


def roundtrip(wire: bytes) -> Frame:
    frame = decode_frame(wire)
    assert frame.ok, frame.errors
    assert encode_frame(frame) == wire
    return frame


def record(hex_text: str) -> EventRecord:
    data = bytes.fromhex(hex_text)
    return EventRecord(data[0], data[1], data[2:])


def test_f1_request_pointers() -> None:
    frame = roundtrip(wrap(0x4B, 0x0E, 0x63, "00 00 01 00 00 06"))
    assert frame.dir is Dir.DOWN
    assert frame.units == [DataUnit(0, 1, EventRequest(0, 6))]
    assert EventRequest(0, 6).count == 6
    assert EventRequest(250, 4).count == 10  # Pm > Pn: 256 + Pn - Pm


def test_f2_request() -> None:
    frame = roundtrip(wrap(0x4B, 0x0E, 0x63, "00 00 02 00 10 12"))
    assert frame.units == [DataUnit(0, 2, EventRequest(0x10, 0x12))]


def test_f1_response_with_acd_and_ec() -> None:
    # C = A8: response with ACD=1, so EC1/EC2 follow the units in AUX.
    wire = wrap(0xA8, 0x0E, 0x63, "00 00 01 00 06 00 00 06" + RECORDS, b"\x06\x00")
    frame = roundtrip(wire)
    assert frame.acd
    assert frame.ec == (6, 0)
    [unit] = frame.units
    report = unit.data
    assert isinstance(report, EventReport)
    assert (report.ec1, report.ec2, report.pm, report.pn) == (6, 0, 0, 6)
    assert [(r.erc, r.le) for r in report.records] == [
        (14, 10),
        (14, 11),
        (50, 3),
        (1, 14),
        (3, 14),
        (5, 10),
    ]
    off, on = datetime(2024, 4, 29, 22, 30), datetime(2024, 4, 30, 8, 5)
    events = [r.embedded() for r in report.records]
    assert events[0] == {"event": PowerOffOn(off, on)}
    assert events[1] == {"event": PowerOffOnWithAttribute(1, off, on)}
    assert events[2] == {}
    assert report.records[2].body == bytes.fromhex("AA BB CC")
    assert events[3] == {
        "event": Initialisation(datetime(2024, 4, 30, 8, 0), 0, 1, 0, "V1.0", "V1.1")
    }
    assert events[4] == {
        "event": ParameterChange(
            datetime(2024, 4, 30, 8, 0),
            2,
            [ChangedUnit(0x0000, 0x0001), ChangedUnit(0x0101, 0x0301)],
        )
    }
    assert events[5] == {
        "event": RemoteTrip(datetime(2024, 4, 30, 8, 0), 1, 150.0, 12.5)
    }
    assert report.records[0].name == "terminal power off/on"
    assert report.records[2].name is None


def test_active_report_without_confirmation() -> None:
    # C = C4: terminal-initiated send/no reply (the S2 power-up report), CON=0.
    wire = wrap(0xC4, 0x0E, 0x60, "00 00 01 00 01 00 00 01 0E 0B 01" + OFF + ON)
    [unit] = roundtrip(wire).units
    assert isinstance(unit.data, EventReport)
    [rec] = unit.data.records
    assert rec.embedded()["event"] == PowerOffOnWithAttribute(
        1, datetime(2024, 4, 29, 22, 30), datetime(2024, 4, 30, 8, 5)
    )


def test_short_body_is_an_event_error() -> None:
    out = record("05 03 00 08 30").embedded()
    assert set(out) == {"event_error"}
    assert isinstance(out["event_error"], Truncated)


def test_unexpected_length_is_an_event_error() -> None:
    out = record("0E 0C" + OFF + ON + "00 00").embedded()
    assert set(out) == {"event_error"}
    assert isinstance(out["event_error"], BadLength)


def test_bad_value_gives_object_and_error() -> None:
    out = record("0E 0A FA 22 29 04 24" + ON).embedded()
    assert isinstance(out["event_error"], BadValue)
    assert out["event"] == PowerOffOn(None, datetime(2024, 4, 30, 8, 5))


def test_record_running_past_the_unit_keeps_raw_bytes() -> None:
    # Le says 10 but only 4 bytes remain: the unit is an error with its raw bytes.
    frame = decode_frame(
        wrap(0x88, 0x0E, 0x63, "00 00 01 00 01 00 00 01 0E 0A 01 02 03 04")
    )
    [unit] = frame.units
    assert isinstance(unit.error, Truncated)
    assert unit.raw == bytes.fromhex("01 00 00 01 0E 0A 01 02 03 04")


def test_registered_units() -> None:
    for fn in (1, 2):
        assert lookup(AFN.CLASS3, fn, Dir.DOWN).cls is EventRequest
        assert lookup(AFN.CLASS3, fn, Dir.UP).cls is EventReport


def test_erc_name_table_covers_appendix_b() -> None:
    assert sorted(ERC_NAMES) == list(range(1, 42))
    for english, chinese in ERC_NAMES.values():
        assert english.isascii()
        assert not chinese.isascii()
    assert set(ERC_LAYOUTS) <= set(ERC_NAMES)
    assert dict(ERC_VARIANTS) == {(14, 11): PowerOffOnWithAttribute}


ERC_CLASSES = sorted(
    {*ERC_LAYOUTS.values(), *ERC_VARIANTS.values()}, key=lambda c: c.__name__
)


@pytest.mark.parametrize("cls", ERC_CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_erc_layout_roundtrip(cls: type, data: st.DataObject) -> None:
    obj = data.draw(layout_values(cls))
    layout = layout_of(cls)
    wire = layout.encode(obj)
    back, end, errors = layout.decode(wire, 0, len(wire))
    assert (back, end, errors) == (obj, len(wire), [])
    codes = [c for c, k in ERC_LAYOUTS.items() if k is cls]
    codes += [c for (c, le), k in ERC_VARIANTS.items() if k is cls and le == len(wire)]
    for erc in codes:
        assert EventRecord(erc, len(wire), wire).embedded() == {"event": obj}


@settings(max_examples=300, deadline=None)
@given(erc=st.sampled_from([*ERC_LAYOUTS, 14, 99]), body=st.binary(max_size=40))
def test_embedded_never_raises(erc: int, body: bytes) -> None:
    out = EventRecord(erc, len(body), body).embedded()
    assert set(out) <= {"event", "event_error"}
