"""AFN 00H confirm / deny (确认/否认), Std-2013 §5.1 and appendix D."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from protocols.gdw1376.fields import TO_END, spec
from protocols.gdw1376.formats import BIN1, BIN2, bytes_format
from protocols.gdw1376.registry import AFN, both, no_data, unit


class ConfirmError(IntEnum):
    """Appendix D error codes carried by F3."""

    OK = 0  # 正确
    OTHER = 1  # 其他错误
    DUPLICATE_METER_ADDRESS = 2  # 表地址重复


no_data(both(AFN.CONFIRM, 1), name="all confirm (全部确认)")
no_data(both(AFN.CONFIRM, 2), name="all deny (全部否认)")


@dataclass(slots=True)
class UnitVerdict:
    """One confirmed or denied data unit identifier: DA, DT and the ERR code."""

    da: int = spec(BIN2)
    dt: int = spec(BIN2)
    err: int = spec(BIN1)


@unit(both(AFN.CONFIRM, 3), name="per-unit confirm/deny (按数据单元标识确认和否认)")
@dataclass(slots=True)
class PerUnitConfirm:
    """F3: the AFN being answered, then DA DT ERR per unit (Std-2013 §5.1.3.3)."""

    afn: int = spec(BIN1)
    verdicts: list[UnitVerdict] = spec(UnitVerdict, count=TO_END)


@unit(both(AFN.CONFIRM, 4), name="hardware security error (硬件安全认证错误应答)")
@dataclass(slots=True)
class SecurityError:
    """F4 (2013): error type (1 signature, 2 ciphertext, 3 symmetric MAC) + 16 bytes."""

    error_type: int = spec(BIN1)
    data: bytes = spec(bytes_format(16))
