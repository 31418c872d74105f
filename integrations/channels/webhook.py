"""Small I/O helpers shared by the webhook channels: bounded body reads, config, quiet logs."""
from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    """The request body is over the channel's limit (answered 413, never parsed)."""


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, read chunk by chunk from a ``stream=True`` route; stops as soon as it exceeds
    ``limit`` so an oversized body is neither buffered whole nor parsed."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge()
        except ValueError:
            raise BodyTooLarge() from None
    stream = getattr(request, "stream", None)
    if stream is None:  # a non-streaming route: Sanic already buffered it
        body = bytes(request.body or b"")
        if len(body) > limit:
            raise BodyTooLarge()
        return body
    body = bytearray()
    while True:
        chunk = await stream.read()
        if chunk is None:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge()


def env_value(env: Mapping[str, str], name: str) -> Optional[str]:
    """A stripped environment value, or None when unset or blank."""
    value = (env.get(name) or "").strip()
    return value or None


def int_option(options: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """A bounded integer option from credentials.yml (bad values fall back to ``default``)."""
    try:
        value = int(options.get(name, default))
    except (TypeError, ValueError):
        log.warning("channel option %s is not a number; using %s", name, default)
        return default
    return min(max(value, low), high)


def warn_ignored_secrets(channel: str, options: Mapping[str, Any], keys: Iterable[str]) -> None:
    """Secrets belong in the environment; say so when someone put them in credentials.yml."""
    found = sorted(k for k in keys if options.get(k))
    if found:
        log.warning("%s: %s in credentials.yml ignored; secrets are read from the environment only",
                    channel, ", ".join(found))


def not_configured_blueprint(name: str, channel: str, reason: str) -> Blueprint:
    """A blueprint whose routes answer 503 only: the channel is listed but has no credentials."""
    bp = Blueprint(name)
    state = {"logged": False}

    async def unavailable(request: Request) -> HTTPResponse:
        if not state["logged"]:
            state["logged"] = True
            log.warning("%s channel is not configured (%s): answering 503", channel, reason)
        return response.json({"error": f"the {channel} channel is not configured"}, status=503)

    bp.add_route(unavailable, "/", methods=["GET"])
    bp.add_route(unavailable, "/webhook", methods=["POST"], stream=True)
    return bp


def quiet_client_loggers() -> None:
    """httpx logs request URLs (a Telegram URL contains the bot token) and python-telegram-bot
    logs call parameters (message texts) at DEBUG/INFO; keep both at WARNING."""
    for name in ("httpx", "telegram"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def redact(text: str, secrets: Iterable[Optional[str]]) -> str:
    """``text`` with every secret replaced by ***, for error messages that might echo one."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
