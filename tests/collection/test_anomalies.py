"""Data anomalies (数据异常): every detector on one crafted archive and two days of
daily frozen readings, clock drift, the operators' list and the API routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from headend.api.anomalies import router
from headend.collection.anomalies import (
    DAY_KINDS,
    ClockDrift,
    Kind,
    Thresholds,
    UnknownArea,
    check_clock,
    clock_drift,
    close,
    detect_day,
    get_anomaly,
    list_anomalies,
    record,
)
from headend.ingest import FORWARD_ACTIVE, REVERSE_ACTIVE
from headend.storage.migrate import upgrade

Conn = psycopg.AsyncConnection[Any]

DAY = date(2024, 5, 2)
YESTERDAY = DAY - timedelta(days=1)
RECEIVED = datetime(2024, 5, 2, 16, 40, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
NONE = object()  # no reading row at all (as opposed to a NULL value)

# The crafted archive: (terminal A2, pn) -> meter, with its readings of YESTERDAY and
# DAY (value, None for a reported-absent value, NONE for no row) and what it is.
# Terminal 1 and 3 stand in area TQA, 2 in TQB, 4 in no area.
# Customers: "cap8" 8 kVA (limit 8 × 36 = 288 kWh/day), "cap100" 100 kVA (3,600),
# "nocap" without a capacity (the absolute 2,000 kWh/day on the register).
METERS: list[dict[str, Any]] = [
    # terminal 1, area TQA: four normal meters make the area "advancing"
    {"t": 1, "pn": 1, "cust": "cap8", "y": 100, "d": 110},
    {"t": 1, "pn": 2, "cust": "cap8", "y": 200, "d": 215},
    {"t": 1, "pn": 3, "y": 300, "d": 305.5},
    {"t": 1, "pn": 4, "y": 400, "d": 400.5},
    {"t": 1, "pn": 5, "y": 0, "d": 0},  # zero_energy
    {"t": 1, "pn": 6, "y": 1234.5, "d": 1234.5},  # stalled_energy
    {"t": 1, "pn": 7, "y": 5000, "d": 4000},  # negative_increment
    {"t": 1, "pn": 8, "cust": "cap8", "y": 999995.5, "d": 3.2},  # rollover: +7.7
    {"t": 1, "pn": 9, "cust": "cap8", "y": 1000, "d": 1500},  # jump: 500 > 288
    {"t": 1, "pn": 10, "cust": "nocap", "y": 1000, "d": 3600},  # jump: 2600 > 2000
    {"t": 1, "pn": 11, "cust": "nocap", "y": 1000, "d": 2500},  # 1500: fine
    {
        "t": 1,
        "pn": 12,
        "cust": "cap100",
        "ct": 40,
        "y": 50,
        "d": 150,
    },  # 100 × 40 > 3600
    {"t": 1, "pn": 13, "y": 10, "d": NONE},  # meter_not_reporting
    {"t": 1, "pn": 14, "y": 10, "d": None},  # meter_not_reporting (reported absent)
    {"t": 1, "pn": 15, "status": "discovered", "y": 5, "d": 6},  # not in archive
    {"t": 1, "pn": 16, "status": "removed", "y": NONE, "d": NONE},  # replaced: nothing
    {"t": 1, "pn": 17, "y": 20, "d": 19.995},  # within tolerance: stalled, not negative
    {"t": 1, "pn": 18, "y": 985000, "d": 5000},  # no wrap (not from the top): negative
    {"t": 1, "pn": 19, "y": NONE, "d": 50},  # new: nothing to compare
    {"t": 1, "pn": 20, "cust": "cap8", "y": 1000, "d": 1200},  # 200 < 288: fine
    # terminal 2, area TQB: only two meters advance, too few to judge the others
    {"t": 2, "pn": 1, "y": 10, "d": 20},
    {"t": 2, "pn": 2, "y": 10, "d": 30},
    {"t": 2, "pn": 3, "y": 0, "d": 0},
    {"t": 2, "pn": 4, "y": 50, "d": 50},
    {"t": 2, "pn": 5, "area": "TQA", "y": 70, "d": 70},  # its own area TQA: stalled
    # terminal 3, area TQA: delivered nothing on DAY (offline): no meter is blamed
    {"t": 3, "pn": 1, "y": 10, "d": NONE},
    {"t": 3, "pn": 2, "y": 10, "d": NONE},
    # terminal 4, no area: a stalled meter has nothing to be compared with
    *({"t": 4, "pn": pn, "y": 10, "d": 20} for pn in range(1, 5)),
    {"t": 4, "pn": 5, "y": 33, "d": 33},
]

EXPECTED = {
    (Kind.ZERO_ENERGY, 1, 5),
    (Kind.STALLED_ENERGY, 1, 6),
    (Kind.STALLED_ENERGY, 1, 17),
    (Kind.STALLED_ENERGY, 2, 5),
    (Kind.NEGATIVE_INCREMENT, 1, 7),
    (Kind.NEGATIVE_INCREMENT, 1, 18),
    (Kind.ENERGY_JUMP, 1, 9),
    (Kind.ENERGY_JUMP, 1, 10),
    (Kind.ENERGY_JUMP, 1, 12),
    (Kind.METER_NOT_REPORTING, 1, 13),
    (Kind.METER_NOT_REPORTING, 1, 14),
    (Kind.METER_NOT_IN_ARCHIVE, 1, 15),
}
EXPECTED_COUNTS = {
    str(k): sum(1 for kind, _, _ in EXPECTED if kind == k) for k in DAY_KINDS
}


@pytest.fixture
async def db(dsn: str) -> str:
    """The engine under test, migrated, with the crafted archive and readings."""
    await upgrade(dsn)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await _archive(conn)
    return dsn


@pytest.fixture
async def conn(db: str) -> AsyncIterator[Conn]:
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as c:
        yield c


async def _one(conn: Conn, query: Any, params: Any = None) -> Any:
    row = await (await conn.execute(query, params)).fetchone()
    assert row is not None
    return row[0]


async def _archive(conn: Conn) -> None:
    areas = {
        code: await _one(
            conn,
            "INSERT INTO transformer_area (code, name, capacity_kva) "
            "VALUES (%s, %s, 400) RETURNING id",
            (code, f"{code} 台区"),
        )
        for code in ("TQA", "TQB")
    }
    customers = {
        name: await _one(
            conn,
            "INSERT INTO customer (account_no, name, contract_capacity_kva, "
            "transformer_area_id) VALUES (%s, %s, %s, %s) RETURNING id",
            (name, f"客户 {name}", capacity, areas["TQA"]),
        )
        for name, capacity in (("cap8", 8), ("cap100", 100), ("nocap", None))
    }
    terminal_area = {1: "TQA", 2: "TQB", 3: "TQA", 4: None}
    terminals = {
        a2: await _one(
            conn,
            "INSERT INTO terminal (a1, a2, transformer_area_id) "
            "VALUES ('4403', %s, %s) RETURNING id",
            (a2, areas.get(area) if area else None),
        )
        for a2, area in terminal_area.items()
    }
    readings = []
    for m in METERS:
        meter_id = await _one(
            conn,
            "INSERT INTO meter (terminal_id, pn, address, status, ct_ratio, "
            "customer_id, transformer_area_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                terminals[m["t"]], m["pn"],
                "000000000000" if m.get("status") == "discovered"
                else f"{m['t']:08d}{m['pn']:04d}",
                m.get("status", "active"), m.get("ct", 1),
                customers.get(m.get("cust", "")), areas.get(m.get("area", "")),
            ),
        )  # fmt: skip
        for day, value in ((YESTERDAY, m["y"]), (DAY, m["d"])):
            if value is not NONE:
                readings.append((meter_id, FORWARD_ACTIVE, day, value,
                                 terminals[m["t"]]))  # fmt: skip
                # another register beside it, which the detectors must ignore
                readings.append((meter_id, REVERSE_ACTIVE, day, 0, terminals[m["t"]]))
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO reading_daily (meter_id, item_id, day, value, received_at, "
            "terminal_id, source) VALUES (%s, %s, %s, %s, now(), %s, 1)",
            readings,
        )


async def _found(conn: Conn, day: date = DAY) -> set[tuple[str, int, int]]:
    rows = await list_anomalies(conn, day=day, status=None, limit=1000)
    return {(r["kind"], int(r["terminal"][-5:]), r["pn"]) for r in rows}


# --- detection -----------------------------------------------------------------------


async def test_detect_day_finds_exactly_the_anomalies(conn: Conn) -> None:
    counts = await detect_day(conn, DAY)
    assert counts == EXPECTED_COUNTS
    assert await _found(conn) == {(str(k), t, pn) for k, t, pn in EXPECTED}

    # The details say why, in the operators' terms.
    jumps = {r["pn"]: r for r in await list_anomalies(conn, kind="energy_jump")}
    assert jumps[9]["detail"]["basis"] == "contract_capacity"
    assert jumps[9]["detail"]["limit_kwh"] == 288
    assert jumps[10]["detail"]["basis"] == "absolute"
    assert jumps[10]["detail"]["limit_kwh"] == 2000
    assert jumps[12]["detail"]["energy_kwh"] == 4000  # 100 kWh × CT 40
    assert jumps[12]["detail"]["multiplier"] == 40
    [absent] = [
        r for r in await list_anomalies(conn, kind="meter_not_reporting")
        if r["pn"] == 14
    ]  # fmt: skip
    assert absent["detail"]["reported_absent"] is True
    [zero] = await list_anomalies(conn, kind="zero_energy")
    assert zero["area"] == "TQA"
    assert zero["terminal"] == "4403-00001"
    assert zero["meter_address"] == "000000010005"
    assert zero["detail"]["area_advancing"] >= 3
    # a meter's own area counts before its terminal's
    stalled = await list_anomalies(conn, kind="stalled_energy", area="TQA")
    assert {(r["terminal"], r["pn"]) for r in stalled} == {
        ("4403-00001", 6), ("4403-00001", 17), ("4403-00002", 5),
    }  # fmt: skip


async def test_detection_twice_inserts_nothing_twice(conn: Conn) -> None:
    await detect_day(conn, DAY)
    again = await detect_day(conn, DAY)
    assert again == dict.fromkeys(EXPECTED_COUNTS, 0)
    assert await _one(conn, "SELECT count(*) FROM data_anomaly") == len(EXPECTED)


async def test_thresholds_change_the_findings(conn: Conn) -> None:
    # Two advancing meters are enough for TQB now; no capacity-less jump below 3000.
    t = Thresholds(min_area_advancing=2, jump_kwh_per_day=3000)
    counts = await detect_day(conn, DAY, thresholds=t)
    found = await _found(conn)
    assert ("zero_energy", 2, 3) in found
    assert ("stalled_energy", 2, 4) in found
    assert ("energy_jump", 1, 10) not in found
    assert counts["zero_energy"] == 2
    assert counts["energy_jump"] == 2
    assert t.jump_kwh_per_kva_day == 36.0


@pytest.mark.parametrize(
    "bad",
    [{"tolerance_kwh": -1}, {"jump_factor": float("nan")}, {"min_area_advancing": 0},
     {"rollover_low_kwh": 995_000.0}],
)  # fmt: skip
def test_bad_thresholds_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"threshold|rollover"):
        Thresholds(**bad)


async def test_a_day_without_readings_finds_nothing(conn: Conn) -> None:
    assert await detect_day(conn, DAY + timedelta(days=5)) == dict.fromkeys(
        EXPECTED_COUNTS, 0
    )


# --- clock drift ---------------------------------------------------------------------


def test_clock_drift() -> None:
    now = datetime(2024, 5, 2, 12, 0, 0)
    assert clock_drift(now + timedelta(seconds=900), now, 300) == 900.0
    assert clock_drift(now - timedelta(seconds=301), now, 300) == -301.0
    assert clock_drift(now + timedelta(seconds=300), now, 300) is None  # at the limit
    assert clock_drift(now, now, 0) is None
    aware = now.replace(tzinfo=SHANGHAI)
    received = datetime(2024, 5, 2, 4, 10, tzinfo=UTC)  # 12:10 in Shanghai
    assert clock_drift(aware, received, 300) == -600.0
    with pytest.raises(ValueError, match="both be aware or both naive"):
        clock_drift(aware, now, 300)
    with pytest.raises(ValueError, match="threshold_s"):
        clock_drift(now, now, -1)


def test_check_clock_builds_the_finding_of_the_local_day() -> None:
    # Read at 00:30 Beijing time on 3 May (16:30 UTC on 2 May), 15 minutes ahead.
    received = datetime(2024, 5, 2, 16, 30, tzinfo=UTC)
    device = (received + timedelta(minutes=15)).astimezone(SHANGHAI)
    found = check_clock(Kind.METER_CLOCK_DRIFT, terminal_id=1, meter_id=7,
                        device_time=device, received=received)  # fmt: skip
    assert found is not None
    assert (found.day, found.drift_s) == (date(2024, 5, 3), 900.0)
    assert found.detail()["drift_s"] == 900.0
    assert check_clock(Kind.TERMINAL_CLOCK_DRIFT, terminal_id=1,
                       device_time=received + timedelta(seconds=60),
                       received=received) is None  # fmt: skip
    with pytest.raises(ValueError, match="names its meter"):
        ClockDrift(Kind.METER_CLOCK_DRIFT, 1, None, DAY, 900, received, received)
    with pytest.raises(ValueError, match="not a clock anomaly"):
        ClockDrift(Kind.ENERGY_JUMP, 1, None, DAY, 900, received, received)


async def test_clock_drift_is_recorded_once_per_device_and_day(conn: Conn) -> None:
    t1 = await _one(conn, "SELECT id FROM terminal WHERE a2 = 1")
    t2 = await _one(conn, "SELECT id FROM terminal WHERE a2 = 2")
    meter = await _one(
        conn, "SELECT id FROM meter WHERE terminal_id = %s AND pn = 1", (t1,)
    )
    rows = [
        check_clock(Kind.METER_CLOCK_DRIFT, terminal_id=t1, meter_id=meter,
                    device_time=RECEIVED + timedelta(seconds=900), received=RECEIVED),
        check_clock(Kind.TERMINAL_CLOCK_DRIFT, terminal_id=t2,
                    device_time=RECEIVED - timedelta(seconds=400), received=RECEIVED),
        check_clock(Kind.TERMINAL_CLOCK_DRIFT, terminal_id=t2,  # later the same day
                    device_time=RECEIVED - timedelta(seconds=500), received=RECEIVED),
    ]  # fmt: skip
    found = [r for r in rows if r is not None]
    assert await record(conn, found) == 2
    assert await record(conn, found) == 0
    assert await record(conn, []) == 0
    [terminal] = await list_anomalies(conn, area="TQB")
    assert terminal["kind"] == "terminal_clock_drift"
    assert terminal["detail"]["drift_s"] == -400.0
    assert terminal["meter_id"] is None
    [meter_drift] = await list_anomalies(conn, kind="meter_clock_drift")
    assert (meter_drift["terminal"], meter_drift["pn"]) == ("4403-00001", 1)
    assert meter_drift["area"] == "TQA"
    assert meter_drift["day"] == DAY


# --- the operators' list ---------------------------------------------------------------


async def test_list_filters_pages_and_refuses_bad_values(conn: Conn) -> None:
    await detect_day(conn, DAY)
    everything = await list_anomalies(conn, limit=1000)
    assert len(everything) == len(EXPECTED)
    assert [r["kind"] for r in everything] == sorted(r["kind"] for r in everything)
    pages = [
        *await list_anomalies(conn, limit=5),
        *await list_anomalies(conn, limit=5, offset=5),
        *await list_anomalies(conn, limit=5, offset=10),
    ]
    assert [r["id"] for r in pages] == [r["id"] for r in everything]
    assert await list_anomalies(conn, day=YESTERDAY) == []
    assert await list_anomalies(conn, area="TQB") == []
    assert len(await list_anomalies(conn, kind="energy_jump")) == 3
    with pytest.raises(UnknownArea, match="NOPE"):
        await list_anomalies(conn, area="NOPE")
    with pytest.raises(ValueError, match="kind"):
        await list_anomalies(conn, kind="bogus")
    with pytest.raises(ValueError, match="status"):
        await list_anomalies(conn, status="done")
    with pytest.raises(ValueError, match="limit"):
        await list_anomalies(conn, limit=0)


async def test_close(conn: Conn) -> None:
    await detect_day(conn, DAY)
    [zero] = await list_anomalies(conn, kind="zero_energy")
    assert await close(conn, zero["id"]) is True
    closed = await get_anomaly(conn, zero["id"])
    assert closed is not None
    assert closed["status"] == "closed"
    assert closed["closed_at"] is not None
    assert await close(conn, zero["id"]) is True  # again: nothing changes
    assert await get_anomaly(conn, zero["id"]) == closed
    assert await close(conn, 10**9) is False
    assert await get_anomaly(conn, 10**9) is None
    assert await list_anomalies(conn, kind="zero_energy") == []
    assert len(await list_anomalies(conn, kind="zero_energy", status="closed")) == 1
    # the next run does not reopen what an operator closed
    assert (await detect_day(conn, DAY))["zero_energy"] == 0
    assert await list_anomalies(conn, kind="zero_energy") == []


# --- API -----------------------------------------------------------------------------


def _client(dsn: str) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(router(lambda: dsn), prefix="/api/v1")
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    )


async def test_api(db: str) -> None:
    async with _client(db) as api:
        got = await api.post("/api/v1/anomalies/detect", params={"day": "2024-05-02"})
        assert got.status_code == 200
        assert got.json() == {"day": "2024-05-02", "inserted": EXPECTED_COUNTS}
        again = await api.post("/api/v1/anomalies/detect?day=2024-05-02")
        assert set(again.json()["inserted"].values()) == {0}

        listed = await api.get(
            "/api/v1/anomalies", params={"day": "2024-05-02", "kind": "energy_jump"}
        )
        assert listed.status_code == 200
        jumps = listed.json()
        assert sorted(j["pn"] for j in jumps) == [9, 10, 12]
        assert {(j["terminal"], j["area"], j["status"]) for j in jumps} == {
            ("4403-00001", "TQA", "open")
        }
        assert len((await api.get("/api/v1/anomalies?area=TQA&limit=2")).json()) == 2

        closed = await api.post(f"/api/v1/anomalies/{jumps[0]['id']}/close")
        assert closed.status_code == 200
        assert closed.json()["status"] == "closed"
        assert len((await api.get("/api/v1/anomalies?kind=energy_jump")).json()) == 2
        every = await api.get("/api/v1/anomalies?kind=energy_jump&status=all")
        assert len(every.json()) == 3

        missing = await api.post("/api/v1/anomalies/999999/close")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "no anomaly 999999"
        unknown = await api.get("/api/v1/anomalies?area=NOPE")
        assert unknown.status_code == 400
        assert "NOPE" in unknown.json()["detail"]
        for bad in ("kind=bogus", "limit=5000", "limit=0", "offset=-1",
                    "day=2024-13-01", "status=done", "area=not%20a%20code"):  # fmt: skip
            answer = await api.get(f"/api/v1/anomalies?{bad}")
            assert answer.status_code == 422, bad
            assert answer.json()["detail"][0]["loc"][0] == "query", bad
        assert (await api.post("/api/v1/anomalies/detect")).status_code == 422
        assert (await api.post("/api/v1/anomalies/0/close")).status_code == 422


async def test_api_without_a_database() -> None:
    dsn = "host=127.0.0.1 port=1 dbname=none user=none connect_timeout=2"
    async with _client(dsn) as api:
        answer = await api.get("/api/v1/anomalies")
    assert answer.status_code == 503
    assert "database unavailable" in answer.json()["detail"]


async def test_api_before_the_migrations(pg_dsn: str) -> None:
    async with _client(pg_dsn) as api:
        answer = await api.get("/api/v1/anomalies")
    assert answer.status_code == 503
    assert "migrations" in answer.json()["detail"]
