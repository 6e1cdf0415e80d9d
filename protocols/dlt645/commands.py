"""DL/T 645 control codes, request and reply builders (PROTOCOLS.md §2.2).

Builders return :class:`~protocols.dlt645.frame.Frame` objects (DATA without the
0x33 offset); :func:`~protocols.dlt645.frame.encode_frame` makes the bytes.

Passwords and operator codes: the 645 password is ``PA P0 P1 P2`` (PA = level
密级, P0-P2 = password) and the operator code is ``C0 C1 C2 C3`` (操作者代码).
Both are opaque byte strings the meter compares as sent, so this module takes and
shows them as hex **in wire order** (after removing 0x33): the T17 trip frame
carries ``02 | 37 06 02 | 01 00 00 00``, i.e. level 2, password ``"370602"``,
operator ``"01000000"``. S10 takes passwords the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, IntFlag
from typing import Final

from protocols.dlt645.codecs import DATETIME
from protocols.dlt645.di import di_size
from protocols.dlt645.frame import (
    ABNORMAL_BIT,
    BROADCAST,
    FOLLOW_BIT,
    FUNC_MASK,
    UP_BIT,
    WILDCARD,
    Frame,
    Version,
    address_bytes,
)
from protocols.errors import LocalProtocolError, RemoteProtocolError


class Control2007(IntEnum):
    """DL/T 645-2007 master request control codes (S8 ``C_2007_CODE_*``; S9)."""

    SECURITY = 0x03  # 安全认证 (ESAM)
    BROADCAST_TIME = 0x08  # 广播校时, no reply
    READ = 0x11  # 读数据
    READ_FOLLOW = 0x12  # 读后续数据
    READ_ADDRESS = 0x13  # 读通信地址
    WRITE = 0x14  # 写数据
    WRITE_ADDRESS = 0x15  # 写通信地址
    FREEZE = 0x16  # 冻结命令
    CHANGE_BAUD = 0x17  # 更改通信速率
    CHANGE_PASSWORD = 0x18  # 修改密码
    CLEAR_DEMAND = 0x19  # 最大需量清零
    CLEAR_METER = 0x1A  # 电表清零
    CLEAR_EVENTS = 0x1B  # 事件清零
    RELAY_CONTROL = 0x1C  # 跳合闸、报警、保电


class Control1997(IntEnum):
    """DL/T 645-1997 control codes (S8 ``dlt645_1997_private.h``)."""

    READ = 0x01  # 读数据
    READ_FOLLOW = 0x02  # 读后续数据
    REREAD = 0x03  # 重读数据
    WRITE = 0x04  # 写数据
    BROADCAST_TIME = 0x08  # 广播校时
    WRITE_ADDRESS = 0x0A  # 写设备地址
    CHANGE_BAUD = 0x0C  # 更改通信速率
    CHANGE_PASSWORD = 0x0F  # 修改密码
    CLEAR_DEMAND = 0x10  # 最大需量清零


def reply_control(request: int, *, follow: bool = False, abnormal: bool = False) -> int:
    """The meter's control code answering ``request`` (e.g. 11 -> 91 / B1 / D1)."""
    c = UP_BIT | (request & FUNC_MASK)
    if abnormal:
        return c | ABNORMAL_BIT
    return c | FOLLOW_BIT if follow else c


class RelayCommand(IntEnum):
    """N1 of a 1C control command (PROTOCOLS.md §2.2)."""

    TRIP = 0x1A  # 拉闸
    CLOSE_ALLOWED = 0x1B  # 合闸允许
    CLOSE_DIRECT = 0x1C  # 直接合闸 (later amendment; not every meter)
    ALARM = 0x2A  # 报警
    ALARM_RELEASE = 0x2B  # 报警解除
    HOLD_POWER = 0x3A  # 保电
    HOLD_POWER_RELEASE = 0x3B  # 保电解除


#: Password level meaning "N1-N8 in plain text" for 1C (不带安全认证); 96/98 carry
#: ciphertext that only the master-side encryptor can produce.
PLAIN_LEVEL: Final = 0x02
CIPHER_LEVELS: Final = frozenset({0x96, 0x98})


