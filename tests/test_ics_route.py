"""The .ics link offered after booking, served by the residents' web server (real SQLite)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from bot.db import bookings as store
from bot.db import engine as db_engine
from bot.profile import load_profile
from bot.slots import free_slots
from integrations.webchat.server import create_app

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)  # 23:00 in Tokyo


@pytest.fixture
async def client(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'intake.db'}")
    monkeypatch.setenv("WEBCHAT_SECRET", "test-secret-test-secret-test-secret")
    db_engine.get_engine.cache_clear()
    async with TestClient(TestServer(create_app(rasa_url="http://127.0.0.1:9"))) as c:
        yield c
    await db_engine.get_engine().dispose()
    db_engine.get_engine.cache_clear()


async def test_a_booking_downloads_as_a_calendar_event_in_tokyo_time(client):
    profile = load_profile()
    slot = free_slots("jiritsu_soudan", profile, NOW, {}, limit=1)[0]
    result = await store.book(db_engine.get_engine(), sender_id="s-ics", channel="rest", destination="jiritsu_soudan",
                              start=slot.start, end=slot.end, profile=profile, now=NOW,
                              summary={"fields": {"age": 46}}, consent=True, contact="090-1234-5678")
    ref = result.booking.reference
    resp = await client.get(f"/ics/{ref.lower()}.ics")
    assert resp.status == 200 and resp.content_type == "text/calendar"
    body = await resp.read()
    assert b"090-1234-5678" not in body  # nothing the resident told the bot
    (event,) = [c for c in Calendar.from_ical(body).walk("VEVENT")]
    assert event.decoded("DTSTART") == slot.local_start and ref in str(event.get("DESCRIPTION"))


@pytest.mark.parametrize("path", ["/ics/YZZZZZZ.ics", "/ics/nothing.ics", "/ics/%3Cscript%3E.ics"])
async def test_unknown_or_malformed_references_are_404(client, path):
    assert (await client.get(path)).status == 404
