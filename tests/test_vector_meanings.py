"""Every shared vector decodes as its published meaning says (through the whole stack:
detection, codec, catalogue and the JSON that ``headend decode --json`` prints).

The expected values transcribe the ``meaning`` of each entry of the shared
vectors.json (and, for X_ files, PROTOCOLS.md's constructed examples).
"""

from __future__ import annotations

from typing import Any

import pytest

from headend.decode import decode_hex
from tests.vectors import all_vectors, vector

# fmt: off
MEANINGS: dict[str, dict[str, Any]] = {
    "T01": {"protocol": "gdw1376", "ok": True,
            "control": {"dir": 1, "prm": 1, "acd": 0, "func": 9},
            "address": {"a1": "0171", "a2": 2082, "msa": 0, "group": False},
            "afn": 2, "seq": {"tpv": 0, "fir": 1, "fin": 1, "con": 1, "seq": 8},
            "units": [{"pn": 0, "fn": 1, "name": "login (登录)"}]},
    "T02": {"protocol": "gdw1376", "ok": True, "address": {"a1": "0171", "a2": 2082},
            "afn": 2, "seq": {"con": 1, "seq": 9},
            "units": [{"pn": 0, "fn": 3, "data": {"clock": None}}]},
    "T03": {"protocol": "gdw1376", "ok": True,
            "control": {"dir": 0, "prm": 0, "func": 11},
            "address": {"a1": "2449", "a2": 22597, "msa": 1}, "afn": 0,
            "seq": {"fir": 1, "fin": 1, "con": 0, "seq": 0},
            "units": [{"pn": 0, "fn": 1, "name": "all confirm (全部确认)"}]},
    "T04": {"protocol": "gdw1376", "ok": True, "afn": 2, "seq": {"seq": 3},
            "units": [{"pn": 0, "fn": 1}]},
    "T05": {"protocol": "gdw1376", "ok": True,
            "control": {"dir": 0, "prm": 1, "fcb": 0, "fcv": 0, "func": 11},
            "address": {"a1": "0171", "a2": 2082, "msa": 1}, "afn": 12,
            "seq": {"tpv": 1, "fir": 1, "fin": 1, "con": 0},
            "units": [{"pn": 1, "fn": 33}],
            "aux": {"tp": {"pfc": 12, "delay": 0,
                           "send_time": {"day": 28, "hour": 16, "minute": 50, "second": 9}}}},
    "T06": {"protocol": "gdw1376", "ok": True,
            "control": {"dir": 1, "prm": 0, "acd": 0, "func": 8}, "afn": 12,
            "seq": {"tpv": 1, "fir": 0, "fin": 1, "con": 0, "seq": 12},
            "units": [{"pn": 1, "fn": 33, "data": {
                "read_time": "2018-08-28T16:48:00", "tariff_count": 4,
                "active": [0.01, None, None, None, None],
                "reactive": [None] * 5, "q1_reactive": [None] * 5, "q4_reactive": [None] * 5}}],
            "aux": {"tp": {"pfc": 12}}},
    "T07": {"protocol": "gdw1376", "ok": True, "control": {"prm": 1, "func": 11},
            "afn": 13, "seq": {"tpv": 1, "seq": 5},
            "units": [{"pn": 1, "fn": 1, "data": {"td": "2018-08-27"}}]},
    "T08": {"protocol": "gdw1376", "ok": True, "control": {"dir": 1, "func": 8}, "afn": 13,
            "units": [{"pn": 1, "fn": 1, "data": {
                "td": "2018-08-27", "read_time": "2018-08-27T23:59:00", "tariff_count": 4,
                "active": [0.01, None, None, None, None]}}]},
    "T09": {"protocol": "gdw1376", "ok": True, "control": {"dir": 0, "prm": 1}, "afn": 16,
            # port 31, control 6B = 2400 bit/s 8E1, frame timeout 60 s, byte timeout 100 ms
            "units": [{"pn": 0, "fn": 1, "data": {
                "port": 31, "baud": 3, "two_stop_bits": 0, "parity": 1, "odd_parity": 0,
                "data_bits": 3, "timeout_in_seconds": 1, "frame_timeout": 60,
                "byte_timeout": 10, "length": 16, "frame": {
                    "protocol": "dlt645-2007", "control": {"dir": 0, "func": 0x11},
                    "di": "04000503"}}}]},
    "T10": {"protocol": "gdw1376", "ok": True, "control": {"dir": 1, "acd": 1}, "afn": 16,
            "units": [{"pn": 0, "fn": 1, "data": {"port": 31, "frame": {
                "protocol": "dlt645-2007", "control": {"dir": 1, "func": 0x11},
                "di": "04000503",
                "values": {"status_word_3": {"raw": 0x0050,
                                             "bits": {"relay_off": 1, "relay_command_off": 1}}}}}}],
            "aux": {"ec": [0x4F, 0]}},
    "T11": {"protocol": "gdw1376", "ok": True, "control": {"dir": 0, "func": 11}, "afn": 0,
            "seq": {"seq": 1},
            "units": [{"pn": 0, "fn": 3, "data": {
                "afn": 2, "verdicts": [{"da": 0, "dt": 0x0004, "err": 0}]}}]},
    "T12": {"protocol": "dlt645-2007", "ok": True, "address": "000000000161",
            "control": {"dir": 0, "abnormal": 0, "func": 0x11}, "di": "00010000"},
    "T13": {"protocol": "dlt645-2007", "ok": True, "address": "218231000114",
            "control": {"dir": 1, "abnormal": 0, "follow": 0}, "di": "00010000",
            "values": {"forward_active_total": 0.06}, "error_word": None},
    "T14": {"protocol": "dlt645-2007", "ok": True, "address": "000000000001",
            "di": "00010000", "values": {"forward_active_total": 112280.26}},
    "T15": {"protocol": "dlt645-2007", "ok": True, "address": "123456789012",
            "control": {"dir": 1, "abnormal": 1, "func": 0x11},
            "error_word": {"raw": 2, "flags": ["no_data"]}},
    "T16": {"protocol": "dlt645-2007", "ok": False},
    "T17": {"protocol": "dlt645-2007", "ok": True, "address": "151230011061",
            "control": {"dir": 0, "func": 0x1C}, "di": None,
            "values": {"level": 2, "password": "370602", "operator": "01000000",
                       "command": 0x1A, "valid_until": "2099-12-30T00:00:00"}},
    "T18": {"protocol": "dlt645-1997", "ok": True, "address": "000000000414",
            "control": {"func": 0x01}, "di": "9010"},
    "T19": {"protocol": "dlt645-1997", "ok": True, "address": "000000000414",
            "di": "9010", "values": {"forward_active_total": 9580.15}},
    "T20": {"protocol": "dlt698", "ok": True, "address": {"sa": "000000000001"},
            "link_request": {"kind": 1, "heartbeat": 300}},
    "T21": {"protocol": "dlt698", "ok": True, "address": {"sa": "000000000001"},
            "link_request": {"kind": 0, "heartbeat": 300, "time": "2022-02-23 08:06:56.802"}},
    "T22": {"protocol": "csg", "ok": True, "control": {"dir": 1, "prm": 1, "func": 4},
            "address": {"a1": "FFFFFF", "a2": 0xFFFFFF, "msa": 0}, "afn": 0x12,
            "seq": {"con": 1}, "da": 0, "di": "E000030D", "task": 13},
    "X_afn00_f1_confirm_pseq3": {"protocol": "gdw1376", "ok": True, "afn": 0,
                                 "seq": {"seq": 3}, "units": [{"fn": 1}]},
    "X_afn00_f3_login_confirm_pseq3": {"protocol": "gdw1376", "ok": True, "afn": 0,
                                       "units": [{"fn": 3, "data": {"afn": 2}}]},
    "X_afn05_f1_remote_trip": {"protocol": "gdw1376", "ok": True, "afn": 5,
                               "address": {"a1": "4403", "a2": 1, "msa": 1},
                               "units": [{"pn": 1, "fn": 1}], "aux": {"pw": " ".join(["00"] * 16)}},
    "X_afn05_f2_allow_close": {"protocol": "gdw1376", "ok": True, "afn": 5,
                               "units": [{"pn": 1, "fn": 2, "data": None}]},
    "X_afn0d_f161_request": {"protocol": "gdw1376", "ok": True, "afn": 13,
                             "units": [{"pn": 1, "fn": 161, "data": {"td": "2024-05-01"}}]},
}
# fmt: on


def assert_subset(expected: Any, actual: Any, path: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing"
            assert_subset(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
        assert isinstance(actual, list), path
        assert len(actual) == len(expected), f"{path}: {len(actual)} items"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(e, a, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("name", sorted(MEANINGS))
def test_vector_decodes_as_published(name: str) -> None:
    raw, obj = decode_hex(vector(name).hex())
    assert_subset(MEANINGS[name], obj)
    assert obj["length"] == len(raw)
    if not obj["ok"]:
        assert obj["error"]


def test_every_vector_file_has_a_meaning() -> None:
    stems = {
        p.stem.split("_", 1)[0] if p.stem.startswith("T") else p.stem
        for p in all_vectors()
    }
    assert stems == set(MEANINGS)