class ErrorFlag(IntFlag):
    """Bits of the error word (错误信息字 ERR), S8 ``ERR_2007_*`` / ``ERR_1997_*``."""

    OTHER = 0x01  # 其他错误
    NO_DATA = 0x02  # 无请求数据
    UNAUTHORIZED = 0x04  # 密码错/未授权
    BAUD_UNCHANGEABLE = 0x08  # 通信速率不能更改
    YEAR_ZONES_EXCEEDED = 0x10  # 年时区数超
    DAY_PERIODS_EXCEEDED = 0x20  # 日时段数超
    TARIFFS_EXCEEDED = 0x40  # 费率数超


_FLAG_NAMES: Final = tuple((f, (f.name or "").lower()) for f in ErrorFlag)


@dataclass(frozen=True, slots=True)
class ErrorWord:
    """The 1-byte error word of an abnormal reply; ``raw`` is the wire value."""

    raw: int

    @property
    def flags(self) -> ErrorFlag:
        return ErrorFlag(self.raw & 0x7F)

    @property
    def names(self) -> list[str]:
        """Set flags as snake_case names, e.g. ``["no_data"]``; D7 is reserved."""
        return [name for flag, name in _FLAG_NAMES if self.raw & flag]

    def error(self) -> MeterRefused:
        """The exception for this refusal (carries the word as ``reply_code``)."""
        return MeterRefused(self)


class MeterRefused(RemoteProtocolError):
    """The meter answered with an abnormal reply (异常应答)."""

    reason = "meter_refused"

    def __init__(self, word: ErrorWord) -> None:
        super().__init__(f"meter refused: {', '.join(word.names) or 'no flag set'}")
        self.error_word = word
        self.reply_code = word.raw


# --- helpers -------------------------------------------------------------------------


