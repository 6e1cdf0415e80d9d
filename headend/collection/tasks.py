"""Collection tasks (采集任务): the model, its validation, storage and target sets.

A task is stored in ``collection_task`` (schema/0005_collection.sql). Its kind fixes
the AFN (realtime AFN0C, daily / monthly / curve AFN0D, events AFN0E); its ``fns``
are Fn numbers of that AFN, its ``dis`` DL/T 645 data identifiers read through
AFN10 F1 forwarding. The target set resolves to measuring points of active meters
(:func:`targets`), always for a given list of terminals: a worker asks only for the
terminals it holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, time
from typing import Any, Literal

import psycopg
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from psycopg.rows import dict_row
from pydantic import BaseModel, Field, field_validator, model_validator

from headend.collection.forward import data_identifier
from headend.config import parse_address
from headend.ingest import CURVE, DAILY, MONTHLY, reading_table
from protocols.errors import ProtocolError
from protocols.gdw1376.registry import AFN, lookup

Kind = Literal["realtime", "daily", "monthly", "curve", "events"]
AnyConnection = psycopg.AsyncConnection[Any]

#: The AFN each kind reads with.
KIND_AFN: dict[str, int] = {
    "realtime": AFN.CLASS1,
    "daily": AFN.CLASS2,
    "monthly": AFN.CLASS2,
    "curve": AFN.CLASS2,
    "events": AFN.CLASS3,
}

COLUMNS = (
    "name", "kind", "fns", "dis", "target", "schedule", "interval_s", "window_start",
    "window_end", "priority", "retries", "retry_interval_s", "lookback_days", "enabled",
)  # fmt: skip


class MeterRef(BaseModel):
    """One measuring point of one terminal."""

    terminal: str
    pn: int = Field(ge=1, le=2040)

    @field_validator("terminal")
    @classmethod
    def _address(cls, v: str) -> str:
        parse_address(v)
        return v


class Target(BaseModel):
    """Which meters a task reads; exactly one of the fields is given."""

    all: bool = False
    regions: list[str] | None = None
    areas: list[str] | None = None
    terminals: list[str] | None = None
    meters: list[MeterRef] | None = None

    @field_validator("terminals")
    @classmethod
    def _addresses(cls, v: list[str] | None) -> list[str] | None:
        for a in v or []:
            parse_address(a)
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        given = [
            name
            for name in ("regions", "areas", "terminals", "meters")
            if getattr(self, name) is not None
        ] + (["all"] if self.all else [])
        if len(given) != 1:
            raise ValueError(
                "target: give exactly one of all, regions, areas, terminals, meters"
            )
        return self


class TaskSpec(BaseModel):
    """What `headend task create` and ``POST /api/v1/tasks`` accept."""

    name: str = Field(pattern=r"^[0-9A-Za-z_.-]{1,64}$")
    kind: Kind
    fns: list[int] = []
    dis: list[str] = []
    target: Target = Target(all=True)
    schedule: str | None = None
    interval_s: int | None = Field(None, ge=60)
    window_start: time | None = None
    window_end: time | None = None
    priority: int = Field(3, ge=1, le=3)
    retries: int = Field(3, ge=0, le=20)
    retry_interval_s: int = Field(600, ge=1, le=86400)
    lookback_days: int = Field(3, ge=0, le=62)
    enabled: bool = True

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                CronTrigger.from_crontab(v)
            except ValueError as exc:
                raise ValueError(
                    f"schedule {v!r}: not a 5-field cron ({exc})"
                ) from None
        return v

    @field_validator("dis")
    @classmethod
    def _dis(cls, v: list[str]) -> list[str]:
        return [data_identifier(di) for di in v]

    @model_validator(mode="after")
    def _coherent(self) -> TaskSpec:
        if self.schedule is None and self.interval_s is None:
            raise ValueError("give a schedule (cron) or an interval_s")
        if (self.window_start is None) != (self.window_end is None):
            raise ValueError("window_start and window_end go together")
        if self.kind != "events" and not self.fns and not self.dis:
            raise ValueError(f"a {self.kind} task needs fns or dis")
        afn = KIND_AFN[self.kind]
        for fn in self.fns:
            try:
                spec = lookup(afn, fn, 1)
            except ProtocolError:
                spec = None
            if spec is None or spec.cls is None:
                raise ValueError(f"AFN{afn:02X} F{fn}: not a known {self.kind} item")
            wanted = {"daily": DAILY, "monthly": MONTHLY, "curve": CURVE}.get(self.kind)
            if wanted is not None and reading_table(afn, fn) != wanted:
                raise ValueError(
                    f"AFN{afn:02X} F{fn}: not a {self.kind} item the head-end stores"
                )
        if self.dis and self.kind != "realtime":
            # One forwarded request per meter and DI: real-time reads only.
            raise ValueError("645 data identifiers (dis) are read by realtime tasks")
        return self


class Task(TaskSpec):
    """A stored task."""

    id: int
    run_requested_at: datetime | None = None


def _row(spec: TaskSpec) -> list[Any]:
    data = spec.model_dump(mode="python")
    target = spec.target.model_dump(exclude_none=True, exclude_defaults=True)
    data["target"] = json.dumps(target or {"all": True})
    return [data[c] for c in COLUMNS]


def _task(row: dict[str, Any]) -> Task:
    target = row["target"]
    return Task.model_validate({**row, "target": target})


def reference(text: str) -> int | str:
    """A task as the operator names it: its id (digits) or its name."""
    return int(text) if text.isdigit() else text


async def create(conn: AnyConnection, spec: TaskSpec) -> Task:
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"INSERT INTO collection_task ({', '.join(COLUMNS)}) "  # noqa: S608 - fixed names
            f"VALUES ({placeholders}) RETURNING *",
            _row(spec),
        )
        row = await cur.fetchone()
    assert row is not None  # noqa: S101 - INSERT ... RETURNING
    return _task(row)


async def update(conn: AnyConnection, task_id: int, spec: TaskSpec) -> Task | None:
    sets = ", ".join(f"{c} = %s" for c in COLUMNS)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"UPDATE collection_task SET {sets}, updated_at = now() "  # noqa: S608
            "WHERE id = %s RETURNING *",
            [*_row(spec), task_id],
        )
        row = await cur.fetchone()
    return None if row is None else _task(row)


async def get(conn: AnyConnection, ref: int | str) -> Task | None:
    column = "id" if isinstance(ref, int) else "name"
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT * FROM collection_task WHERE {column} = %s",  # noqa: S608
            (ref,),
        )
        row = await cur.fetchone()
    return None if row is None else _task(row)


async def list_all(conn: AnyConnection, *, enabled: bool | None = None) -> list[Task]:
    async with conn.cursor(row_factory=dict_row) as cur:
        if enabled is None:
            await cur.execute("SELECT * FROM collection_task ORDER BY id")
        else:
            await cur.execute(
                "SELECT * FROM collection_task WHERE enabled = %s ORDER BY id",
                (enabled,),
            )
        return [_task(r) for r in await cur.fetchall()]


async def set_enabled(
    conn: AnyConnection, ref: int | str, enabled: bool
) -> Task | None:
    column = "id" if isinstance(ref, int) else "name"
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"UPDATE collection_task SET enabled = %s, updated_at = now() "  # noqa: S608
            f"WHERE {column} = %s RETURNING *",
            (enabled, ref),
        )
        row = await cur.fetchone()
    return None if row is None else _task(row)


async def delete(conn: AnyConnection, ref: int | str) -> bool:
    column = "id" if isinstance(ref, int) else "name"
    cur = await conn.execute(
        f"DELETE FROM collection_task WHERE {column} = %s",  # noqa: S608
        (ref,),
    )
    return cur.rowcount > 0


async def request_run(conn: AnyConnection, ref: int | str) -> Task | None:
    """Ask every worker to run a window of the task now ("run now")."""
    column = "id" if isinstance(ref, int) else "name"
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"UPDATE collection_task SET run_requested_at = clock_timestamp() "  # noqa: S608
            f"WHERE {column} = %s RETURNING *",
            (ref,),
        )
        row = await cur.fetchone()
    return None if row is None else _task(row)


async def version(conn: AnyConnection) -> tuple[int, Any, Any]:
    """Changes to the task table show here (the schedulers reload on a change)."""
    row = await (
        await conn.execute(
            "SELECT count(*), max(updated_at), max(run_requested_at) FROM collection_task"
        )
    ).fetchone()
    assert row is not None  # noqa: S101 - an aggregate always yields a row
    return int(row[0]), row[1], row[2]


# --- target sets ---------------------------------------------------------------------

#: Only the terminals a worker holds; _ACTIVE and a _FILTER then narrow the meters.
_HELD = """JOIN unnest(%(a1)s::text[], %(a2)s::int[]) AS held(a1, a2)
  ON held.a1 = t.a1 AND held.a2 = t.a2
