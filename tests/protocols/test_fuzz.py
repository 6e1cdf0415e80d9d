"""Fuzz invariant (STYLE E1): any bytes yield frames, discards or a ProtocolError.

CI runs a bounded number of examples; ``make fuzz`` sets HEADEND_FUZZ_EXAMPLES for a
long run. Inputs are random bytes and valid frames mutated (bit flips, cuts,
insertions), which reach far deeper into the decoders than random bytes do.
"""

from __future__ import annotations

import contextlib
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols import detect, dlt645
from protocols.errors import ProtocolError
from protocols.gdw1376 import Frame, decode_frame
from protocols.gdw1376.frame import decode_checked
from protocols.gdw1376.scanner import scanner
from protocols.gdw1376.session import MasterSession
from protocols.gdw1376.terminal import TerminalConfig, TerminalSession
from protocols.scanner import Discarded
from tests.vectors import all_vectors, load_hex

EXAMPLES = int(os.environ.get("HEADEND_FUZZ_EXAMPLES", "300"))
SEEDS = [load_hex(p) for p in all_vectors()]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "dup"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[i] = draw(st.sampled_from([0x00, 0x16, 0x68, 0xEE, 0xFE, 0xFF]))
        elif op == "cut":
            del data[i : i + draw(st.integers(1, 8))]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            data += data[: draw(st.integers(1, len(data) or 1))]
    return bytes(data)


inputs = st.one_of(st.binary(max_size=300), mutated())


def _fix_checksum(data: bytes) -> bytes:
    """Repair a 1376.1 CS so mutations reach the application layer."""
    if len(data) < 8 or data[0] != 0x68:
        return data
    l1 = (data[1] | data[2] << 8) >> 2
    if len(data) != l1 + 8:
        return data
    fixed = bytearray(data)
    fixed[-2] = sum(fixed[6:-2]) & 0xFF
    return bytes(fixed)


@FUZZ
@given(data=inputs)
def test_decoders_raise_only_protocol_errors(data: bytes) -> None:
    for decode in (decode_frame, dlt645.decode_frame, detect.decode_any):
        with contextlib.suppress(ProtocolError):
            decode(data)
    try:
        frame = decode_frame(_fix_checksum(data))
    except ProtocolError:
        return
    assert isinstance(frame, Frame)
    for unit in frame.units:
        assert unit.error is None or isinstance(unit.error, ProtocolError)


@FUZZ
@given(data=inputs, cut=st.integers(0, 300))
def test_scanners_yield_frames_or_discards(data: bytes, cut: int) -> None:
    for s in (scanner(), detect.detecting_scanner(), dlt645.scanner()):
        events = s.feed(data[:cut]) + s.feed(data[cut:])
        for ev in events:
            assert isinstance(ev, bytes | Discarded)
        assert s.pending <= len(data)
    for ev in scanner().feed(data):
        if isinstance(ev, bytes):
            with contextlib.suppress(ProtocolError):
                decode_checked(ev)


@FUZZ
@given(data=inputs)
def test_sessions_survive_anything(data: bytes) -> None:
    m = MasterSession()
    m.receive_data(data, 0.0)
    m.receive_data(_fix_checksum(data), 1.0)
    m.events()
    m.handle_timer(100.0)
    t = TerminalSession(TerminalConfig("4403", 1))
    t.receive_data(data, 0.0)
    t.receive_data(_fix_checksum(data), 1.0)
    t.events()
