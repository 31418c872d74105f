"""Staff console render times with 1,000 cases in SQLite (target: queue and case pages <= 200 ms).

    python -m bench.console_bench [--tickets 1000] [--requests 60] [--out bench/out/console.json]

Serves the real console over HTTP on a temporary SQLite file filled with ``--tickets`` open cases
(mixed urgency, full intake summaries) and a local stand-in for Rasa's tracker endpoint (40 events
per conversation, so the case page's transcript fetch is part of the measurement), both in a child
process. Measures the full request time seen by an HTTP client signed in as staff. The queue shows
``queue_page_size`` cases per page (most urgent first); ``queue_page_last`` is its tenth page.
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
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from bench.procs import free_port
from bench.serving import child_process, page_times, save, serve_console

TARGET_MS = 200.0
PASSWORD = "bench-password-2026"
URGENCIES = ("emergency", "urgent", "normal", "normal", "normal")


def _summary(i: int) -> Dict[str, Any]:
    fields = {"consulting_for": "self", "age": 20 + i % 50, "employment_status": "unemployed",
              "months_without_work": i % 30, "monthly_income": 80000 + i, "housing": "renting",
              "rent_arrears_months": i % 4, "household": "single_parent", "children": i % 4,
              "youngest_child_age": i % 12, "health": "under_treatment", "work_readiness": "needs_preparation",
              "job_history": "食品工場で8年、工場閉鎖で離職", "benefits": ["child_support_allowance"], "consent": True}
    return {"fields": fields, "sources": {k: ("typed", "button", "inferred")[j % 3] for j, k in enumerate(fields)},
            "referrals": [{"destination": "jiritsu_soudan", "name": "くらし・しごとサポートセンター",
                           "reason": "家賃の支払いが難しいときは、住居確保給付金などを一緒に確認できます。"}],
            "urgency": URGENCIES[i % len(URGENCIES)], "language": "ja"}


def _tracker(sender: str) -> Dict[str, Any]:
    events: List[Dict[str, Any]] = []
    for n in range(20):
        events.append({"event": "user", "text": f"{n}番目の相談です。<b>家賃</b>が払えません", "timestamp": 1_795_000_000 + n * 20})
        events.append({"event": "bot", "text": "お話しくださりありがとうございます。", "timestamp": 1_795_000_010 + n * 20,
                       "data": {"buttons": [{"title": "続けて相談する", "payload": "/resume"}]}})
    return {"sender_id": sender, "events": events}


async def _rasa_stub() -> web.AppRunner:
    async def tracker(request: web.Request) -> web.Response:
        return web.json_response(_tracker(request.match_info["sender"]))

    app = web.Application()
    app.router.add_get("/conversations/{sender}/tracker", tracker)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    return runner


async def _fill(db: Path, tickets: int) -> List[str]:
    """A fresh database with ``tickets`` open cases and one staff account."""
    from bot.db import staff_models  # noqa: F401
    from bot.db.models import Base, HandoffTicket
    from integrations.console.auth import Passwords
    from integrations.console.settings import ConsoleSettings
    from integrations.console.users import create_user

    engine = create_async_engine(f"sqlite+aiosqlite:///{db}", future=True)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    now = datetime.now(timezone.utc)
    codes = [f"B{i:05d}" for i in range(tickets)]
    async with AsyncSession(engine) as session, session.begin():
        session.add_all(HandoffTicket(
            ticket=code, sender_id=f"bench-{code}", channel=("rest", "telegram", "line")[i % 3],
            urgency=URGENCIES[i % len(URGENCIES)], mode=("live", "callback")[i % 2], reason="requested",
            status="open", callback_after=now + timedelta(hours=i % 24) if i % 2 else None,
            summary=_summary(i), created_at=now - timedelta(minutes=random.Random(i).randint(0, 600)),
        ) for i, code in enumerate(codes))
    await create_user(engine, Passwords(ConsoleSettings().password_hasher()), username="bench1",
                      password=PASSWORD, role="staff")
    await engine.dispose()
    return codes


def _serve(db: str, port: int, rasa_port: int) -> None:
    """Child process: the console and the Rasa stand-in, as they would run beside each other."""
    async def run() -> None:
        rasa_runner = await _rasa_stub()
        await web.TCPSite(rasa_runner, "127.0.0.1", rasa_port).start()
        engine = create_async_engine(f"sqlite+aiosqlite:///{db}", future=True)
        await serve_console(engine, f"http://127.0.0.1:{rasa_port}", port)

    asyncio.run(run())


async def _measure(base: str, codes: List[str], requests: int) -> Dict[str, Any]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for _ in range(300):
            try:
                async with http.get(base + "/login") as resp:
                    token = re.search(r'name="login_token" value="([^"]+)"', await resp.text()).group(1)
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        async with http.post(base + "/login", data={"username": "bench1", "password": PASSWORD,
                                                    "login_token": token}) as resp:
            assert resp.status == 200 and "受付一覧" in await resp.text(), "sign-in failed"

        async def timed(path: str, expect: str) -> float:
            started = time.perf_counter()
            async with http.get(base + path) as resp:
                body = await resp.text()
            elapsed = (time.perf_counter() - started) * 1000
            assert resp.status == 200 and expect in body, path
            return elapsed

        picks = random.Random(7).sample(codes, min(requests + 5, len(codes)))
        for code in picks[:5]:  # warm-up: templates compiled, connections pooled
            await timed("/", "受付一覧")
            await timed(f"/cases/{code}", code)
        pages = {
            "queue_page": [await timed("/", "B0") for _ in range(requests)],
            "queue_page_last": [await timed("/?page=10", "B0") for _ in range(requests)],
            "queue_json": [await timed("/queue.json", "B0") for _ in range(requests)],
            "case_page": [await timed(f"/cases/{code}", "相談受付票") for code in picks[5:5 + requests]],
            "print_view": [await timed(f"/cases/{code}/print", "相談受付票") for code in picks[5:5 + requests]],
        }
    return {name: page_times(samples) for name, samples in pages.items()}


def bench_console(tickets: int = 1000, requests: int = 60) -> Dict[str, Any]:
    """Render times (ms, p50/p95/max) of the queue (first and last page), its JSON refresh, the case page
    and the print view, measured by an HTTP client against the console running in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        codes = asyncio.run(_fill(db, tickets))
        port, rasa_port = free_port(), free_port()
        with child_process(_serve, (str(db), port, rasa_port)):
            pages = asyncio.run(_measure(f"http://127.0.0.1:{port}", codes, requests))
    from integrations.console.settings import ConsoleSettings

    return {
        "tickets": tickets, "database": "sqlite", "queue_page_size": ConsoleSettings().queue_page_size,
        "target_ms": TARGET_MS, **pages,
        "pass": all(p["p95_ms"] <= TARGET_MS for p in pages.values()),
        "load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("bench/out/console.json"))
    args = parser.parse_args()
    save(bench_console(args.tickets, args.requests), args.out)


if __name__ == "__main__":
    main()
