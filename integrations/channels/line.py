"""LINE Messaging API as a Rasa 3.6 input channel (``/webhooks/line/webhook``).

Secrets come from the environment: ``LINE_CHANNEL_SECRET`` (webhook signatures) and
``LINE_CHANNEL_ACCESS_TOKEN`` (reply and push calls); ``LINE_API_BASE_URL`` points tests at a
local fake. Without both secrets the channel stays off and its routes answer 503.

Every request must carry ``X-Line-Signature`` = base64(HMAC-SHA256(channel secret, raw body));
the body is read with a size limit before anything is parsed. LINE wants a quick 200, so events
are handled in a background task. A resident's turn is collected and sent with the free reply
API while the reply token is fresh (at most 5 messages per call; quick replies on the last one),
otherwise with the push API. Residents are ``line:<userId>`` in Rasa.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Set, Text, Tuple

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from integrations.channels import inbound
from integrations.channels.output import WholeMessageOutput
from integrations.channels.callbacks import CallbackStore, SeenIds
from integrations.channels.render import Part, QuickReply, render_message, split_text, truncate, utf16_len
from integrations.channels.webhook import (
    BodyTooLarge,
    env_value,
    int_option,
    not_configured_blueprint,
    read_limited_body,
    warn_ignored_secrets,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Line-Signature"
DEFAULT_API_BASE_URL = "https://api.line.me"
TEXT_LIMIT = 5000  # characters per text message
MAX_MESSAGES = 5  # message objects per reply or push call
MAX_QUICK_REPLIES = 13
LABEL_LIMIT = 20  # quick reply button label
DISPLAY_TEXT_LIMIT = 300  # postback displayText
NOT_TEXT_TYPES = frozenset({"sticker", "image", "audio", "video", "location", "file"})
_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
_SENDER = re.compile(r"^line:(U[0-9a-f]{32})$")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class LineConfig:
    """Settings from the environment (secrets) and credentials.yml (non-secret options)."""

    channel_secret: Optional[str]
    access_token: Optional[str]
    api_base_url: str
    public_base_url: Optional[str]
    max_body_bytes: int
    reply_window: int  # seconds a reply token is trusted after the webhook arrived
    problem: Optional[str]

    @classmethod
    def from_env(cls, env: Mapping[str, str], options: Mapping[str, Any]) -> "LineConfig":
        secret = env_value(env, "LINE_CHANNEL_SECRET")
        token = env_value(env, "LINE_CHANNEL_ACCESS_TOKEN")
        missing = [n for n, v in (("LINE_CHANNEL_SECRET", secret), ("LINE_CHANNEL_ACCESS_TOKEN", token)) if not v]
        return cls(
            channel_secret=secret,
            access_token=token,
            api_base_url=(env_value(env, "LINE_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/"),
            public_base_url=env_value(env, "PUBLIC_BASE_URL"),
            max_body_bytes=int_option(options, "max_body_bytes", 262144, 1024, 4 << 20),
            reply_window=int_option(options, "reply_window_seconds", 50, 0, 600),
            problem=(" and ".join(missing) + " unset") if missing else None,
        )


def verify_signature(channel_secret: str, body: bytes, signature: Optional[str]) -> bool:
    """True when ``signature`` is base64(HMAC-SHA256(secret, body)); constant-time compare."""
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("utf-8"))


def user_id_of(sender_id: Optional[str]) -> Optional[str]:
    """``line:<userId>`` → the LINE user id; None for conversations from other channels."""
    match = _SENDER.match(sender_id or "")
    return match.group(1) if match else None


def pack_texts(parts: Sequence[Part], max_messages: int = MAX_MESSAGES, limit: int = TEXT_LIMIT
               ) -> Tuple[List[str], Tuple[QuickReply, ...]]:
    """A turn's parts → message texts (adjacent ones merged until at most ``max_messages`` fit,
    when the merged text stays within ``limit``) and the quick replies to show, i.e. the last set
    offered in the turn: LINE only shows quick replies attached to the newest message."""
    texts: List[str] = []
    quick: Tuple[QuickReply, ...] = ()
    for part in parts:
        text = part.text or (inbound.CHOOSE if part.quick_replies else "")
        if text:
            texts.extend(t for t in split_text(text, limit) if t)
        if part.quick_replies:
            quick = part.quick_replies
    while len(texts) > max_messages:
        pairs = [(utf16_len(texts[i]) + utf16_len(texts[i + 1]) + 2, i) for i in range(len(texts) - 1)]
        size, i = min(pairs)
        if size > limit:
            break
        texts[i : i + 2] = [f"{texts[i]}\n\n{texts[i + 1]}"]
    return texts, quick


class LineApi:
    """The two Messaging API calls we use, over one aiohttp session (created inside the loop)."""

    def __init__(self, base_url: str, access_token: str) -> None:
        self.base_url = base_url
        self._token = access_token
        self._session: Optional[aiohttp.ClientSession] = None

    async def reply(self, reply_token: str, messages: List[Dict[str, Any]]) -> bool:
        return await self._post("/v2/bot/message/reply", {"replyToken": reply_token, "messages": messages})

    async def push(self, to: str, messages: List[Dict[str, Any]]) -> bool:
        # the same retry key on a retry lets LINE drop a duplicate it already delivered
        key = str(uuid.uuid4())
        for _ in (1, 2):
            ok, retry = await self._post_status("/v2/bot/message/push", {"to": to, "messages": messages}, key)
            if ok or not retry:
                return ok
            await asyncio.sleep(0.5)
        return False

    async def _post(self, path: str, body: Dict[str, Any]) -> bool:
        ok, _ = await self._post_status(path, body, None)
        return ok

    async def _post_status(self, path: str, body: Dict[str, Any], retry_key: Optional[str]) -> Tuple[bool, bool]:
        """(delivered, worth retrying). Logs the status only: error bodies may quote the message."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        if retry_key:
            headers["X-Line-Retry-Key"] = retry_key
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            async with self._session.post(self.base_url + path, data=data, headers=headers) as resp:
                await resp.read()
                if resp.status < 300:
                    return True, False
                if resp.status == 409 and retry_key:  # already accepted under this retry key
                    return True, False
                log.warning("LINE %s answered HTTP %s", path, resp.status)
                return False, resp.status >= 500
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("LINE %s failed (%s)", path, type(exc).__name__)
            return False, True

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class LineInput(InputChannel):
    """The Messaging API webhook with signature verification, reply/push and quick replies."""

    @classmethod
    def name(cls) -> Text:
        return "line"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "LineInput":
        options = credentials or {}
        warn_ignored_secrets("line", options, ("channel_secret", "secret", "access_token", "channel_access_token"))
        config = LineConfig.from_env(os.environ, options)
        if config.problem:
            log.warning("LINE channel not started: %s. /webhooks/line/webhook answers 503.", config.problem)
        else:
            log.info("LINE channel configured")
        return cls(config)

    def __init__(self, config: LineConfig) -> None:
        self.config = config
        self.callbacks = CallbackStore()
        self.seen_events = SeenIds()
        self.told_groups = SeenIds(1000)
        self._api: Optional[LineApi] = None
        self._tasks: Set[asyncio.Task] = set()

    @property
    def api(self) -> LineApi:
        if self._api is None:
            self._api = LineApi(self.config.api_base_url, str(self.config.access_token))
        return self._api

    # ----------------------------------------------------------------------------- Rasa hooks
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        if self.config.problem:
            return not_configured_blueprint("kurashi_line", "line", self.config.problem)
        bp = Blueprint("kurashi_line")

        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def webhook(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        async def stopping(app: Any, loop: Any) -> None:
            await self.stop()

        bp.add_route(health, "/", methods=["GET"])
        bp.add_route(webhook, "/webhook", methods=["POST"], stream=True)
        bp.listener("before_server_stop")(stopping)
        return bp

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Lets Rasa push into a chat outside a resident's turn (staff messages, reminders)."""
        return None if self.config.problem else LineOutput(self)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for events being handled in the background (server stop, tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def stop(self) -> None:
        await self.drain(10.0)
        if self._api is not None:
            await self._api.close()

    # ----------------------------------------------------------------------------- inbound
    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            log.warning("LINE webhook: rejected a request without a signature")
            return response.json({"error": "unauthorized"}, status=401)
        try:
            body = await read_limited_body(request, self.config.max_body_bytes)
        except BodyTooLarge:
            log.warning("LINE webhook: rejected an oversized body")
            return response.json({"error": "payload too large"}, status=413)
        if not verify_signature(str(self.config.channel_secret), body, signature):
            log.warning("LINE webhook: rejected a request with a wrong signature")
            return response.json({"error": "unauthorized"}, status=401)
        try:
            data = json.loads(body)
            events = data["events"]
            if not isinstance(events, list):
                raise ValueError("events is not a list")
        except Exception:
            log.warning("LINE webhook: unreadable body")
            return response.json({"error": "bad request"}, status=400)
        fresh = [e for e in events if isinstance(e, dict) and self._first_delivery(e)]
        if fresh:
            task = asyncio.create_task(self._handle_events(fresh, on_new_message, time.monotonic()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return response.json({})

    def _first_delivery(self, event: Mapping[str, Any]) -> bool:
        event_id = event.get("webhookEventId")
        return not isinstance(event_id, str) or self.seen_events.first_time(event_id)

    async def _handle_events(self, events: List[Dict[str, Any]], on_new_message: OnNewMessage, received: float) -> None:
        for event in events:
            try:
                await self.handle_event(event, on_new_message, received)
            except Exception as exc:
                log.error("LINE: an event could not be handled (%s)", type(exc).__name__)

    async def handle_event(self, event: Mapping[str, Any], on_new_message: OnNewMessage, received: float) -> None:
        """One webhook event. Only 1:1 chats reach the engine; only text and buttons are read."""
        if event.get("mode") == "standby":  # another channel module owns the chat
            return
        kind = event.get("type")
        source = event.get("source") if isinstance(event.get("source"), dict) else {}
        redelivered = bool((event.get("deliveryContext") or {}).get("isRedelivery"))
        reply_token = None if redelivered else event.get("replyToken")
        if source.get("type") != "user":
            group = source.get("groupId") or source.get("roomId")
            if kind in ("message", "join") and reply_token and group and self.told_groups.first_time(group):
                await self.api.reply(str(reply_token), [{"type": "text", "text": inbound.ONE_TO_ONE}])
            return
        user_id = source.get("userId")
        if not isinstance(user_id, str) or not _USER_ID.match(user_id):
            log.warning("LINE: ignored an event without a valid user id")
            return
        output = LineOutput(self, reply_token if isinstance(reply_token, str) else None,
                            deadline=received + self.config.reply_window, buffering=True)
        sender = f"line:{user_id}"
        if kind == "message":
            message = event.get("message") if isinstance(event.get("message"), dict) else {}
            if message.get("type") == "text":
                await self._turn(output, sender, inbound.engine_text(str(message.get("text") or "")), on_new_message)
            elif message.get("type") in NOT_TEXT_TYPES:
                await output.send_parts(sender, [Part(inbound.NOT_TEXT)])
        elif kind == "postback":
            data = (event.get("postback") or {}).get("data")
            reply = self.callbacks.get(user_id, data if isinstance(data, str) else None)
            if reply is None:
                await output.send_parts(sender, [Part(inbound.EXPIRED_BUTTON)])
            else:
                await self._turn(output, sender, reply.payload, on_new_message)
        elif kind == "follow":
            await self._turn(output, sender, inbound.GREETING_PAYLOAD, on_new_message, fallback=inbound.WELCOME)

    async def _turn(self, output: "LineOutput", sender: str, text: str, on_new_message: OnNewMessage,
                    fallback: Optional[str] = None) -> None:
        """Give the engine one message, then send everything it said in as few calls as possible."""
        try:
            await on_new_message(UserMessage(text, output, sender, input_channel=self.name()))
        except Exception as exc:
            log.error("LINE: the conversation engine failed (%s)", type(exc).__name__)
            output.collected.append(Part(inbound.TRY_AGAIN))
        if fallback and not output.collected:
            output.collected.append(Part(fallback))
        await output.flush(sender)

    # ----------------------------------------------------------------------------- outbound
    def line_messages(self, user_id: str, texts: List[str], quick: Sequence[QuickReply]) -> List[Dict[str, Any]]:
        """Text message objects; the quick replies (at most 13, labels cut to 20) go on the last."""
        messages: List[Dict[str, Any]] = [{"type": "text", "text": t} for t in texts]
        if messages and quick:
            items = []
            for reply in list(quick)[:MAX_QUICK_REPLIES]:
                action = {
                    "type": "postback",
                    "label": truncate(reply.title, LABEL_LIMIT),
                    "data": self.callbacks.put(user_id, reply),
                    "displayText": truncate(reply.title, DISPLAY_TEXT_LIMIT),
                }
                items.append({"type": "action", "action": action})
            messages[-1]["quickReply"] = {"items": items}
        return messages


class LineOutput(WholeMessageOutput):
    """Collects a resident's turn for the reply API; pushes directly otherwise.

    During a resident's turn (``buffering``) the messages are held until :meth:`flush`, after the
    engine finished, and go out in one reply call (or push when the token is missing or stale).
    Otherwise (``get_output_channel``, or anything sent after the flush such as a reminder) each
    bot message is pushed at once.
    """

    @classmethod
    def name(cls) -> Text:
        return "line"

    def __init__(self, channel: LineInput, reply_token: Optional[str] = None, deadline: float = 0.0,
                 buffering: bool = False) -> None:
        self.channel = channel
        self.reply_token = reply_token
        self.deadline = deadline
        self.collected: List[Part] = []
        self.flushed = not buffering

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        parts = render_message(message, self.channel.config.public_base_url)
        if self.flushed:
            await self.send_parts(recipient_id, parts)
        else:
            self.collected.extend(parts)

    async def flush(self, recipient_id: Text) -> None:
        """Send what the turn collected: reply API while the token is fresh, push for the rest."""
        self.flushed = True
        parts, self.collected = self.collected, []
        await self.send_parts(recipient_id, parts)

    async def send_parts(self, recipient_id: Text, parts: Sequence[Part]) -> None:
        user_id = user_id_of(recipient_id)
        if user_id is None:
            log.warning("LINE: a message for a conversation from another channel was dropped")
            return
        texts, quick = pack_texts(parts)
        messages = self.channel.line_messages(user_id, texts, quick)
        batches = [messages[i : i + MAX_MESSAGES] for i in range(0, len(messages), MAX_MESSAGES)]
        token, self.reply_token = self.reply_token, None  # a reply token works once
        if batches and token and time.monotonic() < self.deadline:
            if await self.channel.api.reply(token, batches[0]):
                batches = batches[1:]
        for batch in batches:
            if not await self.channel.api.push(user_id, batch):
                log.error("LINE: a message could not be delivered")
                return
