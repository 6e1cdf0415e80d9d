"""AFN 09H terminal configuration units against frames built from Std-2013 §5.9."""

from __future__ import annotations

from datetime import date

from protocols.gdw1376 import AFN, DataUnit, decode_frame
from protocols.gdw1376.units.afn09 import (
    LocalModuleVersion,
    OtherConfig,
    PortConfig,
    PortsConfig,
    RemoteModuleVersion,
    SupportedEvents,
    SupportedFns,
    TerminalVersion,
)
from tests.protocols.gdw1376.unitframes import query, response, single


def ascii_hex(text: str, size: int) -> str:
    return text.encode("ascii").ljust(size, b"\x00").hex()


def test_request_carries_no_data() -> None:
    # Table 115: F1-F8 in one identifier (DT1 = FF), p0, no data; F9, F10 next group.
    frame = decode_frame(query(AFN.CONFIG, "00 00 FF 00 00 00 03 01"))
    assert frame.ok
    assert frame.units == [DataUnit(0, fn) for fn in range(1, 11)]


def test_f1_terminal_version() -> None:
    # Table 116: 4 + 8 + 4 ASCII, A.20, 11 ASCII, 4 + 4 ASCII, A.20 = 41 bytes.
    data = (
        ascii_hex("ABCD", 4)
        + ascii_hex("12345678", 8)
        + ascii_hex("V1.2", 4)
        + "20 05 13"
        + ascii_hex("CAP-2040", 11)
        + ascii_hex("12.0", 4)
        + ascii_hex("H1", 4)
        + "01 01 13"
    )
    unit = single(response(AFN.CONFIG, "00 00 01 00" + data))
    assert unit.data == TerminalVersion(
        vendor="ABCD",
        device_number="12345678",
        software_version="V1.2",
        software_date=date(2013, 5, 20),
        capacity_code="CAP-2040",
        protocol_version="12.0",
        hardware_version="H1",
        hardware_date=date(2013, 1, 1),
    )


def test_f2_ports() -> None:
    # Table 117: 8 pulse, 4 switch inputs, 0 DC, 2 outputs, 2040 meters, buffers 2048,
    # MAC 00:11:22:33:44:55, one port: word 0x405F = usage 2 (D15-D13), standard
    # async (D7 0), channel 2 carrier (D6-D5), port 31; 9600 bps, 1024 devices.
    data = (
        "08 04 00 02 F8 07 00 08 00 08 00 11 22 33 44 55 01"
        " 5F 40 80 25 00 00 00 04 00 01 00 01"
    )
    unit = single(response(AFN.CONFIG, "00 00 02 00 " + data))
    assert unit.data == PortsConfig(
        pulse_inputs=8,
        switch_inputs=4,
        dc_inputs=0,
        switch_outputs=2,
        max_meters=2040,
        rx_buffer=2048,
        tx_buffer=2048,
        mac=bytes.fromhex("001122334455"),
        port_count=1,
        ports=[PortConfig(2, 0, 2, 31, 9600, 1024, 256, 256)],
    )


def test_f3_other_config() -> None:
    # Table 118: 2040 points, 8 groups, 64 tasks, 8 differential groups, 14 tariffs,
    # densities 1 (15 min) x5, 31 days, 12 months, 3 schemes, harmonic 19,
    # 16 capacitor groups, 20 key users, user classes 0 and 1, 16 and 2 subclasses.
    data = "F8 07 08 40 08 0E 01 01 01 01 01 1F 0C 03 13 10 14 03 00 10 02" + " 00" * 14
    unit = single(response(AFN.CONFIG, "00 00 04 00 " + data))
    assert unit.data == OtherConfig(
        2040, 8, 64, 8, 14, 1, 1, 1, 1, 1, 31, 12, 3, 19, 16, 20, 0x0003,
        [16, 2] + [0] * 14,
    )  # fmt: skip


def test_f4_f5_supported_fns() -> None:
    # Table 119: two groups, F1-F8 and F9 -> parameters F1..F9; F5 shares the layout.
    frame = decode_frame(response(AFN.CONFIG, "00 00 18 00 02 FF 01 01 01"))
    assert frame.ok
    params, controls = frame.units
    assert isinstance(params.data, SupportedFns)
    assert params.fn == 4
    assert params.data.fns() == list(range(1, 10))
    assert (controls.fn, controls.data) == (5, SupportedFns(1, [0x01]))


def test_f8_supported_events() -> None:
    # Table 121: ERC1, ERC14, ERC64 -> bits 0, 13, 63.
    unit = single(response(AFN.CONFIG, "00 00 80 00 01 20 00 00 00 00 00 80"))
    assert unit.data == SupportedEvents((1 << 63) | (1 << 13) | 1)


def test_f9_remote_module_version() -> None:
    # Table 122: ASCII 4, 8, 4, A.20, ASCII 4, A.20, ICCID ASCII 20.
    data = (
        ascii_hex("QCOM", 4)
        + ascii_hex("EC20", 8)
        + ascii_hex("R01", 4)
        + "15 08 18"
        + ascii_hex("H02", 4)
        + "01 07 18"
        + ascii_hex("89860012345678901234", 20)
    )
    unit = single(response(AFN.CONFIG, "00 00 01 01" + data))
    assert unit.data == RemoteModuleVersion(
        "QCOM", "EC20", "R01", date(2018, 8, 15), "H02", date(2018, 7, 1),
        "89860012345678901234",
    )  # fmt: skip


def test_f10_local_module_version() -> None:
    # Table 123: address BCD 6 (low byte first), vendor "TC", chip "01",
    # date 15-08-13 (DD MM YY BCD), version BCD 2 "0201".
    data = (
        "01 00 00 00 00 00" + ascii_hex("TC", 2) + ascii_hex("01", 2) + "15 08 13 01 02"
    )
    unit = single(response(AFN.CONFIG, "00 00 02 01 " + data))
    assert unit.data == LocalModuleVersion(
        "000000000001", "TC", "01", date(2013, 8, 15), 201
    )
