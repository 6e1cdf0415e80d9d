"""A concentrator's measuring points and meters (its RS-485 / carrier bus).

:class:`MeterTable` is AFN04 F10 (终端电能表/交流采样装置配置参数);
:class:`MeterBus` adds the meters behind it and AFN10 forwarding to them.

By default entry ``n`` is measuring point ``pn = n`` with the meter whose address
derives from the fleet index and ``pn`` (:func:`~simulators._model.meter_address`),
so a table of any size costs nothing until the master changes it. Entries the
master sets with AFN04 F10 override the derived ones by number; point 0 deletes
an entry (Std-2013 §5.5.1.3.10). Lookups cost O(1) unless the table has been
overridden, and then O(overridden entries) at most (≤ 2040).
"""

from __future__ import annotations

from typing import Final

from protocols import dlt645
from protocols.dlt645 import BROADCAST, WILDCARD, Version
from protocols.errors import ProtocolError
from protocols.gdw1376.units.afn04 import BaudCode, MeterConfig, MeterProtocol
from protocols.gdw1376.units.afn10 import (
    ForwardMeterRead,
    ForwardMeterReadReply,
    ForwardResult,
)
from simulators._model import address_point, meter_address, meter_seed
from simulators.meter645 import Meter

MAX_NUMBER: Final = 2040
NO_COLLECTOR: Final = "000000000000"


class MeterTable:
    """The F10 entries of one concentrator (see the module docstring)."""

    __slots__ = ("_numbers", "_overrides", "index", "meters", "port", "v1997_every")

    def __init__(self, index: int, meters: int, port: int, v1997_every: int) -> None:
        self.index = index
        self.meters = meters
        self.port = port
        self.v1997_every = v1997_every
        self._overrides: dict[int, MeterConfig | None] | None = None  # by number
        self._numbers: dict[int, int] = {}  # point -> number, overridden entries

    def default(self, number: int) -> MeterConfig | None:
        if not 1 <= number <= self.meters:
            return None
        protocol = (
            MeterProtocol.DLT645_1997 if self._is_1997(number)
            else MeterProtocol.DLT645_2007
        )  # fmt: skip
        return MeterConfig(number, number, BaudCode.B2400, self.port, protocol,
                           meter_address(self.index, number), bytes(6), 4, 2, 1,
                           NO_COLLECTOR, 0, 0)  # fmt: skip

    def _is_1997(self, pn: int) -> bool:
        return bool(self.v1997_every) and pn % self.v1997_every == 0

    def entry(self, number: int) -> MeterConfig | None:
        """The F10 entry of ``number`` (AFN04 F10 overrides the derived ones)."""
        if self._overrides is not None and number in self._overrides:
            return self._overrides[number]
        return self.default(number)

    def point(self, pn: int) -> MeterConfig | None:
        """The entry of measuring point ``pn``, if it has a meter."""
        cfg = self.entry(self._numbers.get(pn, pn))
        if cfg is None or cfg.point != pn or cfg.protocol == MeterProtocol.NONE:
            return None
        return cfg

    def has(self, pn: int) -> bool:
        """Does measuring point ``pn`` have a meter? (O(1) unless overridden)."""
        if self._overrides is None:
            return 1 <= pn <= self.meters
        return self.point(pn) is not None

    def meter_of(self, pn: int) -> tuple[str, bool] | None:
        """(address, speaks DL/T 645-1997) of the meter at ``pn``; fast when derived."""
        if self._overrides is None:
            if 1 <= pn <= self.meters:
                return meter_address(self.index, pn), self._is_1997(pn)
            return None
        cfg = self.point(pn)
        if cfg is None or cfg.address is None:
            return None
        return cfg.address, cfg.protocol == MeterProtocol.DLT645_1997

    def points(self) -> list[int]:
        """Every measuring point with a meter (for DA = FF 00, "all points")."""
        found = set(range(1, self.meters + 1))
        found.update(self._numbers)
        return sorted(pn for pn in found if self.point(pn) is not None)

    def point_of_address(self, address: str) -> int | None:
        """The point whose meter has ``address``; AA..AA names the first meter."""
        for pn, number in self._numbers.items():
            cfg = self.entry(number)
            if cfg is not None and cfg.address == address:
                return pn
        if address == WILDCARD:
            return min(self.points(), default=None)
        found = address_point(address)
        if found is None or found[0] != self.index:
            return None
        cfg = self.point(found[1])
        return found[1] if cfg is not None and cfg.address == address else None

    def set(self, entries: list[MeterConfig]) -> bool:
        """Apply AFN04 F10 entries; False (nothing changed) if any is out of range."""
        if any(not 1 <= e.number <= MAX_NUMBER or e.point > MAX_NUMBER
               for e in entries):  # fmt: skip
            return False
        if self._overrides is None:
            self._overrides = {}
        for e in entries:
            self._overrides[e.number] = e if e.point else None
        self._numbers = {e.point: n for n, e in self._overrides.items() if e}
        return True


