"""Master and terminal sessions wired together in memory (STYLE T6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import pytest

from protocols.gdw1376 import DataUnit, decode_frame
from protocols.gdw1376.events import (
    NEED_DATA,
    Confirmed,
    Denied,
    EventsPending,
    Heartbeat,
    LinkConfirmed,
    LinkLost,
    Login,
    Logout,
    Report,
    Request,
    RequestFailed,
    Response,
    Unmatched,
)
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.session import MasterSession, SessionConfig
from protocols.gdw1376.terminal import TerminalConfig, TerminalSession
from protocols.gdw1376.units.afn0c import TerminalClock
from protocols.gdw1376.units.afn0d import DailyActiveReading, TdDaily
from tests.feeding import splits

T04_LOGIN = bytes.fromhex("68 32 00 32 00 68 C9 49 24 45 58 00 02 73 00 00 01 00 49 16")
# PROTOCOLS.md §1.10, constructed: the replies to that PSEQ-3 login.
F1_REPLY = bytes.fromhex("68 32 00 32 00 68 0B 49 24 45 58 00 00 63 00 00 01 00 79 16")
F3_REPLY = bytes.fromhex(
    "68 4A 00 4A 00 68 0B 49 24 45 58 00 00 63 00 00 04 00 02 00 00 01 00 00 7F 16"
)
T02_HEARTBEAT_2009 = bytes.fromhex(
    "68 32 00 32 00 68 C9 71 01 22 08 00 02 79 00 00 04 00 E4 16"
)

NOW = 1_700_000_000.0  # wall-clock seconds for the terminal


class SessionPair:
    """A master and a terminal session joined by an in-memory link."""

    def __init__(self, how: str = "whole", **terminal: object) -> None:
        self.how = how
        self.master = MasterSession(SessionConfig(timeout=5.0, retries=2))
        cfg = {"a1": "4403", "a2": 1, **terminal}
        self.terminal = TerminalSession(TerminalConfig(**cfg))  # type: ignore[arg-type]
        self.master_events: list[object] = []
        self.terminal_events: list[object] = []
        self.wire_up: list[bytes] = []
        self.wire_down: list[bytes] = []

    def _chunks(self, data: bytes) -> list[bytes]:
        return dict(splits(data))[self.how]

    def pump(self, now: float = NOW) -> None:
        for _ in range(50):
            up = self.terminal.data_to_send()
            down = self.master.data_to_send()
            if not up and not down:
                return
            if up:
                self.wire_up.append(up)
                for chunk in self._chunks(up):
                    self.master.receive_data(chunk, now)
                self.master_events += self.master.events()
            if down:
                self.wire_down.append(down)
                for chunk in self._chunks(down):
                    self.terminal.receive_data(chunk, now)
                self.terminal_events += self.terminal.events()
        raise AssertionError("link did not settle")

    def login(self) -> None:
        self.terminal.connect(NOW)
        self.pump()
        assert self.terminal.online


def of(events: Sequence[object], kind: type) -> list[object]:
    return [e for e in events if isinstance(e, kind)]


def test_login_is_confirmed_with_f1_at_once() -> None:
    m = MasterSession()
    m.receive_data(T04_LOGIN, 0.0)
    assert m.data_to_send() == F1_REPLY
    [login] = m.events()
    assert isinstance(login, Login)
    assert m.address == ("2449", 22597)


def test_f3_confirm_is_an_option() -> None:
    m = MasterSession(SessionConfig(link_reply_f3=True))
    m.receive_data(T04_LOGIN, 0.0)
    assert m.data_to_send() == F3_REPLY


def test_2009_heartbeat_has_no_clock() -> None:
    m = MasterSession()
    m.receive_data(T02_HEARTBEAT_2009, 0.0)
    [hb] = m.events()
    assert isinstance(hb, Heartbeat)
    assert hb.clock is None
    reply = decode_frame(m.data_to_send())
    assert (reply.afn, reply.pseq, reply.c) == (0, 9, 0x0B)


@pytest.mark.parametrize("how", ["whole", "halves", "bytes"])
def test_login_heartbeat_logout_over_a_pair(how: str) -> None:
    pair = SessionPair(how, heartbeat_interval=60.0)
    pair.login()
    assert of(pair.master_events, Login)
    assert of(pair.terminal_events, LinkConfirmed) == [LinkConfirmed(1)]
    assert pair.terminal.get_timer() == NOW + 60.0
    pair.terminal.handle_timer(NOW + 60.0)
    pair.pump(NOW + 60.0)
    [hb] = of(pair.master_events, Heartbeat)
    assert isinstance(hb, Heartbeat)
    # 2013 heartbeat: the terminal clock, local time UTC+8
    assert hb.clock == datetime(2023, 11, 15, 6, 14, 20)
    assert of(pair.terminal_events, LinkConfirmed)[-1] == LinkConfirmed(3)
    pair.terminal.logout(NOW + 61)
    pair.pump()
    assert of(pair.master_events, Logout)


def test_heartbeat_is_confirmed_while_a_request_waits() -> None:
    pair = SessionPair()
    pair.login()
    pair.master.send_request(AFN.CLASS1, [DataUnit(0, 2)], 0.0)
    request_bytes = pair.master.data_to_send()  # sent, but the terminal stays silent
    assert request_bytes
    pair.terminal.handle_timer(NOW + 60.0)
    pair.master.receive_data(pair.terminal.data_to_send(), 1.0)
    reply = decode_frame(pair.master.data_to_send())
    assert (reply.afn, reply.units[0].fn) == (AFN.CONFIRM, 1)
    assert pair.master.in_flight == 1


def test_request_and_response() -> None:
    pair = SessionPair()
    pair.login()
    rid = pair.master.send_request(AFN.CLASS1, [DataUnit(0, 2)], 0.0)
    pair.pump()
    [req] = of(pair.terminal_events, Request)
    assert isinstance(req, Request)
    assert [(u.pn, u.fn) for u in req.frame.units] == [(0, 2)]
    assert req.frame.msa == 1
    clock = TerminalClock(datetime(2024, 5, 1, 12, 0, 0))
    pair.terminal.respond(req.frame, [DataUnit(0, 2, clock)])
    pair.pump()
    [resp] = of(pair.master_events, Response)
    assert isinstance(resp, Response)
    assert resp.request_id == rid
    assert resp.units[0].data == clock
    assert resp.frames[0].msa == 1  # the response echoes the master's MSA
    assert pair.master.in_flight == 0


def _daily(pn: int) -> DataUnit:
    reading = DailyActiveReading(
        date(2024, 5, 1),
        datetime(2024, 5, 2, 0, 5),
        4,
        [1000.0 + pn, 250.0, 250.0, 250.0, 250.0 + pn],
    )
    return DataUnit(pn, 161, reading)


@pytest.mark.parametrize("how", ["whole", "bytes"])
def test_multi_frame_answer_is_reassembled(how: str) -> None:
    pair = SessionPair(how, max_l1=200)
    pair.login()
    request_units = [
        DataUnit(pn, 161, TdDaily(date(2024, 5, 1))) for pn in range(1, 21)
    ]
    rid = pair.master.send_request(AFN.CLASS2, request_units, 0.0)
    pair.pump()
    [req] = of(pair.terminal_events, Request)
    assert isinstance(req, Request)
    assert len(req.frame.units) == 20
    answer = [_daily(u.pn) for u in req.frame.units]
    pair.terminal.respond(req.frame, answer)
    frames_sent = [decode_frame(f) for f in _frames(pair.terminal)]
    assert len(frames_sent) > 2
    assert (frames_sent[0].fir, frames_sent[0].fin) == (True, False)
    assert (frames_sent[-1].fir, frames_sent[-1].fin) == (False, True)
    assert [f.pseq for f in frames_sent] == [
        (req.frame.pseq + i) & 15 for i in range(len(frames_sent))
    ]
    for f in frames_sent:
        pair.master.receive_data(f.raw, 0.0)
    [resp] = of(pair.master.events(), Response)
    assert isinstance(resp, Response)
    assert resp.request_id == rid
    assert [u.pn for u in resp.units] == list(range(1, 21))
    assert resp.units == answer


def _frames(terminal: TerminalSession) -> list[bytes]:
    from protocols.gdw1376.scanner import scanner

    return [f for f in scanner().feed(terminal.data_to_send()) if isinstance(f, bytes)]


def test_timeout_retries_with_same_pseq_then_fails() -> None:
    m = MasterSession(SessionConfig(timeout=10.0, retries=2, backoff=2.0))
    m.receive_data(T04_LOGIN, 0.0)
    m.data_to_send()
    m.events()
    rid = m.send_request(AFN.CLASS1, [DataUnit(0, 2)], 0.0)
    first = m.data_to_send()
    assert m.get_timer() == 10.0
    m.handle_timer(10.0)
    assert m.data_to_send() == first  # same bytes, same PSEQ
    assert m.get_timer() == 10.0 + 20.0  # back-off
    m.handle_timer(30.0)
    assert m.data_to_send() == first
    m.handle_timer(30.0 + 40.0)
    assert m.data_to_send() == b""
    assert m.events() == [RequestFailed(rid, "timeout")]
    assert m.get_timer() is None


def test_late_answer_is_unmatched_and_closed_link_fails_requests() -> None:
    pair = SessionPair()
    pair.login()
    rid = pair.master.send_request(AFN.CLASS1, [DataUnit(0, 2)], 0.0, retries=0)
    pair.pump()
    [req] = of(pair.terminal_events, Request)
    assert isinstance(req, Request)
    pair.master.handle_timer(100.0)
    assert of(pair.master.events(), RequestFailed) == [RequestFailed(rid, "timeout")]
    pair.terminal.deny(req.frame)
    pair.pump()
    assert of(pair.master_events, Unmatched)
    rid2 = pair.master.send_request(AFN.CLASS1, [DataUnit(0, 2)], 0.0)
    pair.master.fail_all()
    assert pair.master.events()[-1] == RequestFailed(rid2, "closed")


def test_confirm_and_deny() -> None:
    pair = SessionPair()
    pair.login()
    r1 = pair.master.send_request(AFN.CONTROL, [DataUnit(0, 33)], 0.0)
    pair.pump()
    [req] = of(pair.terminal_events, Request)
    assert isinstance(req, Request)
    assert req.frame.con  # AFN05 asks for confirmation
    assert req.frame.pw == bytes(16)
    pair.terminal.confirm(req.frame)
    r2 = pair.master.send_request(AFN.CONTROL, [DataUnit(0, 33)], 0.0)
    pair.pump()
    req2 = of(pair.terminal_events, Request)[-1]
    assert isinstance(req2, Request)
    pair.terminal.deny(req2.frame)
    pair.pump()
    verdicts = [e for e in pair.master_events if isinstance(e, Confirmed | Denied)]
    assert [type(v) for v in verdicts] == [Confirmed, Denied]
    assert [v.request_id for v in verdicts] == [r1, r2]


def test_terminal_answers_a_repeated_request_from_cache() -> None:
    pair = SessionPair()
    pair.login()
    pair.master.send_request(AFN.CLASS1, [DataUnit(0, 2)], 0.0)
    request = pair.master.data_to_send()
    pair.terminal.receive_data(request, NOW)
    [req] = pair.terminal.events()
    assert isinstance(req, Request)
    pair.terminal.confirm(req.frame)
    first = pair.terminal.data_to_send()
    pair.terminal.receive_data(request, NOW)  # the master retried
    assert pair.terminal.events() == []
    assert pair.terminal.data_to_send() == first


def test_event_counters_surface_once_per_change() -> None:
    pair = SessionPair()
    pair.terminal.set_event_counters((3, 7))
    pair.login()
    assert of(pair.master_events, EventsPending) == [EventsPending(3, 7, None)]
    # the login comes first: the host knows whose counters these are
    kinds = [
        type(e) for e in pair.master_events if isinstance(e, Login | EventsPending)
    ]
    assert kinds == [Login, EventsPending]
    pair.terminal.handle_timer(NOW + 60)
    pair.pump()
    assert len(of(pair.master_events, EventsPending)) == 1
    pair.terminal.set_event_counters((4, 7))
    pair.terminal.handle_timer(NOW + 120)
    pair.pump()
    assert of(pair.master_events, EventsPending)[-1] == EventsPending(4, 7, (3, 7))


def test_active_report_with_con_is_confirmed() -> None:
    pair = SessionPair()
    pair.login()
    pair.terminal.report(
        AFN.CLASS1, [DataUnit(0, 2, TerminalClock(datetime(2024, 1, 1)))], con=True
    )
    pair.pump()
    [rep] = of(pair.master_events, Report)
    assert isinstance(rep, Report)
    confirm = decode_frame(pair.wire_down[-1])
    assert (confirm.afn, confirm.units[0].fn, confirm.pseq) == (0, 1, rep.frame.pseq)


def test_unconfirmed_login_is_resent_then_lost() -> None:
    t = TerminalSession(TerminalConfig("4403", 1, confirm_timeout=10.0, retries=3))
    t.connect(NOW)
    first = t.data_to_send()
    now = NOW
    for _ in range(3):
        now = t.get_timer() or 0.0
        t.handle_timer(now)
        assert t.data_to_send() == first
    t.handle_timer(t.get_timer() or 0.0)
    assert t.events() == [LinkLost(1)]
    assert t.next_event() is NEED_DATA
    assert not t.online


def test_duplicate_answer_tail_is_not_taken_for_the_next_request() -> None:
    """A retransmitted request answered twice in two frames: the duplicate's tail
    has RSEQ = PSEQ + 1, the next request's PSEQ, and must not be its answer."""
    pair = SessionPair(max_l1=120)
    pair.login()
    mark = TdDaily(date(2024, 5, 1))
    first = pair.master.send_request(
        AFN.CLASS2, [DataUnit(pn, 161, mark) for pn in range(1, 5)], 0.0
    )
    request = pair.master.data_to_send()
    pair.terminal.receive_data(request, NOW)
    [req] = pair.terminal.events()
    assert isinstance(req, Request)
    pair.terminal.respond(req.frame, [_daily(u.pn) for u in req.frame.units])
    answer = _frames(pair.terminal)
    assert len(answer) == 2  # two frames: FIR and FIN
    for f in answer:
        pair.master.receive_data(f, 0.0)
    [done] = of(pair.master.events(), Response)
    assert isinstance(done, Response)
    assert done.request_id == first
    second = pair.master.send_request(
        AFN.CLASS2, [DataUnit(pn, 161, mark) for pn in (5, 6)], 0.0
    )
    request2 = decode_frame(pair.master.data_to_send())
    assert request2.pseq == (decode_frame(request).pseq + 1) & 15
    # The duplicate of the first answer (the master had retransmitted) arrives late.
    for f in answer:
        pair.master.receive_data(f, 0.0)
    late = pair.master.events()
    assert not of(late, Response)
    assert len(of(late, Unmatched)) == 2
    # The real answer to the second request is still taken.
    pair.terminal.receive_data(request2.raw, NOW)
    [req2] = pair.terminal.events()
    assert isinstance(req2, Request)
    pair.terminal.respond(req2.frame, [_daily(u.pn) for u in req2.frame.units])
    for f in _frames(pair.terminal):
        pair.master.receive_data(f, 0.0)
    [resp] = of(pair.master.events(), Response)
    assert isinstance(resp, Response)
    assert resp.request_id == second
    assert [u.pn for u in resp.units] == [5, 6]
