"""Shared helpers for benchmarks: timing, machine description, results file."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import statistics
import sys
import timeit
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def pin_to_one_core() -> str:
    """Run on one CPU (the benchmark's "one core"); returns which, for the record."""
    try:
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        return "not pinned"
    return f"pinned to CPU {cpu}"


def per_call_us(
    fn: Callable[[], object], *, repeat: int = 9, target_s: float = 0.15
) -> float:
    """Median time of one call in microseconds over ``repeat`` timed batches.

    timeit disables the garbage collector while timing, like every benchmark here.
    """
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * target_s / 0.2))
    runs = timer.repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number * 1e6


def paired_us(
    a: Callable[[], object],
    b: Callable[[], object],
    *,
    repeat: int = 15,
    target_s: float = 0.05,
) -> tuple[float, float, float]:
    """Time ``a`` and ``b`` alternately; return their medians and the median ratio a/b.

    Alternating batches cancel the slow drifts of a shared machine, so the ratio is
    far steadier than the two absolute figures.
    """
    ta, tb = timeit.Timer(a), timeit.Timer(b)
    na = max(1, int(ta.autorange()[0] * target_s / 0.2))
    nb = max(1, int(tb.autorange()[0] * target_s / 0.2))
    xs, ys, ratios = [], [], []
    for _ in range(repeat):
        x = ta.timeit(na) / na
        y = tb.timeit(nb) / nb
        xs.append(x)
        ys.append(y)
        ratios.append(x / y)
    return (
        statistics.median(xs) * 1e6,
        statistics.median(ys) * 1e6,
        statistics.median(ratios),
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"model name\s*:\s*(.+)", text)
        if found:
            cpu = found.group(1).strip()
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()} "
        f"({platform.python_implementation()}); {platform.system()} {platform.release()}"
    )


def write_section(path: Path, name: str, body: str) -> None:
    """Replace (or append) the section between this benchmark's markers."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def stamp(command: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Measured {now} with `{command}` on {machine()}."


def argv_command() -> str:
    return "python -m " + " ".join(
        [Path(sys.argv[0]).with_suffix("").name, *sys.argv[1:]]
    )


# --- baseline servers (benchmarks/streams_baseline.py, benchmarks/bare_server.py) ---


def baseline_parser(doc: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    return parser


async def serve_until_stopped(server: asyncio.AbstractServer) -> None:
    """Serve until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        await stop.wait()


def run_on_headend_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on the event loop the head-end uses (uvloop where installed)."""
    from headend.app import event_loop_factory

    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(main)
