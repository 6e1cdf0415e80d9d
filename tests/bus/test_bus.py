"""The Bus against a private Mosquitto: round trips, retained status, outages, stop."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable

import pytest

from headend.bus import Bus, BusMessage, comm_event_sink
from headend.connections import CommEvent
from tests.bus.conftest import listen, publish_raw, until
from tests.fixtures.mqtt import MqttBroker

MakeBus = Callable[..., Bus]
TERMINAL = "4403-00001"


async def started(bus: Bus, within: float = 10.0) -> Bus:
    bus.start()
    async with asyncio.timeout(within):
        await bus.wait_connected()
    return bus


async def test_readings_and_events_round_trip_qos1(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    bus = await started(make_bus())
    async with listen(mqtt_broker.url, "headend/test/readings/#",
                      "headend/test/events/#") as inbox:  # fmt: skip
        rows = [{"meter_id": 1, "item_id": 1, "value": 12.5}]
        assert bus.publish_readings("reading_daily", TERMINAL, rows)
        assert bus.publish_event(TERMINAL, "events_pending", ts=time.time(), peer="p",
                                 detail={"ec1": 3})  # fmt: skip
        first, second = await inbox.wait_for(2)
    assert first.topic.value == f"headend/test/readings/reading_daily/{TERMINAL}"
    assert first.qos == 1
    assert not first.retain
    body = json.loads(first.payload)
    assert (body["v"], body["kind"], body["rows"]) == (1, "readings", rows)
    assert second.topic.value == f"headend/test/events/{TERMINAL}"
    assert json.loads(second.payload)["detail"] == {"ec1": 3}
    await until(lambda: bus.stats.published >= 3)  # presence + 2
    assert bus.stats.failed == 0


async def test_subscription_request_and_reply(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    """The routing layer's use: a per-worker request topic, replies published back."""
    bus = await started(make_bus())
    request_topic = bus.topics.node(bus.node, bus.worker, "request")
    reply_topic = bus.topics.node(bus.node, bus.worker, "reply")
    seen: list[BusMessage] = []

    async def on_request(message: BusMessage) -> None:
        seen.append(message)
        if message.payload == b"boom":
            raise RuntimeError("handler bug")
        bus.publish_nowait(reply_topic, b"re:" + message.payload)

    await bus.subscribe(request_topic, on_request)
    async with listen(mqtt_broker.url, reply_topic) as inbox:
        await publish_raw(mqtt_broker.url, request_topic, b"boom")
        await publish_raw(mqtt_broker.url, request_topic, b"42")
        (reply,) = await inbox.wait_for(1)
    assert reply.payload == b"re:42"
    assert [m.payload for m in seen] == [b"boom", b"42"]
    assert seen[1].topic == request_topic
    assert seen[1].qos == 1
    assert bus.stats.handler_errors == 1
    assert bus.connected
    await bus.unsubscribe(request_topic)
    await publish_raw(mqtt_broker.url, request_topic, b"late")
    await asyncio.sleep(0.2)
    assert len(seen) == 2


