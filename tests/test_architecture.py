"""Import rules of ARCHITECTURE.md, enforced by reading the source (STYLE D1-D4)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# IO, clocks, randomness and the service libraries: none of it belongs in a codec.
BANNED_IN_PROTOCOLS = {
    "asyncio", "socket", "selectors", "ssl", "subprocess", "threading",
    "multiprocessing", "logging", "structlog", "time", "os", "io", "pathlib",
    "shutil", "tempfile", "signal", "random", "urllib", "http", "psycopg",
    "psycopg_pool", "aiomqtt", "prometheus_client", "fastapi", "uvicorn",
    "serial", "serial_asyncio_fast", "apscheduler", "typer", "rich",
}  # fmt: skip
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
OURS = {"protocols", "headend", "simulators"}
# The CLI is the composition root: it may start simulator fleets; the demo, which it
# runs, writes the archive of the fleet it starts (simulators.fleet.archive).
SIMULATOR_IMPORTERS = {"headend/cli.py", "headend/demo.py"}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def _top(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize(
    "path", _modules("protocols"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_protocols_is_pure(path: Path) -> None:
    for name in _imports(path):
        top = _top(name)
        assert top not in BANNED_IN_PROTOCOLS, f"{path.name} imports {name}"
        assert top not in OURS - {"protocols"}, f"{path.name} imports {name}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, (
                f"{path.name}:{node.lineno} reads a clock ({node.func.attr}); "
                "time comes in as an argument"
            )


@pytest.mark.parametrize(
    "path", _modules("simulators"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_simulators_import_only_protocols(path: Path) -> None:
    for name in _imports(path):
        assert _top(name) != "headend", f"{path.name} imports {name}"


@pytest.mark.parametrize(
    "path", _modules("headend"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_headend_does_not_import_simulators(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    if rel in SIMULATOR_IMPORTERS:
        return
    for name in _imports(path):
        assert _top(name) != "simulators", f"{rel} imports {name}"


def test_the_rules_see_the_code() -> None:
    # Guard against a path change that would make every test above vacuous.
    assert len(_modules("protocols")) > 10
    assert "protocols.errors" in _imports(ROOT / "protocols" / "gdw1376" / "frame.py")