"""
_ACTIVE = "WHERE m.status = 'active' AND t.status <> 'inactive'"
_FILTER = {
    "all": "",
    "regions": " AND t.region_id IN (SELECT id FROM region WHERE code = ANY(%(codes)s))",
    "areas": " AND coalesce(m.transformer_area_id, t.transformer_area_id) IN "
    "(SELECT id FROM transformer_area WHERE code = ANY(%(codes)s))",
    "terminals": "",  # the held list is already narrowed to the target's terminals
    "meters": " AND (t.a1 || '-' || lpad(t.a2::text, 5, '0'), m.pn) IN "
    "(SELECT * FROM unnest(%(mt)s::text[], %(mp)s::int[]))",
}


def _which(target: Target) -> str:
    for name in ("regions", "areas", "terminals", "meters"):
        if getattr(target, name) is not None:
            return name
    return "all"


def narrow(target: Target, held: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The held terminals (A1 text, A2) a target can concern at all."""
    held = list(held)
    if target.terminals is not None:
        wanted = {_text_key(parse_address(a)) for a in target.terminals}
        return [h for h in held if h in wanted]
    if target.meters is not None:
        wanted = {_text_key(parse_address(m.terminal)) for m in target.meters}
        return [h for h in held if h in wanted]
    return held


def _text_key(key: tuple[int, int]) -> tuple[str, int]:
    return f"{key[0]:04X}", key[1]


