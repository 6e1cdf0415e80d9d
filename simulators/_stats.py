"""Counters and a latency histogram of one fleet process, mergeable across processes.

The histogram has fixed logarithmic buckets (5 % wide, from 10 µs to about an
hour), so its size is bounded whatever the run length, and merging the reports of
several processes is adding lists. A percentile is the upper edge of its bucket:
at most 5 % above the true value.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any, Final

BASE: Final = 1e-5  # seconds
GROWTH: Final = 1.05
SIZE: Final = 400  # BASE × GROWTH**400 ≈ 3 000 s
_LOG_GROWTH: Final = math.log(GROWTH)


class Histogram:
    """Log-bucketed latency histogram (see the module docstring)."""

    __slots__ = ("count", "counts", "max", "total")

    def __init__(self) -> None:
        self.counts = [0] * SIZE
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        i = 0 if seconds <= BASE else int(math.log(seconds / BASE) / _LOG_GROWTH) + 1
        self.counts[min(i, SIZE - 1)] += 1
        self.count += 1
        self.total += seconds
        self.max = max(self.max, seconds)

    def merge(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.count += other.count
        self.total += other.total
        self.max = max(self.max, other.max)

    def percentile(self, q: float) -> float | None:
        """Upper edge of the bucket holding the q-quantile (0 < q ≤ 1), or None."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for i, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                return min(BASE * GROWTH**i, self.max)
        return self.max

    def summary_ms(self) -> dict[str, float | int | None]:
        def ms(v: float | None) -> float | None:
            return None if v is None else round(v * 1000, 3)

        return {
            "count": self.count,
            "p50": ms(self.percentile(0.50)),
            "p90": ms(self.percentile(0.90)),
            "p99": ms(self.percentile(0.99)),
            "max": ms(self.max if self.count else None),
            "mean": ms(self.total / self.count if self.count else None),
        }

    def to_dict(self) -> dict[str, Any]:
        sparse = {str(i): n for i, n in enumerate(self.counts) if n}
        return {"counts": sparse, "count": self.count, "total": self.total,
                "max": self.max}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Histogram:
        h = cls()
        for i, n in d["counts"].items():
            h.counts[int(i)] = int(n)
        h.count = int(d["count"])
        h.total = float(d["total"])
        h.max = float(d["max"])
        return h


@dataclass(slots=True)
class Stats:
    """What one fleet process did (all counters; ``answered`` by AFN, hex)."""

    concentrators: int = 0
    started: int = 0  # concentrators that connected at least once
    connects: int = 0
    connect_failures: int = 0
    reconnects: int = 0
    closed_by_peer: int = 0
    logins_confirmed: int = 0
    login_retries: int = 0
    heartbeats_sent: int = 0
    heartbeat_retries: int = 0
    heartbeats_confirmed: int = 0
    link_lost: int = 0
    requests: int = 0
    requests_dropped: int = 0  # the profile's loss, or too many pending
    answers_abandoned: int = 0  # the connection closed before the delayed answer
    denied: int = 0
    frames_discarded: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    garbage_injected: int = 0
    frames_split: int = 0
    duplicate_logins: int = 0
    ip_jumps: int = 0
    flaps: int = 0
    online_at_end: int = 0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0  # summed over processes: the fleet's memory
    answered: Counter[str] = field(default_factory=Counter)
    heartbeat_latency: Histogram = field(default_factory=Histogram)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Histogram):
                out[f.name] = value.to_dict()
            elif isinstance(value, Counter):
                out[f.name] = dict(sorted(value.items()))
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Stats:
        s = cls()
        for f in fields(cls):
            if f.name not in d:
                continue
            if f.name == "heartbeat_latency":
                s.heartbeat_latency = Histogram.from_dict(d[f.name])
            elif f.name == "answered":
                s.answered = Counter(d[f.name])
            else:
                setattr(s, f.name, d[f.name])
        return s

    def merge(self, other: Stats) -> None:
        for f in fields(self):
            mine = getattr(self, f.name)
            theirs = getattr(other, f.name)
            if isinstance(mine, Histogram):
                mine.merge(theirs)
            elif isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(self, f.name, mine + theirs)
