"""DL/T 645 data-identifier rows, one tuple per DI (the table :mod:`di` indexes).

Row: ``(di, key, name, codec, unit, source)``. Names are English with the
standard's Chinese term beside them. Sources (PROTOCOLS.md §0 and §2.4):

* ``S8``  WKJay/DLT645 ``inc/dlt645_2007_private.h``, ``src/dlt645_1997.c`` formats
* ``S9``  zerojacks/protocol-parser transcription of DL/T 645-2007 appendices A and C
* ``S10`` 600888/dlt645 DI tables (``python/src/config/*_types.py``)
* ``L12`` bobyuxinyang/dlt645_2007 ``dlt645_api_07.c`` (2012 C library, DI formats)
* ``MAP`` coyool/XXOO_000 ``dd645_2007.c`` 1997 -> 2007 DI mapping
* ``FW``  a meter firmware display table (public file no. 35713924029): CT/PT ratio
  as six digits; weakest source here

Energy and demand families are generated from the DI byte rules of S9 appendix A
(DI2 = quantity, DI1 = 00 total / 01-3F tariff / FF block, DI0 = 00 current /
01-0C settlement day n); tariffs 1-4 are listed, the rest are rarely configured.
"""

from __future__ import annotations

from typing import Final

from protocols.dlt645.codecs import (
    DATE_WW,
    DATETIME,
    DATETIME_MIN,
    DEMAND,
    TIME,
    Codec,
    ascii_text,
    block,
    digits,
    number,
    status_word,
)

Row = tuple[int, str, str, Codec, str, str]

ENERGY: Final = number("XXXXXX.XX", 4, 2)
ENERGY_SIGNED: Final = number("XXXXXX.XX", 4, 2, signed=True)
VOLTAGE: Final = number("XXX.X", 2, 1)
CURRENT: Final = number("XXX.XXX", 3, 3, signed=True)
POWER: Final = number("XX.XXXX", 3, 4, signed=True)
POWER_FACTOR: Final = number("X.XXX", 2, 3, signed=True)
FREQUENCY: Final = number("XX.XX", 2, 2)
SIX_DIGITS: Final = number("NNNNNN", 3, 0)
ENERGY_BLOCK: Final = block(ENERGY)
ENERGY_SIGNED_BLOCK: Final = block(ENERGY_SIGNED)
DEMAND_BLOCK: Final = block(DEMAND)
#: Trip/close event records start with the time; later fields vary by amendment,
#: so only the leading YYMMDDhhmmss is decoded and the rest is ignored.
RECORD_TIME: Final = Codec(
    "YYMMDDhhmmss…",
    6,
    lambda data: DATETIME.decode(data[:6]),
    DATETIME.encode,
    "datetime",
)

_TARIFFS: Final = range(1, 5)
_SETTLEMENT_DAYS: Final = range(1, 13)


def _period(di0: int) -> tuple[str, str, str]:
    """(key suffix, English suffix, Chinese prefix) of DI0 for energy/demand."""
    if di0 == 0:
        return "", "", "当前"
    return f"_settlement_{di0}", f", settlement day -{di0}", f"上{di0}结算日"


def _rate(di1: int) -> tuple[str, str, str]:
    """(key part, English part, Chinese part) of DI1 (tariff)."""
    if di1 == 0:
        return "total", "total", "总"
    if di1 == 0xFF:
        return "block", "block (total + tariffs)", "数据块"
    return f"t{di1}", f"tariff {di1}", f"费率{di1}"


