"""The consistency report: one test archive with one case of every finding."""

from __future__ import annotations

from headend.archive import repository
from headend.archive.checks import CHECKS, Finding, run_checks
from headend.archive.models import Customer, Meter, Terminal, TransformerArea

ICCID_1 = "89860117750000000001"


async def test_clean_archive_has_no_findings(clean):
    assert await run_checks(clean) == []


async def test_every_finding(clean):
    op = {"actor": "op"}
    # Meter address 000000000101 (4403-00002 pn 1) again on 4403-00001 pn 9.
    await repository.upsert(
        clean,
        Meter(
            terminal_a1="4403",
            terminal_a2=1,
            pn=9,
            address="000000000101",
            account_no="0100000001",
        ),
        **op,
    )
    # 4403-00003: no SIM; 4403-00004: the SIM of 4403-00001; both in 台区 TQ0001.
    await repository.upsert(clean, Terminal(a1="4403", a2=3, area_code="TQ0001"), **op)
    await repository.upsert(
        clean, Terminal(a1="4403", a2=4, iccid=ICCID_1, area_code="TQ0001"), **op
    )
    # 4403-00002 taken out of service: its live meters hang on an inactive terminal.
    await repository.upsert(clean, Terminal(a1="4403", a2=2, status="inactive"), **op)
    # Tariff code 999 is unknown; meter 4403-00001 pn 10 has no customer.
    await repository.upsert(
        clean, Customer(account_no="0100000004", name="陈十二", tariff_code="999"), **op
    )
    await repository.upsert(
        clean,
        Meter(terminal_a1="4403", terminal_a2=1, pn=10, address="000000000010"),
        **op,
    )
    # 台区 TQ0003 has no terminal.
    await repository.upsert(
        clean, TransformerArea(code="TQ0003", name="三号台区"), **op
    )
    # Two states the constraints forbid, as a restored or hand-edited archive has them.
    await clean.execute("ALTER TABLE terminal DROP CONSTRAINT terminal_a1_a2_key")
    await clean.execute(
        "INSERT INTO terminal (a1, a2, sim_id, transformer_area_id) "
        "SELECT a1, a2, sim_id, transformer_area_id FROM terminal WHERE a2 = 3"
    )
    await clean.execute("ALTER TABLE meter DROP CONSTRAINT meter_terminal_id_fkey")
    await clean.execute(
        "INSERT INTO meter (terminal_id, pn, address, customer_id) "
        "VALUES (999, 1, '000000000999', 1)"
    )
    # Placeholders of the ingest path: gaps of the archive, not errors of the others.
    await clean.execute(
        "INSERT INTO meter (terminal_id, pn, address, status) "
        "SELECT id, 20, '000000000000', 'discovered' FROM terminal WHERE a2 = 1"
    )
    await clean.execute(
        "INSERT INTO meter (terminal_id, pn, address, status) "
        "SELECT id, 21, '000000000000', 'discovered' FROM terminal WHERE a2 = 1"
    )
    await clean.execute(
        "INSERT INTO terminal (a1, a2, status) VALUES ('4403', 50, 'discovered')"
    )

    findings = await run_checks(clean)
    assert {f.check for f in findings} == {c.name for c in CHECKS}
    assert findings == [
        Finding(
            "duplicate_meter_address",
            "meter",
            "000000000101",
            "address on 2 measuring points: 4403-00001 pn 9, 4403-00002 pn 1",
        ),
        Finding(
            "duplicate_terminal_address",
            "terminal",
            "4403-00003",
            "address on 2 terminals (ids 3, 5)",
        ),
        Finding(
            "meter_terminal_missing",
            "meter",
            "000000000999 (pn 1)",
            "terminal id 999 does not exist",
        ),
        Finding(
            "meter_terminal_inactive",
            "meter",
            "4403-00002 pn 1",
            "terminal 4403-00002 is inactive",
        ),
        Finding(
            "meter_terminal_inactive",
            "meter",
            "4403-00002 pn 3",
            "terminal 4403-00002 is inactive",
        ),
        Finding("terminal_without_sim", "terminal", "4403-00003", "no SIM card"),
        Finding("terminal_without_sim", "terminal", "4403-00003", "no SIM card"),
        Finding(
            "sim_on_several_terminals",
            "sim",
            ICCID_1,
            "in 2 terminals: 4403-00001, 4403-00004",
        ),
        Finding("unknown_tariff", "customer", "0100000004", "unknown tariff code 999"),
        Finding(
            "meter_without_customer",
            "meter",
            "4403-00001 pn 10",
            "meter 000000000010 has no customer",
        ),
        Finding(
            "terminal_not_in_archive",
            "terminal",
            "4403-00050",
            "in the field, not in the archive",
        ),
        Finding(
            "point_not_in_archive",
            "meter",
            "4403-00001 pn 20",
            "readings arrive for a point the archive lacks",
        ),
        Finding(
            "point_not_in_archive",
            "meter",
            "4403-00001 pn 21",
            "readings arrive for a point the archive lacks",
        ),
        Finding(
            "area_without_terminals",
            "area",
            "TQ0003",
            "transformer area 三号台区 has no terminal",
        ),
    ]


async def test_only_some_checks(clean):
    await repository.upsert(
        clean, TransformerArea(code="TQ0003", name="三号台区"), actor="op"
    )
    assert [f.check for f in await run_checks(clean, {"area_without_terminals"})] == [
        "area_without_terminals"
    ]
    assert await run_checks(clean, {"unknown_tariff"}) == []
