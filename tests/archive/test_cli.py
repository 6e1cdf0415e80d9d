"""``headend archive import|export|check``: the typer app, and once as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from headend.archive.cli import app
from tests.archive.conftest import CLEAN, DATA
from tests.archive.test_import import CUSTOMERS_BAD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("HEADEND_DATABASE_URL", raising=False)
    return CliRunner()


def invoke(runner: CliRunner, dsn: str | None, *args: str):
    env = {"HEADEND_DATABASE_URL": dsn} if dsn else None
    return runner.invoke(app, list(args), env=env)


def load_clean(runner: CliRunner, dsn: str) -> None:
    for kind, name in CLEAN:
        result = invoke(runner, dsn, "import", str(DATA / name), "--kind", kind.value)
        assert result.exit_code == 0, result.output


def test_no_database_configured(runner):
    result = invoke(runner, None, "check")
    assert result.exit_code == 2
    assert "no database configured: set HEADEND_DATABASE_URL" in result.stderr
    result = invoke(
        runner, None, "import", str(DATA / "tariffs.csv"), "--kind", "tariffs"
    )
    assert result.exit_code == 2


def test_usage_errors(runner, tmp_path: Path):
    result = invoke(
        runner, "host=nowhere", "import", str(DATA / "tariffs.csv"), "--kind", "tariff"
    )
    assert result.exit_code == 2
    assert "unknown kind 'tariff'" in result.output
    result = invoke(
        runner, "host=nowhere", "import", str(tmp_path / "absent.csv"), "--kind", "sims"
    )
    assert result.exit_code == 2
    result = invoke(
        runner,
        "host=nowhere",
        "export",
        "--kind",
        "sims",
        "--output",
        str(tmp_path / "x.csv"),
        "--mapping",
        str(tmp_path / "absent.toml"),
    )
    assert result.exit_code == 2
    assert "not found" in result.output


def test_unreachable_database(runner, tmp_path: Path):
    result = invoke(runner, "host=127.0.0.1 port=1 connect_timeout=2", "check")
    assert result.exit_code == 1
    assert "cannot reach the database" in result.stderr


def test_database_without_migrations(runner, dsn):
    result = invoke(runner, dsn, "check")
    assert result.exit_code == 1
    assert "run the migrations first" in result.stderr


def test_import_export_check(runner, archive_dsn, tmp_path: Path):
    result = invoke(
        runner, archive_dsn, "import", str(DATA / "customers.csv"), "-k", "customers"
    )
    assert result.exit_code == 1  # the areas are not there yet
    assert "line 2: transformer area TQ0001 not found" in result.stderr
    assert "nothing imported" in result.stdout
    load_clean(runner, archive_dsn)
    result = invoke(
        runner, archive_dsn, "import", str(DATA / "meters.csv"), "--kind", "meters"
    )
    assert result.exit_code == 0
    assert result.stdout.strip() == (
        "meters: 5 rows read, 5 imported (0 inserted, 0 updated, 5 unchanged), 0 bad"
    )
    out = tmp_path / "meters.csv"
    result = invoke(
        runner, archive_dsn, "export", "--kind", "meters", "--output", str(out)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"meters: 5 rows written to {out}"
    assert out.read_bytes().decode("gbk").startswith("终端行政区划码,终端地址,测量点号")
    result = invoke(runner, archive_dsn, "check")
    assert result.exit_code == 0
    assert "no findings" in result.stdout


def test_bad_rows_all_or_nothing_then_partial(runner, archive_dsn):
    load_clean(runner, archive_dsn)
    bad = str(DATA / "customers_bad.csv")
    result = invoke(runner, archive_dsn, "import", bad, "--kind", "customers")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == CUSTOMERS_BAD
    assert "9 rows read, 6 bad; nothing imported" in result.stdout
    result = invoke(
        runner,
        archive_dsn,
        "import",
        bad,
        "--kind",
        "customers",
        "--partial",
        "--actor",
        "王工",
    )
    assert result.exit_code == 1
    assert (
        "9 rows read, 3 imported (3 inserted, 0 updated, 0 unchanged), 6 bad"
        in result.stdout
    )
    with psycopg.connect(archive_dsn) as conn:
        rows = conn.execute(
            "SELECT DISTINCT actor FROM archive_audit WHERE table_name = "
            "'customer' AND row_id::int > 3"
        ).fetchall()
    assert rows == [("王工",)]
    # --partial with nothing bad: exit 0.
    result = invoke(
        runner,
        archive_dsn,
        "import",
        str(DATA / "customers.csv"),
        "--kind",
        "customers",
        "--partial",
    )
    assert result.exit_code == 0


def test_default_actor_is_the_os_user(runner, archive_dsn):
    import getpass

    result = invoke(
        runner, archive_dsn, "import", str(DATA / "tariffs.csv"), "-k", "tariffs"
    )
    assert result.exit_code == 0
    with psycopg.connect(archive_dsn) as conn:
        actors = conn.execute("SELECT DISTINCT actor FROM archive_audit").fetchall()
    assert actors == [(getpass.getuser(),)]


def test_check_table_and_json(runner, archive_dsn, tmp_path: Path):
    load_clean(runner, archive_dsn)
    with psycopg.connect(archive_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO transformer_area (code, name) VALUES ('TQ0003', '三号台区')"
        )
        conn.execute(
            "UPDATE customer SET tariff_code = '999' WHERE account_no = '0100000002'"
        )
    result = invoke(runner, archive_dsn, "check")
    assert result.exit_code == 1
    assert "2 findings" in result.stdout
    assert "unknown_tariff" in result.stdout
    assert "TQ0003" in result.stdout
    result = invoke(runner, archive_dsn, "check", "--limit", "0")
    assert result.exit_code == 1
    assert "unknown_tariff" in result.stdout
    assert "... and 1 more" in result.stdout
    assert "0100000002" not in result.stdout
    result = invoke(runner, archive_dsn, "check", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "check": "unknown_tariff",
            "entity": "customer",
            "key": "0100000002",
            "reason": "unknown tariff code 999",
        },
        {
            "check": "area_without_terminals",
            "entity": "area",
            "key": "TQ0003",
            "reason": "transformer area 三号台区 has no terminal",
        },
    ]


def test_database_url_from_a_config_file(runner, archive_dsn, tmp_path: Path):
    config = tmp_path / "headend.toml"
    config.write_text(f"database_url = {json.dumps(archive_dsn)}\n", encoding="utf-8")
    result = invoke(runner, None, "check", "--config", str(config))
    assert result.exit_code == 0, result.output


def test_as_a_process(archive_dsn, tmp_path: Path):
    env = {**os.environ, "HEADEND_DATABASE_URL": archive_dsn}
    command = [sys.executable, "-c", "from headend.archive.cli import app; app()"]
    done = subprocess.run(
        [
            *command,
            "import",
            str(DATA / "tariffs.csv"),
            "--kind",
            "tariffs",
            "--actor",
            "ci",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "tariffs: 3 rows read, 3 imported (3 inserted, 0 updated, 0 unchanged), 0 bad"
    )
    done = subprocess.run(
        [*command, "import", str(DATA / "meters_bad.csv"), "--kind", "meters"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert (
        done.stderr.splitlines()[0]
        == "line 2: terminal 4403-00001 not found; customer 0100000001 not found; transformer area TQ0001 not found"
    )
    env.pop("HEADEND_DATABASE_URL")
    done = subprocess.run(
        [*command, "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "no database configured" in done.stderr