def target_filter(
    target: Target, held: Sequence[tuple[str, int]] | None = None
) -> tuple[str, str, dict[str, Any]]:
    """Joins, condition and parameters of a target's active meters ``m``.

    The joins bring meter ``m`` and its terminal ``t`` (of the ``held`` terminals
    only, or of the whole archive when ``held`` is None); a caller adds its own
    tables after them. Parameters are named (``%(...)s``).
    """
    which = _which(target)
    if held is None and which in ("terminals", "meters"):
        named = target.terminals or [m.terminal for m in target.meters or []]
        held = sorted({_text_key(parse_address(a)) for a in named})
    params: dict[str, Any] = {
        "a1": [h[0] for h in held or ()],
        "a2": [h[1] for h in held or ()],
        "codes": target.regions if which == "regions" else target.areas,
        "mt": [m.terminal for m in target.meters or []],
        "mp": [m.pn for m in target.meters or []],
    }
    joins = "meter m JOIN terminal t ON t.id = m.terminal_id\n" + (
        _HELD if held is not None else ""
    )
    return joins, _ACTIVE + _FILTER[which], params


async def targets(
    conn: AnyConnection, target: Target, held: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], tuple[int, dict[int, int]]]:
    """{(a1, a2): (terminal id, {pn: meter id})} of the target's active meters."""
    held = narrow(target, held)
    if not held:
        return {}
    joins, where, params = target_filter(target, held)
    out: dict[tuple[str, int], tuple[int, dict[int, int]]] = {}
    cur = await conn.execute(
        f"SELECT t.a1, t.a2, t.id, m.pn, m.id FROM {joins} {where}",  # noqa: S608
        params,
    )
    async for a1, a2, terminal_id, pn, meter_id in cur:
        out.setdefault((a1, a2), (terminal_id, {}))[1][pn] = meter_id
    return out
