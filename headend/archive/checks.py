"""Consistency report of the archive (档案核查): what the constraints cannot refuse.

Each check is one query returning (key, reason) rows; the table below is the whole
list. Findings name the entity by natural key. Some checks guard against states the
schema forbids (two terminals with one address, a meter whose terminal row is gone):
they cost nothing and catch archives restored or edited around the constraints.

Placeholder rows made by the ingest path for unknown terminals and points (status
``discovered``, meter address 000000000000) are left out of the other checks: they
are archive gaps, reported by the two ``*_not_in_archive`` checks (the field has a
terminal or a measuring point the archive lacks: 待建档).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, LiteralString

import psycopg
from psycopg import sql

from headend.archive.repository import domain_errors

_TERMINAL: Final = sql.SQL("t.a1 || '-' || lpad(t.a2::text, 5, '0')")


@dataclass(frozen=True, slots=True)
class Finding:
    """One inconsistency: which check, which entity (by natural key) and why."""

    check: str
    entity: str
    key: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Check:
    """One check: a query yielding (key, reason); ``{terminal}`` prints A1-A2."""

    name: str
    entity: str
    description: str
    query: LiteralString


CHECKS: Final = (
    Check(
        "duplicate_meter_address",
        "meter",
        "one meter address (通信地址) on several live measuring points",
        "SELECT m.address, 'address on ' || count(*) || ' measuring points: ' || "
        "string_agg(coalesce({terminal}, 'terminal id ' || m.terminal_id) "
        "|| ' pn ' || m.pn, ', ' ORDER BY t.a1, t.a2, m.pn) "
        "FROM meter m LEFT JOIN terminal t ON t.id = m.terminal_id "
        "WHERE m.status = 'active' GROUP BY m.address HAVING count(*) > 1",
    ),
    Check(
        "duplicate_terminal_address",
        "terminal",
        "one terminal address (A1-A2) on several terminal rows",
        "SELECT {terminal}, 'address on ' || count(*) || ' terminals (ids ' || "
        "string_agg(t.id::text, ', ' ORDER BY t.id) || ')' "
        "FROM terminal t GROUP BY t.a1, t.a2 HAVING count(*) > 1",
    ),
    Check(
        "meter_terminal_missing",
        "meter",
        "a live meter whose terminal does not exist",
        "SELECT m.address || ' (pn ' || m.pn || ')', "
        "'terminal id ' || m.terminal_id || ' does not exist' "
        "FROM meter m WHERE m.status = 'active' "
        "AND NOT EXISTS (SELECT 1 FROM terminal t WHERE t.id = m.terminal_id)",
    ),
    Check(
        "meter_terminal_inactive",
        "meter",
        "a live meter under a terminal that is not active",
        "SELECT {terminal} || ' pn ' || m.pn, "
        "'terminal ' || {terminal} || ' is ' || t.status "
        "FROM meter m JOIN terminal t ON t.id = m.terminal_id "
        "WHERE m.status = 'active' AND t.status <> 'active'",
    ),
    Check(
        "terminal_without_sim",
        "terminal",
        "a terminal in the archive with no SIM card",
        "SELECT {terminal}, 'no SIM card' FROM terminal t "
        "WHERE t.sim_id IS NULL AND t.status <> 'discovered'",
    ),
    Check(
        "sim_on_several_terminals",
        "sim",
        "one SIM card recorded in several terminals",
        "SELECT s.iccid, 'in ' || count(*) || ' terminals: ' || "
        "string_agg({terminal}, ', ' ORDER BY t.a1, t.a2) "
        "FROM terminal t JOIN sim_card s ON s.id = t.sim_id "
        "GROUP BY s.iccid HAVING count(*) > 1",
    ),
    Check(
        "unknown_tariff",
        "customer",
        "a customer whose tariff code (电价代码) is not in the tariff table",
        "SELECT c.account_no, 'unknown tariff code ' || c.tariff_code FROM customer c "
        "WHERE c.tariff_code IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM tariff f WHERE f.code = c.tariff_code)",
    ),
    Check(
        "meter_without_customer",
        "meter",
        "a live meter with no customer",
        "SELECT coalesce({terminal}, 'terminal id ' || m.terminal_id) "
        "|| ' pn ' || m.pn, 'meter ' || m.address || ' has no customer' "
        "FROM meter m LEFT JOIN terminal t ON t.id = m.terminal_id "
        "WHERE m.status = 'active' AND m.customer_id IS NULL",
    ),
    Check(
        "terminal_not_in_archive",
        "terminal",
        "a terminal that logged in or reported but is not in the archive (待建档)",
        "SELECT {terminal}, 'in the field, not in the archive' "
        "FROM terminal t WHERE t.status = 'discovered'",
    ),
    Check(
        "point_not_in_archive",
        "meter",
        "a measuring point that delivered readings but is not in the archive",
        "SELECT coalesce({terminal}, 'terminal id ' || m.terminal_id) || ' pn ' || m.pn, "
        "'readings arrive for a point the archive lacks' "
        "FROM meter m LEFT JOIN terminal t ON t.id = m.terminal_id "
        "WHERE m.status = 'discovered'",
    ),
    Check(
        "area_without_terminals",
        "area",
        "a transformer area (台区) no terminal collects",
        "SELECT a.code, 'transformer area ' || a.name || ' has no terminal' "
        "FROM transformer_area a "
        "WHERE NOT EXISTS (SELECT 1 FROM terminal t WHERE t.transformer_area_id = a.id)",
    ),
)


async def run_checks(
    conn: psycopg.AsyncConnection[Any], only: set[str] | None = None
) -> list[Finding]:
    """Every finding of every check (or of the named ones), in a stable order."""
    findings = []
    with domain_errors("archive check"):
        for check in CHECKS:
            if only is not None and check.name not in only:
                continue
            query = sql.SQL(check.query + " ORDER BY 1").format(terminal=_TERMINAL)
            cursor = await conn.execute(query)
            findings += [
                Finding(check.name, check.entity, str(key), str(reason))
                for key, reason in await cursor.fetchall()
            ]
    return findings
