"""Access control, CSRF, sessions and sign-in hardening of the console, over real HTTP.

The route checks iterate over the application's router, so a route added later is checked too.
"""
from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import HandoffTicket
from bot.db.staff_models import ROLES, AuditLog, StaffMessage, StaffUser
from integrations.console.app import create_app
from integrations.console.auth import PUBLIC_ATTR, ROLE_ATTR, Passwords
from integrations.console.settings import ConsoleSettings
from integrations.console.users import create_user
from integrations.rasa_api import RasaClient
from tests.console_support import (
    FAST, PASSWORDS, FakeRasa, Harness, add_ticket, console_settings, free_port, http_session, sqlite_engine,
)

pytest_plugins = ["tests.console_fixtures"]  # fixtures: console, console_overrides

SECURITY = {"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy", "X-Content-Type-Options"}


def _routes(app: web.Application):
    """(method, path template, handler) of every route but static files."""
    for route in app.router.routes():
        if isinstance(route.resource, web.StaticResource):
            continue
        yield route.method, route.resource.canonical, route.handler


def _url(template: str, harness: Harness) -> str:
    return template.replace("{ticket}", "HROUTE").replace("{user_id}", str(harness.user_ids["staff"]))


async def _audit(engine, action=None):
    async with AsyncSession(engine) as session:
        query = select(AuditLog).order_by(AuditLog.id)
        if action:
            query = query.where(AuditLog.action == action)
        return list((await session.execute(query)).scalars())


async def test_every_route_is_marked_public_or_with_a_role(console):
    app = console.runner.app
    seen = set()
    for method, path, handler in _routes(app):
        seen.add((method, path))
        public = getattr(handler, PUBLIC_ATTR, False)
        assert public or getattr(handler, ROLE_ATTR, None) in ROLES, f"{method} {path} has no access marker"
        if public:
            assert path == "/login", f"only the sign-in page may be public, not {method} {path}"
    assert ("GET", "/") in seen and ("POST", "/cases/{ticket}/reply") in seen and ("GET", "/admin/users") in seen


async def test_every_route_refuses_anonymous_users(console):
    await add_ticket(console.engine, "HROUTE", urgency="urgent")
    async with http_session() as http:
        for method, path, handler in _routes(console.runner.app):
            if getattr(handler, PUBLIC_ATTR, False):
                continue
            async with http.request(method, console.base + _url(path, console), allow_redirects=False,
                                    data={"text": "こんにちは"} if method == "POST" else None) as resp:
                if method in ("GET", "HEAD") and not getattr(handler, "_console_api", False):
                    assert resp.status == 302, (method, path)
                    assert resp.headers["Location"].startswith("/login?next="), (method, path)
                else:
                    assert resp.status == 401, (method, path, resp.status)
    async with AsyncSession(console.engine) as session:
        ticket = (await session.execute(select(HandoffTicket).where(HandoffTicket.ticket == "HROUTE"))).scalar_one()
        assert ticket.status == "open" and (await session.execute(select(StaffMessage))).first() is None
    assert console.rasa.posts() == []


async def test_every_route_refuses_wrong_roles_and_admits_the_right_one(console):
    await add_ticket(console.engine, "HROUTE", urgency="urgent")
    for method, path, handler in _routes(console.runner.app):
        if getattr(handler, PUBLIC_ATTR, False):
            continue
        required = getattr(handler, ROLE_ATTR)
        for role in ROLES:
            async with http_session() as http:
                csrf = await console.http_login(http, role)
                data = {"csrf_token": csrf, "text": "お待たせしました。"} if method == "POST" else None
                async with http.request(method, console.base + _url(path, console), data=data,
                                        allow_redirects=False) as resp:
                    if ROLES.index(role) < ROLES.index(required):
                        assert resp.status == 403, (method, path, role, resp.status)
                    else:
                        assert resp.status not in (401, 403), (method, path, role, resp.status)
            await _reset_route_ticket(console)


async def _reset_route_ticket(harness: Harness) -> None:
    """Undo what an admitted POST did, so the next role meets the same case and the same accounts."""
    from sqlalchemy import delete, update

    async with AsyncSession(harness.engine) as session, session.begin():
        await session.execute(delete(StaffMessage))
        await session.execute(update(HandoffTicket).values(status="open", claimed_by=None, closed_at=None))
        await session.execute(update(StaffUser).values(active=True))
    passwords = Passwords(harness.settings.password_hasher())
    for role in ROLES:  # a password reset or change must not lock the next check out
        from integrations.console.users import set_password
        await set_password(harness.engine, passwords, harness.user_ids[role], PASSWORDS[role], end_sessions=False)


