"""``--workers N``: a supervisor process and N workers sharing the ports.

Each worker is a ``headend serve --worker-index i`` child process that binds the
terminal port and the API port with SO_REUSEPORT; the kernel spreads connections over
them. The supervisor prepares the runtime directory (Unix sockets between workers,
Prometheus multi-process files), forwards SIGTERM/SIGINT, restarts a worker that dies
(at most ``MAX_RESTARTS`` per ``RESTART_WINDOW``), and exits when all have stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

import structlog

from headend.config import Settings
from headend.storage.embedded import start_embedded

log = structlog.get_logger("headend.workers")

MAX_RESTARTS: Final = 5
RESTART_WINDOW: Final = 60.0  # seconds


def supervise(settings: Settings, argv: list[str]) -> int:
    """Run ``settings.workers`` worker processes; ``argv`` is the serve command line."""
    runtime = settings.runtime_dir
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    prom = runtime / "prometheus"
    shutil.rmtree(prom, ignore_errors=True)
    prom.mkdir(mode=0o700)
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(prom),
               HEADEND_RUNTIME_DIR=str(runtime), HEADEND_WORKERS=str(settings.workers))  # fmt: skip
    if settings.storage and settings.database_url is None:
        # One embedded database for all workers, started before them.
        env["HEADEND_DATABASE_URL"] = start_embedded(settings.state_dir)

    def spawn(index: int) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "headend", *argv, "--worker-index", str(index)]
        return subprocess.Popen(cmd, env=env)  # noqa: S603 - our own interpreter and module

    children = {i: spawn(i) for i in range(settings.workers)}
    restarts: list[float] = []
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    log.info("supervisor_started", workers=settings.workers, pid=os.getpid())
    status = 0
    while children:
        time.sleep(0.2)
        for index, child in list(children.items()):
            code = child.poll()
            if code is None:
                continue
            _mark_dead(prom, child.pid)
            del children[index]
            if stopping:
                continue
            now = time.monotonic()
            restarts[:] = [t for t in restarts if now - t < RESTART_WINDOW]
            if len(restarts) >= MAX_RESTARTS:
                log.error("worker_crash_loop", worker=index, code=code)
                status = 1
                forward(signal.SIGTERM, None)
                continue
            restarts.append(now)
            log.warning("worker_restarted", worker=index, code=code)
            children[index] = spawn(index)
    return status


def _mark_dead(prom: Path, pid: int) -> None:
    """Drop a dead worker's live gauges from the aggregated metrics."""
    from prometheus_client import multiprocess  # noqa: PLC0415 - needs the env var

    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(prom))
    multiprocess.mark_process_dead(pid, str(prom))  # type: ignore[no-untyped-call]
