"""LINE channel end to end: real Sanic server with the channel blueprint mounted by Rasa's
``register()``, a fake engine, correctly signed and forged webhooks, and a fake Messaging API
(aiohttp) that checks the bearer token and the API's limits. Everything runs on 127.0.0.1."""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import aiohttp
import pytest

from integrations.channels import inbound
from integrations.channels.line import LineConfig, LineInput, pack_texts, user_id_of, verify_signature
from integrations.channels.render import Part, QuickReply
from tests.channel_harness import LONG_PAYLOAD, FakeEngine, FakeLineApi, bot_turn, serve_channels, sign

SECRET = "0123456789abcdef0123456789abcdef"
ACCESS_TOKEN = "line-access-token-for-tests/abc+XYZ="
USER = "U4af4980629a0b1c2d3e4f5a6b7c8d9e0"


def event(kind: str = "message", *, text: Optional[str] = None, message: Optional[Dict[str, Any]] = None,
          data: Optional[str] = None, redelivery: bool = False, event_id: Optional[str] = None,
          source: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    e: Dict[str, Any] = {
        "type": kind, "mode": "active", "timestamp": int(time.time() * 1000),
        "source": source or {"type": "user", "userId": USER},
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": uuid.uuid4().hex,
    }
    if kind == "message":
        e["message"] = message or {"id": "4680", "type": "text", "text": text, "quoteToken": "q"}
    if kind == "postback":
        e["postback"] = {"data": data}
    return e


def body_of(*events: Dict[str, Any]) -> bytes:
    return json.dumps({"destination": "Uxxxxxxxx", "events": list(events)}, ensure_ascii=False).encode()


@pytest.fixture
async def line_api() -> AsyncIterator[FakeLineApi]:
    async with FakeLineApi(ACCESS_TOKEN) as api:
        yield api


def make_channel(monkeypatch: pytest.MonkeyPatch, api: FakeLineApi, **options: Any) -> LineInput:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("LINE_CHANNEL_SECRET", SECRET)
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("LINE_API_BASE_URL", api.url)
    return LineInput.from_credentials(options or None)


async def post(base: str, body: bytes, signature: Optional[str] = "sign") -> Tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        signature = sign(SECRET, body)
    if signature is not None:
        headers["X-Line-Signature"] = signature
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/webhooks/line/webhook", data=body, headers=headers) as resp:
            return resp.status, await resp.text()


async def deliver(channel: LineInput, base: str, *events: Dict[str, Any], **kw: Any) -> int:
    status, _ = await post(base, body_of(*events), **kw)
    await channel.drain()
    return status


def quick_items(message: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]


async def test_text_reaches_engine_and_reply_with_quick_replies_reaches_line(monkeypatch, line_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api)
    async with serve_channels([channel], engine) as base:
        status = await deliver(channel, base, event(text="46歳で子ども3人、1年5か月働いてないです🙇‍♀️"))
    assert status == 200
    [message] = engine.received
    assert message.text == "46歳で子ども3人、1年5か月働いてないです🙇‍♀️"
    assert message.sender_id == f"line:{USER}"
    assert message.input_channel == "line"
    [(kind, body, headers)] = line_api.calls
    assert kind == "reply"
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    [reply] = body["messages"]
    assert reply["text"] == "「46歳で子ども3人、1年5か月働いてないです🙇‍♀️」ですね。ご相談はご自身のことですか？"
    actions = quick_items(reply)
    assert [a["label"] for a in actions] == ["自分のこと", "ネットカフェなど🏠"]
    assert [a["displayText"] for a in actions] == ["自分のこと", "ネットカフェなど🏠"]
    assert all(a["type"] == "postback" and len(a["data"]) <= 300 for a in actions)
    assert line_api.rejected == [] and line_api.unauthorized == 0


async def test_postback_sends_the_original_long_payload(monkeypatch, line_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api)
    async with serve_channels([channel], engine) as base:
        await deliver(channel, base, event(text="こんにちは"))
        data = quick_items(line_api.bodies("reply")[0]["messages"][0])[1]["data"]
        await deliver(channel, base, event("postback", data=data))
    assert [m.text for m in engine.received] == ["こんにちは", LONG_PAYLOAD]
    assert engine.received[1].sender_id == f"line:{USER}"
    assert len(line_api.bodies("reply")) == 2


async def test_unknown_postback_gets_a_polite_reply(monkeypatch, line_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api)
    async with serve_channels([channel], engine) as base:
        await deliver(channel, base, event("postback", data='/inform{"public_assistance": "receiving"}'))
    assert engine.received == []
    assert line_api.texts() == [inbound.EXPIRED_BUTTON]


@pytest.mark.parametrize("signature", [None, "", "AAAA", "forged", "sign-other-secret", "sign-other-body"])
async def test_forged_or_unsigned_webhook_is_401_and_nothing_is_processed(monkeypatch, line_api, signature):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api)
    body = body_of(event(text="こんにちは"))
    if signature == "sign-other-secret":
        signature = sign("fedcba9876543210fedcba9876543210", body)
    elif signature == "sign-other-body":
        signature = sign(SECRET, body.replace("こんにちは".encode(), "さようなら".encode()))
    async with serve_channels([channel], engine) as base:
        status, _ = await post(base, body, signature=signature)
        await channel.drain()
    assert status == 401
    assert engine.received == []
    assert line_api.calls == []


