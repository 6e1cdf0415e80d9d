"""Fixtures: a head-end worker on loopback, started in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from headend.app import Worker
from headend.config import Settings, load_settings

TOKEN = "test-token"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        limits = overrides.pop("limits", {})
        session = overrides.pop("session", {})
        base: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "api_host": "127.0.0.1",
            "api_port": 0,
            "api_token": TOKEN,
            "runtime_dir": tmp_path / "run",
            "state_dir": tmp_path / "state",
            "storage": False,  # link-layer tests; storage tests pass a database_url
            "log_format": "console",
            "limits": {"sweep_interval": 0.05, **limits},
            "session": {"timeout": 1.0, "retries": 0, **session},
        }
        base.update(overrides)
        return load_settings(None, **base)

    return make


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Worker]:
    worker = Worker(settings)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


@pytest.fixture
async def worker(make_settings: Callable[..., Settings]) -> AsyncIterator[Worker]:
    async with running(make_settings()) as w:
        yield w


def api(worker: Worker) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{worker.api_port}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
