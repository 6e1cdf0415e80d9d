"""A simulator fleet and the archive that matches it, for end-to-end collection tests."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from headend.app import Worker
from headend.config import Settings
from simulators.fleet import FleetSpec, archive
from simulators.profiles import load_profile
from tests.headend.conftest import api, running
from tests.waiting import until

PROFILE = """
description = "collection tests: quick answers{extra_description}"
[link]
heartbeat_interval = 60.0
loss = {loss}
[latency]
min = {low}
max = {high}
{extra}
"""


def profile(tmp: Path, *, loss: float = 0.0, extra: str = "",
            latency: tuple[float, float] = (0.02, 0.1)) -> Path:  # fmt: skip
    """A fleet profile file: answer latency, request loss, extra TOML."""
    path = tmp / f"profile-{loss}-{latency[0]}-{abs(hash(extra))}.toml"
    path.write_text(PROFILE.format(loss=loss, extra=extra, extra_description="",
                                   low=latency[0], high=latency[1]))  # fmt: skip
    return path


def load_archive(dsn: str, concentrators: int, meters: int, profile_path: Path,
                 areas: int = 2) -> None:  # fmt: skip
    """Terminals and meters of the fleet, concentrator i in area A<i % areas>."""
    spec = FleetSpec(concentrators, meters, profile=load_profile(str(profile_path)))
    with psycopg.connect(dsn, autocommit=True) as conn:
        for k in range(areas):
            conn.execute(
                "INSERT INTO transformer_area (code, name) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                (f"A{k}", f"area {k}"),
            )
        for i in range(concentrators):
            conn.execute(
                "INSERT INTO terminal (a1, a2, status, transformer_area_id) VALUES "
                "(%s, %s, 'active', (SELECT id FROM transformer_area WHERE code = %s))",
                (spec.a1, spec.a2_base + i, f"A{i % areas}"),
            )
        ids = {
            (a1, a2): tid
            for tid, a1, a2 in conn.execute("SELECT id, a1, a2 FROM terminal")
        }
        with conn.cursor().copy(
            "COPY meter (terminal_id, pn, address, protocol, status) FROM STDIN"
        ) as copy:
            for a1, a2, pn, address, protocol in archive(spec):
                copy.write_row((ids[(a1, a2)], pn, address, protocol, "active"))


class Fleet:
    """``headend simulate`` in a subprocess, stopped (and reported) at the end."""

    def __init__(self, port: int, concentrators: int, meters: int, profile_path: Path,
                 duration: float = 60.0) -> None:  # fmt: skip
        self.args = [
            sys.executable, "-m", "headend", "simulate", "--port", str(port),
            "--concentrators", str(concentrators), "--meters", str(meters),
            "--duration", str(duration), "--profile", str(profile_path),
            "--processes", "1",
        ]  # fmt: skip
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Fleet:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.terminate()  # the fleet stops early and reports
        await asyncio.wait_for(self.proc.communicate(), 60)


def query(dsn: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)


@asynccontextmanager
async def online(settings: Settings, concentrators: int, meters: int,
                 profile_path: Path) -> AsyncIterator[tuple[Worker, httpx.AsyncClient]]:  # fmt: skip
    """A worker, the fleet logged in to it, and an API client."""
    async with (
        running(settings) as worker,
        Fleet(worker.port, concentrators, meters, profile_path),
        api(worker) as client,
    ):
        await until(lambda: len(worker.connections.registry) == concentrators)
        yield worker, client
