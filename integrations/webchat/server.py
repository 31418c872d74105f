"""The residents' web chat, as routes any aiohttp application can mount.

``setup_webchat(app, rasa_url=...)`` adds, under ``prefix`` (default ``/chat``):

* ``GET  /chat/``            the page (static HTML, JS and CSS from ``static/``; no build step)
* ``POST /chat/api/session`` binds the browser to a conversation id (signed HttpOnly cookie) and
  returns ``{"session_id", "token"}``; the token lets the page's socket speak in that conversation
* ``GET  /chat/api/history`` the resident's own messages and the bot's (from Rasa's tracker,
  read server-side for the cookie's id only)
* ``/chat/socket.io/``       a proxy to Rasa's web chat channel (``rasa_channel.WebchatInput``)

The server holds no conversation state of its own: Rasa's tracker store is the record.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Optional

import aiohttp
from aiohttp import web

from integrations.webchat import history, proxy, tokens

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "kurashi_chat"
COOKIE_MAX_AGE = 180 * 24 * 3600  # a resident may come back months later (session_expiration_time: 0)
#: The page loads only its own files; nothing inline, nothing from elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass
class Webchat:
    rasa_url: str
    prefix: str
    secret: bytes
    rasa_token: Optional[str]
    socketio_path: str
    page: bytes
    client: Optional[aiohttp.ClientSession] = field(default=None)


WEBCHAT = web.AppKey("webchat", Webchat)


def setup_webchat(app: web.Application, *, rasa_url: str, prefix: str = "/chat", secret: Optional[str] = None,
                  rasa_token: Optional[str] = None, socketio_path: str = "/socket.io") -> None:
    """Add the web chat routes to ``app``.

    ``rasa_url`` is where Rasa runs (``--enable-api`` and the ``WebchatInput`` channel);
    ``secret`` must equal the one Rasa's channel uses (default: ``$WEBCHAT_SECRET`` or the shared
    secret file, see ``tokens.load_secret``); ``rasa_token`` is Rasa's ``--auth-token``, if set.
    """
    if WEBCHAT in app:
        raise RuntimeError("setup_webchat was already called for this application")
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    app[WEBCHAT] = Webchat(rasa_url=rasa_url.rstrip("/"), prefix=prefix, secret=tokens.load_secret(secret),
                           rasa_token=rasa_token, socketio_path=socketio_path,
                           page=(STATIC / "index.html").read_bytes())
    app.cleanup_ctx.append(_client_session)
    if prefix:
        app.router.add_get(prefix, _redirect_to_page, name="webchat.root")
    app.router.add_get(prefix + "/", _page, name="webchat.page")
    app.router.add_static(prefix + "/static", STATIC, name="webchat.static")
    app.router.add_post(prefix + "/api/session", _session, name="webchat.session")
    app.router.add_get(prefix + "/api/history", _history, name="webchat.history")
    app.router.add_route("*", prefix + "/socket.io/", _socketio, name="webchat.socketio")


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    # sock_read outlasts an Engine.IO long poll (ping interval 25 s). Every open chat holds one
    # upstream connection (a long poll or a WebSocket), so the pool has no fixed ceiling.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=75)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as client:
        app[WEBCHAT].client = client
        yield
        app[WEBCHAT].client = None


async def _redirect_to_page(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.app[WEBCHAT].prefix + "/")


async def _page(request: web.Request) -> web.Response:
    return web.Response(body=request.app[WEBCHAT].page, content_type="text/html", charset="utf-8",
                        headers=PAGE_HEADERS)


def _no_store(data: dict, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


async def _session(request: web.Request) -> web.Response:
    chat = request.app[WEBCHAT]
    session_id = tokens.session_from_cookie(chat.secret, request.cookies.get(COOKIE))
    fresh = session_id is None
    if fresh:
        session_id = tokens.new_session_id()
    resp = _no_store({"session_id": session_id, "token": tokens.socket_token(chat.secret, session_id, time.time())})
    if fresh:
        resp.set_cookie(COOKIE, tokens.cookie_value(chat.secret, session_id), max_age=COOKIE_MAX_AGE,
                        path=chat.prefix + "/", httponly=True, samesite="Lax", secure=request.secure)
    return resp


async def _history(request: web.Request) -> web.Response:
    chat = request.app[WEBCHAT]
    session_id = tokens.session_from_cookie(chat.secret, request.cookies.get(COOKIE))
    if session_id is None:
        return _no_store({"messages": [], "bot_total": 0})
    params = {"include_events": "AFTER_RESTART"}
    if chat.rasa_token:
        params["token"] = chat.rasa_token
    url = f"{chat.rasa_url}/conversations/{session_id}/tracker"
    try:
        async with chat.client.get(url, params=params, timeout=aiohttp.ClientTimeout(total=20)) as resp:
            if resp.status == 404:
                return _no_store({"messages": [], "bot_total": 0})
            resp.raise_for_status()
            tracker = await resp.json()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("web chat history unavailable: %s", type(exc).__name__)
        return _no_store({"error": "unavailable"}, status=502)
    return _no_store({"session_id": session_id, **history.conversation(tracker.get("events") or [])})


async def _socketio(request: web.Request) -> web.StreamResponse:
    chat = request.app[WEBCHAT]
    url = proxy.upstream_url(chat.rasa_url, chat.socketio_path, request.query_string)
    return await proxy.relay(request, chat.client, url)


def create_app(*, rasa_url: str, prefix: str = "/chat", secret: Optional[str] = None,
               rasa_token: Optional[str] = None) -> web.Application:
    """A stand-alone application serving only the web chat (``/`` redirects to the page)."""
    app = web.Application(client_max_size=proxy.MAX_PACKET)
    setup_webchat(app, rasa_url=rasa_url, prefix=prefix, secret=secret, rasa_token=rasa_token)
    from integrations.ics_route import setup_ics

    setup_ics(app)  # booking cards link to /ics/<reference>.ics on this server
    if prefix.strip("/"):
        app.router.add_get("/", _redirect_to_page)
    return app
