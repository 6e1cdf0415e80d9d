"""``headend task``, ``headend read`` and ``headend inspect``.

``task`` works on the database (HEADEND_DATABASE_URL or the configuration file), so
tasks can be managed while no head-end runs; the running workers pick the changes up
within seconds. ``read`` (召测) and ``inspect`` (巡测) ask a running head-end through
its API (``--api``, default ``http://127.0.0.1:<api_port>``, token from
HEADEND_API_TOKEN or the configuration file).

Exit status: 0 success; 1 the task, read or inspection failed (or was not found);
2 bad usage or nothing configured.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from headend.config import Settings

task_app = typer.Typer(
    name="task",
    help="Collection tasks (采集任务): create, list, enable, disable, run now.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ConfigOption = Annotated[
    Path | None, typer.Option(help="TOML configuration file (database, API).")
]
ApiOption = Annotated[
    str | None, typer.Option(help="Head-end API base URL (default: local api_port).")
]
console = Console()


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"headend: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Path | None) -> Settings:
    from headend.config import load_settings  # noqa: PLC0415

    try:
        return load_settings(config)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc), 2)


def _dsn(config: Path | None) -> str:
    settings = _settings(config)
    if settings.database_url is None:
        _fail("no database configured: set HEADEND_DATABASE_URL or --config", 2)
    return settings.database_url.get_secret_value()


def _on_db(config: Path | None, work: Any) -> Any:
    import psycopg  # noqa: PLC0415

    async def run() -> Any:
        async with await psycopg.AsyncConnection.connect(
            _dsn(config), autocommit=True, connect_timeout=10
        ) as conn:
            return await work(conn)

    try:
        return asyncio.run(run())
    except psycopg.Error as exc:
        _fail(f"database: {exc}")


def _show(tasks: list[Any]) -> None:
    table = Table("id", "name", "kind", "items", "target", "schedule", "retries",
                  "look-back", "enabled")  # fmt: skip
    for t in tasks:
        items = ",".join([*(f"F{f}" for f in t.fns), *t.dis]) or "-"
        target = json.dumps(
            t.target.model_dump(exclude_none=True, exclude_defaults=True)
        )
        schedule = t.schedule or f"every {t.interval_s}s"
        table.add_row(str(t.id), t.name, t.kind, items, target, schedule,
                      f"{t.retries}×{t.retry_interval_s}s", str(t.lookback_days),
                      "yes" if t.enabled else "no")  # fmt: skip
    console.print(table)


@task_app.command("create")
def create(
    name: str,
    kind: Annotated[str, typer.Option(help="realtime, daily, monthly, curve, events")],
    fn: Annotated[list[int] | None, typer.Option(help="Fn to read (repeat).")] = None,
    di: Annotated[
        list[str] | None, typer.Option(help="645 DI to read (repeat).")
    ] = None,
    target: Annotated[
        str, typer.Option(help='JSON target, e.g. \'{"areas": ["TQ001"]}\'.')
    ] = '{"all": true}',
    cron: Annotated[str | None, typer.Option(help="5-field cron (local time).")] = None,
    every: Annotated[int | None, typer.Option(help="Interval in seconds.")] = None,
    window: Annotated[str | None, typer.Option(help="Time window HH:MM-HH:MM.")] = None,
    priority: int = 3,
    retries: Annotated[int, typer.Option(help="Re-collection rounds (补采次数).")] = 3,
    retry_interval: Annotated[int, typer.Option(help="Seconds between them.")] = 600,
    lookback: Annotated[int, typer.Option(help="Days back to fill gaps.")] = 3,
    disabled: bool = False,
    config: ConfigOption = None,
) -> None:
    """Create a collection task."""
    from pydantic import ValidationError  # noqa: PLC0415

    from headend.collection import tasks  # noqa: PLC0415

    start = end = None
    if window is not None:
        start, _, end = window.partition("-")
    try:
        spec = tasks.TaskSpec.model_validate({
            "name": name, "kind": kind, "fns": fn or [], "dis": di or [],
            "target": json.loads(target), "schedule": cron, "interval_s": every,
            "window_start": start, "window_end": end, "priority": priority,
            "retries": retries, "retry_interval_s": retry_interval,
            "lookback_days": lookback, "enabled": not disabled,
        })  # fmt: skip
    except (ValidationError, json.JSONDecodeError) as exc:
        _fail(str(exc), 2)
    created = _on_db(config, lambda conn: tasks.create(conn, spec))
    _show([created])


@task_app.command("list")
def list_tasks(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object a task.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """List the tasks."""
    from headend.collection import tasks  # noqa: PLC0415

    found = _on_db(config, tasks.list_all)
    if as_json:
        for t in found:
            typer.echo(t.model_dump_json())
    else:
        _show(found)


def _change(ref: str, config: Path | None, action: str) -> None:
    from headend.collection import tasks  # noqa: PLC0415

    async def work(conn: Any) -> Any:
        if action == "run":
            return await tasks.request_run(conn, tasks.reference(ref))
        return await tasks.set_enabled(conn, tasks.reference(ref), action == "enable")

    task = _on_db(config, work)
    if task is None:
        _fail(f"no task {ref!r}")
    _show([task])


@task_app.command("enable")
def enable(ref: str, config: ConfigOption = None) -> None:
    """Enable a task (by id or name)."""
    _change(ref, config, "enable")


@task_app.command("disable")
def disable(ref: str, config: ConfigOption = None) -> None:
    """Disable a task (by id or name)."""
    _change(ref, config, "disable")


@task_app.command("run")
def run_now(ref: str, config: ConfigOption = None) -> None:
    """Run a window of the task now, on every worker (within a few seconds)."""
    _change(ref, config, "run")


# --- reads through the API -------------------------------------------------------------


def _call(settings: Settings, api: str | None, method: str, path: str,
          body: Any = None, timeout: float = 60) -> Any:  # fmt: skip
    base = api or f"http://127.0.0.1:{settings.api_port}"
    if not base.startswith(("http://", "https://")):
        _fail(f"--api {base!r}: an http(s) URL", 2)
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        base.rstrip("/") + "/api/v1" + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        _fail(f"{method} {path}: {exc.code} {detail}")
    except (urllib.error.URLError, TimeoutError) as exc:
        _fail(f"head-end API at {base}: {exc}")


def _read_spec(fn: int | None, di: str | None, afn: int, day: str | None,
               timeout: float) -> dict[str, Any]:  # fmt: skip
    if (fn is None) == (di is None):
        _fail("give exactly one of --fn and --di", 2)
    return {"afn": afn, "fn": fn, "di": di, "day": day, "timeout": timeout}


FnOption = Annotated[int | None, typer.Option(help="1376.1 Fn (with --afn).")]
DiOption = Annotated[str | None, typer.Option(help="DL/T 645 data identifier (hex).")]
AfnOption = Annotated[int, typer.Option(help="12 (0CH current) or 13 (0DH frozen).")]
DayOption = Annotated[
    str | None, typer.Option(help="Day of a frozen value (YYYY-MM-DD).")
]


def read(
    terminal: Annotated[str, typer.Argument(help="A1-A2, e.g. 4403-00001")],
    pn: Annotated[int, typer.Option(help="Measuring point (0: the terminal).")] = 0,
    fn: FnOption = None,
    di: DiOption = None,
    afn: AfnOption = 12,
    day: DayOption = None,
    timeout: float = 30.0,
    api: ApiOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: ConfigOption = None,
) -> None:
    """On-demand read (召测) of one item of one meter, through the running head-end."""
    settings = _settings(config)
    body = {"terminal": terminal, "pn": pn, **_read_spec(fn, di, afn, day, timeout)}
    result = _call(settings, api, "POST", "/reads", body, timeout=timeout + 10)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        console.print_json(json.dumps(result, ensure_ascii=False))


def inspect(
    targets: Annotated[
        list[str],
        typer.Argument(help="A1-A2 or A1-A2/pN (e.g. 4403-00001/3), or @file"),
    ],
    fn: FnOption = None,
    di: DiOption = None,
    afn: AfnOption = 12,
    day: DayOption = None,
    timeout: float = 30.0,
    concurrency: Annotated[int | None, typer.Option(help="Reads at once.")] = None,
    api: ApiOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result rows.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Batch inspection (批量巡测) of many terminals or meters, with a progress bar."""
    settings = _settings(config)
    parsed = []
    for item in _expand(targets):
        terminal, _, point = item.partition("/")
        try:
            pn = int(point.lstrip("pP")) if point else 0
        except ValueError:
            _fail(f"target {item!r}: A1-A2 or A1-A2/pN", 2)
        parsed.append({"terminal": terminal, "pn": pn})
    body = {"targets": parsed, "read": _read_spec(fn, di, afn, day, timeout),
            "concurrency": concurrency, "operator": "cli"}  # fmt: skip
    started = _call(settings, api, "POST", "/inspections", body)
    inspection_id = started["id"]
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=Console(stderr=True),
    ) as progress:  # fmt: skip
        bar = progress.add_task("inspection", total=started["total"])
        while True:
            got = _call(settings, api, "GET", f"/inspections/{inspection_id}?limit=0")
            progress.update(bar, completed=got["done"],
                            description=f"ok {got['ok']} failed {got['failed']}")  # fmt: skip
            if got["state"] != "running":
                break
            time.sleep(0.5)
    rows = _call(settings, api, "GET", f"/inspections/{inspection_id}?limit=10000")
    if as_json:
        for r in rows["results"]:
            typer.echo(json.dumps(r, ensure_ascii=False))
    else:
        table = Table("target", "ok", "error", "value")
        for r in rows["results"]:
            value = (
                json.dumps(r["value"], ensure_ascii=False)[:80] if r["value"] else ""
            )
            table.add_row(
                r["target"], "yes" if r["ok"] else "no", r["error"] or "", value
            )
        console.print(table)
        console.print(f"{rows['ok']} of {rows['total']} answered ({rows['state']})")
    if rows["ok"] < rows["total"]:
        raise typer.Exit(1)


def _expand(targets: list[str]) -> list[str]:
    out = []
    for t in targets:
        if t.startswith("@"):
            try:
                lines = Path(t[1:]).read_text().split()
            except OSError as exc:
                _fail(f"{t}: {exc}", 2)
            out.extend(lines)
        else:
            out.append(t)
    return out
