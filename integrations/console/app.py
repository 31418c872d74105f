"""The staff console as an aiohttp application: middlewares for headers, errors and access control.

Access control is default-deny: a handler is reachable only when it is marked ``@public`` (the
sign-in page) or ``@require_role(...)``; an unmarked handler answers 403 to everyone, so a route
added later cannot be left open by mistake. Every POST of a signed-in user must carry the
session's CSRF token.
"""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from integrations.console.auth import (
    API_ATTR, PASSIVE_ATTR, PUBLIC_ATTR, ROLE_ATTR, SESSION_COOKIE, LoginThrottle, Passwords, load_session,
    role_allows, tokens_match,
)
from integrations.console.settings import ConsoleSettings
from integrations.rasa_api import RasaClient

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
                               "object-src 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

ERROR_TEXT = {
    400: "リクエストの内容が正しくありません。",
    401: "ログインしてください。",
    403: "この操作を行う権限がありません。",
    404: "ページが見つかりません。",
    405: "この操作はできません。",
    409: "この相談の状態が変わったため、操作できませんでした。",
    413: "送信された内容が大きすぎます。",
    429: "操作が多すぎます。しばらくしてからもう一度お試しください。",
    500: "システムエラーが発生しました。時間をおいてもう一度お試しください。",
}


@dataclass
class Console:
    engine: AsyncEngine
    rasa: RasaClient
    settings: ConsoleSettings
    passwords: Passwords
    throttle: LoginThrottle
    tz: ZoneInfo

    @property
    def title(self) -> str:
        return f"{self.settings.municipality} 相談コンソール".strip()


CONSOLE = web.AppKey("console", Console)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]


ROLE_LABELS = {"staff": "職員", "manager": "管理者（manager）", "admin": "システム管理者（admin）"}


def base_context(request: web.Request) -> dict:
    """What every page's frame needs: the signed-in user, the CSRF token, the title."""
    console = request.app[CONSOLE]
    user = request.get("user")
    return {
        "user": user, "csrf_token": user.csrf_token if user else "", "app_title": console.title,
        "is_admin": bool(user and role_allows(user.role, "admin")),
        "is_manager": bool(user and role_allows(user.role, "manager")),
        "role_label": ROLE_LABELS.get(user.role, "") if user else "", "notice": None,
    }


def error_page(request: web.Request, status: int, message: Optional[str] = None) -> web.Response:
    """A Japanese error page with the status code; never contains request data."""
    context = base_context(request)
    context.update(status=status, message=message or ERROR_TEXT.get(status, "エラーが発生しました。"))
    return aiohttp_jinja2.render_template("error.html", request, context, status=status)


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        if exc.status >= 300 and not request.path.startswith("/static/"):
            exc.headers["Cache-Control"] = "no-store"
        raise
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"  # pages hold personal data
    return response


@web.middleware
async def error_pages(request: web.Request, handler):
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_page(request, exc.status)
    except Exception as exc:
        # The exception's message may quote stored data (SQL parameters): log its type and frames only.
        route = request.match_info.route.name or request.match_info.route.method
        log.error("console error %s in %s\n%s", type(exc).__name__, route,
                  "".join(traceback.format_tb(exc.__traceback__)))
        return error_page(request, 500)


@web.middleware
async def access_control(request: web.Request, handler):
    match = request.match_info
    if match.http_exception is not None:
        raise match.http_exception
    if isinstance(match.route.resource, web.StaticResource) or getattr(match.handler, PUBLIC_ATTR, False):
        return await handler(request)
    console = request.app[CONSOLE]
    required = getattr(match.handler, ROLE_ATTR, None)
    raw = request.cookies.get(SESSION_COOKIE)
    user = await load_session(console.engine, raw, console.settings,
                              touch=not getattr(match.handler, PASSIVE_ATTR, False))
    if user is None:
        if request.method in ("GET", "HEAD") and not getattr(match.handler, API_ATTR, False):
            target = "/login?next=" + quote(request.path_qs, safe="") + ("&m=expired" if raw else "")
            response = web.HTTPFound(target)
            if raw:
                response.del_cookie(SESSION_COOKIE, path="/")
            raise response
        return error_page(request, 401)
    request["user"] = user
    if required is None or not role_allows(user.role, required):
        return error_page(request, 403)
    if request.method not in SAFE_METHODS:
        form = await request.post()
        if not tokens_match(user.csrf_token, form.get("csrf_token") if isinstance(form.get("csrf_token"), str)
                            else None):
            log.warning("csrf token missing or wrong on %s", match.route.name)
            return error_page(request, 403, "フォームの有効期限が切れたか、不正な送信です。ページを開き直してからもう一度お試しください。")
    return await handler(request)


def create_app(engine: AsyncEngine, rasa: RasaClient, settings: Optional[ConsoleSettings] = None) -> web.Application:
    """The console. Tables must exist (see ``integrations.console.schema``); the app closes ``rasa`` on cleanup."""
    from integrations.console import views  # handlers import this module's helpers

    settings = settings or ConsoleSettings()
    app = web.Application(middlewares=[security_headers, error_pages, access_control], client_max_size=256 * 1024)
    app[CONSOLE] = Console(
        engine=engine, rasa=rasa, settings=settings, passwords=Passwords(settings.password_hasher()),
        throttle=LoginThrottle(settings.login_max_failures, settings.login_window.total_seconds(),
                               settings.login_max_failures_per_ip),
        tz=ZoneInfo(settings.timezone),
    )
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                         undefined=jinja2.StrictUndefined, default_helpers=False)
    views.setup_routes(app)
    app.router.add_static("/static/", HERE / "static", name="static", append_version=False)

    async def close_rasa(_app: web.Application) -> None:
        await rasa.close()

    app.on_cleanup.append(close_rasa)
    return app
