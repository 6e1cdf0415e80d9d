"""The bulk write path: stage rows by COPY, resolve references, upsert in one statement.

Used for one entity (:func:`headend.archive.repository.upsert`) and for 100,000-row
CSV files alike, so both follow the same rules:

* only the *staged fields* are written: a field left out (a column the file does not
  have, a model field the caller did not set) keeps its stored value on update and
  takes the column default on insert;
* references are natural keys resolved against the database; an unresolved one is
  reported per line, never silently stored as NULL;
* an update that changes nothing writes nothing (no audit row, same ``updated_at``).

Meters are keyed by their live measuring point (terminal, pn): a row with status
``removed`` updates the meter at that point *with the same address* (or is kept as
history), so a file listing the old meter as removed and the new one as active at
the same point records a meter replacement (换表).
"""

from __future__ import annotations

import typing
from collections.abc import Collection, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg import sql

from headend.archive.models import ArchiveModel
from headend.archive.tables import Entity

STAGE = sql.Identifier("archive_stage")


@dataclass(frozen=True, slots=True)
class Counts:
    """What applying a stage did."""

    staged: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.staged - self.inserted - self.updated


def _is_enum(annotation: Any) -> bool:
    args = typing.get_args(annotation) or (annotation,)
    return any(isinstance(a, type) and issubclass(a, Enum) for a in args)


def _ids(names: Iterable[str], prefix: str = "") -> sql.Composed:
    if prefix:
        return sql.SQL(", ").join(
            sql.SQL("{}.{}").format(sql.Identifier(prefix), sql.Identifier(n))
            for n in names
        )
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


