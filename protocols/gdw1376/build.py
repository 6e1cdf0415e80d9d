"""Builders for the frames both sides send most: link tests, confirms, requests.

The confirm reply to a login or heartbeat is built straight with ``struct`` because
the head-end sends one per heartbeat per terminal; everything else goes through
:func:`~protocols.gdw1376.frame.encode_frame`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from protocols.gdw1376.frame import (
    ACD_BIT,
    CON_BIT,
    SINGLE,
    STANDARD,
    TPV_BIT,
    DataUnit,
    Dialect,
    Frame,
    Func,
    Tp,
    control,
    encode_frame,
)
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn00 import PerUnitConfirm, UnitVerdict
from protocols.gdw1376.units.afn02 import HEARTBEAT, LOGIN, LOGOUT, Heartbeat

# C values seen on the wire (PROTOCOLS.md §1.3).
C_LINK_STATUS: Final = 0x0B  # master reply to a link test: PRM 0, func 11
C_CONFIRM: Final = 0x00  # master confirm of other terminal frames: PRM 0, func 0
C_LINK_TEST: Final = 0xC9  # terminal login / logout / heartbeat
C_RESPONSE: Final = 0x88  # terminal response with user data
C_DENY: Final = 0x89  # terminal "no requested data"
C_TERMINAL_CONFIRM: Final = 0x80  # terminal confirm (AFN00) of a master command
C_REPORT: Final = 0xC4  # terminal active report (send / no reply)

# Function code of a master request, by AFN (Std-2013 §4.3.3.2.6; S5 set_c).
_REQUEST_FUNC: Final[dict[int, int]] = {
    AFN.RESET: Func.RESET,
    AFN.SET_PARAM: Func.REQUEST_CLASS1,
    AFN.CONTROL: Func.REQUEST_CLASS1,
    AFN.AUTH: Func.REQUEST_CLASS1,
    AFN.FILE: Func.REQUEST_CLASS1,
}
#: AFNs whose requests are answered with AFN00 confirm / deny, so CON=1 is set.
CONFIRMED_AFNS: Final = frozenset({AFN.RESET, AFN.SET_PARAM, AFN.CONTROL, AFN.FILE})

_LINK_REPLY = struct.Struct("<BHHBBHHBBBHHBB")
_LINK_REPLY_LEN: Final = (12 << 2) | 2


def a1_int(a1: str) -> int:
    return int(a1, 16)


def link_reply(a1: int, a2: int, a3: int, pseq: int) -> bytes:
    """AFN00 F1 "all confirm" for a login / heartbeat / logout (PROTOCOLS.md §1.10).

    C = 0B, the terminal's A1/A2, A3 as received (MSA 0 for terminal-initiated
    frames), SEQ = FIR|FIN|RSEQ with RSEQ = the frame's PSEQ, p0 F1, no AUX.
    """
    sq = SINGLE | (pseq & 0x0F)
    body_sum = (
        C_LINK_STATUS + (a1 & 0xFF) + (a1 >> 8) + (a2 & 0xFF) + (a2 >> 8) + a3 + sq + 1
    )
    return _LINK_REPLY.pack(
        0x68, _LINK_REPLY_LEN, _LINK_REPLY_LEN, 0x68, C_LINK_STATUS, a1, a2, a3, 0, sq,
        0, 1, body_sum & 0xFF, 0x16,
    )  # fmt: skip


def confirm(frame: Frame, *, c: int = C_CONFIRM, dialect: Dialect = STANDARD) -> bytes:
    """AFN00 F1 all-confirm answering ``frame`` (same address, RSEQ = its PSEQ)."""
    reply = Frame(c, frame.a1, frame.a2, frame.a3, AFN.CONFIRM, SINGLE | frame.pseq,
                  [DataUnit(0, 1)])  # fmt: skip
    return encode_frame(reply, dialect)


def per_unit_confirm(
    frame: Frame,
    *,
    errors: dict[tuple[int, int], int] | None = None,
    c: int = C_LINK_STATUS,
    dialect: Dialect = STANDARD,
) -> bytes:
    """AFN00 F3 answering every unit of ``frame`` (0 = correct unless ``errors``)."""
    from protocols.gdw1376.frame import encode_identifiers  # noqa: PLC0415

    errors = errors or {}
    verdicts = []
    i = 0
    for ident, count in encode_identifiers([(u.pn, u.fn) for u in frame.units]):
        covered = frame.units[i : i + count]
        i += count
        err = max((errors.get((u.pn, u.fn), 0) for u in covered), default=0)
        da = ident[0] | ident[1] << 8
        dt = ident[2] | ident[3] << 8
        verdicts.append(UnitVerdict(da, dt, err))
    unit = DataUnit(0, 3, PerUnitConfirm(frame.afn, verdicts))
    reply = Frame(c, frame.a1, frame.a2, frame.a3, AFN.CONFIRM, SINGLE | frame.pseq,
                  [unit])  # fmt: skip
    return encode_frame(reply, dialect)


def link_test(a1: str, a2: int, fn: int, pseq: int, *, clock: datetime | None = None,
              ec: tuple[int, int] | None = None) -> bytes:  # fmt: skip
    """Terminal login (F1), logout (F2) or heartbeat (F3); a 2013 heartbeat has a clock.

    With ``ec`` the frame is sent with ACD=1 and the event counters (C = E9).
    """
    data = Heartbeat(clock) if fn == HEARTBEAT else None
    c = C_LINK_TEST | (ACD_BIT if ec is not None else 0)
    frame = Frame(c, a1, a2, 0, AFN.LINK, SINGLE | CON_BIT | (pseq & 0x0F),
                  [DataUnit(0, fn, data)], ec=ec)  # fmt: skip
    return encode_frame(frame)


def login(a1: str, a2: int, pseq: int) -> bytes:
    return link_test(a1, a2, LOGIN, pseq)


def logout(a1: str, a2: int, pseq: int) -> bytes:
    return link_test(a1, a2, LOGOUT, pseq)


def request(
    a1: str,
    a2: int,
    afn: int,
    units: Sequence[DataUnit],
    *,
    pseq: int,
    msa: int = 1,
    con: bool | None = None,
    tp: Tp | None = None,
    pw: bytes | None = None,
) -> Frame:
    """A master request frame (not yet encoded): C by AFN, CON where AFN00 answers."""
    func = _REQUEST_FUNC.get(afn, Func.REQUEST_CLASS2)
    c = control(up=False, prm=True, func=func)
    if con is None:
        con = afn in CONFIRMED_AFNS
    sq = SINGLE | (CON_BIT if con else 0) | (TPV_BIT if tp is not None else 0)
    return Frame(c, a1, a2, (msa & 0x7F) << 1, afn, sq | (pseq & 0x0F), list(units),
                 pw=pw, tp=tp)  # fmt: skip
