"""From decoded data units to rows for the writer.

A table maps each supported (AFN, Fn) to a function that turns one data unit into
rows of one time-series table. Values come out of the codec already scaled (kWh,
kvarh, kW, V, A); an absent value (EE fill) is stored as NULL. Terminal clocks are
local time: naive datetimes from the protocol are read in ``timezone``
(China Standard Time by default).

An energy register is one row: the total and tariffs 1-4 (尖峰平谷). Mapped today:
daily frozen energy (AFN0D F1, F2, F161-F168), monthly frozen energy (AFN0D F17, F18,
F177-F184), current energy registers (AFN0C F33, F34, F129-F136), power / voltage /
current (AFN0C F25) and meter relay state (AFN0C F161). Other units are ignored by
ingest (they are still returned to callers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from headend.storage.directory import ArchiveUnavailable, Directory
from headend.storage.spool import Row
from headend.storage.tables import BY_ADDRESS, TABLES
from headend.storage.writer import Writer
from protocols.gdw1376 import DataUnit
from protocols.gdw1376.formats import YearMonth
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.units.afn0d import DENSITY_MINUTES

SCHEDULED, RECOLLECT, ON_DEMAND, REPORT = 1, 2, 3, 4

# data_item ids of the energy registers (schema/0001_foundation.sql): one row carries
# the total and the time-of-use tariffs 1-4.
FORWARD_ACTIVE, REVERSE_ACTIVE, FORWARD_REACTIVE, REVERSE_REACTIVE = 1, 2, 3, 4
Q_REACTIVE: Final = {1: 5, 2: 6, 3: 7, 4: 8}
POWER_ITEMS: Final = (
    ("active_power", 30), ("active_power_a", 31), ("active_power_b", 32),
    ("active_power_c", 33), ("reactive_power", 34), ("power_factor", 35),
    ("voltage_a", 36), ("voltage_b", 37), ("voltage_c", 38), ("current_a", 39),
    ("current_b", 40), ("current_c", 41), ("apparent_power", 42),
)  # fmt: skip
RELAY_CLOSED, CLOCK_OFFSET = 50, 51
TARIFFS: Final = 4

#: (item, total, tariff 1..4): one register of one meter
Register = tuple[
    int, float | None, float | None, float | None, float | None, float | None
]
#: publish(table, terminal "A1-A2", rows as column -> value)
Publish = Callable[[str, str, list[dict[str, Any]]], object]
Extract = Callable[[Any], tuple[Any, datetime | None, list[Register]]]


def _register(item: int, values: Sequence[float | None]) -> Register:
    """Total and the first four tariffs; a meter with fewer tariffs gets NULLs."""
    padded = [*values[: TARIFFS + 1], *([None] * (TARIFFS + 1 - len(values)))]
    return (item, padded[0], padded[1], padded[2], padded[3], padded[4])


def _single(item: int, value: float | None) -> Register:
    return (item, value, None, None, None, None)


def _one_register(item: int) -> Extract:
    return lambda d: (
        getattr(d, "td", None),
        d.read_time,
        [_register(item, d.readings)],
    )


def _energy_set(active: int, reactive: int, qa: int, qb: int, qa_attr: str,
                qb_attr: str) -> Extract:  # fmt: skip
    """Extractor of one direction's energy set: active, reactive and two quadrants."""

    def extract(d: Any) -> tuple[Any, datetime | None, list[Register]]:
        return (
            getattr(d, "td", None),
            d.read_time,
            [
                _register(active, d.active),
                _register(reactive, d.reactive),
                _register(qa, getattr(d, qa_attr)),
                _register(qb, getattr(d, qb_attr)),
            ],
        )

    return extract


_forward_set = _energy_set(FORWARD_ACTIVE, FORWARD_REACTIVE, Q_REACTIVE[1],
                           Q_REACTIVE[4], "q1_reactive", "q4_reactive")  # fmt: skip
_reverse_set = _energy_set(REVERSE_ACTIVE, REVERSE_REACTIVE, Q_REACTIVE[2],
                           Q_REACTIVE[3], "q2_reactive", "q3_reactive")  # fmt: skip


