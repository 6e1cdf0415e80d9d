"""The archive repository: get, list, upsert, create and delete per entity.

Every function takes the model class (or instance) that names the entity, so the
results are typed: ``await get(conn, Terminal, "4403", 1)`` is a :class:`Terminal`.
Writes run in :func:`transaction`, which records the actor for the audit trigger of
``schema/0002_archive.sql``; psycopg errors leave as :mod:`headend.archive.errors`.

An upsert writes the fields the caller set (``model_fields_set``) and the key: a
``Terminal(a1="4403", a2=1, vendor="X")`` changes the vendor of an existing terminal
and nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal, TypeVar

import psycopg
from psycopg import errors as pg

from headend.archive.bulk import Counts, Stage
from headend.archive.errors import AlreadyExists, Conflict, MissingSchema, NotFound
from headend.archive.models import ArchiveModel
from headend.archive.tables import (
    ENTITY_OF_MODEL,
    Entity,
    describe,
    id_sql,
    key_condition,
    row_values,
    select_sql,
)

M = TypeVar("M", bound=ArchiveModel)
Outcome = Literal["inserted", "updated", "unchanged"]
AnyConnection = psycopg.AsyncConnection[Any]


@contextmanager
def domain_errors(what: str = "archive") -> Iterator[None]:
    """Turn psycopg errors into the archive's domain errors (STYLE E5)."""
    try:
        yield
    except (pg.UndefinedTable, pg.UndefinedFunction) as exc:
        raise MissingSchema(
            f"{what}: the archive tables are missing; run the migrations first "
            "(headend db upgrade)"
        ) from exc
    except pg.UniqueViolation as exc:
        raise AlreadyExists(f"{what}: {_detail(exc)}") from exc
    except pg.ForeignKeyViolation as exc:
        raise Conflict(f"{what}: {_detail(exc)}") from exc
    except (pg.IntegrityError, pg.SerializationFailure, pg.DeadlockDetected) as exc:
        raise Conflict(f"{what}: {_detail(exc)}") from exc


def _detail(exc: psycopg.Error) -> str:
    return exc.diag.message_detail or exc.diag.message_primary or str(exc)


@asynccontextmanager
async def transaction(conn: AnyConnection, actor: str) -> AsyncIterator[None]:
    """A transaction (a savepoint inside one) whose changes are audited as ``actor``."""
    with domain_errors():
        async with conn.transaction():
            await conn.execute("SELECT set_config('headend.actor', %s, true)", (actor,))
            yield


def _entity(model: type[ArchiveModel]) -> Entity:
    return ENTITY_OF_MODEL[model]


async def get(conn: AnyConnection, model: type[M], *key: Any) -> M:
    """One entity by natural key (a meter: terminal A1, A2 and pn, the live one)."""
    entity = _entity(model)
    with domain_errors(describe(entity, key)):
        cursor = await conn.execute(select_sql(entity, key_condition(entity)), key)
        row = await cursor.fetchone()
    if row is None:
        raise NotFound(f"{describe(entity, key)} not found")
    return model.model_validate(row_values(entity, row))


async def get_id(conn: AnyConnection, model: type[ArchiveModel], *key: Any) -> int:
    """The database id of an entity (the code of a tariff is its key, not an id)."""
    entity = _entity(model)
    with domain_errors(describe(entity, key)):
        row = await (await conn.execute(id_sql(entity), key)).fetchone()
    if row is None:
        raise NotFound(f"{describe(entity, key)} not found")
    return int(row[0])


async def list_all(
    conn: AnyConnection, model: type[M], *, limit: int | None = 1000, offset: int = 0
) -> list[M]:
    """A page of entities in natural-key order."""
    entity = _entity(model)
    query = select_sql(entity) + psycopg.sql.SQL(" LIMIT %s OFFSET %s")
    with domain_errors(entity.table):
        rows = await (await conn.execute(query, (limit, offset))).fetchall()
    return [model.model_validate(row_values(entity, r)) for r in rows]


async def stream(
    conn: AnyConnection, model: type[M], *, batch: int = 2000
) -> AsyncGenerator[M, None]:
    """Every entity in natural-key order, through a server-side cursor (exports).

    The cursor lives in a transaction: wrap the iteration in ``contextlib.aclosing``
    when it may stop early, so that the transaction ends at once.
    """
    entity = _entity(model)
    with domain_errors(entity.table):
        async with conn.transaction(), conn.cursor(name="archive_stream") as cursor:
            cursor.itersize = batch
            await cursor.execute(select_sql(entity))
            async for row in cursor:
                yield model.model_validate(row_values(entity, row))


async def upsert(conn: AnyConnection, item: ArchiveModel, *, actor: str) -> Outcome:
    """Insert or update by natural key; references must exist (else NotFound)."""
    entity = _entity(type(item))
    async with transaction(conn, actor):
        counts = await _stage_one(conn, entity, item, create=False)
    if counts.inserted:
        return "inserted"
    return "updated" if counts.updated else "unchanged"


async def create(conn: AnyConnection, item: ArchiveModel, *, actor: str) -> None:
    """Insert a new entity; AlreadyExists when its natural key is taken."""
    entity = _entity(type(item))
    async with transaction(conn, actor):
        with domain_errors(describe(entity, item.key)):
            await _stage_one(conn, entity, item, create=True)


async def _stage_one(
    conn: AnyConnection, entity: Entity, item: ArchiveModel, *, create: bool
) -> Counts:
    async with Stage(conn, entity, item.model_fields_set) as stage:
        await stage.write(1, item)
        problems = await stage.resolve()
        if problems:
            raise NotFound(f"{describe(entity, item.key)}: " + "; ".join(problems[1]))
        return await (stage.insert() if create else stage.apply())


async def delete(
    conn: AnyConnection, model: type[ArchiveModel], *key: Any, actor: str
) -> None:
    """Delete by natural key.

    Conflict while others still reference it (a terminal with meters); references
    that may lapse (a customer's area) are set to NULL.
    """
    entity = _entity(model)
    name = describe(entity, key)
    query = psycopg.sql.SQL("DELETE FROM {} WHERE {} IN ({})").format(
        psycopg.sql.Identifier(entity.table),
        psycopg.sql.Identifier(entity.pk),
        id_sql(entity),
    )
    async with transaction(conn, actor):
        try:
            cursor = await conn.execute(query, key)
        except pg.ForeignKeyViolation as exc:
            raise Conflict(f"{name} is still referenced: {_detail(exc)}") from exc
        if cursor.rowcount == 0:
            raise NotFound(f"{name} not found")
