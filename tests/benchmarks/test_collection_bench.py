"""The collection benchmark: its pieces, and one small run end to end."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import collection as bench

ROOT = Path(__file__).resolve().parents[2]


def test_sizes_take_the_last_run_count_for_the_rest():
    assert bench.parse_sizes("2000x50,10000X100,5x1", "3,1") == [
        bench.Size(2000, 50, 3), bench.Size(10000, 100, 1), bench.Size(5, 1, 1),
    ]  # fmt: skip
    assert bench.Size(2000, 50, 3).total == 100_000


def test_the_latency_floor_lies_between_its_bounds():
    size = bench.Size(200, 50, 1)  # two round trips of 0.2-0.8 s each
    floor = bench.latency_floor(size, 32, 0.0, trials=11)
    assert 1.2 < floor <= 1.6
    # the start jitter adds to it, never more than its own width
    jittered = bench.latency_floor(size, 32, 2.0, trials=11)
    assert floor < jittered <= floor + 2.0


def test_cpu_of_a_process_tree_counts_its_children():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time\nt = time.process_time()\n"
         "while time.process_time() - t < 0.3: pass\ntime.sleep(5)"],
    )  # fmt: skip
    try:
        before = bench.tree_cpu({"me": os.getpid()})["me"]
        bench.wait_until(lambda: bench.cpu_of(child.pid) >= 0.25, 10, 0.05)
        after = bench.tree_cpu({"me": os.getpid(), "gone": 2**22 + 1})
        assert after["me"] - before >= 0.2
        assert after["gone"] == 0.0
    finally:
        child.kill()
        child.wait()


def test_window_lines_are_read_from_the_log(tmp_path):
    log = tmp_path / "headend.log"
    lines = [
        {"event": "collection_window", "phase": "window", "worker": 0,
         "terminals": 3, "received": 150, "seconds": 2.5, "reasons": None,
         "timestamp": "2026-01-02T03:04:10.500000Z"},
        {"event": "collection_window", "phase": "recollect", "worker": 0,
         "terminals": 1, "received": 1, "seconds": 1.0, "reasons": None,
         "timestamp": "2026-01-02T03:04:20Z"},
        {"event": "terminal_login", "timestamp": "2026-01-02T03:04:00Z"},
    ]  # fmt: skip
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    (found,) = bench.log_windows(log, 0.0)
    assert found["end"] - found["start"] == pytest.approx(2.5)
    assert (found["terminals"], found["received"]) == (3, 150)
    assert bench.log_windows(log, found["end"] + 1) == []


@pytest.mark.slow
@pytest.mark.db
@pytest.mark.load
def test_a_quick_run_writes_its_section(tmp_path):
    out, runs = tmp_path / "benchmarks.md", tmp_path / "runs.json"
    out.write_text("# Benchmarks\n\n<!-- other:begin -->\nkept\n<!-- other:end -->\n")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.collection", "--quick", "--output",
         str(out), "--json", str(runs)],
        cwd=ROOT, check=True, timeout=110, capture_output=True,
    )  # fmt: skip
    text = out.read_text()
    assert "kept" in text
    assert "<!-- collection:begin -->" in text
    assert "<!-- collection:end -->" in text
    (run,) = json.loads(runs.read_text())["800/1"]
    assert run["ok"]
    assert run["collected"] == run["baseline_units"] == 800
    assert not math.isnan(run["from_window"])
    assert run["from_window"] <= run["from_request"]
    assert set(run["cpu"]) == {"head-end", "fleet", "database", "poll backend"}
