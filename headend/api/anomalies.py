"""Routes of data anomalies (数据异常): list, close, and detection of a day.

The caller mounts :func:`router` under ``/api/v1`` behind its own authentication.
Each request opens its own database connection (autocommit); an unreachable
database or a schema without ``data_anomaly`` answers 503.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from headend.collection import anomalies
from headend.collection.anomalies import MAX_LIMIT, MAX_OFFSET, Kind, UnknownArea

AnyConnection = psycopg.AsyncConnection[Any]
_AREA_CODE = r"^[0-9A-Za-z_-]{1,32}$"  # as transformer_area.code (schema 0002)


class Anomaly(BaseModel):
    """One finding, with the archive names operators look for."""

    id: int
    kind: Kind
    day: date  # the data day it concerns
    status: Literal["open", "closed"]
    detected_at: datetime
    closed_at: datetime | None
    detail: dict[str, Any]
    terminal_id: int | None
    terminal: str | None  # "A1-A2", e.g. "4403-00001"
    meter_id: int | None
    pn: int | None  # measuring point (测量点号)
    meter_address: str | None  # 通信地址
    transformer_area_id: int | None
    area: str | None  # transformer area (台区) code


class Detection(BaseModel):
    """What one detection run of a day inserted, per kind."""

    day: date
    inserted: dict[str, int] = Field(description="new findings per kind")


def router(dsn_provider: Callable[[], str]) -> APIRouter:
    """The routes; ``dsn_provider()`` names the database at each request."""
    api = APIRouter(tags=["anomalies"])

    @asynccontextmanager
    async def connect() -> AsyncIterator[AnyConnection]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                dsn_provider(), autocommit=True, connect_timeout=5
            )
        except psycopg.OperationalError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"database unavailable: {exc}"
            ) from None
        async with conn:
            try:
                yield conn
            except psycopg.errors.UndefinedTable:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    "the anomaly tables are missing; run the migrations "
                    "(headend db upgrade)",
                ) from None

    @api.get("/anomalies")
    async def list_anomalies(
        day: date | None = None,
        kind: Kind | None = None,
        area: Annotated[
            str | None, Query(pattern=_AREA_CODE, description="台区 code")
        ] = None,
        state: Annotated[
            Literal["open", "closed", "all"], Query(alias="status")
        ] = "open",
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> list[Anomaly]:
        """Findings, newest day first (by default the open ones)."""
        async with connect() as conn:
            try:
                rows = await anomalies.list_anomalies(
                    conn, day=day, kind=kind, area=area,
                    status=None if state == "all" else state, limit=limit,
                    offset=offset,
                )  # fmt: skip
            except UnknownArea as exc:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        return [Anomaly.model_validate(r) for r in rows]

    @api.post("/anomalies/{anomaly_id}/close")
    async def close_anomaly(anomaly_id: Annotated[int, Path(ge=1)]) -> Anomaly:
        """Close a finding (dealt with); closing a closed one changes nothing."""
        async with connect() as conn:
            if not await anomalies.close(conn, anomaly_id):
                raise HTTPException(
                    status.HTTP_404_NOT_FOUND, f"no anomaly {anomaly_id}"
                )
            row = await anomalies.get_anomaly(conn, anomaly_id)
        if row is None:  # deleted in between
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no anomaly {anomaly_id}")
        return Anomaly.model_validate(row)

    @api.post("/anomalies/detect")
    async def detect(day: date) -> Detection:
        """Run the detectors of one data day (idempotent: a rerun inserts nothing)."""
        async with connect() as conn:
            counts = await anomalies.detect_day(conn, day)
        return Detection(day=day, inserted=counts)

    return api
