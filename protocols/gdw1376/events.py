"""Events the sans-IO sessions hand to their host (frozen, slotted dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from protocols.gdw1376.frame import DataUnit, Frame
from protocols.gdw1376.units.afn02 import Heartbeat as HeartbeatClock
from protocols.scanner import Discarded


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


#: ``next_event()`` returns this when nothing is queued (STYLE S1, as in h11).
NEED_DATA: Final = _NeedData()


# --- master side ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Login:
    """AFN02 F1 from the terminal; the session has already confirmed it."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class Logout:
    """AFN02 F2 from the terminal; confirmed."""

    frame: Frame


@dataclass(slots=True)  # not frozen: a frozen __init__ costs 4x, per heartbeat
class Heartbeat:
    """AFN02 F3 from the terminal; confirmed. Read-only like every event here.

    ``clock`` (the terminal's clock, 2013 terminals only) is decoded when asked for:
    most heartbeats are only counted.
    """

    frame: Frame

    @property
    def clock(self) -> datetime | None:
        units = self.frame.units
        data = units[0].data if units else None
        return data.clock if isinstance(data, HeartbeatClock) else None


@dataclass(frozen=True, slots=True)
class Report:
    """Data the terminal sent on its own initiative (e.g. AFN0E with C = C4)."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class Response:
    """All frames answering one request, reassembled in RSEQ order."""

    request_id: int
    frames: tuple[Frame, ...]

    @property
    def units(self) -> list[DataUnit]:
        return [u for f in self.frames for u in f.units]


@dataclass(frozen=True, slots=True)
class Confirmed:
    """AFN00 F1 (or F3 with every ERR = 0) answering a request."""

    request_id: int
    frame: Frame


@dataclass(frozen=True, slots=True)
class Denied:
    """AFN00 F2, F3 with a nonzero ERR, F4, or a "no requested data" reply."""

    request_id: int
    frame: Frame
    reason: str


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """A request that got no (complete) answer: ``reason`` is a bounded label."""

    request_id: int
    reason: str  # "timeout" | "incomplete" | "too_many_parts" | "closed"
    frames: tuple[Frame, ...] = ()


@dataclass(frozen=True, slots=True)
class EventsPending:
    """The terminal set ACD and its event counters changed: events wait to be read."""

    ec1: int
    ec2: int
    previous: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A response that matches no outstanding request (late, duplicate, foreign)."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class FrameDiscarded:
    """Bytes the scanner dropped, or a frame in the wrong direction."""

    reason: str
    data: bytes

    @classmethod
    def of(cls, d: Discarded) -> FrameDiscarded:
        return cls(d.reason, d.data)


# --- terminal side -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """A master request for the terminal to answer (respond / confirm / deny)."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class LinkConfirmed:
    """The master confirmed our login (``fn`` = 1) or heartbeat (3)."""

    fn: int


@dataclass(frozen=True, slots=True)
class LinkLost:
    """No confirmation after the allowed retries: the terminal should redial."""

    fn: int


MasterEvent = (
    Login
    | Logout
    | Heartbeat
    | Report
    | Response
    | Confirmed
    | Denied
    | RequestFailed
    | EventsPending
    | Unmatched
    | FrameDiscarded
)
TerminalEvent = Request | LinkConfirmed | LinkLost | FrameDiscarded
