"""Retention and deletion on request, on real databases (bot/db/personal.py, bot/db/trackerdb.py,
bot/retention.py, bot/maintenance.py)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot import maintenance, retention, slots
from bot.db import trackerdb
from bot.db.bookings import book, bookings_for, taken_counts
from bot.paths import ROOT
from bot.db.engine import ensure_schema
from bot.db.handoffs import tickets_for
from bot.db.models import Booking, BookingEvent, HandoffTicket
from bot.db.personal import PURGED, erase_sender, purge_before
from bot.db.staff_models import StaffMessage
from bot.profile import DEFAULT_PROFILE, ProfileError, load_profile
from tests.dbutil import BACKENDS, database

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2027, 1, 12, 9, 30, tzinfo=JST)
LONG_AGO = NOW - timedelta(days=400)
PROFILE = load_profile(DEFAULT_PROFILE)
PHONE = "080-2222-3333"
SUMMARY = {"fields": {"age": 52, "job_history": "建設現場で20年"}, "notes": "借金が300万円あります"}


@pytest.fixture(params=BACKENDS)
async def engine(request, tmp_path):
    async with database(request.param, tmp_path) as eng:
        yield eng


async def a_booking(engine, sender, now):
    slot = slots.free_slots("jiritsu_soudan", PROFILE, now, {}, limit=1)[0]
    result = await book(engine, sender_id=sender, channel="line", destination=slot.destination, start=slot.start,
                        end=slot.end, summary=SUMMARY, consent=True, contact=PHONE, profile=PROFILE, now=now)
    assert result.ok
    return result.booking


async def a_ticket(engine, sender, created, code):
    async with AsyncSession(engine) as session, session.begin():
        session.add(HandoffTicket(ticket=code, sender_id=sender, channel="line", urgency="urgent", mode="callback",
                                  reason="no_shelter", status="closed", summary=SUMMARY, notes="職員メモ",
                                  created_at=created, closed_at=created + timedelta(days=1)))
        session.add(StaffMessage(ticket=code, sender_id=sender, text="明日お電話します", at=created, delivered=True))


async def stat_table(engine):
    """The anonymous statistics (``stat_events``, made by the migrations): never touched here."""
    from datetime import date

    from bot.db.stats_models import StatEvent

    async with engine.begin() as conn:
        await conn.execute(StatEvent.__table__.insert().values(
            id=1, day=date(2025, 12, 1), fiscal_year=2025, month=12, kind="referral", channel="line",
            age_band="40代", household="alone", target_groups="", flags="", destinations="|hellowork|",
            urgency="normal", case_key="k" * 64))


# --------------------------------------------------------------------------- retention: the bot's tables


async def test_purge_empties_personal_fields_of_old_rows_only(engine):
    await ensure_schema(engine)
    await stat_table(engine)
    old = await a_booking(engine, "U-old-line-user", LONG_AGO)
    kept = await a_booking(engine, "U-new-line-user", NOW - timedelta(days=3))
    await a_ticket(engine, "U-old-line-user", LONG_AGO.astimezone(timezone.utc), "HOLD001")
    await a_ticket(engine, "U-new-line-user", (NOW - timedelta(days=10)).astimezone(timezone.utc), "HNEW001")
    cutoff = NOW - timedelta(days=365)

    dry = await purge_before(engine, cutoff, dry_run=True)
    assert dry.as_dict() == {"tickets": 1, "bookings": 1, "staff_messages": 1}
    assert (await bookings_for(engine, "U-old-line-user"))[0].contact == PHONE  # the dry run changed nothing

    done = await purge_before(engine, cutoff)
    assert done == dry
    async with AsyncSession(engine) as session:
        purged = (await session.execute(sa.select(Booking).where(Booking.reference == old.reference))).scalar_one()
        assert (purged.summary, purged.contact, purged.sender_id) == (None, None, PURGED)
        assert (purged.status, purged.destination, purged.start) == ("booked", old.destination, old.start)
        assert (await session.execute(sa.select(sa.func.count()).select_from(BookingEvent)
                                      .where(BookingEvent.booking_id == old.id))).scalar_one() == 1
        ticket = (await session.execute(sa.select(HandoffTicket).where(HandoffTicket.ticket == "HOLD001"))).scalar_one()
        assert (ticket.summary, ticket.notes, ticket.sender_id) == (None, None, PURGED)
        assert (ticket.urgency, ticket.status, ticket.reason) == ("urgent", "closed", "no_shelter")
        messages = (await session.execute(sa.select(StaffMessage.ticket))).scalars().all()
        assert messages == ["HNEW001"]
    (recent,) = await bookings_for(engine, "U-new-line-user")
    assert recent.reference == kept.reference and recent.contact == PHONE and recent.summary == SUMMARY
    assert (await tickets_for(engine, "U-new-line-user"))[0].notes == "職員メモ"
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT id, kind FROM stat_events"))).all() == [(1, "referral")]
    assert (await purge_before(engine, cutoff)).as_dict() == {"tickets": 0, "bookings": 0, "staff_messages": 0}


async def test_a_booking_still_to_come_is_never_purged(engine):
    """Booked long ago for a date inside the retention period: its contact is still needed."""
    await ensure_schema(engine)
    booking = await a_booking(engine, "early-bird", NOW - timedelta(days=30))
    cutoff = booking.start - timedelta(days=1)  # created and changed before the cutoff, takes place after it
    assert (await purge_before(engine, cutoff)).bookings == 0
    assert (await bookings_for(engine, "early-bird"))[0].contact == PHONE


# --------------------------------------------------------------------------- deletion on request


async def test_erase_cancels_active_bookings_then_deletes_everything_of_that_chat(engine):
    await ensure_schema(engine)
    active = await a_booking(engine, "erase-me", NOW)
    past = await a_booking(engine, "erase-me", LONG_AGO)
    other = await a_booking(engine, "someone-else", NOW)
    await a_ticket(engine, "erase-me", NOW.astimezone(timezone.utc), "HERASE1")
    await a_ticket(engine, "someone-else", NOW.astimezone(timezone.utc), "HKEEP01")
    window = (active.start - timedelta(minutes=1), active.start + timedelta(minutes=1))
    assert sum((await taken_counts(engine, "jiritsu_soudan", *window)).values()) == 2

    erased = await erase_sender(engine, "erase-me", now=NOW)
    assert (erased.tickets, erased.bookings, erased.cancelled, erased.staff_messages) == (1, 2, 1, 1)
    assert await bookings_for(engine, "erase-me") == [] and await tickets_for(engine, "erase-me") == []
    assert sum((await taken_counts(engine, "jiritsu_soudan", *window)).values()) == 1  # the seat is free again
    async with engine.connect() as conn:
        history = (await conn.execute(sa.select(BookingEvent.booking_id))).scalars().all()
        assert past.id not in history and active.id not in history and other.id in history
        assert (await conn.execute(sa.select(StaffMessage.ticket))).scalars().all() == ["HKEEP01"]
    assert [b.reference for b in await bookings_for(engine, "someone-else")] == [other.reference]
    assert (await erase_sender(engine, "erase-me", now=NOW)).anything is False


async def test_erase_refuses_no_id_and_the_purged_marker(engine):
    for bad in ("", PURGED, None):
        with pytest.raises(ValueError):
            await erase_sender(engine, bad, now=NOW)


# --------------------------------------------------------------------------- the conversation store


def tracker_db(path, rows):
    """An events table as Rasa makes it; ``rows``: (sender, age in days)."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name "
                     "VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)")
        now = NOW.timestamp()
        for sender, days in rows:
            conn.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, 'gAAAAAx')",
                         (sender, now - days * 86400))


