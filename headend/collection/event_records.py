"""Event records (事件记录) and the stored event counters of each terminal.

The helpers of :mod:`headend.collection.events`: where a reported record sits in
the terminal's ring, its wire bytes, its time and decoded fields, the
``event_record`` rows, and the ``terminal_event_state`` table (per terminal and
class, the counter up to which every record is stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg

from headend.storage.spool import Row
from protocols.errors import ProtocolError
from protocols.gdw1376.formats import A15
from protocols.gdw1376.units.afn0e import EventRecord, EventReport

RING: Final = 256  # pointers per class; EC1/EC2 count modulo 256
DB_TIMEOUT: Final = 5.0  # seconds for one state read or write, connecting included
# ERC41 is the one record of 2013 that does not start with its time (table 396).
NO_LEADING_TIME: Final = frozenset({41})
State = tuple[int, bytes | None]  # (stored EC, the record at pointer EC - 1 as sent)


def place(report: EventReport) -> list[tuple[int, EventRecord]]:
    """Each record of an answer with its pointer (short answers align at Pn)."""
    records = report.records
    span = (report.pn - report.pm) % RING
    first = (report.pn - len(records)) % RING if len(records) <= span else report.pm
    return [((first + i) % RING, r) for i, r in enumerate(records)]


def wire(record: EventRecord) -> bytes:
    """The record as sent: ERC, Le, content."""
    return bytes((record.erc, record.le)) + record.body


def describe(record: EventRecord) -> tuple[datetime | None, dict[str, Any] | None]:
    """The record's own time (naive: the terminal's clock) and its decoded fields."""
    decoded = record.embedded()
    event: Any = decoded.get("event")
    error = decoded.get("event_error")
    if event is None:
        # No layout (or a broken one): every 2013 record but ERC41 starts with its
        # time in A.15 (tables 354-395), which is what the key needs.
        when = None if record.erc in NO_LEADING_TIME else _leading_time(record.body)
        return when, None if error is None else {"error": str(error)}
    fields: dict[str, Any] = _json_safe(dataclasses.asdict(event))
    if error is not None:
        fields["error"] = str(error)
    return _event_time(event), fields


def _event_time(event: Any) -> datetime | None:
    """``time`` if the layout has one, else its first time field (ERC14: power off)."""
    when = getattr(event, "time", None)
    if isinstance(when, datetime):
        return when
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, datetime):
            return value
    return None


def _leading_time(body: bytes) -> datetime | None:
    if len(body) < A15.size:
        return None
    try:
        when = A15.decode(body, 0)
    except ProtocolError:
        return None
    return when if isinstance(when, datetime) else None


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def event_rows(
    terminal_id: int,
    importance: int,
    placed: Sequence[tuple[int, EventRecord]],
    tz: ZoneInfo,
    received: datetime,
) -> list[Row]:
    """``event_record`` rows; a record without a readable time takes ``received``."""
    rows: list[Row] = []
    for pointer, record in placed:
        when, detail = describe(record)
        occurred = received if when is None else when.replace(tzinfo=tz)
        rows.append((terminal_id, importance, record.erc, occurred, pointer,
                     record.body, detail, received))  # fmt: skip
    return rows


# --- the state table -----------------------------------------------------------------


class StateUnavailable(Exception):
    """``terminal_event_state`` cannot be read or written now."""


class PointerTable:
    """:class:`Pointers` over ``terminal_event_state``: one autocommit connection."""

    def __init__(self, dsn: str, timeout: float = DB_TIMEOUT) -> None:
        self.dsn = dsn
        self.timeout = timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _asking(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self._lock:
            try:
                async with asyncio.timeout(self.timeout):
                    if self._conn is None or self._conn.closed:
                        self._conn = await psycopg.AsyncConnection.connect(
                            self.dsn,
                            autocommit=True,
                            connect_timeout=max(1, int(self.timeout)),
                        )
                    yield self._conn
            except (psycopg.Error, OSError, TimeoutError) as exc:
                await self.close()
                raise StateUnavailable(str(exc) or type(exc).__name__) from exc

    async def load(self, terminal_id: int, importance: int) -> State | None:
        async with self._asking() as conn:
            row = await (
                await conn.execute(
                    "SELECT ec, last_record FROM terminal_event_state "
                    "WHERE terminal_id = %s AND importance = %s",
                    (terminal_id, importance),
                )
            ).fetchone()
        if row is None:
            return None
        return int(row[0]), None if row[1] is None else bytes(row[1])

    async def save(
        self, terminal_id: int, importance: int, ec: int, last: bytes | None
    ) -> None:
        async with self._asking() as conn:
            await conn.execute(
                "INSERT INTO terminal_event_state "
                "(terminal_id, importance, ec, last_record, updated_at) "
                "VALUES (%s, %s, %s, %s, now()) "
                "ON CONFLICT (terminal_id, importance) DO UPDATE SET ec = EXCLUDED.ec, "
                "last_record = EXCLUDED.last_record, updated_at = EXCLUDED.updated_at",
                (terminal_id, importance, ec, last),
            )

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


# --- the collector -------------------------------------------------------------------
