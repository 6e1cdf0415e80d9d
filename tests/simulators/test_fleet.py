"""The fleet runner against a tiny in-test head-end on 127.0.0.1 (port 0)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from protocols.gdw1376 import DataUnit
from protocols.gdw1376.events import (
    FrameDiscarded,
    Heartbeat,
    Login,
    Response,
)
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.session import MasterSession, SessionConfig
from protocols.gdw1376.units.afn0d import TdDaily
from simulators._fleetparts import ProcessSpec
from simulators._model import day_date, local_day
from simulators._runner import Runner
from simulators._stats import Histogram, Stats
from simulators.fleet import FleetSpec, archive, main
from simulators.meter645 import meter_address
from simulators.profiles import Profile

pytestmark = pytest.mark.load


class Master:
    """A minimal head-end: confirms logins and heartbeats, replaces re-logins."""

    def __init__(self, *, ask: bool = False) -> None:
        self.ask = ask
        self.logins: Counter[int] = Counter()
        self.sources: defaultdict[int, set[str]] = defaultdict(set)
        self.heartbeats = 0
        self.discarded = 0
        self.responses: list[float] = []
        self.online: dict[int, _Link] = {}
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Link(self), "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for link in list(self.online.values()):
            link.transport.abort()
        await self.server.wait_closed()


class _Link(asyncio.Protocol):
    def __init__(self, master: Master) -> None:
        self.master = master
        self.session = MasterSession(SessionConfig(timeout=5.0))
        self.transport: asyncio.Transport
        self.asked_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        m = self.master
        self.session.receive_data(data, time.monotonic())
        for ev in self.session.events():
            if isinstance(ev, Login):
                a2 = ev.frame.a2
                m.logins[a2] += 1
                m.sources[a2].add(self.transport.get_extra_info("peername")[0])
                old = m.online.get(a2)
                if old is not None and old is not self:
                    old.transport.close()  # a new login replaces the old link
                m.online[a2] = self
                if m.ask:
                    self.asked_at = time.monotonic()
                    day = day_date(local_day(time.time()) - 1)
                    self.session.send_request(AFN.CLASS1, [DataUnit(0, 2)], 0.0)
                    self.session.send_request(
                        AFN.CLASS2, [DataUnit(pn, 161, TdDaily(day)) for pn in (1, 2)],
                        0.0)  # fmt: skip
            elif isinstance(ev, Heartbeat):
                m.heartbeats += 1
            elif isinstance(ev, FrameDiscarded):
                m.discarded += 1
            elif isinstance(ev, Response):
                m.responses.append(time.monotonic() - self.asked_at)
        out = self.session.data_to_send()
        if out:
            self.transport.write(out)

    def connection_lost(self, exc: Exception | None) -> None:
        for a2, link in list(self.master.online.items()):
            if link is self:
                del self.master.online[a2]


async def run_fleet(master: Master, count: int, profile: Profile, duration: float,
                    **kw: object) -> tuple[Stats, float]:  # fmt: skip
    port = await master.start()
    spec = ProcessSpec("127.0.0.1", port, 0, count, 4, duration=duration,
                       profile=profile, **kw)  # type: ignore[arg-type]  # fmt: skip
    started = time.monotonic()
    try:
        stats = await Runner(spec).run()
    finally:
        await master.stop()
    return stats, time.monotonic() - started


def _no_leaked_tasks() -> None:
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_twenty_concentrators_log_in_heartbeat_and_stop() -> None:
    master = Master()
    profile = Profile("quick", heartbeat_interval=0.3)
    stats, elapsed = await run_fleet(master, 20, profile, 2.0, ramp=0.2)
    assert elapsed < 2.0 + 1.0  # stops by itself within its duration (+ teardown)
    assert stats.logins_confirmed == stats.started == stats.online_at_end == 20
    assert sorted(master.logins) == list(range(1, 21))  # A2 = 1 + i
    assert stats.heartbeats_confirmed >= 20 * 4
    assert stats.heartbeats_sent == stats.heartbeats_confirmed == master.heartbeats
    assert stats.heartbeat_latency.count == stats.heartbeats_confirmed
    p99 = stats.heartbeat_latency.percentile(0.99)
    assert p99 is not None
    assert p99 < 0.5
    # Spread over several source addresses (127.0.0.1..16).
    assert len({ip for ips in master.sources.values() for ip in ips}) == 16
    _no_leaked_tasks()


async def test_garbage_and_split_frames_still_log_in() -> None:
    master = Master()
    profile = Profile("noisy", heartbeat_interval=0.3, garbage=1.0, split=1.0,
                      split_gap=0.002)  # fmt: skip
    stats, _ = await run_fleet(master, 5, profile, 1.5)
    assert stats.logins_confirmed == 5
    assert stats.heartbeats_confirmed >= 5
    assert stats.garbage_injected > 0
    assert stats.frames_split > 0
    assert master.discarded > 0  # the head-end saw (and skipped) the garbage
    _no_leaked_tasks()


async def test_requests_are_answered_after_the_latency() -> None:
    master = Master(ask=True)
    profile = Profile("slow", latency_min=0.2, latency_max=0.3)
    stats, _ = await run_fleet(master, 4, profile, 1.5)
    assert stats.answered == Counter({"0C": 4, "0D": 4})
    assert len(master.responses) == 8
    assert min(master.responses) >= 0.2


async def test_lost_requests_are_not_answered() -> None:
    master = Master(ask=True)
    stats, _ = await run_fleet(master, 3, Profile("lossy", loss=1.0), 1.0)
    assert stats.requests_dropped == stats.requests == 6
    assert not stats.answered
    assert not master.responses


async def test_duplicate_login_ip_jump_and_flapping() -> None:
    master = Master()
    profile = Profile("faulty", heartbeat_interval=0.5, reconnect_min=0.1,
                      reconnect_max=0.2, duplicate_login=1.0, duplicate_hold=0.3,
                      ip_jump=1.0, ip_jump_interval=1.0, ip_jump_hold=0.5, flap=1.0,
                      flap_interval=1.5)  # fmt: skip
    stats, _ = await run_fleet(master, 3, profile, 3.0)
    assert stats.duplicate_logins >= 3
    assert stats.ip_jumps >= 3
    assert stats.flaps >= 1
    assert stats.reconnects > 0
    assert all(n >= 3 for n in master.logins.values())
    assert all(len(ips) >= 2 for ips in master.sources.values())  # a new source IP
    _no_leaked_tasks()


def test_histogram_percentiles_and_merge() -> None:
    a, b = Histogram(), Histogram()
    for ms in range(1, 101):
        a.add(ms / 1000)
    b.add(5.0)
    assert a.percentile(0.5) == pytest.approx(0.050, rel=0.05)
    assert a.percentile(0.99) == pytest.approx(0.099, rel=0.05)
    a.merge(b)
    assert a.count == 101
    assert a.max == 5.0
    s = Stats(heartbeats_sent=3, answered=Counter({"0C": 2}), heartbeat_latency=a)
    round_trip = Stats.from_dict(json.loads(json.dumps(s.to_dict())))
    round_trip.merge(s)
    assert round_trip.heartbeats_sent == 6
    assert round_trip.answered["0C"] == 4
    assert round_trip.heartbeat_latency.count == 202


def test_fleet_only_targets_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--concentrators", "1", "--meters", "1", "--host", "10.1.1.1"]) == 2
    assert "loopback only" in capsys.readouterr().err
    with pytest.raises(ValueError, match="A2"):
        FleetSpec(2, 1, a2_base=65535).validate()


async def test_main_spreads_the_fleet_over_processes(tmp_path: Path) -> None:
    master = Master()
    port = await master.start()
    out = tmp_path / "report.json"
    argv = ["--concentrators", "6", "--meters", "3", "--port", str(port),
            "--processes", "2", "--duration", "2", "--heartbeat", "0.4",
            "--a2-base", "100", "--json", str(out)]  # fmt: skip
    try:
        code = await asyncio.to_thread(main, argv)
    finally:
        await master.stop()
    assert code == 0
    report = json.loads(out.read_text())
    assert report["processes"] == 2
    assert report["processes_failed"] == 0
    assert report["started"] == report["logins_confirmed"] == 6
    assert report["heartbeats"]["confirmed"] > 0
    assert report["heartbeat_latency_ms"]["p50"] is not None
    assert sorted(master.logins) == list(range(100, 106))


def test_the_archive_lists_every_simulated_meter() -> None:
    spec = FleetSpec(3, 4, profile=Profile("p", meter_1997_every=2), a2_base=7)
    rows = list(archive(spec))
    assert len(rows) == 12
    assert rows[0] == ("4403", 7, 1, meter_address(0, 1), 30)
    assert rows[-1] == ("4403", 9, 4, meter_address(2, 4), 1)


@pytest.mark.parametrize("processes", [1, 2])
async def test_sigterm_stops_the_fleet_early_with_a_report(processes: int) -> None:
    master = Master()
    port = await master.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulators", "--concentrators", "4", "--meters", "2",
        "--port", str(port), "--processes", str(processes), "--duration", "60",
        "--heartbeat", "0.5", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(200):  # wait (bounded) until every concentrator logged in
            if len(master.logins) == 4:
                break
            await asyncio.sleep(0.05)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await master.stop()
    assert time.monotonic() - started < 10
    assert proc.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["logins_confirmed"] == 4
    assert report["processes_failed"] == 0
