"""Shared pieces of the console tests: a real database, the console served over HTTP, a stand-in
for Rasa's HTTP API, and a headless Chromium.

``FakeRasa`` answers the three Rasa API calls the console makes (tracker, tracker/events,
execute) and records them; it stands in for the Rasa server, not for the console under test.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.db.models import HandoffTicket
from integrations.console.app import create_app
from integrations.console.auth import Passwords
from integrations.console.settings import ConsoleSettings
from integrations.console.users import create_user
from integrations.rasa_api import RasaClient

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: Real argon2id, with a small cost so that a test signs in quickly.
FAST = dict(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1)
PASSWORDS = {"staff": "ひだまり-staff-2026", "manager": "manager-pass-みどり", "admin": "admin-pass-くらし-01"}
NAMES = {"staff": "佐藤 花子", "manager": "鈴木 一郎", "admin": "高橋 管理"}


def console_settings(**changes: Any) -> ConsoleSettings:
    return ConsoleSettings(**{**FAST, "municipality": "みどり市", **changes})


async def sqlite_engine(tmp_path) -> AsyncEngine:
    """The product's own engine and migrations, on a fresh SQLite file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'console.db'}")
    await migrate(engine)
    return engine


async def postgres_engine(url: str) -> Tuple[AsyncEngine, str]:
    """An engine whose tables live in a fresh schema, so parallel runs do not collide."""
    from bot.db.engine import database_url

    schema = f"console_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(database_url(url), future=True)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    engine = make_engine(url, schema=schema)
    await migrate(engine)
    return engine, schema


async def drop_schema(url: str, schema: str) -> None:
    from bot.db.engine import database_url

    admin = create_async_engine(database_url(url), future=True)
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


async def add_ticket(engine: AsyncEngine, code: str, *, urgency: str = "normal", mode: str = "live",
                     minutes_ago: float = 5, summary: Any = None, sender_id: Optional[str] = None,
                     channel: str = "rest", status: str = "open", callback_after: Optional[datetime] = None,
                     claimed_by: Optional[int] = None) -> HandoffTicket:
    now = datetime.now(timezone.utc)
    ticket = HandoffTicket(ticket=code, sender_id=sender_id or f"resident-{code.lower()}", channel=channel,
                           urgency=urgency, mode=mode, reason="requested", status=status,
                           callback_after=callback_after, summary=summary,
                           created_at=now - timedelta(minutes=minutes_ago), claimed_by=claimed_by,
                           claimed_at=now if claimed_by else None)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        session.add(ticket)
    return ticket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeRasa:
    """Rasa's HTTP API as far as the console uses it; ``mode`` = "ok" | "down" (503) | "refuse" (403)."""

    def __init__(self) -> None:
        self.trackers: Dict[str, List[Dict[str, Any]]] = {}
        self.calls: List[Dict[str, Any]] = []
        self.mode = "ok"
        self.runner: Optional[web.AppRunner] = None
        self.url = ""

    def conversation(self, sender_id: str, turns: List[Tuple[str, str]], start: float = 1_795_000_000.0) -> None:
        events: List[Dict[str, Any]] = [{"event": "action", "name": "action_session_start", "timestamp": start}]
        for i, (who, said) in enumerate(turns):
            kind = "user" if who == "user" else "bot"
            event: Dict[str, Any] = {"event": kind, "text": said, "timestamp": start + 10 * (i + 1)}
            if kind == "bot":
                event["data"] = {}
            events.append(event)
        self.trackers[sender_id] = events

    async def _record(self, request: web.Request) -> Optional[web.Response]:
        body = await request.json() if request.can_read_body else None
        self.calls.append({"method": request.method, "path": request.rel_url.raw_path, "query": dict(request.query),
                           "sender": request.match_info.get("sender"), "json": body})
        if self.mode == "down":
            return web.json_response({"error": "unavailable"}, status=503)
        if self.mode == "refuse":
            return web.json_response({"error": "forbidden"}, status=403)
        return None

    async def tracker(self, request: web.Request) -> web.Response:
        if (failed := await self._record(request)) is not None:
            return failed
        sender = request.match_info["sender"]
        return web.json_response({"sender_id": sender, "slots": {}, "events": self.trackers.get(sender, [])})

    async def events(self, request: web.Request) -> web.Response:
        if (failed := await self._record(request)) is not None:
            return failed
        return web.json_response({"sender_id": request.match_info["sender"], "events": []})

    async def execute(self, request: web.Request) -> web.Response:
        if (failed := await self._record(request)) is not None:
            return failed
        return web.json_response({"tracker": {}, "messages": []})

    async def start(self) -> "FakeRasa":
        app = web.Application()
        app.router.add_get("/conversations/{sender}/tracker", self.tracker)
        app.router.add_post("/conversations/{sender}/tracker/events", self.events)
        app.router.add_post("/conversations/{sender}/execute", self.execute)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def posts(self, sender: Optional[str] = None) -> List[Dict[str, Any]]:
        return [c for c in self.calls if c["method"] == "POST" and (sender is None or c["sender"] == sender)]


@dataclass
class Harness:
    base: str
    engine: AsyncEngine
    rasa: FakeRasa
    settings: ConsoleSettings
    runner: web.AppRunner
    user_ids: Dict[str, int] = field(default_factory=dict)

    async def http_login(self, session: aiohttp.ClientSession, role: str) -> str:
        """Sign in over plain HTTP (for route checks); returns the session's CSRF token."""
        async with session.get(f"{self.base}/login") as resp:
            page = await resp.text()
        token = _hidden(page, "login_token")
        async with session.post(f"{self.base}/login", allow_redirects=False,
                                data={"username": role + "1", "password": PASSWORDS[role], "login_token": token,
                                      "next": "/"}) as resp:
            assert resp.status == 302, await resp.text()
        async with session.get(f"{self.base}/account") as resp:
            return _hidden(await resp.text(), "csrf_token")


def _hidden(page: str, name: str) -> str:
    import re

    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


async def start_console(engine: AsyncEngine, settings: ConsoleSettings, *, rasa: Optional[FakeRasa] = None,
                        rasa_url: Optional[str] = None) -> Harness:
    rasa = rasa or await FakeRasa().start()
    client = RasaClient(rasa_url or rasa.url, token=None, timeout=3.0)
    app = create_app(engine, client, settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    harness = Harness(base=f"http://127.0.0.1:{port}", engine=engine, rasa=rasa, settings=settings, runner=runner)
    passwords = Passwords(settings.password_hasher())
    for role in ("staff", "manager", "admin"):
        user = await create_user(engine, passwords, username=role + "1", password=PASSWORDS[role], role=role,
                                 display_name=NAMES[role])
        harness.user_ids[role] = user.id
    return harness


async def stop_console(harness: Harness) -> None:
    await harness.runner.cleanup()
    await harness.rasa.stop()
    await harness.engine.dispose()


async def browser_login(page, harness: Harness, role: str, *, path: str = "/") -> None:
    await page.goto(harness.base + path)
    await page.fill("#username", role + "1")
    await page.fill("#password", PASSWORDS[role])
    await page.click("#login-button")
    await page.wait_for_selector("#who")


def postgres_url() -> Optional[str]:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgresql", "postgres")) else None


requires_postgres = pytest.mark.skipif(postgres_url() is None, reason="DATABASE_URL (PostgreSQL) is not set")


def http_session() -> aiohttp.ClientSession:
    """A client that keeps cookies from 127.0.0.1 (aiohttp refuses IP hosts' cookies by default)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
