"""The pieces of a fleet process: its spec, one concentrator's slot, a connection.

:class:`Term` holds one fleet concentrator and its current connection;
:class:`Conn` is the :class:`asyncio.Protocol` of one TCP connection (slotted),
which forwards everything to the :class:`~simulators._runner.Runner` that owns
it; :class:`Sender` writes frames with the profile's stream faults. A
concentrator's configuration and faults derive from its fleet index alone
(:func:`concentrator_config`, :func:`fault_bits`), so every process and every
run agree.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, cast

from protocols.gdw1376.terminal import TerminalSession
from simulators._model import mix
from simulators._stats import Stats
from simulators.concentrator import Concentrator, ConcentratorConfig
from simulators.profiles import Profile

if TYPE_CHECKING:
    from simulators._runner import Runner

# Connection kinds.
MAIN: Final = 0
DUPLICATE: Final = 1  # a second login with the same address (duplicate SIM)
ABANDONED: Final = 2  # left dangling by an IP jump
# Fault selection bits of Term.faults.
F_DUP, F_JUMP, F_FLAP, F_SCHEDULED = 1, 2, 4, 8
# Kinds of heap entries: (due, seq, kind, term, obj, epoch).
TIMER, ANSWER, CONNECT, CHUNK, DUP, JUMP, FLAP, GHOST_CLOSE = range(8)
MAX_CHUNKS: Final = 512  # queued chunks of split frames per concentrator


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """What one fleet process runs: concentrators ``first .. first + count - 1``."""

    host: str
    port: int
    first: int
    count: int
    meters: int
    a1: str = "4403"
    a2_base: int = 1
    duration: float = 60.0
    ramp: float = 0.0
    profile: Profile = field(default_factory=lambda: Profile("default"))
    sources: int = 16  # bind 127.0.0.1..N; 0 = let the kernel choose
    seed: int = 0
    process_index: int = 0


def anomaly_points(index: int, meters: int, taken: set[int],
                   wanted: tuple[bool, ...]) -> list[int]:  # fmt: skip
    """Points for the wanted data anomalies, in order (0 where not wanted).

    Each on a point of its own, none on a ``taken`` one (the zero-energy and
    relay-fault meters), so every anomaly shows alone; 0 once the points run out.
    """
    start = mix(index, 8)
    free = (pn for pn in (1 + (start + k) % meters for k in range(meters))
            if pn not in taken)  # fmt: skip
    return [next(free, 0) if on else 0 for on in wanted]


def concentrator_config(spec: ProcessSpec, index: int) -> ConcentratorConfig:
    """The deterministic configuration of fleet concentrator ``index``."""
    p = spec.profile
    m = spec.meters

    def chosen(salt: int, share: float) -> bool:
        return mix(spec.seed, index, salt) % 10_000 < share * 10_000

    zero = 1 + mix(index, 3) % m if p.zero_energy_meter and m else 0
    relay = 1 + mix(index, 4) % m if p.relay_fails and m else 0
    negative, jump, drift = anomaly_points(
        index, m, {zero, relay},
        (p.negative_step_meter, p.jump_meter, p.meter_clock_drift != 0),
    )  # fmt: skip
    return ConcentratorConfig(
        index=index, a1=spec.a1, a2=spec.a2_base + index, meters=m,
        version=2009 if chosen(1, p.v2009) else 2013,
        heartbeat_interval=p.heartbeat_interval,
        master_ip=spec.host if spec.host != "localhost" else "127.0.0.1",
        master_port=spec.port, wrong_parameters=chosen(2, p.wrong_parameters),
        zero_energy_point=zero, relay_fails_point=relay,
        negative_step_point=negative, jump_point=jump, clock_drift_point=drift,
        meter_clock_drift=p.meter_clock_drift if drift else 0.0,
        terminal_clock_drift=p.terminal_clock_drift,
        meter_1997_every=p.meter_1997_every,
    )  # fmt: skip


def fault_bits(spec: ProcessSpec, index: int) -> int:
    """Which connection faults concentrator ``index`` shows (F_DUP | F_JUMP | ...)."""
    p = spec.profile
    return sum(
        bit for bit, salt, share in ((F_DUP, 5, p.duplicate_login),
                                     (F_JUMP, 6, p.ip_jump), (F_FLAP, 7, p.flap))
        if mix(spec.seed, index, salt) % 10_000 < share * 10_000
    )  # fmt: skip


class Term:
    """A fleet concentrator and its current connection."""

    __slots__ = ("attempt", "conc", "conn", "connecting", "epoch", "faults",
                 "hb_sent", "index", "outq", "pending", "source", "started",
                 "timer_due")  # fmt: skip

    def __init__(self, index: int, conc: Concentrator, faults: int) -> None:
        self.index = index
        self.conc = conc
        self.faults = faults
        self.conn: Conn | None = None
        self.connecting = False
        self.started = False
        self.attempt = 0  # reconnect back-off exponent
        self.epoch = 0  # bumped per connection: stale delayed work is dropped
        self.source = 0  # bumped per IP jump
        self.pending = 0
        self.hb_sent: float | None = None  # perf_counter of the first send
        self.timer_due: float | None = None
        self.outq: deque[bytes] | None = None  # chunks of a split frame

    def detach(self) -> None:
        """Forget the current connection and everything tied to it."""
        self.conn = None
        self.outq = None
        self.hb_sent = None
        self.timer_due = None
        self.pending = 0


class Conn(asyncio.Protocol):
    """One TCP connection of a fleet concentrator: its own, a duplicate or a leftover.

    ``data_received`` never awaits: everything goes straight to the runner.
    """

    __slots__ = ("by_us", "kind", "runner", "session", "term", "transport")

    def __init__(self, runner: Runner, term: Term, kind: int) -> None:
        self.runner = runner
        self.term = term
        self.kind = kind
        self.by_us = False
        self.transport: asyncio.Transport | None = None
        # A duplicate login has its own session for the same address.
        self.session = (
            TerminalSession(term.conc.session.config) if kind == DUPLICATE else None
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport does not subclass asyncio.Transport; both fit.
        self.transport = cast(asyncio.Transport, transport)
        self.runner.made(self)

    def data_received(self, data: bytes) -> None:
        self.runner.received(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.runner.lost(self)

    def close(self, *, abort: bool = False) -> None:
        self.by_us = True
        t = self.transport
        if t is None or t.is_closing():
            return
        if abort:
            t.abort()
        else:
            t.close()


Entry = tuple[float, int, int, Term, object, int]


class Sender:
    """Writing a concentrator's frames with the profile's stream faults.

    Garbage (随机乱码) is random bytes before a frame; a split frame goes out in
    chunks of 1..``split_chunk_max`` bytes ``split_gap`` apart, driven by heap
    entries, while later frames queue behind it so the byte order holds.
    """

    profile: Profile
    rng: random.Random
    stats: Stats

    def _push(self, due: float, kind: int, term: Term, obj: object = None,
              epoch: int = 0) -> None:  # fmt: skip
        raise NotImplementedError

    def _write(self, conn: Conn, data: bytes) -> None:
        if data and conn.transport is not None and not conn.transport.is_closing():
            conn.transport.write(data)
            self.stats.bytes_out += len(data)

    def _flush(self, term: Term, now: float) -> None:
        data = term.conc.session.data_to_send()
        if data:
            self._send(term, data, now)

    def _send(self, term: Term, data: bytes, now: float) -> None:
        conn, p, rng = term.conn, self.profile, self.rng
        if conn is None:
            return
        if term.outq is not None:  # an earlier frame is still going out in chunks
            self._queue_chunks(term, conn, data)
            return
        if p.garbage and rng.random() < p.garbage:
            self.stats.garbage_injected += 1
            self._write(conn, rng.randbytes(rng.randint(1, p.garbage_max)))
        if p.split and len(data) > 1 and rng.random() < p.split:
            self.stats.frames_split += 1
            term.outq = deque()
            self._queue_chunks(term, conn, data)
            self._chunk(term, term.epoch, now)
            return
        self._write(conn, data)

    def _queue_chunks(self, term: Term, conn: Conn, data: bytes) -> None:
        q = term.outq
        assert q is not None  # noqa: S101 - only called while chunks are queued
        i, most = 0, self.profile.split_chunk_max
        while i < len(data):
            n = self.rng.randint(1, most)
            q.append(data[i : i + n])
            i += n
        if len(q) > MAX_CHUNKS:  # bounded: send the backlog in one piece, in order
            self._write(conn, b"".join(q))
            term.outq = None

    def _chunk(self, term: Term, epoch: int, now: float) -> None:
        q = term.outq
        if q is None or term.conn is None or term.epoch != epoch:
            return
        self._write(term.conn, q.popleft())
        if q:
            self._push(now + self.profile.split_gap, CHUNK, term, None, epoch)
        else:
            term.outq = None