class MeterBus:
    """The meters of one concentrator: derived on demand, kept once commanded.

    A meter object is built per request from its table entry and seed (a few µs);
    only meters whose state a command changed (relay, keep-power, clock) are kept,
    so memory grows with the meters touched by control, not with the fleet.

    Faulty meters are named by point (0: none): zero energy, relay that fails,
    register reset and jump (:mod:`simulators.meter645`), and a clock ``clock_drift``
    seconds off.
    """

    __slots__ = ("_kept", "clock_drift", "clock_drift_point", "clock_offset", "index",
                 "jump_point", "negative_step_point", "relay_fails_point", "table",
                 "zero_energy_point")  # fmt: skip

    def __init__(self, table: MeterTable, zero_energy_point: int = 0,
                 relay_fails_point: int = 0, *, negative_step_point: int = 0,
                 jump_point: int = 0, clock_drift_point: int = 0,
                 clock_drift: float = 0.0) -> None:  # fmt: skip
        self.table = table
        self.index = table.index
        self.zero_energy_point = zero_energy_point
        self.relay_fails_point = relay_fails_point
        self.negative_step_point = negative_step_point
        self.jump_point = jump_point
        self.clock_drift_point = clock_drift_point
        self.clock_drift = clock_drift
        self.clock_offset = 0.0  # from a forwarded broadcast time sync
        self._kept: dict[int, Meter] | None = None

    def register_fault(self, pn: int) -> int:
        """Which register fault point ``pn`` has: 0 none, 1 zero, 2 reset, 3 jump.

        Part of the key of cached frozen answers: the faults change the values.
        """
        if pn == self.zero_energy_point:
            return 1
        if pn == self.negative_step_point:
            return 2
        return 3 if pn == self.jump_point else 0

    def meter(self, pn: int) -> Meter | None:
        """The meter at measuring point ``pn``, or None."""
        if self._kept is not None and pn in self._kept:
            return self._kept[pn]
        found = self.table.meter_of(pn)
        if found is None:
            return None
        address, v1997 = found
        m = Meter(address, meter_seed(self.index, pn),
                  version=Version.V1997 if v1997 else Version.V2007,
                  zero_energy=pn == self.zero_energy_point,
                  relay_fails=pn == self.relay_fails_point,
                  register_reset=pn == self.negative_step_point,
                  register_jump=pn == self.jump_point,
                  clock_drift=self.clock_drift if pn == self.clock_drift_point
                  else 0.0)  # fmt: skip
        m.clock_offset = self.clock_offset
        return m

    def keep(self, pn: int, m: Meter) -> None:
        if m.stateful:
            if self._kept is None:
                self._kept = {}
            self._kept[pn] = m

    def transparent(self, content: bytes, now: float) -> bytes:
        """AFN10 F1: the meter's reply to a forwarded 645 frame (b"": silence)."""
        try:
            request = dlt645.decode_frame(content.lstrip(b"\xfe"))
        except ProtocolError:
            return b""
        if request.address == BROADCAST:
            probe = Meter(BROADCAST, 0)
            probe.handle(request, now)
            self.clock_offset = probe.clock_offset
            for kept in (self._kept or {}).values():
                kept.handle(request, now)
            return b""
        pn = self.table.point_of_address(request.address)
        m = None if pn is None else self.meter(pn)
        if pn is None or m is None:
            return b""
        reply = m.handle(request, now)
        self.keep(pn, m)
        return b"" if reply is None else dlt645.encode_frame(reply, m.preamble)

    def meter_read(self, read: ForwardMeterRead, now: float) -> ForwardMeterReadReply:
        """AFN10 F9: read one DI from the target meter (转发直接抄读)."""
        target = read.target or ""
        pn = self.table.point_of_address(target)
        m = None if pn is None else self.meter(pn)
        di = read.di if read.di_type else read.di & 0xFFFF
        di_bytes = di.to_bytes(4, "little")
        if m is None:
            return ForwardMeterReadReply(read.port, target, ForwardResult.TIMEOUT, 4,
                                         di_bytes)  # fmt: skip
        value = m.read_value(di, now)
        if value is None:
            return ForwardMeterReadReply(read.port, target, ForwardResult.DENY, 4,
                                         di_bytes)  # fmt: skip
        return ForwardMeterReadReply(read.port, target, ForwardResult.DATA,
                                     4 + len(value), di_bytes + value)  # fmt: skip
