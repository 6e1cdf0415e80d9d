"""Topics, v1 payloads, URL parsing, back-off and the queue, without a broker."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from headend.bus import (
    Broker,
    Bus,
    BusSettings,
    Topics,
    _Outgoing,
    backoff_delay,
    comm_event_sink,
    encode_event,
    encode_readings,
    encode_status,
    iso_time,
)
from headend.connections import CommEvent, Sink

T0 = 1_700_000_000.125  # 2023-11-14T22:13:20.125Z


def bus(**settings: object) -> Bus:
    return Bus("mqtt://127.0.0.1:1", site="sz", node="hn1", worker=2,
               settings=BusSettings.model_validate(settings))  # fmt: skip


def queued(b: Bus) -> list[_Outgoing]:
    return list(b._queue)


# --- configuration ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://broker", Broker("broker", 1883)),
        ("mqtt://broker:1884/", Broker("broker", 1884)),
        ("mqtts://broker", Broker("broker", 8883, tls=True)),
        ("mqtt://u:p%40ss@10.0.0.1:2000", Broker("10.0.0.1", 2000, False, "u", "p@ss")),
        ("mqtt://u@h", Broker("h", 1883, False, "u", None)),
        ("mqtt://[::1]:1885", Broker("::1", 1885)),
    ],
)
def test_broker_url(url: str, expected: Broker) -> None:
    assert Broker.from_url(url) == expected


def test_broker_url_hides_password() -> None:
    assert "secret" not in repr(Broker.from_url("mqtt://u:secret@h"))


@pytest.mark.parametrize(
    "url",
    ["http://h", "mqtt://", "mqtt://h/topic", "mqtt://h?x=1", "mqtt://h:notaport",
     "mqtt://h:70000", "h:1883"],
)  # fmt: skip
def test_broker_url_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="MQTT URL"):
        Broker.from_url(url)


def test_settings_defaults_and_bounds() -> None:
    s = BusSettings()
    assert s.queue_size == 100_000
    assert s.prefix == "headend"
    assert s.reconnect_min <= s.reconnect_max
    with pytest.raises(ValidationError):
        BusSettings(reconnect_min=5, reconnect_max=1)
    with pytest.raises(ValidationError):
        BusSettings(queue_size=0)
    with pytest.raises(ValidationError):
        BusSettings.model_validate({"unknown": 1})


def test_client_id_from_node_and_worker() -> None:
    assert bus().client_id == "headend-sz-hn1-2"
    assert bus(client_id="fixed").client_id == "fixed"


@pytest.mark.parametrize("attempt", range(40))
def test_backoff_bounded_with_jitter(attempt: int) -> None:
    low, high = 0.5, 30.0
    ceiling = min(high, low * 2**attempt)
    assert backoff_delay(attempt, low, high, rand=lambda: 0.0) == pytest.approx(
        ceiling / 2
    )
    assert backoff_delay(attempt, low, high, rand=lambda: 1.0) == pytest.approx(ceiling)
    assert 0 < backoff_delay(attempt, low, high) <= high


def test_backoff_jitter_spreads() -> None:
    delays = {backoff_delay(5, 0.5, 30.0) for _ in range(50)}
    assert len(delays) > 10


# --- topics -------------------------------------------------------------------------


def test_topic_scheme() -> None:
    t = Topics("headend", "sz")
    assert t.readings("reading_daily", "4403-00001") == (
        "headend/sz/readings/reading_daily/4403-00001"
    )
    assert t.events("4403-00001") == "headend/sz/events/4403-00001"
    assert t.status("4403-00001") == "headend/sz/status/4403-00001"
    assert t.node("hn1", 3) == "headend/sz/node/hn1/3"
    assert t.node("hn1", 3, "request") == "headend/sz/node/hn1/3/request"


@pytest.mark.parametrize("bad", ["", "a/b", "a+", "#", "x\0"])
def test_topic_levels_validated(bad: str) -> None:
    t = Topics("headend", "sz")
    with pytest.raises(ValueError, match="topic level"):
        t.events(bad)
    with pytest.raises(ValueError, match="topic level"):
        Topics("headend", bad)


# --- payloads -----------------------------------------------------------------------


def test_iso_time() -> None:
    assert iso_time(T0) == "2023-11-14T22:13:20.125Z"
    assert iso_time(0) == "1970-01-01T00:00:00.000Z"


def test_readings_payload() -> None:
    row = {
        "meter_id": 7, "item_id": 1, "day": date(2024, 3, 1),
        "value": Decimal("12345.67"), "read_at": datetime(2024, 3, 1, 0, 5, tzinfo=UTC),
        "received_at": datetime(2024, 3, 1, 0, 6, 30, 250000, tzinfo=UTC),
        "terminal_id": 12, "source": 1, "raw": b"\x12\x34", "run": uuid.UUID(int=1),
        "名称": "台区一",
    }  # fmt: skip
    data = encode_readings("reading_daily", "4403-00001", [row], ts=T0, node="hn1",
                           worker=0)  # fmt: skip
    assert "台区一".encode() in data  # UTF-8, not \u escapes
    assert json.loads(data) == {
        "v": 1, "kind": "readings", "table": "reading_daily", "terminal": "4403-00001",
        "ts": "2023-11-14T22:13:20.125Z", "node": "hn1", "worker": 0,
        "rows": [{
            "meter_id": 7, "item_id": 1, "day": "2024-03-01", "value": 12345.67,
            "read_at": "2024-03-01T00:05:00.000Z",
            "received_at": "2024-03-01T00:06:30.250Z", "terminal_id": 12, "source": 1,
            "raw": "1234", "run": "00000000-0000-0000-0000-000000000001",
            "名称": "台区一",
        }],
    }  # fmt: skip


def test_event_and_status_payloads() -> None:
    event = json.loads(encode_event("4403-00001", "replaced", ts=T0, peer="10.0.0.2:5",
                                    node="hn1", worker=1,
                                    detail={"old_peer": "10.0.0.1:4"}))  # fmt: skip
    assert event == {
        "v": 1, "kind": "event", "event": "replaced", "terminal": "4403-00001",
        "ts": "2023-11-14T22:13:20.125Z", "peer": "10.0.0.2:5", "node": "hn1",
        "worker": 1, "detail": {"old_peer": "10.0.0.1:4"},
    }  # fmt: skip
    status = json.loads(encode_status("4403-00001", online=False, since=T0, peer="p",
                                      reason="idle", node="hn1", worker=1))  # fmt: skip
    assert status == {
        "v": 1, "kind": "status", "terminal": "4403-00001", "state": "offline",
        "since": "2023-11-14T22:13:20.125Z", "peer": "p", "reason": "idle",
        "node": "hn1", "worker": 1,
    }  # fmt: skip


def test_unencodable_values_raise_for_the_encoder() -> None:
    with pytest.raises(ValueError, match="JSON"):
        encode_readings("t", "x", [{"v": math.nan}], ts=T0, node="n", worker=0)
    with pytest.raises(TypeError):
        encode_readings("t", "x", [{"v": object()}], ts=T0, node="n", worker=0)


# --- the queue (no broker, no task) -------------------------------------------------


def test_publish_nowait_drops_oldest_and_counts() -> None:
    b = bus(queue_size=10)
    for i in range(100):
        assert b.publish_nowait("headend/sz/x", str(i)) is True
    assert b.queued == 10
    assert b.stats.dropped_queue_full == 90
    assert [m.payload for m in queued(b)] == [str(i).encode() for i in range(90, 100)]


@pytest.mark.parametrize(
    ("topic", "payload", "qos"),
    [
        ("", b"x", 1),
        ("headend/+/x", b"x", 1),
        ("headend/#", b"x", 1),
        ("a\0b", b"x", 1),
        ("x" * 70_000, b"x", 1),
        ("中" * 25_000, b"x", 1),
        ("headend/ok", b"x" * 2048, 1),  # max_payload below
        ("headend/ok", "\udcff", 1),  # not encodable as UTF-8
        ("headend/ok", None, 1),
        (None, b"x", 1),
        ("headend/ok", b"x", 3),
    ],
)
def test_publish_nowait_never_raises(topic: object, payload: object, qos: int) -> None:
    b = bus(max_payload=1024)
    assert b.publish_nowait(topic, payload, qos=qos) is False  # type: ignore[arg-type]
    assert b.stats.dropped_invalid == 1
    assert b.queued == 0


def test_helpers_never_raise() -> None:
    b = bus()
    assert b.publish_readings("reading/daily", "4403-00001", []) is False
    assert b.publish_readings("t", "4403-00001", [{"v": math.nan}]) is False
    assert b.publish_event("bad+", "login", ts=T0) is False
    assert (
        b.publish_status("", online=True, since=T0, peer=None, reason="login") is False
    )
    assert b.stats.dropped_invalid == 4
    assert b.publish_readings("reading_daily", "4403-00001", [{"v": 1}]) is True


async def test_publish_after_stop_is_refused() -> None:
    b = bus()
    b.publish_nowait("headend/sz/x", b"1")
    await b.stop()  # never started: what was queued is dropped, counted
    assert b.stats.dropped_shutdown == 1
    assert b.publish_nowait("headend/sz/x", b"2") is False
    assert b.stats.dropped_shutdown == 2


def test_requeue_keeps_order_and_bound() -> None:
    b = bus(queue_size=5)
    for i in range(3):
        b.publish_nowait("headend/sz/q", f"q{i}")
    inflight = [_Outgoing("headend/sz/f", f"f{i}".encode(), False, 1) for i in range(4)]
    b._inflight.update(dict.fromkeys(inflight))
    b._requeue()
    # 4 unacknowledged, room for 2: the two oldest of them are dropped (drop-oldest).
    assert [m.payload for m in queued(b)] == [b"f2", b"f3", b"q0", b"q1", b"q2"]
    assert b.stats.failed == 4
    assert b.stats.dropped_queue_full == 2


# --- communication log → bus --------------------------------------------------------


def _decoded(b: Bus) -> list[tuple[str, bool, dict[str, object]]]:
    return [(m.topic, m.retain, json.loads(m.payload)) for m in queued(b)]


def test_comm_event_sink() -> None:
    b = bus()
    sinks: list[Sink] = [comm_event_sink(b)]  # type-checks against Connections.sinks
    events = [
        CommEvent(T0, "connected", None, "10.0.0.1:4000"),
        CommEvent(T0, "login", "4403-00001", "10.0.0.1:4000"),
        CommEvent(T0 + 1, "replaced", "4403-00001", "10.0.0.2:4001",
                  {"old_peer": "10.0.0.1:4000", "new_peer": "10.0.0.2:4001"}),
        CommEvent(T0 + 2, "logout", "4403-00001", "10.0.0.2:4001"),
        CommEvent(T0 + 3, "offline", "4403-00001", "10.0.0.2:4001", {"reason": "logout"}),
        CommEvent(T0 + 4, "events_pending", "4403-00002", "p", {"ec1": 1, "ec2": 2}),
    ]  # fmt: skip
    for event in events:
        for sink in sinks:
            sink(event)
    out = _decoded(b)
    topics = [(topic, retain) for topic, retain, _ in out]
    assert topics == [
        ("headend/sz/status/4403-00001", True),
        ("headend/sz/events/4403-00001", False),
        ("headend/sz/status/4403-00001", True),
        ("headend/sz/events/4403-00001", False),
        ("headend/sz/events/4403-00001", False),
        ("headend/sz/status/4403-00001", True),
        ("headend/sz/events/4403-00001", False),
        ("headend/sz/events/4403-00002", False),
    ]
    statuses = [p for t, _, p in out if "/status/" in t]
    assert [(s["state"], s["peer"], s["reason"]) for s in statuses] == [
        ("online", "10.0.0.1:4000", "login"),
        ("online", "10.0.0.2:4001", "replaced"),
        ("offline", "10.0.0.2:4001", "logout"),
    ]
    assert statuses[2]["since"] == iso_time(T0 + 3)
    assert statuses[0]["node"] == "hn1"
    assert statuses[0]["worker"] == 2
    replaced = out[3][2]
    assert replaced["event"] == "replaced"
    assert replaced["detail"] == {
        "old_peer": "10.0.0.1:4000",
        "new_peer": "10.0.0.2:4001",
    }


def test_long_topics_measured_in_utf8_bytes() -> None:
    b = bus()
    assert b.publish_nowait("x" * 65_535, b"1")
    assert b.publish_nowait("中" * 21_845, b"1")  # 65,535 bytes
    assert not b.publish_nowait("中" * 21_846, b"1")