def _power(d: Any) -> tuple[Any, datetime | None, list[Register]]:
    return (
        None,
        d.read_time,
        [_single(item, getattr(d, name)) for name, item in POWER_ITEMS],
    )


def _relay(d: Any) -> tuple[Any, datetime | None, list[Register]]:
    # AFN0C F161: 0x11 closed (通电), 0x00 open (断电)
    state = None if d.state not in (0x00, 0x11) else float(d.state == 0x11)
    return None, d.read_time, [_single(RELAY_CLOSED, state)]


# (AFN, Fn) -> (table, extractor)
DAILY: Final = "reading_daily"
MONTHLY: Final = "reading_monthly"
INSTANT: Final = "reading_instant"
_REGISTER_FNS: Final = {  # Fn offset in each family -> register
    0: FORWARD_ACTIVE, 1: FORWARD_REACTIVE, 2: REVERSE_ACTIVE, 3: REVERSE_REACTIVE,
    4: Q_REACTIVE[1], 5: Q_REACTIVE[2], 6: Q_REACTIVE[3], 7: Q_REACTIVE[4],
}  # fmt: skip
MAP: Final[dict[tuple[int, int], tuple[str, Extract]]] = {
    (AFN.CLASS2, 1): (DAILY, _forward_set),
    (AFN.CLASS2, 2): (DAILY, _reverse_set),
    (AFN.CLASS2, 17): (MONTHLY, _forward_set),
    (AFN.CLASS2, 18): (MONTHLY, _reverse_set),
    # F161-F168 daily, F177-F184 monthly, AFN0C F129-F136 current: one register each
    **{
        (AFN.CLASS2, 161 + k): (DAILY, _one_register(r))
        for k, r in _REGISTER_FNS.items()
    },
    **{
        (AFN.CLASS2, 177 + k): (MONTHLY, _one_register(r))
        for k, r in _REGISTER_FNS.items()
    },
    **{
        (AFN.CLASS1, 129 + k): (INSTANT, _one_register(r))
        for k, r in _REGISTER_FNS.items()
    },
    (AFN.CLASS1, 25): (INSTANT, _power),
    (AFN.CLASS1, 33): (INSTANT, _forward_set),
    (AFN.CLASS1, 34): (INSTANT, _reverse_set),
    (AFN.CLASS1, 161): (INSTANT, _relay),
}


CURVE: Final = "reading_curve"
#: AFN0D curve Fn -> data item of its points (reading_curve); the curves whose
#: quantity has no data item (e.g. F95 zero-sequence current) are not stored.
CURVE_ITEMS: Final[dict[int, int]] = {
    81: 30, 82: 31, 83: 32, 84: 33, 85: 34,  # active power total, A, B, C; reactive
    89: 36, 90: 37, 91: 38,  # voltage A, B, C
    92: 39, 93: 40, 94: 41,  # current A, B, C
    101: FORWARD_ACTIVE, 102: FORWARD_REACTIVE, 103: REVERSE_ACTIVE,
    104: REVERSE_REACTIVE,  # energy register readings (示值)
    105: 35,  # power factor
    145: Q_REACTIVE[1], 146: Q_REACTIVE[4], 147: Q_REACTIVE[2], 148: Q_REACTIVE[3],
}  # fmt: skip


def storable(afn: int, fn: int) -> bool:
    """Whether the head-end stores what AFN/Fn answers."""
    return (afn, fn) in MAP or (afn == AFN.CLASS2 and fn in CURVE_ITEMS)


def reading_table(afn: int, fn: int) -> str | None:
    """The reading table an AFN/Fn answer goes to, or None."""
    if afn == AFN.CLASS2 and fn in CURVE_ITEMS:
        return CURVE
    entry = MAP.get((afn, fn))
    return None if entry is None else entry[0]