# (DI2, key, English, Chinese, unit, signed) - S8, S9 A.1
_ENERGY_KINDS: Final = (
    (0x00, "combined_active", "combined active energy", "组合有功", "kWh", True),
    (0x01, "forward_active", "forward active energy", "正向有功", "kWh", False),
    (0x02, "reverse_active", "reverse active energy", "反向有功", "kWh", False),
    (0x03, "combined_reactive_1", "combined reactive 1", "组合无功1", "kvarh", True),
    (0x04, "combined_reactive_2", "combined reactive 2", "组合无功2", "kvarh", True),
    (0x05, "q1_reactive", "quadrant I reactive", "第一象限无功", "kvarh", False),
    (0x06, "q2_reactive", "quadrant II reactive", "第二象限无功", "kvarh", False),
    (0x07, "q3_reactive", "quadrant III reactive", "第三象限无功", "kvarh", False),
    (0x08, "q4_reactive", "quadrant IV reactive", "第四象限无功", "kvarh", False),
)

# (DI2, key, English, Chinese) - S9 A.2
_DEMAND_KINDS: Final = (
    (0x01, "forward_active_demand", "forward active max demand", "正向有功"),
    (0x02, "reverse_active_demand", "reverse active max demand", "反向有功"),
)


def _energy_rows() -> list[Row]:
    rows: list[Row] = []
    for di2, key, en, zh, unit, signed in _ENERGY_KINDS:
        one, many = (
            (ENERGY_SIGNED, ENERGY_SIGNED_BLOCK) if signed else (ENERGY, ENERGY_BLOCK)
        )
        for di0 in (0, *_SETTLEMENT_DAYS):
            p_key, p_en, p_zh = _period(di0)
            for di1 in (0, *_TARIFFS, 0xFF):
                r_key, r_en, r_zh = _rate(di1)
                codec = many if di1 == 0xFF else one
                zh_name = f"{p_zh}{zh}{'电能' + r_zh if di1 == 0xFF else r_zh + '电能'}"
                rows.append(
                    (
                        di2 << 16 | di1 << 8 | di0,
                        f"{key}_{r_key}{p_key}",
                        f"{en}, {r_en}{p_en} ({zh_name})",
                        codec,
                        unit,
                        "S8, S9 A.1",
                    )
                )
    return rows


def _demand_rows() -> list[Row]:
    rows: list[Row] = []
    for di2, key, en, zh in _DEMAND_KINDS:
        for di0 in (0, *_SETTLEMENT_DAYS):
            p_key, p_en, p_zh = _period(di0)
            for di1 in (0, *_TARIFFS, 0xFF):
                r_key, r_en, r_zh = _rate(di1)
                zh_name = f"{p_zh}{zh}{r_zh}最大需量及发生时间"
                rows.append(
                    (
                        0x01 << 24 | di2 << 16 | di1 << 8 | di0,
                        f"{key}_{r_key}{p_key}",
                        f"{en} and time, {r_en}{p_en} ({zh_name})",
                        DEMAND_BLOCK if di1 == 0xFF else DEMAND,
                        "kW",
                        "S9 A.2, S10 (value first, then time)",
                    )
                )
    return rows


_PHASES: Final = ((1, "a", "A"), (2, "b", "B"), (3, "c", "C"))

# (DI2, key, English, Chinese, codec, unit, has total) - S8, S10, S9 A.3
_INSTANT_KINDS: Final = (
    (0x01, "voltage", "voltage", "电压", VOLTAGE, "V", False),
    (0x02, "current", "current", "电流", CURRENT, "A", False),
    (0x03, "active_power", "active power", "有功功率", POWER, "kW", True),
    (0x04, "reactive_power", "reactive power", "无功功率", POWER, "kvar", True),
    (0x05, "apparent_power", "apparent power", "视在功率", POWER, "kVA", True),
    (0x06, "power_factor", "power factor", "功率因数", POWER_FACTOR, "", True),
)


