"""How the writer puts rows into each time-series table (schema/0003_timeseries.sql).

A :class:`TableSpec` names the columns in COPY order, their binary COPY types, the
conflict key and what a second write of the same key does. Readings keep the first
non-absent value unless a later one differs (the latest received wins); log-like
tables (communication log, command audit...) never change a written row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from psycopg import sql


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table the writer fills."""

    name: str
    columns: tuple[str, ...]
    #: Binary COPY type of each column in the staging table.
    types: tuple[str, ...]
    key: tuple[str, ...]
    #: Columns a newer row may change on conflict (empty: DO NOTHING).
    updates: tuple[str, ...] = ()
    #: Cast applied when moving a column from staging to the table; the cast columns
    #: are the values a newer row may change.
    casts: tuple[tuple[str, str], ...] = ()
    #: For an address-keyed variant (:func:`by_address`): the table it fills.
    target: str = ""

    @property
    def stage(self) -> str:
        return f"stage_{self.name}"

    def key_of(self, row: tuple[object, ...]) -> tuple[object, ...]:
        return tuple(row[self.columns.index(k)] for k in self.key)

    def create_stage(self) -> sql.Composed:
        """A temporary staging table, emptied at every commit."""
        cols = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_SQL_TYPE[t]))
            for c, t in zip(self.columns, self.types, strict=True)
        )
        return sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS"
        ).format(sql.Identifier(self.stage), cols)

    def copy_stage(self) -> sql.Composed:
        return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(self.stage),
            sql.SQL(", ").join(map(sql.Identifier, self.columns)),
        )

    def upsert(self) -> sql.Composed:
        """INSERT ... SELECT from staging, idempotent on the key."""
        casts = dict(self.casts)
        select = sql.SQL(", ").join(
            sql.SQL("{}::{}").format(sql.Identifier(c), sql.SQL(casts[c]))
            if c in casts
            else sql.Identifier(c)
            for c in self.columns
        )
        if self.target:
            return self._upsert_by_address()
        target = sql.Identifier(self.name)
        head = sql.SQL(
            "INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) "
        ).format(
            target,
            sql.SQL(", ").join(map(sql.Identifier, self.columns)),
            select,
            sql.Identifier(self.stage),
            sql.SQL(", ").join(map(sql.Identifier, self.key)),
        )
        return head + self._on_conflict(target)

    def _on_conflict(self, target: sql.Identifier) -> sql.Composable:
        if not self.updates:
            return sql.SQL("DO NOTHING")
        sets = sql.SQL(", ").join(
            sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
            for c in self.updates
        )
        # Only a newer row with a different value rewrites (a replay changes nothing),
        # and an absent (NULL) value never erases a known one.
        values = [c for c, _ in self.casts] or ["value"]
        cond = sql.SQL(
            "EXCLUDED.value IS NOT NULL AND EXCLUDED.received_at >= {t}.received_at "
            "AND ({new}) IS DISTINCT FROM ({old})"
        ).format(
            t=target,
            new=sql.SQL(", ").join(
                sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in values
            ),
            old=sql.SQL(", ").join(
                sql.SQL("{}.{}").format(target, sql.Identifier(c)) for c in values
            ),
        )
        return sql.SQL("DO UPDATE SET {} WHERE {}").format(sets, cond)

    def _upsert_by_address(self) -> sql.Composed:
        """Resolve (A1, A2, pn) to archive ids in the database, then upsert.

        A terminal or point the archive lacks is inserted as 'discovered' first, as
        :class:`headend.storage.directory.Directory` does on the fast path.
        """
        stage = sql.Identifier(self.stage)
        real = TABLES[self.target]
        target = sql.Identifier(real.name)
        casts = dict(self.casts)
        picked = [
            sql.SQL("m.id") if c == "meter_id"
            else sql.SQL("t.id") if c == "terminal_id"
            else sql.SQL("s.{}::{}").format(sql.Identifier(c), sql.SQL(casts[c]))
            if c in casts
            else sql.SQL("s.{}").format(sql.Identifier(c))
            for c in real.columns
        ]  # fmt: skip
        statements = [
            sql.SQL(
                "INSERT INTO terminal (a1, a2, status) SELECT DISTINCT a1, a2, "
                "'discovered' FROM {} ON CONFLICT (a1, a2) DO NOTHING"
            ).format(stage),
            sql.SQL(
                "INSERT INTO meter (terminal_id, pn, address, status) "
                "SELECT DISTINCT t.id, s.pn, '000000000000', 'discovered' FROM {} s "
                "JOIN terminal t ON t.a1 = s.a1 AND t.a2 = s.a2 "
                "ON CONFLICT (terminal_id, pn) WHERE status <> 'removed' DO NOTHING"
            ).format(stage),
            sql.SQL(
                "INSERT INTO {} ({}) SELECT {} FROM {} s "
                "JOIN terminal t ON t.a1 = s.a1 AND t.a2 = s.a2 "
                "JOIN meter m ON m.terminal_id = t.id AND m.pn = s.pn "
                "AND m.status <> 'removed' ON CONFLICT ({}) "
            ).format(
                target,
                sql.SQL(", ").join(map(sql.Identifier, real.columns)),
                sql.SQL(", ").join(picked),
                stage,
                sql.SQL(", ").join(map(sql.Identifier, real.key)),
            )
            + real._on_conflict(target),
        ]
        return sql.SQL("; ").join(statements)


