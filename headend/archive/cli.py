"""``headend archive``: import, export and check the archive (档案).

Exit status: 0 success; 1 bad rows, a file that cannot be read, or (``check``)
findings; 2 bad usage or no database configured.

Imports beyond typer and rich are deferred to the commands so that mounting this
app keeps ``headend --help`` fast.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import psycopg

    from headend.archive.mapping import Mapping
    from headend.archive.models import Kind

T = TypeVar("T")

app = typer.Typer(
    name="archive",
    help="Archive (档案): customers, 台区, terminals, meters, SIM cards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

KINDS = ("regions", "tariffs", "areas", "customers", "sims", "terminals", "meters")

KindOption = Annotated[
    str,
    typer.Option("--kind", "-k", help=f"What the file holds: {', '.join(KINDS)}."),
]
MappingOption = Annotated[
    Path | None,
    typer.Option(help="Column mapping (default: config/archive-mapping.toml)."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(help="TOML configuration file (for database_url)."),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        help="File encoding instead of the mapping's (gbk, utf-8, utf-8-sig)."
    ),
]


def _database_url(config: Path | None) -> str:
    from headend.config import load_settings  # noqa: PLC0415

    try:
        settings = load_settings(config)
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if settings.database_url is None:
        _fail(
            "no database configured: set HEADEND_DATABASE_URL or database_url in "
            "the configuration file (--config)",
            2,
        )
    return settings.database_url.get_secret_value()


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"headend archive: {message}", err=True)
    raise typer.Exit(code)


def _kind(text: str) -> Kind:
    from headend.archive.models import Kind  # noqa: PLC0415

    try:
        return Kind(text)
    except ValueError:
        raise typer.BadParameter(
            f"unknown kind {text!r}; one of {', '.join(KINDS)}", param_hint="--kind"
        ) from None


def _mapping(path: Path | None) -> Mapping:
    from headend.archive.mapping import MappingError, load_mapping  # noqa: PLC0415

    try:
        return load_mapping(path)
    except MappingError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mapping") from None


def _run(url: str, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    import psycopg  # noqa: PLC0415

    from headend.archive.errors import ArchiveError  # noqa: PLC0415

    async def main() -> T:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await work(conn)

    try:
        return asyncio.run(main())
    except psycopg.OperationalError as exc:
        _fail(f"cannot reach the database: {exc}")
    except ArchiveError as exc:
        _fail(str(exc))
    except psycopg.Error as exc:
        _fail(f"database error: {exc}")


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="The CSV file."
        ),
    ],
    kind: KindOption,
    mapping: MappingOption = None,
    partial: Annotated[
        bool, typer.Option(help="Commit the good rows even when some are bad.")
    ] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who is recorded in the audit (default: you).")
    ] = None,
    encoding: EncodingOption = None,
    config: ConfigOption = None,
) -> None:
    """Import a CSV file as the marketing system exports it.

    Every row is validated first; bad rows are listed as "line N: reason".
    With any bad row nothing is committed, unless --partial.
    Exit 1 when any row was bad.
    """
    from headend.archive.csvio import import_csv  # noqa: PLC0415

    the_kind, the_mapping = _kind(kind), _mapping(mapping)
    url = _database_url(config)
    who = actor or getpass.getuser()
    err = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task(f"{the_kind} {file.name}", total=file.stat().st_size)
        result = _run(
            url,
            lambda conn: import_csv(
                conn,
                file,
                the_kind,
                the_mapping,
                actor=who,
                partial=partial,
                encoding=encoding,
                progress=lambda done, total: bar.update(
                    task, completed=done, total=total
                ),
            ),
        )
    for error in result.errors:
        typer.echo(str(error), err=True)
    if result.counts is None:
        typer.echo(
            f"{the_kind}: {result.rows} rows read, {len(result.errors)} bad; "
            "nothing imported (fix them, or use --partial)"
        )
    else:
        c = result.counts
        typer.echo(
            f"{the_kind}: {result.rows} rows read, {c.staged} imported "
            f"({c.inserted} inserted, {c.updated} updated, {c.unchanged} unchanged), "
            f"{len(result.errors)} bad"
        )
    raise typer.Exit(1 if result.errors else 0)


@app.command("export")
def export(
    kind: KindOption,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", dir_okay=False, help="The CSV file to write."),
    ],
    mapping: MappingOption = None,
    encoding: EncodingOption = None,
    config: ConfigOption = None,
) -> None:
    """Export one kind in the format import reads (same mapping, same encoding)."""
    from headend.archive.csvio import export_csv  # noqa: PLC0415

    the_kind, the_mapping = _kind(kind), _mapping(mapping)
    url = _database_url(config)
    count = _run(
        url,
        lambda conn: export_csv(conn, output, the_kind, the_mapping, encoding=encoding),
    )
    typer.echo(f"{the_kind}: {count} rows written to {output}")


@app.command("check")
def check(
    as_json: Annotated[
        bool, typer.Option("--json", help="Every finding as JSON (no limit).")
    ] = False,
    limit: Annotated[
        int, typer.Option(min=0, help="Findings shown per check in the table.")
    ] = 20,
    config: ConfigOption = None,
) -> None:
    """Report inconsistencies of the archive; exit 1 when anything is found.

    Duplicate addresses, meters without a terminal or customer,
    terminals without a SIM, SIMs on two terminals, unknown tariff codes,
    transformer areas without terminals.
    """
    from headend.archive.checks import CHECKS, run_checks  # noqa: PLC0415

    url = _database_url(config)
    findings = _run(url, run_checks)
    if as_json:
        typer.echo(
            json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2)
        )
        raise typer.Exit(1 if findings else 0)
    console = Console()
    if not findings:
        console.print(f"Archive check: no findings ({len(CHECKS)} checks).")
        raise typer.Exit(0)
    table = Table(title=f"Archive check: {len(findings)} findings")
    for name in ("check", "entity", "key", "reason"):
        table.add_column(name, overflow="fold")
    shown: dict[str, int] = {}
    for f in findings:
        shown[f.check] = shown.get(f.check, 0) + 1
        if shown[f.check] <= limit:
            table.add_row(f.check, f.entity, f.key, f.reason)
    for name, count in shown.items():
        if count > limit:
            table.add_row(
                name, "", "", f"... and {count - limit} more (--limit, --json)"
            )
    console.print(table)
    raise typer.Exit(1)
