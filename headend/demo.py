"""``make demo``: the head-end and a simulator fleet on this machine, with live status.

Starts ``headend serve`` on free loopback ports, then ``headend simulate`` with a small
fleet, and shows terminals coming online (online count, logins, heartbeats, replaced
sessions and the newest communication-log entries) until the fleet finishes or the
time is up; then stops both. Logs go to ``var/demo/``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            found: int = s.getsockname()[1]
            return found
    raise RuntimeError("no free port")


def _metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + " ", name + "{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _view(
    status: dict[str, Any], events: list[dict[str, Any]], elapsed: float
) -> Group:
    summary = Table(title=f"head-end demo — {elapsed:.0f} s", show_header=False)
    for key, value in status.items():
        summary.add_row(key, str(value))
    log = Table(
        "time",
        "event",
        "terminal",
        "peer",
        "detail",
        title="communication log (通信日志)",
    )
    for e in events[-10:]:
        log.add_row(
            time.strftime("%H:%M:%S", time.localtime(e["ts"])),
            e["kind"],
            e["terminal"] or "",
            e["peer"],
            " ".join(f"{k}={v}" for k, v in e["detail"].items()),
        )
    return Group(summary, log)


def run(concentrators: int = 50, meters: int = 8, duration: float = 60.0,
        profile: str = "field") -> int:  # fmt: skip
    out = Path("var/demo")
    out.mkdir(parents=True, exist_ok=True)
    port, api_port = _free_port(10000), _free_port(8080)
    token = secrets.token_urlsafe(16)
    env = dict(os.environ, HEADEND_API_TOKEN=token, HEADEND_LOG_FORMAT="json",
               HEADEND_RUNTIME_DIR=str(out.resolve() / "run"))  # fmt: skip
    console = Console()
    console.print(f"head-end on 127.0.0.1:{port}, API http://127.0.0.1:{api_port} "
                  f"(token in {out}/token), logs in {out}/")  # fmt: skip
    (out / "token").write_text(token + "\n")
    server_log = (out / "headend.log").open("wb")
    fleet_log = (out / "fleet.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "headend", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--api-port", str(api_port)],
        env=env, stderr=server_log,
    )  # fmt: skip
    fleet: subprocess.Popen[bytes] | None = None
    client = httpx.Client(base_url=f"http://127.0.0.1:{api_port}",
                          headers={"Authorization": f"Bearer {token}"}, timeout=5)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                console.print(
                    "[red]the head-end did not start; see var/demo/headend.log"
                )
                return 1
            time.sleep(0.2)
        fleet = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "simulators", "--concentrators", str(concentrators),
             "--meters", str(meters), "--host", "127.0.0.1", "--port", str(port),
             "--duration", str(duration), "--profile", profile, "--ramp", "10",
             "--json", str(out / "fleet.json")],
            stdout=fleet_log, stderr=fleet_log,
        )  # fmt: skip
        start = time.monotonic()
        with Live(console=console, refresh_per_second=2) as live:
            while fleet.poll() is None and time.monotonic() - start < duration + 30:
                with contextlib.suppress(httpx.TransportError, ValueError):
                    metrics = client.get("/metrics").text
                    status = {
                        "terminals online": len(client.get("/api/v1/terminals").json()),
                        "of simulated": concentrators,
                        "logins": int(_metric(metrics, "headend_logins_total")),
                        "heartbeats confirmed": int(
                            _metric(metrics, "headend_heartbeats_total")
                        ),
                        "sessions replaced (IP jumps)": int(
                            _metric(metrics, "headend_sessions_replaced_total")
                        ),
                        "malformed frames dropped": int(
                            _metric(metrics, "headend_decode_errors_total")
                        ),
                    }
                    events = client.get("/api/v1/events", params={"limit": 10}).json()
                    live.update(_view(status, events, time.monotonic() - start))
                time.sleep(1)
        console.print(f"fleet report: {out / 'fleet.json'}")
        return 0
    finally:
        client.close()
        for proc in (fleet, server):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (fleet, server):
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        server_log.close()
        fleet_log.close()
