"""The fleet runner: N simulated concentrators over K processes against host:port.

Concentrator i (0-based) is deterministic: A1 = ``--a1`` ("4403"), A2 =
``--a2-base`` + i, M meters at p1..pM whose addresses and seeds derive from
(i, pn) (:func:`simulators._model.meter_address`), faults chosen by a hash of
(seed, i). Each process runs a contiguous block of concentrators on one asyncio
loop (uvloop when installed, see :mod:`simulators._runner`); processes are
started with ``multiprocessing`` "spawn", hold at most ``MAX_PER_PROCESS``
concentrators (the fd limit is 20,000 per process), report their
:class:`~simulators._stats.Stats` through a pipe at the end, and the parent
prints the aggregate as JSON. Every run targets loopback and stops by itself.

``python -m simulators`` and ``headend simulate`` call :func:`main`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import ipaddress
import json
import math
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Final

from simulators._fleetparts import ProcessSpec
from simulators._points import MeterTable
from simulators._runner import Runner
from simulators._stats import Stats
from simulators.profiles import Profile, available_profiles, load_profile

MAX_PER_PROCESS: Final = 15_000  # leaves fds for ghosts, reconnects and the runtime
FD_HEADROOM: Final = 4096
DEFAULT_PORT: Final = 10000
REPORT_GRACE: Final = 30.0  # s a process may take beyond its duration to report


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """One fleet run."""

    concentrators: int
    meters: int
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    processes: int = 1
    duration: float = 60.0
    profile: Profile = field(default_factory=lambda: Profile("default"))
    a1: str = "4403"
    a2_base: int = 1
    ramp: float = 0.0
    sources: int = 16
    seed: int = 0

    def validate(self) -> None:
        if self.concentrators < 1 or self.meters < 0 or self.meters > 2040:
            raise ValueError("need ≥ 1 concentrator and 0..2040 meters each")
        if not self.a2_base >= 1 or self.a2_base + self.concentrators - 1 > 0xFFFF:
            raise ValueError("A2 = a2-base + i must stay within 1..65535")
        if len(self.a1) != 4 or not self.a1.isdigit():
            raise ValueError("A1 is four BCD digits, e.g. 4403")
        if (
            self.processes < 1
            or math.ceil(self.concentrators / self.processes) > MAX_PER_PROCESS
        ):
            raise ValueError(f"at most {MAX_PER_PROCESS} concentrators per process")
        if self.duration <= 0 or self.ramp < 0 or not 0 <= self.sources <= 254:
            raise ValueError("need duration > 0, ramp ≥ 0 and 0..254 sources")
        if not is_loopback(self.host):
            raise ValueError(f"{self.host}: simulator fleets target loopback only")

    def plan(self) -> list[ProcessSpec]:
        """Contiguous blocks of concentrators, one per process."""
        per, extra = divmod(self.concentrators, self.processes)
        out, first = [], 0
        for k in range(self.processes):
            count = per + (1 if k < extra else 0)
            out.append(ProcessSpec(
                self.host, self.port, first, count, self.meters, self.a1,
                self.a2_base, self.duration, self.ramp,
                self.profile, self.sources if _ipv4(self.host) else 0, self.seed, k))  # fmt: skip
            first += count
        return out


def archive(spec: FleetSpec) -> Iterator[tuple[str, int, int, str, int]]:
    """(A1, A2, pn, meter address, 645 protocol code 30/1) of every simulated meter.

    What the head-end's archive (档案) must hold for the fleet, in fleet order.
    """
    every = spec.profile.meter_1997_every
    for i in range(spec.concentrators):
        table = MeterTable(i, spec.meters, 31, every)
        for pn in range(1, spec.meters + 1):
            entry = table.default(pn)
            if entry is not None and entry.address is not None:
                yield spec.a1, spec.a2_base + i, pn, entry.address, entry.protocol


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ipv4(host: str) -> bool:
    return host == "localhost" or "." in host


def default_processes(concentrators: int) -> int:
    return max(1, math.ceil(concentrators / 10_000))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _run(coro: Coroutine[Any, Any, Stats]) -> Stats:
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(coro)


def _raise_fd_limit(needed: int) -> None:
    """Lift the soft fd limit towards ``needed`` (never above the hard limit)."""
    try:
        import resource  # noqa: PLC0415 - Unix only
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def _run_with_signals(runner: Runner, signals: tuple[int, ...]) -> Stats:
    """Run, treating ``signals`` as "stop now and report" (main thread only)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in signals:
        try:
            loop.add_signal_handler(sig, runner.request_stop)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
            break
        installed.append(sig)
    try:
        return await runner.run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def run_process(spec: ProcessSpec,
                stop_signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)
                ) -> dict[str, Any]:  # fmt: skip
    """Run one process's concentrators to the end; the stats as a plain dict.

    ``stop_signals`` end the run early (the report still comes).
    """
    _raise_fd_limit(spec.count + FD_HEADROOM)
    return _run(_run_with_signals(Runner(spec), stop_signals)).to_dict()


def _child(spec: ProcessSpec, pipe: Connection) -> None:
    # Ctrl-C reaches the whole process group: the parent turns it into SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pipe.send(run_process(spec, (signal.SIGTERM,)))
    finally:
        pipe.close()


def _forward_stop(children: list[BaseProcess]) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        for proc in children:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: the child stops early and reports

    return handler