_SQL_TYPE: Final = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float8": "double precision",
    "date": "date",
    "timestamptz": "timestamptz",
    "text": "text",
    "uuid": "uuid",
    "jsonb": "jsonb",
    "bytea": "bytea",
}

_TARIFFS: Final = ("tariff1", "tariff2", "tariff3", "tariff4")
_READING_UPDATES: Final = (
    "value",
    *_TARIFFS,
    "read_at",
    "received_at",
    "terminal_id",
    "source",
)
_VALUES: Final = tuple((c, "numeric(14,4)") for c in ("value", *_TARIFFS))
_F8X5: Final = ("float8",) * 5


def _frozen(name: str, period: str) -> TableSpec:
    """A frozen-value table (daily or monthly), keyed by meter, item and period."""
    return TableSpec(
        name,
        ("meter_id", "item_id", period, "value", *_TARIFFS, "read_at", "received_at",
         "terminal_id", "source"),
        ("int8", "int2", "date", *_F8X5, "timestamptz", "timestamptz", "int4", "int2"),
        ("meter_id", "item_id", period),
        _READING_UPDATES,
        _VALUES,
    )  # fmt: skip


READING_DAILY: Final = _frozen("reading_daily", "day")
READING_MONTHLY: Final = _frozen("reading_monthly", "month")
READING_INSTANT: Final = TableSpec(
    "reading_instant",
    ("meter_id", "item_id", "ts", "value", *_TARIFFS, "received_at", "terminal_id",
     "source"),
    ("int8", "int2", "timestamptz", *_F8X5, "timestamptz", "int4", "int2"),
    ("meter_id", "item_id", "ts"),
    ("value", *_TARIFFS, "received_at", "terminal_id", "source"),
    _VALUES,
)  # fmt: skip
READING_CURVE: Final = TableSpec(
    "reading_curve",
    (
        "meter_id",
        "item_id",
        "ts",
        "value",
        "density_min",
        "received_at",
        "terminal_id",
        "source",
    ),
    ("int8", "int2", "timestamptz", "float8", "int2", "timestamptz", "int4", "int2"),
    ("meter_id", "item_id", "ts"),
    ("value", "density_min", "received_at", "terminal_id", "source"),
    (("value", "numeric(14,4)"),),
)
EVENT_RECORD: Final = TableSpec(
    "event_record",
    (
        "terminal_id",
        "importance",
        "erc",
        "occurred_at",
        "pointer",
        "body",
        "detail",
        "received_at",
    ),
    ("int4", "int2", "int2", "timestamptz", "int2", "bytea", "jsonb", "timestamptz"),
    ("terminal_id", "importance", "erc", "occurred_at", "pointer"),
)
COMM_LOG: Final = TableSpec(
    "comm_log",
    ("ts", "event_id", "kind", "terminal", "terminal_id", "peer", "worker", "detail"),
    ("timestamptz", "uuid", "text", "text", "int4", "text", "text", "jsonb"),
    ("ts", "event_id"),
)
COMMAND_AUDIT: Final = TableSpec(
    "command_audit",
    (
        "ts",
        "command_id",
        "state",
        "operator",
        "terminal",
        "afn",
        "fn",
        "pn",
        "params",
        "detail",
    ),
    (
        "timestamptz",
        "uuid",
        "text",
        "text",
        "text",
        "int2",
        "int2",
        "int4",
        "jsonb",
        "jsonb",
    ),
    ("ts", "command_id", "state"),
)
COLLECTION_RUN: Final = TableSpec(
    "collection_run",
    ("started_at", "run_id", "task_id", "terminal_id", "target_day", "finished_at",
     "expected", "received", "result", "detail"),
    ("timestamptz", "uuid", "int4", "int4", "date", "timestamptz", "int4", "int4", "text", "jsonb"),
    ("started_at", "run_id", "terminal_id"),
)  # fmt: skip

TABLES: Final = {
    t.name: t
    for t in (
        READING_DAILY,
        READING_MONTHLY,
        READING_INSTANT,
        READING_CURVE,
        EVENT_RECORD,
        COMM_LOG,
        COMMAND_AUDIT,
        COLLECTION_RUN,
    )
}


def by_address(spec: TableSpec) -> TableSpec:
    """A variant of a reading table keyed by terminal address and pn, not archive ids.

    Used when the archive cannot be asked (the database is down) or must not be
    waited for: the rows are spooled and written like any other, and the database
    resolves the ids when they arrive.
    """
    own = ("meter_id", "terminal_id")
    kept = [
        (c, t) for c, t in zip(spec.columns, spec.types, strict=True) if c not in own
    ]
    return TableSpec(
        f"{spec.name}_by_address",
        ("a1", "a2", "pn", *(c for c, _ in kept)),
        ("text", "int4", "int4", *(t for _, t in kept)),
        ("a1", "a2", "pn", *(k for k in spec.key if k not in own)),
        (),
        spec.casts,
        target=spec.name,
    )


BY_ADDRESS: Final = {
    t.name: by_address(t)
    for t in (READING_DAILY, READING_MONTHLY, READING_INSTANT, READING_CURVE)
}
TABLES.update({t.name: t for t in BY_ADDRESS.values()})
