"""The head-end against the simulator fleet (``headend simulate``), faults included."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable

from prometheus_client import REGISTRY

from headend.config import Settings
from tests.headend.conftest import running


async def run_fleet(port: int, *args: str) -> dict[str, object]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "headend", "simulate", "--port", str(port), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    report: dict[str, object] = json.loads(out)
    return report


async def test_fleet_logs_in_and_heartbeats(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(make_settings()) as worker:
        report = await run_fleet(
            worker.port, "--concentrators", "40", "--meters", "4", "--duration", "4",
            "--heartbeat", "1", "--processes", "2",
        )  # fmt: skip
        assert report["logins_confirmed"] == 40
        beats = report["heartbeats"]
        assert isinstance(beats, dict)
        assert beats["confirmed"] == beats["sent"] > 40
        assert len(worker.connections.registry) in (0, 40)  # the fleet may have left


def garbage_seen() -> float:
    return sum(
        REGISTRY.get_sample_value("headend_decode_errors_total", {"reason": r}) or 0.0
        for r in (
            "garbage",
            "bad_delimiter",
            "bad_length",
            "bad_checksum",
            "bad_protocol_id",
        )
    )


async def test_fleet_with_faults(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(limits={"error_budget": 1000})
    before = garbage_seen()
    async with running(settings) as worker:
        report = await run_fleet(
            worker.port, "--concentrators", "60", "--meters", "2", "--duration", "8",
            "--heartbeat", "1", "--profile", "faults",
        )  # fmt: skip
        conns = worker.connections
        kinds = {e.kind for e in conns.log}
        assert "login" in kinds
        faults = report["faults"]
        assert isinstance(faults, dict)
        if faults["duplicate_logins"]:
            assert "replaced" in kinds  # a second login for an online address
        if faults["garbage"]:
            assert garbage_seen() > before  # dropped and counted, link kept
        assert isinstance(report["logins_confirmed"], int)
        assert report["logins_confirmed"] >= 60
        assert report["processes_failed"] == 0
