"""Reverse proxy for the page's socket.io connection to Rasa (long-polling and WebSocket).

The page and its socket share one origin (the product's web server), so no CORS is needed,
Rasa's port stays private, and the server could add rate limits later in one place. Only the
request path, query string, body and content type are forwarded: never the resident's cookies.
"""
from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

#: Largest socket.io packet relayed either way (python-engineio's own default limit).
MAX_PACKET = 1_000_000


def upstream_url(rasa_url: str, socketio_path: str, query_string: str) -> str:
    """Rasa's socket.io URL for a proxied request (same query string: EIO, transport, sid)."""
    base = rasa_url.rstrip("/") + "/" + socketio_path.strip("/") + "/"
    return f"{base}?{query_string}" if query_string else base


async def relay(request: web.Request, session: aiohttp.ClientSession, url: str) -> web.StreamResponse:
    """Forward one socket.io request: a WebSocket upgrade or a long-polling GET/POST."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _relay_websocket(request, session, "ws" + url[4:] if url.startswith("http") else url)
    return await _relay_http(request, session, url)


async def _relay_http(request: web.Request, session: aiohttp.ClientSession, url: str) -> web.Response:
    body = await request.read() if request.can_read_body else None
    headers = {"Content-Type": request.headers["Content-Type"]} if "Content-Type" in request.headers else {}
    try:
        async with session.request(request.method, url, data=body, headers=headers,
                                   allow_redirects=False) as up:
            data = await up.read()
            return web.Response(status=up.status, body=data,
                                headers={"Content-Type": up.headers.get("Content-Type", "text/plain"),
                                         "Cache-Control": "no-store"})
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        log.warning("socket.io relay to rasa failed: %s", type(exc).__name__)
        return web.Response(status=502, text="chat server unavailable")


async def _relay_websocket(request: web.Request, session: aiohttp.ClientSession, url: str) -> web.StreamResponse:
    try:
        upstream = await session.ws_connect(url, max_msg_size=MAX_PACKET, autoping=True)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        log.warning("socket.io websocket to rasa failed: %s", type(exc).__name__)
        return web.Response(status=502, text="chat server unavailable")
    client = web.WebSocketResponse(max_msg_size=MAX_PACKET, autoping=True)
    await client.prepare(request)

    async def pump(src, dst) -> None:  # type: ignore[no-untyped-def]
        async for msg in src:
            if msg.type == WSMsgType.TEXT:
                await dst.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await dst.send_bytes(msg.data)
            else:
                break

    tasks = [asyncio.create_task(pump(client, upstream)), asyncio.create_task(pump(upstream, client))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await upstream.close()
        await client.close()
    return client
