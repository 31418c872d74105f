"""The whole live handoff with nothing stood in: a resident on Rasa's callback channel asks for a
person, a staff member signs in to the console in headless Chromium, claims the case, replies,
and hands the chat back to the bot. The console talks to the real Rasa; the phone receives."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, Iterator

import pytest
import requests

from bench.procs import rest_stack, tracebacks
from bot.db.engine import make_engine
from tests.conftest import MODEL
from tests.console_support import browser_login, console_settings, start_console, stop_console
from bench.phone import Phone, kind

pytestmark = pytest.mark.server
pytest_plugins = ["tests.console_fixtures"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    phone, tmp = Phone(), tmp_path_factory.mktemp("console-live")
    with rest_stack(MODEL, tmp, timeout=240, extra_credentials=f'callback:\n  url: "{phone.url}"\n',
                    env={"INTAKE_NOW": "2026-11-24T10:00:00+09:00"}) as s:
        yield {"url": s["url"], "phone": phone, "db": tmp / "intake.db"}
        assert not any(tracebacks(s["logs"]).values()), s["logs"]
    phone.server.shutdown()



async def test_staff_take_over_reply_and_hand_back_through_the_console(stack, console_page):
    phone, sender = stack["phone"], f"cb-{uuid.uuid4().hex[:8]}"

    def say(text: str) -> None:
        requests.post(f"{stack['url']}/webhooks/callback/webhook", json={"sender": sender, "message": text}, timeout=30)

    await asyncio.to_thread(say, "家賃を2か月滞納しています")
    await asyncio.to_thread(phone.until, kind("ask"))
    await asyncio.to_thread(say, "人と話したいです")
    ticket = (await asyncio.to_thread(phone.until, kind("handoff")))[-1]["custom"]["ticket"]

    console = await start_console(make_engine(f"sqlite:///{stack['db']}"), console_settings(), rasa_url=stack["url"])
    try:
        page = console_page
        await browser_login(page, console, "staff")
        await page.click(f'a[href="/cases/{ticket}"]')
        await page.wait_for_selector("#intake")
        assert "家賃を2か月滞納しています" in await page.inner_text("#transcript")
        assert await page.inner_text('tr[data-field="rent_arrears_months"] td.value') == "2か月分"
        await page.click("#claim")
        await page.wait_for_selector("#notice")
        await page.fill("#reply-text", "支援員の佐藤です。お待たせしました。")
        await page.click("#reply")
        await page.wait_for_selector("#notice")
        got = await asyncio.to_thread(phone.until, kind("staff_message"))
        assert [m["text"] for m in got if m.get("text")] == ["支援員の佐藤です。お待たせしました。"]
        await page.click("#handback")
        await page.wait_for_selector("#notice")
        back = await asyncio.to_thread(phone.until, lambda m: bool(m.get("buttons")))
        assert "/resume" in [b["payload"] for b in back[-1]["buttons"]]
        await page.reload()
        assert "職員" in await page.inner_text("#transcript")  # the reply is shown as a person's
    finally:
        await stop_console(console)
