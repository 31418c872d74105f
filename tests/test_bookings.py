"""Bookings on real databases: a SQLite file and a fresh PostgreSQL schema (bot/db/bookings.py)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot import booking_flow as flow, slots
from bot.db import bookings
from bot.db.bookings import (
    book,
    bookings_for,
    cancel,
    due_reminders,
    find,
    find_reference_in,
    history,
    mark,
    mark_reminded,
    move,
    normalize_reference,
    open_slots,
    taken_counts,
)
from bot.db.models import Booking, SlotLoad
from bot.profile import DEFAULT_PROFILE, load_profile
from tests.dbutil import BACKENDS, database

JST = ZoneInfo("Asia/Tokyo")
UTC = timezone.utc
NOW = datetime(2027, 1, 12, 9, 30, tzinfo=JST)  # a Tuesday; normal offers start on Thursday 1/14
PROFILE = load_profile(DEFAULT_PROFILE)
SUMMARY = {"age": 46, "employment_status": "unemployed", "children": 3, "months_without_work": 17,
           "housing": "renting", "rent_arrears_months": 2, "notes": "家賃を2か月滞納しています"}


@pytest.fixture(params=BACKENDS)
async def engine(request, tmp_path):
    async with database(request.param, tmp_path) as eng:
        yield eng


def offer(code="jiritsu_soudan", n=0, urgency="normal", now=NOW):
    return slots.free_slots(code, PROFILE, now, {}, urgency=urgency, limit=n + 1)[n]


async def book_slot(engine, slot, sender="resident-1", **kw):
    kw.setdefault("summary", SUMMARY)
    kw.setdefault("consent", True)
    return await book(engine, sender_id=sender, channel="rest", destination=slot.destination, start=slot.start,
                      end=slot.end, profile=PROFILE, now=kw.pop("now", NOW), **kw)


async def count(engine, model=Booking) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(model))).scalar_one()


# --------------------------------------------------------------------------- references (pure)


@pytest.mark.parametrize("typed", ["Y4K7MPQ", "y4k7mpq", "4K7MPQ", "Ｙ４Ｋ７ＭＰＱ", "y4k-7mpq", "Y 4K7 MPQ",
                                   "４ｋ７ーｍｐｑ", " y4k7mpq\n"])
def test_typed_references_are_normalised(typed):
    assert normalize_reference(typed) == "Y4K7MPQ"


@pytest.mark.parametrize("typed", ["", "Y4K7M", "Y4K7MPQQ", "Y0K7MPQ", "YIK7MPQ", "H4K7MPQ7", "予約番号",
                                   "<script>alert(1)</script>", "🙂🙂🙂", "Y4K7MPQ" * 2000, None, 1234567])
def test_things_that_are_not_references(typed):
    assert normalize_reference(typed) is None


@pytest.mark.parametrize("text, index", [("2つ目で", 1), ("二番目", 1), ("３番目でお願いします", 2), ("ふたつめ", 1),
                                         ("最初のやつ", 0), ("いちばん下", 4), ("6番目", None), ("来週の火曜", None),
                                         ("10時がいい", None), ("12月3日の2時", None), ("もう最後にしたい", None)])
def test_an_offered_button_named_by_its_position(text, index):
    assert flow.offered_choice(text, 5) == index


def test_reference_inside_a_sentence():
    assert find_reference_in("予約番号は y4k7-mpq です。変更したいです") == "Y4K7MPQ"
    assert find_reference_in("予約を取り消したいです") is None
    assert find_reference_in("thanks, my code is Y4K7MPQ") == "Y4K7MPQ"
    assert find_reference_in("番号は 4K7MPQ です") == "Y4K7MPQ"
    assert find_reference_in("電話番号は090-1234-5678です") is None


# --------------------------------------------------------------------------- book


async def test_book_stores_everything_in_utc_and_returns_a_reference(engine):
    slot = offer()
    result = await book_slot(engine, slot, contact="090-0000-0000\x00")
    assert result.ok and result.status == "booked"
    booking = result.booking
    assert normalize_reference(booking.reference) == booking.reference and booking.reference.startswith("Y")
    again = await find(engine, booking.reference.lower())
    assert again.start == slot.start and again.start.tzinfo is not None and again.start.utcoffset() == timedelta(0)
    assert again.end == slot.end and again.status == "booked"
    assert again.summary == SUMMARY and again.consent and again.consent_at == NOW
    assert again.contact == "090-0000-0000"
    assert again.payload() == {"type": "booking", "status": "booked", "destination": "jiritsu_soudan",
                               "office": PROFILE.destinations["jiritsu_soudan"].name,
                               "start": "2027-01-14T08:45:00+09:00", "end": "2027-01-14T09:35:00+09:00",
                               "reference": booking.reference}
    (event,) = await history(engine, booking.reference)
    assert (event.status, event.actor, event.previous_start) == ("booked", "resident", None)
    assert await taken_counts(engine, "jiritsu_soudan", slot.start, slot.end) == {slot.start: 1}


async def test_no_consent_means_no_summary(engine):
    result = await book_slot(engine, offer(), consent=False)
    stored = await find(engine, result.booking.reference)
    assert stored.consent is False and stored.summary is None and stored.consent_at is None


async def test_refused_starts_write_nothing(engine):
    past = slots.generate("jiritsu_soudan", PROFILE, NOW.date(), NOW.date())[0]  # 08:45 today, before NOW
    saturday = datetime(2027, 1, 16, 8, 45, tzinfo=JST)
    odd_time = datetime(2027, 1, 14, 8, 50, tzinfo=JST)
    cases = [
        (past.start, past.end, "jiritsu_soudan", "past"),
        (saturday, saturday + timedelta(minutes=50), "jiritsu_soudan", "closed"),
        (odd_time, odd_time + timedelta(minutes=50), "jiritsu_soudan", "not_a_slot"),
        (saturday.replace(month=3), saturday.replace(month=3) + timedelta(minutes=50), "silver_center", "not_bookable"),
        (datetime(2027, 5, 20, 8, 45, tzinfo=JST), datetime(2027, 5, 20, 9, 35, tzinfo=JST), "jiritsu_soudan",
         "out_of_window"),
    ]
    for start, end, code, reason in cases:
        result = await book(engine, sender_id="r", channel="rest", destination=code, start=start, end=end,
                            summary=SUMMARY, consent=True, profile=PROFILE, now=NOW)
        assert (result.status, result.reason, result.booking) == ("refused", reason, None), reason
    assert await bookings_for(engine, "r") == []
    assert await count(engine, SlotLoad) == 0


async def test_urgent_cases_may_book_today(engine):
    today = offer(urgency="urgent")
    assert today.local_day == NOW.date()
    refused = await book_slot(engine, today)
    assert (refused.status, refused.reason) == ("refused", "held_for_urgent")
    assert (await book_slot(engine, today, urgency="urgent")).status == "booked"


async def test_a_repeated_confirmation_keeps_one_booking(engine):
    slot = offer()
    first = await book_slot(engine, slot)
    second = await book_slot(engine, slot)
    assert second.status == "booked" and second.reason == "already_booked"
    assert second.booking.reference == first.booking.reference
    assert await taken_counts(engine, slot.destination, slot.start, slot.end) == {slot.start: 1}
    assert len(await bookings_for(engine, "resident-1")) == 1


async def test_last_seat_then_taken_and_the_next_offers(engine):
    slot = offer("household_budget")  # one counsellor per slot
    assert (await book_slot(engine, slot, "a")).status == "booked"
    late = await book_slot(engine, slot, "b")
    assert (late.status, late.booking, late.ok) == ("taken", None, False)
    nexts = await open_slots(engine, "household_budget", NOW, profile=PROFILE, limit=3)
    assert slot.start not in {s.start for s in nexts} and len(nexts) == 3
    assert nexts[0].start > slot.start
    assert await bookings_for(engine, "b") == []


# --------------------------------------------------------------------------- move and cancel


async def test_move_gives_the_old_seat_back_and_keeps_history(engine):
    first, second = offer(n=0), offer(n=1)
    booked = (await book_slot(engine, first)).booking
    moved = await move(engine, booked.reference, second.start, second.end, actor="resident", profile=PROFILE, now=NOW)
    assert moved.status == "moved" and moved.booking.start == second.start and moved.booking.sequence == 1
    counts = await taken_counts(engine, "jiritsu_soudan", first.start, second.end)
    assert counts == {second.start: 1}
    events = await history(engine, booked.reference)
    assert [(e.status, e.actor) for e in events] == [("booked", "resident"), ("moved", "resident")]
    assert events[1].previous_start == first.start
    stored = await find(engine, booked.reference)
    assert stored.status == "moved" and stored.start == second.start and stored.reference == booked.reference


async def test_move_to_a_full_slot_changes_nothing(engine):
    mine, full = offer("household_budget", 0), offer("household_budget", 1)
    booked = (await book_slot(engine, mine, "me")).booking
    await book_slot(engine, full, "someone-else")
    result = await move(engine, booked.reference, full.start, full.end, profile=PROFILE, now=NOW)
    assert result.status == "taken" and not result.ok
    stored = await find(engine, booked.reference)
    assert stored.start == mine.start and stored.status == "booked"
    counts = await taken_counts(engine, "household_budget", mine.start, full.end)
    assert counts == {mine.start: 1, full.start: 1}
    assert len(await history(engine, booked.reference)) == 1


async def test_move_refusals(engine):
    slot = offer()
    booked = (await book_slot(engine, slot)).booking
    saturday = datetime(2027, 1, 16, 8, 45, tzinfo=JST)
    result = await move(engine, booked.reference, saturday, saturday + timedelta(minutes=50), profile=PROFILE, now=NOW)
    assert (result.status, result.reason) == ("refused", "closed")
    result = await move(engine, booked.reference, slot.start, slot.end, profile=PROFILE, now=NOW)
    assert (result.status, result.reason) == ("refused", "same_slot")
    assert (await move(engine, "YZZZZZZ", slot.start, slot.end, profile=PROFILE, now=NOW)).status == "not_found"
    assert (await move(engine, "what?", slot.start, slot.end, profile=PROFILE, now=NOW)).status == "not_found"
    later = NOW + timedelta(days=3)  # the appointment has begun: the resident cannot move it any more
    target = offer(now=later)
    result = await move(engine, booked.reference, target.start, target.end, profile=PROFILE, now=later)
    assert (result.status, result.reason) == ("refused", "started")
    staff = await move(engine, booked.reference, target.start, target.end, actor="staff:suzuki", profile=PROFILE,
                       now=later)
    assert staff.status == "moved"
    with pytest.raises(ValueError):
        await move(engine, booked.reference, target.start, target.end, actor="somebody", profile=PROFILE, now=later)


async def test_cancel_frees_the_seat_once(engine):
    slot = offer()
    booked = (await book_slot(engine, slot)).booking
    result = await cancel(engine, f"{booked.reference[1:4]}-{booked.reference[4:].lower()}", "resident", now=NOW)
    assert result.status == "cancelled" and result.booking.status == "cancelled"
    assert await taken_counts(engine, slot.destination, slot.start, slot.end) == {}
    again = await cancel(engine, booked.reference, "resident", now=NOW)
    assert (again.status, again.reason) == ("refused", "not_active")
    assert await taken_counts(engine, slot.destination, slot.start, slot.end) == {}  # not released twice
    assert [e.status for e in await history(engine, booked.reference)] == ["booked", "cancelled"]
    assert (await cancel(engine, "Y2222222", "resident", now=NOW)).status == "not_found"


async def test_a_resident_cannot_cancel_a_past_appointment(engine):
    slot = offer()
    booked = (await book_slot(engine, slot)).booking
    after = slot.end + timedelta(hours=1)
    result = await cancel(engine, booked.reference, "resident", now=after)
    assert (result.status, result.reason) == ("refused", "started")
    assert (await find(engine, booked.reference)).status == "booked"


# --------------------------------------------------------------------------- attendance


async def test_staff_mark_attended_and_correct_to_no_show(engine):
    slot = offer()
    booked = (await book_slot(engine, slot)).booking
    early = await mark(engine, booked.reference, "attended", "staff:tanaka", now=NOW)
    assert (early.status, early.reason) == ("refused", "not_started")
    assert (await mark(engine, booked.reference, "attended", "resident", now=slot.start)).reason == "staff_only"
    assert (await mark(engine, booked.reference, "attended", "staff:tanaka", now=slot.start)).status == "attended"
    assert (await mark(engine, booked.reference, "no_show", "staff:sato", now=slot.end)).status == "no_show"
    assert (await mark(engine, booked.reference, "no_show", "staff:sato", now=slot.end)).status == "no_show"
    events = await history(engine, booked.reference)
    assert [(e.status, e.actor) for e in events] == [
        ("booked", "resident"), ("attended", "staff:tanaka"), ("no_show", "staff:sato")]
    assert await taken_counts(engine, slot.destination, slot.start, slot.end) == {slot.start: 1}  # seat was used
    with pytest.raises(ValueError):
        await mark(engine, booked.reference, "cancelled", "staff:sato", now=slot.end)


# --------------------------------------------------------------------------- reminders


async def test_reminders_go_out_the_evening_before_once(engine):
    slot = offer()  # Thursday 1/14 08:45
    kept = (await book_slot(engine, slot, "a")).booking
    dropped = (await book_slot(engine, offer(n=1), "b")).booking
    await cancel(engine, dropped.reference, now=NOW)
    await book_slot(engine, offer(n=10), "c")  # a later day
    wednesday_noon = datetime(2027, 1, 13, 12, 0, tzinfo=JST)
    wednesday_evening = datetime(2027, 1, 13, 18, 5, tzinfo=JST)
    assert await due_reminders(engine, wednesday_noon, profile=PROFILE) == []
    due = await due_reminders(engine, wednesday_evening, profile=PROFILE)
    assert [b.reference for b in due] == [kept.reference]
    assert await mark_reminded(engine, kept.id, now=wednesday_evening) is True
    assert await mark_reminded(engine, kept.id, now=wednesday_evening) is False
    assert await due_reminders(engine, wednesday_evening, profile=PROFILE) == []
    assert (await find(engine, kept.reference)).reminder_sent_at == wednesday_evening


# --------------------------------------------------------------------------- nothing half-written


async def test_a_failure_inside_the_transaction_leaves_nothing(engine, monkeypatch):
    slot = offer()
    existing = (await book_slot(engine, slot, "a")).booking
    monkeypatch.setattr(bookings, "new_reference", lambda: existing.reference)  # every draw collides
    with pytest.raises(IntegrityError):
        await book_slot(engine, slot, "b")
    assert await taken_counts(engine, slot.destination, slot.start, slot.end) == {slot.start: 1}
    assert await bookings_for(engine, "b") == []


async def test_a_colliding_reference_is_drawn_again(engine, monkeypatch):
    slot = offer()
    existing = (await book_slot(engine, slot, "a")).booking
    draws = iter([existing.reference, existing.reference, "YTESTAB"])
    monkeypatch.setattr(bookings, "new_reference", lambda: next(draws))
    result = await book_slot(engine, slot, "b")
    assert result.status == "booked" and result.booking.reference == "YTESTAB"
    assert await taken_counts(engine, slot.destination, slot.start, slot.end) == {slot.start: 2}


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("backend", BACKENDS)
async def test_fifty_residents_race_for_three_seats(backend, tmp_path):
    async with database(backend, tmp_path, pool_size=20, max_overflow=10) as engine:
        slot = offer()
        assert slot.capacity == 3
        results = await asyncio.gather(*[
            book(engine, sender_id=f"resident-{i}", channel="rest", destination=slot.destination, start=slot.start,
                 end=slot.end, capacity=3, summary=SUMMARY, consent=True, profile=PROFILE, now=NOW)
            for i in range(50)
        ])
        statuses = [r.status for r in results]
        assert statuses.count("booked") == 3 and statuses.count("taken") == 47
        assert len({r.booking.reference for r in results if r.ok}) == 3
        assert await taken_counts(engine, slot.destination, slot.start, slot.end) == {slot.start: 3}
        assert await count(engine) == 3


async def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path):
    """WAL readers see the last committed state while a booking transaction holds the write lock."""
    async with database("sqlite", tmp_path) as engine:
        slot = offer()
        await book_slot(engine, slot, "a")
        async with engine.begin() as writer:  # BEGIN IMMEDIATE: the write lock is held from here
            await writer.execute(SlotLoad.__table__.update().values(taken=3))
            during = await asyncio.wait_for(taken_counts(engine, slot.destination, slot.start, slot.end), 5)
            assert during == {slot.start: 1}
        assert await taken_counts(engine, slot.destination, slot.start, slot.end) == {slot.start: 3}