async def test_terminal_status_is_retained(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    bus = await started(make_bus())
    sink = comm_event_sink(bus)
    now = time.time()
    sink(CommEvent(now, "login", TERMINAL, "10.1.1.1:5000"))
    await until(lambda: bus.stats.published >= 3)
    status_topic = f"headend/test/status/{TERMINAL}"
    async with listen(mqtt_broker.url, status_topic) as inbox:  # a late consumer
        (online,) = await inbox.wait_for(1)
    assert online.retain
    body = json.loads(online.payload)
    assert (body["state"], body["peer"], body["reason"]) == ("online", "10.1.1.1:5000",
                                                             "login")  # fmt: skip
    sink(CommEvent(now + 1, "offline", TERMINAL, "10.1.1.1:5000", {"reason": "idle"}))
    await until(lambda: bus.stats.published >= 5)
    async with listen(mqtt_broker.url, status_topic) as inbox:
        (offline,) = await inbox.wait_for(1)
    assert offline.retain
    assert json.loads(offline.payload)["state"] == "offline"


async def test_presence_online_then_offline_on_stop(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    bus = await started(make_bus())
    presence = bus.topics.node("n1", bus.worker, "presence")
    async with listen(mqtt_broker.url, presence) as inbox:
        (online,) = await inbox.wait_for(1)
    assert online.retain
    assert json.loads(online.payload)["state"] == "online"
    await bus.stop()
    async with listen(mqtt_broker.url, presence) as inbox:
        (offline,) = await inbox.wait_for(1)
    body = json.loads(offline.payload)
    assert (body["state"], body["reason"]) == ("offline", "stopped")


async def test_outage_bounded_queue_then_delivery_after_reconnect(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    size = 100
    bus = await started(make_bus(queue_size=size, reconnect_max=0.4))
    received: list[bytes] = []

    async def collect(message: BusMessage) -> None:
        received.append(message.payload)

    await bus.subscribe("headend/test/readings/#", collect)
    topic = bus.topics.readings("reading_curve", TERMINAL)

    mqtt_broker.stop()
    await until(lambda: not bus.connected, within=10)
    worst = 0.0
    began = time.perf_counter()
    for i in range(10 * size):  # the caller never waits and never sees an error
        t = time.perf_counter()
        assert bus.publish_nowait(topic, f"{i}".encode())
        worst = max(worst, time.perf_counter() - t)
    elapsed = time.perf_counter() - began
    assert elapsed < 0.5, f"publish_nowait took {elapsed:.3f}s for {10 * size}"
    assert worst < 0.05
    assert bus.queued == size
    assert bus.stats.dropped_queue_full == 9 * size

    await asyncio.sleep(1.0)  # several reconnect attempts against a dead broker
    attempts = bus.stats.reconnects
    assert attempts >= 2
    assert bus._task is not None
    assert not bus._task.done()  # the client task survives the outage

    mqtt_broker.start()
    back = time.perf_counter()
    async with asyncio.timeout(10):
        await bus.wait_connected()
    # Back-off is bounded: reconnect_max (0.4 s) plus the connect itself.
    assert time.perf_counter() - back < 0.4 + 1.5
    # The subscription was made again before the queue was sent: the newest `size`
    # messages arrive, in order.
    await until(lambda: len(received) >= size, within=10)
    assert received == [f"{i}".encode() for i in range(9 * size, 10 * size)]
    assert bus.stats.published >= size


async def test_backoff_stays_bounded_during_a_long_outage(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    bus = await started(make_bus(reconnect_min=0.02, reconnect_max=0.2))
    mqtt_broker.stop()
    await until(lambda: not bus.connected)
    start = bus.stats.reconnects
    await asyncio.sleep(2.0)
    attempts = bus.stats.reconnects - start
    # Delays grow from 0.02 s and stop at [0.1, 0.2] s: about 10 to 20 in 2 s.
    assert 6 <= attempts <= 40, attempts
    mqtt_broker.start()
    async with asyncio.timeout(0.2 + 2):
        await bus.wait_connected()


async def test_stop_flushes_within_deadline(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    bus = await started(make_bus(stop_timeout=3.0))
    received: list[bytes] = []
    n = 2000
    async with listen(mqtt_broker.url, "headend/test/flush") as inbox:
        for i in range(n):
            bus.publish_nowait("headend/test/flush", f"{i}".encode())
        began = time.perf_counter()
        await bus.stop()
        assert time.perf_counter() - began < 3.0
        assert bus.stats.published == n + 2  # with presence online and offline
        assert bus.stats.dropped_shutdown == 0
        received = [m.payload for m in await inbox.wait_for(n)]
    assert received == [f"{i}".encode() for i in range(n)]


async def test_stop_against_a_hung_broker_keeps_its_deadline(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    bus = await started(make_bus(stop_timeout=0.5))
    mqtt_broker.pause()  # accepts bytes, never answers: no PUBACK will come
    try:
        for i in range(500):
            bus.publish_nowait("headend/test/hung", f"{i}".encode())
        began = time.perf_counter()
        await bus.stop()
        took = time.perf_counter() - began
    finally:
        mqtt_broker.resume()
    assert took < 0.5 + 3.5, took
    assert bus.stats.published + bus.stats.dropped_shutdown >= 500


async def test_stop_while_broker_down_is_quick(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    mqtt_broker.stop()
    bus = make_bus(stop_timeout=5.0)
    bus.start()
    for i in range(10):
        bus.publish_nowait("headend/test/x", f"{i}".encode())
    await asyncio.sleep(0.3)
    began = time.perf_counter()
    await bus.stop()
    assert time.perf_counter() - began < 1.0
    assert bus.stats.dropped_shutdown == 10
    assert not bus.connected


async def test_start_twice_is_an_error(make_bus: MakeBus) -> None:
    bus = make_bus()
    bus.start()
    with pytest.raises(RuntimeError, match="already started"):
        bus.start()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc")
async def test_hung_broker_at_connect_leaks_nothing(
    mqtt_broker: MqttBroker, make_bus: MakeBus
) -> None:
    """TCP accepted, CONNACK never sent: every attempt times out and is closed."""
    before = _open_fds()
    mqtt_broker.pause()
    try:
        bus = make_bus(connect_timeout=0.3, reconnect_min=0.05, reconnect_max=0.1,
                       stop_timeout=0.5)  # fmt: skip
        bus.start()
        await until(lambda: bus.stats.reconnects >= 3, within=10)
        assert not bus.connected
        began = time.perf_counter()
        await bus.stop()
        # A connect under way is never cancelled: it ends on its own CONNACK timeout.
        assert time.perf_counter() - began < 0.5 + 0.3 + 6
    finally:
        mqtt_broker.resume()
    await until(lambda: _open_fds() <= before, within=5)
