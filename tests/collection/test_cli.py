"""``headend task``, ``headend read`` and ``headend inspect``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from headend.cli import app
from headend.config import Settings
from headend.storage import migrate
from tests.collection.fleet import Fleet, load_archive, profile, query
from tests.headend.conftest import TOKEN, running
from tests.waiting import until

runner = CliRunner()


async def test_task_commands(pg_dsn: str) -> None:
    await migrate.upgrade(pg_dsn)
    env = {"HEADEND_DATABASE_URL": pg_dsn}

    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.output

    code, out = await asyncio.to_thread(
        cli, "task", "create", "daily", "--kind", "daily", "--fn", "161",
        "--cron", "30 1 * * *", "--target", '{"areas": ["A0"]}', "--retries", "4",
    )  # fmt: skip
    assert code == 0, out
    assert "daily" in out
    code, out = await asyncio.to_thread(
        cli, "task", "create", "bad", "--kind", "daily", "--fn", "129", "--every", "600"
    )
    assert code == 2
    assert "F129" in out
    code, out = await asyncio.to_thread(
        cli, "task", "create", "bad", "--kind", "daily", "--fn", "161", "--cron", "nope"
    )
    assert code == 2
    assert "cron" in out
    assert (await asyncio.to_thread(cli, "task", "disable", "daily"))[0] == 0
    assert (await asyncio.to_thread(cli, "task", "run", "daily"))[0] == 0
    assert (await asyncio.to_thread(cli, "task", "enable", "nosuch"))[0] == 1
    rows = query(
        pg_dsn,
        "SELECT name, enabled, retries, schedule, target, run_requested_at IS NOT NULL "
        "FROM collection_task",
    )
    assert rows == [("daily", False, 4, "30 1 * * *", {"areas": ["A0"]}, True)]
    code, out = await asyncio.to_thread(cli, "task", "list", "--json")
    assert code == 0
    assert json.loads(out)["schedule"] == "30 1 * * *"


async def test_read_and_inspect_through_the_api(
    pg_dsn: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    await migrate.upgrade(pg_dsn)
    prof = profile(tmp_path)
    load_archive(pg_dsn, 3, 4, prof)
    settings = make_settings(storage=True, database_url=pg_dsn,
                             collection={"catchup_on_login": False})  # fmt: skip
    async with running(settings) as worker, Fleet(worker.port, 3, 4, prof):
        await until(lambda: len(worker.connections.registry) == 3)
        env = {"HEADEND_API_TOKEN": TOKEN}
        api = f"http://127.0.0.1:{worker.api_port}"
        result = await asyncio.to_thread(
            runner.invoke, app,
            ["read", "4403-00001", "--pn", "2", "--fn", "129", "--api", api, "--json"],
            env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        answer = json.loads(result.output)
        assert answer["ok"]
        assert answer["target"] == "4403-00001/p2"
        # Through transparent forwarding (AFN10 F1): the meter's 645 energy register.
        result = await asyncio.to_thread(
            runner.invoke, app,
            ["read", "4403-00002", "--pn", "1", "--di", "00010000", "--api", api, "--json"],
            env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["value"]["di"] == "00010000"
        targets = tmp_path / "targets.txt"
        targets.write_text("4403-00001/p1\n4403-00002/p1\n4403-00003/p4\n")
        result = await asyncio.to_thread(
            runner.invoke, app,
            ["inspect", f"@{targets}", "4403-00077", "--fn", "129", "--timeout", "2",
             "--api", api, "--json"],
            env=env,
        )  # fmt: skip
        assert result.exit_code == 1  # one target is not online
        rows = [
            json.loads(line)
            for line in result.stdout.splitlines()
            if line.startswith("{")
        ]
        assert {r["target"]: r["ok"] for r in rows} == {
            "4403-00001/p1": True, "4403-00002/p1": True, "4403-00003/p4": True,
            "4403-00077": False,
        }  # fmt: skip
