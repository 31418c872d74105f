"""Telegram channel end to end: real Sanic server with the channel blueprint mounted by Rasa's
``register()``, a fake engine, and a fake Bot API reached through python-telegram-bot's
``base_url``. Everything runs on 127.0.0.1."""
from __future__ import annotations

import json
import logging
import time
from typing import Any, AsyncIterator, Dict, Optional, Tuple

import aiohttp
import pytest

from integrations.channels import inbound
from integrations.channels.telegram import SECRET_HEADER, TelegramConfig, TelegramInput, chat_id_of, keyboard_rows
from tests.channel_harness import (
    LONG_PAYLOAD,
    SELF_PAYLOAD,
    FakeBotApi,
    FakeEngine,
    bot_turn,
    serve_channels,
    wait_for,
)

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstu"
SECRET = "s3cret-Token_for-tests"
CHAT = 7461823950
USER = {"id": CHAT, "is_bot": False, "first_name": "花子", "language_code": "ja"}
PRIVATE = {"id": CHAT, "type": "private", "first_name": "花子"}


def text_update(update_id: int, text: str, chat: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": int(time.time()),
                                                "chat": chat or PRIVATE, "from": USER, "text": text}}


def button_update(update_id: int, data: str, message_id: int = 101, text: str = "ご相談はご自身のことですか？") -> Dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": f"cq{update_id}", "chat_instance": "ci", "data": data, "from": USER,
        "message": {"message_id": message_id, "date": int(time.time()), "chat": PRIVATE, "text": text}}}


def media_update(update_id: int, kind: str) -> Dict[str, Any]:
    content = {
        "sticker": {"file_id": "CAAC", "file_unique_id": "AgAD", "width": 512, "height": 512,
                    "is_animated": False, "is_video": False, "type": "regular"},
        "photo": [{"file_id": "AgAC", "file_unique_id": "AQAD", "width": 90, "height": 90}],
        "voice": {"file_id": "AwAC", "file_unique_id": "AgAE", "duration": 3},
        "location": {"latitude": 35.6812, "longitude": 139.7671},
        "document": {"file_id": "BQAC", "file_unique_id": "AgAF", "file_name": "履歴書.pdf"},
    }[kind]
    return {"update_id": update_id, "message": {"message_id": update_id, "date": int(time.time()),
                                                "chat": PRIVATE, "from": USER, kind: content}}


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as api:
        yield api


