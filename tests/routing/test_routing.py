"""Routing across machines: the terminal directory and requests carried over MQTT.

Two head-end "machines" (workers with different ``node`` names) share one database and
one broker, as two front-end servers of a utility do; a request made on one reaches a
terminal logged in on the other.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiomqtt
import psycopg
import pytest

from headend.config import Settings
from headend.connections import CommEvent
from headend.pipeline import RequestError
from headend.routing import LinkDirectory
from headend.storage import migrate
from protocols.gdw1376 import DataUnit, Frame
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0c import TerminalClock
from tests.fixtures.mqtt import MqttBroker
from tests.headend.conftest import running
from tests.headend.terminals import TestTerminal
from tests.waiting import until

CLOCK = TerminalClock(datetime(2024, 5, 1, 12, 0, 0))


def answer_clock(term: TestTerminal, request: Frame) -> None:
    term.respond(request, [DataUnit(0, 2, CLOCK)])


def rows(dsn: str, sql: str) -> list[Any]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def event(kind: str, terminal: str, ts: float, **detail: Any) -> CommEvent:
    return CommEvent(ts, kind, terminal, "10.0.0.1:5000", detail)


async def test_directory_follows_the_holder_and_settles_the_status(pg_dsn: str) -> None:
    await migrate.upgrade(pg_dsn)
    said: list[tuple[str, str, bool, str]] = []

    def announcer(node: str) -> Callable[[str, bool, float, str, str], None]:
        return lambda t, online, since, peer, reason: said.append(
            (node, t, online, reason)
        )

    a = LinkDirectory(pg_dsn, "hn-a", 0, announcer("a"))
    b = LinkDirectory(pg_dsn, "hn-b", 1, announcer("b"))
    now = time.time()
    a.sink(event("login", "4403-00001", now))
    a.sink(event("login", "4403-00002", now))
    await a.flush()
    assert await b.lookup("4403-00001") == ("hn-a", 0)
    # met in the field, missing from the archive: recorded as discovered (待建档)
    assert rows(pg_dsn, "SELECT a1, a2, status FROM terminal ORDER BY a2") == [
        ("4403", 1, "discovered"), ("4403", 2, "discovered"),
    ]  # fmt: skip
    # The terminal re-dials and lands on the other machine before the old link closes.
    b.sink(event("login", "4403-00001", now + 1))
    await b.flush()
    a.sink(event("offline", "4403-00001", now + 2, reason="idle_timeout"))
    a.sink(event("offline", "4403-00002", now + 2, reason="closed"))
    await a.flush()
    assert await a.lookup("4403-00001") == ("hn-b", 1)
    assert await a.lookup("4403-00002") is None
    assert said == [
        ("a", "4403-00001", True, "login"),
        ("a", "4403-00002", True, "login"),
        ("b", "4403-00001", True, "login"),
        # a's late close of 00001 announces nothing: b holds it
        ("a", "4403-00002", False, "closed"),
    ]
    # A killed worker's rows are cleared (and announced offline) when it restarts.
    said.clear()
    await b.stop()
    again = LinkDirectory(pg_dsn, "hn-b", 1, announcer("b2"))
    await again.flush()
    assert said == [("b2", "4403-00001", False, "worker_restart")]
    assert rows(pg_dsn, "SELECT count(*) FROM terminal_link") == [(0,)]
    await a.stop()
    await again.stop()


async def test_directory_waits_out_a_database_outage() -> None:
    links = LinkDirectory("postgresql://nobody@127.0.0.1:1/none", "hn", 0)
    links.sink(event("login", "4403-00001", time.time()))
    try:
        await links.flush()
    except psycopg.OperationalError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the flush should have failed")
    assert list(links._pending) == ["4403-00001"]  # kept for the next attempt
    assert await links.lookup("4403-00001") is None  # unknown, not an error


async def test_request_reaches_a_terminal_on_another_machine(
    pg_dsn: str, mqtt_broker: MqttBroker, make_settings: Callable[..., Settings]
) -> None:
    common: dict[str, Any] = {
        "storage": True,
        "database_url": pg_dsn,
        "mqtt_url": mqtt_broker.url,
        "site": "t",
    }
    seen: list[dict[str, Any]] = []

    async def watch() -> None:
        host, port = mqtt_broker.url.removeprefix("mqtt://").split(":")
        async with aiomqtt.Client(host, int(port)) as client:
            await client.subscribe("headend/t/status/#", qos=1)
            async for message in client.messages:
                seen.append(json.loads(bytes(message.payload)))

    watcher = asyncio.create_task(watch(), name="test-status-watch")
    async with (
        running(make_settings(node="hn-a", **common)) as a,
        running(make_settings(node="hn-b", **common)) as b,
    ):
        assert a.bus is not None
        assert b.bus is not None
        async with asyncio.timeout(10):
            await a.bus.wait_connected()
            await b.bus.wait_connected()
        term = await TestTerminal.connect(b.port, 7, answer=answer_clock)
        await term.login()
        await until(lambda: bool(rows(pg_dsn, "SELECT 1 FROM terminal_link")))
        answer = await a.cluster.request((0x4403, 7), AFN.CLASS1, [DataUnit(0, 2)])
        assert answer.kind == "data"
        assert answer.units[0].data == CLOCK
        assert len(term.requests) == 1  # once, not once per QoS 1 delivery
        with pytest.raises(RequestError) as refused:
            await a.cluster.request((0x4403, 8), AFN.CLASS1, [DataUnit(0, 2)])
        assert refused.value.reason == "offline"
        await until(lambda: any(m.get("state") == "online" for m in seen))
        term.close()
        await until(lambda: any(m.get("state") == "offline" for m in seen))
    watcher.cancel()
    states = [(m["terminal"], m["state"], m["node"]) for m in seen]
    assert states == [
        ("4403-00007", "online", "hn-b"),
        ("4403-00007", "offline", "hn-b"),
    ]
