"""Data anomalies (数据异常): detectors, clock drift and the operators' list.

Findings live in ``data_anomaly`` (``schema/0006_anomalies.sql``): detected over
the daily frozen readings, or recorded when a clock read at collection is off.

:func:`detect_day` compares each meter's daily frozen forward active total
(正向有功总电能示值, data item :data:`~headend.ingest.FORWARD_ACTIVE`) of day ``D``
with its value of ``D - 1``. Each detector is one ``INSERT ... SELECT ... ON
CONFLICT DO NOTHING`` over ``reading_daily`` and the archive, whatever the number of
meters; a finding is kept once per kind, day and device, so running detection twice
for a day inserts nothing twice, and a finding an operator closed stays closed.

======================  ===============================================================
zero_energy             reads 0 on both days while at least ``min_area_advancing``
                        meters of its transformer area (台区) advanced: the symptom
                        of a wiring error (接线错误, 零电量)
stalled_energy          a non-zero register that did not move (within
                        ``tolerance_kwh``), under the same condition (停走)
negative_increment      today < yesterday - ``tolerance_kwh``, unless the register
                        rolled over: yesterday > ``rollover_high_kwh`` and today <
                        ``rollover_low_kwh`` (示值下降 / 倒走)
energy_jump             more energy than the customer's contract capacity (合同容量)
                        can draw: increment × CT × PT (倍率) > capacity × 24 h ×
                        ``jump_factor``; without a known capacity, a register
                        increment > ``jump_kwh_per_day`` (飞走)
meter_not_reporting     an active archive meter with no value for ``D`` although its
                        terminal delivered values of other meters that day
meter_not_in_archive    a placeholder meter (status ``discovered``, made by the ingest
                        path) with readings for ``D``: the field reports a point the
                        archive lacks (待建档)
======================  ===============================================================

A meter's transformer area is its own, else its terminal's (as in the collection
KPIs). A meter without an area is never zero_energy / stalled_energy: there is
nothing to compare it with. A value stored as NULL (the terminal reported it absent)
counts as no value.

Clock drift (时钟超差) is found where clocks are read (AFN0C F2 terminal clock, F162
meter clock, the DL/T 645 date and time): :func:`clock_drift` decides,
:func:`check_clock` builds the finding, :func:`record` stores findings.

Default thresholds (:class:`Thresholds`) and why:

* ``tolerance_kwh`` 0.01: one step of a DL/T 645 energy register (XXXXXX.XX kWh).
* ``rollover_high_kwh`` 990000, ``rollover_low_kwh`` 10000: the register wraps
  after 999999.99; a fall from its top percent to its bottom percent is a wrap (the
  day's energy is then today + 1000000 - yesterday), any other fall is a finding.
* ``jump_factor`` 1.5: the contract capacity is what the customer may draw
  continuously; half as much again for 24 hours is no measurement but a fault.
* ``jump_kwh_per_day`` 2000: more than any direct-connected meter can pass in a
  day (3 × 100 A × 220 V × 24 h ≈ 1,580 kWh; the usual 5(60) A single-phase meter
  ≈ 320 kWh). Transformer-rated meters count in secondary units, far below it.
* ``min_area_advancing`` 3: one or two moving neighbours can be a holiday area;
  three say the area has load, so a meter without any is suspect.
* ``meter_clock_s`` and ``terminal_clock_s`` 300: the protocol notes (PROTOCOLS.md)
  state no limit. Five minutes is the time-error limit usually applied to
  metering clocks, and the most a DL/T 645-2007 broadcast time sync (广播校时) is
  meant to correct: a clock further off needs an individual time set, an operator's
  task. A terminal 5 minutes off misplaces a third of a 15-minute curve interval.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, LiteralString

import psycopg
import structlog
from psycopg import sql
from psycopg.rows import dict_row

from headend.ingest import FORWARD_ACTIVE

log = structlog.get_logger("headend.anomalies")

AnyConnection = psycopg.AsyncConnection[Any]

MAX_LIMIT: Final = 1000  # rows per page of list_anomalies
MAX_OFFSET: Final = 1_000_000
_RECORD_BATCH: Final = 10_000  # clock findings per INSERT


class Kind(StrEnum):
    """Kinds of data anomaly (the CHECK list of ``data_anomaly.kind``)."""

    ZERO_ENERGY = "zero_energy"
    STALLED_ENERGY = "stalled_energy"
    NEGATIVE_INCREMENT = "negative_increment"
    ENERGY_JUMP = "energy_jump"
    METER_CLOCK_DRIFT = "meter_clock_drift"
    TERMINAL_CLOCK_DRIFT = "terminal_clock_drift"
    METER_NOT_IN_ARCHIVE = "meter_not_in_archive"
    METER_NOT_REPORTING = "meter_not_reporting"


KINDS: Final = frozenset(k.value for k in Kind)
STATUSES: Final = ("open", "closed")
#: What detect_day finds (the clock kinds are recorded at read time).
DAY_KINDS: Final = (
    Kind.ZERO_ENERGY, Kind.STALLED_ENERGY, Kind.NEGATIVE_INCREMENT, Kind.ENERGY_JUMP,
    Kind.METER_NOT_REPORTING, Kind.METER_NOT_IN_ARCHIVE,
)  # fmt: skip


class UnknownArea(LookupError):
    """No transformer area (台区) has the code asked for."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Limits of the detectors (see the module docstring for why these defaults)."""

    tolerance_kwh: float = 0.01
    rollover_high_kwh: float = 990_000.0
    rollover_low_kwh: float = 10_000.0
    register_span_kwh: float = 1_000_000.0  # 999999.99 + one step: where it wraps
    jump_factor: float = 1.5
    jump_kwh_per_day: float = 2_000.0
    min_area_advancing: int = 3
    meter_clock_s: float = 300.0
    terminal_clock_s: float = 300.0

    def __post_init__(self) -> None:
        for name in ("tolerance_kwh", "rollover_high_kwh", "rollover_low_kwh",
                     "register_span_kwh", "jump_factor", "jump_kwh_per_day",
                     "meter_clock_s", "terminal_clock_s"):  # fmt: skip
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"threshold {name} must be a finite number >= 0")
        if not self.rollover_low_kwh < self.rollover_high_kwh < self.register_span_kwh:
            raise ValueError(
                "need rollover_low_kwh < rollover_high_kwh < register_span_kwh"
            )
        if self.min_area_advancing < 1:
            raise ValueError("threshold min_area_advancing must be >= 1")

    @property
    def jump_kwh_per_kva_day(self) -> float:
        """Energy a day (kWh) per kVA of contract capacity beyond which a day is a jump."""
        return 24.0 * self.jump_factor


