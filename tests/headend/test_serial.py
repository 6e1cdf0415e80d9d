"""The same session over a serial port, tested with a pseudo-terminal pair."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from datetime import datetime

from headend.config import Settings
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.events import LinkConfirmed, Request
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.terminal import TerminalConfig, TerminalSession
from protocols.gdw1376.units.afn0c import TerminalClock
from tests.headend.conftest import running


async def test_serial_terminal(make_settings: Callable[..., Settings]) -> None:
    master, slave = os.openpty()
    os.set_blocking(master, False)
    # A pseudo-terminal refuses parity settings (EINVAL), so 8N1 here; real ports use 8E1.
    settings = make_settings(
        serial=[{"url": os.ttyname(slave), "baudrate": 9600, "parity": "N"}]
    )
    loop = asyncio.get_running_loop()
    session = TerminalSession(TerminalConfig("4403", 42))
    events: asyncio.Queue[object] = asyncio.Queue()

    def readable() -> None:
        try:
            data = os.read(master, 4096)
        except BlockingIOError:
            return
        session.receive_data(data, time.time())
        for ev in session.events():
            events.put_nowait(ev)
            if isinstance(ev, Request):
                session.respond(
                    ev.frame,
                    [DataUnit(0, 2, TerminalClock(datetime(2024, 1, 2, 3, 4, 5)))],
                )
        out = session.data_to_send()
        if out:
            os.write(master, out)

    try:
        async with running(settings) as worker:
            loop.add_reader(master, readable)
            session.connect(time.time())
            os.write(master, session.data_to_send())
            assert await asyncio.wait_for(events.get(), 5) == LinkConfirmed(1)
            conns = worker.connections
            assert conns.find((0x4403, 42)) is not None
            assert conns.find((0x4403, 42)).peer.startswith("serial:/dev/pts/")  # type: ignore[union-attr]
            answer = await conns.request((0x4403, 42), AFN.CLASS1, [DataUnit(0, 2)])
            assert answer.units[0].data == TerminalClock(datetime(2024, 1, 2, 3, 4, 5))
            loop.remove_reader(master)
    finally:
        os.close(master)
        os.close(slave)