async def test_an_unmarked_route_is_refused_to_everyone(tmp_path):
    """Default deny: a handler someone forgets to mark answers 403 even to an admin."""
    engine = await sqlite_engine(tmp_path)
    rasa = await FakeRasa().start()
    settings = console_settings()
    app = create_app(engine, RasaClient(rasa.url), settings)

    async def forgotten(request):
        return web.Response(text="secret")

    app.router.add_get("/forgotten", forgotten)
    await create_user(engine, Passwords(settings.password_hasher()), username="admin1", password=PASSWORDS["admin"],
                      role="admin")
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    harness = Harness(base=f"http://127.0.0.1:{port}", engine=engine, rasa=rasa, settings=settings, runner=runner)
    try:
        async with http_session() as http:
            await harness.http_login(http, "admin")
            async with http.get(harness.base + "/forgotten") as resp:
                assert resp.status == 403 and "secret" not in await resp.text()
    finally:
        await runner.cleanup()
        await rasa.stop()
        await engine.dispose()


async def test_post_without_or_with_a_wrong_csrf_token_is_refused(console):
    await add_ticket(console.engine, "HCSRF1", urgency="emergency")
    async with http_session() as other:
        others_token = await console.http_login(other, "manager")
    async with http_session() as http:
        good = await console.http_login(http, "staff")
        for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}, {"csrf_token": others_token},
                     {"csrf_token": good + "x"}):
            async with http.post(console.base + "/cases/HCSRF1/claim", data=data, allow_redirects=False) as resp:
                assert resp.status == 403, data
                assert "不正な送信" in await resp.text()
            async with http.post(console.base + "/cases/HCSRF1/reply", data={**data, "text": "偽の送信"},
                                 allow_redirects=False) as resp:
                assert resp.status == 403
        async with AsyncSession(console.engine) as session:
            ticket = (await session.execute(select(HandoffTicket).where(HandoffTicket.ticket == "HCSRF1"))).scalar_one()
            assert ticket.status == "open" and ticket.claimed_by is None
            assert (await session.execute(select(StaffMessage))).first() is None
        assert console.rasa.posts() == []
        async with http.post(console.base + "/cases/HCSRF1/claim", data={"csrf_token": good},
                             allow_redirects=False) as resp:
            assert resp.status == 302


async def test_login_form_needs_its_own_token(console):
    async with http_session() as http:
        async with http.post(console.base + "/login", data={"username": "staff1", "password": PASSWORDS["staff"]},
                             allow_redirects=False) as resp:
            assert resp.status == 403 and "console_session" not in resp.cookies


async def _login_attempt(http, harness, username, password, next_url="/"):
    async with http.get(harness.base + "/login") as resp:
        token = re.search(r'name="login_token" value="([^"]+)"', await resp.text()).group(1)
    async with http.post(harness.base + "/login", allow_redirects=False,
                         data={"username": username, "password": password, "login_token": token,
                               "next": next_url}) as resp:
        return resp.status, resp.headers.get("Location"), await resp.text(), resp.headers.getall("Set-Cookie", [])


@pytest.mark.parametrize("next_url, location", [
    ("/cases/HABC23", "/cases/HABC23"), ("//evil.example/x", "/"), ("https://evil.example/", "/"),
    ("/\\evil.example", "/"), ("javascript:alert(1)", "/"),
])
async def test_no_open_redirect_after_sign_in(console, next_url, location):
    async with http_session() as http:
        status, where, _, _ = await _login_attempt(http, console, "staff1", PASSWORDS["staff"], next_url)
        assert status == 302 and where == location


