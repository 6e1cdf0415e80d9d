"""Event codes ERC1-ERC41 (事件代码ERC), Std-2013 appendix B table B.1 and §5.14.2.5.

ERC40 and ERC41 are the 2013 additions; ERC42-ERC64 are reserved.
"""

from __future__ import annotations

from typing import Final

#: ERC -> (English name, Chinese name).
ERC_NAMES: Final[dict[int, tuple[str, str]]] = {
    1: ("data initialisation and version change", "数据初始化和版本变更记录"),
    2: ("parameter loss", "参数丢失记录"),
    3: ("parameter change", "参数变更记录"),
    4: ("state input change", "状态量变位记录"),
    5: ("remote-control trip", "遥控跳闸记录"),
    6: ("power-control trip", "功控跳闸记录"),
    7: ("energy-control trip", "电控跳闸记录"),
    8: ("meter parameter change", "电能表参数变更"),
    9: ("current loop fault", "电流回路异常"),
    10: ("voltage loop fault", "电压回路异常"),
    11: ("phase sequence fault", "相序异常"),
    12: ("meter clock drift", "电能表时间超差"),
    13: ("meter fault", "电表故障信息"),
    14: ("terminal power off/on", "终端停/上电事件"),
    15: ("harmonic over-limit alarm", "谐波越限告警"),
    16: ("DC analogue over-limit", "直流模拟量越限记录"),
    17: ("voltage/current unbalance over-limit", "电压/电流不平衡度越限记录"),
    18: ("capacitor switching self-lock", "电容器投切自锁记录"),
    19: ("purchase parameter setting", "购电参数设置记录"),
    20: ("message authentication error", "消息认证错误记录"),
    21: ("terminal fault", "终端故障记录"),
    22: ("active energy differential over-limit", "有功总电能量差动越限事件记录"),
    23: ("energy-control alarm", "电控告警事件记录"),
    24: ("voltage over-limit", "电压越限记录"),
    25: ("current over-limit", "电流越限记录"),
    26: ("apparent power over-limit", "视在功率越限记录"),
    27: ("meter reading decrease", "电能表示度下降记录"),
    28: ("energy over tolerance", "电能量超差记录"),
    29: ("meter running fast", "电能表飞走记录"),
    30: ("meter stopped", "电能表停走记录"),
    31: ("RS-485 meter-reading failure", "终端485抄表失败事件记录"),
    32: ("terminal-master traffic over threshold", "终端与主站通信流量超门限事件记录"),
    33: ("meter status word change", "电能表运行状态字变位事件记录"),
    34: ("CT fault", "CT异常事件记录"),
    35: ("unknown meter found", "发现未知电表事件记录"),
    36: (
        "control output loop switch state change",
        "控制输出回路开关接入状态量变位记录",
    ),
    37: ("meter cover opened", "电能表开表盖事件记录"),
    38: ("meter terminal-box cover opened", "电能表开端钮盒事件记录"),
    39: ("retry reading failure", "补抄失败事件记录"),
    40: ("magnetic field anomaly", "磁场异常事件记录"),
    41: ("clock synchronisation", "对时事件记录"),
}
