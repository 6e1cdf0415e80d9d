"""The connection server over loopback, with test-side concentrators (issue 3).

Every behaviour of the connection life, the registry and the request pipeline, and the
faults: silent sockets, idle links, garbage, duplicate logins, unknown terminals,
terminals that never answer, links that drop mid-request, shutdown with work in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

import pytest

from headend.app import Worker
from headend.config import Settings
from headend.pipeline import Priority, RequestError
from protocols.gdw1376 import DataUnit, Frame
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0c import TerminalClock
from tests.headend.conftest import api, running
from tests.headend.terminals import TestTerminal
from tests.vectors import vector

KEY = (0x4403, 7)
CLOCK = TerminalClock(datetime(2024, 5, 1, 12, 0, 0))


async def until(cond: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def deny(term: TestTerminal, request: Frame) -> None:
    term.session.deny(request)
    term.flush()


def answer_clock(term: TestTerminal, request: Frame) -> None:
    term.respond(request, [DataUnit(0, 2, CLOCK)])


async def test_login_heartbeat_and_api(worker: Worker) -> None:
    term = await TestTerminal.connect(worker.port, 7)
    await term.login()
    assert await term.heartbeat() < 1.0
    async with api(worker) as client:
        listed = (await client.get("/api/v1/terminals")).json()
        assert [t["address"] for t in listed] == ["4403-00007"]
        assert listed[0]["peer"].startswith("127.0.0.1:")
        assert (
            await client.get("/api/v1/terminals", headers={"Authorization": ""})
        ).status_code == 401
        assert (
            await client.get(
                "/api/v1/terminals", headers={"Authorization": "Bearer nope"}
            )
        ).status_code == 401
        health = (await client.get("/healthz")).json()
        assert health["online"] == 1
        text = (await client.get("/metrics")).text
        assert "headend_heartbeats_total" in text
        assert "headend_terminals_online 1.0" in text
    kinds = [e.kind for e in worker.connections.log]
    assert kinds == ["login"]


async def test_heartbeat_is_confirmed_while_a_request_waits(worker: Worker) -> None:
    term = await TestTerminal.connect(worker.port, 7)  # answers nothing
    await term.login()
    pending = asyncio.create_task(
        worker.connections.request(KEY, AFN.CLASS1, [DataUnit(0, 2)])
    )
    await until(lambda: bool(term.requests))
    assert await term.heartbeat() < 0.5
    pending.cancel()


async def test_request_and_answer(worker: Worker) -> None:
    term = await TestTerminal.connect(worker.port, 7, answer=answer_clock)
    await term.login()
    answer = await worker.connections.request(KEY, AFN.CLASS1, [DataUnit(0, 2)])
    assert answer.kind == "data"
    assert answer.units[0].data == CLOCK
    assert term.requests[0].msa == 1


async def test_priority_order_on_the_wire(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(make_settings()) as worker:
        term = await TestTerminal.connect(worker.port, 7)
        await term.login()
        conns = worker.connections
        first = asyncio.create_task(conns.request(KEY, AFN.CLASS1, [DataUnit(0, 2)]))
        await until(lambda: len(term.requests) == 1)
        # Different Fns tell the requests apart on the wire.
        by_priority = {
            Priority.SCHEDULED: 3,
            Priority.RECOLLECT: 4,
            Priority.ON_DEMAND: 5,
            Priority.CONTROL: 6,
        }
        tasks = [
            asyncio.create_task(
                conns.request(KEY, AFN.CONFIG, [DataUnit(0, fn)], priority=p)
            )
            for p, fn in by_priority.items()
        ]
        await asyncio.sleep(0.05)
        assert len(term.requests) == 1  # window 1: the others wait
        term.answer = deny
        term.session.deny(term.requests[0])
        term.flush()
        await asyncio.gather(first, *tasks)
        fns = [r.units[0].fn for r in term.requests[1:]]
        assert fns == [6, 5, 4, 3]  # control, on-demand, re-collection, scheduled


async def test_window_two_keeps_two_in_flight(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(make_settings(session={"window": 2})) as worker:
        term = await TestTerminal.connect(worker.port, 7)
        await term.login()
        tasks = [
            asyncio.create_task(
                worker.connections.request(KEY, AFN.CLASS1, [DataUnit(0, 2)])
            )
            for _ in range(3)
        ]
        await until(lambda: len(term.requests) == 2)
        await asyncio.sleep(0.05)
        assert len(term.requests) == 2
        term.answer = answer_clock
        for r in list(term.requests):
            answer_clock(term, r)
        await asyncio.gather(*tasks)
        assert len(term.requests) == 3


async def test_timeout_with_retries_then_failure(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(session={"timeout": 0.2, "retries": 2, "backoff": 1.0})
    async with running(settings) as worker:
        term = await TestTerminal.connect(worker.port, 7)  # never answers
        await term.login()
        with pytest.raises(RequestError) as failed:
            await worker.connections.request(KEY, AFN.CLASS1, [DataUnit(0, 2)])
        assert failed.value.reason == "timeout"
        # Sent once, retransmitted twice with the same bytes (same PSEQ).
        raws = [r.raw for r in term.requests]
        assert len(raws) == 3
        assert len(set(raws)) == 1


async def test_offline_terminal_fails_pending_requests(worker: Worker) -> None:
    term = await TestTerminal.connect(worker.port, 7)
    await term.login()
    conns = worker.connections
    inflight = asyncio.create_task(conns.request(KEY, AFN.CLASS1, [DataUnit(0, 2)]))
    queued = asyncio.create_task(conns.request(KEY, AFN.CLASS1, [DataUnit(0, 2)]))
    await until(lambda: len(term.requests) == 1)
    term.close()
    for task in (inflight, queued):
        with pytest.raises(RequestError) as failed:
            await task
        assert failed.value.reason == "offline"
    with pytest.raises(RequestError, match="offline"):
        await conns.request(KEY, AFN.CLASS1, [DataUnit(0, 2)])
    await until(lambda: [e.kind for e in conns.log][-1] == "offline")


async def test_multi_frame_answer(worker: Worker) -> None:
    from datetime import date

    from protocols.gdw1376.units.afn0d import DailyActiveReading, TdDaily

    def answer(term: TestTerminal, request: Frame) -> None:
        term.respond(
            request,
            [
                DataUnit(
                    u.pn,
                    161,
                    DailyActiveReading(
                        date(2024, 5, 1),
                        datetime(2024, 5, 2),
                        4,
                        [1.0, 0.25, 0.25, 0.25, 0.25],
                    ),
                )
                for u in request.units
            ],
        )

    term = await TestTerminal.connect(worker.port, 7, answer=answer, max_l1=200)
    await term.login()
    units = [DataUnit(pn, 161, TdDaily(date(2024, 5, 1))) for pn in range(1, 31)]
    result = await worker.connections.request(KEY, AFN.CLASS2, units)
    assert len(result.frames) > 3
    assert [u.pn for u in result.units] == list(range(1, 31))


async def test_login_watchdog(make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(limits={"login_timeout": 0.2})) as worker:
        term = await TestTerminal.connect(worker.port, 7)
        await asyncio.wait_for(term.closed.wait(), 3)
        assert not worker.connections.open


async def test_idle_timeout(make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(limits={"idle_timeout": 0.3})) as worker:
        term = await TestTerminal.connect(worker.port, 7)
        await term.login()
        await asyncio.wait_for(term.closed.wait(), 3)
        assert [e.kind for e in worker.connections.log] == ["login", "offline"]
        assert worker.connections.log[-1].detail["reason"] == "idle"


async def test_second_login_replaces_and_records_the_ip_change(worker: Worker) -> None:
    first = await TestTerminal.connect(worker.port, 7, local="127.0.0.2")
    await first.login()
    conns = worker.connections
    inflight = asyncio.create_task(conns.request(KEY, AFN.CLASS1, [DataUnit(0, 2)]))
    queued = asyncio.create_task(conns.request(KEY, AFN.CLASS1, [DataUnit(0, 2)]))
    await until(lambda: len(first.requests) == 1)
    second = await TestTerminal.connect(
        worker.port, 7, local="127.0.0.3", answer=answer_clock
    )
    await second.login()
    await asyncio.wait_for(first.closed.wait(), 3)
    replaced = [e for e in conns.log if e.kind == "replaced"]
    assert len(replaced) == 1
    assert replaced[0].detail["old_peer"].startswith("127.0.0.2:")
    assert replaced[0].detail["new_peer"].startswith("127.0.0.3:")
    with pytest.raises(RequestError, match="replaced"):
        await inflight
    assert (await queued).kind == "data"  # the waiting request moved to the new link
    assert conns.find(KEY) is not None
    assert conns.find(KEY).peer.startswith("127.0.0.3:")  # type: ignore[union-attr]
    assert len(conns.registry) == 1


async def test_unknown_terminal_policies(
    make_settings: Callable[..., Settings],
) -> None:
    known = {"known_terminals": ["4403-00007"]}
    async with running(make_settings(unknown_terminals="reject", **known)) as worker:
        ok = await TestTerminal.connect(worker.port, 7)
        await ok.login()
        stranger = await TestTerminal.connect(worker.port, 8)
        stranger.session.connect(time.time())
        stranger.flush()
        await asyncio.wait_for(stranger.closed.wait(), 3)
        assert stranger.confirmed.empty()  # never confirmed
        assert [e.kind for e in worker.connections.log] == ["login", "rejected"]
    async with running(make_settings(unknown_terminals="accept", **known)) as worker:
        stranger = await TestTerminal.connect(worker.port, 8)
        await stranger.login()
        assert [e.kind for e in worker.connections.log] == ["login_unknown"]


async def test_garbage_and_error_budget(make_settings: Callable[..., Settings]) -> None:
    async with running(make_settings(limits={"error_budget": 3})) as worker:
        term = await TestTerminal.connect(worker.port, 7)
        assert term.transport is not None
        term.transport.write(b"\x00\x68\x01garbage\x16" + vector("T01") + b"\xff\xff")
        await until(lambda: worker.connections.find((0x0171, 2082)) is not None)
        for _ in range(5):
            term.transport.write(b"junk-without-a-frame")
            await asyncio.sleep(0.02)
        await asyncio.wait_for(term.closed.wait(), 3)
        assert worker.connections.log[-1].detail["reason"] == "error_budget"


async def test_other_protocols_are_detected_and_refused(worker: Worker) -> None:
    term = await TestTerminal.connect(worker.port, 7)
    assert term.transport is not None
    term.transport.write(vector("T12"))  # a DL/T 645 frame where 1376.1 was expected
    await asyncio.wait_for(term.closed.wait(), 3)


async def test_heartbeat_without_login_counts_as_login(worker: Worker) -> None:
    term = await TestTerminal.connect(worker.port, 7)
    assert term.transport is not None
    term.transport.write(vector("T02"))  # a 2009 heartbeat, no login first
    await until(lambda: worker.connections.find((0x0171, 2082)) is not None)
    assert [e.kind for e in worker.connections.log] == ["login_by_heartbeat"]


async def test_logout_closes(worker: Worker) -> None:
    term = await TestTerminal.connect(worker.port, 7)
    await term.login()
    term.session.logout(time.time())
    term.flush()
    await asyncio.wait_for(term.closed.wait(), 3)
    assert [e.kind for e in worker.connections.log][:2] == ["login", "logout"]


async def test_graceful_shutdown_drains_in_flight(
    make_settings: Callable[..., Settings],
) -> None:
    worker = Worker(make_settings(limits={"drain_timeout": 3}))
    await worker.start()
    term = await TestTerminal.connect(worker.port, 7)
    await term.login()
    conns = worker.connections
    request = asyncio.create_task(conns.request(KEY, AFN.CLASS1, [DataUnit(0, 2)]))
    await until(lambda: len(term.requests) == 1)
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0.1)
    with pytest.raises(ConnectionRefusedError):  # no longer accepting
        await asyncio.wait_for(TestTerminal.connect(worker.port, 8), 1)
    answer_clock(term, term.requests[0])  # answered during the drain
    assert (await request).kind == "data"
    await asyncio.wait_for(stopping, 5)
    await asyncio.wait_for(term.closed.wait(), 3)
