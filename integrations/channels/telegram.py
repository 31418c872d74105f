"""Telegram as a Rasa 3.6 input channel, on python-telegram-bot 21 used as an API client only.

Replaces Rasa's built-in ``telegram`` channel (aiogram 2). Secrets come from the environment:
``TELEGRAM_TOKEN``; ``TELEGRAM_SECRET_TOKEN`` (webhook mode, checked against Telegram's
``X-Telegram-Bot-Api-Secret-Token`` header); ``TELEGRAM_MODE`` = ``webhook`` (default) or
``polling``; optional ``TELEGRAM_WEBHOOK_URL`` (registered with Telegram at start) and
``TELEGRAM_API_BASE_URL`` (tests point it at a local fake Bot API). Without a token the channel
stays off and its routes answer 503.

Residents are ``tg:<chat_id>`` in Rasa. Buttons carry short random ids (Telegram allows 64 bytes
of ``callback_data``); the payloads stay in a bounded in-memory map. Only private chats are served.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from integrations.channels import inbound
from integrations.channels.output import WholeMessageOutput
from integrations.channels.callbacks import CallbackStore, SeenIds
from integrations.channels.render import Part, QuickReply, render_message, split_text, utf16_len
from integrations.channels.webhook import (
    BodyTooLarge,
    env_value,
    int_option,
    not_configured_blueprint,
    quiet_client_loggers,
    read_limited_body,
    redact,
    warn_ignored_secrets,
)

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TEXT_LIMIT = 4096  # Telegram's message length, in UTF-16 code units
ALLOWED_UPDATES = ["message", "callback_query"]
DEFAULT_API_BASE_URL = "https://api.telegram.org"
_SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts as secret_token
_SENDER = re.compile(r"^tg:(-?\d{1,20})$")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class TelegramConfig:
    """Settings from the environment (secrets) and credentials.yml (non-secret options)."""

    token: Optional[str]
    secret: Optional[str]
    mode: str
    api_base_url: str
    webhook_url: Optional[str]
    public_base_url: Optional[str]
    max_body_bytes: int
    poll_timeout: int
    problem: Optional[str]  # why the channel is off; None when it can run

    @classmethod
    def from_env(cls, env: Mapping[str, str], options: Mapping[str, Any]) -> "TelegramConfig":
        token = env_value(env, "TELEGRAM_TOKEN")
        secret = env_value(env, "TELEGRAM_SECRET_TOKEN")
        mode = (env_value(env, "TELEGRAM_MODE") or str(options.get("mode") or "webhook")).strip().lower()
        problem = None
        if not token:
            problem = "TELEGRAM_TOKEN is unset"
        elif mode not in ("webhook", "polling"):
            problem = "TELEGRAM_MODE must be 'webhook' or 'polling'"
        elif mode == "webhook" and not secret:
            problem = "TELEGRAM_SECRET_TOKEN is unset (required in webhook mode)"
        elif mode == "webhook" and not _SECRET_FORMAT.match(secret or ""):
            problem = "TELEGRAM_SECRET_TOKEN may only contain A-Z a-z 0-9 _ - (1-256 characters)"
        return cls(
            token=token,
            secret=secret,
            mode=mode,
            api_base_url=(env_value(env, "TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/"),
            webhook_url=env_value(env, "TELEGRAM_WEBHOOK_URL"),
            public_base_url=env_value(env, "PUBLIC_BASE_URL"),
            max_body_bytes=int_option(options, "max_body_bytes", 65536, 1024, 1 << 20),
            poll_timeout=int_option(options, "poll_timeout", 30, 0, 50),
            problem=problem,
        )


def chat_id_of(sender_id: Optional[str]) -> Optional[int]:
    """``tg:<chat_id>`` → the chat id; None for conversations from other channels."""
    match = _SENDER.match(sender_id or "")
    return int(match.group(1)) if match else None


def _seconds(value: Any) -> float:
    """RetryAfter.retry_after is an int in PTB 21 and a timedelta in later versions."""
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


def keyboard_rows(titles: Sequence[str]) -> List[List[int]]:
    """Indexes of buttons per row: two per row when every title is short, else one per row."""
    per_row = 2 if titles and all(utf16_len(t) <= 8 for t in titles) else 1
    return [list(range(i, min(i + per_row, len(titles)))) for i in range(0, len(titles), per_row)]


class TelegramInput(InputChannel):
    """Webhook (Telegram POSTs to ``/webhooks/telegram/webhook``) or long polling from the server."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TelegramInput":
        options = credentials or {}
        warn_ignored_secrets("telegram", options, ("token", "access_token", "secret_token", "webhook_secret"))
        config = TelegramConfig.from_env(os.environ, options)
        if config.problem:
            log.warning("Telegram channel not started: %s. /webhooks/telegram/webhook answers 503.", config.problem)
        else:
            quiet_client_loggers()
            log.info("Telegram channel configured (mode=%s)", config.mode)
        return cls(config)

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        self.callbacks = CallbackStore()
        self.seen_updates = SeenIds()
        self.told_groups = SeenIds(1000)
        self._bot: Optional[Bot] = None
        self._bot_lock: Optional[asyncio.Lock] = None
        self._poller: Optional[asyncio.Task] = None

    # ----------------------------------------------------------------------------- Rasa hooks
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        if self.config.problem:
            return not_configured_blueprint("kurashi_telegram", "telegram", self.config.problem)
        bp = Blueprint("kurashi_telegram")

        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "mode": self.config.mode})

        async def webhook(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        async def started(app: Any, loop: Any) -> None:
            await self.start(on_new_message)

        async def stopping(app: Any, loop: Any) -> None:
            await self.stop()

        bp.add_route(health, "/", methods=["GET"])
        bp.add_route(webhook, "/webhook", methods=["POST"], stream=True)
        bp.listener("after_server_start")(started)
        bp.listener("before_server_stop")(stopping)
        return bp

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Lets Rasa push into a chat outside a resident's turn (staff messages, reminders)."""
        return None if self.config.problem else TelegramOutput(self)

    # ----------------------------------------------------------------------------- lifecycle
    async def bot(self) -> Bot:
        """The API client, created and initialised (getMe) on first use inside the server's loop."""
        if self._bot is not None:
            return self._bot
        if self._bot_lock is None:
            self._bot_lock = asyncio.Lock()
        async with self._bot_lock:
            if self._bot is None:
                requests = (
                    HTTPXRequest(connection_pool_size=8),
                    HTTPXRequest(connection_pool_size=1, read_timeout=10.0),
                )
                bot = Bot(
                    str(self.config.token),
                    base_url=f"{self.config.api_base_url}/bot",
                    base_file_url=f"{self.config.api_base_url}/file/bot",
                    request=requests[0],
                    get_updates_request=requests[1],
                )
                try:
                    await bot.initialize()
                except BaseException:
                    await asyncio.gather(*(r.shutdown() for r in requests), return_exceptions=True)
                    raise
                self._bot = bot
        return self._bot

    async def start(self, on_new_message: OnNewMessage) -> None:
        """Server start: register the webhook (when a URL is given) or start polling."""
        if self.config.mode == "polling":
            self._poller = asyncio.create_task(self._poll(on_new_message), name="telegram-polling")
            return
        if self.config.webhook_url:
            try:
                bot = await self.bot()
                await bot.set_webhook(
                    url=self.config.webhook_url,
                    secret_token=self.config.secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
                log.info("Telegram webhook registered")
            except Exception as exc:
                log.error("Telegram webhook registration failed (%s)", self._describe(exc))

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        if self._bot is not None:
            bot, self._bot = self._bot, None
            await bot.shutdown()

    async def _poll(self, on_new_message: OnNewMessage) -> None:
        """Long polling: getUpdates in a loop, one update at a time, backing off on errors."""
        offset: Optional[int] = None
        webhook_cleared = False
        delay = 1.0
        while True:
            try:
                bot = await self.bot()
                if not webhook_cleared:
                    await bot.delete_webhook()  # getUpdates is refused while a webhook is set
                    webhook_cleared = True
                updates = await bot.get_updates(
                    offset=offset, timeout=self.config.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                log.error("Telegram polling stopped: the token was rejected")
                return
            except Exception as exc:
                log.warning("Telegram polling failed (%s); retrying in %.0f s", self._describe(exc), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            for update in updates:
                offset = update.update_id + 1
                await self.handle_update(update, on_new_message)

    # ----------------------------------------------------------------------------- inbound
    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if self.config.mode != "webhook":
            return response.json({"error": "the telegram channel runs in polling mode"}, status=404)
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8"), str(self.config.secret).encode("utf-8")):
            log.warning("Telegram webhook: rejected a request without the right secret token")
            return response.json({"error": "unauthorized"}, status=401)
        try:
            body = await read_limited_body(request, self.config.max_body_bytes)
        except BodyTooLarge:
            log.warning("Telegram webhook: rejected an oversized body")
            return response.json({"error": "payload too large"}, status=413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            update = Update.de_json(data, None)
        except Exception:
            log.warning("Telegram webhook: unreadable update")
            return response.json({"error": "bad request"}, status=400)
        if update is None or not self.seen_updates.first_time(update.update_id):
            return response.json({"ok": True})  # redelivery of an update already handled
        await self.handle_update(update, on_new_message)
        return response.json({"ok": True})

    async def handle_update(self, update: Update, on_new_message: OnNewMessage) -> None:
        """One update from the webhook or from polling; never raises (Telegram would redeliver)."""
        try:
            if update.callback_query is not None:
                await self._on_button(update, on_new_message)
            elif update.message is not None:
                await self._on_message(update.message, on_new_message)
            else:
                log.debug("Telegram: ignored an update that is neither a message nor a button")
        except Exception as exc:
            log.error("Telegram: an update could not be handled (%s)", self._describe(exc))

    async def _on_message(self, message: Message, on_new_message: OnNewMessage) -> None:
        chat_id = message.chat.id
        if message.chat.type != "private":
            if self.told_groups.first_time(chat_id):
                await self.send_part(chat_id, Part(inbound.ONE_TO_ONE))
            return
        if message.text is not None:
            await self._turn(chat_id, inbound.engine_text(message.text), on_new_message, message)
        elif message.effective_attachment is not None:
            await self.send_part(chat_id, Part(inbound.NOT_TEXT))

    async def _on_button(self, update: Update, on_new_message: OnNewMessage) -> None:
        query = update.callback_query
        bot = await self.bot()
        try:
            await bot.answer_callback_query(query.id)  # stops the spinner on the button
        except TelegramError as exc:
            log.debug("Telegram: answerCallbackQuery failed (%s)", self._describe(exc))
        shown = query.message
        if shown is None or shown.chat.type != "private":
            return
        chat_id = shown.chat.id
        reply = self.callbacks.get(str(chat_id), query.data)
        if reply is None:
            await self.send_part(chat_id, Part(inbound.EXPIRED_BUTTON))
            return
        await self._mark_chosen(bot, shown, reply)
        await self._turn(chat_id, reply.payload, on_new_message, shown)

    async def _mark_chosen(self, bot: Bot, shown: Any, reply: QuickReply) -> None:
        """Replace the pressed keyboard by 「→ choice」 so the chat shows what was chosen."""
        try:
            text = getattr(shown, "text", None)
            if text and utf16_len(text) + utf16_len(reply.title) + 4 <= TEXT_LIMIT:
                await bot.edit_message_text(
                    chat_id=shown.chat.id, message_id=shown.message_id, text=f"{text}\n\n→ {reply.title}",
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            else:
                await bot.edit_message_reply_markup(chat_id=shown.chat.id, message_id=shown.message_id)
        except TelegramError as exc:
            log.debug("Telegram: could not update the pressed keyboard (%s)", self._describe(exc))

    async def _turn(self, chat_id: int, text: str, on_new_message: OnNewMessage, message: Any) -> None:
        metadata = None
        user = getattr(message, "from_user", None)
        if user is not None and user.language_code:
            metadata = {"telegram": {"language_code": user.language_code}}
        output = TelegramOutput(self)
        try:
            await on_new_message(
                UserMessage(text, output, f"tg:{chat_id}", input_channel=self.name(), metadata=metadata)
            )
        except Exception as exc:
            log.error("Telegram: the conversation engine failed (%s)", type(exc).__name__)
            await self.send_part(chat_id, Part(inbound.TRY_AGAIN))

    # ----------------------------------------------------------------------------- outbound
    async def send_part(self, chat_id: int, part: Part) -> None:
        """One rendered part as one or more Telegram messages; buttons on the last one."""
        bot = await self.bot()
        chunks = split_text(part.text or inbound.CHOOSE, TEXT_LIMIT)
        markup = self._keyboard(chat_id, part.quick_replies) if part.quick_replies else None
        for i, chunk in enumerate(chunks):
            await self._send(bot, chat_id, chunk, markup if i == len(chunks) - 1 else None)

    async def _send(self, bot: Bot, chat_id: int, text: str, markup: Optional[InlineKeyboardMarkup]) -> None:
        for attempt in (1, 2):
            try:
                await bot.send_message(
                    chat_id=chat_id, text=text, reply_markup=markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                return
            except RetryAfter as exc:
                if attempt == 2:
                    raise
                await asyncio.sleep(min(_seconds(exc.retry_after), 30.0))

    def _keyboard(self, chat_id: int, replies: Sequence[QuickReply]) -> InlineKeyboardMarkup:
        ids = [self.callbacks.put(str(chat_id), r) for r in replies]
        rows = keyboard_rows([r.title for r in replies])
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(replies[i].title, callback_data=ids[i]) for i in row] for row in rows]
        )

    def _describe(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {redact(str(exc), (self.config.token, self.config.secret))}"[:300]


class TelegramOutput(WholeMessageOutput):
    """Sends bot messages to ``tg:<chat_id>`` as they come (no buffering: Telegram has no reply token)."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    def __init__(self, channel: TelegramInput) -> None:
        self.channel = channel

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        chat_id = chat_id_of(recipient_id)
        if chat_id is None:
            log.warning("Telegram: a message for a conversation from another channel was dropped")
            return
        try:
            for part in render_message(message, self.channel.config.public_base_url):
                await self.channel.send_part(chat_id, part)
        except TelegramError as exc:
            log.error("Telegram: a message could not be sent (%s)", self.channel._describe(exc))
