"""Per-terminal request pipeline: priority classes, in-flight window, awaitable results.

Requests wait in a small heap per terminal, ordered by priority class and then by
arrival: control (遥控) before on-demand reads (召测) before re-collection (补采) before
scheduled collection. At most ``window`` are in flight; the sans-IO session assigns the
PSEQ, retransmits on timeout with back-off and correlates the answer. The heap is
created only when a terminal has something waiting, so an idle terminal costs nothing.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from protocols.gdw1376 import DataUnit, Frame
from protocols.gdw1376.frame import Tp


class Priority(IntEnum):
    """Request priority classes; lower runs first."""

    CONTROL = 0  # remote control and load control (遥控, 有序用电)
    ON_DEMAND = 1  # operator reads (召测) and batch inspection (巡测)
    RECOLLECT = 2  # re-collection of gaps (补采)
    SCHEDULED = 3  # scheduled collection tasks


class RequestError(Exception):
    """A request that did not get an answer; ``reason`` is a bounded label.

    Reasons: ``timeout``, ``incomplete``, ``offline`` (the terminal is not connected or
    went away), ``replaced`` (the terminal logged in on another connection while the
    request was in flight), ``queue_full``, ``shutdown``, ``too_many_parts``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Answer:
    """What a terminal answered: data frames, a confirm, or a deny.

    ``kind`` is ``"data"``, ``"confirmed"`` or ``"denied"`` (with ``reason``).
    """

    kind: str
    frames: tuple[Frame, ...]
    reason: str = ""

    @property
    def units(self) -> list[DataUnit]:
        return [u for f in self.frames for u in f.units]

    @property
    def ok(self) -> bool:
        return self.kind != "denied"


@dataclass(slots=True)
class Request:
    """One queued or in-flight request."""

    priority: int
    afn: int
    units: Sequence[DataUnit]
    future: asyncio.Future[Answer]
    con: bool | None = None
    tp: Tp | None = None
    timeout: float | None = None
    retries: int | None = None
    sent_at: float = 0.0
    seq: int = field(default=0)


_order: Final = itertools.count()


class Queue:
    """The waiting requests of one terminal (a bounded heap)."""

    __slots__ = ("_heap", "limit")

    def __init__(self, limit: int) -> None:
        self._heap: list[tuple[int, int, Request]] = []
        self.limit = limit

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, request: Request) -> None:
        if len(self._heap) >= self.limit:
            raise RequestError("queue_full", f"{self.limit} requests already waiting")
        request.seq = next(_order)
        heapq.heappush(self._heap, (request.priority, request.seq, request))

    def pop(self) -> Request | None:
        """The next request whose caller is still waiting, or None."""
        while self._heap:
            _, _, request = heapq.heappop(self._heap)
            if not request.future.done():
                return request
        return None

    def drain(self) -> list[Request]:
        out = [r for _, _, r in self._heap]
        self._heap.clear()
        return out