def _hex(value: str, size: int, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise LocalProtocolError(f"{what} {value!r} is not hex") from None
    if len(raw) != size:
        raise LocalProtocolError(f"{what} {value!r} must be {size} bytes")
    return raw


def _di(di: int, version: Version) -> bytes:
    size = di_size(version)
    if not 0 <= di < 1 << (8 * size):
        raise LocalProtocolError(f"DI {di:#x} is wider than {size} bytes")
    return di.to_bytes(size, "little")


def authority(level: int, password: str, operator: str | None) -> bytes:
    """``PA P0 P1 P2 [C0 C1 C2 C3]``: level, password and operator, wire order."""
    if not 0 <= level <= 0xFF:
        raise LocalProtocolError(f"password level {level} is not a byte")
    out = bytes((level,)) + _hex(password, 3, "password")
    if operator is not None:
        out += _hex(operator, 4, "operator code")
    return out


# --- master requests -----------------------------------------------------------------


def read(address: str, di: int, *, blocks: int | None = None,
         start: datetime | None = None) -> Frame:  # fmt: skip
    """Read data (11H): DI, or DI + N [+ mm hh DD MM YY] for load records.

    ``blocks`` (N) and ``start`` (time of the first record) ask for load records
    (负荷记录).
    """
    data = _di(di, Version.V2007)
    if start is not None and blocks is None:
        raise LocalProtocolError("a start time needs a block count")
    if blocks is not None:
        if not 0 <= blocks <= 0xFF:
            raise LocalProtocolError(f"block count {blocks} is not a byte")
        data += bytes((blocks,))
        if start is not None:
            data += DATETIME.encode(start)[1:]  # mm hh DD MM YY
    return Frame(address, Control2007.READ, data)


def read_follow(address: str, di: int, seq: int) -> Frame:
    """Read follow-up data (12H): DI + frame sequence number."""
    if not 0 <= seq <= 0xFF:
        raise LocalProtocolError(f"SEQ {seq} is not a byte")
    return Frame(
        address, Control2007.READ_FOLLOW, _di(di, Version.V2007) + bytes((seq,))
    )


def write(address: str, di: int, value: bytes, *, password: str, operator: str,
          level: int = PLAIN_LEVEL) -> Frame:  # fmt: skip
    """Write data (14H): DI + PA P0 P1 P2 + C0..C3 + value bytes.

    ``value`` is the encoded value, e.g. ``di.encode_value(di, v)``.
    """
    data = _di(di, Version.V2007) + authority(level, password, operator) + value
    return Frame(address, Control2007.WRITE, data)


def broadcast_time(now: datetime) -> Frame:
    """Broadcast time sync (08H) to 999999999999: ss mm hh DD MM YY; no reply."""
    return Frame(BROADCAST, Control2007.BROADCAST_TIME, DATETIME.encode(now))


def read_address() -> Frame:
    """Read the communication address (13H) of the one meter on the bus (AA..AA)."""
    return Frame(WILDCARD, Control2007.READ_ADDRESS)


def freeze(address: str = BROADCAST, *, month: int | None = None,
           day: int | None = None, hour: int | None = None,
           minute: int | None = None) -> Frame:  # fmt: skip
    """Freeze (16H): mm hh DD MM, with 99 for every leading field left None.

    All None = freeze now (99999999, 瞬时冻结); month None = every month on ``day``
    (99DDhhmm); month and day None = daily (9999hhmm); only ``minute`` = hourly.
    """
    fields = (minute, hour, day, month)  # wire order
    out = bytearray(4)
    seen = False
    for i in (3, 2, 1, 0):  # from the month down: 99 may only lead
        v = fields[i]
        if v is None:
            if seen:
                raise LocalProtocolError("only leading freeze fields may be left out")
            out[i] = 0x99
            continue
        seen = True
        if not 0 <= v <= 99:
            raise LocalProtocolError(f"freeze field {v} is not two digits")
        out[i] = (v // 10) << 4 | v % 10
    return Frame(address, Control2007.FREEZE, bytes(out))


def relay_control(address: str, command: RelayCommand, valid_until: datetime, *,
                  password: str, operator: str,
                  level: int = PLAIN_LEVEL) -> Frame:  # fmt: skip
    """Relay / alarm / hold-power control (1CH), plain-text form (PA = 02).

    DATA = PA P0 P1 P2 · C0..C3 · N1 command · N2 reserved (00) · N3-N8 validity
    deadline ss mm hh DD MM YY (命令有效截止时间).
    """
    if level in CIPHER_LEVELS:
        raise LocalProtocolError("enciphered 1C needs the master encryptor")
    data = (
        authority(level, password, operator)
        + bytes((RelayCommand(command), 0))
        + DATETIME.encode(valid_until)
    )
    return Frame(address, Control2007.RELAY_CONTROL, data)


def read_1997(address: str, di: int) -> Frame:
    """DL/T 645-1997 read (01H) with a 2-byte DI."""
    return Frame(address, Control1997.READ, _di(di, Version.V1997), Version.V1997)


# --- meter replies (simulators, tests) -----------------------------------------------


def read_reply(address: str, di: int, value: bytes, *, follow: bool = False,
               seq: int | None = None,
               version: Version = Version.V2007) -> Frame:  # fmt: skip
    """Normal read reply: 91/B1 (2007) or 81/A1 (1997) with DI + value bytes.

    ``seq`` answers a read-follow-up request (92/B2: DI + value + SEQ).
    """
    v2007 = version is Version.V2007
    if seq is None:
        request = Control2007.READ if v2007 else Control1997.READ
        tail = b""
    else:
        request = Control2007.READ_FOLLOW if v2007 else Control1997.READ_FOLLOW
        tail = bytes((seq,))
    data = _di(di, version) + value + tail
    c = reply_control(request, follow=follow)
    return Frame(address, c, data, version)


def address_reply(address: str) -> Frame:
    """Reply to read address (93H): the meter's real address as data."""
    return Frame(
        address, reply_control(Control2007.READ_ADDRESS), address_bytes(address)
    )


def error_reply(address: str, request: int, error: int | ErrorFlag,
                version: Version = Version.V2007) -> Frame:  # fmt: skip
    """Abnormal reply (C | C0H, e.g. D1, DC) carrying the 1-byte error word."""
    word = int(error)
    if not 0 <= word <= 0xFF:
        raise LocalProtocolError(f"error word {word} is not a byte")
    return Frame(
        address, reply_control(request, abnormal=True), bytes((word,)), version
    )


def relay_reply(address: str) -> Frame:
    """Normal reply to 1CH: 9CH with no data."""
    return Frame(address, reply_control(Control2007.RELAY_CONTROL))
