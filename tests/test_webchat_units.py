"""The web chat's pure parts: signed ids and tokens, tracker → history, the bot message shape."""
from __future__ import annotations

import time

import pytest

from integrations.webchat import history, tokens
from integrations.webchat.proxy import upstream_url

SECRET = b"test-secret"


def test_cookie_round_trip_and_forgery():
    sid = tokens.new_session_id()
    assert tokens.is_session_id(sid)
    value = tokens.cookie_value(SECRET, sid)
    assert tokens.session_from_cookie(SECRET, value) == sid
    other = tokens.new_session_id()
    forged = f"{other}.{value.split('.')[1]}"  # someone else's id with this browser's signature
    assert tokens.session_from_cookie(SECRET, forged) is None
    assert tokens.session_from_cookie(b"other-secret", value) is None
    for bad in (None, "", "x", "a.b.c", "<script>.x", "あ" * 300, sid):
        assert tokens.session_from_cookie(SECRET, bad) is None


def test_socket_token_expires_and_is_not_a_cookie():
    sid = tokens.new_session_id()
    token = tokens.socket_token(SECRET, sid, now=1000, ttl=60)
    assert tokens.session_from_token(SECRET, token, now=1059) == sid
    assert tokens.session_from_token(SECRET, token, now=1061) is None
    assert tokens.session_from_token(SECRET, tokens.cookie_value(SECRET, sid), now=1000) is None
    assert tokens.session_from_cookie(SECRET, token) is None
    sid2, exp, mac = token.split(".")
    assert tokens.session_from_token(SECRET, f"{sid2}.{int(exp) + 9999}.{mac}", now=1000) is None
    for bad in (None, 42, {"token": token}, "", "a.b.c"):
        assert tokens.session_from_token(SECRET, bad, now=1000) is None


def test_secret_file_is_created_once_and_shared(tmp_path, monkeypatch):
    monkeypatch.delenv(tokens.SECRET_ENV, raising=False)
    monkeypatch.setenv(tokens.SECRET_FILE_ENV, str(tmp_path / "var" / "webchat.secret"))
    first = tokens.load_secret()
    assert len(first) >= 32
    assert tokens.load_secret() == first
    assert (tmp_path / "var" / "webchat.secret").stat().st_mode & 0o077 == 0
    monkeypatch.setenv(tokens.SECRET_ENV, "from-env")
    assert tokens.load_secret() == b"from-env"
    assert tokens.load_secret("explicit") == b"explicit"


ASK_BUTTONS = [{"title": "仕事をしていない", "payload": '/inform{"employment_status": "unemployed"}'},
               {"title": "正社員", "payload": '/inform{"employment_status": "employed_regular"}'}]


def test_history_shows_titles_for_pressed_buttons_and_hides_internals():
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "user", "text": "/greet", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "bot", "text": "こんにちは。", "data": {"buttons": [{"title": "仕事のこと", "payload": "/want_job"}]}},
        {"event": "user", "text": "/want_job"},
        {"event": "slot", "name": "age", "value": 46},
        {"event": "bot", "text": "今、お仕事はしていますか？", "data": {"buttons": ASK_BUTTONS}},
        {"event": "bot", "text": None, "data": {"custom": {"type": "ask", "field": "employment_status",
                                                           "choices": ASK_BUTTONS}}},
        {"event": "user", "text": '/inform{"employment_status": "unemployed"}'},
        {"event": "user", "text": "<script>alert(1)</script>"},
        {"event": "user", "text": "/request_human"},
        {"event": "bot", "text": "", "data": {}},
    ]
    out = history.conversation(events)
    assert out["bot_total"] == 3
    assert [(m["from"], m.get("text")) for m in out["messages"]] == [
        ("bot", "こんにちは。"), ("user", "仕事のこと"), ("bot", "今、お仕事はしていますか？"), ("bot", None),
        ("user", "仕事をしていない"), ("user", "<script>alert(1)</script>"), ("user", "人と話したい")]
    assert [m["n"] for m in out["messages"] if m["from"] == "bot"] == [0, 1, 2]
    assert out["messages"][3]["custom"]["field"] == "employment_status"
    assert all("slot" not in str(m) and "intent" not in m for m in out["messages"])


def test_history_keeps_the_newest_messages():
    events = [{"event": "user", "text": f"メッセージ{i}"} for i in range(10)]
    out = history.conversation(events, limit=3)
    assert [m["text"] for m in out["messages"]] == ["メッセージ7", "メッセージ8", "メッセージ9"]


def test_bot_message_is_one_event_like_rest():
    msg = history.bot_message({"text": "受付番号は A1 です。\n\n次へ", "buttons": ASK_BUTTONS, "custom": {"type": "handoff"},
                               "recipient_id": "x", "elements": None, "image": None})
    assert msg == {"text": "受付番号は A1 です。\n\n次へ", "buttons": ASK_BUTTONS, "custom": {"type": "handoff"}}
    quick = history.bot_message({"text": "t", "quick_replies": [{"content_type": "text", **ASK_BUTTONS[0]}]})
    assert quick["buttons"] == [ASK_BUTTONS[0]]
    assert history.bot_message({"text": "  ", "buttons": [{"title": 1}]}) is None


@pytest.mark.parametrize("query, expected", [
    ("EIO=4&transport=polling&t=abc", "http://rasa:5005/socket.io/?EIO=4&transport=polling&t=abc"),
    ("", "http://rasa:5005/socket.io/"),
])
def test_upstream_url(query, expected):
    assert upstream_url("http://rasa:5005/", "/socket.io", query) == expected


async def test_setup_webchat_mounts_beside_other_routes_and_binds_the_cookie():
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from bench.procs import free_port
    from integrations.webchat import setup_webchat

    async def console(_: web.Request) -> web.Response:
        return web.Response(text="staff console")

    app = web.Application()
    app.router.add_get("/", console)
    setup_webchat(app, rasa_url=f"http://127.0.0.1:{free_port()}", secret="s3cret")  # no rasa there
    with pytest.raises(RuntimeError):
        setup_webchat(app, rasa_url="http://x", secret="s3cret")
    async with TestClient(TestServer(app)) as client:
        assert await (await client.get("/")).text() == "staff console"
        page = await client.get("/chat/")
        assert page.status == 200 and '<html lang="ja">' in await page.text()
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert (await client.get("/chat/static/chat.js")).status == 200
        first = await client.post("/chat/api/session")
        body = await first.json()
        assert "HttpOnly" in first.headers["Set-Cookie"] and "Path=/chat/" in first.headers["Set-Cookie"]
        assert tokens.session_from_token(b"s3cret", body["token"], now=time.time()) == body["session_id"]
        again = await (await client.post("/chat/api/session")).json()
        assert again["session_id"] == body["session_id"], "the cookie keeps the conversation"
        down = await client.get("/chat/api/history")
        assert down.status == 502 and (await down.json()) == {"error": "unavailable"}
        client.session.cookie_jar.clear()
        forged = f"{tokens.new_session_id()}.{tokens.cookie_value(b's3cret', body['session_id']).split('.')[1]}"
        none = await client.get("/chat/api/history", cookies={"kurashi_chat": forged})
        assert await none.json() == {"messages": [], "bot_total": 0}
        assert (await client.get("/chat/socket.io/?EIO=4&transport=polling")).status == 502