class Ingest:
    """Turns data units from one terminal into rows and hands them to the writer.

    Rows are keyed by archive ids, which the directory resolves (cached). When the
    archive cannot be asked — the database is down — the rows go out keyed by the
    terminal address and pn instead (``<table>_by_address``), are spooled like any
    batch, and the database resolves them when it returns: no reading waits for the
    archive and none is lost.
    """

    def __init__(self, writer: Writer, directory: Directory,
                 timezone: str = "Asia/Shanghai",
                 publish: Publish | None = None) -> None:  # fmt: skip
        self.writer = writer
        self.directory = directory
        self.tz = ZoneInfo(timezone)
        #: Where readings go besides the database (the MQTT bus), if anywhere.
        self.publish = publish

    def _readings(
        self, afn: int, units: Iterable[DataUnit], received: datetime
    ) -> Iterator[tuple[str, int, tuple[Any, ...]]]:
        """(table, pn, (item, key, total, t1..t4, read_at)) of every storable value."""
        tz = self.tz
        for unit in units:
            entry = MAP.get((afn, unit.fn))
            if entry is None or unit.data is None:
                continue
            table, extract = entry
            when, read_time, values = extract(unit.data)
            read_at = read_time.replace(tzinfo=tz) if read_time is not None else None
            if table == INSTANT:
                key: Any = read_at or received
            else:
                key = _period(when)
                if key is None:
                    continue  # a frozen value without its day cannot be stored
            for item, total, t1, t2, t3, t4 in values:
                yield table, unit.pn, (item, key, total, t1, t2, t3, t4, read_at)

    def _curves(
        self, afn: int, units: Iterable[DataUnit]
    ) -> Iterator[tuple[int, int, datetime, float, int]]:
        """(pn, item, point time, value, density minutes) of every curve point."""
        if afn != AFN.CLASS2:
            return
        tz = self.tz
        for unit in units:
            item = CURVE_ITEMS.get(unit.fn)
            data = unit.data
            if item is None or data is None or data.td_start is None:
                continue
            minutes = DENSITY_MINUTES.get(data.density)
            if minutes is None:
                continue  # no freeze (0) or a reserved density
            start = data.td_start.replace(tzinfo=tz)
            step = timedelta(minutes=minutes)
            for i, value in enumerate(data.values):
                if value is not None:
                    yield unit.pn, item, start + i * step, value, minutes

    def rows(self, afn: int, units: Iterable[DataUnit], meters: dict[int, int],
             terminal_id: int, source: int, received: datetime) -> dict[str, list[Row]]:  # fmt: skip
        """Rows per table for units already resolved to meter ids (no IO)."""
        out: dict[str, list[Row]] = {}
        for table, pn, (item, key, total, t1, t2, t3, t4, read_at) in self._readings(
            afn, units, received
        ):
            meter = meters.get(pn)
            if meter is None:
                continue
            if table == INSTANT:  # no read_at column: the read time is the key
                row: Row = (meter, item, key, total, t1, t2, t3, t4, received,
                            terminal_id, source)  # fmt: skip
            else:
                row = (meter, item, key, total, t1, t2, t3, t4, read_at, received,
                       terminal_id, source)  # fmt: skip
            out.setdefault(table, []).append(row)
        for pn, item, ts, value, minutes in self._curves(afn, units):
            meter = meters.get(pn)
            if meter is not None:
                out.setdefault(CURVE, []).append(
                    (meter, item, ts, value, minutes, received, terminal_id, source)
                )
        return out

    def rows_by_address(self, terminal: tuple[str, int], afn: int,
                        units: Iterable[DataUnit], source: int,
                        received: datetime) -> dict[str, list[Row]]:  # fmt: skip
        """The same rows keyed by terminal address and pn (``<table>_by_address``)."""
        a1, a2 = terminal
        out: dict[str, list[Row]] = {}
        for table, pn, (item, key, total, t1, t2, t3, t4, read_at) in self._readings(
            afn, units, received
        ):
            if table == INSTANT:
                row: Row = (a1, a2, pn, item, key, total, t1, t2, t3, t4, received,
                            source)  # fmt: skip
            else:
                row = (a1, a2, pn, item, key, total, t1, t2, t3, t4, read_at,
                       received, source)  # fmt: skip
            out.setdefault(BY_ADDRESS[table].name, []).append(row)
        for pn, item, ts, value, minutes in self._curves(afn, units):
            out.setdefault(BY_ADDRESS[CURVE].name, []).append(
                (a1, a2, pn, item, ts, value, minutes, received, source)
            )
        return out

    async def store(self, terminal: tuple[str, int], afn: int, units: Sequence[DataUnit],
                    source: int, received: datetime | None = None,
                    known: tuple[int, dict[int, int]] | None = None) -> int:  # fmt: skip
        """Resolve ids, build the rows and submit them; returns the rows submitted.

        ``known``: (terminal id, {pn: meter id}) when the caller has them already (a
        collection window resolved its targets); points missing there are looked up.
        """
        stored = [u for u in units if storable(afn, u.fn) and u.data is not None]
        if not stored:
            return 0
        received = received or datetime.now(UTC)
        try:
            terminal_id, meters = await self._resolve(
                terminal, {u.pn for u in stored}, known
            )
        except (ArchiveUnavailable, LookupError):
            # The database resolves (and, if need be, adds) the terminal and points
            # when the address-keyed rows arrive.
            tables = self.rows_by_address(terminal, afn, stored, source, received)
            pns: dict[int, int] = {}
        else:
            tables = self.rows(afn, stored, meters, terminal_id, source, received)
            pns = {mid: pn for pn, mid in meters.items()}
        total = 0
        for table, rows in tables.items():
            await self.writer.submit(table, rows)
            total += len(rows)
            if self.publish is not None:
                self._publish(terminal, table, rows, pns)
        return total

    async def _resolve(self, terminal: tuple[str, int], points: set[int],
                       known: tuple[int, dict[int, int]] | None,
                       ) -> tuple[int, dict[int, int]]:  # fmt: skip
        """(terminal id, {pn: meter id}): from ``known`` when it covers the points."""
        if known is not None and points <= known[1].keys():
            return known
        terminal_id = await self.directory.terminal_id(*terminal)
        return terminal_id, await self.directory.meter_ids(terminal_id, sorted(points))

    async def store_registers(
        self, terminal: tuple[str, int],
        registers: Sequence[tuple[int, int, Sequence[float | None]]], source: int,
        received: datetime | None = None,
        known: tuple[int, dict[int, int]] | None = None,
    ) -> int:  # fmt: skip
        """Real-time register values read outside 1376.1 (645 forwarding).

        ``registers``: (pn, data item, [total, tariff 1..4]); the read time is
        ``received``.
        """
        if not registers:
            return 0
        received = received or datetime.now(UTC)
        try:
            terminal_id, meters = await self._resolve(
                terminal, {pn for pn, _, _ in registers}, known
            )
        except (ArchiveUnavailable, LookupError):
            a1, a2 = terminal
            table = BY_ADDRESS[INSTANT].name
            rows: list[Row] = [(a1, a2, pn, item, received, *values, received, source)
                               for pn, item, values in registers]  # fmt: skip
            pns: dict[int, int] = {}
        else:
            table = INSTANT
            rows = [(meters[pn], item, received, *values, received, terminal_id, source)
                    for pn, item, values in registers if pn in meters]  # fmt: skip
            pns = {mid: pn for pn, mid in meters.items()}
        await self.writer.submit(table, rows)
        if self.publish is not None:
            self._publish(terminal, table, rows, pns)
        return len(rows)

    def _publish(self, terminal: tuple[str, int], table: str, rows: list[Row],
                 pns: dict[int, int]) -> None:  # fmt: skip
        """Rows as column → value, with the pn beside the archive meter id."""
        assert self.publish is not None  # noqa: S101 - checked by the caller
        spec = TABLES[table]
        columns = spec.columns
        out = [dict(zip(columns, row, strict=True)) for row in rows]
        if not spec.target:
            for item in out:
                item["pn"] = pns.get(item["meter_id"])
        self.publish(spec.target or table, f"{terminal[0]}-{terminal[1]:05d}", out)

    def store_nowait(self, terminal: tuple[str, int], afn: int,
                     units: Sequence[DataUnit], source: int,
                     received: datetime | None = None) -> int:  # fmt: skip
        """Submit without waiting for anything (address-keyed; spooled past the bound)."""
        received = received or datetime.now(UTC)
        total = 0
        for table, rows in self.rows_by_address(
            terminal, afn, units, source, received
        ).items():
            self.writer.submit_nowait(table, rows)
            total += len(rows)
            if self.publish is not None:
                self._publish(terminal, table, rows, {})
        return total


def _period(when: Any) -> date | None:
    if isinstance(when, date):
        return when
    if isinstance(when, YearMonth):
        return date(when.year, when.month, 1)
    return None
