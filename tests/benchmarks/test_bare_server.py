"""The floor of the server benchmark answers like a head-end would, or it is no floor."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from benchmarks.server import wait_until
from protocols.gdw1376 import build


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_bare_server_confirms_login_and_heartbeat_and_counts_beats(
    tmp_path: Path,
) -> None:
    port, stats = _free_port(), tmp_path / "stats"
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bare_server", "--port", str(port),
         "--stats", str(stats)],
    )  # fmt: skip
    try:
        wait_until(stats.exists, 20)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as link:
            link.sendall(build.login("4403", 7, 1))
            assert link.recv(64) == build.link_reply(0x4403, 7, 0, 1)
            for pseq in (2, 3):
                link.sendall(build.link_test("4403", 7, 3, pseq, ec=(1, 0)))
                assert link.recv(64) == build.link_reply(0x4403, 7, 0, pseq)
        wait_until(lambda: stats.read_text().strip() == "2", 5)
    finally:
        server.terminate()
        assert server.wait(10) == 0