DEFAULT_THRESHOLDS: Final = Thresholds()

# --- detectors -----------------------------------------------------------------------

_DETECTOR: Final = """\
WITH {ctes}found AS (
    INSERT INTO data_anomaly (kind, terminal_id, meter_id, transformer_area_id, day,
                              detail)
    {select}
    ON CONFLICT (kind, day, coalesce(terminal_id, 0), coalesce(meter_id, 0)) DO NOTHING
    RETURNING kind
)
SELECT kind, count(*) FROM found GROUP BY kind"""


def _detector(select: LiteralString, *ctes: LiteralString) -> sql.Composed:
    """One detector: its CTEs, then its findings inserted; yields (kind, count) rows."""
    return sql.SQL(_DETECTOR).format(
        ctes=sql.Composed([sql.SQL(c) + sql.SQL(",\n") for c in ctes]),
        select=sql.SQL(select),
    )


# The meters read on both days: values, area, contract capacity, multiplier (倍率)
# and the day's increment, a register wrap taken into account.
_PAIR: Final = """\
pair AS (
    SELECT d.meter_id, d.terminal_id, d.value AS today, y.value AS yesterday,
           coalesce(m.transformer_area_id, t.transformer_area_id) AS area_id,
           c.contract_capacity_kva AS capacity_kva,
           coalesce(m.ct_ratio, 1) * coalesce(m.pt_ratio, 1) AS multiplier,
           (y.value > %(rollover_high)s::numeric AND d.value < %(rollover_low)s::numeric)
               AS rolled_over,
           CASE WHEN y.value > %(rollover_high)s::numeric
                     AND d.value < %(rollover_low)s::numeric
                THEN d.value + %(span)s::numeric - y.value
                ELSE d.value - y.value END AS increment
    FROM reading_daily d
    JOIN reading_daily y
      ON y.meter_id = d.meter_id AND y.item_id = d.item_id AND y.day = %(yesterday)s
    LEFT JOIN meter m ON m.id = d.meter_id
    LEFT JOIN customer c ON c.id = m.customer_id
    LEFT JOIN terminal t ON t.id = coalesce(m.terminal_id, d.terminal_id)
    WHERE d.item_id = %(item)s AND d.day = %(day)s
      AND d.value IS NOT NULL AND y.value IS NOT NULL
)"""

