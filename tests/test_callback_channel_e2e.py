"""Messages pushed to the resident's channel, end to end on the real stack: a live handoff (the bot
pauses, a staff message from the console's client arrives, hand-back resumes the bot) and the
day-before booking reminder.

The resident talks through Rasa's ``callback`` channel, which pushes every bot message to a URL:
a small HTTP server here plays the resident's phone. The clock is fixed inside office hours
(``INTAKE_NOW``) so the handoff is live whatever time the tests run.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterator

import pytest
import requests

from bench.procs import rest_stack, tracebacks
from bot.db.engine import make_engine
from bot.profile import load_profile
from bot.reminders import send_due
from integrations.rasa_api import RasaClient
from tests.conftest import MODEL
from bench.phone import Phone, kind

pytestmark = pytest.mark.server
OFFICE_HOURS = "2026-11-24T10:00:00+09:00"  # a Tuesday morning


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    phone = Phone()
    tmp = tmp_path_factory.mktemp("callback")
    with rest_stack(MODEL, tmp, timeout=240,
                    extra_credentials=f"callback:\n  url: \"{phone.url}\"\n", env={"INTAKE_NOW": OFFICE_HOURS}) as stack:
        yield {"url": stack["url"], "phone": phone, "db": tmp / "intake.db"}
        assert not any(tracebacks(stack["logs"]).values()), stack["logs"]
    phone.server.shutdown()


def _say(stack: Dict[str, Any], sender: str, text: str) -> None:
    resp = requests.post(f"{stack['url']}/webhooks/callback/webhook", json={"sender": sender, "message": text}, timeout=30)
    assert resp.status_code == 200


async def _with_client(base: str, call: Callable[[RasaClient], Any]) -> Any:
    rasa = RasaClient(base)
    try:
        return await call(rasa)
    finally:
        await rasa.close()



def test_live_handoff_staff_message_and_hand_back(live_stack):
    phone, base, sender = live_stack["phone"], live_stack["url"], f"cb-{uuid.uuid4().hex[:8]}"
    _say(live_stack, sender, "家賃を3か月滞納しています")
    phone.until(kind("ask"))  # the screening has started
    _say(live_stack, sender, "人と話したいです")
    handoff = phone.until(kind("handoff"))[-1]["custom"]
    assert handoff["mode"] == "live" and handoff["ticket"].startswith("H")

    # Paused: the resident's next words are recorded for staff, and the bot says nothing.
    _say(live_stack, sender, "まだですか？")
    assert phone.silent_for(3)
    tracker = requests.get(f"{base}/conversations/{sender}/tracker", timeout=30).json()
    assert tracker["paused"] is True
    assert [e["text"] for e in tracker["events"] if e["event"] == "user"][-1] == "まだですか？"

    # A staff message, sent with the console's own client, reaches the phone.
    started = time.monotonic()
    text = "支援員の山田です。お待たせしました。今の状況を聞かせてください。"
    asyncio.run(_with_client(base, lambda rasa: rasa.send_staff_message(sender, text)))
    got = phone.until(kind("staff_message"))
    assert time.monotonic() - started < 30
    assert [m["text"] for m in got if m.get("text")] == [text]

    # Hand back: the bot is back, offers to go on, and the screening continues where it was.
    asyncio.run(_with_client(base, lambda rasa: rasa.hand_back(sender)))
    back = phone.until(lambda m: bool(m.get("buttons")))
    assert "/resume" in [b["payload"] for b in back[-1]["buttons"]]
    _say(live_stack, sender, "/resume")
    ask = phone.until(kind("ask"))[-1]["custom"]
    assert ask["field"] != "rent_arrears_months"  # said before the handoff, never re-asked
    slots = requests.get(f"{base}/conversations/{sender}/tracker", timeout=30).json()["slots"]
    assert slots["rent_arrears_months"] == 3 and slots["handoff_live"] is False


def test_day_before_reminder_reaches_the_channel_once(live_stack):
    phone, sender = live_stack["phone"], f"cb-{uuid.uuid4().hex[:8]}"
    _say(live_stack, sender, "予約したいです")
    offer = phone.until(kind("ask"))[-1]["custom"]
    assert offer["field"] == "booking_slot"
    _say(live_stack, sender, offer["choices"][0]["payload"])
    phone.until(kind("ask"))
    _say(live_stack, sender, "はい")
    booking = phone.until(kind("booking"))[-1]["custom"]
    start = datetime.fromisoformat(booking["start"])
    evening_before = datetime.combine(start.date() - timedelta(days=1), datetime.min.time(), tzinfo=start.tzinfo) + timedelta(hours=19)

    async def remind() -> list:
        engine = make_engine(f"sqlite:///{live_stack['db']}")
        rasa = RasaClient(live_stack["url"])
        try:
            first = await send_due(engine, rasa, load_profile(), evening_before)
            again = await send_due(engine, rasa, load_profile(), evening_before + timedelta(minutes=5))
            return [first, again]
        finally:
            await rasa.close()
            await engine.dispose()

    first, again = asyncio.run(remind())
    assert (first.sent, again.sent) == (1, 0)  # once, however often the runner wakes up
    reminder = phone.until(lambda m: "明日のご予約" in (m.get("text") or ""))[-1]
    assert booking["reference"] in reminder["text"]