async def test_failed_sign_ins_look_alike_and_are_rate_limited(console, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="integrations")
    async with http_session() as http:
        unknown = await _login_attempt(http, console, "nobody9", "whatever-password-1")
        wrong = await _login_attempt(http, console, "staff1", "wrong-password-2026")
        assert unknown[0] == wrong[0] == 401
        message = "ユーザー名またはパスワードが正しくありません。"
        assert message in unknown[2] and message in wrong[2]
        for _ in range(4):  # five failures for staff1 in all
            await _login_attempt(http, console, "staff1", "wrong-password-2026")
        status, _, page, cookies = await _login_attempt(http, console, "staff1", PASSWORDS["staff"])
        assert status == 429 and "しばらくログインできません" in page
        assert not any(c.startswith("console_session=") for c in cookies)
        assert (await _login_attempt(http, console, "manager1", PASSWORDS["manager"]))[0] == 302
    failed = await _audit(console.engine, "login_failed")
    assert len(failed) == 7 and failed[-1].detail == "rate_limited"
    assert failed[1].user_id == console.user_ids["staff"] and failed[0].user_id is None
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("wrong-password-2026", PASSWORDS["staff"], PASSWORDS["manager"], "whatever-password-1"):
        assert secret not in logged


async def test_session_cookie_flags(console):
    async with http_session() as http:
        _, _, _, cookies = await _login_attempt(http, console, "staff1", PASSWORDS["staff"])
    session_cookie = next(c for c in cookies if c.startswith("console_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie and "Secure" not in session_cookie


@pytest.mark.parametrize("console_overrides", [{"secure_cookies": True}])
async def test_secure_cookie_when_configured(console):
    async with http_session() as http:
        async with http.get(console.base + "/login") as resp:
            token = re.search(r'name="login_token" value="([^"]+)"', await resp.text()).group(1)
            assert "Secure" in next(c for c in resp.headers.getall("Set-Cookie") if c.startswith("console_login="))
        # A browser would not send a Secure cookie over plain HTTP; hand it over to reach the session cookie.
        async with http.post(console.base + "/login", allow_redirects=False, cookies={"console_login": token},
                             data={"username": "staff1", "password": PASSWORDS["staff"], "login_token": token}) as resp:
            assert resp.status == 302
            cookie = next(c for c in resp.headers.getall("Set-Cookie") if c.startswith("console_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_security_headers_on_pages_errors_redirects_and_static(console):
    async with http_session() as http:
        for path in ("/login", "/", "/nowhere", "/static/console.css"):
            async with http.get(console.base + path, allow_redirects=False) as resp:
                assert SECURITY <= set(resp.headers), path
                assert resp.headers["X-Frame-Options"] == "DENY"
                assert resp.headers["Referrer-Policy"] == "no-referrer"
                assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        await console.http_login(http, "staff")
        async with http.get(console.base + "/") as resp:
            assert resp.headers["Cache-Control"] == "no-store"


async def test_unknown_and_malformed_tickets_are_404(console):
    async with http_session() as http:
        await console.http_login(http, "staff")
        for path in ("/cases/HNONE1", "/cases/%3Cscript%3E", "/cases/" + "A" * 40):
            async with http.get(console.base + path) as resp:
                assert resp.status == 404 and "ページが見つかりません" in await resp.text()


@pytest.mark.parametrize("console_overrides", [{"idle_timeout": timedelta(seconds=2)}])
async def test_idle_sessions_expire_and_the_queue_refresh_does_not_keep_them_alive(console):
    async with http_session() as http:
        await console.http_login(http, "staff")
        for _ in range(2):
            await asyncio.sleep(0.5)
            async with http.get(console.base + "/queue.json") as resp:
                assert resp.status == 200
        await asyncio.sleep(1.3)
        async with http.get(console.base + "/queue.json") as resp:
            assert resp.status == 401
        async with http.get(console.base + "/", allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] in ("/login?next=%2F&m=expired",
                                                                      "/login?next=/&m=expired")


@pytest.mark.parametrize("console_overrides", [{"absolute_timeout": timedelta(seconds=3)}])
async def test_sessions_end_after_the_absolute_limit_even_when_active(console):
    async with http_session() as http:
        await console.http_login(http, "staff")
        for _ in range(3):
            async with http.get(console.base + "/account", allow_redirects=False) as resp:
                assert resp.status == 200
            await asyncio.sleep(0.8)
        await asyncio.sleep(1.0)
        async with http.get(console.base + "/account", allow_redirects=False) as resp:
            assert resp.status == 302 and "m=expired" in resp.headers["Location"]


async def test_password_hash_is_upgraded_after_sign_in(tmp_path):
    engine = await sqlite_engine(tmp_path)
    weak = Passwords(ConsoleSettings(**FAST).password_hasher())
    user = await create_user(engine, weak, username="staff1", password=PASSWORDS["staff"], role="staff")
    assert "t=1" in user.password_hash
    settings = console_settings(argon2_time_cost=2)
    rasa = await FakeRasa().start()
    runner = web.AppRunner(create_app(engine, RasaClient(rasa.url), settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    harness = Harness(base=f"http://127.0.0.1:{port}", engine=engine, rasa=rasa, settings=settings, runner=runner)
    try:
        async with http_session() as http:
            assert (await _login_attempt(http, harness, "staff1", PASSWORDS["staff"]))[0] == 302
        async with AsyncSession(engine) as session:
            stored = (await session.execute(select(StaffUser.password_hash))).scalar_one()
        assert "t=2" in stored and stored != user.password_hash
        async with http_session() as http:  # and the new hash still verifies
            assert (await _login_attempt(http, harness, "staff1", PASSWORDS["staff"]))[0] == 302
    finally:
        await runner.cleanup()
        await rasa.stop()
        await engine.dispose()


async def test_deactivated_users_lose_their_sessions_and_cannot_sign_in(console):
    async with http_session() as staff, http_session() as admin:
        await console.http_login(staff, "staff")
        csrf = await console.http_login(admin, "admin")
        async with admin.post(f"{console.base}/admin/users/{console.user_ids['staff']}/deactivate",
                              data={"csrf_token": csrf}, allow_redirects=False) as resp:
            assert resp.status == 302
        async with staff.get(console.base + "/", allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"].startswith("/login")
        status, _, page, _ = await _login_attempt(staff, console, "staff1", PASSWORDS["staff"])
        assert status == 401 and "ユーザー名またはパスワードが正しくありません。" in page
        async with admin.post(f"{console.base}/admin/users/{console.user_ids['admin']}/deactivate",
                              data={"csrf_token": csrf}) as resp:
            assert resp.status == 409 and "自分のアカウントは停止できません" in await resp.text()


async def test_manager_can_take_over_a_case_staff_cannot(console):
    await add_ticket(console.engine, "HTAKE1", urgency="urgent", status="claimed", claimed_by=console.user_ids["admin"])
    async with http_session() as staff, http_session() as manager:
        csrf = await console.http_login(staff, "staff")
        async with staff.post(console.base + "/cases/HTAKE1/claim", data={"csrf_token": csrf}) as resp:
            assert resp.status == 409 and "ほかの職員が担当しています" in await resp.text()
        async with staff.post(console.base + "/cases/HTAKE1/reply", data={"csrf_token": csrf, "text": "横から失礼します"}) as resp:
            assert resp.status == 409
        csrf = await console.http_login(manager, "manager")
        async with manager.post(console.base + "/cases/HTAKE1/claim", data={"csrf_token": csrf},
                                allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"].endswith("m=taken_over")
    claims = await _audit(console.engine, "claim")
    assert [(a.ticket, a.detail, a.user_id) for a in claims] == [("HTAKE1", "take_over", console.user_ids["manager"])]
    assert console.rasa.posts() == []


async def test_bad_replies_store_nothing(console, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="integrations")
    await add_ticket(console.engine, "HBAD01", urgency="urgent")
    async with http_session() as http:
        csrf = await console.http_login(http, "staff")
        for text, status, message in (("", 400, "メッセージを入力してください"), ("\x00\x07 \u200b", 400, "メッセージを入力してください"),
                                      ("長" * 2001, 400, "2000文字以内")):
            async with http.post(console.base + "/cases/HBAD01/reply", data={"csrf_token": csrf, "text": text}) as resp:
                assert resp.status == status and message in await resp.text()
        async with http.post(console.base + "/cases/HBAD01/reply", allow_redirects=False,
                             data={"csrf_token": csrf, "text": "お待たせしました🙏\x07\r\n担当の佐藤です。"}) as resp:
            assert resp.status == 302
    async with AsyncSession(console.engine) as session:
        texts = list((await session.execute(select(StaffMessage.text))).scalars())
    assert texts == ["お待たせしました🙏\n担当の佐藤です。"]
    assert [c["json"] for c in console.rasa.posts()][0][0]["value"] == "お待たせしました🙏\n担当の佐藤です。"
    assert "担当の佐藤です" not in "\n".join(r.getMessage() for r in caplog.records)
