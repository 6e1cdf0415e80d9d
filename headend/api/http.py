"""HTTP routes: ``/healthz``, ``/metrics`` and the authenticated ``/api/v1``.

``/api/v1`` needs ``Authorization: Bearer <token>`` with the token from the
configuration (``HEADEND_API_TOKEN``); without it, or with no token configured, the
answer is 401.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    HTTPException,
    Query,
    Request,
    Response,
    status,
)
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from headend import metrics
from headend.api import anomalies, collection
from headend.cluster import Cluster
from headend.collection.reads import Reader
from headend.config import Settings, parse_address
from headend.decode import gdw1376_json
from headend.pipeline import Priority, RequestError
from protocols.errors import ProtocolError
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.frame import decode_units, encode_units

_bearer = HTTPBearer(auto_error=False)


class UnitRef(BaseModel):
    """A data unit identifier: measuring point and Fn."""

    pn: int = Field(ge=0, le=2040)
    fn: int = Field(ge=1, le=248)


class RawRequest(BaseModel):
    """A request to a terminal, as the protocol has it."""

    afn: int = Field(ge=0, le=0x10)
    units: list[UnitRef] = []
    units_hex: str | None = None
    priority: int = Field(int(Priority.ON_DEMAND), ge=0, le=3)
    timeout: float | None = Field(None, gt=0, le=300)


class CommEntry(BaseModel):
    """A communication-log entry: login, logout, replaced (IP change), offline..."""

    ts: float
    kind: str
    terminal: str | None
    peer: str
    detail: dict[str, Any]


class Terminal(BaseModel):
    """An online terminal."""

    address: str  # "A1-A2", e.g. "4403-00001"
    peer: str  # ip:port the terminal connected from
    login_at: float  # epoch seconds
    last_seen: float  # epoch seconds
    in_flight: int
    queued: int
    worker: int


def build_app(cluster: Cluster, settings: Settings, *, dsn: str | None = None,
              reader: Reader | None = None) -> FastAPI:  # fmt: skip
    app = FastAPI(
        title="headend",
        summary="Acquisition head-end (采集主站) operator API",
        version="1",
    )
    token = settings.api_token.get_secret_value() if settings.api_token else None

    def authorized(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if (
            token is None
            or credentials is None
            or not secrets.compare_digest(
                credentials.credentials.encode(), token.encode()
            )
        ):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a valid bearer token is required (HEADEND_API_TOKEN)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        conns = cluster.connections
        return {
            "status": "ok" if conns.accepting else "draining",
            "worker": cluster.index,
            "connections": len(conns.open),
            "online": len(conns.registry),
        }

    @app.get("/metrics")
    async def prometheus(request: Request) -> Response:
        cluster.connections.tally.flush()
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    v1 = APIRouter(prefix="/api/v1", dependencies=[Depends(authorized)])

    @v1.get("/terminals")
    async def terminals() -> list[Terminal]:
        """Online terminals, with address, peer, login time and last seen."""
        return [Terminal(**t) for t in await cluster.terminals()]

    @v1.get("/events")
    async def events(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[CommEntry]:
        """The newest communication-log entries of this worker (通信日志), newest last."""
        entries = list(cluster.connections.log)[-limit:]
        return [
            CommEntry(
                ts=e.ts, kind=e.kind, terminal=e.terminal, peer=e.peer, detail=e.detail
            )
            for e in entries
        ]

    @v1.post("/terminals/{address}/requests")
    async def raw_request(address: str, body: RawRequest) -> dict[str, Any]:
        """Send a 1376.1 request to a terminal (any worker) and return its answer.

        Units are either (pn, Fn) pairs for Fns that carry no data (AFN0C reads,
        AFN09, AFN0A queries...) or ``units_hex``: the DA/DT + data area as on the wire.
        """
        try:
            key = parse_address(address)
        except ValueError as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)
            ) from None
        try:
            if body.units_hex is not None:
                raw = bytes.fromhex(body.units_hex)
                units = decode_units(body.afn, 0, raw, 0, len(raw))
            else:
                units = [DataUnit(u.pn, u.fn) for u in body.units]
            encode_units(body.afn, 0, units)  # validates against the catalogue
        except (ValueError, ProtocolError) as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)
            ) from None
        try:
            answer = await cluster.request(
                key,
                body.afn,
                units,
                priority=body.priority,
                response_timeout=body.timeout,
            )
        except RequestError as exc:
            code = (
                404
                if exc.reason == "offline"
                else 504
                if exc.reason == "timeout"
                else 503
            )
            raise HTTPException(code, f"request failed: {exc.reason}") from None
        return {
            "kind": answer.kind,
            "reason": answer.reason or None,
            "frames": [gdw1376_json(f) for f in answer.frames],
        }

    v1.include_router(collection.router(dsn, reader, settings.timezone))
    if dsn:
        v1.include_router(anomalies.router(lambda: dsn))
    app.include_router(v1)
    app.state.cluster = cluster
    return app