# How many meters of each area advanced that day.
_AREA: Final = """\
area AS (
    SELECT area_id, count(*) AS advancing FROM pair
    WHERE area_id IS NOT NULL AND increment > %(tolerance)s::numeric
    GROUP BY area_id
)"""

_NOT_MOVING: Final = _detector(
    """SELECT CASE WHEN p.today = 0 AND p.yesterday = 0 THEN 'zero_energy'
                ELSE 'stalled_energy' END,
           p.terminal_id, p.meter_id, p.area_id, %(day)s,
           jsonb_build_object('today', p.today, 'yesterday', p.yesterday,
                              'area_advancing', a.advancing)
    FROM pair p JOIN area a ON a.area_id = p.area_id
    WHERE abs(p.increment) <= %(tolerance)s::numeric
      AND a.advancing >= %(min_area_advancing)s""",
    _PAIR,
    _AREA,
)

# A wrapped register has a positive increment: it never lands here.
_NEGATIVE: Final = _detector(
    """SELECT 'negative_increment', p.terminal_id, p.meter_id, p.area_id, %(day)s,
           jsonb_build_object('today', p.today, 'yesterday', p.yesterday,
                              'increment', p.increment)
    FROM pair p
    WHERE p.increment < -%(tolerance)s::numeric""",
    _PAIR,
)

# The limit of each meter: its contract capacity's, when the archive knows one.
_LIMIT: Final = """\
judged AS (
    SELECT p.*,
           CASE WHEN p.capacity_kva > 0
                THEN p.capacity_kva * %(per_kva_day)s::numeric END AS capacity_limit
    FROM pair p
)"""

_JUMP: Final = _detector(
    """SELECT 'energy_jump', j.terminal_id, j.meter_id, j.area_id, %(day)s,
           jsonb_build_object(
               'today', j.today, 'yesterday', j.yesterday, 'increment', j.increment,
               'rolled_over', j.rolled_over, 'multiplier', j.multiplier,
               'contract_capacity_kva', j.capacity_kva,
               'basis', CASE WHEN j.capacity_limit IS NULL THEN 'absolute'
                             ELSE 'contract_capacity' END,
               'energy_kwh', CASE WHEN j.capacity_limit IS NULL THEN j.increment
                                  ELSE j.increment * j.multiplier END,
               'limit_kwh', coalesce(j.capacity_limit, %(absolute)s::numeric))
    FROM judged j
    WHERE CASE WHEN j.capacity_limit IS NULL THEN j.increment > %(absolute)s::numeric
               ELSE j.increment * j.multiplier > j.capacity_limit END""",
    _PAIR,
    _LIMIT,
)

# The terminals that delivered values that day, and how many.
_DELIVERED: Final = """\
delivered AS (
    SELECT terminal_id, count(*) AS meters FROM reading_daily
    WHERE item_id = %(item)s AND day = %(day)s AND value IS NOT NULL
    GROUP BY terminal_id
)"""

_NOT_REPORTING: Final = _detector(
    """SELECT 'meter_not_reporting', m.terminal_id, m.id,
           coalesce(m.transformer_area_id, t.transformer_area_id), %(day)s,
           jsonb_build_object('pn', m.pn, 'address', m.address,
                              'reported_absent', r.meter_id IS NOT NULL,
                              'terminal_meters_reported', dl.meters)
    FROM meter m
    JOIN delivered dl ON dl.terminal_id = m.terminal_id
    LEFT JOIN reading_daily r
      ON r.meter_id = m.id AND r.item_id = %(item)s AND r.day = %(day)s
    LEFT JOIN terminal t ON t.id = m.terminal_id
    WHERE m.status = 'active' AND r.value IS NULL""",
    _DELIVERED,
)

# Placeholders are few: driven from them, each probes the reading key (meter_id ...).
_NOT_IN_ARCHIVE: Final = _detector(
    """SELECT 'meter_not_in_archive', m.terminal_id, m.id,
           coalesce(m.transformer_area_id, t.transformer_area_id), %(day)s,
           jsonb_build_object('pn', m.pn, 'address', m.address)
    FROM meter m
    LEFT JOIN terminal t ON t.id = m.terminal_id
    WHERE m.status = 'discovered'
      AND EXISTS (SELECT 1 FROM reading_daily r
                  WHERE r.meter_id = m.id AND r.day = %(day)s)""",
)

