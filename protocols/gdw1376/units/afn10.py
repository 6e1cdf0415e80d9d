"""AFN 10H data forwarding (数据转发), Std-2013 §5.16 (tables 400-402, 405, 406).

F1 transparent forwarding (透明转发) carries a whole meter frame, usually DL/T 645,
to a terminal port and back; F9 asks the terminal to read one DI from a meter
(转发主站直接对电表的抄读数据命令). Layouts are taken from the standard text;
PROTOCOLS.md §1.11 has worked vectors (T09 down, T10 up).

F12/F13 (batch meter tasks) and the 2009-only F10/F11 are not declared.

Embedded 645 frames are decoded on request (:meth:`embedded`), never while the
1376.1 frame is decoded, and never raise: some terminals keep FE wake-up bytes in
the content, which are stripped first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from protocols import dlt645
from protocols.dlt645.frame import Version
from protocols.errors import LocalProtocolError, ProtocolError
from protocols.gdw1376.fields import BYTES, spec
from protocols.gdw1376.formats import A12, BIN1, BIN2, BIN4, Buffer, Format
from protocols.gdw1376.registry import AFN, down, unit, up

TRANSPARENT = 1
METER_READ = 9

#: D7-D5 of the communication control word (图51): code -> bits per second.
BAUD_RATES: Final = (300, 600, 1200, 2400, 4800, 7200, 9600, 19200)


def _embedded(content: bytes) -> dict[str, object]:
    try:
        return {"frame": dlt645.decode_frame(content.lstrip(b"\xfe"))}
    except ProtocolError as exc:
        return {"frame_error": exc}


@unit(down(AFN.FORWARD, TRANSPARENT), name="transparent forward (透明转发)")
@dataclass(slots=True)
class TransparentForward:
    """F1 downlink, table 401: port, serial settings, timeouts, k, content.

    The bit fields are the raw codes of the control word (透明转发通信控制字) and
    of the frame-timeout byte; the properties give their meaning.
    """

    port: int = spec(BIN1)  # 终端通信端口号, 1-31
    baud: int = spec(BIN1, bits=(7, 5))  # code 0-7, see BAUD_RATES
    two_stop_bits: int = spec(BIN1, bits=(4, 4))  # 0: 1 stop bit, 1: 2
    parity: int = spec(BIN1, bits=(3, 3))  # 0: none, 1: parity (有校验)
    odd_parity: int = spec(BIN1, bits=(2, 2))  # 0: even (偶), 1: odd (奇)
    data_bits: int = spec(BIN1, bits=(1, 0))  # code 0-3 = 5-8 bits
    timeout_in_seconds: int = spec(BIN1, bits=(7, 7))  # unit: 0 = 10 ms, 1 = 1 s
    frame_timeout: int = spec(BIN1, bits=(6, 0))  # 接收等待报文超时时间, 0-127
    byte_timeout: int = spec(BIN1)  # 接收等待字节超时时间, ×10 ms
    length: int = spec(BIN2)  # k
    content: bytes = spec(BYTES, length="length")

    @property
    def baud_rate(self) -> int:
        return BAUD_RATES[self.baud]

    @property
    def serial(self) -> str:
        """Data bits, parity and stop bits the usual way, e.g. ``"8E1"``."""
        parity = ("O" if self.odd_parity else "E") if self.parity else "N"
        return f"{self.data_bits + 5}{parity}{self.two_stop_bits + 1}"

    @property
    def frame_timeout_ms(self) -> int:
        return self.frame_timeout * (1000 if self.timeout_in_seconds else 10)

    @property
    def byte_timeout_ms(self) -> int:
        return self.byte_timeout * 10

    def embedded(self) -> dict[str, object]:
        """``{"frame": dlt645.Frame}`` or ``{"frame_error": ProtocolError}``."""
        return _embedded(self.content)

    @classmethod
    def of(cls, port: int, content: bytes, *, baud_rate: int = 2400,
           serial: str = "8E1", frame_timeout_ms: int = 60_000,
           byte_timeout_ms: int = 100) -> TransparentForward:  # fmt: skip
        """Build a unit from plain settings (645 meters: 2400 bps, 8E1)."""
        if baud_rate not in BAUD_RATES:
            raise LocalProtocolError(f"baud rate {baud_rate} is not in table 51")
        if len(serial) != 3:
            raise LocalProtocolError(f"serial format {serial!r} (e.g. '8E1')")
        bits, parity, stop = serial[0], serial[1], serial[2]
        if bits not in "5678" or parity not in "NEO" or stop not in "12":
            raise LocalProtocolError(f"serial format {serial!r} (e.g. '8E1')")
        if frame_timeout_ms <= 1270 and frame_timeout_ms % 10 == 0:
            in_seconds, timeout = 0, frame_timeout_ms // 10
        elif frame_timeout_ms % 1000 == 0 and frame_timeout_ms <= 127_000:
            in_seconds, timeout = 1, frame_timeout_ms // 1000
        else:
            raise LocalProtocolError(f"frame timeout {frame_timeout_ms} ms")
        if byte_timeout_ms % 10 or not 0 <= byte_timeout_ms <= 2550:
            raise LocalProtocolError(f"byte timeout {byte_timeout_ms} ms")
        return cls(
            port,
            BAUD_RATES.index(baud_rate),
            int(stop) - 1,
            int(parity != "N"),
            int(parity == "O"),
            int(bits) - 5,
            in_seconds,
            timeout,
            byte_timeout_ms // 10,
            len(content),
            bytes(content),
        )


@unit(up(AFN.FORWARD, TRANSPARENT), name="transparent forward reply (透明转发应答)")
@dataclass(slots=True)
class TransparentForwardReply:
    """F1 uplink, table 405: port, k, content (the meter's reply frame)."""

    port: int = spec(BIN1)
    length: int = spec(BIN2)  # k
    content: bytes = spec(BYTES, length="length")

    def embedded(self) -> dict[str, object]:
        """``{"frame": dlt645.Frame}`` or ``{"frame_error": ProtocolError}``."""
        return _embedded(self.content)


# --- F9 -----------------------------------------------------------------------------


class _AutoRoute(int):
    """Relay depth FFH: no relay route given, the terminal chooses (无指定中继路由).

    An ``int`` worth 0 so the relay list that follows is empty, but equal only to
    itself so that it is never confused with n = 0 (direct read, 直抄).
    """

    def __new__(cls) -> _AutoRoute:
        return super().__new__(cls, 0)

    def __repr__(self) -> str:
        return "AUTO_ROUTE"

    def __eq__(self, other: object) -> bool:
        return other is self

    def __ne__(self, other: object) -> bool:
        return other is not self

    def __hash__(self) -> int:
        return 0xFF

    def __reduce__(self) -> str:
        return "AUTO_ROUTE"


AUTO_ROUTE: Final = _AutoRoute()
MAX_RELAYS: Final = 32


def _depth_decode(b: Buffer, o: int) -> int:
    return AUTO_ROUTE if b[o] == 0xFF else b[o]


def _depth_encode(v: int) -> bytes:
    if v is AUTO_ROUTE:
        return b"\xff"
    if not 0 <= v <= MAX_RELAYS:
        raise LocalProtocolError(f"relay depth {v} outside 0-32 (or AUTO_ROUTE)")
    return bytes((v,))


#: 转发中继级数 n: 0-32 relays, FFH = terminal picks the route (AUTO_ROUTE).
RELAY_DEPTH: Final = Format(
    "relay depth", 1, _depth_decode, _depth_encode, "0-32, FF = auto", "", "bin"
)


class DiType(IntEnum):
    """D1-D0 of 转发直接抄读的数据标识类型."""

    DLT645_1997 = 0
    DLT645_2007 = 1


@unit(down(AFN.FORWARD, METER_READ), name="forward meter read (转发直接抄读命令)")
@dataclass(slots=True)
class ForwardMeterRead:
    """F9 downlink, table 402: port, relays, target, DI type, DI.

    The DI is 4 bytes, low byte first; a 1997 DI uses the low two bytes.
    """

    port: int = spec(BIN1)
    relay_depth: int = spec(RELAY_DEPTH)  # n, or AUTO_ROUTE for FFH
    relays: list[str | None] = spec(A12, count="relay_depth")
    target: str | None = spec(A12)  # 转发目标地址
    di_type: int = spec(BIN1, bits=(1, 0))  # DiType
    spare: int = spec(BIN1, bits=(7, 2))  # D7-D2 备用
    di: int = spec(BIN4)


class ForwardResult(IntEnum):
    """转发结果标志 (table 406)."""

    CANNOT_EXECUTE = 0  # 不能执行转发
    TIMEOUT = 1  # 转发接收超时
    RECEIVE_ERROR = 2  # 转发接收错误
    CONFIRM = 3  # 转发接收确认
    DENY = 4  # 转发接收否认
    DATA = 5  # 转发接收数据


@unit(up(AFN.FORWARD, METER_READ), name="forward meter read reply (直接抄读应答)")
@dataclass(slots=True)
class ForwardMeterReadReply:
    """F9 uplink, table 406: port, target, result, k+4, then DI (4) + content (k).

    ``data`` holds the DI and the content together, as the length byte counts them.
    """

    port: int = spec(BIN1)
    target: str | None = spec(A12)
    result: int = spec(BIN1)  # ForwardResult
    length: int = spec(BIN1)  # k + 4
    data: bytes = spec(BYTES, length="length")

    @property
    def di(self) -> int | None:
        return int.from_bytes(self.data[:4], "little") if len(self.data) >= 4 else None

    @property
    def content(self) -> bytes:
        return self.data[4:]

    def reading(self, version: Version = Version.V2007) -> dlt645.Interpretation:
        """The value through the 645 DI table (the reply does not say the edition)."""
        di = self.di
        if di is None:
            return dlt645.Interpretation(version, raw=self.data)
        if version is Version.V1997:
            di &= 0xFFFF
        return dlt645.interpret_value(di, self.content, version)
