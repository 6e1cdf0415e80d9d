"""A simulated concentrator (集中器) speaking Q/GDW 1376.1 from the terminal side.

It drives a :class:`~protocols.gdw1376.terminal.TerminalSession` (login, heartbeat,
framing, multi-frame split, the answer cache for repeated PSEQs) and answers the
session's :class:`~protocols.gdw1376.events.Request` events with :meth:`handle`:

=========  ===================================================================
AFN 04     store parameters (F1 heartbeat, F3 master address, F10 meters, any
           other Fn kept as sent), record ERC3, confirm
AFN 0A     F1, F3, F10 from state; other Fns as last set; nothing known: deny
AFN 05     F1 trip / F2 allow close a control round (trip denied under
           keep-power, ERC5 recorded), F25/F33 keep-power on/off, F31 time
           sync (ERC41); every other command: confirm
AFN 09     F1 version information
AFN 0C     p0: F2 clock, F7 event counters; points: F25, F27, F33, F129, F161,
           F162
AFN 0D     daily F1/F161, monthly F17/F177, curves F81/F89/F101 (``_readings``)
AFN 0E     F1/F2 events Pm..Pn (``_events``)
AFN 10     F1 transparent forwarding to the meter named in the 645 frame, F9
           forwarded DI read
other      deny
=========  ===================================================================

One response unit per requested (pn, Fn); unknown points and Fns are left out, and
a request that leaves nothing is denied. Measuring points p1..pN carry meters
whose addresses and seeds derive from the fleet index and pn
(:func:`~simulators._model.meter_address`), so nothing is stored per meter until
a command changes its state: a request costs O(points asked), never O(meters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Final

from protocols.errors import ProtocolError
from protocols.gdw1376.frame import ALL_POINTS, DataUnit, Frame, da_of, dt_of
from protocols.gdw1376.registry import AFN
from protocols.gdw1376.terminal import TerminalConfig, TerminalSession
from protocols.gdw1376.units.afn0c import EventCounters, TerminalClock
from protocols.gdw1376.units.afn0e import (
    ChangedUnit,
    ClockSync,
    EventRequest,
    ParameterChange,
    PowerOffOn,
    RemoteTrip,
)
from protocols.gdw1376.units.afn04 import (
    MasterAddress,
    MeterConfigQuery,
    MeterConfigs,
    UplinkCommParams,
)
from protocols.gdw1376.units.afn05 import ControlFn, KeepPowerOn, TimeSync
from protocols.gdw1376.units.afn09 import TerminalVersion
from protocols.gdw1376.units.afn10 import (
    ForwardMeterRead,
    TransparentForward,
    TransparentForwardReply,
)
from simulators._events import IMPORTANT, NORMAL, EventLog
from simulators._model import (
    UTC_OFFSET,
    local_datetime,
    meter_seed,
)
from simulators._points import MeterBus, MeterTable
from simulators._readings import (
    SHARED_CACHE,
    AnswerCache,
    class1,
    class2,
    raw_unit,
    unit,
)
from simulators.meter645 import Meter

DEFAULT_APN: Final = "CMNET"
#: What a terminal with ``wrong_parameters`` reports (AFN0A F3) until it is set.
WRONG_IP: Final = "10.0.0.1"
WRONG_APN: Final = "CMIOT"
NO_BACKUP: Final = "0.0.0.0"  # noqa: S104 - an unset backup master, not a bind
_OVERHEAD: Final = 16 + 4  # link + AUX, one DA/DT
_MAX_PARAMS: Final = 512
DATA, CONFIRM, DENY = "data", "confirm", "deny"


@dataclass(frozen=True, slots=True)
class ConcentratorConfig:
    """Identity, meters and parameters of one simulated concentrator."""

    index: int = 0  # position in the fleet: meter addresses and seeds derive from it
    a1: str = "4403"
    a2: int = 1
    meters: int = 8  # measuring points p1..pN, one meter each
    version: int = 2013  # 2013: heartbeat carries the clock
    heartbeat_interval: float = 60.0
    master_ip: str = "127.0.0.1"
    master_port: int = 9000
    apn: str = DEFAULT_APN
    wrong_parameters: bool = False
    zero_energy_point: int = 0  # 0 = none
    relay_fails_point: int = 0  # 0 = none
    negative_step_point: int = 0  # register cleared monthly (电表清零); 0 = none
    jump_point: int = 0  # register jumps monthly (飞走); 0 = none
    clock_drift_point: int = 0  # meter whose clock is meter_clock_drift off; 0 = none
    meter_clock_drift: float = 0.0  # s, + ahead
    terminal_clock_drift: float = 0.0  # s the terminal clock (AFN0C F2) is ahead
    meter_1997_every: int = 0  # every k-th point speaks DL/T 645-1997; 0 = none
    port: int = 31  # terminal comm port of the meters (31: carrier)
    max_l1: int = 1024
    confirm_timeout: float = 10.0
    retries: int = 3


class Concentrator:
    """One simulated concentrator (see the module docstring)."""

    __slots__ = (
        "_keep_power_until",
        "_master",
        "_params",
        "_rounds",
        "bus",
        "cache",
        "config",
        "events",
        "session",
        "table",
    )

    def __init__(self, config: ConcentratorConfig, now: float,
                 cache: AnswerCache | None = SHARED_CACHE) -> None:  # fmt: skip
        self.config = config
        self.cache = cache
        # A drifting terminal clock is a terminal in another "zone": AFN0C F2, the
        # 2013 heartbeat and event times show it, until a time sync (AFN05 F31).
        self.session = TerminalSession(TerminalConfig(
            config.a1, config.a2, config.version, config.heartbeat_interval,
            config.confirm_timeout, config.retries, config.max_l1,
            utc_offset=UTC_OFFSET + config.terminal_clock_drift))  # fmt: skip
        self.events = EventLog()
        down = 60 + meter_seed(config.index, 0) % 3600  # the outage before power-on
        on = local_datetime(now).replace(second=0)
        off = local_datetime(now - down).replace(second=0)
        self.events.add(IMPORTANT, 14, PowerOffOn(off, on))  # ERC14 停/上电
        self.session.set_event_counters(self.events.counters)
        self._master: MasterAddress | None = None
        self._params: dict[tuple[int, int], object] | None = None
        self.table = MeterTable(config.index, config.meters, config.port,
                                config.meter_1997_every)  # fmt: skip
        self.bus = MeterBus(self.table, config.zero_energy_point,
                            config.relay_fails_point,
                            negative_step_point=config.negative_step_point,
                            jump_point=config.jump_point,
                            clock_drift_point=config.clock_drift_point,
                            clock_drift=config.meter_clock_drift)  # fmt: skip
        self._rounds = 0  # tripped control rounds, bit i = round i+1
        self._keep_power_until = 0.0

    def new_session(self) -> TerminalSession:
        """A fresh session for a new connection, keeping config and event counters.

        A new TCP connection starts a new link: no half-read frame, PFC or answer
        cache may leak from the old one.
        """
        old = self.session
        self.session = TerminalSession(old.config)
        self.session.set_event_counters(old.ec)
        return self.session

    # --- meters ----------------------------------------------------------------------

    def meter(self, pn: int) -> Meter | None:
        """The meter at measuring point ``pn``, or None."""
        return self.bus.meter(pn)

    # --- requests --------------------------------------------------------------------

    def handle(self, frame: Frame, now: float) -> str:
        """Answer one request through the session: "data", "confirm" or "deny"."""
        handler = _HANDLERS.get(frame.afn)
        if handler is None or not frame.ok:
            self.session.deny(frame)
            return DENY
        return handler(self, frame, now)

    def _respond(self, frame: Frame, units: list[DataUnit]) -> str:
        if not units:
            self.session.deny(frame)
            return DENY
        self.session.respond(frame, units)
        return DATA

    def _record(self, importance: int, erc: int, event: object) -> None:
        self.events.add(importance, erc, event)
        self.session.set_event_counters(self.events.counters)

    def _set(self, frame: Frame, now: float) -> str:
        changed = []
        for u in frame.units:
            data = u.data
            if u.fn == 1 and isinstance(data, UplinkCommParams):
                if data.heartbeat_period:
                    cfg = self.session.config
                    interval = 60.0 * data.heartbeat_period
                    self.session.config = replace(cfg, heartbeat_interval=interval)
            elif u.fn == 3 and isinstance(data, MasterAddress):
                self._master = data
            elif (
                u.fn == 10
                and isinstance(data, MeterConfigs)
                and not self.table.set(data.meters)
            ):
                self.session.deny(frame)
                return DENY
            if self._params is None:
                self._params = {}
            if len(self._params) >= _MAX_PARAMS and (u.pn, u.fn) not in self._params:
                self.session.deny(frame)
                return DENY
            self._params[(u.pn, u.fn)] = data
            (da1, da2), (dt1, dt2) = da_of(u.pn), dt_of(u.fn)
            changed.append(ChangedUnit(da1 | da2 << 8, dt1 | dt2 << 8))
        clock = self.session.clock(now).replace(second=0)
        self._record(IMPORTANT, 3, ParameterChange(clock, frame.msa, changed))
        self.session.confirm(frame)
        return CONFIRM

    def uplink_params(self) -> UplinkCommParams:
        """AFN04 F1 as last set, the heartbeat period always the one in force."""
        minutes = max(1, min(255, round(self.session.config.heartbeat_interval / 60)))
        stored = (self._params or {}).get((0, 1))
        if isinstance(stored, UplinkCommParams):
            return replace(stored, heartbeat_period=minutes)
        return UplinkCommParams(0, 0, 30, 3, 0, 0, 0, minutes)

    def master_address(self) -> MasterAddress:
        if self._master is not None:
            return self._master
        c = self.config
        if c.wrong_parameters:
            return MasterAddress(WRONG_IP, c.master_port + 1, NO_BACKUP, 0, WRONG_APN)
        return MasterAddress(c.master_ip, c.master_port, NO_BACKUP, 0, c.apn)

    def _query(self, frame: Frame, now: float) -> str:
        out: list[DataUnit] = []
        for u in frame.units:
            if u.fn == 1:
                out.append(unit(AFN.QUERY_PARAM, 1, 0, self.uplink_params()))
            elif u.fn == 3:
                out.append(unit(AFN.QUERY_PARAM, 3, 0, self.master_address()))
            elif u.fn == 10 and isinstance(u.data, MeterConfigQuery):
                out += self._meter_configs(u.data.numbers)
            elif self._params is not None and (u.pn, u.fn) in self._params:
                try:
                    out.append(unit(AFN.QUERY_PARAM, u.fn, u.pn,
                                    self._params[(u.pn, u.fn)]))  # fmt: skip
                except ProtocolError:
                    continue
        return self._respond(frame, out)

    def _meter_configs(self, numbers: list[int]) -> list[DataUnit]:
        found = [c for c in map(self.table.entry, numbers) if c is not None]
        per_unit = max(1, (self.config.max_l1 - _OVERHEAD - 2) // 27)
        return [
            unit(AFN.QUERY_PARAM, 10, 0,
                 MeterConfigs(len(found[i : i + per_unit]), found[i : i + per_unit]))
            for i in range(0, len(found), per_unit)
        ]  # fmt: skip

    def _control(self, frame: Frame, now: float) -> str:
        for u in frame.units:
            if u.fn == ControlFn.REMOTE_TRIP:
                if self._keep_power_until > now or not 1 <= u.pn <= 8:
                    self.session.deny(frame)
                    return DENY
                self._rounds |= 1 << (u.pn - 1)
                clock = self.session.clock(now).replace(second=0)
                self._record(IMPORTANT, 5, RemoteTrip(clock, 1 << (u.pn - 1), None,
                                                      None))  # fmt: skip
            elif u.fn == ControlFn.ALLOW_CLOSE and 1 <= u.pn <= 8:
                self._rounds &= ~(1 << (u.pn - 1))
            elif u.fn == ControlFn.KEEP_POWER_ON and isinstance(u.data, KeepPowerOn):
                d = u.data.duration
                self._keep_power_until = now + d * 1800 if d else float("inf")
            elif u.fn == ControlFn.KEEP_POWER_OFF:
                self._keep_power_until = 0.0
            elif u.fn == ControlFn.TIME_SYNC and isinstance(u.data, TimeSync):
                self._time_sync(u.data, now)
        self.session.confirm(frame)
        return CONFIRM

    @property
    def tripped_rounds(self) -> int:
        return self._rounds

    def keep_power(self, now: float) -> bool:
        return self._keep_power_until > now

    def _time_sync(self, sync: TimeSync, now: float) -> None:
        if sync.clock is None:
            return
        before = self.session.clock(now)
        offset = (sync.clock - local_datetime(now)).total_seconds()
        cfg = self.session.config
        self.session.config = replace(cfg, utc_offset=UTC_OFFSET + offset)
        self._record(NORMAL, 41, ClockSync(0, 0, before, self.session.clock(now)))

    def _config(self, frame: Frame, now: float) -> str:
        c = self.config
        out = [
            unit(AFN.CONFIG, 1, 0, TerminalVersion(
                "SIMU", f"{c.a2:08d}"[-8:], "1.00", date(2024, 1, 1), "",
                "12.X" if c.version >= 2013 else "09.X", "1.00", date(2024, 1, 1)))
            for u in frame.units if u.fn == 1
        ]  # fmt: skip
        return self._respond(frame, out)

    def _expand(self, units: list[DataUnit]) -> Iterable[tuple[int, DataUnit]]:
        for u in units:
            if u.pn == ALL_POINTS:
                for pn in self.table.points():
                    yield pn, u
            else:
                yield u.pn, u

    def _class1(self, frame: Frame, now: float) -> str:
        out: list[DataUnit] = []
        for pn, u in self._expand(frame.units):
            if pn == 0:
                if u.fn == 2:
                    clock = self.session.clock(now)
                    out.append(unit(AFN.CLASS1, 2, 0, TerminalClock(clock)))
                elif u.fn == 7:
                    out.append(unit(AFN.CLASS1, 7, 0,
                                    EventCounters(*self.events.counters)))  # fmt: skip
                continue
            m = self.meter(pn)
            found = None if m is None else class1(m, pn, u.fn, now)
            if found is not None:
                out.append(found)
        return self._respond(frame, out)

    def _class2(self, frame: Frame, now: float) -> str:
        out: list[DataUnit] = []
        for pn, u in self._expand(frame.units):
            found = class2(self.bus, pn, u.fn, u.data, now, self.cache)
            if found is not None:
                out.append(found)
        return self._respond(frame, out)

    def _class3(self, frame: Frame, now: float) -> str:
        out: list[DataUnit] = []
        for u in frame.units:
            if u.fn not in (IMPORTANT, NORMAL) or not isinstance(u.data, EventRequest):
                continue
            ec1, ec2 = self.events.counters
            budget = self.config.max_l1 - _OVERHEAD - 4
            end, records = self.events.records(u.fn, u.data.pm, u.data.pn, budget)
            raw = bytes((ec1, ec2, u.data.pm, end)) + b"".join(records)
            out.append(raw_unit(0, u.fn, raw))
            if u.fn == IMPORTANT and end == ec1:
                self.session.set_event_counters(None)  # all important events read
            break  # the record list runs to the end: one unit per frame
        return self._respond(frame, out)

    def _forward(self, frame: Frame, now: float) -> str:
        out: list[DataUnit] = []
        for u in frame.units:
            if isinstance(u.data, TransparentForward):
                reply = self.bus.transparent(u.data.content, now)
                out.append(unit(AFN.FORWARD, 1, u.pn, TransparentForwardReply(
                    u.data.port, len(reply), reply)))  # fmt: skip
            elif isinstance(u.data, ForwardMeterRead) and u.data.target is not None:
                out.append(unit(AFN.FORWARD, 9, u.pn, self.bus.meter_read(u.data, now)))
        return self._respond(frame, out)


_HANDLERS: Final[dict[int, Callable[[Concentrator, Frame, float], str]]] = {
    AFN.SET_PARAM: Concentrator._set,
    AFN.QUERY_PARAM: Concentrator._query,
    AFN.CONTROL: Concentrator._control,
    AFN.CONFIG: Concentrator._config,
    AFN.CLASS1: Concentrator._class1,
    AFN.CLASS2: Concentrator._class2,
    AFN.CLASS3: Concentrator._class3,
    AFN.FORWARD: Concentrator._forward,
}
