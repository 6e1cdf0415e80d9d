"""Baseline for the connection benchmark: a plain asyncio-Streams server.

The same codec and the same sans-IO master session as the head-end, but the textbook
way: ``asyncio.start_server`` and one coroutine per connection reading a
``StreamReader``. It confirms logins and heartbeats and holds the links, nothing more.
It exists so that ``benchmarks/server.py`` can measure its memory per connection beside
the head-end's in the same run.

Run: ``python -m benchmarks.streams_baseline --port P`` (stops on SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

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
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    from headend.app import event_loop_factory  # the same loop as the head-end

    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(main(args.host, args.port))
