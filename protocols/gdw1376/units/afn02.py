"""AFN 02H link interface detection (链路接口检测), Std-2013 §5.3.

F1 login, F2 logout and F3 heartbeat are sent by the terminal on p0. The 2013
heartbeat carries the terminal clock (A.1); the 2009 one carries nothing, and real
fleets mix both (PROTOCOLS.md §1.10), so the clock is optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocols.gdw1376.fields import spec
from protocols.gdw1376.formats import A1
from protocols.gdw1376.registry import AFN, no_data, unit, up

LOGIN = 1
LOGOUT = 2
HEARTBEAT = 3

no_data(up(AFN.LINK, LOGIN), name="login (登录)")
no_data(up(AFN.LINK, LOGOUT), name="logout (退出登录)")


@unit(up(AFN.LINK, HEARTBEAT), name="heartbeat (心跳)")
@dataclass(slots=True)
class Heartbeat:
    """F3 heartbeat: the terminal clock in 2013, nothing in 2009."""

    clock: datetime | None = spec(A1, optional=True)
