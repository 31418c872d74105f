"""Test harness for the messaging channels: a real Sanic app serving the channel blueprints the
way Rasa mounts them, a small fake conversation engine, fake Telegram and LINE APIs (aiohttp),
all on 127.0.0.1. Not a test module itself.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
import uuid
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Sequence, Tuple

from aiohttp import web
from rasa.core.channels.channel import InputChannel, UserMessage, register
from sanic import Sanic

#: A quick-reply payload far over Telegram's 64-byte callback_data limit (Japanese and emoji).
LONG_PAYLOAD = '/inform{"housing": "no_fixed_home", "note": "ネットカフェで寝泊まりしています🙏"}'
SELF_PAYLOAD = '/inform{"consulting_for": "self"}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_turn(text: Optional[str] = None, buttons: Optional[list] = None, custom: Optional[dict] = None) -> Dict[str, Any]:
    """A bot message shaped like Rasa's ``BotUttered.message()`` (unused keys are None)."""
    return {"text": text, "buttons": buttons, "custom": custom, "image": None, "attachment": None,
            "elements": None, "quick_replies": None, "template_name": "utter_test", "timestamp": time.time()}


def intake_reply(message: UserMessage) -> List[Dict[str, Any]]:
    """What the intake bot does on a question: a text with quick replies, then the ``ask`` payload."""
    choices = [{"title": "自分のこと", "payload": SELF_PAYLOAD}, {"title": "ネットカフェなど🏠", "payload": LONG_PAYLOAD}]
    return [
        bot_turn(f"「{message.text}」ですね。ご相談はご自身のことですか？", buttons=choices),
        bot_turn(custom={"type": "ask", "field": "consulting_for", "choices": choices}),
    ]


class FakeEngine:
    """Stands in for Rasa's agent (``app.ctx.agent.handle_message``): records each message and
    answers through the message's output channel, exactly as Rasa's processor does."""

    def __init__(self, script: Callable[[UserMessage], List[Dict[str, Any]]] = intake_reply,
                 delay: float = 0.0, fail: bool = False) -> None:
        self.script = script
        self.delay = delay
        self.fail = fail
        self.received: List[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("engine down")
        for bot_message in self.script(message):
            await message.output_channel.send_response(message.sender_id, dict(bot_message))


@asynccontextmanager
async def serve_channels(channels: Sequence[InputChannel], engine: FakeEngine) -> AsyncIterator[str]:
    """A real Sanic server with the channels registered by Rasa's own ``register()`` under
    ``/webhooks/``; yields its base URL. Listeners (server start/stop) run as under ``rasa run``."""
    Sanic.test_mode = True  # lets Sanic 21.12 start several apps in one process (TouchUp, registry)
    app = Sanic(f"channels_{uuid.uuid4().hex[:10]}", configure_logging=False)
    app.ctx.agent = SimpleNamespace(handle_message=engine.handle_message)
    register(list(channels), app, route="/webhooks/")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


async def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Polls ``condition`` until it is truthy (background work on the same loop)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class FakeServer:
    """An aiohttp server on 127.0.0.1 that records what it receives (no access log: URLs hold tokens)."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.runner: Optional[web.AppRunner] = None
        self.url = ""

    async def __aenter__(self) -> "FakeServer":
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


class FakeBotApi(FakeServer):
    """The Telegram Bot API methods the channel uses. python-telegram-bot posts form fields, with
    objects such as ``reply_markup`` as JSON strings."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.calls: List[Tuple[str, Dict[str, Any]]] = []
        self.unauthorized = 0
        self.updates: asyncio.Queue = asyncio.Queue()
        self._message_id = 100
        self.app.router.add_post("/bot{token}/{method}", self._handle)

    def sent(self, method: str = "sendMessage") -> List[Dict[str, Any]]:
        return [params for m, params in self.calls if m == method]

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            self.unauthorized += 1
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {k: v for k, v in (await request.post()).items()}
        for key in ("reply_markup", "allowed_updates"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        if method != "getUpdates":
            self.calls.append((method, params))
        return web.json_response({"ok": True, "result": await self._result(method, params)})

    async def _result(self, method: str, params: Dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 999000, "is_bot": True, "first_name": "くらし相談", "username": "kurashi_test_bot",
                    "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
        if method in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            self._message_id += 1
            return {"message_id": int(params.get("message_id") or self._message_id), "date": int(time.time()),
                    "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": params.get("text", "")}
        if method == "getUpdates":
            self.calls.append((method, params))
            try:
                first = await asyncio.wait_for(self.updates.get(), timeout=min(float(params.get("timeout") or 0), 1.0) or 0.05)
            except asyncio.TimeoutError:
                return []
            return [first]
        return True


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class FakeLineApi(FakeServer):
    """Reply and push endpoints of the Messaging API. Checks the bearer token and the limits the
    real API enforces (5 messages, 5000 characters, 13 quick replies, 20-character labels) and
    refuses a reply token used twice or listed in ``expired_tokens``."""

    def __init__(self, access_token: str) -> None:
        super().__init__()
        self.access_token = access_token
        self.calls: List[Tuple[str, Dict[str, Any], Dict[str, str]]] = []
        self.unauthorized = 0
        self.rejected: List[str] = []
        self.expired_tokens: set = set()
        self._used_tokens: set = set()
        self.app.router.add_post("/v2/bot/message/{kind}", self._handle)

    def bodies(self, kind: str) -> List[Dict[str, Any]]:
        return [body for k, body, _ in self.calls if k == kind]

    def texts(self) -> List[str]:
        return [m["text"] for _, body, _ in self.calls for m in body["messages"]]

    async def _handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            self.unauthorized += 1
            return web.json_response({"message": "Authentication failed"}, status=401)
        kind = request.match_info["kind"]
        body = json.loads(await request.read())
        problem = self._problem(kind, body)
        if problem:
            self.rejected.append(problem)
            return web.json_response({"message": problem}, status=400)
        self.calls.append((kind, body, dict(request.headers)))
        return web.json_response({"sentMessages": [{"id": str(i)} for i, _ in enumerate(body["messages"])]})

    def _problem(self, kind: str, body: Dict[str, Any]) -> Optional[str]:
        messages = body.get("messages") or []
        if not 1 <= len(messages) <= 5:
            return "messages: 1 to 5"
        for m in messages:
            if m.get("type") != "text" or not 1 <= len(m["text"].encode("utf-16-le")) // 2 <= 5000:
                return "text: 1 to 5000 characters"
            items = (m.get("quickReply") or {}).get("items") or []
            if len(items) > 13:
                return "quickReply: at most 13 items"
            for item in items:
                action = item["action"]
                if not 1 <= len(action["label"].encode("utf-16-le")) // 2 <= 20 or len(action.get("data", "")) > 300:
                    return "quickReply label or data too long"
        if kind == "reply":
            token = body.get("replyToken")
            if token in self._used_tokens or token in self.expired_tokens:
                return "Invalid reply token"
            self._used_tokens.add(token)
        return None