def senders(path):
    with sqlite3.connect(path) as conn:
        return sorted({r[0] for r in conn.execute("select sender_id from events")})


def test_idle_conversations_are_deleted_whole(tmp_path):
    db = tmp_path / "trackers.db"
    tracker_db(db, [("idle", 500), ("idle", 400), ("back-again", 500), ("back-again", 2), ("fresh", 1)])
    cutoff = (NOW - timedelta(days=365)).timestamp()
    url = f"sqlite:///{db}"
    assert trackerdb.purge_idle(url, cutoff, dry_run=True) == trackerdb.Purged(1, 2)
    assert senders(db) == ["back-again", "fresh", "idle"]
    assert trackerdb.purge_idle(url, cutoff) == trackerdb.Purged(1, 2)
    assert senders(db) == ["back-again", "fresh"]  # a conversation active lately keeps its early events
    assert not trackerdb.exists(f"sqlite:///{tmp_path / 'none.db'}")
    assert trackerdb.purge_idle(f"sqlite:///{tmp_path / 'none.db'}", cutoff) == trackerdb.Purged(0, 0)
    assert not (tmp_path / "none.db").exists()


def test_the_tracker_database_is_found_in_endpoints(tmp_path):
    ep = tmp_path / "endpoints.yml"
    ep.write_text('tracker_store:\n  type: bot.trackerstore.EncryptedSQLTrackerStore\n  dialect: "sqlite"\n'
                  '  db: "var/trackers.db"\n')
    assert str(trackerdb.url_from_endpoints(ep, base=tmp_path)) == f"sqlite:///{tmp_path}/var/trackers.db"
    ep.write_text('tracker_store:\n  type: SQL\n  dialect: "postgresql"\n  url: "${DB_HOST}:5433"\n  db: rasa\n'
                  '  username: "${DB_USER}"\n  password: "${DB_PASSWORD}"\n')
    url = trackerdb.url_from_endpoints(ep, env={"DB_HOST": "db.internal", "DB_USER": "rasa", "DB_PASSWORD": "p@ss"})
    assert (url.host, url.port, url.database, url.username, url.password) == ("db.internal", 5433, "rasa", "rasa", "p@ss")
    with pytest.raises(trackerdb.EndpointsError, match="DB_USER is not set"):
        trackerdb.url_from_endpoints(ep, env={"DB_HOST": "x"})
    ep.write_text("tracker_store:\n  type: redis\n  url: localhost\n")
    assert trackerdb.url_from_endpoints(ep) is None
    assert str(trackerdb.url_from_endpoints(ROOT / "endpoints.yml", base=ROOT)).endswith("/var/trackers.db")