class Stage:
    """Rows of one entity in a temporary table, written with COPY.

    ``async with Stage(conn, entity, fields) as stage``: :meth:`write` each row,
    then :meth:`resolve`, optionally :meth:`discard`, then :meth:`apply` (upsert) or
    :meth:`insert`. Must run inside a transaction: the table is dropped at commit.
    """

    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        entity: Entity,
        fields: Collection[str],
    ) -> None:
        self.conn = conn
        self.entity = entity
        wanted = set(fields) | set(entity.model.key_fields)
        self.fields = [f for f in entity.fields if f in wanted]
        self.references = [
            r for r in entity.references if all(f in wanted for f in r.fields)
        ]
        self.count = 0
        # Positions (in a COPY row) of the enum fields, written as their values.
        self._enums = [
            i + 1
            for i, f in enumerate(self.fields)
            if _is_enum(entity.model.model_fields[f].annotation)
        ]
        self._stack = AsyncExitStack()
        self._copy: psycopg.AsyncCopy | None = None

    async def __aenter__(self) -> Self:
        e = self.entity
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(f), sql.SQL(e.sql_type(f)))
            for f in self.fields
        ] + [
            sql.SQL("{} bigint").format(sql.Identifier(r.column))
            for r in self.references
        ]
        # Sorts and hash joins over a 100,000-row file stay in memory.
        await self.conn.execute("SELECT set_config('work_mem', '64MB', true)")
        await self.conn.execute(
            sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(STAGE)
        )
        await self.conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE {} (line integer NOT NULL, {}, target_id bigint) "
                "ON COMMIT DROP"
            ).format(STAGE, sql.SQL(", ").join(columns))
        )
        cursor = await self._stack.enter_async_context(self.conn.cursor())
        self._copy = await self._stack.enter_async_context(
            cursor.copy(
                sql.SQL("COPY {} (line, {}) FROM STDIN").format(
                    STAGE, _ids(self.fields)
                )
            )
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)

    async def write(self, line: int, item: ArchiveModel) -> None:
        if self._copy is None:
            raise RuntimeError("the stage is closed for writing")
        values = item.__dict__  # the validated fields (pydantic keeps them there)
        row = [line, *[values[f] for f in self.fields]]
        for i in self._enums:
            row[i] = row[i].value
        await self._copy.write_row(row)
        self.count += 1

    async def _end_copy(self) -> None:
        if self._copy is not None:
            self._copy = None
            await self._stack.aclose()
            await self.conn.execute(sql.SQL("ANALYZE {}").format(STAGE))

    async def resolve(self) -> dict[int, list[str]]:
        """Look up every reference; the lines whose references are unknown, and why."""
        await self._end_copy()
        problems: dict[int, list[str]] = {}
        if not self.references:
            return problems
        # One pass over the stage for all references (each UPDATE rewrites it).
        joins = []
        for i, ref in enumerate(self.references):
            alias = sql.Identifier(f"r{i}")
            match = sql.SQL(" AND ").join(
                sql.SQL("{}.{} = s2.{}").format(
                    alias, sql.Identifier(k), sql.Identifier(f)
                )
                for k, f in zip(ref.key, ref.fields, strict=True)
            )
            joins.append(
                sql.SQL("LEFT JOIN {} {} ON {}").format(
                    sql.Identifier(ref.table), alias, match
                )
            )
        columns = [r.column for r in self.references]
        found = [sql.SQL("r{}.id").format(sql.Literal(i)) for i in range(len(columns))]
        await self.conn.execute(
            sql.SQL(
                "UPDATE {} s SET ({}) = ROW({}) FROM (SELECT s2.line, {} FROM {} s2 {}) r "
                "WHERE s.line = r.line"
            ).format(
                STAGE,
                _ids(columns),
                _ids((f"c{i}" for i in range(len(columns))), "r"),
                sql.SQL(", ").join(
                    sql.SQL("{} AS {}").format(f, sql.Identifier(f"c{i}"))
                    for i, f in enumerate(found)
                ),
                STAGE,
                sql.SQL(" ").join(joins),
            )
        )
        for ref in self.references:
            named = sql.SQL(" AND ").join(
                sql.SQL("{} IS NOT NULL").format(sql.Identifier(f)) for f in ref.fields
            )
            cursor = await self.conn.execute(
                sql.SQL(
                    "SELECT line, {} FROM {} WHERE {} IS NULL AND {} ORDER BY line"
                ).format(_ids(ref.fields), STAGE, sql.Identifier(ref.column), named)
            )
            for line, *values in await cursor.fetchall():
                problems.setdefault(line, []).append(
                    f"{ref.describe(values)} not found"
                )
        return problems

    async def discard(self, lines: Collection[int]) -> None:
        """Drop these lines from the stage (``--partial``: the good rows go on)."""
        await self._end_copy()
        if lines:
            cursor = await self.conn.execute(
                sql.SQL("DELETE FROM {} WHERE line = ANY(%s)").format(STAGE),
                (sorted(lines),),
            )
            self.count -= cursor.rowcount

    def _columns(self) -> list[str]:
        direct = [f for f in self.fields if f in self.entity.columns]
        return direct + [r.column for r in self.references]

    async def insert(self) -> Counts:
        """Insert every staged row; an existing key is an error (UniqueViolation)."""
        await self._end_copy()
        cols = self._columns()
        cursor = await self.conn.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ORDER BY line").format(
                sql.Identifier(self.entity.table), _ids(cols), _ids(cols), STAGE
            )
        )
        return Counts(self.count, cursor.rowcount, 0)

    async def apply(self) -> Counts:
        """Upsert every staged row by natural key."""
        await self._end_copy()
        if self.entity.conflict is None:
            return await self._apply_meters()
        table = sql.Identifier(self.entity.table)
        key = self.entity.conflict
        cols = self._columns()
        changing = [c for c in cols if c not in key]
        updated = 0
        action: sql.Composable
        if changing:
            # Existing rows first, by UPDATE: INSERT ... ON CONFLICT draws a sequence
            # value for every row, so re-importing a file would burn ids.
            same = sql.SQL(" AND ").join(
                sql.SQL("x.{0} = s.{0}").format(sql.Identifier(k)) for k in key
            )
            cursor = await self.conn.execute(
                sql.SQL(
                    "UPDATE {} x SET ({}) = ROW({}) FROM {} s WHERE {} "
                    "AND ROW({}) IS DISTINCT FROM ROW({})"
                ).format(
                    table,
                    _ids(changing),
                    _ids(changing, "s"),
                    STAGE,
                    same,
                    _ids(changing, "x"),
                    _ids(changing, "s"),
                )
            )
            updated = cursor.rowcount
            action = sql.SQL(
                "DO UPDATE SET ({}) = ROW({}) WHERE ROW({}) IS DISTINCT FROM ROW({})"
            ).format(
                _ids(changing),
                _ids(changing, "excluded"),
                _ids(changing, "x"),
                _ids(changing, "excluded"),
            )
        else:
            action = sql.SQL("DO NOTHING")
        # Then the new rows. ON CONFLICT covers a row another session inserted
        # meanwhile (the ingest path creating a discovered terminal).
        absent = sql.SQL(" AND ").join(
            sql.SQL("e.{0} = s.{0}").format(sql.Identifier(k)) for k in key
        )
        query = sql.SQL(
            "WITH done AS (INSERT INTO {} AS x ({}) SELECT {} FROM {} s "
            "WHERE NOT EXISTS (SELECT 1 FROM {} e WHERE {}) ORDER BY line "
            "ON CONFLICT ({}) {} RETURNING (x.xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
            "FROM done"
        ).format(
            table,
            _ids(cols),
            _ids(cols, "s"),
            STAGE,
            table,
            absent,
            _ids(key),
            action,
        )
        row = await (await self.conn.execute(query)).fetchone()
        inserted, raced = (int(row[0]), int(row[1])) if row else (0, 0)
        return Counts(self.count, inserted, updated + raced)

    async def _apply_meters(self) -> Counts:
        def status(alias: str) -> sql.Composable:
            if "status" in self.fields:
                return sql.SQL("{}.status").format(sql.Identifier(alias))
            return sql.SQL("NULL::text")

        # Removed rows first claim the meter at their point with the same address...
        await self.conn.execute(
            sql.SQL(
                "UPDATE {stage} s SET target_id = t.id FROM ("
                " SELECT DISTINCT ON (s2.line) s2.line, m.id FROM {stage} s2"
                " JOIN meter m ON m.terminal_id = s2.terminal_id AND m.pn = s2.pn"
                " AND m.address = s2.address WHERE {status2} = 'removed'"
                " ORDER BY s2.line, (m.status <> 'removed') DESC, m.id DESC"
                ") t WHERE s.line = t.line"
            ).format(stage=STAGE, status2=status("s2"))
        )
        # ... then the other rows take the live meter at their point, if unclaimed.
        await self.conn.execute(
            sql.SQL(
                "UPDATE {stage} s SET target_id = m.id FROM meter m"
                " WHERE m.terminal_id = s.terminal_id AND m.pn = s.pn"
                " AND m.status <> 'removed' AND {status} IS DISTINCT FROM 'removed'"
                " AND m.id NOT IN (SELECT target_id FROM {stage}"
                " WHERE target_id IS NOT NULL)"
            ).format(stage=STAGE, status=status("s"))
        )
        cols = self._columns()
        changing = [c for c in cols if c not in ("terminal_id", "pn")]
        updated = 0
        if changing:
            cursor = await self.conn.execute(
                sql.SQL(
                    "UPDATE meter x SET ({}) = ROW({}) FROM {} s WHERE x.id = s.target_id"
                    " AND ROW({}) IS DISTINCT FROM ROW({})"
                ).format(
                    _ids(changing),
                    _ids(changing, "s"),
                    STAGE,
                    _ids(changing, "x"),
                    _ids(changing, "s"),
                )
            )
            updated = cursor.rowcount
        cursor = await self.conn.execute(
            sql.SQL(
                "INSERT INTO meter ({}) SELECT {} FROM {} WHERE target_id IS NULL ORDER BY line"
            ).format(_ids(cols), _ids(cols), STAGE)
        )
        return Counts(self.count, cursor.rowcount, updated)