#: One statement per detector (zero_energy and stalled_energy share one).
DETECTORS: Final = (_NOT_MOVING, _NEGATIVE, _JUMP, _NOT_REPORTING, _NOT_IN_ARCHIVE)


async def detect_day(
    conn: AnyConnection, day: date, *, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> dict[str, int]:
    """Run every detector for data day ``day``; new findings per kind.

    The detectors run in one transaction: a run is recorded whole or not at all
    (on a connection outside autocommit, it is a savepoint the caller commits).
    """
    t = thresholds
    params: dict[str, Any] = {
        "item": FORWARD_ACTIVE,
        "day": day,
        "yesterday": day - timedelta(days=1),
        "tolerance": t.tolerance_kwh,
        "rollover_high": t.rollover_high_kwh,
        "rollover_low": t.rollover_low_kwh,
        "span": t.register_span_kwh,
        "per_kva_day": t.jump_kwh_per_kva_day,
        "absolute": t.jump_kwh_per_day,
        "min_area_advancing": t.min_area_advancing,
    }
    counts = dict.fromkeys(map(str, DAY_KINDS), 0)
    started = time.perf_counter()
    async with conn.transaction():
        for query in DETECTORS:
            cur = await conn.execute(query, params)
            for kind, n in await cur.fetchall():
                counts[kind] += n
    log.info("anomalies_detected", day=day.isoformat(),
             seconds=round(time.perf_counter() - started, 3), **counts)  # fmt: skip
    return counts


# --- clock drift ---------------------------------------------------------------------


def clock_drift(device_time: datetime, received: datetime,
                threshold_s: float) -> float | None:  # fmt: skip
    """Seconds the device clock is ahead (+) or behind (-), when beyond the threshold.

    Both times aware, or both naive in the same zone: terminal clocks carry no zone,
    so read them in the terminals' zone first (as ingest does).
    """
    if threshold_s < 0:
        raise ValueError("threshold_s must be >= 0")
    if (device_time.utcoffset() is None) != (received.utcoffset() is None):
        raise ValueError("device_time and received must both be aware or both naive")
    drift = (device_time - received).total_seconds()
    return drift if abs(drift) > threshold_s else None


@dataclass(frozen=True, slots=True)
class ClockDrift:
    """A clock found off at read time: a meter's (with its terminal) or a terminal's."""

    kind: Kind  # METER_CLOCK_DRIFT or TERMINAL_CLOCK_DRIFT
    terminal_id: int
    meter_id: int | None
    day: date  # the local day the clock was read
    drift_s: float
    device_time: datetime
    received: datetime

    def __post_init__(self) -> None:
        if self.kind not in (Kind.METER_CLOCK_DRIFT, Kind.TERMINAL_CLOCK_DRIFT):
            raise ValueError(f"{self.kind} is not a clock anomaly")
        if (self.kind is Kind.METER_CLOCK_DRIFT) != (self.meter_id is not None):
            raise ValueError("a meter clock drift names its meter, a terminal's none")

    def detail(self) -> dict[str, Any]:
        return {
            "drift_s": self.drift_s,
            "device_time": self.device_time.isoformat(),
            "received": self.received.isoformat(),
        }


def check_clock(kind: Kind, *, terminal_id: int, meter_id: int | None = None,
                device_time: datetime, received: datetime,
                thresholds: Thresholds = DEFAULT_THRESHOLDS) -> ClockDrift | None:  # fmt: skip
    """The finding for one clock reading, or None when the clock is within limits."""
    limit = (
        thresholds.meter_clock_s
        if kind is Kind.METER_CLOCK_DRIFT
        else thresholds.terminal_clock_s
    )
    drift = clock_drift(device_time, received, limit)
    if drift is None:
        return None
    local = received.astimezone(device_time.tzinfo) if device_time.tzinfo else received
    return ClockDrift(kind, terminal_id, meter_id, local.date(), drift, device_time,
                      received)  # fmt: skip


_RECORD: Final = """
INSERT INTO data_anomaly (kind, terminal_id, meter_id, transformer_area_id, day, detail)
SELECT r.kind, r.terminal_id, r.meter_id,
       coalesce(m.transformer_area_id, t.transformer_area_id), r.day, r.detail::jsonb
FROM unnest(%s::text[], %s::integer[], %s::bigint[], %s::date[], %s::text[])
     AS r (kind, terminal_id, meter_id, day, detail)
LEFT JOIN meter m ON m.id = r.meter_id
LEFT JOIN terminal t ON t.id = r.terminal_id
ON CONFLICT (kind, day, coalesce(terminal_id, 0), coalesce(meter_id, 0)) DO NOTHING
"""


async def record(conn: AnyConnection, rows: Iterable[ClockDrift]) -> int:
    """Store clock findings (the first per device and day wins); returns those new."""
    first: dict[tuple[str, date, int, int | None], ClockDrift] = {}
    for r in rows:
        first.setdefault((r.kind, r.day, r.terminal_id, r.meter_id), r)
    batch = list(first.values())
    inserted = 0
    for i in range(0, len(batch), _RECORD_BATCH):
        part = batch[i : i + _RECORD_BATCH]
        cur = await conn.execute(_RECORD, (
            [str(r.kind) for r in part], [r.terminal_id for r in part],
            [r.meter_id for r in part], [r.day for r in part],
            [json.dumps(r.detail()) for r in part],
        ))  # fmt: skip
        inserted += max(cur.rowcount, 0)
    return inserted


# --- the operators' list ---------------------------------------------------------------

_SELECT: Final = """
SELECT a.id, a.kind, a.day, a.status, a.detected_at, a.closed_at, a.detail,
       a.terminal_id, t.a1 || '-' || lpad(t.a2::text, 5, '0') AS terminal,
       a.meter_id, m.pn, m.address AS meter_address,
       a.transformer_area_id, ta.code AS area
FROM data_anomaly a
LEFT JOIN terminal t ON t.id = a.terminal_id
LEFT JOIN meter m ON m.id = a.meter_id
LEFT JOIN transformer_area ta ON ta.id = a.transformer_area_id
"""

_FILTERS: Final = {
    "day": sql.SQL("a.day = %(day)s"),
    "kind": sql.SQL("a.kind = %(kind)s"),
    "status": sql.SQL("a.status = %(status)s"),
}


async def list_anomalies(
    conn: AnyConnection, *, day: date | None = None, kind: str | None = None,
    area: str | None = None, status: str | None = "open", limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:  # fmt: skip
    """Findings, newest day first.

    ``area`` is a transformer area (台区) code; ``status`` None lists open and closed
    ones. Raises UnknownArea for an unknown area, ValueError for other bad values.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown anomaly kind {kind!r}")
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if not 1 <= limit <= MAX_LIMIT or not 0 <= offset <= MAX_OFFSET:
        raise ValueError(f"need 1 <= limit <= {MAX_LIMIT}, 0 <= offset <= {MAX_OFFSET}")
    where: list[sql.Composable] = []
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if area is not None:
        cur = await conn.execute(
            "SELECT id FROM transformer_area WHERE code = %s", (area,)
        )
        found = await cur.fetchone()
        if found is None:
            raise UnknownArea(f"no transformer area (台区) with code {area!r}")
        where.append(sql.SQL("a.transformer_area_id = %(area_id)s"))
        params["area_id"] = found[0]
    for name, value in (("day", day), ("kind", kind), ("status", status)):
        if value is not None:
            where.append(_FILTERS[name])
            params[name] = value
    query = sql.SQL(_SELECT) + sql.SQL(
        "WHERE {} ORDER BY a.day DESC, a.kind, a.id LIMIT %(limit)s OFFSET %(offset)s"
    ).format(sql.SQL(" AND ").join(where) if where else sql.SQL("true"))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def get_anomaly(conn: AnyConnection, anomaly_id: int) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_SELECT + "WHERE a.id = %s", (anomaly_id,))
        return await cur.fetchone()


_CLOSE: Final = """
WITH closed AS (
    UPDATE data_anomaly SET status = 'closed', closed_at = now()
    WHERE id = %(id)s AND status = 'open'
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM closed)
       OR EXISTS (SELECT 1 FROM data_anomaly WHERE id = %(id)s)
"""


async def close(conn: AnyConnection, anomaly_id: int) -> bool:
    """Close a finding (an operator dealt with it); False when there is no such one.

    Closing a closed finding changes nothing: it keeps its first ``closed_at``.
    """
    cur = await conn.execute(_CLOSE, {"id": anomaly_id})
    row = await cur.fetchone()
    return bool(row and row[0])
