"""Every Prometheus metric of the head-end, declared here and nowhere else (STYLE H5).

Labels are bounded enums (AFN, reason, result); a terminal address is never a label.
With ``--workers N`` the supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` and each worker
writes its samples there; whichever worker answers ``/metrics`` aggregates them all.
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

AFN_LABELS: Final = tuple(f"{afn:02X}" for afn in range(0x11))

CONNECTIONS_OPEN = Gauge(
    "headend_connections_open",
    "TCP/serial connections open, logged in or not",
    multiprocess_mode="livesum",
)
TERMINALS_ONLINE = Gauge(
    "headend_terminals_online",
    "Terminals logged in (在线终端)",
    multiprocess_mode="livesum",
)
LOGINS = Counter(
    "headend_logins_total", "Terminal logins (AFN02 F1, or a first heartbeat)"
)
LOGOUTS = Counter("headend_logouts_total", "Terminal logouts (AFN02 F2)")
HEARTBEATS = Counter("headend_heartbeats_total", "Heartbeats confirmed (AFN02 F3)")
REPLACED = Counter(
    "headend_sessions_replaced_total",
    "Logins for an address already online: the old connection was replaced",
)
CLOSED = Counter(
    "headend_connections_closed_total", "Connections closed, by reason", ["reason"]
)
FRAMES_IN = Counter("headend_frames_in_total", "Frames received, by AFN", ["afn"])
FRAMES_OUT = Counter("headend_frames_out_total", "Frames sent, by AFN", ["afn"])
BYTES_IN = Counter("headend_bytes_in_total", "Bytes received from terminals")
BYTES_OUT = Counter("headend_bytes_out_total", "Bytes sent to terminals")
DECODE_ERRORS = Counter(
    "headend_decode_errors_total",
    "Discarded bytes runs and bad frames, by reason",
    ["reason"],
)
REQUESTS = Counter(
    "headend_requests_total",
    "Requests to terminals, by AFN and result",
    ["afn", "result"],
)
REQUEST_SECONDS = Histogram(
    "headend_request_seconds",
    "Time from sending a request to its answer",
    ["afn"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
TIMEOUTS = Counter("headend_request_timeouts_total", "Requests that got no answer")
RETRIES = Counter(
    "headend_request_retries_total", "Request retransmissions (same PSEQ)"
)
QUEUE_DEPTH = Gauge(
    "headend_request_queue_depth",
    "Requests waiting for a terminal's in-flight window",
    multiprocess_mode="livesum",
)
IN_FLIGHT = Gauge(
    "headend_requests_in_flight",
    "Requests sent and not yet answered",
    multiprocess_mode="livesum",
)

# Pre-bound children: no label lookup on the per-frame path.
FRAMES_IN_BY_AFN: Final = {
    i: FRAMES_IN.labels(afn=label) for i, label in enumerate(AFN_LABELS)
}
FRAMES_OUT_BY_AFN: Final = {
    i: FRAMES_OUT.labels(afn=label) for i, label in enumerate(AFN_LABELS)
}
FRAMES_IN_OTHER: Final = FRAMES_IN.labels(afn="other")
FRAMES_OUT_OTHER: Final = FRAMES_OUT.labels(afn="other")


class Tally:
    """Per-frame counts kept as plain integers on the hot path.

    A Prometheus increment takes a lock and, with several workers, writes a shared
    file: too dear five times per heartbeat. The connection code adds to these
    integers and the sweeper (and ``/metrics``) pushes the sums to Prometheus.
    """

    __slots__ = ("bytes_in", "bytes_out", "frames_in", "frames_out", "heartbeats")

    def __init__(self) -> None:
        self.bytes_in = 0
        self.bytes_out = 0
        self.heartbeats = 0
        self.frames_in = [0] * (len(AFN_LABELS) + 1)  # by AFN, then "other"
        self.frames_out = [0] * (len(AFN_LABELS) + 1)

    def frame_in(self, afn: int, n: int = 1) -> None:
        self.frames_in[afn if 0 <= afn < len(AFN_LABELS) else -1] += n

    def frame_out(self, afn: int, n: int = 1) -> None:
        self.frames_out[afn if 0 <= afn < len(AFN_LABELS) else -1] += n

    def flush(self) -> None:
        if self.bytes_in:
            BYTES_IN.inc(self.bytes_in)
            self.bytes_in = 0
        if self.bytes_out:
            BYTES_OUT.inc(self.bytes_out)
            self.bytes_out = 0
        if self.heartbeats:
            HEARTBEATS.inc(self.heartbeats)
            self.heartbeats = 0
        for counts, children, other in (
            (self.frames_in, FRAMES_IN_BY_AFN, FRAMES_IN_OTHER),
            (self.frames_out, FRAMES_OUT_BY_AFN, FRAMES_OUT_OTHER),
        ):
            for i, n in enumerate(counts):
                if n:
                    (children[i] if i < len(AFN_LABELS) else other).inc(n)
                    counts[i] = 0


def afn_label(afn: int) -> str:
    return AFN_LABELS[afn] if 0 <= afn < len(AFN_LABELS) else "other"


def exposition() -> tuple[bytes, str]:
    """The current metrics in the text format, aggregated over workers if any."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


