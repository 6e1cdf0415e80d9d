"""Collection KPIs: success per task and period, per area (台区抄表率) and terminal.

Also the terminal online rate (终端在线率).

Computed from the database, not from counters: a meter counts as collected for a
period when its proof row (:data:`headend.collection.plan.PROOF`) is stored, from
whatever source (window, re-collection, catch-up, on-demand read). The expected set
is the task's target among *all* archive terminals, online or not.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row

from headend.collection import plan
from headend.collection.tasks import Task, target_filter

AnyConnection = psycopg.AsyncConnection[Any]

#: Grouping of success rates: SQL expression of the group and its label.
_GROUPS = {
    "area": ("coalesce(a.code, '(none)')", "area"),
    "terminal": ("t.a1 || '-' || lpad(t.a2::text, 5, '0')", "terminal"),
}


async def success(conn: AnyConnection, task: Task, period: date,
                  by: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Expected, collected and rate of ``task`` for ``period`` (total, or per group).

    Frozen kinds only (daily, monthly): their periods are what "collected" means.
    ``by`` is None (one row), ``"area"`` or ``"terminal"``.
    """
    if task.kind not in ("daily", "monthly") or not task.fns:
        raise ValueError(
            f"task {task.name}: success rates are for daily and monthly tasks"
        )
    fn = task.fns[0]
    table, item = plan.PROOF[fn]
    column = "day" if table == "reading_daily" else "month"
    joins, where, params = target_filter(task.target)  # the archive, online or not
    params.update(item=item, period=period)
    group, label = _GROUPS[by] if by else ("'all'", "scope")
    sql = (
        f"SELECT {group} AS {label}, count(*) AS expected, "  # noqa: S608 - fixed names
        f"count(r.meter_id) AS collected FROM {joins}"
        "LEFT JOIN transformer_area a "
        "  ON a.id = coalesce(m.transformer_area_id, t.transformer_area_id) "
        f"LEFT JOIN {table} r ON r.meter_id = m.id AND r.item_id = %(item)s "
        f"AND r.{column} = %(period)s {where} GROUP BY 1 ORDER BY 1"
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        rows = await cur.fetchall()
    if not rows and not by:
        rows = [{"scope": "all", "expected": 0, "collected": 0}]
    for r in rows:
        r["rate"] = round(r["collected"] / r["expected"], 4) if r["expected"] else None
        r["task"] = task.name
        r["period"] = period.isoformat()
    return rows


async def online_rate(conn: AnyConnection) -> dict[str, Any]:
    """Online terminals (a link is held) over the archive's active terminals."""
    row = await (
        await conn.execute(
            "SELECT (SELECT count(*) FROM terminal WHERE status = 'active'), "
            "(SELECT count(*) FROM terminal_link l JOIN terminal t "
            "  ON t.a1 || '-' || lpad(t.a2::text, 5, '0') = l.terminal "
            "  WHERE t.status = 'active')"
        )
    ).fetchone()
    assert row is not None  # noqa: S101 - scalar subqueries
    active, online = int(row[0]), int(row[1])
    return {
        "active": active,
        "online": online,
        "rate": round(online / active, 4) if active else None,
    }