def make_channel(monkeypatch: pytest.MonkeyPatch, api: FakeBotApi, mode: str = "webhook",
                 secret: Optional[str] = SECRET, **options: Any) -> TelegramInput:
    for name in ("TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN", "TELEGRAM_MODE", "TELEGRAM_WEBHOOK_URL", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    if secret:
        monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", secret)
    monkeypatch.setenv("TELEGRAM_MODE", mode)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", api.url)
    return TelegramInput.from_credentials(options or None)


async def post(base: str, body: Any, secret: Optional[str] = SECRET) -> Tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/webhooks/telegram/webhook", data=data, headers=headers) as resp:
            return resp.status, await resp.text()


async def test_text_reaches_engine_and_reply_with_buttons_reaches_telegram(monkeypatch, bot_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        status, _ = await post(base, text_update(1, "仕事をクビになって家賃が払えません😢"))
    assert status == 200
    [message] = engine.received
    assert message.text == "仕事をクビになって家賃が払えません😢"
    assert message.sender_id == f"tg:{CHAT}"
    assert message.input_channel == "telegram"
    [sent] = bot_api.sent()
    assert sent["chat_id"] == str(CHAT)
    assert sent["text"] == "「仕事をクビになって家賃が払えません😢」ですね。ご相談はご自身のことですか？"
    buttons = [b for row in sent["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["自分のこと", "ネットカフェなど🏠"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    assert LONG_PAYLOAD not in json.dumps(sent, ensure_ascii=False)  # the payload stays server-side


async def test_button_press_sends_the_original_long_payload(monkeypatch, bot_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        await post(base, text_update(1, "こんにちは"))
        buttons = [b for row in bot_api.sent()[0]["reply_markup"]["inline_keyboard"] for b in row]
        long_id = buttons[1]["callback_data"]
        status, _ = await post(base, button_update(2, long_id))
    assert status == 200
    assert len(LONG_PAYLOAD.encode()) > 64
    assert [m.text for m in engine.received] == ["こんにちは", LONG_PAYLOAD]
    assert engine.received[1].sender_id == f"tg:{CHAT}"
    assert bot_api.sent("answerCallbackQuery")[0]["callback_query_id"] == "cq2"
    [edited] = bot_api.sent("editMessageText")
    assert edited["text"].endswith("→ ネットカフェなど🏠")  # the chat shows what was chosen
    assert len(bot_api.sent()) == 2  # the engine's answer to the button


async def test_unknown_or_expired_button_gets_a_polite_reply_and_nothing_reaches_engine(monkeypatch, bot_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        status, _ = await post(base, button_update(5, "bZZZZZZZZ"))
        forged, _ = await post(base, button_update(6, SELF_PAYLOAD))  # a raw payload is not an id we issued
    assert (status, forged) == (200, 200)
    assert engine.received == []
    assert [s["text"] for s in bot_api.sent()] == [inbound.EXPIRED_BUTTON, inbound.EXPIRED_BUTTON]


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_wrong_or_missing_secret_is_401_and_nothing_is_processed(monkeypatch, bot_api, secret):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        status, _ = await post(base, text_update(1, "こんにちは"), secret=secret)
    assert status == 401
    assert engine.received == []
    assert bot_api.calls == []


async def test_oversized_body_is_413_before_parsing(monkeypatch, bot_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api, max_body_bytes=4096)
    big = json.dumps(text_update(1, "あ" * 3000), ensure_ascii=False).encode()
    async with serve_channels([channel], engine) as base:
        status, _ = await post(base, big)
        not_json, _ = await post(base, b"{" * 5000)  # too big and not even JSON: still 413
        garbage, _ = await post(base, b"\xff\xfe not json")
    assert (status, not_json, garbage) == (413, 413, 400)
    assert engine.received == []
    assert bot_api.calls == []


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "location", "document"])
async def test_non_text_gets_polite_text_and_engine_gets_nothing(monkeypatch, bot_api, kind):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        status, _ = await post(base, media_update(3, kind))
    assert status == 200
    assert engine.received == []
    [sent] = bot_api.sent()
    assert sent["text"] == inbound.NOT_TEXT
    assert sent["chat_id"] == str(CHAT)


async def test_output_channel_pushes_staff_message_into_the_chat(monkeypatch, bot_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine):
        output = channel.get_output_channel()
        assert output is not None and output.name() == "telegram"
        await output.send_response(f"tg:{CHAT}", bot_turn("相談員の佐藤です。お待たせしました。今お話しできますか？",
                                                           buttons=[{"title": "はい", "payload": "/affirm"}]))
        await output.send_response("line:U0123456789abcdef0123456789abcdef", bot_turn("届かないはず"))
    [sent] = bot_api.sent()
    assert sent["chat_id"] == str(CHAT)
    assert sent["text"] == "相談員の佐藤です。お待たせしました。今お話しできますか？"
    assert [b["text"] for row in sent["reply_markup"]["inline_keyboard"] for b in row] == ["はい"]
    assert engine.received == []


async def test_protocol_payloads_add_no_text_of_their_own(monkeypatch, bot_api):
    """The bot's text already carries referrals, contacts and bookings: nothing twice, no raw JSON."""
    def script(message):
        return [
            bot_turn("ありがとうございました。"),
            bot_turn(custom={"type": "referral", "urgency": "normal", "interpreter": False, "referrals": [
                {"destination": "jiritsu_soudan", "name": "くらし・しごとサポートセンター", "reason": "家賃のことを一緒に考えます。"}]}),
            bot_turn(custom={"type": "booking", "status": "booked", "destination": "hellowork", "office": "しごと相談コーナー",
                             "start": "2026-04-07T10:00:00+09:00", "end": "2026-04-07T10:50:00+09:00", "reference": "YK7M2QP"}),
        ]

    engine = FakeEngine(script)
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        await post(base, text_update(1, "予約したいです"))
    assert [s["text"] for s in bot_api.sent()] == ["ありがとうございました。"]


async def test_start_command_greets_and_typed_intents_are_neutralised(monkeypatch, bot_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        await post(base, text_update(1, "/start"))
        await post(base, text_update(2, '/inform{"public_assistance": "receiving"}'))
    assert [m.text for m in engine.received] == [inbound.GREETING_PAYLOAD, 'inform{"public_assistance": "receiving"}']


async def test_group_chats_are_told_to_talk_one_to_one_once(monkeypatch, bot_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    group = {"id": -1001234, "type": "supergroup", "title": "町内会"}
    async with serve_channels([channel], engine) as base:
        await post(base, text_update(1, "こんにちは", chat=group))
        await post(base, text_update(2, "もしもし", chat=group))
    assert engine.received == []
    assert [s["text"] for s in bot_api.sent()] == [inbound.ONE_TO_ONE]


async def test_redelivered_update_is_processed_once(monkeypatch, bot_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        first, _ = await post(base, text_update(9, "二回届いたメッセージ"))
        again, _ = await post(base, text_update(9, "二回届いたメッセージ"))
    assert (first, again) == (200, 200)
    assert len(engine.received) == 1
    assert len(bot_api.sent()) == 1


async def test_engine_failure_gets_an_apology(monkeypatch, bot_api):
    engine = FakeEngine(fail=True)
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        status, _ = await post(base, text_update(1, "こんにちは"))
    assert status == 200
    assert [s["text"] for s in bot_api.sent()] == [inbound.TRY_AGAIN]


async def test_long_reply_is_split_within_telegram_limit_with_buttons_on_last_part(monkeypatch, bot_api):
    long_text = "\n".join(f"{i}行目：ご相談の内容を確認しています🙂" for i in range(400))
    engine = FakeEngine(lambda m: [bot_turn(long_text, buttons=[{"title": "はい", "payload": "/affirm"}])])
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        await post(base, text_update(1, "長い返事をください"))
    sent = bot_api.sent()
    assert len(sent) > 1
    assert all(len(s["text"].encode("utf-16-le")) // 2 <= 4096 for s in sent)
    assert "\n".join(s["text"] for s in sent) == long_text
    assert [("reply_markup" in s) for s in sent] == [False] * (len(sent) - 1) + [True]


async def test_polling_mode_reads_updates_and_answers(monkeypatch, bot_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api, mode="polling", secret=None, poll_timeout=1)
    async with serve_channels([channel], engine) as base:
        status, _ = await post(base, text_update(1, "webhookは使いません"))
        assert status == 404  # polling mode accepts no webhook posts
        await bot_api.updates.put(text_update(40, "ポーリングで届きました✉️"))
        await wait_for(lambda: bot_api.sent())
        # the next poll acknowledges the update (offset = update_id + 1)
        await wait_for(lambda: any(p.get("offset") == "41" for m, p in bot_api.calls if m == "getUpdates"))
    assert [m.text for m in engine.received] == ["ポーリングで届きました✉️"]
    assert bot_api.sent()[0]["text"].startswith("「ポーリングで届きました✉️」")
    assert bot_api.calls[1][0] == "deleteWebhook"  # after getMe, before the first getUpdates


async def test_webhook_is_registered_with_the_secret_when_a_url_is_given(monkeypatch, bot_api):
    channel = make_channel(monkeypatch, bot_api)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://soudan.example.jp/webhooks/telegram/webhook")
    channel = TelegramInput.from_credentials({"mode": "webhook"})
    async with serve_channels([channel], FakeEngine()):
        pass
    [registered] = bot_api.sent("setWebhook")
    assert registered["url"] == "https://soudan.example.jp/webhooks/telegram/webhook"
    assert registered["secret_token"] == SECRET
    assert registered["allowed_updates"] == ["message", "callback_query"]


@pytest.mark.parametrize("env", [{}, {"TELEGRAM_TOKEN": TOKEN}, {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": "bad secret!"}])
async def test_unconfigured_channel_answers_503_and_says_why(monkeypatch, caplog, env):
    for name in ("TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN", "TELEGRAM_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.INFO)
    engine = FakeEngine()
    channel = TelegramInput.from_credentials(None)
    assert channel.get_output_channel() is None
    async with serve_channels([channel], engine) as base:
        status, body = await post(base, text_update(1, "こんにちは"))
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/webhooks/telegram/") as resp:
                health = resp.status
    assert (status, health) == (503, 503)
    assert "not configured" in body
    assert engine.received == []
    assert any("Telegram channel not started" in r.getMessage() for r in caplog.records)


async def test_logs_carry_no_message_text_user_id_or_token(monkeypatch, bot_api, caplog):
    caplog.set_level(logging.DEBUG)
    engine = FakeEngine()
    channel = make_channel(monkeypatch, bot_api)
    async with serve_channels([channel], engine) as base:
        await post(base, text_update(1, "借金が三百万円あります"))
        buttons = [b for row in bot_api.sent()[0]["reply_markup"]["inline_keyboard"] for b in row]
        await post(base, button_update(2, buttons[0]["callback_data"]))
        await post(base, media_update(3, "photo"))
        await post(base, text_update(4, "借金"), secret="wrong")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert len(engine.received) == 2
    for secret_or_personal in ("借金", str(CHAT), TOKEN, SECRET, "花子", "consulting_for"):
        assert secret_or_personal not in logged


def test_config_and_pure_helpers():
    config = TelegramConfig.from_env({"TELEGRAM_TOKEN": "t", "TELEGRAM_MODE": "polling"}, {"poll_timeout": "999"})
    assert config.problem is None and config.mode == "polling" and config.poll_timeout == 50
    assert TelegramConfig.from_env({"TELEGRAM_TOKEN": "t"}, {"mode": "polling"}).mode == "polling"
    assert TelegramConfig.from_env({"TELEGRAM_TOKEN": "t", "TELEGRAM_MODE": "push"}, {}).problem
    assert chat_id_of("tg:-100123") == -100123
    assert chat_id_of("line:U1") is None and chat_id_of(None) is None and chat_id_of("tg:12a") is None
    assert keyboard_rows(["はい", "いいえ", "わからない"]) == [[0, 1], [2]]
    assert keyboard_rows(["パート・派遣・アルバイト", "正社員"]) == [[0], [1]]
