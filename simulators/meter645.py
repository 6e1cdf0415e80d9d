"""A simulated DL/T 645 meter (电能表), 2007 edition by default, 1997 optional.

The registers come from :mod:`simulators._model`: a pure function of the seed and
the instant asked about, so daily freezes (日冻结, at local 00:00: the frozen value
of day D is the register at D 00:00) and settlement-day freezes (结算日, the 1st of
the month at 00:00) need no stored history. The only state is the relay
(继电器) and its commands, keep-power (保电), the alarm flag and the clock offset
set by broadcast time sync (广播校时).

Opening the relay drops the instantaneous power and current to zero but, to keep
the registers a pure function of (seed, now), does not stop them growing.

Faults: ``zero_energy`` freezes the registers while the load stays on (the
wiring-error symptom "zero energy under load"); ``relay_fails`` acknowledges a trip
(and records it) while the relay stays closed, so status word 3 shows the relay
command "off" (D6) and the relay itself "on" (D4). The register faults strike at
local 00:00 on the first of every month (:func:`~simulators._model.fault_start`):
``register_reset`` clears every register then (电表清零: the day's frozen value falls
to 0), ``register_jump`` adds :data:`~simulators._model.JUMP` to the forward active
register (飞走; the meter's load is capped so the register stays in range).
``clock_drift`` (s) puts the meter's clock off; a broadcast time sync does not
cure it (it sets the offset of a healthy clock, the drift stays on top).

:meth:`Meter.answer` takes request bytes and returns reply bytes or None (not for
this meter, broadcast, or undecodable), as a meter on an RS-485 bus would.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Final, NamedTuple

from protocols import dlt645
from protocols.dlt645 import (
    BROADCAST,
    Control1997,
    Control2007,
    ErrorFlag,
    RelayCommand,
    Version,
)
from protocols.dlt645.commands import CIPHER_LEVELS
from protocols.errors import ProtocolError
from simulators._meter_di import read_value
from simulators._model import (
    JUMP_MAX_WATTS,
    LOAD_PERCENT,
    Kind,
    Registers,
    address_point,
    fault_start,
    faults_since_t0,
    jumped,
    local_datetime,
    meter_address,
    meter_seed,
    midnight,
    month_start,
    registers,
    since,
    tariff_at,
)

__all__ = [
    "Instant",
    "Kind",
    "Meter",
    "Registers",
    "address_point",
    "meter_address",
    "meter_seed",
]

V07: Final = Version.V2007
V97: Final = Version.V1997


class Instant(NamedTuple):
    """Instantaneous values (瞬时量); phase lists are (A, B, C), None when absent."""

    voltage: tuple[float | None, float | None, float | None]  # V
    current: tuple[float | None, float | None, float | None]  # A
    active: tuple[float, float | None, float | None, float | None]  # kW: total, A-C
    reactive: tuple[float, float | None, float | None, float | None]  # kvar
    apparent: tuple[float, float | None, float | None, float | None]  # kVA
    power_factor: float  # 0..1
    frequency: float  # Hz


def _phases3(total: float, phases: int) -> tuple[float, float | None, float | None,
                                                 float | None]:  # fmt: skip
    if phases == 1:
        return total, total, None, None
    each = round(total / 3, 4)
    return total, each, each, each


class Meter:
    """One simulated meter (see the module docstring)."""

    __slots__ = (
        "address",
        "alarm",
        "base",
        "clock_drift",
        "clock_offset",
        "command_open",
        "keep_power",
        "last_close",
        "last_trip",
        "phases",
        "preamble",
        "register_jump",
        "register_reset",
        "relay_fails",
        "relay_open",
        "seed",
        "version",
        "watts",
        "zero_energy",
    )

    def __init__(self, address: str, seed: int, *, version: Version = V07,
                 zero_energy: bool = False, relay_fails: bool = False,
                 register_reset: bool = False, register_jump: bool = False,
                 clock_drift: float = 0.0, preamble: int = 0) -> None:  # fmt: skip
        self.address: str = address
        self.seed: int = seed
        self.version: Version = version
        self.zero_energy: bool = zero_energy
        self.relay_fails: bool = relay_fails
        self.register_reset: bool = register_reset
        self.register_jump: bool = register_jump
        self.clock_drift: float = clock_drift
        self.preamble = preamble  # FE wake-up bytes before each reply
        three_phase = (seed >> 40) % 10 == 0  # one meter in ten
        self.phases: int = 3 if three_phase else 1
        self.base: int = 100_000 + seed % 4_900_000  # 1 000 - 50 000 kWh at T0
        self.watts: int = (150 + (seed >> 24) % 1350) * (4 if three_phase else 1)
        if register_jump:
            self.watts = min(self.watts, JUMP_MAX_WATTS)
        self.relay_open = False  # 继电器状态: True = off (断)
        self.command_open = False  # 继电器命令状态: True = trip commanded
        self.keep_power = False
        self.alarm = False
        self.last_trip: float | None = None
        self.last_close: float | None = None
        self.clock_offset = 0.0

    # --- registers -------------------------------------------------------------------

    def energy(self, kind: int, now: float) -> Registers:
        """Register values (total, tariffs 1-4) in hundredths of a kWh/kvarh."""
        watts = 0 if self.zero_energy else self.watts
        values = registers(self.base, watts, kind, now)
        if self.register_reset:
            return since(values, registers(self.base, watts, kind, fault_start(now)))
        if self.register_jump and kind == Kind.FORWARD:
            return jumped(values, faults_since_t0(now))
        return values

    def daily_frozen(self, day: date, kind: int = Kind.FORWARD) -> Registers:
        """Daily freeze (日冻结) of ``day``: the register at local 00:00 of ``day``."""
        return self.energy(kind, midnight(day))

    def monthly_frozen(self, year: int, month: int,
                       kind: int = Kind.FORWARD) -> Registers:  # fmt: skip
        """Monthly freeze (月冻结): the register at 00:00 on the month's first day."""
        return self.energy(kind, month_start(year, month))

    def clock(self, now: float) -> datetime:
        """The meter's own clock (local time plus any broadcast offset and drift)."""
        return local_datetime(now + self.clock_offset + self.clock_drift)

    def instant(self, now: float) -> Instant:
        seed = self.seed
        minute = int(now) // 60
        jitter = ((minute * 7919 + seed) % 21 - 10) / 200  # ±5 % around the tariff load
        pf = 0.80 + (seed >> 8) % 19 / 100
        p = 0.0
        if not self.relay_open:
            p = (
                self.watts
                * LOAD_PERCENT[tariff_at(now) - 1]
                / 100
                * (1 + jitter)
                / 1000
            )
        p = round(p, 4)
        volts = [
            round(220 + (((seed >> (16 + 4 * i)) + minute) % 13 - 6) * 0.4, 1)
            for i in range(self.phases)
        ]
        amps = [round(p * 1000 / self.phases / (v * pf), 3) for v in volts]
        q = round(p * math.tan(math.acos(pf)), 4)
        s = round(p / pf, 4)

        def pad(xs: list[float]) -> tuple[float | None, float | None, float | None]:
            full: list[float | None] = [*xs, None, None]
            return full[0], full[1], full[2]

        return Instant(pad(volts), pad(amps), _phases3(p, self.phases),
                       _phases3(q, self.phases), _phases3(s, self.phases), pf,
                       50.0)  # fmt: skip

    @property
    def stateful(self) -> bool:
        """True once a command has changed the meter from its derived state."""
        return (self.relay_open or self.command_open or self.keep_power or self.alarm
                or self.clock_offset != 0 or self.last_trip is not None
                or self.last_close is not None)  # fmt: skip

    def status_word(self, word: int) -> int:
        """Run status word (电表运行状态字) 1-7; word 3 D4 = relay off, D6 = command."""
        if word == 3:
            return (0x10 if self.relay_open else 0) | (0x40 if self.command_open else 0)
        return 0

    # --- relay control (1CH) ---------------------------------------------------------

    def relay(self, command: int, now: float) -> int | None:
        """Execute a 1C command; returns None, or the error word of a refusal."""
        if command == RelayCommand.TRIP:
            if self.keep_power:
                return int(ErrorFlag.OTHER)  # 保电: trips are refused
            self.command_open = True
            self.last_trip = now
            if not self.relay_fails:
                self.relay_open = True
        elif command in (RelayCommand.CLOSE_ALLOWED, RelayCommand.CLOSE_DIRECT):
            # Allow-close is modelled as the customer pressing the button at once.
            self._close(now)
        elif command == RelayCommand.HOLD_POWER:
            self.keep_power = True
            self._close(now)
        elif command == RelayCommand.HOLD_POWER_RELEASE:
            self.keep_power = False
        elif command in (RelayCommand.ALARM, RelayCommand.ALARM_RELEASE):
            self.alarm = command == RelayCommand.ALARM
        else:
            return int(ErrorFlag.OTHER)
        return None

    def _close(self, now: float) -> None:
        self.command_open = False
        if self.relay_open:
            self.relay_open = False
            self.last_close = now

    # --- DL/T 645 --------------------------------------------------------------------

    def matches(self, address: str) -> bool:
        """True when a frame for ``address`` is for this meter (A = any digit)."""
        if address == self.address:
            return True
        return len(address) == 12 and all(
            a in ("A", b) for a, b in zip(address, self.address, strict=True)
        )

    def answer(self, data: bytes, now: float) -> bytes | None:
        """Reply bytes to a request frame, or None (see the module docstring)."""
        try:
            frame = dlt645.decode_frame(data)
        except ProtocolError:
            return None
        reply = self.handle(frame, now)
        return None if reply is None else dlt645.encode_frame(reply, self.preamble)

    def handle(self, frame: dlt645.Frame, now: float) -> dlt645.Frame | None:
        if frame.up:
            return None
        func = frame.func
        if frame.address == BROADCAST:
            if func == Control2007.BROADCAST_TIME:
                self._time_sync(frame, now)
            return None
        if not self.matches(frame.address):
            return None
        if self.version is V97:
            return self._handle_1997(frame, now)
        if func == Control2007.READ:
            di = (
                int.from_bytes(frame.data[:4], "little") if len(frame.data) >= 4 else -1
            )
            value = self.read_value(di, now) if di >= 0 else None
            if value is None:
                return dlt645.error_reply(self.address, func, ErrorFlag.NO_DATA)
            return dlt645.read_reply(self.address, di, value)
        if func == Control2007.READ_ADDRESS:
            return dlt645.address_reply(self.address)
        if func == Control2007.RELAY_CONTROL:
            err = self._relay_frame(frame, now)
            if err is not None:
                return dlt645.error_reply(self.address, func, err)
            return dlt645.relay_reply(self.address)
        if func in (Control2007.WRITE, Control2007.SECURITY):
            return dlt645.error_reply(self.address, func, ErrorFlag.UNAUTHORIZED)
        if func in (Control2007.READ_FOLLOW, *range(0x15, 0x1C)):
            return dlt645.error_reply(self.address, func, ErrorFlag.OTHER)
        return None  # a 1997 code on a 2007 meter: no answer

    def _handle_1997(self, frame: dlt645.Frame, now: float) -> dlt645.Frame | None:
        func = frame.func
        if func == Control1997.READ:
            di = (
                int.from_bytes(frame.data[:2], "little") if len(frame.data) >= 2 else -1
            )
            value = self.read_value(di, now) if di >= 0 else None
            if value is None:
                return dlt645.error_reply(self.address, func, ErrorFlag.NO_DATA, V97)
            return dlt645.read_reply(self.address, di, value, version=V97)
        if func in (Control1997.READ_FOLLOW, Control1997.REREAD, Control1997.WRITE):
            return dlt645.error_reply(self.address, func, ErrorFlag.OTHER, V97)
        return None

    def _time_sync(self, frame: dlt645.Frame, now: float) -> None:
        when = dlt645.interpret(frame).values
        if when and isinstance(when.get("time"), datetime):
            self.clock_offset = (when["time"] - local_datetime(now)).total_seconds()

    def _relay_frame(self, frame: dlt645.Frame, now: float) -> int | None:
        found = dlt645.interpret(frame)
        values = found.values or {}
        if values.get("level") in CIPHER_LEVELS:
            return int(ErrorFlag.UNAUTHORIZED)  # no ESAM here: plain level 02 only
        command = values.get("command")
        until = values.get("valid_until")
        if found.error is not None or not isinstance(command, RelayCommand):
            return int(ErrorFlag.OTHER)
        if isinstance(until, datetime) and until < self.clock(now):
            return int(ErrorFlag.OTHER)  # the command has expired (命令有效截止时间)
        return self.relay(command, now)

    def read_value(self, di: int, now: float) -> bytes | None:
        """Value bytes of ``di`` (after the DI, 0x33 removed), None when unsupported."""
        return read_value(self, di, now)
