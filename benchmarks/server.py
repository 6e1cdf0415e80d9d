"""Connection-server benchmark (issue 3): memory and CPU per terminal, login storm, and
two workers holding twice the fleet.

Everything runs on this machine: the head-end (or the Streams baseline) in one
process, the simulator fleet spread over several others (the fd limit is 20,000 per
process) and over source addresses 127.0.0.x. Each phase is bounded in time.

1. One worker, N concentrators connecting at once (login storm): time until all are
   logged in; then the head-end's resident memory per connection; then, with every
   concentrator sending a heartbeat every H seconds, head-end CPU per heartbeat.
2. The same N connections held by a plain asyncio-Streams server running the same
   codec and session (``benchmarks/streams_baseline.py``): its memory per connection.
3. ``--workers 2`` with 2·N concentrators: all online, heartbeats confirmed, heartbeat
   reply latency percentiles measured by the fleet (send → confirm).

Run: ``make bench-server`` (``python -m benchmarks.server --output docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import stamp, write_section

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
TOKEN = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_bytes(pid: int) -> int:
    fields = Path(f"/proc/{pid}/statm").read_text().split()
    return int(fields[1]) * PAGE


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry.name))
    return out


def established(port: int) -> int:
    """Established TCP connections whose local port is ``port`` (the server side)."""
    wanted = f":{port:04X}"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[1].endswith(wanted) and parts[3] == "01":
                count += 1
    return count


def metric(api_port: int, name: str) -> float:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{api_port}/metrics", timeout=10
    ) as r:
        text = r.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((name + " ", name + "{"))
    )


def wait_until(cond: Any, within: float, step: float = 0.1) -> float:
    """Seconds until ``cond()`` held; raises after ``within`` seconds."""
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > within:
            raise TimeoutError(f"not reached within {within} s")
        time.sleep(step)
    return time.monotonic() - start


def start_headend(
    port: int, api_port: int, workers: int, runtime: Path
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, HEADEND_API_TOKEN=TOKEN, HEADEND_LOG_LEVEL="warning",
               HEADEND_RUNTIME_DIR=str(runtime), HEADEND_LIMITS__LOGIN_TIMEOUT="120",
               HEADEND_STORAGE="false")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "headend", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--api-port", str(api_port), "--workers", str(workers)],
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_until(lambda: _healthy(api_port), 30)
    return proc


def _healthy(api_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/healthz", timeout=2):
            return True
    except OSError:
        return False


def start_fleet(port: int, n: int, processes: int, duration: float, heartbeat: float,
                a2_base: int, report: Path) -> subprocess.Popen[bytes]:  # fmt: skip
    # The fleet is the load generator, not the system under test: it runs at a lower
    # CPU priority so that it does not starve the head-end on the shared 2 cores.
    return subprocess.Popen(
        [sys.executable, "-m", "simulators", "--concentrators", str(n), "--meters", "1",
         "--port", str(port), "--processes", str(processes), "--duration", str(duration),
         "--heartbeat", str(heartbeat), "--a2-base", str(a2_base), "--ramp", "0",
         "--json", str(report)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_lower_priority,  # noqa: PLW1509 - this benchmark runs no threads
    )  # fmt: skip


def _lower_priority() -> None:
    os.nice(10)


def stop(proc: subprocess.Popen[bytes], within: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def phase_single(
    n: int, processes: int, heartbeat: float, window: float, tmp: Path
) -> dict[str, Any]:
    port, api_port = free_port(), free_port()
    server = start_headend(port, api_port, 1, tmp / "run1")
    try:
        time.sleep(2)
        rss0 = rss_bytes(server.pid)
        report = tmp / "fleet1.json"
        duration = 60 + window + 30
        fleet = start_fleet(port, n, processes, duration, heartbeat, 1, report)
        try:
            # The storm starts with the first connection (the fleet processes first
            # spend a second or two starting Python and building their concentrators).
            wait_until(lambda: established(port) > 0, 60, 0.02)
            storm = wait_until(
                lambda: metric(api_port, "headend_terminals_online") >= n, 120, 0.1
            )
            time.sleep(5)
            rss1 = rss_bytes(server.pid)
            hb0, (u0, s0), t0 = (
                metric(api_port, "headend_heartbeats_total"),
                cpu_times(server.pid),
                time.monotonic(),
            )
            time.sleep(window)
            hb1, (u1, s1), t1 = (
                metric(api_port, "headend_heartbeats_total"),
                cpu_times(server.pid),
                time.monotonic(),
            )
        finally:
            stop(fleet, duration + 60)
        fleet_report = json.loads(report.read_text()) if report.exists() else {}
    finally:
        stop(server)
    beats = hb1 - hb0
    return {
        "n": n,
        "storm_s": storm,
        "rss0": rss0,
        "rss1": rss1,
        "per_conn": (rss1 - rss0) / n,
        "beats": beats,
        "beats_per_s": beats / (t1 - t0),
        "cpu_s": (u1 - u0) + (s1 - s0),
        "cpu_per_beat_us": ((u1 - u0) + (s1 - s0)) / beats * 1e6
        if beats
        else float("nan"),
        "user_per_beat_us": (u1 - u0) / beats * 1e6 if beats else float("nan"),
        "sys_per_beat_us": (s1 - s0) / beats * 1e6 if beats else float("nan"),
        "cpu_share": ((u1 - u0) + (s1 - s0)) / (t1 - t0),
        "fleet": fleet_report,
    }


def phase_streams(n: int, processes: int, tmp: Path) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.streams_baseline", "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _connectable(port), 30)
        time.sleep(2)
        rss0 = rss_bytes(server.pid)
        fleet = start_fleet(port, n, processes, 120, 600, 1, tmp / "fleet-streams.json")
        try:
            wait_until(lambda: established(port) >= n, 120, 0.5)
            time.sleep(10)  # logins confirmed and buffers settled
            rss1 = rss_bytes(server.pid)
        finally:
            stop(fleet, 180)
    finally:
        stop(server)
    return {"n": n, "rss0": rss0, "rss1": rss1, "per_conn": (rss1 - rss0) / n}


def phase_bare(
    n: int, processes: int, heartbeat: float, window: float, tmp: Path
) -> dict[str, Any]:
    """CPU per heartbeat of ``benchmarks/bare_server.py`` under the same fleet: the floor."""
    port, stats = free_port(), tmp / "bare.stats"
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bare_server", "--port", str(port),
         "--stats", str(stats)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def beats() -> float:
        text = stats.read_text().strip() if stats.exists() else ""
        return float(text or 0)

    try:
        wait_until(lambda: _connectable(port), 30)
        duration = 60 + window + 30
        fleet = start_fleet(port, n, processes, duration, heartbeat, 1,
                            tmp / "fleet-bare.json")  # fmt: skip
        try:
            wait_until(lambda: established(port) >= n, 120, 0.5)
            time.sleep(heartbeat + 5)  # every link has logged in and beats steadily
            hb0, (u0, s0) = beats(), cpu_times(server.pid)
            time.sleep(window)
            hb1, (u1, s1) = beats(), cpu_times(server.pid)
        finally:
            stop(fleet, duration + 60)
    finally:
        stop(server)
    count = hb1 - hb0
    return {
        "beats": count,
        "cpu_per_beat_us": ((u1 - u0) + (s1 - s0)) / count * 1e6
        if count
        else float("nan"),
        "user_per_beat_us": (u1 - u0) / count * 1e6 if count else float("nan"),
        "sys_per_beat_us": (s1 - s0) / count * 1e6 if count else float("nan"),
    }


def _connectable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def phase_workers(
    n: int, processes: int, heartbeat: float, window: float, tmp: Path
) -> dict[str, Any]:
    port, api_port = free_port(), free_port()
    server = start_headend(port, api_port, 2, tmp / "run2")
    try:
        wait_until(lambda: len(children_of(server.pid)) >= 2, 30)
        report = tmp / "fleet2.json"
        duration = 90 + window
        fleet = start_fleet(port, n, processes, duration, heartbeat, 1, report)
        try:
            online_s = wait_until(
                lambda: metric(api_port, "headend_terminals_online") >= n, 180, 0.5
            )
            online = metric(api_port, "headend_terminals_online")
            workers = children_of(server.pid)
            cpu0 = sum(cpu_seconds(p) for p in workers)
            hb0, t0 = metric(api_port, "headend_heartbeats_total"), time.monotonic()
            time.sleep(window)
            hb1, t1 = metric(api_port, "headend_heartbeats_total"), time.monotonic()
            cpu1 = sum(cpu_seconds(p) for p in workers)
            per_worker = [int(established_by(p)) for p in workers]
        finally:
            stop(fleet, duration + 90)
        fleet_report = json.loads(report.read_text()) if report.exists() else {}
    finally:
        stop(server)
    beats = hb1 - hb0
    return {
        "n": n,
        "online": online,
        "online_s": online_s,
        "per_worker": per_worker,
        "beats_per_s": beats / (t1 - t0),
        "cpu_per_beat_us": (cpu1 - cpu0) / beats * 1e6 if beats else float("nan"),
        "fleet": fleet_report,
    }


def established_by(pid: int) -> int:
    """Open sockets of a process (its terminal links, plus a handful of its own)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


