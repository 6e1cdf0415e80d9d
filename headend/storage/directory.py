"""Archive ids for the ingest path: terminal (A1, A2) → id, (terminal, pn) → meter id.

Readings are stored by archive id. A terminal or measuring point the archive does not
know still gets an id: a row with ``status = 'discovered'``, so no reading is lost and
the mismatch is there for ``headend archive check`` and the anomaly report to show
(the field reports a meter the archive lacks). Lookups are cached; the cache is
bounded, and forgotten every ``REFRESH`` seconds so that an archive change made
elsewhere (a meter replaced at a point, 换表) reaches ingest within minutes, or at
once through ``invalidate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any, Final

import psycopg

MAX_CACHED: Final = 500_000  # entries per map; the least recently used go first
TIMEOUT: Final = 5.0  # seconds for one lookup, connection included
REFRESH: Final = 300.0  # seconds a cached id is trusted


class ArchiveUnavailable(Exception):
    """The archive cannot be asked now (database down, slow or refusing)."""


class _Lru(OrderedDict[Any, int]):
    def get_fresh(self, key: Any) -> int | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: Any, value: int) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MAX_CACHED:
            self.popitem(last=False)


class Directory:
    """Resolves protocol addresses to archive ids (see the module docstring)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._terminals = _Lru()
        self._meters = _Lru()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        self._fresh_until = time.monotonic() + REFRESH

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, connect_timeout=int(TIMEOUT)
            )
        return self._conn

    @contextlib.asynccontextmanager
    async def _asking(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """One lookup at a time, bounded in time; failures become ArchiveUnavailable."""
        async with self._lock:
            try:
                async with asyncio.timeout(TIMEOUT):
                    yield await self._connection()
            except (psycopg.OperationalError, OSError, TimeoutError) as exc:
                conn, self._conn = self._conn, None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                raise ArchiveUnavailable(str(exc) or type(exc).__name__) from exc

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def invalidate(self) -> None:
        self._terminals.clear()
        self._meters.clear()
        self._fresh_until = time.monotonic() + REFRESH

    def _expire(self) -> None:
        if time.monotonic() > self._fresh_until:
            self.invalidate()

    async def terminal_id(self, a1: str, a2: int) -> int:
        self._expire()
        key = (a1, a2)
        found = self._terminals.get_fresh(key)
        if found is not None:
            return found
        row = None
        async with self._asking() as conn:
            # When another session inserts the same terminal at this moment (the
            # link directory does on login), ON CONFLICT waits for it, does nothing,
            # and the SELECT's older snapshot misses the row: the next statement's
            # snapshot sees it, so a second try settles the race.
            for _ in range(3):
                row = await (
                    await conn.execute(
                        "WITH new AS (INSERT INTO terminal (a1, a2, status) "
                        "VALUES (%s, %s, 'discovered') ON CONFLICT (a1, a2) DO NOTHING "
                        "RETURNING id) SELECT id FROM new UNION ALL "
                        "SELECT id FROM terminal WHERE a1 = %s AND a2 = %s",
                        (a1, a2, a1, a2),
                    )
                ).fetchone()
                if row is not None:
                    break
        if row is None:  # pragma: no cover - only if the row is deleted meanwhile
            raise LookupError(f"terminal {a1}-{a2}")
        self._terminals.put(key, int(row[0]))
        return int(row[0])

    async def meter_ids(self, terminal_id: int, pns: list[int]) -> dict[int, int]:
        """Meter ids of several points of one terminal (one round trip for misses)."""
        out: dict[int, int] = {}
        missing = []
        for pn in pns:
            found = self._meters.get_fresh((terminal_id, pn))
            if found is None:
                missing.append(pn)
            else:
                out[pn] = found
        if not missing:
            return out
        async with self._asking() as conn:
            rows = await (
                await conn.execute(
                    "SELECT pn, id FROM meter WHERE terminal_id = %s AND pn = ANY(%s) "
                    "AND status <> 'removed'",
                    (terminal_id, missing),
                )
            ).fetchall()
            known = {int(r[0]): int(r[1]) for r in rows}
            unknown = [pn for pn in missing if pn not in known]
            if unknown:
                # Another worker may add the same point at the same moment: the
                # partial unique index settles it and the SELECT finds the winner.
                await conn.execute(
                    "INSERT INTO meter (terminal_id, pn, address, status) "
                    "SELECT %s, pn, '000000000000', 'discovered' FROM unnest(%s::int[]) AS pn "
                    "ON CONFLICT (terminal_id, pn) WHERE status <> 'removed' DO NOTHING",
                    (terminal_id, unknown),
                )
                rows = await (
                    await conn.execute(
                        "SELECT pn, id FROM meter WHERE terminal_id = %s AND pn = ANY(%s) "
                        "AND status <> 'removed'",
                        (terminal_id, unknown),
                    )
                ).fetchall()
                known.update({int(r[0]): int(r[1]) for r in rows})
        for pn, mid in known.items():
            self._meters.put((terminal_id, pn), mid)
            out[pn] = mid
        return out
