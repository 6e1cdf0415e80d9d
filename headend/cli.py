"""The ``headend`` command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

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


def main() -> None:
    app()
