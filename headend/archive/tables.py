"""How each archive entity is stored: one table of specs (STYLE: dispatch is a table).

A model field is either a column of the entity's table (same name) or part of a
:class:`Reference`: a natural key of another entity, stored as that entity's id
(``terminal_a1``/``terminal_a2`` → ``meter.terminal_id``). The SQL shared by the
repository, the bulk path and the export is built here from the specs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, LiteralString

from psycopg import sql

from headend.archive.models import (
    ArchiveModel,
    Customer,
    Kind,
    Meter,
    Region,
    SimCard,
    Tariff,
    Terminal,
    TransformerArea,
    terminal_address,
)


@dataclass(frozen=True, slots=True)
class Reference:
    """Model fields naming another entity by its natural key."""

    fields: tuple[str, ...]  # model fields, e.g. ("terminal_a1", "terminal_a2")
    table: str  # the referenced table
    key: tuple[str, ...]  # its natural-key columns, in the order of `fields`
    column: str  # the id column in the referencing table
    label: str  # how a finding or an error names it

    def describe(self, values: Sequence[Any]) -> str:
        if self.table == "terminal":
            return f"{self.label} {terminal_address(values[0], values[1])}"
        return f"{self.label} {values[0]}"


@dataclass(frozen=True, slots=True)
class Entity:
    """One archive entity: its model, table, columns and references."""

    model: type[ArchiveModel]
    table: str
    label: str  # singular, as messages name one: "transformer area"
    pk: str  # primary-key column (row_id in the audit)
    #: Model fields stored under the same name, with their SQL type.
    columns: dict[str, str]
    references: tuple[Reference, ...] = ()
    #: Natural-key columns for ON CONFLICT; None: resolved by the bulk path (meters).
    conflict: tuple[str, ...] | None = None
    #: Rows a natural key can name (the live measuring point, not removed meters).
    live: LiteralString | None = None
    order_by: tuple[str, ...] = ()
    types: dict[str, str] = field(default_factory=dict)  # SQL types of reference fields

    @property
    def kind(self) -> Kind:
        return self.model.kind

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.model.model_fields)

    def reference_of(self, name: str) -> tuple[int, Reference] | None:
        for i, ref in enumerate(self.references):
            if name in ref.fields:
                return i, ref
        return None

    def sql_type(self, name: str) -> str:
        return self.columns.get(name) or self.types.get(name, "text")


_REGION = Reference(("region_code",), "region", ("code",), "region_id", "region")
_AREA = Reference(
    ("area_code",),
    "transformer_area",
    ("code",),
    "transformer_area_id",
    "transformer area",
)
T = "text"

ENTITIES: Final[dict[Kind, Entity]] = {
    e.kind: e
    for e in (
        Entity(
            Region,
            "region",
            "region",
            "id",
            {"code": T, "name": T},
            conflict=("code",),
            order_by=("code",),
        ),
        Entity(
            Tariff,
            "tariff",
            "tariff",
            "code",
            {"code": T, "name": T},
            conflict=("code",),
            order_by=("code",),
        ),
        Entity(
            TransformerArea,
            "transformer_area",
            "transformer area",
            "id",
            {"code": T, "name": T, "capacity_kva": "numeric", "supply_line": T},
            (_REGION,),
            conflict=("code",),
            order_by=("code",),
        ),
        Entity(
            Customer,
            "customer",
            "customer",
            "id",
            {
                "account_no": T,
                "name": T,
                "category": T,
                "contract_capacity_kva": "numeric",
                "voltage_level": T,
                "supply_line": T,
                "tariff_code": T,
                "address": T,
                "phone": T,
            },
            (_AREA,),
            conflict=("account_no",),
            order_by=("account_no",),
        ),
        Entity(
            SimCard,
            "sim_card",
            "SIM",
            "id",
            {
                "iccid": T,
                "imsi": T,
                "msisdn": T,
                "apn": T,
                "static_ip": "inet",
                "status": T,
            },
            conflict=("iccid",),
            order_by=("iccid",),
        ),
        Entity(
            Terminal,
            "terminal",
            "terminal",
            "id",
            {
                "a1": T,
                "a2": "integer",
                "vendor": T,
                "model": T,
                "firmware_version": T,
                "protocol": T,
                "expected_apn": T,
                "expected_master_ip": "inet",
                "expected_master_port": "integer",
                "install_place": T,
                "install_date": "date",
                "status": T,
            },
            (
                Reference(("iccid",), "sim_card", ("iccid",), "sim_id", "SIM"),
                _REGION,
                _AREA,
            ),
            conflict=("a1", "a2"),
            order_by=("a1", "a2"),
        ),
        Entity(
            Meter,
            "meter",
            "meter",
            "id",
            {
                "pn": "integer",
                "address": T,
                "protocol": "smallint",
                "port": "smallint",
                "baud_rate": "integer",
                "ct_ratio": "integer",
                "pt_ratio": "integer",
                "asset_no": T,
                "status": T,
            },
            (
                Reference(
                    ("terminal_a1", "terminal_a2"),
                    "terminal",
                    ("a1", "a2"),
                    "terminal_id",
                    "terminal",
                ),
                Reference(
                    ("account_no",),
                    "customer",
                    ("account_no",),
                    "customer_id",
                    "customer",
                ),
                _AREA,
            ),
            live="x.status <> 'removed'",
            order_by=("terminal_a1", "terminal_a2", "pn", "status", "address"),
            types={"terminal_a2": "integer"},
        ),
    )
}

ENTITY_OF_MODEL: Final[dict[type[ArchiveModel], Entity]] = {
    e.model: e for e in ENTITIES.values()
}


def field_expr(entity: Entity, name: str) -> sql.Composable:
    """The SQL expression of a model field in :func:`select_sql` (``x`` is the table)."""
    if name in entity.columns:
        return sql.SQL("x.{}").format(sql.Identifier(name))
    found = entity.reference_of(name)
    if found is None:
        raise KeyError(f"{entity.table}: no column for field {name}")
    i, ref = found
    column = ref.key[ref.fields.index(name)]
    return sql.SQL("{}.{}").format(sql.Identifier(f"r{i}"), sql.Identifier(column))


def _from(entity: Entity) -> sql.Composed:
    joins = [
        sql.SQL("LEFT JOIN {} {} ON {}.id = x.{}").format(
            sql.Identifier(ref.table),
            sql.Identifier(f"r{i}"),
            sql.Identifier(f"r{i}"),
            sql.Identifier(ref.column),
        )
        for i, ref in enumerate(entity.references)
    ]
    return sql.SQL("{} x {}").format(
        sql.Identifier(entity.table), sql.SQL(" ").join(joins)
    )


def select_sql(entity: Entity, where: sql.Composable | None = None) -> sql.Composed:
    """Every field of the entity (natural keys of references joined in), ordered."""
    columns = sql.SQL(", ").join(field_expr(entity, f) for f in entity.fields)
    order = sql.SQL(", ").join(
        [
            *(field_expr(entity, f) for f in entity.order_by),
            sql.SQL("x.{}").format(sql.Identifier(entity.pk)),
        ]
    )
    return sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}").format(
        columns,
        _from(entity),
        where if where is not None else sql.SQL("TRUE"),
        order,
    )


def id_sql(entity: Entity) -> sql.Composed:
    """The primary key of the entity named by its natural key (parameters in order)."""
    return sql.SQL("SELECT x.{} FROM {} WHERE {}").format(
        sql.Identifier(entity.pk), _from(entity), key_condition(entity)
    )


def key_condition(entity: Entity) -> sql.Composed:
    """``WHERE`` text matching one entity by natural key (parameters in key order)."""
    parts: list[sql.Composable] = [
        sql.SQL("{} = %s").format(field_expr(entity, f))
        for f in entity.model.key_fields
    ]
    if entity.live:
        parts.append(sql.SQL(entity.live))
    return sql.SQL(" AND ").join(parts)


def row_values(entity: Entity, row: Sequence[Any]) -> dict[str, Any]:
    """Model fields from a row of :func:`select_sql` (NULLs left to the defaults)."""
    return {f: v for f, v in zip(entity.fields, row, strict=True) if v is not None}


def describe(entity: Entity, key: Sequence[Any]) -> str:
    """How messages name one entity: ``terminal 4403-00001``, ``meter 4403-00001 pn 3``."""
    if entity.table == "terminal":
        return f"terminal {terminal_address(key[0], key[1])}"
    if entity.table == "meter":
        return f"meter {terminal_address(key[0], key[1])} pn {key[2]}"
    return f"{entity.label} {key[0]}"