# --- MQTT bus (headend/bus.py, docs/mqtt.md) ----------------------------------------

BUS_PUBLISHED = Counter(
    "headend_bus_published_total",
    "MQTT messages the broker acknowledged (QoS 1 PUBACK)",
)
BUS_DROPPED = Counter(
    "headend_bus_dropped_total",
    "MQTT messages that never reached the broker (消息丢弃), by reason: queue_full "
    "(the oldest queued was dropped), invalid (bad topic or payload), shutdown "
    "(still queued when the bus stopped)",
    ["reason"],
)
BUS_FAILED = Counter(
    "headend_bus_publish_failures_total",
    "Publishes left without PUBACK by a lost connection (queued again, sent again)",
)
BUS_RECONNECTS = Counter(
    "headend_bus_reconnects_total",
    "Connection attempts to the MQTT broker after a failure or a lost connection",
)
BUS_RECEIVED = Counter(
    "headend_bus_received_total", "MQTT messages received on the bus's subscriptions"
)
BUS_HANDLER_ERRORS = Counter(
    "headend_bus_handler_errors_total", "Subscription callbacks that raised"
)
BUS_QUEUE_DEPTH = Gauge(
    "headend_bus_queue_depth",
    "MQTT messages waiting for the broker (bounded by bus.queue_size)",
    multiprocess_mode="livesum",
)
BUS_CONNECTED = Gauge(
    "headend_bus_connected",
    "1 while connected to the MQTT broker (summed over workers)",
    multiprocess_mode="livesum",
)
BUS_DROPPED_QUEUE_FULL: Final = BUS_DROPPED.labels(reason="queue_full")
BUS_DROPPED_INVALID: Final = BUS_DROPPED.labels(reason="invalid")
BUS_DROPPED_SHUTDOWN: Final = BUS_DROPPED.labels(reason="shutdown")


# --- storage (headend/storage, docs/storage.md) --------------------------------------

STORAGE_ROWS = Counter(
    "headend_storage_rows_written_total",
    "Rows committed to the database, by table (spool replays included)",
    ["table"],
)
STORAGE_SPOOLED = Counter(
    "headend_storage_rows_spooled_total",
    "Rows put in the local spool because the database could not take them (落盘)",
)
STORAGE_REPLAYED = Counter(
    "headend_storage_rows_replayed_total",
    "Spooled rows written to the database after it came back",
)
STORAGE_REJECTED = Counter(
    "headend_storage_rows_rejected_total",
    "Rows the database refused for their content, kept aside in spool/rejected",
)
STORAGE_OUTAGES = Counter(
    "headend_storage_outages_total", "Times the database became unreachable"
)
STORAGE_BUFFERED = Gauge(
    "headend_storage_buffered_rows",
    "Rows waiting for the writer (bounded by its buffer)",
    multiprocess_mode="livesum",
)
STORAGE_SPOOL_BYTES = Gauge(
    "headend_storage_spool_bytes",
    "Bytes in the local spool waiting for the database",
    multiprocess_mode="livesum",
)
STORAGE_UP = Gauge(
    "headend_storage_database_up",
    "1 while the writer reaches the database (the lowest over workers)",
    multiprocess_mode="livemin",
)

# --- routing between workers and machines (headend/routing.py) -----------------------

ROUTED_REQUESTS = Counter(
    "headend_routed_requests_total",
    "Requests carried over MQTT to the worker holding the terminal (out) or run "
    "here for another machine (in)",
    ["way"],
)


# --- collection (headend/collection/) ---------------------------------------------------

COLLECTION_WINDOWS = Counter(
    "headend_collection_windows_total",
    "Task windows run by this worker, by kind and phase (window, recollect, catchup)",
    ["kind", "phase"],
)
COLLECTION_REQUESTS = Counter(
    "headend_collection_requests_total",
    "Collection requests, by result (ok, timeout, offline, denied, ...)",
    ["result"],
)
COLLECTION_READINGS = Counter(
    "headend_collection_units_total",
    "Data units with values collected, by phase",
    ["phase"],
)
COLLECTION_WINDOW_SECONDS = Histogram(
    "headend_collection_window_seconds",
    "From a window's start until its last terminal finished",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600),
)
COLLECTION_SUCCESS = Gauge(
    "headend_collection_success_ratio",
    "Share of a task's target meters collected for its latest period (one series per "
    "task, at most 100 tasks)",
    ["task"],
)
TERMINAL_ONLINE_RATIO = Gauge(
    "headend_terminal_online_ratio",
    "Online terminals over the archive's active terminals (终端在线率)",
)
ON_DEMAND_READS = Counter(
    "headend_on_demand_reads_total",
    "On-demand reads (召测) and inspection reads, by result",
    ["result"],
)

# --- events (headend/collection/events.py) ----------------------------------------------

EVENTS_FETCHED = Counter(
    "headend_events_fetched_total",
    "Event records (事件记录, AFN0E) stored, fetched or reported, by class",
    ["importance"],
)
EVENT_GAPS = Counter(
    "headend_event_gaps_total",
    "Event rings found overwritten or cleared since the last fetch (records lost)",
)
EVENT_FETCH_FAILURES = Counter(
    "headend_event_fetch_failures_total",
    "Failed event fetch attempts and dropped triggers, by reason",
    ["reason"],
)
