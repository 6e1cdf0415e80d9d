"""``headend serve --workers 2``: two processes on one port, requests reach the worker
that holds the terminal, and SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx

from protocols.gdw1376 import DataUnit, Frame
from protocols.gdw1376.units.afn0c import TerminalClock
from tests.headend.conftest import TOKEN
from tests.headend.terminals import TestTerminal

CLOCK = TerminalClock(datetime(2024, 5, 1, 12, 0, 0))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answer_clock(term: TestTerminal, request: Frame) -> None:
    term.respond(request, [DataUnit(0, 2, CLOCK)])


async def test_two_workers_share_the_port_and_route_requests(tmp_path: Path) -> None:
    port, api_port = free_port(), free_port()
    env = dict(os.environ, HEADEND_API_TOKEN=TOKEN, HEADEND_RUNTIME_DIR=str(tmp_path / "run"), HEADEND_STORAGE="false",
               HEADEND_LOG_FORMAT="json")  # fmt: skip
    command = [sys.executable, "-m", "headend", "serve", "--workers", "2",
               "--host", "127.0.0.1", "--port", str(port), "--api-port", str(api_port)]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)  # noqa: ASYNC220
    terms: list[TestTerminal] = []
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        ) as client:
            workers_up: set[int] = set()
            for _ in range(200):
                try:
                    # A new TCP connection each time, so the kernel may pick either.
                    health = await client.get(
                        "/healthz", headers={"Connection": "close"}
                    )
                    workers_up.add(health.json()["worker"])
                except httpx.TransportError:
                    pass
                if len(workers_up) == 2:
                    break
                await asyncio.sleep(0.05)
            assert workers_up == {0, 1}
            for i in range(24):
                term = await TestTerminal.connect(port, 100 + i, answer=answer_clock)
                await term.login()
                terms.append(term)
            listed = (await client.get("/api/v1/terminals")).json()
            assert sorted(t["address"] for t in listed) == [
                f"4403-{100 + i:05d}" for i in range(24)
            ]
            held_by = {t["address"]: t["worker"] for t in listed}
            assert set(held_by.values()) == {0, 1}, (
                "the kernel spread links over both workers"
            )
            # Each request lands on whichever worker the API connection reached; it
            # must be answered whoever holds the terminal.
            for i in range(24):
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{api_port}",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=10,
                ) as fresh:
                    reply = await fresh.post(
                        f"/api/v1/terminals/4403-{100 + i:05d}/requests",
                        json={"afn": 12, "units": [{"pn": 0, "fn": 2}]},
                    )
                assert reply.status_code == 200, reply.text
                body = reply.json()
                assert body["kind"] == "data"
                assert body["frames"][0]["units"][0]["data"] == {
                    "clock": "2024-05-01T12:00:00"
                }
            missing = await client.post(
                "/api/v1/terminals/4403-09999/requests",
                json={"afn": 12, "units": [{"pn": 0, "fn": 2}]},
            )
            assert missing.status_code == 404
            metrics = (await client.get("/metrics")).text
            assert "headend_terminals_online 24.0" in metrics  # summed over workers
    finally:
        for term in terms:
            term.close()
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b'"event": "worker_stopped"' in err
    assert b'"terminal": "4403-00100"' in err  # JSON logs carry the terminal address