def _instant_rows() -> list[Row]:
    rows: list[Row] = []
    for di2, key, en, zh, codec, unit, has_total in _INSTANT_KINDS:
        base = 0x02 << 24 | di2 << 16
        if has_total:
            rows.append(
                (base, f"{key}_total", f"total {en} (总{zh})", codec, unit, "S8, S10")
            )
        for di1, p_key, p_name in _PHASES:
            rows.append(
                (
                    base | di1 << 8,
                    f"{key}_{p_key}",
                    f"phase {p_name} {en} ({p_name}相{zh})",
                    codec,
                    unit,
                    "S8, S10",
                )
            )
        rows.append(
            (
                base | 0xFF00,
                f"{key}_block",
                f"{en} block ({zh}数据块)",
                block(codec),
                unit,
                "S9 A.3",
            )
        )
    rows += [
        (0x02800001, "neutral_current", "neutral current (零线电流)", CURRENT, "A",
         "L12, S9 A.3"),
        (0x02800002, "frequency", "grid frequency (电网频率)", FREQUENCY, "Hz",
         "S8, S10, L12"),
    ]  # fmt: skip
    return rows


# Run status words (电表运行状态字), S9 appendix C: (name, high bit, low bit).
STATUS_BITS: Final[dict[int, tuple[tuple[str, int, int], ...]]] = {
    1: (
        ("demand_block_mode", 1, 1),  # 需量积算方式: 0 sliding (滑差), 1 block (区间)
        ("clock_battery_low", 2, 2),  # 时钟电池欠压
        ("reading_battery_low", 3, 3),  # 停电抄表电池欠压
        ("active_reverse", 4, 4),  # 有功功率方向反向
        ("reactive_reverse", 5, 5),  # 无功功率方向反向
    ),
    2: (
        ("a_active_reverse", 0, 0),
        ("b_active_reverse", 1, 1),
        ("c_active_reverse", 2, 2),
        ("a_reactive_reverse", 4, 4),
        ("b_reactive_reverse", 5, 5),
        ("c_reactive_reverse", 6, 6),
    ),
    3: (
        ("second_timetable", 0, 0),  # 当前运行时段: 0 first set, 1 second set
        ("power_supply", 2, 1),  # 供电方式: 0 main, 1 auxiliary, 2 battery
        ("programming_allowed", 3, 3),  # 编程允许
        ("relay_off", 4, 4),  # 继电器状态: 0 on (通), 1 off (断); authoritative
        # Later smart-meter amendments: relay command state (继电器命令状态), not
        # in the 2007 text (reserved there). Informational; trust relay_off.
        ("relay_command_off", 6, 6),
    ),
    7: (
        ("voltage_reverse_sequence", 0, 0),  # 电压逆相序
        ("current_reverse_sequence", 1, 1),  # 电流逆相序
        ("voltage_imbalance", 2, 2),  # 电压不平衡
        ("current_imbalance", 3, 3),  # 电流不平衡
        ("aux_power_lost", 4, 4),  # 辅助电源失电
        ("power_down", 5, 5),  # 掉电
        ("demand_over_limit", 6, 6),  # 需量超限
    ),
}
_PHASE_FAULTS: Final = (
    ("loss_of_voltage", 0, 0),  # 失压
    ("undervoltage", 1, 1),  # 欠压
    ("overvoltage", 2, 2),  # 过压
    ("loss_of_current", 3, 3),  # 失流
    ("overcurrent", 4, 4),  # 过流
    ("overload", 5, 5),  # 过载
    ("reverse_power", 6, 6),  # 潮流反向
    ("phase_break", 7, 7),  # 断相
)
for _word in (4, 5, 6):
    STATUS_BITS[_word] = _PHASE_FAULTS

_STATUS_NAMES: Final = {
    1: "",
    2: " (phase power directions)",
    3: " (operation: relay, supply)",
    4: " (phase A faults)",
    5: " (phase B faults)",
    6: " (phase C faults)",
    7: " (combined-phase faults)",
}


