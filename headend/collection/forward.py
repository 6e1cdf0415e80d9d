"""DL/T 645 reads through a concentrator's transparent forwarding (AFN10 F1, 透明转发).

Used by on-demand reads (召测) and by realtime tasks that name 645 data identifiers.
The archive gives each meter's address, port, baud rate and 645 version; the reply
frame the concentrator relays back is decoded, and energy registers are stored as
real-time readings (:data:`DI_ITEMS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from headend.ingest import (
    FORWARD_ACTIVE,
    FORWARD_REACTIVE,
    REVERSE_ACTIVE,
    REVERSE_REACTIVE,
)
from headend.pipeline import Answer
from protocols import dlt645
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn10 import TransparentForward

AnyConnection = psycopg.AsyncConnection[Any]
#: request(terminal key, afn, units, priority, timeout) -> the terminal's answer
Request = Callable[
    [tuple[int, int], int, list[DataUnit], int, float], Awaitable[Answer]
]

#: How long the concentrator waits for the meter's reply to a forwarded frame.
METER_TIMEOUT_MS: Final = 10_000
#: 645 archive protocol code of DL/T 645-1997 (AFN04 F10 table); 30 is 2007.
PROTOCOL_1997: Final = 1

#: DI (as printed) -> (data item, whether the value is a block: total + tariffs).
DI_ITEMS: Final[dict[str, tuple[int, bool]]] = {
    "00010000": (FORWARD_ACTIVE, False), "0001FF00": (FORWARD_ACTIVE, True),
    "00020000": (REVERSE_ACTIVE, False), "0002FF00": (REVERSE_ACTIVE, True),
    "00030000": (FORWARD_REACTIVE, False), "0003FF00": (FORWARD_REACTIVE, True),
    "00040000": (REVERSE_REACTIVE, False), "0004FF00": (REVERSE_REACTIVE, True),
    "9010": (FORWARD_ACTIVE, False), "901F": (FORWARD_ACTIVE, True),  # 1997
    "9020": (REVERSE_ACTIVE, False), "902F": (REVERSE_ACTIVE, True),
}  # fmt: skip


def data_identifier(text: str) -> str:
    """A DL/T 645 data identifier as printed: 8 hex digits (4 for 1997), upper case."""
    di = text.strip().upper()
    if len(di) not in (4, 8) or any(c not in "0123456789ABCDEF" for c in di):
        raise ValueError(f"data identifier {text!r}: 8 hex digits (4 for 1997)")
    return di


@dataclass(frozen=True, slots=True)
class MeterLink:
    """What forwarding needs to know about a meter (from the archive)."""

    address: str
    port: int
    baud_rate: int  # 0: the version's usual rate
    protocol: int  # AFN04 F10 code: 1 = 645-1997, 30 = 645-2007


@dataclass(slots=True)
class ForwardResult:
    """A forwarded read: the decoded meaning, or why there is none."""

    meaning: dlt645.Interpretation | None
    error: str | None = None


async def meter_links(
    conn: AnyConnection, meter_ids: Sequence[int]
) -> dict[int, MeterLink]:
    """{meter id: MeterLink} of active meters."""
    cur = await conn.execute(
        "SELECT id, address, coalesce(port, 1), coalesce(baud_rate, 0), "
        "coalesce(protocol, 30) FROM meter WHERE id = ANY(%s) AND status = 'active'",
        (list(meter_ids),),
    )
    return {
        int(mid): MeterLink(address, int(port), int(baud), int(protocol))
        async for mid, address, port, baud, protocol in cur
    }


def forward_unit(meter: MeterLink, di: str) -> DataUnit:
    """The AFN10 F1 unit that asks the meter for ``di``."""
    v1997 = meter.protocol == PROTOCOL_1997 or len(di) == 4
    code = int(di, 16)
    frame = (
        dlt645.read_1997(meter.address, code)
        if v1997
        else dlt645.read(meter.address, code)
    )
    unit = TransparentForward.of(
        meter.port or 1, dlt645.encode_frame(frame, preamble=4),
        baud_rate=meter.baud_rate or (1200 if v1997 else 2400),
        frame_timeout_ms=METER_TIMEOUT_MS,
    )  # fmt: skip
    return DataUnit(0, 1, unit)


async def read(request: Request, key: tuple[int, int], meter: MeterLink, di: str,
               priority: int, response_timeout: float) -> ForwardResult:  # fmt: skip
    """Forward one 645 read and decode the relayed reply (RequestError propagates)."""
    answer = await request(
        key, AFN.FORWARD, [forward_unit(meter, di)], priority, response_timeout
    )
    if not answer.ok:
        return ForwardResult(None, "denied")
    replies = [u.data for u in answer.units if u.data is not None]
    if not replies:
        return ForwardResult(None, "no_data")
    reply = replies[0].embedded().get("frame")
    if not isinstance(reply, dlt645.Frame):
        return ForwardResult(None, "meter_no_answer")
    meaning = dlt645.interpret(reply)
    if meaning.error_word is not None:
        return ForwardResult(meaning, f"meter_refused: {meaning.error_word.names}")
    if meaning.error is not None:
        return ForwardResult(meaning, f"protocol: {meaning.error}")
    return ForwardResult(meaning)


def register(meaning: dlt645.Interpretation) -> tuple[int, list[float | None]] | None:
    """(data item, [total, tariff 1..4]) of an energy reply, or None."""
    if meaning.di is None or meaning.values is None:
        return None
    entry = DI_ITEMS.get(meaning.di)
    if entry is None:
        return None
    item, block = entry
    (value,) = meaning.values.values()
    values = list(value) if block else [value]
    return item, [*values[:5], *([None] * (5 - len(values[:5])))]
