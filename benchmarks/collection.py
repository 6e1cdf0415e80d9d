"""Collection benchmark (issue 5 item 9): every daily frozen reading of a fleet, end to end.

Everything runs on this machine: a private PostgreSQL 15 server (plain, no
TimescaleDB), ``headend serve`` with storage (catch-up on login off) and
``headend simulate --profile collection`` (answer delay uniform in 0.2-0.8 s, no
loss), all on loopback. Per run:

1. **protocol floor** (the baseline, measured in the same run): the same fleet
   answering a bare asyncio server (``--serve-baseline``: the same codec and session,
   the same requests — AFN0D F161 for yesterday, ``points_per_request`` points a
   frame, one request in flight per terminal, the same start jitter and terminal
   cap) that only counts the units it gets back: no database, no ingest;
2. **raw COPY** of as many ``reading_daily`` rows into the same database (text COPY
   on two connections, the fastest raw client path of ``benchmarks/storage.py``);
3. **head-end**: a fresh ``headend serve`` (cold caches, as a daily window finds
   them), the fleet logs in, then ``POST /api/v1/tasks/{id}/run``; the clock runs
   until ``COUNT_SQL`` equals the meter count. The window's start and end come from
   the workers' ``collection_window`` log lines, the first request from the
   ``headend_requests_in_flight`` gauge. CPU: /proc utime+stime (reaped children
   included) of the head-end, fleet and PostgreSQL process trees over the run.

Every wait is bounded, the fleet stops by itself, and a watchdog kills what was
started if this process dies without its clean-up.

Run: ``make bench-collection`` (``python -m benchmarks.collection --output
docs/benchmarks.md``); ``--quick`` for a small smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

import psycopg

from benchmarks.common import stamp, write_section
from headend.config import CollectionSettings
from tests.fixtures.postgres import Cluster, start_cluster

TICK: Final = os.sysconf("SC_CLK_TCK")
TOKEN: Final = "bench"
TZ: Final = ZoneInfo("Asia/Shanghai")  # the head-end's default terminal time zone
PROFILE: Final = "collection"
LATENCY: Final = (0.2, 0.8)  # simulators/profiles/collection.toml
TARGETS: Final = {100_000: 5.0, 1_000_000: 60.0}  # meters -> seconds (the issue)
COUNT_SQL: Final = "SELECT count(*) FROM reading_daily WHERE day = %s AND item_id = 1"
COMMITS_SQL: Final = (
    "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
)
LAST_COMMIT_SQL: Final = (
    "SELECT extract(epoch FROM max(pg_xact_commit_timestamp(xmin))) FROM reading_daily"
    " WHERE day = %s AND item_id = 1"
)
STALL: Final = 20.0  # s without progress after every window ended: incomplete
#: Head-end counters read at the end of a run (the link's health during the window).
LINK_METRICS: Final = {
    "retransmissions": "headend_request_retries_total",
    "timeouts": "headend_request_timeouts_total",
    "unmatched answers": 'headend_decode_errors_total{reason="unmatched_response"}',
}
TASK: Final = {"name": "bench-daily-f161", "kind": "daily", "fns": [161],
               "interval_s": 86400, "lookback_days": 0, "retries": 0}  # fmt: skip
DEFAULTS: Final = CollectionSettings()

# Beside this process: when it is gone without its clean-up (killed), kill the process
# groups it listed, stop the database (SIGQUIT: immediate) and remove the directory.
_WATCHDOG: Final = """
while kill -0 "$1" 2>/dev/null; do sleep 1; done
[ -f "$2/groups" ] && while read -r g; do kill -KILL -- "-$g" 2>/dev/null; done < "$2/groups"
for pidfile in "$2"/*/postmaster.pid; do
    [ -f "$pidfile" ] && kill -QUIT "$(head -n 1 "$pidfile")" 2>/dev/null
done
sleep 2
rm -rf "$2"
"""


@dataclass(frozen=True)
class Size:
    concentrators: int
    meters: int  # per concentrator
    runs: int

    @property
    def total(self) -> int:
        return self.concentrators * self.meters

    @property
    def label(self) -> str:
        return f"{self.total:,} meters ({self.concentrators:,} × {self.meters})"


@dataclass
class Run:
    """One measured run (wall seconds unless said otherwise)."""

    workers: int
    meters: int
    ok: bool = False
    collected: int = 0
    from_window: float = math.nan  # the clock: the window began
    from_request: float = math.nan  # POST .../run sent
    from_first: float = math.nan  # the first collection request left
    notice: float = math.nan  # run request -> window start (task-table polling)
    window: float = math.nan  # window start -> its last terminal done (logs)
    commit_tail: float = math.nan  # window end -> last reading committed
    resolution: float = math.nan  # the count poll's last interval
    t_request: float = math.nan  # time.time() of the run request
    commits: int = 0  # database transactions committed during the run
    link: dict[str, float] = field(default_factory=dict)  # LINK_METRICS at the end
    baseline: float = math.nan  # protocol floor, measured
    baseline_units: int = 0
    copy_s: float = math.nan  # raw COPY of as many rows
    cpu: dict[str, float] = field(default_factory=dict)  # CPU-s per process tree
    baseline_cpu: float = math.nan  # CPU-s of the bare server
    wall_cpu: float = math.nan  # wall seconds of the CPU sample
    windows: list[dict[str, Any]] = field(default_factory=list)
    fleet: dict[str, Any] = field(default_factory=dict)


# --- processes -------------------------------------------------------------------------


class Processes:
    """The process groups this benchmark started, recorded for the watchdog."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.watchdog = subprocess.Popen(
            ["/bin/sh", "-c", _WATCHDOG, "coll-watchdog", str(os.getpid()), str(root)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def start(self, cmd: list[str], *, nice: bool = False, **kw: Any) -> subprocess.Popen[bytes]:  # fmt: skip
        proc = subprocess.Popen(
            cmd, start_new_session=True, stdin=subprocess.DEVNULL,
            preexec_fn=_nice if nice else None,  # noqa: PLW1509 - no threads here
            **kw,
        )  # fmt: skip
        with (self.root / "groups").open("a") as f:
            f.write(f"{proc.pid}\n")
        return proc

    def close(self) -> None:
        self.watchdog.terminate()
        self.watchdog.wait(timeout=10)


def _nice() -> None:
    # Like benchmarks/server.py: the fleet (the load generator) runs at nice 10 so
    # that it does not starve the system under test on the shared cores.
    os.nice(10)


def stop_group(proc: subprocess.Popen[bytes] | None, within: float = 30.0) -> None:
    """SIGTERM the process group (a session of its own), SIGKILL it after ``within``."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=within)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, if any
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _procs() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, CPU seconds including reaped children) of every process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                f = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry.name)] = (int(f[1]), sum(int(x) for x in f[11:15]) / TICK)
    return out


def tree_cpu(roots: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds of each named process tree.

    utime+stime+cutime+cstime over the live processes: a child that exited and was
    reaped is in its parent's cutime, so the difference of two samples is right even
    for short-lived processes (the database's per-connection backends).
    """
    procs = _procs()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out = {}
    for name, root in roots.items():
        total, todo = 0.0, [root] if root in procs else []
        while todo:
            pid = todo.pop()
            total += procs[pid][1]
            todo.extend(children.get(pid, ()))
        out[name] = total
    return out


def cpu_of(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / TICK


def wait_until(cond: Callable[[], bool], within: float, step: float = 0.2) -> float:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > within:
            raise TimeoutError(f"not reached within {within:.0f} s")
        time.sleep(step)
    return time.monotonic() - start


def settle(roots: Mapping[str, int], within: float, idle: float = 0.05) -> None:
    """Wait (at most ``within`` s) until every tree uses < ``idle`` of a core."""
    deadline = time.monotonic() + within
    before = tree_cpu(roots)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        after = tree_cpu(roots)
        if all(after[k] - before[k] < idle for k in roots):
            return
        before = after


def fleet_cmd(port: int, size: Size, processes: int, duration: float, report: Path) -> list[str]:  # fmt: skip
    return [sys.executable, "-m", "headend", "simulate", "--host", "127.0.0.1",
            "--port", str(port), "--concentrators", str(size.concentrators),
            "--meters", str(size.meters), "--processes", str(processes),
            "--profile", PROFILE, "--duration", str(duration), "--json", str(report)]  # fmt: skip


def headend_env(dsn: str, tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADEND_")}
    env.update(
        HEADEND_DATABASE_URL=dsn, HEADEND_STORAGE="true", HEADEND_API_TOKEN=TOKEN,
        HEADEND_API_HOST="127.0.0.1", HEADEND_RUNTIME_DIR=str(tmp / "runtime"),
        HEADEND_STATE_DIR=str(tmp / "state"), HEADEND_LOG_FORMAT="json",
        HEADEND_LOG_LEVEL="info", HEADEND_LIMITS__LOGIN_TIMEOUT="120",
        HEADEND_COLLECTION__CATCHUP_ON_LOGIN="false", **extra,
    )  # fmt: skip
    return env


def api(api_port: int, method: str, path: str, body: Any = None) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{api_port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - http on loopback
        return json.loads(r.read() or b"null")


def metric(api_port: int, name: str) -> float:
    """A metric summed over its series (-1 when the API does not answer)."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{api_port}/metrics", timeout=5
        ) as r:
            text = r.read().decode()
    except OSError:
        return -1.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((name + " ", name + "{"))
    )


# --- the database ----------------------------------------------------------------------


def fresh(cluster: Cluster, name: str, size: Size) -> str:
    """A new database on the private server: migrated, with the fleet's archive."""
    from headend.storage import maintenance, migrate
    from simulators.fleet import FleetSpec, archive
    from simulators.profiles import load_profile

    with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = cluster.dsn(name)
    asyncio.run(migrate.upgrade(dsn))
    asyncio.run(maintenance.run(dsn))
    spec = FleetSpec(size.concentrators, size.meters, profile=load_profile(PROFILE))
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor().copy("COPY terminal (a1, a2, status) FROM STDIN") as copy:
            for i in range(size.concentrators):
                copy.write_row((spec.a1, spec.a2_base + i, "active"))
        ids = {(a1, a2): tid for tid, a1, a2 in conn.execute("SELECT id, a1, a2 FROM terminal")}  # fmt: skip
        with conn.cursor().copy(
            "COPY meter (terminal_id, pn, address, protocol, status) FROM STDIN"
        ) as copy:
            for a1, a2, pn, address, protocol in archive(spec):
                copy.write_row((ids[(a1, a2)], pn, address, protocol, "active"))
        # Steady state: every terminal's event records are stored up to the counters
        # a simulated concentrator logs in with (EC1 = 1, its power-on ERC14; EC2 = 0).
        # Otherwise every login starts the event collector's first read of both
        # 256-record rings (headend/collection/events.py) during the window.
        conn.execute(
            "INSERT INTO terminal_event_state (terminal_id, importance, ec) "
            "SELECT id, 1, 1 FROM terminal UNION ALL SELECT id, 2, 0 FROM terminal"
        )
        for table in ("terminal", "meter", "terminal_event_state"):
            conn.execute(f"ANALYZE {table}")
    return dsn


def clear_readings(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE reading_daily, collection_run")


def raw_copy_seconds(dsn: str, n: int) -> float:
    """Seconds to load ``n`` reading_daily rows by raw text COPY (then removed)."""
    from benchmarks.storage import make_rows, raw_copy_text

    rate = asyncio.run(raw_copy_text(dsn, make_rows(n), 2))
    clear_readings(dsn)
    return n / rate


# --- the protocol floor: a bare server that counts answers ------------------------------


class _Link(asyncio.Protocol):
    """One terminal link of the baseline server: codec and session, nothing else."""

    def __init__(self, links: dict[tuple[str, int], _Link]) -> None:
        from protocols.gdw1376.session import MasterSession

        self.links = links
        self.loop = asyncio.get_running_loop()
        self.session = MasterSession()
        self.futures: dict[int, asyncio.Future[Any]] = {}
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's: no subclass

    def data_received(self, data: bytes) -> None:
        from protocols.gdw1376.events import Login

        self.session.receive_data(data, self.loop.time())
        for ev in self.session.events():
            if isinstance(ev, Login):
                self.links[(ev.frame.a1, ev.frame.a2)] = self
            else:
                fut = self.futures.pop(getattr(ev, "request_id", -1), None)
                if fut is not None and not fut.done():
                    fut.set_result(ev)
        self._flush()

    def _flush(self) -> None:
        out = self.session.data_to_send()
        if out and self.transport is not None:
            self.transport.write(out)

    def connection_lost(self, exc: Exception | None) -> None:
        for fut in self.futures.values():
            if not fut.done():
                fut.set_exception(ConnectionError("lost"))

    async def request(self, afn: int, units: list[Any]) -> Any:
        rid = self.session.send_request(afn, units, self.loop.time())
        fut = self.futures[rid] = self.loop.create_future()
        self._flush()
        return await fut


async def baseline_server(args: argparse.Namespace) -> dict[str, Any]:
    """Accept the fleet, then collect as the head-end does, minus storage."""
    from protocols.gdw1376.frame import DataUnit
    from protocols.gdw1376.registry import AFN
    from protocols.gdw1376.units.afn0d import TdDaily

    links: dict[tuple[str, int], _Link] = {}
    server = await asyncio.get_running_loop().create_server(
        lambda: _Link(links), "127.0.0.1", args.port, backlog=4096
    )
    async with server:
        deadline = time.monotonic() + args.online_timeout
        while len(links) < args.expect and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # logins confirmed, buffers settled
        mark = TdDaily(datetime.now(TZ).date() - timedelta(days=1))
        slots = asyncio.Semaphore(args.cap)
        got = [0]
        start, cpu0 = time.perf_counter(), time.process_time()

        async def one(link: _Link, delay: float) -> None:
            await asyncio.sleep(delay)
            async with slots:
                for lo in range(1, args.meters + 1, args.points):
                    top = min(lo + args.points, args.meters + 1)
                    units = [DataUnit(pn, 161, mark) for pn in range(lo, top)]
                    ev = await link.request(AFN.CLASS2, units)
                    got[0] += sum(
                        1 for u in getattr(ev, "units", ()) if u.data is not None
                    )

        async with asyncio.timeout(args.timeout):
            await asyncio.gather(*(one(link, random.uniform(0, args.spread))
                                   for link in list(links.values())))  # fmt: skip
        return {"online": len(links), "units": got[0],
                "seconds": time.perf_counter() - start,
                "cpu_s": time.process_time() - cpu0}  # fmt: skip


def serve_baseline(args: argparse.Namespace) -> None:
    from headend.app import event_loop_factory  # the head-end's loop (uvloop)

    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        result = runner.run(baseline_server(args))
    args.result.write_text(json.dumps(result))


def latency_floor(size: Size, points: int, spread: float, trials: int = 101) -> float:
    """Median over draws of the slowest terminal: its start jitter + round trips."""
    rng = random.Random(0)
    k = math.ceil(size.meters / points)
    lo, hi = LATENCY
    return statistics.median(
        max(rng.uniform(0, spread) + sum(rng.uniform(lo, hi) for _ in range(k))
            for _ in range(size.concentrators))
        for _ in range(trials)
    )  # fmt: skip


# --- one run ---------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    procs: Processes
    dsn: str
    postmaster: int
    tmp: Path
    timeout: float
    task_id: int | None = None
    points: int = DEFAULTS.points_per_request
    spread: float = DEFAULTS.spread
    cap: int = DEFAULTS.max_terminals

    @property
    def fleet_duration(self) -> float:  # the fleet stops by itself after this
        return float(self.args.online_timeout) + 180 + self.timeout + 120


def run_baseline(ctx: Context, size: Size, workers: int, run: Run) -> None:
    port, result = free_port(), ctx.tmp / "baseline.json"
    result.unlink(missing_ok=True)
    server = ctx.procs.start(
        [sys.executable, "-m", "benchmarks.collection", "--serve-baseline",
         "--port", str(port), "--expect", str(size.concentrators),
         "--meters", str(size.meters), "--points", str(ctx.points),
         "--spread", str(ctx.spread), "--cap", str(ctx.cap * workers),
         "--timeout", str(ctx.timeout), "--result", str(result),
         "--online-timeout", str(ctx.args.online_timeout)],
    )  # fmt: skip
    fleet = None
    try:
        time.sleep(1.0)
        fleet = ctx.procs.start(
            fleet_cmd(port, size, ctx.args.fleet_processes, ctx.fleet_duration,
                      ctx.tmp / "fleet-baseline.json"),
            nice=ctx.args.nice, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        within = ctx.args.online_timeout + ctx.timeout + 60
        wait_until(lambda: server.poll() is not None, within)
        got = json.loads(result.read_text())
        run.baseline, run.baseline_units = got["seconds"], got["units"]
        run.baseline_cpu = got["cpu_s"]
    finally:
        stop_group(fleet, 60)
        stop_group(server, 10)


def run_headend(ctx: Context, size: Size, workers: int, run: Run, index: int) -> None:
    args = ctx.args
    port, api_port = free_port(), free_port()
    tmp = ctx.tmp / f"run-{size.total}-{workers}-{index}"
    tmp.mkdir()
    log = tmp / "headend.log"
    with log.open("ab") as err:
        headend = ctx.procs.start(
            [sys.executable, "-m", "headend", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--api-port", str(api_port), "--workers", str(workers)],
            env=headend_env(ctx.dsn, tmp, dict(args.env)),
            stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    fleet = None
    try:
        wait_until(lambda: metric(api_port, "headend_terminals_online") >= 0, 120)
        if ctx.task_id is None:
            ctx.task_id = int(api(api_port, "POST", "/api/v1/tasks", TASK)["id"])
        fleet = ctx.procs.start(
            fleet_cmd(port, size, args.fleet_processes, ctx.fleet_duration,
                      tmp / "fleet.json"),
            nice=args.nice, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        online = size.concentrators
        wait_until(lambda: metric(api_port, "headend_terminals_online") >= online,
                   args.online_timeout, 0.5)  # fmt: skip
        roots = {
            "head-end": headend.pid,
            "fleet": fleet.pid,
            "database": ctx.postmaster,
        }
        settle(roots, 120)  # logins stored, links announced
        run.copy_s = raw_copy_seconds(ctx.dsn, size.total)
        settle(roots, 30)
        measure(ctx, size, run, api_port, roots, log, workers)
    finally:
        stop_group(fleet, 60)
        stop_group(headend, 30)
    run.windows = log_windows(log, run.t_request)
    with contextlib.suppress(OSError, ValueError):
        run.fleet = json.loads((tmp / "fleet.json").read_text())
    if run.windows:
        start = min(w["start"] for w in run.windows)
        end = max(w["end"] for w in run.windows)
        run.notice, run.window = start - run.t_request, end - start
        done = run.t_request + run.from_request
        run.from_window, run.commit_tail = done - start, done - end
    clear_readings(ctx.dsn)


def measure(ctx: Context, size: Size, run: Run, api_port: int,
            roots: Mapping[str, int], log: Path, workers: int) -> None:  # fmt: skip
    """Request the run, poll until every reading is committed, sample the CPU.

    The poll only notices the end (its interval keeps it under ~10 % of a core); the
    end itself is the commit time of the newest reading (``track_commit_timestamp``).
    A run stops early when every worker's window has ended and the count has not
    moved for ``STALL`` seconds (the task has no retries: nothing more will come).
    """
    day = datetime.now(TZ).date() - timedelta(days=1)
    with psycopg.connect(ctx.dsn, autocommit=True) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")  # its cost stays here
        poller, counts = conn.info.backend_pid, 0

        def one(sql: str, *params: Any) -> float:
            row = conn.execute(sql, params).fetchone()
            return float(row[0]) if row and row[0] is not None else math.nan

        commits0 = one(COMMITS_SQL)
        cpu0, p0, t0 = tree_cpu(roots), cpu_of(poller), time.monotonic()
        run.t_request = time.time()
        api(api_port, "POST", f"/api/v1/tasks/{ctx.task_id}/run")
        first = math.nan
        count, changed, next_q, noticed = 0, t0, t0, math.nan
        while time.monotonic() < t0 + ctx.timeout:
            if math.isnan(first) and metric(api_port, "headend_requests_in_flight") > 0:
                first = time.time()
            if time.monotonic() >= next_q:
                q = time.monotonic()
                now, counts = int(one(COUNT_SQL, day)), counts + 1
                if now >= size.total:
                    count, run.ok, noticed = now, True, time.time()
                    break
                next_q = q + max(0.1, 10 * (time.monotonic() - q))
                if now != count:
                    count, changed = now, q
                elif (
                    q - changed > STALL
                    and len(log_windows(log, run.t_request)) >= workers
                ):
                    break
            pause = 0.05 if math.isnan(first) else next_q - time.monotonic()
            time.sleep(max(0.0, pause))
        cpu1, p1, t1 = tree_cpu(roots), cpu_of(poller), time.monotonic()
        run.link = {
            name: metric(api_port, series) for name, series in LINK_METRICS.items()
        }
        time.sleep(1.2)  # backends report their statistics at most once a second
        run.commits = int(one(COMMITS_SQL) - commits0) - counts  # not the poll's own
        if run.ok:
            done = one(LAST_COMMIT_SQL, day)
            run.from_request, run.resolution = done - run.t_request, noticed - done
            run.from_first = done - first
    run.collected = count
    run.cpu = {k: cpu1[k] - cpu0[k] for k in roots}
    run.cpu["database"] -= p1 - p0  # the poll's own backend is not the system's work
    run.cpu["poll backend"] = p1 - p0
    run.wall_cpu = t1 - t0


def log_windows(log: Path, since: float) -> list[dict[str, Any]]:
    """The workers' ``collection_window`` records (phase window) logged after ``since``.

    Workers share the log file and their lines can run into each other, so every
    JSON object of a line is read.
    """
    out = []
    decoder = json.JSONDecoder()
    with contextlib.suppress(OSError):
        for line in log.read_text(errors="replace").splitlines():
            at = line.find('{"')
            while '"collection_window"' in line and at >= 0:
                try:
                    rec, end = decoder.raw_decode(line, at)
                except ValueError:
                    break
                at = line.find('{"', end)
                with contextlib.suppress(
                    ValueError, KeyError, TypeError, AttributeError
                ):
                    ts = datetime.fromisoformat(rec["timestamp"]).timestamp()
                    if (
                        rec.get("event") == "collection_window"
                        and rec.get("phase") == "window"
                        and ts >= since
                    ):
                        out.append({"worker": rec.get("worker"), "end": ts,
                                    "start": ts - float(rec["seconds"]),
                                    "terminals": rec.get("terminals"),
                                    "received": rec.get("received"),
                                    "reasons": rec.get("reasons")})  # fmt: skip
    return out


# --- the report ------------------------------------------------------------------------


def med(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) if xs else math.nan


def _s(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f} s"


def _workers(n: int) -> str:
    return f"{n} worker{'s' * (n > 1)}"


def report(results: dict[tuple[int, int], list[Run]], sizes: dict[int, Size],
           floors: dict[int, tuple[float, float]], ctx: Context, command: str) -> str:  # fmt: skip
    intro = [
        stamp(command),
        "Everything on this machine: a private plain PostgreSQL 15 (fsync on),"
        " `headend serve` with storage (catch-up on login off, collection settings"
        f" at their defaults: {ctx.points} points a request, start jitter"
        f" {ctx.spread:g} s, at most {ctx.cap:,} terminals at once per worker, one"
        " request in flight per terminal) and `headend simulate --profile"
        f" collection` (answer delay uniform {LATENCY[0]}-{LATENCY[1]} s, no loss;"
        f" `--processes {ctx.args.fleet_processes}`"
        f"{', at nice 10' if ctx.args.nice else ''}).",
        "A `daily` task for AFN0D F161, yesterday, is created and run with"
        " `POST /api/v1/tasks/{id}/run`; a run is done when",
        f"`{COUNT_SQL.replace('%s', 'yesterday')}`",
        "equals the meter count; the end is the commit time of the newest of those"
        " rows (`track_commit_timestamp` is on; the count only notices it, on at most"
        " a tenth of a core and with parallel query off). Each run starts a"
        " fresh head-end (cold archive caches, as a daily window finds them) and fleet;"
        " every terminal's event pointers are preset to its counters (steady state: no"
        " event ring to read).",
    ]
    lines = [
        "## Collection: daily frozen readings end to end (issue 5 item 9)",
        "",
        " ".join(intro),
        "",
        "*Task start* is the window's start logged by the workers (`collection_window`:"
        " end − seconds; with several workers the earliest); a `run now` request is"
        " noticed through the workers' task-table polling (every 2 s): *notice*."
        " *Protocol floor* is the baseline measured in the same run: the same fleet"
        " answering a bare asyncio server with the same codec and session that sends"
        " the same requests with the same jitter and terminal cap and only counts the"
        " units it gets back (no database, no ingest). *Latency floor* is computed: the"
        " median over 101 draws of the slowest terminal's jitter plus its ⌈M/P⌉ round"
        " trips (in brackets: without the jitter). *Raw COPY*: as many `reading_daily`"
        " rows by text COPY on 2 connections into the same database. *Commits*:"
        " database transactions during the run (the count poll's own left out). A run"
        f" is *incomplete* when every window has ended and the count stood still for"
        f" {STALL:.0f} s (the task has no retries), or after {ctx.timeout:.0f} s."
        " Medians of the runs.",
        "",
        "| meters | workers | runs | task start → all committed | target | ÷ protocol "
        "floor | protocol floor | latency floor | run request → all | first request → "
        "all | notice | window | commit tail | raw COPY | commits |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    details, verdicts = [], []
    for (total, workers), runs in results.items():
        size, (floor, floor0) = sizes[total], floors[total]
        good = [r for r in runs if r.ok]
        value = (
            med([r.from_window for r in good]) if len(good) == len(runs) else math.nan
        )
        target = TARGETS.get(total)
        incomplete = [f"{r.collected:,}" for r in runs if not r.ok]
        shown = f"**{_s(value)}**" if not incomplete else (
            f"**incomplete**: {', '.join(incomplete)} of {total:,} stored"
        )  # fmt: skip
        lines.append(
            f"| {size.label} | {workers} | {len(runs)} | {shown} | "
            f"{f'≤ {target:g} s' if target else ''} | "
            f"{med([r.from_window / r.baseline for r in good]):.2f} | "
            f"{_s(med([r.baseline for r in runs]))} | {_s(floor)} ({_s(floor0)}) | "
            f"{_s(med([r.from_request for r in good]))} | "
            f"{_s(med([r.from_first for r in good]))} | {_s(med([r.notice for r in runs]))} | "
            f"{_s(med([r.window for r in runs]))} | {_s(med([r.commit_tail for r in good]))} | "
            f"{_s(med([r.copy_s for r in runs]))} | {med([float(r.commits) for r in runs]):,.0f} |"
        )  # fmt: skip
        if target is not None:
            met = not math.isnan(value) and value <= target
            verdicts.append(f"{size.label}, {_workers(workers)}: {shown} against ≤ "
                            f"{target:g} s — {'met' if met else 'missed'}")  # fmt: skip
        keys = [k for k in runs[0].cpu if k != "poll backend"]
        cpu = {k: med([r.cpu.get(k, math.nan) for r in runs]) for k in keys}
        together, wall = sum(cpu.values()), med([r.wall_cpu for r in runs])
        split = ", ".join(f"{k} {v:.1f} CPU-s ({v / together * 100:.0f} %)"
                          for k, v in cpu.items())  # fmt: skip
        cores = os.cpu_count() or 1
        links = [r.fleet.get("connections", {}) for r in runs]
        windows = [f"{w['terminals']:,} terminals, {w['received']:,} readings"
                   + (f", failures {w['reasons']}" if w["reasons"] else "")
                   for r in runs for w in r.windows]  # fmt: skip
        details.append(
            f"- {size.label}, {_workers(workers)}: {split}; together {together:.1f} CPU-s"
            f" in {wall:.1f} s = {together / wall / cores * 100:.0f} % of the {cores}"
            f" cores (the count poll's backend, left out: "
            f"{med([r.cpu.get('poll backend', math.nan) for r in runs]):.2f} CPU-s). "
            f"The bare server of the protocol floor: {med([r.baseline_cpu for r in runs]):.1f}"
            f" CPU-s. Windows (per worker and run): {'; '.join(windows) or 'none logged'}."
            f" Fleet links lost / reconnects: {sum(c.get('link_lost', 0) for c in links)}"
            f" / {sum(c.get('reconnects', 0) for c in links)}; head-end "
            + ", ".join(f"{k} {sum(r.link.get(k, 0) for r in runs):,.0f}" for k in LINK_METRICS)
            + "."
        )  # fmt: skip
    lines += [
        "",
        "CPU from the run request until the last reading was committed (/proc"
        " utime+stime with reaped children, per process tree; medians of the runs):",
        "",
        *details,
        "",
        "Targets (issue 5 item 9, from task start): " + "; ".join(verdicts) + ".",
    ]
    return "\n".join(lines) + "\n"


# --- main ------------------------------------------------------------------------------


def parse_sizes(text: str, runs: str) -> list[Size]:
    counts = [int(r) for r in runs.split(",")]
    out = []
    for i, part in enumerate(text.split(",")):
        n, m = (int(x) for x in part.lower().split("x"))
        out.append(Size(n, m, counts[min(i, len(counts) - 1)]))
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="2000x50,10000x100",
                   help="concentrators x meters, comma-separated")  # fmt: skip
    p.add_argument("--runs", default="3,1", help="runs per size (the last repeats)")
    p.add_argument("--workers", default="1,2", help="head-end worker counts")
    p.add_argument("--fleet-processes", type=int, default=2)
    p.add_argument("--no-nice", dest="nice", action="store_false",
                   help="run the fleet at the head-end's priority, not nice 10")  # fmt: skip
    p.add_argument("--timeout", type=float,
                   help="s a collection may take (default: 300, 900 above 200,000)")  # fmt: skip
    p.add_argument("--online-timeout", type=float, default=180.0)
    p.add_argument("--env", action="append", default=[], metavar="HEADEND_X=Y",
                   type=lambda s: tuple(s.split("=", 1)),
                   help="extra environment of the head-end (repeatable)")  # fmt: skip
    p.add_argument("--quick", action="store_true", help="one small run (smoke test)")
    p.add_argument("--output", type=Path, help="markdown file to update")
    p.add_argument("--json", type=Path, help="also write every run as JSON")
    # The bare server of the protocol floor (this module, in a subprocess).
    p.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    for name, kind in (("port", int), ("expect", int), ("meters", int), ("points", int),
                       ("spread", float), ("cap", int), ("result", Path)):  # fmt: skip
        p.add_argument(f"--{name}", type=kind, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.serve_baseline:
        serve_baseline(args)
        return
    if args.quick:
        args.sizes, args.runs, args.workers = "40x20", "1", "1"
        args.timeout = args.timeout or 60.0
    sizes = parse_sizes(args.sizes, args.runs)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    root = Path(tempfile.mkdtemp(prefix="headend-bench-coll-"))
    root.chmod(0o755)  # the server runs as the postgres user when we are root
    procs = Processes(root)
    started: list[Cluster] = []
    results: dict[tuple[int, int], list[Run]] = {}
    settings = dict(args.env)
    try:
        cluster = start_cluster("postgres", root, started)
        with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        cluster.stop("fast")
        cluster.start()
        postmaster = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
        for size in sizes:
            began = time.monotonic()
            dsn = fresh(cluster, f"coll_{size.total}", size)
            print(f"{size.label}: archive loaded in {time.monotonic() - began:.1f} s",
                  flush=True)  # fmt: skip
            timeout = args.timeout or (900.0 if size.total > 200_000 else 300.0)
            ctx = Context(args, procs, dsn, postmaster, root, timeout,
                points=int(settings.get("HEADEND_COLLECTION__POINTS_PER_REQUEST", DEFAULTS.points_per_request)),
                spread=float(settings.get("HEADEND_COLLECTION__SPREAD", DEFAULTS.spread)),
                cap=int(settings.get("HEADEND_COLLECTION__MAX_TERMINALS", DEFAULTS.max_terminals)),
            )  # fmt: skip
            for workers in (int(w) for w in args.workers.split(",")):
                for i in range(size.runs):
                    run = Run(workers, size.total)
                    run_baseline(ctx, size, workers, run)
                    run_headend(ctx, size, workers, run, i)
                    results.setdefault((size.total, workers), []).append(run)
                    print(json.dumps({k: v for k, v in asdict(run).items() if k != "fleet"},
                                     default=str), flush=True)  # fmt: skip
    finally:
        for c in started:
            c.stop("immediate")
        procs.close()
        shutil.rmtree(root, ignore_errors=True)
    floors = {s.total: (latency_floor(s, ctx.points, ctx.spread),
                        latency_floor(s, ctx.points, 0.0)) for s in sizes}  # fmt: skip
    if args.json:
        runs = {f"{k[0]}/{k[1]}": [asdict(r) for r in v] for k, v in results.items()}
        args.json.write_text(json.dumps(runs, default=str, indent=1))
    command = " ".join(["python -m benchmarks.collection", *(argv or sys.argv[1:])])
    text = report(results, {s.total: s for s in sizes}, floors, ctx, command)
    print(text)
    if args.output:
        write_section(args.output, "collection", text)


if __name__ == "__main__":
    main()
