"""Serial transport: the same connection protocol over a serial port.

A concentrator on the master station's RS-232/485 (or a meter on an optical probe)
runs the very same session as a TCP terminal. Serial links use 8E1 by the standard
(Std-2013 §4.5.3); the port settings come from ``[[serial]]`` in the configuration.
"""

from __future__ import annotations

import asyncio

import serial
import serial_asyncio_fast

from headend.config import SerialPort
from headend.connections import Connections

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


async def open_serial(
    connections: Connections, port: SerialPort
) -> asyncio.BaseTransport:
    """Open the port and attach a terminal connection to it."""
    transport, _ = await serial_asyncio_fast.create_serial_connection(
        asyncio.get_running_loop(),
        connections.protocol,
        port.url,
        baudrate=port.baudrate,
        bytesize=serial.EIGHTBITS,
        parity=_PARITY[port.parity],
        stopbits=serial.STOPBITS_ONE,
    )
    return transport
