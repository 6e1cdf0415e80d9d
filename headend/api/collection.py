"""``/api/v1`` routes of collection: tasks, on-demand reads (召测), inspections (巡测), KPIs.

Every route needs the database (the head-end runs with storage); without it they
answer 503. Task changes reach every worker's scheduler within a few seconds
(they poll the task table), and so does "run now".
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import psycopg
from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field

from headend.collection import kpi, tasks
from headend.collection.plan import periods
from headend.collection.reads import MAX_TARGETS, Reader, ReadSpec, Target
from headend.collection.tasks import Task, TaskSpec

AnyConnection = psycopg.AsyncConnection[Any]


class ReadRequest(ReadSpec):
    """An on-demand read (召测): a terminal, a measuring point and one item."""

    terminal: str
    pn: int = Field(0, ge=0, le=2040)


class InspectionRequest(BaseModel):
    """A batch inspection (批量巡测): targets, the item, and how many reads at once."""

    targets: list[Target] = Field(min_length=1, max_length=MAX_TARGETS)
    read: ReadSpec
    concurrency: int | None = Field(None, ge=1, le=1024)
    operator: str = "api"


def router(dsn: str | None, reader: Reader | None, timezone: str) -> APIRouter:
    """Routes for one worker; ``dsn`` None (no storage) makes every route 503."""
    api = APIRouter()
    tz = ZoneInfo(timezone)

    @asynccontextmanager
    async def connect() -> AsyncIterator[AnyConnection]:
        if not dsn:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "no database configured"
            )
        try:
            conn = await psycopg.AsyncConnection.connect(
                dsn, autocommit=True, connect_timeout=5
            )
        except psycopg.OperationalError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"database unavailable: {exc}"
            ) from None
        async with conn:
            yield conn

    async def found(conn: AnyConnection, ref: str) -> Task:
        task = await tasks.get(conn, tasks.reference(ref))
        if task is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no task {ref!r}")
        return task

    @api.get("/tasks")
    async def list_tasks() -> list[Task]:
        """Collection tasks (采集任务)."""
        async with connect() as conn:
            return await tasks.list_all(conn)

    @api.post("/tasks", status_code=status.HTTP_201_CREATED)
    async def create_task(spec: TaskSpec) -> Task:
        async with connect() as conn:
            try:
                return await tasks.create(conn, spec)
            except psycopg.errors.UniqueViolation:
                raise HTTPException(
                    status.HTTP_409_CONFLICT, f"a task named {spec.name!r} exists"
                ) from None

    @api.get("/tasks/{ref}")
    async def get_task(ref: str) -> Task:
        async with connect() as conn:
            return await found(conn, ref)

    @api.put("/tasks/{ref}")
    async def replace_task(ref: str, spec: TaskSpec) -> Task:
        async with connect() as conn:
            task = await found(conn, ref)
            updated = await tasks.update(conn, task.id, spec)
            assert updated is not None  # noqa: S101 - found just before
            return updated

    @api.delete("/tasks/{ref}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_task(ref: str) -> Response:
        async with connect() as conn:
            if not await tasks.delete(conn, tasks.reference(ref)):
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no task {ref!r}")
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @api.post("/tasks/{ref}/{action}")
    async def task_action(
        ref: str, action: Literal["enable", "disable", "run"]
    ) -> Task:
        """Enable, disable, or run now (every worker runs a window within seconds)."""
        async with connect() as conn:
            if action == "run":
                task = await tasks.request_run(conn, tasks.reference(ref))
            else:
                task = await tasks.set_enabled(
                    conn, tasks.reference(ref), action == "enable"
                )
            if task is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no task {ref!r}")
            return task

    @api.post("/reads")
    async def on_demand_read(body: ReadRequest) -> dict[str, Any]:
        """Read one item now (召测); 504 on timeout, 404 when the terminal is offline."""
        if reader is None:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "reads unavailable"
            )
        try:
            target = Target(terminal=body.terminal, pn=body.pn)
            spec = ReadSpec.model_validate(body.model_dump(exclude={"terminal", "pn"}))
            result = await reader.read(target, spec)
        except ValueError as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)
            ) from None
        if not result.ok:
            code = {"timeout": 504, "offline": 404, "not_in_archive": 404}.get(
                result.error or "", 502
            )
            raise HTTPException(code, f"read failed: {result.error}")
        return result.as_dict()

    @api.post("/inspections", status_code=status.HTTP_202_ACCEPTED)
    async def start_inspection(body: InspectionRequest) -> dict[str, Any]:
        """Start a batch inspection (批量巡测); poll GET /inspections/{id}."""
        if reader is None or not dsn:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "no database configured"
            )
        try:
            inspection_id = await reader.start_inspection(
                body.targets, body.read, body.operator, body.concurrency
            )
        except OverflowError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
        return {"id": str(inspection_id), "total": len({t.label for t in body.targets})}

    @api.get("/inspections/{inspection_id}")
    async def inspection(
        inspection_id: uuid.UUID,
        limit: Annotated[int, Query(ge=0, le=10_000)] = 1000,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Progress (total, done, ok, failed, state) and a page of per-target results."""
        if reader is None or not dsn:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "no database configured"
            )
        out = await reader.inspection(inspection_id, limit=limit, offset=offset)
        if out is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no inspection {inspection_id}"
            )
        return out

    @api.get("/kpi/tasks/{ref}")
    async def task_kpi(
        ref: str,
        period: date | None = None,
        by: Literal["area", "terminal"] | None = None,
    ) -> list[dict[str, Any]]:
        """Collection success of a daily/monthly task for a period (default: latest).

        ``by=area`` gives the transformer-area rate (台区抄表率), ``by=terminal`` per
        terminal.
        """
        async with connect() as conn:
            task = await found(conn, ref)
            if period is None and task.kind in ("daily", "monthly"):
                period = periods(task.kind, datetime.now(tz).date(), 0)[0]
            try:
                return await kpi.success(conn, task, period or date.today(), by)
            except ValueError as exc:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)
                ) from None

    @api.get("/kpi/online")
    async def online() -> dict[str, Any]:
        """Terminal online rate (终端在线率) against the archive's active terminals."""
        async with connect() as conn:
            return await kpi.online_rate(conn)

    return api
