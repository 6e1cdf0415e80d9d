"""Planning a window: periods, gap requests per terminal, realtime requests."""

from __future__ import annotations

from datetime import date

from headend.collection import plan
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0d import TdDaily, TdMonthly

TODAY = date(2026, 3, 2)


def test_periods() -> None:
    assert plan.periods("daily", TODAY, 0) == [date(2026, 3, 1)]
    assert plan.periods("daily", TODAY, 2) == [date(2026, 3, 1), date(2026, 2, 28),
                                               date(2026, 2, 27)]  # fmt: skip
    assert plan.periods("monthly", TODAY, 0) == [date(2026, 2, 1)]
    assert plan.periods("monthly", TODAY, 31) == [date(2026, 2, 1), date(2026, 1, 1)]


def test_frozen_jobs_ask_the_gaps_newest_first_in_chunks() -> None:
    day1, day2 = date(2026, 3, 1), date(2026, 2, 28)
    gaps = {161: [("4403", 1, 10, day2, [3], [103]),
                  ("4403", 1, 10, day1, [1, 2, 3], [101, 102, 103])]}  # fmt: skip
    (job,) = plan.frozen_jobs("daily", gaps, points_per_request=2)
    assert (job.key, job.terminal_id, job.expected) == ((0x4403, 1), 10, 4)
    assert job.meters == {1: 101, 2: 102, 3: 103}
    asked = [
        (b.afn, b.period, [(u.pn, u.fn, u.data) for u in b.units]) for b in job.batches
    ]
    assert asked == [
        (AFN.CLASS2, day1, [(1, 161, TdDaily(day1)), (2, 161, TdDaily(day1))]),
        (AFN.CLASS2, day1, [(3, 161, TdDaily(day1))]),
        (AFN.CLASS2, day2, [(3, 161, TdDaily(day2))]),
    ]


def test_monthly_time_mark() -> None:
    mark = plan.time_mark("monthly", date(2026, 2, 1))
    assert isinstance(mark, TdMonthly)
    assert (mark.td.year, mark.td.month) == (2026, 2)  # type: ignore[union-attr]


def test_realtime_jobs_ask_terminal_data_once_and_points_in_chunks() -> None:
    targets = {("4403", 1): (10, {1: 101, 2: 102, 3: 103})}
    (job,) = plan.realtime_jobs([2, 129], targets, points_per_request=2)
    assert [[(u.pn, u.fn) for u in b.units] for b in job.batches] == [
        [(0, 2)], [(1, 129), (2, 129)], [(3, 129)],
    ]  # fmt: skip