# --------------------------------------------------------------------------- the command and the daily job


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """DATABASE_URL and an endpoints.yml in tmp_path, with one old and one recent conversation."""
    db, trackers = tmp_path / "intake.db", tmp_path / "trackers.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    ep = tmp_path / "endpoints.yml"
    ep.write_text(f'tracker_store:\n  type: bot.trackerstore.EncryptedSQLTrackerStore\n  dialect: "sqlite"\n'
                  f'  db: "{trackers}"\n')
    tracker_db(trackers, [("U-old-line-user", 400), ("U-new-line-user", 3)])
    return {"db": db, "trackers": trackers, "endpoints": ep}


async def fill(db_url):
    from bot.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        await ensure_schema(engine)
        await a_booking(engine, "U-old-line-user", LONG_AGO)
        await a_ticket(engine, "U-old-line-user", LONG_AGO.astimezone(timezone.utc), "HOLD002")
    finally:
        await engine.dispose()


async def test_the_command_prints_counts_only(configured):
    await fill(os.environ["DATABASE_URL"])
    env = dict(os.environ, PYTHONPATH=str(ROOT), INTAKE_NOW=NOW.isoformat())

    def command(*args):
        done = subprocess.run([sys.executable, "-m", "bot.retention", "--endpoints", str(configured["endpoints"]), *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    out = command("--dry-run")
    assert "dry run" in out and "bookings would be purged: 1" in out and "conversations would be deleted: 1 (1 events)" in out
    assert senders(configured["trackers"]) == ["U-new-line-user", "U-old-line-user"]
    out = command()
    assert "handoff tickets purged: 1" in out and "staff messages deleted: 1" in out
    assert "conversations deleted: 1 (1 events)" in out
    assert senders(configured["trackers"]) == ["U-new-line-user"]
    for secret in (PHONE, "U-old-line-user", "建設現場", "借金", "職員メモ"):
        assert secret not in out


async def test_maintenance_run_once_is_the_daily_retention(configured):
    await fill(os.environ["DATABASE_URL"])
    report = await maintenance.run_once(NOW, endpoints=configured["endpoints"])
    assert report.days == 365 and not report.dry_run
    assert (report.database.bookings, report.database.tickets, report.conversations.conversations) == (1, 1, 1)
    again = await maintenance.run_once(NOW + timedelta(days=1), endpoints=configured["endpoints"])
    assert (again.database.bookings, again.conversations.conversations) == (0, 0)


def test_the_next_run_is_three_in_the_morning_local_time():
    tz = "Asia/Tokyo"
    assert maintenance.next_run(datetime(2027, 1, 12, 2, 59, tzinfo=JST), tz) == datetime(2027, 1, 12, 3, 0, tzinfo=JST)
    assert maintenance.next_run(datetime(2027, 1, 12, 3, 0, tzinfo=JST), tz) == datetime(2027, 1, 13, 3, 0, tzinfo=JST)
    assert maintenance.next_run(datetime(2027, 1, 12, 20, 0, tzinfo=timezone.utc), tz) == \
        datetime(2027, 1, 14, 3, 0, tzinfo=JST)  # 05:00 on the 13th in Tokyo


async def test_retention_run_needs_a_positive_period(engine):
    with pytest.raises(ValueError):
        await retention.run(NOW, days=0, engine=engine, tracker_url=None)


# --------------------------------------------------------------------------- the profile setting


def test_retention_days_come_from_the_profile():
    assert PROFILE.privacy.retention_days == 365


@pytest.mark.parametrize("value, message", [
    (0, "privacy.retention_days"), (3, "7 to 3650"), (40000, "7 to 3650"), ("一年", "privacy.retention_days"),
    (1.5, "privacy.retention_days"),
])
def test_bad_retention_settings_name_the_key(tmp_path, value, message):
    import yaml

    raw = yaml.safe_load(DEFAULT_PROFILE.read_text(encoding="utf-8"))
    raw["privacy"] = {"retention_days": value}
    path = tmp_path / "city.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_an_unknown_privacy_key_is_reported(tmp_path):
    import yaml

    raw = yaml.safe_load(DEFAULT_PROFILE.read_text(encoding="utf-8"))
    raw["privacy"] = {"retention_day": 30}
    path = tmp_path / "city.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match="privacy.retention_day"):
        load_profile(path)

