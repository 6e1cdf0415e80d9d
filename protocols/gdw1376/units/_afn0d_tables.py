"""AFN 0DH Fn table (Std-2013 table 221): each Fn's time mark (数据时标) and name.

A class-2 request carries a time mark after every DA/DT and nothing else
(§5.13.1.3.1), so this table alone delimits any request. Fns the table marks
reserved (备用) are absent. Names follow the §5.13.2.4 headings.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final


class Td(IntEnum):
    """Time-mark kinds of §5.13.1.3."""

    CURVE = 1  # Td_c: start A.15 + density m + point count n (7 bytes)
    DAILY = 2  # Td_d: A.20 DD MM YY (3 bytes), daily or reading-day frozen
    MONTHLY = 3  # Td_m: A.21 MM YY (2 bytes)


_C, _D, _M = Td.CURVE, Td.DAILY, Td.MONTHLY
_PHASES = ("A", "B", "C")
_ZONES = "一二三四五六七八"

FNS: Final[dict[int, tuple[Td, str]]] = {
    # group 1: daily frozen readings, demand and energy
    1: (_D, "daily frozen forward active/reactive energy readings "
            "(日冻结正向有/无功电能示值、一/四象限无功电能示值)"),
    2: (_D, "daily frozen reverse active/reactive energy readings "
            "(日冻结反向有/无功电能示值、二/三象限无功电能示值)"),
    3: (_D, "daily frozen forward max demand (日冻结正向有/无功最大需量及发生时间)"),
    4: (_D, "daily frozen reverse max demand (日冻结反向有/无功最大需量及发生时间)"),
    5: (_D, "daily frozen forward active energy (日冻结正向有功电能量)"),
    6: (_D, "daily frozen forward reactive energy (日冻结正向无功电能量)"),
    7: (_D, "daily frozen reverse active energy (日冻结反向有功电能量)"),
    8: (_D, "daily frozen reverse reactive energy (日冻结反向无功电能量)"),
    # group 2: reading-day frozen
    9: (_D, "reading-day frozen forward active/reactive energy readings "
            "(抄表日冻结正向有/无功电能示值、一/四象限无功电能示值)"),
    10: (_D, "reading-day frozen reverse active/reactive energy readings "
             "(抄表日冻结反向有/无功电能示值、二/三象限无功电能示值)"),
    11: (_D, "reading-day frozen forward max demand "
             "(抄表日冻结电能表正向有/无功最大需量及发生时间)"),
    12: (_D, "reading-day frozen reverse max demand "
             "(抄表日冻结电能表反向有/无功最大需量及发生时间)"),
    # group 3: monthly frozen
    17: (_M, "monthly frozen forward active/reactive energy readings "
             "(月冻结正向有/无功电能示值、一/四象限无功电能示值)"),
    18: (_M, "monthly frozen reverse active/reactive energy readings "
             "(月冻结反向有/无功电能示值、二/三象限无功电能示值)"),
    19: (_M, "monthly frozen forward max demand "
             "(月冻结电能表正向有/无功最大需量及发生时间)"),
    20: (_M, "monthly frozen reverse max demand "
             "(月冻结电能表反向有/无功最大需量及发生时间)"),
    21: (_M, "monthly frozen forward active energy (月冻结正向有功电能量)"),
    22: (_M, "monthly frozen forward reactive energy (月冻结正向无功电能量)"),
    23: (_M, "monthly frozen reverse active energy (月冻结反向有功电能量)"),
    24: (_M, "monthly frozen reverse reactive energy (月冻结反向无功电能量)"),
    # group 4-5: daily / monthly statistics
    25: (_D, "daily max active power and zero-power time "
             "(日冻结日总及分相最大有功功率及发生时间、有功功率为零时间)"),
    26: (_D, "daily max demand per phase (日冻结日总及分相最大需量及发生时间)"),
    27: (_D, "daily voltage statistics (日冻结日电压统计数据)"),
    28: (_D, "daily unbalance over-limit time (日冻结日不平衡度越限累计时间)"),
    29: (_D, "daily current over-limit statistics (日冻结日电流越限数据)"),
    30: (_D, "daily apparent power over-limit time (日冻结日视在功率越限累计时间)"),
    31: (_D, "daily load rate statistics (日负载率统计)"),
    32: (_D, "daily frozen meter phase-break data (日冻结电能表断相数据)"),
    33: (_M, "monthly max active power and zero-power time "
             "(月冻结月总及分相最大有功功率及发生时间、有功功率为零时间)"),
    34: (_M, "monthly max demand per phase (月冻结月总及分相有功最大需量及发生时间)"),
    35: (_M, "monthly voltage statistics (月冻结月电压统计数据)"),
    36: (_M, "monthly unbalance over-limit time (月冻结月不平衡度越限累计时间)"),
    37: (_M, "monthly current over-limit statistics (月冻结月电流越限数据)"),
    38: (_M, "monthly apparent power over-limit time (月冻结月视在功率越限累计时间)"),
    39: (_M, "monthly load rate statistics (月负载率统计)"),
    # group 6: capacitor, power factor, losses
    41: (_D, "daily capacitor switched-in time and count "
             "(日冻结电容器累计投入时间和次数)"),
    42: (_D, "capacitor compensated reactive energy "
             "(日冻结日、月电容器累计补偿的无功电能量)"),
    43: (_D, "daily power factor band time (日冻结日功率因数区段累计时间)"),
    44: (_M, "monthly power factor band time (月冻结月功率因数区段累计时间)"),
    45: (_D, "daily frozen copper/iron loss readings (日冻结铜损、铁损有功电能示值)"),
    46: (_M, "monthly frozen copper/iron loss readings (月冻结铜损、铁损有功电能示值)"),
    # group 7: terminal statistics (p0)
    49: (_D, "terminal daily supply time and resets "
             "(日冻结终端日供电时间、日复位累计次数)"),
    50: (_D, "terminal daily control statistics (日冻结终端日控制统计数据)"),
    51: (_M, "terminal monthly supply time and resets "
             "(月冻结终端月供电时间、月复位累计次数)"),
    52: (_M, "terminal monthly control statistics (月冻结终端月控制统计数据)"),
    53: (_D, "terminal-master daily traffic (终端与主站日通信流量)"),
    54: (_M, "terminal-master monthly traffic (终端与主站月通信流量)"),
    # group 8-9: total-add group statistics
    57: (_D, "total-add daily max/min active power and zero-power time "
             "(日冻结总加组日最大、最小有功功率及其发生时间，有功功率为零日累计时间)"),
    58: (_D, "total-add daily active energy (日冻结总加组日累计有功电能量)"),
    59: (_D, "total-add daily reactive energy (日冻结总加组日累计无功电能量)"),
    60: (_M, "total-add monthly max/min active power and zero-power time "
             "(月冻结总加组月最大、最小有功功率及其发生时间，有功功率为零月累计时间)"),
    61: (_M, "total-add monthly active energy (月冻结总加组月有功电能量)"),
    62: (_M, "total-add monthly reactive energy (月冻结总加组月无功电能量)"),
    65: (_M, "total-add monthly time and energy over power setpoint "
             "(月冻结总加组超功率定值的月累计时间及月累计电能量)"),
    66: (_M, "total-add monthly time and energy over energy setpoint "
             "(月冻结总加组超月电能量定值的月累计时间及月累计电能量)"),
    # group 10: total-add group curves
    73: (_C, "total-add active power curve (总加组有功功率曲线)"),
    74: (_C, "total-add reactive power curve (总加组无功功率曲线)"),
    75: (_C, "total-add active energy curve (总加组有功电能量曲线)"),
    76: (_C, "total-add reactive energy curve (总加组无功电能量曲线)"),
    # group 11-14: measuring-point curves
    81: (_C, "active power curve (测量点有功功率曲线)"),
    85: (_C, "reactive power curve (测量点无功功率曲线)"),
    95: (_C, "zero-sequence current curve (测量点零序电流曲线)"),
    97: (_C, "forward active energy curve (测量点正向有功总电能量曲线)"),
    98: (_C, "forward reactive energy curve (测量点正向无功总电能量曲线)"),
    99: (_C, "reverse active energy curve (测量点反向有功总电能量曲线)"),
    100: (_C, "reverse reactive energy curve (测量点反向无功总电能量曲线)"),
    101: (_C, "forward active energy reading curve (测量点正向有功总电能示值曲线)"),
    102: (_C, "forward reactive energy reading curve (测量点正向无功总电能示值曲线)"),
    103: (_C, "reverse active energy reading curve (测量点反向有功总电能示值曲线)"),
    104: (_C, "reverse reactive energy reading curve (测量点反向无功总电能示值曲线)"),
    105: (_C, "power factor curve (测量点功率因数曲线)"),
    109: (_C, "voltage phase angle curve (测量点电压相位角曲线)"),
    110: (_C, "current phase angle curve (测量点电流相位角曲线)"),
    # group 17-18: DC analogue (pn = DC analogue port)
    129: (_D, "daily DC analogue over-limit time and extremes "
              "(日冻结直流模拟量越限日累计时间、最大/最小值及发生时间)"),
    130: (_M, "monthly DC analogue over-limit time and extremes "
              "(月冻结直流模拟量月越限累计时间、最大/最小值及发生时间)"),
    138: (_C, "DC analogue curve (直流模拟量数据曲线)"),
    # group 19: quadrant reactive reading curves
    145: (_C, "Q1 reactive energy reading curve (测量点一象限无功总电能示值曲线)"),
    146: (_C, "Q4 reactive energy reading curve (测量点四象限无功总电能示值曲线)"),
    147: (_C, "Q2 reactive energy reading curve (测量点二象限无功总电能示值曲线)"),
    148: (_C, "Q3 reactive energy reading curve (测量点三象限无功总电能示值曲线)"),
    # group 20: per-phase readings
    153: (_D, "daily frozen per-phase forward active readings "
              "(日冻结测量点分相正向有功电能示值)"),
    154: (_D, "daily frozen per-phase forward reactive readings "
              "(日冻结测量点分相正向无功电能示值)"),
    155: (_D, "daily frozen per-phase reverse active readings "
              "(日冻结测量点分相反向有功电能示值)"),
    156: (_D, "daily frozen per-phase reverse reactive readings "
              "(日冻结测量点分相反向无功电能示值)"),
    157: (_M, "monthly frozen per-phase forward active readings "
              "(月冻结测量点分相正向有功电能示值)"),
    158: (_M, "monthly frozen per-phase forward reactive readings "
              "(月冻结测量点分相正向无功电能示值)"),
    159: (_M, "monthly frozen per-phase reverse active readings "
              "(月冻结测量点分相反向有功电能示值)"),
    160: (_M, "monthly frozen per-phase reverse reactive readings "
              "(月冻结测量点分相反向无功电能示值)"),
    # group 27-28: meter state, purchase, settlement; carrier noise; combined curve
    209: (_D, "daily frozen meter remote-control state and record "
              "(日冻结电能表远程控制通断电状态及记录)"),
    210: (_D, "daily frozen meter purchase and usage (日冻结电能表购、用电信息)"),
    211: (_D, "daily voltage/current unbalance 95% values "
              "(日冻结三相电压、电流不平衡度95％概率值)"),
    212: (_M, "monthly voltage/current unbalance 95% values "
              "(月冻结三相电压、电流不平衡度95％概率值)"),
    213: (_M, "monthly frozen meter switch operations "
              "(月冻结电能表开关操作次数及时间)"),
    214: (_M, "monthly frozen meter parameter changes "
              "(月冻结电能表参数修改次数及时间)"),
    215: (_M, "monthly frozen meter purchase and usage (月冻结电能表购、用电信息)"),
    216: (_M, "monthly frozen meter settlement (月冻结电能表结算信息)"),
    217: (_C, "carrier master node white noise curve "
              "(台区集中抄表载波主节点白噪声曲线)"),
    218: (_C, "carrier master node coloured noise curve "
              "(台区集中抄表载波主节点色噪声曲线)"),
    219: (_C, "measuring-point combined data curve (测量点组合数据曲线)"),
}  # fmt: skip

# Groups whose names follow a pattern.
for _i, _p in enumerate(_PHASES):
    FNS[82 + _i] = (_C, f"phase {_p} active power curve (测量点{_p}相有功功率曲线)")
    FNS[86 + _i] = (_C, f"phase {_p} reactive power curve (测量点{_p}相无功功率曲线)")
    FNS[89 + _i] = (_C, f"phase {_p} voltage curve (测量点{_p}相电压曲线)")
    FNS[92 + _i] = (_C, f"phase {_p} current curve (测量点{_p}相电流曲线)")
    FNS[106 + _i] = (_C, f"phase {_p} power factor curve (测量点{_p}相功率因数曲线)")
    FNS[113 + _i] = (
        _D,
        f"phase {_p} harmonic current daily maxima "
        f"(日冻结测量点{_p}相2-19次谐波电流日最大值及发生时间)",
    )
    FNS[116 + _i] = (
        _D,
        f"phase {_p} harmonic voltage content daily maxima "
        f"(日冻结测量点{_p}相2-19次谐波电压含有率及总畸变率日最大值及发生时间)",
    )
    FNS[121 + _i] = (
        _D,
        f"phase {_p} harmonic over-limit daily statistics "
        f"(日冻结测量点{_p}相谐波越限日统计数据)",
    )
    FNS[124 + _i] = (
        _D,
        f"phase {_p} harmonic 95% values "
        f"(日冻结{_p}相电压谐波电压含有率、谐波电流95％概率值)",
    )

# Groups 21-25: per-register readings and demand, in the standard's register order.
_REGISTERS = (
    ("forward active", "正向有功"),
    ("forward reactive (combined 1)", "正向无功（组合无功1）"),
    ("reverse active", "反向有功"),
    ("reverse reactive", "反向无功"),
    ("Q1 reactive", "一象限无功"),
    ("Q2 reactive", "二象限无功"),
    ("Q3 reactive", "三象限无功"),
    ("Q4 reactive", "四象限无功"),
)
_FREEZES = (  # (first reading Fn, first demand Fn, time mark, names)
    (161, 185, _D, "daily frozen", "日冻结"),
    (169, 189, _D, "reading-day frozen", "抄表日冻结"),
    (177, 193, _M, "monthly frozen", "月冻结"),
)
for _base, _demand, _td, _en, _zh in _FREEZES:
    for _i, (_reg_en, _reg_zh) in enumerate(_REGISTERS):
        FNS[_base + _i] = (
            _td,
            f"{_en} {_reg_en} energy reading ({_zh}{_reg_zh}电能示值)",
        )
    for _i, (_reg_en, _reg_zh) in enumerate(_REGISTERS[:4]):
        FNS[_demand + _i] = (
            _td,
            f"{_en} {_reg_en.split(' (')[0]} max demand "
            f"({_zh}{_reg_zh[:4]}最大需量及发生时间)",
        )
for _i in range(8):
    FNS[201 + _i] = (
        _M,
        f"monthly frozen time zone {_i + 1} forward active energy reading "
        f"(月冻结第{_ZONES[_i]}时区冻结正向有功电能示值)",
    )

#: Fn -> time-mark kind, for every Fn the standard defines.
TIME_MARKS: Final[dict[int, Td]] = {fn: td for fn, (td, _) in sorted(FNS.items())}
#: Fn -> registry name.
NAMES: Final[dict[int, str]] = {fn: name for fn, (_, name) in sorted(FNS.items())}
