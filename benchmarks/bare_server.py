"""Floor for the heartbeat CPU benchmark: the least a Python server can do per beat.

The same event loop as the head-end (uvloop) and one ``asyncio.Protocol`` per link,
but no session, no checks and no bookkeeping: each read is taken to be one link test
(login or heartbeat) and answered with the AFN00 F1 confirm built by ``struct``. What
it costs per heartbeat is the event loop's wake-up, the socket system calls and the
smallest possible Python callback. ``benchmarks/server.py`` runs it against the same
fleet in the same run, so the head-end's own share is the difference.

It writes ``heartbeats`` to ``--stats`` once a second (logins are not counted).
Run: ``python -m benchmarks.bare_server --port P --stats FILE`` (stops on SIGTERM).
"""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

from benchmarks.common import baseline_parser, run_on_headend_loop, serve_until_stopped
from protocols.gdw1376.build import link_reply

_HEAD = struct.Struct("<6xBHHBBB2xB")  # C, A1, A2, A3, AFN, SEQ, DT1 (after DA)
_HEARTBEAT_DT1 = 0x04  # F3


class Bare(asyncio.Protocol):
    beats = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        _, a1, a2, a3, _, seq, dt1 = _HEAD.unpack_from(data)
        self.transport.write(link_reply(a1, a2, a3, seq & 0x0F))
        if dt1 == _HEARTBEAT_DT1:
            Bare.beats += 1


def dump_stats(loop: asyncio.AbstractEventLoop, stats: Path) -> None:
    stats.write_text(f"{Bare.beats}\n")  # a few bytes to tmpfs, once a second
    loop.call_later(1.0, dump_stats, loop, stats)


async def main(host: str, port: int, stats: Path) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Bare, host, port, backlog=4096)
    dump_stats(loop, stats)
    await serve_until_stopped(server)


if __name__ == "__main__":
    parser = baseline_parser(__doc__)
    parser.add_argument("--stats", type=Path, required=True)
    args = parser.parse_args()
    run_on_headend_loop(main(args.host, args.port, args.stats))
