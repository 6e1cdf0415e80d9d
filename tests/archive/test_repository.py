"""Repository: typed get/list/upsert/create/delete and the domain errors."""

from __future__ import annotations

import pytest

from headend.archive import repository
from headend.archive.errors import AlreadyExists, Conflict, MissingSchema, NotFound
from headend.archive.models import Customer, Meter, SimCard, Terminal, TransformerArea


async def test_get_list_and_ids(clean):
    terminal = await repository.get(clean, Terminal, "4403", 1)
    assert terminal.vendor == "威胜"
    assert terminal.region_code == "440305"
    assert terminal.area_code == "TQ0001"
    terminals = await repository.list_all(clean, Terminal)
    assert [t.address for t in terminals] == ["4403-00001", "4403-00002"]
    page = await repository.list_all(clean, Meter, limit=2, offset=1)
    assert [(m.terminal, m.pn) for m in page] == [("4403-00001", 2), ("4403-00002", 1)]
    meter_id = await repository.get_id(clean, Meter, "4403", 2, 3)
    assert meter_id == await repository.get_id(clean, Meter, "4403", 2, 3)
    live = await (
        await clean.execute("SELECT address FROM meter WHERE id = %s", (meter_id,))
    ).fetchone()
    assert live == ("000000000103",)


async def test_not_found(clean):
    with pytest.raises(NotFound, match="terminal 4403-00009 not found"):
        await repository.get(clean, Terminal, "4403", 9)
    with pytest.raises(NotFound, match="meter 4403-00001 pn 99 not found"):
        await repository.get_id(clean, Meter, "4403", 1, 99)
    with pytest.raises(NotFound, match="customer 0100000099 not found"):
        await repository.delete(clean, Customer, "0100000099", actor="op")
    meter = Meter(
        terminal_a1="4403",
        terminal_a2=1,
        pn=9,
        address="000000000009",
        account_no="0100000099",
    )
    with pytest.raises(
        NotFound, match="meter 4403-00001 pn 9: customer 0100000099 not found"
    ):
        await repository.upsert(clean, meter, actor="op")


async def test_upsert_writes_only_the_fields_set(clean):
    outcome = await repository.upsert(
        clean, Terminal(a1="4403", a2=1, firmware_version="V1.05"), actor="op"
    )
    assert outcome == "updated"
    terminal = await repository.get(clean, Terminal, "4403", 1)
    assert (terminal.firmware_version, terminal.vendor) == ("V1.05", "威胜")
    assert terminal.iccid == "89860117750000000001"
    cleared = Terminal(a1="4403", a2=1, iccid=None)
    await repository.upsert(clean, cleared, actor="op")
    assert (await repository.get(clean, Terminal, "4403", 1)).iccid is None


async def test_create_refuses_an_existing_key(clean):
    await repository.create(
        clean, TransformerArea(code="TQ0003", name="三号台区"), actor="op"
    )
    with pytest.raises(AlreadyExists, match="transformer area TQ0003"):
        await repository.create(
            clean, TransformerArea(code="TQ0003", name="x"), actor="op"
        )
    meter = Meter(terminal_a1="4403", terminal_a2=1, pn=1, address="000000000301")
    with pytest.raises(AlreadyExists, match="meter 4403-00001 pn 1"):
        await repository.create(clean, meter, actor="op")


async def test_delete_conflicts_and_lapses(clean):
    with pytest.raises(Conflict, match="terminal 4403-00001 is still referenced"):
        await repository.delete(clean, Terminal, "4403", 1, actor="op")
    await repository.delete(clean, TransformerArea, "TQ0001", actor="op")
    assert (await repository.get(clean, Customer, "0100000001")).area_code is None
    await repository.delete(clean, Meter, "4403", 1, 1, actor="op")
    await repository.delete(clean, Meter, "4403", 1, 2, actor="op")
    await repository.delete(clean, Terminal, "4403", 1, actor="op")
    # The SIM of the deleted terminal is still there.
    assert (
        await repository.get(clean, SimCard, "89860117750000000001")
    ).status == "active"


async def test_database_constraints_are_domain_errors(clean):
    # Bypass the model: the CHECK constraints are the last line.
    bad = Terminal.model_construct(a1="44A3", a2=1)
    with pytest.raises(Conflict, match=r"Failing row contains"):
        await repository.upsert(clean, bad, actor="op")


async def test_missing_schema(dsn):
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        with pytest.raises(MissingSchema, match="run the migrations"):
            await repository.get(conn, Terminal, "4403", 1)
        with pytest.raises(MissingSchema):
            await repository.upsert(conn, Terminal(a1="4403", a2=1), actor="op")
