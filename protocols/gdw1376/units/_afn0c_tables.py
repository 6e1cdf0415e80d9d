"""AFN 0CH Fn names (Std-2013 table 129 and the §5.12.2.4 headings), for the registry.

Only the Fns whose layout :mod:`protocols.gdw1376.units.afn0c` declares are listed.
"""

from __future__ import annotations

from typing import Final

NAMES: Final[dict[int, str]] = {
    # group 1-2: terminal (p0)
    2: "terminal clock (终端日历时钟)",
    3: "terminal parameter status (终端参数状态)",
    4: "terminal uplink comm status (终端上行通信状态)",
    7: "terminal event counters (终端事件计数器当前值)",
    8: "terminal event flags (终端事件标志状态)",
    9: "terminal state and change flags (终端状态量及变位标志)",
    10: "terminal-master traffic today and this month (终端与主站当日、月通信流量)",
    11: "meter-reading status (终端集中抄表状态信息)",
    12: "control output loop switch state and change flags "
    "(控制输出回路开关接入状态量及变位标志)",
    13: "meters found by search (搜索到的电表信息)",
    14: "file segments not received (文件传输未收到数据段)",
    # group 3: total-add group
    17: "total-add active power (当前总加有功功率)",
    18: "total-add reactive power (当前总加无功功率)",
    19: "total-add active energy today (当日总加有功电能量)",
    20: "total-add reactive energy today (当日总加无功电能量)",
    21: "total-add active energy this month (当月总加有功电能量)",
    22: "total-add reactive energy this month (当月总加无功电能量)",
    23: "terminal remaining energy or fee (终端当前剩余电量（费）)",
    24: "total-add active power frozen after float-down control "
    "(当前功率下浮控控后总加有功功率冻结值)",
    # group 4-6: measuring point
    25: "current power, power factor, voltage and current "
    "(当前三相及总有/无功功率、功率因数，三相电压、电流、零序电流、视在功率)",
    26: "phase-break statistics and last break "
    "(A、B、C三相断相统计数据及最近一次断相记录)",
    27: "meter clock, programming counts and times "
    "(电能表日历时钟、编程次数及其最近一次操作时间)",
    28: "meter status words and change flags (电表运行状态字及其变位标志)",
    29: "copper/iron loss active energy readings (当前铜损、铁损有功总电能示值)",
    30: "copper/iron loss readings, last settlement day "
    "(上一结算日铜损、铁损有功总电能示值)",
    31: "phase A/B/C energy readings "
    "(当前A、B、C三相正/反向有功电能示值、组合无功1/2电能示值)",
    32: "phase A/B/C energy readings, last settlement day "
    "(上一结算日A、B、C三相正/反向有功电能示值、组合无功1/2电能示值)",
    33: "current forward active/reactive energy readings "
    "(当前正向有/无功电能示值、一/四象限无功电能示值)",
    34: "current reverse active/reactive energy readings "
    "(当前反向有/无功电能示值、二/三象限无功电能示值)",
    35: "this month forward max demand (当月正向有/无功最大需量及发生时间)",
    36: "this month reverse max demand (当月反向有/无功最大需量及发生时间)",
    37: "last settlement day forward active/reactive energy readings "
    "(上月（上一结算日）正向有/无功电能示值、一/四象限无功电能示值)",
    38: "last settlement day reverse active/reactive energy readings "
    "(上月（上一结算日）反向有/无功电能示值、二/三象限无功电能示值)",
    39: "last settlement day forward max demand "
    "(上月（上一结算日）正向有/无功最大需量及发生时间)",
    40: "last settlement day reverse max demand "
    "(上月（上一结算日）反向有/无功最大需量及发生时间)",
    41: "forward active energy today (当日正向有功电能量)",
    42: "forward reactive energy today (当日正向无功电能量)",
    43: "reverse active energy today (当日反向有功电能量)",
    44: "reverse reactive energy today (当日反向无功电能量)",
    45: "forward active energy this month (当月正向有功电能量)",
    46: "forward reactive energy this month (当月正向无功电能量)",
    47: "reverse active energy this month (当月反向有功电能量)",
    48: "reverse reactive energy this month (当月反向无功电能量)",
    49: "voltage and current phase angles (当前电压、电流相位角)",
    65: "capacitor switching state (当前电容器投切状态)",
    66: "capacitor switched-in time and count (当前电容器累计补偿投入时间和次数)",
    67: "capacitor compensated reactive energy today and this month "
    "(当日、当月电容器累计补偿的无功电能量)",
    73: "DC analogue value (直流模拟量当前数据)",
    # group 17-20: energy registers per tariff
    129: "current forward active energy reading (当前正向有功电能示值)",
    130: "current forward reactive (combined 1) energy reading "
    "(当前正向无功（组合无功1）电能示值)",
    131: "current reverse active energy reading (当前反向有功电能示值)",
    132: "current reverse reactive (combined 2) energy reading "
    "(当前反向无功（组合无功2）电能示值)",
    133: "current Q1 reactive energy reading (当前一象限无功电能示值)",
    134: "current Q2 reactive energy reading (当前二象限无功电能示值)",
    135: "current Q3 reactive energy reading (当前三象限无功电能示值)",
    136: "current Q4 reactive energy reading (当前四象限无功电能示值)",
    137: "last settlement day forward active energy reading "
    "(上月（上一结算日）正向有功电能示值)",
    138: "last settlement day forward reactive (combined 1) energy reading "
    "(上月（上一结算日）正向无功（组合无功1）电能示值)",
    139: "last settlement day reverse active energy reading "
    "(上月（上一结算日）反向有功电能示值)",
    140: "last settlement day reverse reactive energy reading "
    "(上月（上一结算日）反向无功电能示值)",
    141: "last settlement day Q1 reactive energy reading "
    "(上月（上一结算日）一象限无功电能示值)",
    142: "last settlement day Q2 reactive energy reading "
    "(上月（上一结算日）二象限无功电能示值)",
    143: "last settlement day Q3 reactive energy reading "
    "(上月（上一结算日）三象限无功电能示值)",
    144: "last settlement day Q4 reactive energy reading "
    "(上月（上一结算日）四象限无功电能示值)",
    145: "this month forward active max demand (当月正向有功最大需量及发生时间)",
    146: "this month forward reactive max demand (当月正向无功最大需量及发生时间)",
    147: "this month reverse active max demand (当月反向有功最大需量及发生时间)",
    148: "this month reverse reactive max demand (当月反向无功最大需量及发生时间)",
    149: "last settlement day forward active max demand "
    "(上月（上一结算日）正向有功最大需量及发生时间)",
    150: "last settlement day forward reactive max demand "
    "(上月（上一结算日）正向无功最大需量及发生时间)",
    151: "last settlement day reverse active max demand "
    "(上月（上一结算日）反向有功最大需量及发生时间)",
    152: "last settlement day reverse reactive max demand "
    "(上月（上一结算日）反向无功最大需量及发生时间)",
    153: "time zone 1 frozen forward active energy reading "
    "(第一时区冻结正向有功电能示值)",
    154: "time zone 2 frozen forward active energy reading "
    "(第二时区冻结正向有功电能示值)",
    155: "time zone 3 frozen forward active energy reading "
    "(第三时区冻结正向有功电能示值)",
    156: "time zone 4 frozen forward active energy reading "
    "(第四时区冻结正向有功电能示值)",
    157: "time zone 5 frozen forward active energy reading "
    "(第五时区冻结正向有功电能示值)",
    158: "time zone 6 frozen forward active energy reading "
    "(第六时区冻结正向有功电能示值)",
    159: "time zone 7 frozen forward active energy reading "
    "(第七时区冻结正向有功电能示值)",
    160: "time zone 8 frozen forward active energy reading "
    "(第八时区冻结正向有功电能示值)",
    # group 21-23: meter state
    161: "meter remote-control supply state and record "
    "(电能表远程控制通断电状态及记录)",
    162: "meter clock (电能表日历时钟)",
    165: "meter switch operation counts and times (电能表开关操作次数及时间)",
    166: "meter parameter change counts and times (电能表参数修改次数及时间)",
    167: "meter purchase and usage information (电能表购、用电信息)",
    168: "meter settlement information (电能表结算信息)",
    169: "meter-reading relay routes (集中抄表中继路由信息)",
    170: "meter-reading information (集中抄表电表抄读信息)",
    177: "current combined active energy reading (当前组合有功电能示值)",
    178: "last settlement day combined active energy reading "
    "(上1结算日组合有功电能示值)",
}
