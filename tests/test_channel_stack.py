"""Both channels inside the real stack (``rasa run`` with the trained model + action server, as
``bench/procs.py`` starts it with credentials.yml), talking to fake Bot API and LINE servers on
127.0.0.1. Slow: marked ``server``."""
from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
import requests

from bench.procs import rest_stack
from integrations.channels import inbound
from tests.channel_harness import FakeBotApi, FakeLineApi, sign
from tests.conftest import MODEL, NIGHT

pytestmark = pytest.mark.server

TOKEN = "424242:stack-test-token"
SECRET = "stack_secret-1"
LINE_SECRET = "abcdefabcdefabcdefabcdefabcdef12"
LINE_TOKEN = "stack-line-token"
CHAT = 5550001
USER = "U" + "5" * 32


class Fakes:
    """The fake APIs on their own event loop in a thread, reachable by the rasa process."""

    def __enter__(self) -> "Fakes":
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bot_api = self._run(self._enter(lambda: FakeBotApi(TOKEN)))
        self.line_api = self._run(self._enter(lambda: FakeLineApi(LINE_TOKEN)))
        return self

    def __exit__(self, *exc: Any) -> None:
        self._run(self.bot_api.__aexit__(None, None, None))
        self._run(self.line_api.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _enter(self, make: Callable[[], Any]) -> Any:
        return await make().__aenter__()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    if not MODEL.exists():
        pytest.fail("models/current.tar.gz is missing: run scripts/train.sh (make test does it)")
    with Fakes() as fakes, pytest.MonkeyPatch.context() as mp:
        for name, value in {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET, "TELEGRAM_MODE": "webhook",
                            "TELEGRAM_API_BASE_URL": fakes.bot_api.url, "LINE_CHANNEL_SECRET": LINE_SECRET,
                            "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN, "LINE_API_BASE_URL": fakes.line_api.url}.items():
            mp.setenv(name, value)  # rest_stack passes our environment to rasa
        with rest_stack(MODEL, tmp_path_factory.mktemp("channels-stack"), timeout=240,
                        env={"INTAKE_NOW": NIGHT}) as running:
            yield {"url": running["url"], "bot_api": fakes.bot_api, "line_api": fakes.line_api, "logs": running["logs"]}


def telegram(url: str, update: Dict[str, Any], secret: str = SECRET) -> int:
    resp = requests.post(f"{url}/webhooks/telegram/webhook", timeout=60, headers={
        "X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"},
        data=json.dumps(update, ensure_ascii=False).encode())
    return resp.status_code


def text_update(update_id: int, text: str) -> Dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": int(time.time()),
            "chat": {"id": CHAT, "type": "private"}, "from": {"id": CHAT, "is_bot": False, "first_name": "太郎"}, "text": text}}


def buttons_of(sent: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [b for row in (sent.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def wait_until(condition: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return condition()


def test_telegram_conversation_through_rasa(stack):
    url, bot_api = stack["url"], stack["bot_api"]
    assert telegram(url, text_update(1, "仕事をクビになって、家賃が2か月払えていません"), secret="nope") == 401
    assert bot_api.sent() == []

    assert telegram(url, text_update(2, "仕事をクビになって、家賃が2か月払えていません")) == 200
    turn = bot_api.sent()
    assert turn, "the bot answered"
    assert all("{" not in s["text"] for s in turn)  # payloads are rendered, never raw JSON
    asked = [s for s in turn if buttons_of(s)][-1]
    titles = [b["text"] for b in buttons_of(asked)]
    assert "自分のこと" in titles
    button = buttons_of(asked)[titles.index("自分のこと")]
    assert len(button["callback_data"].encode()) <= 64

    before = len(bot_api.sent())
    press = {"update_id": 3, "callback_query": {"id": "cq3", "chat_instance": "x", "data": button["callback_data"],
             "from": {"id": CHAT, "is_bot": False, "first_name": "太郎"},
             "message": {"message_id": 101, "date": int(time.time()), "chat": {"id": CHAT, "type": "private"}, "text": asked["text"]}}}
    assert telegram(url, press) == 200
    assert len(bot_api.sent()) > before

    tracker = requests.get(f"{url}/conversations/tg:{CHAT}/tracker", timeout=30).json()
    assert tracker["slots"]["consulting_for"] == "self"
    assert tracker["latest_message"]["text"] == '/inform{"consulting_for": "self"}'
    assert tracker["latest_input_channel"] == "telegram"

    sticker = {"update_id": 4, "message": {"message_id": 4, "date": int(time.time()), "chat": {"id": CHAT, "type": "private"},
               "sticker": {"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1, "is_animated": False,
                           "is_video": False, "type": "regular"}}}
    assert telegram(url, sticker) == 200
    assert bot_api.sent()[-1]["text"] == inbound.NOT_TEXT

    before = len(bot_api.sent())
    resp = requests.post(f"{url}/conversations/tg:{CHAT}/execute?output_channel=latest",
                         json={"name": "utter_question_age"}, timeout=60)
    assert resp.ok
    pushed = bot_api.sent()[before:]
    assert pushed and pushed[0]["chat_id"] == str(CHAT)


def test_line_conversation_through_rasa(stack):
    url, line_api = stack["url"], stack["line_api"]
    event = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
             "source": {"type": "user", "userId": USER}, "webhookEventId": uuid.uuid4().hex,
             "deliveryContext": {"isRedelivery": False}, "replyToken": uuid.uuid4().hex,
             "message": {"id": "1", "type": "text", "text": "46歳で子ども3人、1年5か月働いてないです"}}
    body = json.dumps({"destination": "U0", "events": [event]}, ensure_ascii=False).encode()
    forged = requests.post(f"{url}/webhooks/line/webhook", data=body, timeout=30,
                           headers={"X-Line-Signature": sign("0" * 32, body), "Content-Type": "application/json"})
    assert forged.status_code == 401
    ok = requests.post(f"{url}/webhooks/line/webhook", data=body, timeout=30,
                       headers={"X-Line-Signature": sign(LINE_SECRET, body), "Content-Type": "application/json"})
    assert ok.status_code == 200
    wait_until(lambda: line_api.calls)
    [(kind, payload, _)] = line_api.calls
    assert kind == "reply" and payload["replyToken"] == event["replyToken"]
    assert 1 <= len(payload["messages"]) <= 5
    assert line_api.rejected == []
    tracker = requests.get(f"{url}/conversations/line:{USER}/tracker", timeout=30).json()
    assert tracker["slots"]["age"] == 46
    assert tracker["latest_input_channel"] == "line"


def test_no_personal_data_in_the_rasa_log_from_our_channels(stack):
    text = Path(stack["logs"]["rasa"]).read_text(errors="replace")
    channel_lines = [line for line in text.splitlines() if "integrations.channels" in line]
    assert not any(str(CHAT) in line or USER in line or "家賃" in line for line in channel_lines)
    assert TOKEN not in text and LINE_TOKEN not in text