def python_cost_per_heartbeat(beats: int = 50_000) -> float:
    """µs of Python work per heartbeat: ``data_received`` to the confirm written.

    Measured in-process with a transport that discards writes, so neither the event
    loop's wake-up nor the socket system calls are in it: this is the head-end's own
    code, the part its authors control.
    """
    import asyncio

    from headend.config import load_settings
    from headend.connections import Connections
    from protocols.gdw1376 import build

    class _Sink(asyncio.Transport):
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return ("127.0.0.1", 1) if name == "peername" else default

        def write(self, data: Any) -> None:
            pass

        def is_closing(self) -> bool:
            return False

        def get_write_buffer_size(self) -> int:
            return 0

    async def run() -> float:
        conns = Connections(load_settings(None, host="127.0.0.1"))
        conn = conns.protocol()
        conn.connection_made(_Sink())
        conn.data_received(build.login("4403", 1, 1))
        # With EC (ACD=1), as the fleet's concentrators send it: their events are
        # never read while storage is off.
        heartbeat = build.link_test("4403", 1, 3, 2, ec=(1, 0))
        start = time.perf_counter()
        for _ in range(beats):
            conn.data_received(heartbeat)
        return (time.perf_counter() - start) / beats * 1e6

    return asyncio.run(run())


def report(single: dict[str, Any], streams: dict[str, Any], bare: dict[str, Any],
           two: dict[str, Any] | None, args: argparse.Namespace) -> str:  # fmt: skip
    lat1 = single["fleet"].get("heartbeat_latency_ms", {})
    lines = [
        "## Connection server (issue 3)",
        "",
        stamp("make bench-server")
        + f" Fleets of `--processes {args.processes}` simulator",
        "processes on the same 2 cores as the head-end (at `nice 10`, so that the load",
        "generator does not starve the system under test); every connection is a real TCP",
        "link on loopback that logged in with AFN02 F1. The login storm is timed from the",
        "first connection the head-end sees to the last login it confirmed.",
        "",
        f"### One worker, {single['n']:,} concentrators",
        "",
        "| measure | head-end | asyncio Streams baseline | target |",
        "|---|---:|---:|---:|",
        f"| resident memory per connection | {single['per_conn'] / 1024:.2f} KB | "
        f"{streams['per_conn'] / 1024:.2f} KB | ≤ 3 KB |",
        f"| login storm: all {single['n']:,} connected at once, until all logged in | "
        f"{single['storm_s']:.1f} s | | ≤ 10 s |",
        f"| server CPU per heartbeat (user + system, all work of the process) | "
        f"{single['cpu_per_beat_us']:.1f} µs (user {single['user_per_beat_us']:.1f}, "
        f"system {single['sys_per_beat_us']:.1f}) | | ≤ 25 µs |",
        "",
        f"Memory: resident set of the server process with {single['n']:,} links, minus before"
        f" any ({single['rss0'] / 2**20:.1f} MB → {single['rss1'] / 2**20:.1f} MB; Streams"
        f" {streams['rss0'] / 2**20:.1f} MB → {streams['rss1'] / 2**20:.1f} MB). Kernel socket"
        " buffers are not in it.",
        "",
        "CPU per heartbeat beside a floor measured in the same run with the same fleet:"
        " `benchmarks/bare_server.py`, a uvloop server with no session, no checks and no"
        " bookkeeping that answers each read with a `struct`-built confirm. The floor is"
        " what the event loop's wake-ups and the socket system calls cost (on loopback the"
        " send of each confirm also runs the fleet's TCP input); the difference is the"
        " head-end's own work.",
        "",
        "| CPU per heartbeat, µs | user | system | total |",
        "|---|---:|---:|---:|",
        f"| head-end | {single['user_per_beat_us']:.1f} | {single['sys_per_beat_us']:.1f} |"
        f" {single['cpu_per_beat_us']:.1f} |",
        f"| bare uvloop floor | {bare['user_per_beat_us']:.1f} |"
        f" {bare['sys_per_beat_us']:.1f} | {bare['cpu_per_beat_us']:.1f} |",
        f"| head-end − floor | {single['user_per_beat_us'] - bare['user_per_beat_us']:.1f} |"
        f" {single['sys_per_beat_us'] - bare['sys_per_beat_us']:.1f} |"
        f" {single['cpu_per_beat_us'] - bare['cpu_per_beat_us']:.1f} |",
        "",
        f"The head-end's Python code per heartbeat (with EC, as the fleet sends it), timed"
        f" in-process on warm caches (`python_cost_per_heartbeat`):"
        f" {single['python_us']:.1f} µs.",
        "",
        f"CPU: /proc utime+stime of the server over {args.window:.0f} s while every"
        f" concentrator sent a heartbeat every {args.heartbeat:g} s: {single['beats']:,.0f}"
        f" heartbeats ({single['beats_per_s']:,.0f}/s), {single['cpu_s']:.2f} CPU-s"
        f" ({single['cpu_share'] * 100:.0f} % of one core), including the sweeper, metrics and"
        " the socket system calls.",
        "",
        "Heartbeat reply latency seen by the fleet (send → confirm), ms: "
        + ", ".join(f"{k} {v}" for k, v in lat1.items()),
    ]
    if two is not None:
        lat2 = two["fleet"].get("heartbeat_latency_ms", {})
        lines += [
            "",
            f"### `--workers 2`, {two['n']:,} concentrators",
            "",
            f"- online: **{two['online']:,.0f}** of {two['n']:,} after {two['online_s']:.1f} s"
            f" (sockets per worker: {', '.join(f'{x:,}' for x in two['per_worker'])});",
            f"- heartbeats confirmed: {two['beats_per_s']:,.0f}/s, head-end CPU"
            f" {two['cpu_per_beat_us']:.1f} µs per heartbeat (both workers);",
            "- heartbeat reply latency (send → confirm), ms: **p99 "
            f"{lat2.get('p99', 'n/a')}**; "
            + ", ".join(f"{k} {v}" for k, v in lat2.items()),
            f"- fleet report: {json.dumps({k: v for k, v in two['fleet'].items() if k != 'heartbeat_latency_ms'})[:600]}",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concentrators", type=int, default=19_000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument(
        "--heartbeat", type=float, default=10.0, help="s between heartbeats"
    )
    parser.add_argument(
        "--window", type=float, default=30.0, help="s of CPU measurement"
    )
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        single = phase_single(
            args.concentrators, args.processes, args.heartbeat, args.window, tmp
        )
        single["python_us"] = python_cost_per_heartbeat()
        print(json.dumps({k: v for k, v in single.items() if k != "fleet"}), flush=True)
        streams = phase_streams(args.concentrators, args.processes, tmp)
        print(json.dumps(streams), flush=True)
        bare = phase_bare(args.concentrators, args.processes, args.heartbeat, args.window,
                          tmp)  # fmt: skip
        print(json.dumps(bare), flush=True)
        two = None
        if not args.skip_workers:
            two = phase_workers(2 * args.concentrators, 2 * args.processes, args.heartbeat,
                                args.window, tmp)  # fmt: skip
            print(
                json.dumps({k: v for k, v in two.items() if k != "fleet"}), flush=True
            )
    text = report(single, streams, bare, two, args)
    print(text)
    if args.output:
        write_section(args.output, "server", text)


if __name__ == "__main__":
    main()
