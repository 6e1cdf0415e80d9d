"""Hand-built 1376.1 frames for the per-AFN unit tests.

The envelope is computed here from the rules of Std-2013 §4.3 (L = L1 << 2 | 2,
CS = sum of C .. AUX mod 256), independently of ``frame.encode_frame``, so a test
that decodes these bytes and re-encodes them checks the codec against the rules.
"""

from __future__ import annotations

from protocols.gdw1376 import DataUnit, Frame, decode_frame, encode_frame

ADDRESS = bytes.fromhex("03 44 01 00 02")  # A1 4403, A2 1, MSA 1
PW = bytes(16)
C_SET = 0x4A  # master request needing confirmation (AFN 01/04/05)
C_READ = 0x4B  # master data request (AFN 09/0A)
C_RESET = 0x41  # master reset command (AFN 01)
C_RESPONSE = 0x88  # terminal user-data response
SEQ_CON = 0x73  # FIR FIN CON, PSEQ 3
SEQ_PLAIN = 0x63  # FIR FIN, PSEQ/RSEQ 3


def wrap(c: int, afn: int, seq: int, units: str | bytes, aux: bytes = b"") -> bytes:
    """68 L L 68 | C A AFN SEQ units AUX | CS 16."""
    data = bytes.fromhex(units) if isinstance(units, str) else units
    body = bytes((c,)) + ADDRESS + bytes((afn, seq)) + data + aux
    length = (len(body) << 2 | 2).to_bytes(2, "little")
    return b"\x68" + length + length + b"\x68" + body + bytes((sum(body) & 0xFF, 0x16))


def command(afn: int, units: str | bytes) -> bytes:
    """A downlink that carries PW (AFN 01/04/05), all-zero PW, CON=1."""
    return wrap(C_SET, afn, SEQ_CON, units, PW)


def query(afn: int, units: str | bytes) -> bytes:
    """A downlink read (AFN 09/0A): no PW."""
    return wrap(C_READ, afn, SEQ_PLAIN, units)


def response(afn: int, units: str | bytes) -> bytes:
    """An uplink answer, ACD=0 (no EC), no Tp."""
    return wrap(C_RESPONSE, afn, SEQ_PLAIN, units)


def decoded(wire: bytes) -> Frame:
    """Decode, require every unit to be clean, and require re-encoding to match."""
    frame = decode_frame(wire)
    assert frame.ok, frame.errors
    assert encode_frame(frame) == wire
    return frame


def single(wire: bytes) -> DataUnit:
    frame = decoded(wire)
    assert len(frame.units) == 1, frame.units
    return frame.units[0]