def run_fleet(spec: FleetSpec) -> dict[str, Any]:
    """Run the fleet (in this process when K = 1) and return the JSON report."""
    spec.validate()
    started = time.monotonic()
    plans = spec.plan()
    reports: list[dict[str, Any]] = []
    failed = 0
    if len(plans) == 1:
        reports.append(run_process(plans[0]))
    else:
        ctx = multiprocessing.get_context("spawn")
        children: list[tuple[BaseProcess, Connection]] = []
        for p in plans:
            parent_end, child_end = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(p, child_end),
                               name=f"fleet-{p.process_index}", daemon=True)  # fmt: skip
            proc.start()
            child_end.close()
            children.append((proc, parent_end))
        stop = _forward_stop([proc for proc, _ in children])
        previous = None
        with contextlib.suppress(ValueError):  # only the main thread handles signals
            previous = signal.signal(signal.SIGTERM, stop)
        try:
            reports, failed = _collect(children, spec.duration + REPORT_GRACE, stop)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    total = Stats()
    for r in reports:
        total.merge(Stats.from_dict(r))
    return summary(spec, total, time.monotonic() - started, failed)


def _collect(children: list[tuple[BaseProcess, Connection]], within: float,
             stop: Callable[[int, Any], None]) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """Each child's report (Ctrl-C stops them early); the count of those missing."""
    reports: list[dict[str, Any]] = []
    failed = 0
    deadline = time.monotonic() + within
    for proc, pipe in children:
        while True:
            try:
                got = pipe.poll(max(0.0, deadline - time.monotonic()))
                if got:
                    reports.append(pipe.recv())
                else:
                    failed += 1
                break
            except KeyboardInterrupt:
                stop(signal.SIGINT, None)
                deadline = min(deadline, time.monotonic() + REPORT_GRACE)
            except (EOFError, OSError):
                failed += 1
                break
        proc.join(timeout=max(0.0, deadline - time.monotonic()) + 1.0)
        if proc.is_alive():  # our own child, past its deadline
            proc.kill()
            proc.join(timeout=5.0)
    return reports, failed


def summary(spec: FleetSpec, s: Stats, elapsed: float, failed: int) -> dict[str, Any]:
    return {
        "concentrators": spec.concentrators,
        "meters_per_concentrator": spec.meters,
        "processes": spec.processes,
        "processes_failed": failed,
        "profile": spec.profile.name,
        "duration": spec.duration,
        "elapsed": round(elapsed, 3),
        "started": s.started,
        "logins_confirmed": s.logins_confirmed,
        "online_at_end": s.online_at_end,
        "heartbeats": {
            "sent": s.heartbeats_sent,
            "confirmed": s.heartbeats_confirmed,
            "retries": s.heartbeat_retries,
        },
        "heartbeat_latency_ms": s.heartbeat_latency.summary_ms(),
        "requests": {
            "received": s.requests,
            "dropped": s.requests_dropped,
            "abandoned": s.answers_abandoned,
            "denied": s.denied,
            "answered_by_afn": dict(sorted(s.answered.items())),
        },
        "connections": {
            "connects": s.connects,
            "reconnects": s.reconnects,
            "failures": s.connect_failures,
            "closed_by_peer": s.closed_by_peer,
            "link_lost": s.link_lost,
            "login_retries": s.login_retries,
        },
        "bytes": {"in": s.bytes_in, "out": s.bytes_out},
        "frames_discarded": s.frames_discarded,
        "faults": {
            "garbage": s.garbage_injected,
            "split_frames": s.frames_split,
            "duplicate_logins": s.duplicate_logins,
            "ip_jumps": s.ip_jumps,
            "flaps": s.flaps,
        },
        "cpu_seconds": round(s.cpu_seconds, 3),
        "peak_rss_mb": round(s.peak_rss_mb, 1),
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simulate",
        description="Run a fleet of simulated concentrators (集中器) against a "
        "head-end on loopback; stops by itself and prints a JSON report.",
    )
    p.add_argument("--concentrators", type=int, required=True, metavar="N")
    p.add_argument("--meters", type=int, required=True, metavar="M",
                   help="meters (measuring points) per concentrator")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="head-end address (loopback)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--processes", type=int, metavar="K",
                   help="processes (default: one per 10,000 concentrators)")  # fmt: skip
    p.add_argument("--duration", type=float, default=60.0, metavar="S",
                   help="seconds until the fleet stops by itself")  # fmt: skip
    p.add_argument("--profile", default="default",
                   help=f"one of {', '.join(available_profiles())}, or a .toml path")  # fmt: skip
    p.add_argument("--a1", default="4403", help="region code A1 of every concentrator")
    p.add_argument("--a2-base", type=int, default=1, metavar="B",
                   help="A2 of concentrator i is B + i")  # fmt: skip
    p.add_argument("--ramp", type=float, default=0.0, metavar="S",
                   help="spread connects over S seconds (0 = all at once)")  # fmt: skip
    p.add_argument("--heartbeat", type=float, metavar="S",
                   help="heartbeat interval, overriding the profile's")  # fmt: skip
    p.add_argument("--sources", type=int, default=16,
                   help="source addresses 127.0.0.1..N to spread connects over")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of faults and latency")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the report")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 on bad arguments)."""
    args = parser().parse_args(argv)
    try:
        profile = load_profile(args.profile).with_heartbeat(args.heartbeat)
        spec = FleetSpec(
            args.concentrators, args.meters, args.host, args.port,
            args.processes or default_processes(args.concentrators), args.duration,
            profile, args.a1, args.a2_base, args.ramp, args.sources, args.seed)  # fmt: skip
        spec.validate()
    except (ValueError, OSError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)  # noqa: T201 - CLI output
        return 2
    report = run_fleet(spec)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)  # noqa: T201 - the report is the command's output
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 1 if report["processes_failed"] else 0


__all__ = ["FleetSpec", "archive", "is_loopback", "main", "run_fleet", "run_process"]
