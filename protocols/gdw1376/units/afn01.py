"""AFN 01H reset (复位), Std-2013 §5.2, table 13.

Every reset Fn is addressed to p0 and carries no data unit. The downlink carries
PW (MAC + 12 reserved bytes, Std-2013 fig. 15), which the link layer handles; the
terminal answers with AFN 00H.
"""

from __future__ import annotations

from enum import IntEnum

from protocols.gdw1376.registry import AFN, down, no_data


class ResetFn(IntEnum):
    """Reset commands (Std-2013 table 13)."""

    HARDWARE = 1  # 硬件初始化
    DATA_AREA = 2  # 数据区初始化
    FACTORY = 3  # 参数及全体数据区初始化 (restore factory configuration)
    PARAMS_EXCEPT_COMM = 4  # 参数（除与系统主站通信有关的）及全体数据区初始化


no_data(down(AFN.RESET, int(ResetFn.HARDWARE)), name="hardware init (硬件初始化)")
no_data(down(AFN.RESET, int(ResetFn.DATA_AREA)), name="data area init (数据区初始化)")
no_data(
    down(AFN.RESET, int(ResetFn.FACTORY)),
    name="factory reset: parameters and all data (参数及全体数据区初始化)",
)
no_data(
    down(AFN.RESET, int(ResetFn.PARAMS_EXCEPT_COMM)),
    name="reset parameters except master comm, and all data "
    "(参数（除与系统主站通信有关的）及全体数据区初始化)",
)
