"""The .ics file offered after booking, read back with icalendar as a calendar app would."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot import slots
from bot.calendar_ics import booking_ics
from bot.db.bookings import book, cancel, move
from bot.profile import DEFAULT_PROFILE, load_profile
from tests.dbutil import database

JST = ZoneInfo("Asia/Tokyo")
PROFILE = load_profile(DEFAULT_PROFILE)
SAPOSUTE = {"reference": "Y4K7MPQ", "destination": "saposute",
            "start": datetime(2027, 1, 16, 1, 0, tzinfo=timezone.utc),  # Saturday 10:00 in Tokyo
            "end": datetime(2027, 1, 16, 1, 50, tzinfo=timezone.utc)}


def parse(data: bytes):
    cal = Calendar.from_ical(data)
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert len(events) == 1
    return cal, events[0]


def test_event_fields_for_a_calendar_app():
    cal, event = parse(booking_ics(SAPOSUTE, PROFILE))
    assert str(cal["version"]) == "2.0" and cal["prodid"]
    assert str(event["uid"]).startswith("Y4K7MPQ@")
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == datetime(2027, 1, 16, 10, 0, tzinfo=JST) and end - start == timedelta(minutes=50)
    assert str(start.tzinfo) == "Asia/Tokyo"
    assert event["dtstart"].params["TZID"] == "Asia/Tokyo"
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    assert str(event["summary"]) == "相談予約：サポステ"
    assert "みどり市本町3-5-6" in str(event["location"])
    description = str(event["description"])
    assert "Y4K7MPQ" in description and "000-000-0004" in description
    assert "本人確認できるもの（なくても相談できます）" in description
    assert str(event["status"]) == "CONFIRMED" and int(event["sequence"]) == 0
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("trigger") == timedelta(days=-1) and str(alarm["action"]) == "DISPLAY"
    assert "サポステ" in str(alarm["description"])


def test_destination_bring_text_and_iso_strings_from_a_payload():
    start = datetime(2027, 1, 14, 9, 0, tzinfo=JST)
    payload = {"type": "booking", "status": "booked", "destination": "hellowork", "office": "しごと相談コーナー",
               "start": start.isoformat(), "end": (start + timedelta(minutes=50)).isoformat(),
               "reference": "YABCDEF"}
    _, event = parse(booking_ics(payload, PROFILE))
    assert "履歴書" in str(event["description"])
    assert event.decoded("dtstart") == start
    assert str(event["summary"]) == "相談予約：しごと相談コーナー"


def test_bad_bookings_are_refused():
    with pytest.raises(ValueError):
        booking_ics(dict(SAPOSUTE, start=datetime(2027, 1, 16, 10, 0)), PROFILE)  # naive
    with pytest.raises(ValueError):
        booking_ics(dict(SAPOSUTE, destination="nowhere"), PROFILE)
    with pytest.raises(ValueError):
        booking_ics(dict(SAPOSUTE, reference=""), PROFILE)


async def test_from_stored_bookings_after_a_move_and_a_cancel(tmp_path):
    now = datetime(2027, 1, 12, 9, 30, tzinfo=JST)
    first, second = slots.free_slots("saposute", PROFILE, now, {}, limit=2)
    async with database("sqlite", tmp_path) as engine:
        booked = (await book(engine, sender_id="r1", channel="rest", destination="saposute", start=first.start,
                             end=first.end, summary={}, consent=False, profile=PROFILE, now=now)).booking
        _, event = parse(booking_ics(booked, PROFILE))
        assert event.decoded("dtstart") == first.local_start
        moved = (await move(engine, booked.reference, second.start, second.end, profile=PROFILE, now=now)).booking
        _, event = parse(booking_ics(moved, PROFILE))
        assert event.decoded("dtstart") == second.local_start and int(event["sequence"]) == 1
        assert str(event["uid"]) == f"{booked.reference}@kurashi-intake.invalid"  # replaces the first entry
        cancelled = (await cancel(engine, booked.reference, now=now)).booking
        _, event = parse(booking_ics(cancelled, PROFILE))
        assert str(event["status"]) == "CANCELLED" and not event.walk("VALARM")
        assert int(event["sequence"]) == 2  # newer than the moved entry, so calendars drop it