def _parameter_rows() -> list[Row]:
    rows: list[Row] = [
        (0x04000101, "date", "date and weekday (日期及星期)", DATE_WW, "", "S9, S10"),
        (0x04000102, "time", "time (时间)", TIME, "", "S9, S10"),
        (0x04000306, "ct_ratio", "CT ratio (电流互感器变比)", SIX_DIGITS, "", "FW"),
        (0x04000307, "pt_ratio", "PT ratio (电压互感器变比)", SIX_DIGITS, "", "FW"),
        (0x04000401, "comm_address", "communication address (通信地址)",
         digits("NNNNNNNNNNNN", 6), "", "S9, S10, L12"),
        (0x04000402, "meter_number", "meter number (表号)",
         digits("NNNNNNNNNNNN", 6), "", "S9, S10, L12"),
        (0x04000403, "asset_number", "asset number (资产管理编码)", ascii_text(32),
         "", "S9, S10, L12"),
        (0x04000404, "rated_voltage", "rated voltage (额定电压)", ascii_text(6), "",
         "S9, S10, L12"),
        (0x04000405, "rated_current", "rated / basic current (额定电流/基本电流)",
         ascii_text(6), "", "S9, S10, L12"),
        (0x04000406, "max_current", "maximum current (最大电流)", ascii_text(6), "",
         "S9, S10, L12"),
        (0x04000409, "active_constant", "active meter constant (电表有功常数)",
         SIX_DIGITS, "imp/kWh", "S9, L12"),
        (0x0400040A, "reactive_constant", "reactive meter constant (电表无功常数)",
         SIX_DIGITS, "imp/kvarh", "S9, L12"),
    ]  # fmt: skip
    for word, bits in sorted(STATUS_BITS.items()):
        rows.append(
            (
                0x04000500 | word,
                f"status_word_{word}",
                f"run status word {word}{_STATUS_NAMES[word]} (电表运行状态字{word})",
                status_word("XXXX", 2, bits),
                "",
                "S9 appendix C",
            )
        )
    return rows


def _freeze_and_event_rows() -> list[Row]:
    return [
        (0x05060001, "daily_freeze_time", "last daily freeze time (上1次日冻结时间)",
         DATETIME_MIN, "", "S8; PROTOCOLS.md §2.4"),
        (0x05060101, "daily_freeze_forward_active",
         "last daily freeze forward active, total + tariffs (上1次日冻结正向有功电能)",
         ENERGY_BLOCK, "kWh", "S8; PROTOCOLS.md §2.4"),
        (0x05060201, "daily_freeze_reverse_active",
         "last daily freeze reverse active, total + tariffs (上1次日冻结反向有功电能)",
         ENERGY_BLOCK, "kWh", "PROTOCOLS.md §2.4"),
        (0x1D000101, "last_trip_time", "last trip time (上1次跳闸发生时刻)",
         RECORD_TIME, "", "MAP"),
        (0x1E000101, "last_close_time", "last close time (上1次合闸发生时刻)",
         RECORD_TIME, "", "MAP"),
    ]  # fmt: skip


ROWS_2007: Final[list[Row]] = [
    *_energy_rows(),
    *_demand_rows(),
    *_instant_rows(),
    *_parameter_rows(),
    *_freeze_and_event_rows(),
]


# --- DL/T 645-1997: 2-byte DIs -------------------------------------------------------

ENERGY_1997: Final = ENERGY
VOLTAGE_1997: Final = number("XXX", 2, 0)  # S8 dlt645_1997.c
CURRENT_1997: Final = number("XX.XX", 2, 2)  # S8
POWER_1997: Final = number("XX.XXXX", 3, 4)  # S8
REACTIVE_POWER_1997: Final = number("XX.XX", 2, 2)  # MAP comment "xx.xx"
POWER_FACTOR_1997: Final = number("X.XXX", 2, 3)

