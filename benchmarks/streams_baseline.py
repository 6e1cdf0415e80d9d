"""Baseline for the connection benchmark: a plain asyncio-Streams server.

The same codec and the same sans-IO master session as the head-end, but the textbook
way: ``asyncio.start_server`` and one coroutine per connection reading a
``StreamReader``. It confirms logins and heartbeats and holds the links, nothing more.
It exists so that ``benchmarks/server.py`` can measure its memory per connection beside
the head-end's in the same run.

Run: ``python -m benchmarks.streams_baseline --port P`` (stops on SIGTERM).
"""

from __future__ import annotations

import asyncio

from benchmarks.common import baseline_parser, run_on_headend_loop, serve_until_stopped
from protocols.gdw1376.session import MasterSession, SessionConfig

CONFIG = SessionConfig()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    session = MasterSession(CONFIG)
    loop = asyncio.get_running_loop()
    try:
        while data := await reader.read(4096):
            session.receive_data(data, loop.time())
            session.events()
            out = session.data_to_send()
            if out:
                writer.write(out)
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(host: str, port: int) -> None:
    server = await asyncio.start_server(handle, host, port, backlog=4096)
    await serve_until_stopped(server)


if __name__ == "__main__":
    args = baseline_parser(__doc__).parse_args()
    run_on_headend_loop(main(args.host, args.port))
