"""Every change of an archive table is audited: who, when, before and after."""

from __future__ import annotations

import psycopg

from headend.archive import repository
from headend.archive.csvio import import_csv
from headend.archive.models import Customer, Tariff, Terminal
from tests.archive.conftest import DATA, scalar

AUDIT = (
    "SELECT actor, table_name, row_id, action, before, after FROM archive_audit "
    "WHERE table_name = %s ORDER BY id"
)


async def audit(conn, table: str):
    return await (await conn.execute(AUDIT, (table,))).fetchall()


async def test_insert_update_delete(conn):
    zhang = Customer(account_no="0100000001", name="张三", phone="13800138000")
    assert await repository.upsert(conn, zhang, actor="alice") == "inserted"
    renamed = Customer(account_no="0100000001", name="张三丰")
    assert await repository.upsert(conn, renamed, actor="bob") == "updated"
    assert await repository.upsert(conn, renamed, actor="bob") == "unchanged"
    await repository.delete(conn, Customer, "0100000001", actor="carol")

    rows = await audit(conn, "customer")
    assert [(r[0], r[3]) for r in rows] == [
        ("alice", "insert"),
        ("bob", "update"),
        ("carol", "delete"),
    ]
    (_, _, row_id, _, before, after), update, delete = rows
    assert before is None
    assert after["account_no"] == "0100000001"
    assert after["name"] == "张三"
    assert row_id == str(after["id"])
    assert update[4]["name"] == "张三"
    assert update[5]["name"] == "张三丰"
    assert update[5]["phone"] == "13800138000"  # not set in `renamed`: kept
    assert update[5]["updated_at"] != update[4]["updated_at"]
    assert delete[4]["name"] == "张三丰"
    assert delete[5] is None


async def test_timestamps_and_key_column(conn):
    await repository.upsert(conn, Tariff(code="101", name="居民生活"), actor="alice")
    await repository.upsert(
        conn, Tariff(code="101", name="居民生活用电"), actor="alice"
    )
    rows = await audit(conn, "tariff")
    assert [r[2] for r in rows] == ["101", "101"]  # a tariff's key is its code
    ts = await scalar(conn, "SELECT bool_and(ts <= now()) FROM archive_audit")
    assert ts is True


async def test_actor_falls_back_to_the_database_user(conn):
    await conn.execute(
        "INSERT INTO terminal (a1, a2, status) VALUES ('4403', 9, 'discovered')"
    )
    assert (await audit(conn, "terminal"))[0][:4] == (
        "postgres",
        "terminal",
        "1",
        "insert",
    )
    # A SET LOCAL of an earlier transaction leaves '' behind, not NULL: still the user.
    async with conn.transaction():
        await conn.execute("SET LOCAL headend.actor = 'dave'")
        await conn.execute("UPDATE terminal SET vendor = '威胜'")
    await conn.execute("UPDATE terminal SET model = 'DJGZ23'")
    assert [r[0] for r in await audit(conn, "terminal")] == [
        "postgres",
        "dave",
        "postgres",
    ]


async def test_a_no_op_update_is_not_audited(conn):
    await repository.upsert(conn, Terminal(a1="4403", a2=1), actor="alice")
    updated_at = await scalar(conn, "SELECT updated_at FROM terminal")
    await conn.execute("UPDATE terminal SET vendor = NULL")
    assert len(await audit(conn, "terminal")) == 1
    assert await scalar(conn, "SELECT updated_at FROM terminal") == updated_at


async def test_import_is_audited_under_its_actor(conn, mapping):
    await import_csv(
        conn, DATA / "tariffs.csv", mapping=mapping, kind=Tariff.kind, actor="importer"
    )
    rows = await audit(conn, "tariff")
    assert {r[0] for r in rows} == {"importer"}
    assert len(rows) == 3
    # A rolled-back import leaves no audit rows.
    await import_csv(
        conn,
        DATA / "customers_bad.csv",
        mapping=mapping,
        kind=Customer.kind,
        actor="importer",
    )
    assert await audit(conn, "customer") == []


async def test_cascaded_changes_are_audited(conn, archive_dsn):
    from headend.archive.models import SimCard

    await repository.upsert(conn, SimCard(iccid="89860117750000000001"), actor="alice")
    await repository.upsert(
        conn, Terminal(a1="4403", a2=1, iccid="89860117750000000001"), actor="alice"
    )
    await repository.delete(conn, SimCard, "89860117750000000001", actor="bob")
    update = (await audit(conn, "terminal"))[-1]
    assert update[0] == "bob"
    assert update[3] == "update"
    assert update[4]["sim_id"] is not None
    assert update[5]["sim_id"] is None
    async with await psycopg.AsyncConnection.connect(archive_dsn) as other:
        assert (await repository.get(other, Terminal, "4403", 1)).iccid is None
