"""Bus test helpers: buses stopped after each test, a plain subscriber, no leaked tasks."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import pytest

from headend.bus import Broker, Bus, BusSettings
from tests.fixtures.mqtt import MqttBroker

#: Short timers so that outages and reconnects fit in a test.
FAST: dict[str, Any] = {
    "reconnect_min": 0.05,
    "reconnect_max": 0.4,
    "stop_timeout": 2.0,
    "keepalive": 5,
    "connect_timeout": 2.0,
    "publish_timeout": 5.0,
}


async def settle() -> None:
    """Loop turns for callbacks scheduled from aiomqtt's socket callbacks."""
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    yield
    await settle()
    leaked = asyncio.all_tasks() - {asyncio.current_task()}
    assert not leaked, f"tasks left running: {leaked}"


@pytest.fixture
async def make_bus(mqtt_broker: MqttBroker) -> AsyncIterator[Callable[..., Bus]]:
    buses: list[Bus] = []

    def make(**overrides: Any) -> Bus:
        bus = Bus(
            mqtt_broker.url,
            site="test",
            node="n1",
            worker=len(buses),
            settings=BusSettings(**{**FAST, **overrides}),
        )
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.stop()


class Collector:
    """Messages received by a test subscriber, with a bounded wait."""

    def __init__(self) -> None:
        self.messages: list[aiomqtt.Message] = []
        self._changed = asyncio.Event()

    def add(self, message: aiomqtt.Message) -> None:
        self.messages.append(message)
        self._changed.set()

    async def wait_for(self, count: int, within: float = 10.0) -> list[aiomqtt.Message]:
        async with asyncio.timeout(within):
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.messages


@contextlib.asynccontextmanager
async def listen(url: str, *filters: str) -> AsyncIterator[Collector]:
    """A plain aiomqtt subscriber (QoS 1), independent of the Bus under test."""
    broker = Broker.from_url(url)
    collector = Collector()
    client = aiomqtt.Client(
        broker.host, broker.port, identifier=f"test-{uuid.uuid4().hex[:8]}"
    )
    async with client:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)

        async def pump() -> None:
            async for message in client.messages:
                collector.add(message)

        task = asyncio.create_task(pump(), name="test-subscriber")
        try:
            yield collector
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task
    await settle()


async def publish_raw(
    url: str, topic: str, payload: bytes, *, retain: bool = False
) -> None:
    broker = Broker.from_url(url)
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.publish(topic, payload, qos=1, retain=retain)
    await settle()


async def until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``predicate`` every 10 ms, at most ``within`` seconds."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - plain counters, no event to wait on
            await asyncio.sleep(0.01)
