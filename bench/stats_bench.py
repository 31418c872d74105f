"""Statistics dashboard render time over 100,000 events in SQLite (target: <= 500 ms).

    python -m bench.stats_bench [--events 100000] [--requests 30] [--out bench/out/stats.json]

Fills a temporary SQLite file (migrated like production) with ``--events`` statistics rows for
one 年度: about a third as many people as events, each with a fixed profile (age band, household,
target groups, channel) and referrals, bookings, attendance, handoffs and outcomes in realistic
shares. The real console then runs in a child process and an HTTP client signed in as a manager
measures the full year page, a one-month page and the CSV export (p50/p95/max). In this process
it also times the parts: the grouped SQL counts alone and the report (disclosure control) alone.
Not wired into ``bench.run``.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import aiohttp

from bench.procs import free_port
from bench.serving import child_process, page_times, save, serve_console

TARGET_MS = 500.0
PASSWORD = "bench-manager-2026"
KIND_SHARES = {"referral": 55, "booking": 18, "attended": 12, "no_show": 3, "handoff": 7, "outcome": 5}
DESTINATIONS = ["jiritsu_soudan", "hellowork", "mothers_hellowork", "saposute", "silver_center", "welfare_office",
                "single_parent_desk", "household_budget", "disability_employment", "human_staff"]


def synthetic_rows(events: int, fy: int = 2026, seed: int = 6) -> List[Dict[str, Any]]:
    """Rows as the builders make them (checked by ``check_row``), for ``events`` events in 年度 ``fy``."""
    from bot.stats import events as ev
    from bot.stats.case_key import case_key

    rng = random.Random(seed)
    secret = b"bench-secret-0123456789abcdef0123"
    groups = list(ev.TARGET_GROUPS)
    people = []
    for n in range(max(1, events // 3)):
        people.append({
            "key": case_key(f"bench:{n}", secret), "channel": rng.choice(["webchat", "line", "line", "rest", "telegram"]),
            "age": ev.age_band(rng.randint(15, 85)), "household": rng.choice(ev.HOUSEHOLDS),
            "groups": [g for g in groups if rng.random() < 0.15],
            "flags": [f for f in ev.RARE_FLAGS if rng.random() < 0.01],
            "urgency": rng.choice(["normal"] * 7 + ["urgent", "urgent", "emergency"]),
            "dests": rng.sample(DESTINATIONS[:-1], rng.randint(1, 3)),
        })
    kinds, weights = list(KIND_SHARES), list(KIND_SHARES.values())
    first = date(fy, 4, 1)
    rows = []
    for _ in range(events):
        p = rng.choice(people)
        kind = rng.choices(kinds, weights)[0]
        day = first + timedelta(days=rng.randint(0, 364))
        dests = p["dests"] if kind == "referral" else [] if kind == "handoff" else [rng.choice(p["dests"])]
        row = {"day": day, "fiscal_year": fy, "month": day.month, "kind": kind, "channel": p["channel"],
               "age_band": p["age"], "household": p["household"], "target_groups": p["groups"], "flags": p["flags"],
               "destinations": dests, "urgency": p["urgency"],
               "minutes_to_referral": int(rng.lognormvariate(3.5, 1.2)) if kind == "referral" else None,
               "outcome": rng.choice(list(ev.OUTCOMES)) if kind == "outcome" else None, "case_key": p["key"]}
        ev.check_row(row)
        rows.append(row)
    return rows


async def _fill(db: Path, events: int) -> None:
    from bot.db.engine import make_engine
    from bot.db.migrate import migrate
    from bot.db.stats import to_columns
    from bot.db.stats_models import StatEvent
    from integrations.console.auth import Passwords
    from integrations.console.settings import ConsoleSettings
    from integrations.console.users import create_user

    engine = make_engine(f"sqlite:///{db}")
    await migrate(engine)
    rows = [to_columns(r) for r in synthetic_rows(events)]
    async with engine.begin() as conn:
        for i in range(0, len(rows), 10_000):
            await conn.execute(StatEvent.__table__.insert(), rows[i:i + 10_000])
    await create_user(engine, Passwords(ConsoleSettings().password_hasher()), username="manager1",
                      password=PASSWORD, role="manager")
    await engine.dispose()


async def _parts(db: Path, requests: int) -> Dict[str, Any]:
    """The grouped SQL counts and the report (disclosure control) timed on their own."""
    from bot.db.engine import make_engine
    from bot.db.stats_queries import counts
    from bot.profile import load_profile
    from bot.stats.report import build_report

    engine = make_engine(f"sqlite:///{db}")
    order = list(load_profile().destinations)
    sql, report = [], []
    try:
        await counts(engine, 2026)
        for _ in range(requests):
            started = time.perf_counter()
            grouped = await counts(engine, 2026)
            middle = time.perf_counter()
            build_report(grouped, threshold=10, destination_order=order)
            sql.append((middle - started) * 1000)
            report.append((time.perf_counter() - middle) * 1000)
    finally:
        await engine.dispose()
    return {"sql_counts": page_times(sql), "report_and_suppression": page_times(report)}


def _serve(db: str, port: int, key_file: str) -> None:
    """Child process: the console as ``python -m integrations.console`` runs it."""
    os.environ["STATS_KEY_FILE"] = key_file
    from bot.db.engine import make_engine

    asyncio.run(serve_console(make_engine(f"sqlite:///{db}"), "http://127.0.0.1:9", port))


async def _measure(base: str, requests: int) -> Dict[str, Any]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for _ in range(300):
            try:
                async with http.get(base + "/login") as resp:
                    token = re.search(r'name="login_token" value="([^"]+)"', await resp.text()).group(1)
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        async with http.post(base + "/login", data={"username": "manager1", "password": PASSWORD,
                                                    "login_token": token, "next": "/stats"}) as resp:
            assert resp.status == 200 and "統計" in await resp.text(), "sign-in failed"

        async def timed(path: str, expect: str) -> float:
            started = time.perf_counter()
            async with http.get(base + path) as resp:
                body = await resp.read()
            elapsed = (time.perf_counter() - started) * 1000
            assert resp.status == 200 and expect.encode("utf-8") in body, path
            return elapsed

        for _ in range(3):  # warm-up: templates compiled, connections pooled, profile read
            await timed("/stats?fy=2026", "月別の件数")
        return {
            "dashboard_year": page_times([await timed("/stats?fy=2026", "月別の件数") for _ in range(requests)]),
            "dashboard_month": page_times([await timed(f"/stats?fy=2026&month={4 + i % 9}", "チャネル別")
                                             for i in range(requests)]),
            "csv_export": page_times([await timed("/stats.csv?fy=2026", "区分") for _ in range(requests)]),
        }


def bench_stats(events: int = 100_000, requests: int = 30) -> Dict[str, Any]:
    """Dashboard render times (ms, p50/p95/max) over ``events`` SQLite rows, with the SQL and report parts."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "stats.db"
        started = time.perf_counter()
        asyncio.run(_fill(db, events))
        fill_s = time.perf_counter() - started
        parts = asyncio.run(_parts(db, requests))
        port = free_port()
        with child_process(_serve, (str(db), port, str(Path(tmp) / "stats.key"))):
            pages = asyncio.run(_measure(f"http://127.0.0.1:{port}", requests))
    return {
        "events": events, "database": "sqlite", "target_ms": TARGET_MS, **pages, **parts,
        "pass": pages["dashboard_year"]["p95_ms"] <= TARGET_MS and pages["dashboard_month"]["p95_ms"] <= TARGET_MS,
        "fill_seconds": round(fill_s, 1), "load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("bench/out/stats.json"))
    args = parser.parse_args()
    save(bench_stats(args.events, args.requests), args.out)


if __name__ == "__main__":
    main()
