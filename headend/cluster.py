"""Reaching a terminal held by another worker process of the same machine.

With ``--workers N`` every worker accepts terminals on the shared port
(SO_REUSEPORT), so a request that arrives at one worker (API, CLI) may be for a
terminal another worker holds. Each worker listens on a Unix socket in the runtime
directory; a worker that does not hold the terminal asks the others, and the one that
does runs the request and sends back the answer frames. The messages are JSON lines
that carry frames in their wire form (hex), so nothing but the codec is shared.

Across machines the same role is played by MQTT per-worker topics: the terminal
directory (``terminal_link``) names the node and worker holding a terminal, and
:class:`headend.routing.RemoteRequests` carries the request there and the answer back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import structlog

from headend.config import format_address
from headend.connections import Connections
from headend.pipeline import Answer, Priority, RequestError
from headend.routing import LinkDirectory, RemoteError, RemoteRequests
from protocols.errors import ProtocolError
from protocols.gdw1376 import DataUnit, decode_frame
from protocols.gdw1376.frame import decode_units, encode_units

log = structlog.get_logger("headend.cluster")

MAX_MESSAGE: Final = 16 * 1024 * 1024  # bytes per IPC line (a bounded reader)
IPC_TIMEOUT: Final = 5.0  # seconds for a peer to say whether it holds a terminal


class Cluster:
    """This worker's connections plus its sibling workers."""

    def __init__(self, connections: Connections, index: int, workers: int,
                 runtime_dir: Path, node: str = "") -> None:  # fmt: skip
        self.connections = connections
        self.index = index
        self.workers = workers
        self.runtime_dir = runtime_dir
        self.node = node
        #: Set when there is a database (the directory) and a bus (the carrier).
        self.links: LinkDirectory | None = None
        self.remote: RemoteRequests | None = None
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    def socket_path(self, index: int) -> Path:
        return self.runtime_dir / f"worker-{index}.sock"

    async def start(self) -> None:
        if self.workers <= 1:
            return
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.socket_path(self.index)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._server = await asyncio.start_unix_server(
            self._serve, path, limit=MAX_MESSAGE
        )
        path.chmod(0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path(self.index).unlink()
        for task in list(self._handlers):
            task.cancel()

    # --- the API used by the operator interface ----------------------------------------

    async def terminals(self) -> list[dict[str, Any]]:
        """Every online terminal of every worker."""
        out = [dict(t, worker=self.index) for t in self.connections.terminals()]
        for reply in await self._ask_all({"op": "terminals"}, IPC_TIMEOUT):
            out.extend(reply.get("terminals", []))
        return out

    async def request(
        self,
        key: tuple[int, int],
        afn: int,
        units: Sequence[DataUnit],
        *,
        priority: int = Priority.ON_DEMAND,
        response_timeout: float | None = None,
    ) -> Answer:
        """Send a request to the terminal, wherever it is connected."""
        if self.connections.find(key) is not None or (
            self.workers <= 1 and self.remote is None
        ):
            return await self.connections.request(
                key, afn, units, priority=priority, response_timeout=response_timeout
            )
        message = {
            "op": "request",
            "a1": key[0],
            "a2": key[1],
            "afn": afn,
            "units": encode_units(afn, 0, list(units)).hex(),
            "priority": int(priority),
            "timeout": response_timeout,
        }
        budget = self._answer_budget(response_timeout)
        holder = None
        if self.links is not None:
            holder = await self.links.lookup(format_address(key))
        if holder is not None and holder[0] != self.node and self.remote is not None:
            try:
                reply = await self.remote.request(*holder, message, budget)
            except RemoteError as exc:
                raise RequestError(exc.reason, format_address(key)) from None
            if reply.get("found"):
                return self._answer(reply)
        replies: list[dict[str, Any]] = []
        if holder is not None and holder[0] == self.node and holder[1] != self.index:
            direct = await self._ask(holder[1], message, budget)
            replies = [direct] if direct is not None else []
        if not any(r.get("found") for r in replies):  # no directory, or it was stale
            replies = await self._ask_all(message, budget, first_found=True)
        for reply in replies:
            if reply.get("found"):
                return self._answer(reply)
        raise RequestError("offline", format_address(key))

    @staticmethod
    def _answer(reply: dict[str, Any]) -> Answer:
        if "error" in reply:
            raise RequestError(reply["error"])
        try:
            frames = tuple(decode_frame(bytes.fromhex(h)) for h in reply["frames"])
        except (ProtocolError, ValueError, KeyError, TypeError) as exc:
            raise RequestError("ipc", f"bad answer from a worker: {exc}") from None
        return Answer(reply["kind"], frames, reply.get("reason", ""))

    def _answer_budget(self, timeout: float | None) -> float:
        s = self.connections.session_config
        per_try = timeout or s.timeout
        total = sum(per_try * s.backoff**i for i in range(s.retries + 1))
        return total + IPC_TIMEOUT

    # --- IPC ---------------------------------------------------------------------------

    async def _ask_all(
        self, message: dict[str, Any], budget: float, *, first_found: bool = False
    ) -> list[dict[str, Any]]:
        peers = [i for i in range(self.workers) if i != self.index]
        if not peers:
            return []
        tasks = [
            asyncio.create_task(self._ask(i, message, budget), name=f"ipc-ask-{i}")
            for i in peers
        ]
        replies: list[dict[str, Any]] = []
        try:
            for next_done in asyncio.as_completed(tasks):
                reply = await next_done
                if reply is None:
                    continue
                replies.append(reply)
                if first_found and reply.get("found"):
                    break
        finally:
            for task in tasks:
                task.cancel()
        return replies

    async def _ask(
        self, index: int, message: dict[str, Any], budget: float
    ) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(budget):
                reader, writer = await asyncio.open_unix_connection(
                    self.socket_path(index), limit=MAX_MESSAGE
                )
                try:
                    writer.write(json.dumps(message).encode() + b"\n")
                    await writer.drain()
                    line = await reader.readline()
                finally:
                    writer.close()
            reply: dict[str, Any] = json.loads(line)
            return reply
        except (OSError, TimeoutError, ValueError, asyncio.LimitOverrunError) as exc:
            log.warning("worker_unreachable", worker=index, error=str(exc))
            return None

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            line = await reader.readline()
            reply = await self.handle(json.loads(line))
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            asyncio.LimitOverrunError,
        ) as exc:
            log.warning("ipc_bad_message", error=str(exc))
        finally:
            writer.close()
            if task is not None:
                self._handlers.discard(task)

    async def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Run one request message from another worker (IPC or bus) on this one."""
        if msg["op"] == "terminals":
            return {
                "terminals": [
                    dict(t, worker=self.index) for t in self.connections.terminals()
                ]
            }
        if msg["op"] != "request":
            return {"error": "unknown_op"}
        key = (int(msg["a1"]), int(msg["a2"]))
        if self.connections.find(key) is None:
            return {"found": False}
        afn = int(msg["afn"])
        raw = bytes.fromhex(msg["units"])
        units = decode_units(afn, 0, raw, 0, len(raw))
        try:
            answer = await self.connections.request(
                key,
                afn,
                units,
                priority=int(msg["priority"]),
                response_timeout=msg.get("timeout"),
            )
        except RequestError as exc:
            return {"found": True, "error": exc.reason}
        return {
            "found": True,
            "kind": answer.kind,
            "reason": answer.reason,
            "frames": [f.raw.hex() for f in answer.frames],
        }
