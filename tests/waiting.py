"""Waiting in async tests for something another task or process brings about."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def until(
    cond: Callable[[], Any], within: float = 20.0, step: float = 0.05
) -> None:
    """Wait for ``cond()`` (sync or async) to be true, failing after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        got = cond()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(step)
