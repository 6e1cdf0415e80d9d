"""What a task window asks each terminal: requests, their time marks, and the gaps.

Frozen values (日冻结 / 月冻结) are collected by gap: a window asks only for the
(meter, day) pairs the database lacks within the look-back, so the first window of
a day asks for everything of yesterday and every later one (re-collection, 补采)
asks for what is still missing. A (meter, day) counts as collected when its row of
the Fn's first register is stored (:data:`PROOF`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final

import psycopg

from headend.collection.tasks import Target, narrow, target_filter
from headend.ingest import (
    _REGISTER_FNS,
    CURVE_ITEMS,
    DAILY,
    FORWARD_ACTIVE,
    MONTHLY,
    REVERSE_ACTIVE,
)
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.formats import YearMonth
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0d import Density, TdCurve, TdDaily, TdMonthly

AnyConnection = psycopg.AsyncConnection[Any]

#: (table, data item) whose row proves a frozen Fn collected for a meter and period.
PROOF: Final[dict[int, tuple[str, int]]] = {
    1: (DAILY, FORWARD_ACTIVE),
    2: (DAILY, REVERSE_ACTIVE),
    17: (MONTHLY, FORWARD_ACTIVE),
    18: (MONTHLY, REVERSE_ACTIVE),
    **{161 + k: (DAILY, item) for k, item in _REGISTER_FNS.items()},
    **{177 + k: (MONTHLY, item) for k, item in _REGISTER_FNS.items()},
}
_PERIOD_COLUMN: Final = {DAILY: "day", MONTHLY: "month"}
#: Points of a day's curve at 15-minute density.
CURVE_POINTS: Final = 96
#: AFN0C F1-F24 are the terminal's own data (pn 0); measuring-point data starts here.
FIRST_POINT_FN: Final = 25


@dataclass(slots=True)
class Batch:
    """One request: points of one Fn (and one period), as data units when sent."""

    afn: int
    fn: int
    pns: list[int]
    mark: object | None = None  # the time mark of frozen data, None for AFN0C
    #: The period asked for (frozen kinds), for the run record.
    period: date | None = None

    @property
    def units(self) -> list[DataUnit]:
        """Built on demand: a window of a million points never holds them all."""
        mark = self.mark
        return [DataUnit(pn, self.fn, mark) for pn in self.pns]


@dataclass(slots=True)
class TerminalJob:
    """Everything one window asks one terminal."""

    key: tuple[int, int]  # (A1 word, A2), as the connection registry has it
    terminal_id: int
    batches: list[Batch] = field(default_factory=list)
    #: pn -> archive meter id of the points asked
    meters: dict[int, int] = field(default_factory=dict)
    #: 645 reads through forwarding: (pn, DI, the meter's link), one request each
    forwards: list[tuple[int, str, Any]] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return sum(len(b.pns) for b in self.batches) + len(self.forwards)


def periods(kind: str, today: date, lookback_days: int) -> list[date]:
    """The frozen periods a window of ``today`` is after, newest first.

    Daily: yesterday and ``lookback_days`` days before it. Monthly: last month and as
    many months before it as the look-back days span (at least one more when the
    look-back is not zero), as the first day of the month.
    """
    if kind in ("daily", "curve"):
        return [today - timedelta(days=k) for k in range(1, lookback_days + 2)]
    first = today.replace(day=1)
    count = 1 + (0 if lookback_days == 0 else max(1, lookback_days // 28))
    out = []
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append(first)
    return out


def time_mark(kind: str, period: date) -> object:
    if kind == "daily":
        return TdDaily(period)
    if kind == "curve":  # the whole day, 15-minute points from 00:00
        return TdCurve(datetime.combine(period, time()), Density.MIN15, CURVE_POINTS)
    return TdMonthly(YearMonth(period.year, period.month))


def chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


#: (terminal a1, a2, terminal id, period, [pn], [meter id]) with the gaps of one Fn
Gap = tuple[str, int, int, date, list[int], list[int]]


async def gaps(conn: AnyConnection, target: Target, held: Sequence[tuple[str, int]],
               fn: int, days: Sequence[date], *, curve: bool = False,
               timezone: str = "Asia/Shanghai") -> list[Gap]:  # fmt: skip
    """The target's meters among ``held`` lacking ``fn`` for each of ``days``.

    One row per terminal and period, points in order, grouped in the database: a
    window over a million meters handles thousands of rows, not millions. A (meter,
    period) is collected when its proof row is stored; a curve's day when all its
    15-minute points are.
    """
    held = narrow(target, held)
    if not held or not days:
        return []
    joins, where, params = target_filter(target, held)
    params["days"] = list(days)
    if curve:
        params.update(item=CURVE_ITEMS[fn], tz=timezone, points=CURVE_POINTS)
        absent = (
            "(SELECT count(*) FROM reading_curve r WHERE r.meter_id = m.id "
            "AND r.item_id = %(item)s AND r.ts >= d.day::timestamp AT TIME ZONE %(tz)s "
            "AND r.ts < (d.day + 1)::timestamp AT TIME ZONE %(tz)s) < %(points)s"
        )
    else:
        table, item = PROOF[fn]
        params["item"] = item
        absent = (
            f"NOT EXISTS (SELECT 1 FROM {table} r WHERE r.meter_id = m.id "  # noqa: S608
            f"AND r.item_id = %(item)s AND r.{_PERIOD_COLUMN[table]} = d.day)"
        )
    cur = await conn.execute(
        "SELECT t.a1, t.a2, t.id, d.day, array_agg(m.pn ORDER BY m.pn), "  # noqa: S608
        "array_agg(m.id ORDER BY m.pn) "
        f"FROM unnest(%(days)s::date[]) AS d(day) CROSS JOIN {joins} "
        f"{where} AND {absent} GROUP BY t.a1, t.a2, t.id, d.day",
        params,
    )
    return [tuple(r) for r in await cur.fetchall()]


def frozen_jobs(kind: str, fns_gaps: dict[int, list[Gap]],
                points_per_request: int) -> list[TerminalJob]:  # fmt: skip
    """Requests for the gaps: per terminal, Fn and period (newest first), in chunks."""
    jobs: dict[tuple[str, int], TerminalJob] = {}
    for fn, rows in fns_gaps.items():
        for a1, a2, terminal_id, period, pns, mids in sorted(
            rows, key=lambda r: r[3], reverse=True
        ):
            job = jobs.get((a1, a2))
            if job is None:
                job = jobs[(a1, a2)] = TerminalJob((int(a1, 16), a2), terminal_id)
            job.meters.update(zip(pns, mids, strict=True))
            mark = time_mark(kind, period)
            for part in chunks(pns, points_per_request):
                job.batches.append(Batch(AFN.CLASS2, fn, part, mark, period))
    return list(jobs.values())


def realtime_jobs(
    fns: Sequence[int],
    targets: dict[tuple[str, int], tuple[int, dict[int, int]]],
    points_per_request: int,
    dis: Sequence[str] = (),
    links: dict[int, Any] | None = None,
) -> list[TerminalJob]:
    """AFN0C requests: every point of every terminal, each Fn, points in chunks.

    And for each DI, one forwarded 645 read per meter whose link (``links``, by
    meter id) is known.
    """
    jobs = []
    for (a1, a2), (terminal_id, meters) in targets.items():
        job = TerminalJob((int(a1, 16), a2), terminal_id, meters=meters)
        for di in dis:
            for pn in sorted(meters):
                link = (links or {}).get(meters[pn])
                if link is not None:
                    job.forwards.append((pn, di, link))
        for fn in fns:
            if fn < FIRST_POINT_FN:  # terminal data (终端数据): pn 0, once
                job.batches.append(Batch(AFN.CLASS1, fn, [0]))
                continue
            for part in chunks(sorted(meters), points_per_request):
                job.batches.append(Batch(AFN.CLASS1, fn, part))
        if job.batches or job.forwards:
            jobs.append(job)
    return jobs
