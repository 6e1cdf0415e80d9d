"""Event collection (事件采集, AFN0E): pointers, chunks, wrap, gaps, then end to end.

The unit tests drive :class:`EventCollector` with a fake terminal built on the
simulator's event log (``simulators/_events.py``), so Pm/Pn behave as the simulated
concentrator's do; the end-to-end test runs a worker with storage and a simulated
concentrator on TCP.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from headend.collection.event_records import State, describe, place
from headend.collection.events import EventCollector, requests_via
from headend.config import Settings
from headend.metrics import EVENT_FETCH_FAILURES, EVENT_GAPS
from headend.pipeline import Answer, RequestError
from headend.storage.spool import Row
from protocols.gdw1376 import DataUnit, Frame
from protocols.gdw1376.events import EventsPending, LinkConfirmed, Report, Request
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0c import EventCounters
from protocols.gdw1376.units.afn0e import (
    ClockSync,
    EventRecord,
    EventReport,
    EventRequest,
    PowerOffOn,
    RemoteTrip,
)
from simulators._events import IMPORTANT, NORMAL, EventLog
from simulators._readings import raw_unit
from simulators.concentrator import Concentrator, ConcentratorConfig
from tests.headend.conftest import running
from tests.waiting import until

ADDRESS = (0x4403, 1)
BASE = datetime(2024, 5, 1, 8, 0)
TRIP_BYTES = 12  # ERC5 record: ERC, Le, A.15 time, rounds, two A.2 powers


def add_trips(log: EventLog, n: int, *, start: int = 0) -> None:
    """``n`` ERC5 records (遥控跳闸), one minute apart from minute ``start``."""
    for k in range(start, start + n):
        log.add(IMPORTANT, 5, RemoteTrip(BASE + timedelta(minutes=k), 1, None, None))


def record_at(log: EventLog, importance: int, pointer: int) -> bytes:
    _, [found] = log.records(importance, pointer, (pointer + 1) % 256, 1000)
    return found


class FakeTerminal:
    """Answers AFN0E and AFN0C F7 from an event log, like the simulated concentrator."""

    def __init__(self, log: EventLog, *, per_answer: int = 64) -> None:
        self.log = log
        self.budget = per_answer * TRIP_BYTES
        self.asked: list[tuple[int, int, int]] = []  # (Fn, Pm, Pn)
        self.before_answer: Callable[[], None] | None = None
        self.fail: str | None = None  # a RequestError reason for every request

    async def request(self, address: tuple[int, int], afn: int,
                      units: Sequence[DataUnit], priority: int) -> Answer:  # fmt: skip
        assert address == ADDRESS
        if self.fail is not None:
            raise RequestError(self.fail)
        [unit] = units
        if afn == AFN.CLASS1:
            assert unit.fn == 7
            counters = DataUnit(0, 7, EventCounters(*self.log.counters))
            return Answer("data", (self._frame(AFN.CLASS1, counters),))
        assert afn == AFN.CLASS3
        req = unit.data
        assert isinstance(req, EventRequest)
        assert req.pm != req.pn  # not defined by the standard
        self.asked.append((unit.fn, req.pm, req.pn))
        if self.before_answer is not None:
            self.before_answer()
        end, records = self.log.records(unit.fn, req.pm, req.pn, self.budget)
        report = EventReport(*self.log.counters, req.pm, end,
                             [EventRecord(r[0], r[1], r[2:]) for r in records])  # fmt: skip
        return Answer("data", (self._frame(AFN.CLASS3, DataUnit(0, unit.fn, report)),))

    @staticmethod
    def _frame(afn: int, unit: DataUnit) -> Frame:
        return Frame(0x88, "4403", 1, 0, afn, 0x60, [unit])


class FakePointers:
    def __init__(self) -> None:
        self.state: dict[tuple[int, int], State] = {}

    async def load(self, terminal_id: int, importance: int) -> State | None:
        return self.state.get((terminal_id, importance))

    async def save(self, terminal_id: int, importance: int, ec: int,
                   last: bytes | None) -> None:  # fmt: skip
        self.state[(terminal_id, importance)] = (ec, last)

    def ec(self, importance: int = IMPORTANT) -> int:
        return self.state[(7, importance)][0]

    async def close(self) -> None:
        pass


class FakeWriter:
    """Keeps rows by event_record key, as ON CONFLICT does; ``gate`` holds submits."""

    def __init__(self) -> None:
        self.rows: dict[tuple[Any, ...], Row] = {}
        self.submitted = 0
        self.comm: list[Row] = []
        self.gate: asyncio.Event | None = None
        self.flush_hangs = False

    async def submit(self, table: str, rows: Sequence[Row]) -> None:
        assert table == "event_record"
        self.submitted += len(rows)
        if self.gate is not None:
            await self.gate.wait()
        for row in rows:
            self.rows[row[:5]] = row

    def submit_nowait(self, table: str, rows: Sequence[Row]) -> None:
        assert table == "comm_log"
        self.comm.extend(rows)

    async def flush(self) -> None:
        if self.flush_hangs:
            await asyncio.sleep(3600)

    def pointers(self, importance: int = IMPORTANT) -> list[int]:
        return sorted(k[4] for k in self.rows if k[1] == importance)


class FakeDirectory:
    async def terminal_id(self, a1: str, a2: int) -> int:
        assert (a1, a2) == ("4403", 1)
        return 7


def collector_for(term: FakeTerminal, **kw: Any) -> tuple[EventCollector, FakeWriter, FakePointers]:  # fmt: skip
    writer, pointers = FakeWriter(), FakePointers()
    kw.setdefault("backoff", 0.0)
    c = EventCollector(
        term.request, FakeDirectory(), writer, "", pointers=pointers, **kw
    )
    return c, writer, pointers


def sample(metric: Any, **labels: str) -> float:
    target = metric.labels(**labels) if labels else metric
    return float(target._value.get())


# --- pure helpers --------------------------------------------------------------------


def test_place_numbers_records_from_pm_and_aligns_short_answers_at_pn() -> None:
    rec = EventRecord(5, 0, b"")
    wrapped = EventReport(0, 0, 250, 5, [rec] * 11)  # Pm > Pn: Y = 256 + 5 - 250
    assert [p for p, _ in place(wrapped)] == [
        250,
        251,
        252,
        253,
        254,
        255,
        0,
        1,
        2,
        3,
        4,
    ]
    # Pointers the terminal never wrote are left out: the records are the newest.
    assert [p for p, _ in place(EventReport(0, 0, 0, 32, [rec, rec]))] == [30, 31]
    assert place(EventReport(0, 0, 7, 7, [])) == []


def test_describe_takes_the_records_own_time() -> None:
    log = EventLog()
    off, on = datetime(2024, 4, 30, 23, 5), datetime(2024, 5, 1, 6, 40)
    log.add(IMPORTANT, 14, PowerOffOn(off, on))
    log.add(NORMAL, 41, ClockSync(0, 0, datetime(2024, 5, 1, 9, 0, 1), BASE))
    raw14, raw41 = record_at(log, IMPORTANT, 0), record_at(log, NORMAL, 0)
    when, detail = describe(EventRecord(raw14[0], raw14[1], raw14[2:]))
    assert when == off  # the power-off time is the event's
    assert detail is not None
    assert detail["power_on"] == "2024-05-01T06:40:00"
    json.dumps(detail)  # JSON-safe
    when, _ = describe(EventRecord(raw41[0], raw41[1], raw41[2:]))
    assert when == datetime(2024, 5, 1, 9, 0, 1)
    # An ERC without a layout (ERC31, 485 meter-reading failure) still has its time.
    when, detail = describe(
        EventRecord(31, 7, bytes.fromhex("1208010524") + b"\x01\x00")
    )
    assert (when, detail) == (datetime(2024, 5, 1, 8, 12), None)
    assert describe(EventRecord(31, 2, b"\x01\x02")) == (None, None)


# --- pointer arithmetic and chunking -------------------------------------------------


async def test_a_new_terminal_is_read_whole_then_incrementally() -> None:
    log = EventLog()
    add_trips(log, 3)
    term = FakeTerminal(log)
    c, writer, pointers = collector_for(term)
    await c.start()
    try:
        assert await c.collect(ADDRESS, 3, 0)
        # Both rings, 256 pointers each in chunks of 32, ending at the counter.
        assert term.asked[:8] == [
            (1, (3 + 32 * k) % 256, (35 + 32 * k) % 256) for k in range(8)
        ]
        assert term.asked[8:] == [(2, 32 * k, (32 * k + 32) % 256) for k in range(8)]
        assert writer.pointers() == [0, 1, 2]
        assert pointers.state[(7, 1)] == (3, record_at(log, IMPORTANT, 2))
        assert pointers.state[(7, 2)] == (0, None)
        # Two more events: only they are read, with the last stored one again.
        add_trips(log, 2, start=3)
        term.asked.clear()
        assert await c.collect(ADDRESS, 5, 0)
        assert term.asked == [(1, 2, 5)]
        assert writer.pointers() == [0, 1, 2, 3, 4]
        assert pointers.ec() == 5
    finally:
        await c.stop()


async def test_wrap_from_250_to_5_is_read_in_chunks() -> None:
    log = EventLog()
    add_trips(log, 261)  # EC1 = 261 mod 256 = 5: pointers 0..4 hold events 256..260
    term = FakeTerminal(log)
    c, writer, pointers = collector_for(term, chunk=4)
    pointers.state[(7, 1)] = (250, record_at(log, IMPORTANT, 249))
    pointers.state[(7, 2)] = (0, None)
    gaps = sample(EVENT_GAPS)
    await c.start()
    try:
        assert await c.collect(ADDRESS, 5, 0)
    finally:
        await c.stop()
    # 249 again (the check), then 250..4: a wrapping chunk is asked as Pm > Pn.
    assert term.asked == [(1, 249, 253), (1, 253, 1), (1, 1, 5)]
    assert writer.pointers() == [0, 1, 2, 3, 4, 249, 250, 251, 252, 253, 254, 255]
    assert pointers.state[(7, 1)] == (5, record_at(log, IMPORTANT, 4))
    assert sample(EVENT_GAPS) == gaps
    assert writer.comm == []


async def test_short_answers_continue_from_the_terminals_pn() -> None:
    log = EventLog()
    add_trips(log, 20)
    term = FakeTerminal(log, per_answer=3)  # the terminal's frame holds 3 records
    c, writer, pointers = collector_for(term, chunk=8)
    pointers.state[(7, 1)] = (0, None)
    pointers.state[(7, 2)] = (0, None)  # else EC2 in the answers starts a ring read
    await c.start()
    try:
        assert await c.collect(ADDRESS, 20, None)
    finally:
        await c.stop()
    assert writer.pointers() == list(range(20))
    assert term.asked == [(1, 0, 8), (1, 3, 11), (1, 6, 14), (1, 9, 17), (1, 12, 20),
                          (1, 15, 20), (1, 18, 20)]  # fmt: skip
    assert pointers.ec() == 20


async def test_no_gap_when_the_counter_moves_during_a_fetch() -> None:
    log = EventLog()
    add_trips(log, 10)
    term = FakeTerminal(log)
    c, writer, pointers = collector_for(term)
    pointers.state[(7, 1)] = (0, None)
    pointers.state[(7, 2)] = (0, None)

    def more_events() -> None:  # five new events while the first answer is built
        term.before_answer = None
        add_trips(log, 5, start=10)

    term.before_answer = more_events
    await c.start()
    try:
        assert await c.collect(ADDRESS, 10, None)
    finally:
        await c.stop()
    # The answer's EC1 = 15 made the collector read on: (0, 10) then (9, 15).
    assert term.asked == [(1, 0, 10), (1, 9, 15)]
    assert writer.pointers() == list(range(15))
    assert pointers.ec() == 15


async def test_the_pointer_moves_only_once_the_writer_has_the_rows() -> None:
    log = EventLog()
    add_trips(log, 4)
    term = FakeTerminal(log)
    c, writer, pointers = collector_for(term)
    pointers.state[(7, 1)] = (0, None)
    writer.gate = asyncio.Event()
    await c.start()
    try:
        job = asyncio.create_task(c.collect(ADDRESS, 4, None))
        for _ in range(100):
            if writer.submitted:
                break
            await asyncio.sleep(0.01)
        assert writer.submitted == 4
        assert pointers.ec() == 0  # rows handed over, not yet taken
        writer.gate.set()
        assert await job
        assert pointers.ec() == 4
        # A writer that cannot make rows durable in time: the pointer stays.
        add_trips(log, 2, start=4)
        writer.flush_hangs = True
        c.flush_timeout = 0.05
        before = sample(EVENT_FETCH_FAILURES, reason="storage")
        assert not await c.collect(ADDRESS, 6, None)
        assert pointers.ec() == 4
        assert (
            sample(EVENT_FETCH_FAILURES, reason="storage") == before + 3
        )  # 3 attempts
    finally:
        await c.stop()


async def test_an_overwritten_ring_is_a_gap_and_is_read_whole() -> None:
    log = EventLog()
    add_trips(log, 10)
    term = FakeTerminal(log)
    c, writer, pointers = collector_for(term)
    pointers.state[(7, 1)] = (10, record_at(log, IMPORTANT, 9))
    pointers.state[(7, 2)] = (0, None)
    add_trips(log, 300, start=10)  # 300 more: EC1 = 310 mod 256 = 54, pointer 9 reused
    gaps = sample(EVENT_GAPS)
    await c.start()
    try:
        assert await c.collect(ADDRESS, 54, None)
    finally:
        await c.stop()
    assert sample(EVENT_GAPS) == gaps + 1
    [row] = writer.comm
    assert row[2:5] == ("event_gap", "4403-00001", 7)
    assert row[7] == {"importance": 1, "stored_ec": 10, "terminal_ec": 54}
    # Whatever the ring still holds (events 54..309) is stored; the state is current.
    assert writer.pointers() == list(range(256))
    assert pointers.state[(7, 1)] == (54, record_at(log, IMPORTANT, 53))
    assert term.asked[0] == (1, 9, 41)  # the check that found pointer 9 reused


async def test_failures_are_retried_then_left_for_the_next_trigger() -> None:
    log = EventLog()
    add_trips(log, 3)
    term = FakeTerminal(log)
    c, _, pointers = collector_for(term)
    pointers.state[(7, 1)] = (0, None)
    await c.start()
    try:
        term.fail = "timeout"
        before = sample(EVENT_FETCH_FAILURES, reason="timeout")
        assert not await c.collect(ADDRESS, 3, None)
        assert sample(EVENT_FETCH_FAILURES, reason="timeout") == before + 3
        term.fail = "offline"  # the link is gone: no retry
        before = sample(EVENT_FETCH_FAILURES, reason="offline")
        assert not await c.collect(ADDRESS, 3, None)
        assert sample(EVENT_FETCH_FAILURES, reason="offline") == before + 1
        assert pointers.ec() == 0
        term.fail = None
        assert await c.collect(ADDRESS)  # a poll: AFN0C F7 gives the counters
        assert pointers.ec() == 3
    finally:
        await c.stop()


async def test_triggers_coalesce_and_a_contiguous_report_moves_the_pointer() -> None:
    log = EventLog()
    add_trips(log, 3)
    term = FakeTerminal(log)
    c, writer, pointers = collector_for(term, max_terminals=1)
    pointers.state[(7, 1)] = (3, record_at(log, IMPORTANT, 2))
    pointers.state[(7, 2)] = (0, None)
    conn: Any = SimpleNamespace(key=ADDRESS, peer="10.0.0.9:4000")
    add_trips(log, 2, start=3)
    _, records = log.records(IMPORTANT, 3, 5, 1000)
    report = EventReport(5, 0, 3, 5, [EventRecord(r[0], r[1], r[2:]) for r in records])
    frame = Frame(0xE4, "4403", 1, 0, AFN.CLASS3, 0x70, [DataUnit(0, 1, report)])
    c.on_event(conn, EventsPending(4, 0, None))
    c.on_event(conn, Report(frame))
    c.on_event(conn, EventsPending(5, 0, (4, 0)))
    c.schedule((0x4403, 2), 1, 0)  # a second terminal: past the bound, dropped
    assert c.dropped == 1
    c.on_event(SimpleNamespace(key=None, peer=""), EventsPending(9, 9, None))  # type: ignore[arg-type]
    await c.start()
    try:
        for _ in range(200):
            if not c.busy:
                break
            await asyncio.sleep(0.01)
        assert not c.busy
    finally:
        await c.stop()
    assert term.asked == []  # the report carried them; nothing left to ask
    assert writer.pointers() == [3, 4]
    assert pointers.state[(7, 1)] == (5, record_at(log, IMPORTANT, 4))


# --- end to end: a worker with storage and a simulated concentrator -----------------


class SimLink(asyncio.Protocol):
    """A simulated concentrator on a real TCP connection to the head-end."""

    def __init__(self, conc: Concentrator) -> None:
        self.conc = conc
        self.transport: asyncio.Transport | None = None
        self.confirmed: asyncio.Queue[int] = asyncio.Queue()
        self.asked: list[tuple[int, int, int]] = []  # AFN0E (Fn, Pm, Pn)

    @classmethod
    async def connect(cls, port: int, conc: Concentrator) -> SimLink:
        link = cls(conc)
        await asyncio.get_running_loop().create_connection(
            lambda: link, "127.0.0.1", port
        )
        return link

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        session = self.conc.session
        session.receive_data(data, time.time())
        for ev in session.events():
            if isinstance(ev, LinkConfirmed):
                self.confirmed.put_nowait(ev.fn)
            elif isinstance(ev, Request):
                for u in ev.frame.units:
                    if ev.frame.afn == AFN.CLASS3 and isinstance(u.data, EventRequest):
                        self.asked.append((u.fn, u.data.pm, u.data.pn))
                self.conc.handle(ev.frame, time.time())
        self.flush()

    def flush(self) -> None:
        out = self.conc.session.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(out)

    async def login(self) -> None:
        self.conc.session.connect(time.time())
        self.flush()
        assert await asyncio.wait_for(self.confirmed.get(), 5) == 1

    async def heartbeat(self) -> None:
        self.conc.session.handle_timer(time.time() + 10_000)
        self.flush()
        assert await asyncio.wait_for(self.confirmed.get(), 5) == 3

    def report(self, importance: int, pm: int, pn: int) -> None:
        """An active AFN0E upload (C = C4) of the records at pointers Pm..Pn-1."""
        _, records = self.conc.events.records(importance, pm, pn, 10_000)
        ec1, ec2 = self.conc.events.counters
        unit = raw_unit(0, importance, bytes((ec1, ec2, pm, pn)) + b"".join(records))
        self.conc.session.report(AFN.CLASS3, [unit])
        self.flush()


def add_events(conc: Concentrator, importance: int, n: int, start: int) -> None:
    for k in range(start, start + n):
        when = BASE + timedelta(minutes=k)
        if importance == IMPORTANT:
            conc.events.add(IMPORTANT, 5, RemoteTrip(when, 1, None, None))
        else:
            conc.events.add(
                NORMAL, 41, ClockSync(0, 0, when, when + timedelta(seconds=3))
            )
    conc.session.set_event_counters(conc.events.counters)  # ACD = 1 from now on


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def state(dsn: str) -> dict[int, int]:
    return {
        r[0]: r[1]
        for r in query(dsn, "SELECT importance, ec FROM terminal_event_state")
    }


@pytest.mark.slow
async def test_events_end_to_end(
    dsn: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(storage=True, database_url=dsn)
    async with running(settings) as worker:
        p = worker.persistence
        assert p is not None
        assert p.writer is not None
        assert p.directory is not None
        collector = EventCollector(requests_via(worker.connections), p.directory,
                                   p.writer, p.dsn, timezone=settings.timezone,
                                   worker=p.worker)  # fmt: skip
        worker.connections.report_handlers.append(collector.on_event)
        await collector.start()
        try:
            # A 160-byte frame holds 11 ERC5 records: answers are short of 32.
            conc = Concentrator(
                ConcentratorConfig(a2=21, meters=1, max_l1=160), time.time()
            )
            add_events(conc, IMPORTANT, 39, 0)  # after the ERC14 of power-on: EC1 = 40
            add_events(conc, NORMAL, 5, 0)
            link = await SimLink.connect(worker.port, conc)
            await link.login()  # C = E9: ACD with EC (40, 5)
            await until(lambda: state(dsn) == {1: 40, 2: 5} and not collector.busy)
            rows = query(dsn, "SELECT importance, pointer, count(*) FROM event_record "
                              "GROUP BY 1, 2 ORDER BY 1, 2")  # fmt: skip
            expected = [(1, k, 1) for k in range(40)] + [(2, k, 1) for k in range(5)]
            assert rows == expected  # each pointer once; the 256-pointer ring read
            [(erc, occurred, detail)] = query(
                dsn, "SELECT erc, occurred_at, detail FROM event_record WHERE pointer = 0 "
                     "AND importance = 1")  # fmt: skip
            raw = record_at(conc.events, IMPORTANT, 0)
            event = EventRecord(raw[0], raw[1], raw[2:]).embedded()["event"]
            assert isinstance(event, PowerOffOn)
            assert event.power_off is not None
            assert erc == 14
            assert occurred == event.power_off.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
            assert detail["power_on"] == event.power_on.isoformat()  # type: ignore[union-attr]

            # 230 more important events: EC1 wraps to 14. Only they are read, from the
            # last stored pointer (39, the check) on.
            link.asked.clear()
            add_events(conc, IMPORTANT, 230, 100)
            await link.heartbeat()  # ACD with EC (14, 5)
            await until(lambda: state(dsn) == {1: 14, 2: 5} and not collector.busy)
            assert link.asked[0][:2] == (1, 39)
            covered = [
                (pm + i) % 256
                for _, pm, pn in link.asked
                for i in range((pn - pm) % 256)
            ]
            assert sorted(set(covered)) == sorted({(39 + i) % 256 for i in range(231)})
            assert all(fn == 1 for fn, _, _ in link.asked)
            assert query(
                dsn, "SELECT count(*) FROM event_record WHERE importance = 1"
            ) == [(270,)]
            assert query(dsn, "SELECT importance, erc, occurred_at FROM event_record "
                              "GROUP BY 1, 2, 3 HAVING count(*) > 1") == []  # fmt: skip

            # One more, pushed by the terminal (主动上报) right after it happened: it
            # is stored and moves the pointer without a single request.
            link.asked.clear()
            add_events(conc, IMPORTANT, 1, 400)
            link.report(IMPORTANT, 14, 15)
            await until(lambda: state(dsn) == {1: 15, 2: 5} and not collector.busy)
            assert link.asked == []
            assert query(dsn, "SELECT count(*) FROM event_record") == [(276,)]
        finally:
            await collector.stop()