async def test_oversized_body_is_413_before_parsing(monkeypatch, line_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api, max_body_bytes=4096)
    big = body_of(event(text="あ" * 3000))
    async with serve_channels([channel], engine) as base:
        status, _ = await post(base, big)
        unsigned, _ = await post(base, b"[" * 10000, signature="AAAA")
        await channel.drain()
    assert (status, unsigned) == (413, 413)
    assert engine.received == []
    assert line_api.calls == []


@pytest.mark.parametrize("message", [
    {"id": "1", "type": "sticker", "packageId": "446", "stickerId": "1988", "stickerResourceType": "STATIC"},
    {"id": "2", "type": "image", "contentProvider": {"type": "line"}},
    {"id": "3", "type": "audio", "duration": 2000, "contentProvider": {"type": "line"}},
    {"id": "4", "type": "location", "title": "みどり市役所", "address": "みどり市中央1-1-1", "latitude": 35.0, "longitude": 139.0},
    {"id": "5", "type": "file", "fileName": "源泉徴収票.pdf", "fileSize": 2048},
])
async def test_non_text_gets_polite_text_and_engine_gets_nothing(monkeypatch, line_api, message):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api)
    async with serve_channels([channel], engine) as base:
        await deliver(channel, base, event(message=message))
    assert engine.received == []
    assert [k for k, _, _ in line_api.calls] == ["reply"]
    assert line_api.texts() == [inbound.NOT_TEXT]


async def test_follow_event_gets_the_engines_welcome_or_a_fallback(monkeypatch, line_api):
    channel = make_channel(monkeypatch, line_api)
    engine = FakeEngine(lambda m: [bot_turn("こんにちは。くらし・しごと相談チャットです。", buttons=[{"title": "仕事のこと", "payload": "/want_job"}])])
    async with serve_channels([channel], engine) as base:
        await deliver(channel, base, event("follow"))
    assert [m.text for m in engine.received] == [inbound.GREETING_PAYLOAD]
    assert line_api.texts() == ["こんにちは。くらし・しごと相談チャットです。"]

    silent = FakeEngine(lambda m: [])
    channel = make_channel(monkeypatch, line_api)
    async with serve_channels([channel], silent) as base:
        await deliver(channel, base, event("follow"))
    assert line_api.texts()[-1] == inbound.WELCOME


async def test_redelivered_event_is_processed_at_most_once(monkeypatch, line_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api)
    first = event(text="二回届くメッセージ", event_id="01HEVENTAAAAAAAAAAAAAAAAAA")
    again = dict(first, deliveryContext={"isRedelivery": True}, replyToken=uuid.uuid4().hex)
    async with serve_channels([channel], engine) as base:
        assert await deliver(channel, base, first) == 200
        assert await deliver(channel, base, again) == 200
        late = event(text="再送だけ届いた", redelivery=True)
        await deliver(channel, base, late)
    assert [m.text for m in engine.received] == ["二回届くメッセージ", "再送だけ届いた"]
    # a redelivered event's reply token is not trusted: its answer is pushed
    assert [k for k, _, _ in line_api.calls] == ["reply", "push"]


async def test_slow_engine_answers_by_push_after_the_reply_window(monkeypatch, line_api):
    engine = FakeEngine(delay=0.05)
    channel = make_channel(monkeypatch, line_api, reply_window_seconds=0)
    async with serve_channels([channel], engine) as base:
        await deliver(channel, base, event(text="ゆっくりで大丈夫です"))
    [(kind, body, headers)] = line_api.calls
    assert kind == "push"
    assert body["to"] == USER
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert headers.get("X-Line-Retry-Key")
    assert quick_items(body["messages"][-1])  # quick replies survive the push


async def test_rejected_reply_token_falls_back_to_push(monkeypatch, line_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api)
    e = event(text="こんにちは")
    line_api.expired_tokens.add(e["replyToken"])
    async with serve_channels([channel], engine) as base:
        await deliver(channel, base, e)
    assert line_api.rejected == ["Invalid reply token"]
    assert [k for k, _, _ in line_api.calls] == ["push"]
    assert line_api.texts()[0].startswith("「こんにちは」")


async def test_output_channel_pushes_staff_message(monkeypatch, line_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api)
    async with serve_channels([channel], engine):
        output = channel.get_output_channel()
        assert output is not None and output.name() == "line"
        await output.send_response(f"line:{USER}", bot_turn("相談員の佐藤です。明日10時にお電話してもよろしいですか？",
                                                            buttons=[{"title": "はい", "payload": "/affirm"}]))
        await output.send_response("tg:42", bot_turn("届かないはず"))
    [(kind, body, _)] = line_api.calls
    assert kind == "push" and body["to"] == USER
    assert body["messages"][0]["text"] == "相談員の佐藤です。明日10時にお電話してもよろしいですか？"
    assert [a["label"] for a in quick_items(body["messages"][0])] == ["はい"]
    assert engine.received == []