# (first DI, key, English, Chinese, unit) of 1997 energy groups with tariffs:
# xx10 total, xx11-xx14 tariffs 1-4, xx1F block (S8, MAP, go645 item table).
_ENERGY_1997: Final = (
    (0x9010, "forward_active", "forward active energy", "正向有功", "kWh"),
    (0x9020, "reverse_active", "reverse active energy", "反向有功", "kWh"),
    (0x9410, "forward_active_last_month", "forward active energy, last month",
     "上月正向有功", "kWh"),
    (0x9420, "reverse_active_last_month", "reverse active energy, last month",
     "上月反向有功", "kWh"),
)  # fmt: skip


def _rows_1997() -> list[Row]:
    rows: list[Row] = []
    for first, key, en, zh, unit in _ENERGY_1997:
        rows.append((first, f"{key}_total", f"{en}, total ({zh}总电能)", ENERGY,
                     unit, "S8, MAP"))  # fmt: skip
        for t in _TARIFFS:
            name = f"{en}, tariff {t} ({zh}费率{t}电能)"
            rows.append((first + t, f"{key}_t{t}", name, ENERGY, unit, "MAP"))
        rows.append((first | 0xF, f"{key}_block",
                     f"{en}, block (total + tariffs) ({zh}电能数据块)", ENERGY_BLOCK,
                     unit, "MAP; PROTOCOLS.md §2.4"))  # fmt: skip
    rows += [
        (0x9110, "forward_reactive_total",
         "forward reactive energy, total (正向无功总电能)", ENERGY, "kvarh",
         "MAP (-> 00030000), go645"),
        (0x9120, "reverse_reactive_total",
         "reverse reactive energy, total (反向无功总电能)", ENERGY, "kvarh",
         "MAP (-> 00040000), go645"),
        (0x9130, "q1_reactive_total", "quadrant I reactive, total (一象限无功总电能)",
         ENERGY, "kvarh", "MAP (-> 00050000)"),
        (0x9140, "q4_reactive_total", "quadrant IV reactive, total (四象限无功总电能)",
         ENERGY, "kvarh", "MAP (-> 00080000)"),
        (0x9150, "q2_reactive_total", "quadrant II reactive, total (二象限无功总电能)",
         ENERGY, "kvarh", "MAP (-> 00060000)"),
        (0x9160, "q3_reactive_total", "quadrant III reactive, total (三象限无功总电能)",
         ENERGY, "kvarh", "MAP (-> 00070000)"),
    ]  # fmt: skip
    for n, p_key, p_name in _PHASES:
        rows += [
            (0xB610 + n, f"voltage_{p_key}", f"phase {p_name} voltage ({p_name}相电压)",
             VOLTAGE_1997, "V", "S8"),
            (0xB620 + n, f"current_{p_key}", f"phase {p_name} current ({p_name}相电流)",
             CURRENT_1997, "A", "S8"),
            (0xB630 + n, f"active_power_{p_key}",
             f"phase {p_name} active power ({p_name}相有功功率)", POWER_1997, "kW",
             "S8"),
            (0xB640 + n, f"reactive_power_{p_key}",
             f"phase {p_name} reactive power ({p_name}相无功功率)", REACTIVE_POWER_1997,
             "kvar", "S8 (DI), MAP (format)"),
        ]  # fmt: skip
    rows += [
        (0xB630, "active_power_total", "total active power (总有功功率)", POWER_1997,
         "kW", "S8"),
        (0xB640, "reactive_power_total", "total reactive power (总无功功率)",
         REACTIVE_POWER_1997, "kvar", "S8 (DI), MAP (format)"),
        (0xB650, "power_factor_total", "total power factor (总功率因数)",
         POWER_FACTOR_1997, "", "go645; PROTOCOLS.md §2.4"),
        (0xC010, "date", "date and weekday (日期及周次)", DATE_WW, "", "MAP"),
        (0xC011, "time", "time (时间)", TIME, "", "MAP (-> 04000102)"),
    ]  # fmt: skip
    return rows


ROWS_1997: Final[list[Row]] = _rows_1997()
