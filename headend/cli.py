"""The ``headend`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from headend.archive.cli import app as archive_app
from headend.collection import cli as collection_cli
from headend.collection.cli import task_app

app = typer.Typer(
    name="headend",
    help="Acquisition head-end (采集主站 / 前置机) for Q/GDW 1376.1 and DL/T 645.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Acquisition head-end (采集主站 / 前置机)."""


@app.command()
def decode(
    frames: Annotated[
        list[str] | None,
        typer.Argument(
            help="Frames as hex, spaces allowed (quote them). Default: stdin."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line per frame.")
    ] = False,
) -> None:
    """Decode frames (1376.1, DL/T 645 2007/1997, 698.45 and CSG envelopes).

    Exit status: 0 when every frame decoded, 1 when any did not, 2 on bad usage.
    """
    from headend.decode import decode_hex, tree  # noqa: PLC0415 - keep --help fast

    if frames:
        inputs = frames
    elif sys.stdin.isatty():
        raise typer.BadParameter("give frames as arguments or one per line on stdin")
    else:
        inputs = [
            line for line in sys.stdin.read().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]  # fmt: skip
    if not inputs:
        raise typer.BadParameter("no frames given")
    console = Console()
    failed = False
    for text in inputs:
        try:
            raw, obj = decode_hex(text)
        except ValueError:
            raise typer.BadParameter(f"not a hex frame: {text[:60]!r}") from None
        failed |= not obj["ok"]
        if as_json:
            print(json.dumps(obj, ensure_ascii=False))
        else:
            console.print(tree(obj, raw))
    raise typer.Exit(1 if failed else 0)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on for terminals.")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Terminal port (default 10000).")
    ] = None,
    api_port: Annotated[
        int | None, typer.Option(help="HTTP API port (default 8080).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes sharing the ports (SO_REUSEPORT)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="TOML configuration file (see config/headend.toml)."),
    ] = None,
    worker_index: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the head-end: accept concentrators, keep them online, serve the API."""
    import asyncio  # noqa: PLC0415

    from headend import app as headend_app  # noqa: PLC0415
    from headend import log  # noqa: PLC0415
    from headend.config import load_settings  # noqa: PLC0415
    from headend.workers import supervise  # noqa: PLC0415

    try:
        settings = load_settings(config, host=host, port=port, api_port=api_port,
                                 workers=workers)  # fmt: skip
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from None
    log.setup(settings.log_format, settings.log_level)
    if settings.workers > 1 and worker_index is None:
        argv = [a for a in sys.argv[1:] if a]
        raise typer.Exit(supervise(settings, argv))
    with asyncio.Runner(loop_factory=headend_app.event_loop_factory()) as runner:
        runner.run(headend_app.run(settings, worker_index or 0))


@app.command()
def demo(
    concentrators: Annotated[int, typer.Option(min=1, max=5000)] = 50,
    meters: Annotated[int, typer.Option(min=1, max=256)] = 8,
    duration: Annotated[float, typer.Option(min=5, max=3600)] = 60.0,
    profile: str = "field",
) -> None:
    """Run the head-end and a simulator fleet on this machine and show live status."""
    from headend.demo import run  # noqa: PLC0415

    raise typer.Exit(run(concentrators, meters, duration, profile))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def simulate(ctx: typer.Context) -> None:
    """Run a simulator fleet of concentrators and meters (see --help)."""
    from simulators.fleet import main as fleet_main  # noqa: PLC0415

    raise typer.Exit(fleet_main(list(ctx.args)))


db_app = typer.Typer(
    help="The database: migrations and maintenance.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(archive_app)
app.add_typer(task_app)
app.command("read")(collection_cli.read)
app.command("inspect")(collection_cli.inspect)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML configuration file.")
]


def _database(config: Path | None) -> str:
    from headend.config import load_settings  # noqa: PLC0415
    from headend.persistence import database_url  # noqa: PLC0415

    try:
        return database_url(load_settings(config))
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from None


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply the pending schema migrations (HEADEND_DATABASE_URL or embedded)."""
    import asyncio  # noqa: PLC0415

    from headend.storage import maintenance, migrate  # noqa: PLC0415

    dsn = _database(config)
    try:
        applied = asyncio.run(migrate.upgrade(dsn))
        report = asyncio.run(maintenance.run(dsn))
    except migrate.MigrationError as exc:
        Console(stderr=True).print(f"[red]{exc}")
        raise typer.Exit(1) from None
    for m in applied:
        print(f"applied {m.version:04d} {m.name}")
    if not applied:
        print("the schema is up to date")
    print(f"partitions created: {len(report.created)}, dropped: {len(report.dropped)}")


@db_app.command("status")
def db_status(config: ConfigOption = None) -> None:
    """List the migrations and whether each is applied."""
    import asyncio  # noqa: PLC0415

    from rich.table import Table  # noqa: PLC0415

    from headend.storage import maintenance, migrate  # noqa: PLC0415

    dsn = _database(config)
    rows = asyncio.run(migrate.status(dsn))
    engine, tables = (
        asyncio.run(maintenance.describe(dsn))
        if all(r.applied_at for r in rows)
        else (None, [])
    )
    table = Table("version", "name", "applied", title="schema migrations")
    pending = 0
    for r in rows:
        state = "[red]edited after apply" if r.changed else (
            r.applied_at.isoformat(timespec="seconds") if r.applied_at else "[yellow]pending"
        )  # fmt: skip
        pending += r.applied_at is None
        table.add_row(f"{r.version:04d}", r.name, state)
    console = Console()
    console.print(table)
    if engine is not None:
        console.print(f"engine: {engine.label}")
        for name, parts in tables:
            console.print(
                f"  {name}: {parts} {'chunks' if engine.timescaledb else 'partitions'}"
            )
    raise typer.Exit(1 if pending or any(r.changed for r in rows) else 0)


def main() -> None:
    app()