async def test_many_choices_long_labels_and_many_messages_fit_line_limits(monkeypatch, line_api):
    choices = [{"title": f"選択肢{i}：とても長いボタンの名前になってしまいました", "payload": f"/choose{{\"n\": {i}}}"} for i in range(16)]

    def script(message):
        return [bot_turn(f"{i}つ目のお知らせです。") for i in range(7)] + [bot_turn("どれにしますか？", buttons=choices)]

    engine = FakeEngine(script)
    channel = make_channel(monkeypatch, line_api)
    async with serve_channels([channel], engine) as base:
        await deliver(channel, base, event(text="全部教えてください"))
    assert line_api.rejected == []
    [(kind, body, _)] = line_api.calls  # one free reply call, nothing pushed
    assert kind == "reply"
    assert len(body["messages"]) == 5
    assert "0つ目のお知らせです。" in body["messages"][0]["text"]
    assert body["messages"][-1]["text"].endswith("どれにしますか？")
    actions = quick_items(body["messages"][-1])
    assert len(actions) == 13
    assert actions[0]["label"] == "選択肢0：とても長いボタンの名前になっ…"  # 19 characters + 「…」 = 20
    assert actions[0]["displayText"] == choices[0]["title"]


async def test_group_source_is_told_to_talk_one_to_one(monkeypatch, line_api):
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api)
    group = {"type": "group", "groupId": "Ca56f94637c0123456789abcdef012345", "userId": USER}
    async with serve_channels([channel], engine) as base:
        await deliver(channel, base, event(text="こんにちは", source=group), event(text="もしもし", source=group))
    assert engine.received == []
    assert line_api.texts() == [inbound.ONE_TO_ONE]


async def test_verification_request_and_engine_failure(monkeypatch, line_api):
    channel = make_channel(monkeypatch, line_api)
    async with serve_channels([channel], FakeEngine(fail=True)) as base:
        assert await deliver(channel, base) == 200  # the console's "Verify" sends no events
        assert line_api.calls == []
        await deliver(channel, base, event(text="こんにちは"))
    assert line_api.texts() == [inbound.TRY_AGAIN]


@pytest.mark.parametrize("env", [{}, {"LINE_CHANNEL_SECRET": SECRET}, {"LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN}])
async def test_unconfigured_channel_answers_503_and_says_why(monkeypatch, caplog, env):
    for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.INFO)
    engine = FakeEngine()
    channel = LineInput.from_credentials(None)
    assert channel.get_output_channel() is None
    body = body_of(event(text="こんにちは"))
    async with serve_channels([channel], engine) as base:
        status, text = await post(base, body, signature=sign(SECRET, body))
    assert status == 503 and "not configured" in text
    assert engine.received == []
    assert any("LINE channel not started" in r.getMessage() for r in caplog.records)


async def test_logs_carry_no_message_text_user_id_or_secrets(monkeypatch, line_api, caplog):
    caplog.set_level(logging.DEBUG)
    engine = FakeEngine()
    channel = make_channel(monkeypatch, line_api, reply_window_seconds=0)
    async with serve_channels([channel], engine) as base:
        await deliver(channel, base, event(text="夫から暴力を受けています"))
        await deliver(channel, base, event(message={"id": "9", "type": "image", "contentProvider": {"type": "line"}}))
        await post(base, body_of(event(text="夫から")), signature="forged")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert len(engine.received) == 1
    for secret_or_personal in ("暴力", USER, SECRET, ACCESS_TOKEN):
        assert secret_or_personal not in logged


def test_signature_and_pure_helpers():
    body = body_of(event(text="テスト"))
    assert verify_signature(SECRET, body, sign(SECRET, body))
    assert not verify_signature(SECRET, body + b" ", sign(SECRET, body))
    assert not verify_signature(SECRET, body, None)
    assert not verify_signature(SECRET, body, "ｓｉｇｎ")  # non-ASCII header: rejected, no exception
    assert user_id_of(f"line:{USER}") == USER
    assert user_id_of("line:U123") is None and user_id_of(f"tg:{USER}") is None
    config = LineConfig.from_env({"LINE_CHANNEL_SECRET": "s"}, {})
    assert config.problem == "LINE_CHANNEL_ACCESS_TOKEN unset"
    yes = QuickReply("はい", "/affirm")
    texts, quick = pack_texts([Part("a", (yes,)), Part("b"), Part("", (QuickReply("いいえ", "/deny"),))])
    assert texts == ["a", "b", inbound.CHOOSE] and quick == (QuickReply("いいえ", "/deny"),)
    texts, quick = pack_texts([Part(str(i)) for i in range(8)])
    assert len(texts) == 5 and "\n\n".join(texts).replace("\n\n", "") == "01234567"
