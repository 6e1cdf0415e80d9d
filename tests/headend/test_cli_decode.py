"""``headend decode``: the command itself, as a user runs it (STYLE T9)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.vectors import all_vectors, load_hex, vector

LOGIN = vector("T01").hex(" ")
BAD = vector("T16").hex(" ")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headend", "decode", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_tree_output_for_one_frame() -> None:
    result = run(LOGIN)
    assert result.returncode == 0, result.stderr
    assert "gdw1376 frame, 20 bytes: ok" in result.stdout
    assert "p0 F1 login (登录)" in result.stdout
    assert "a1=0171 a2=2082" in result.stdout


def test_json_lines_from_stdin_and_exit_status() -> None:
    lines = [load_hex(p).hex() for p in all_vectors()]
    result = run("--json", stdin="# a comment\n" + "\n".join(lines) + "\n\n")
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == len(lines)
    assert [o["ok"] for o in objects].count(False) == 1  # T16, published with a bad CS
    assert result.returncode == 1
    for o in objects:
        assert {"protocol", "ok", "error"} <= o.keys()


def test_all_good_frames_exit_zero_with_and_without_spaces() -> None:
    result = run("--json", LOGIN, LOGIN.replace(" ", ""))
    assert result.returncode == 0
    assert [json.loads(x)["afn"] for x in result.stdout.splitlines()] == [2, 2]


def test_bad_checksum_is_reported_not_raised() -> None:
    result = run("--json", BAD)
    assert result.returncode == 1
    obj = json.loads(result.stdout)
    assert obj == {
        "protocol": "dlt645-2007",
        "ok": False,
        "error": obj["error"],
        "length": 16,
    }
    assert obj["error"].startswith("bad_checksum")


def test_bad_usage_exits_2() -> None:
    assert run("not hex").returncode == 2
    assert run("--no-such-option", LOGIN).returncode == 2
    assert run(stdin="").returncode == 2


def test_garbage_that_is_hex_is_a_failed_frame() -> None:
    result = run("--json", "00 11 22")
    assert result.returncode == 1
    assert json.loads(result.stdout)["ok"] is False
