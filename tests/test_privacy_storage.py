"""Personal fields encrypted at rest (bot/db/crypto.py, migration 0003) on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot import slots
from bot.db import crypto
from bot.db.bookings import book, bookings_for
from bot.db.crypto import DataKeyError
from bot.paths import ROOT
from bot.db.handoffs import open_ticket, tickets_for
from bot.db.migrate import head, migrate
from bot.db.models import HandoffTicket
from bot.db.personal import rekey_database
from bot.db.staff_models import StaffMessage
from bot.profile import DEFAULT_PROFILE, load_profile
from tests.dbutil import BACKENDS, database
from tests.privacy_support import leaks, new_key, sqlite_files

JST = timezone(timedelta(hours=9))
NOW = datetime(2027, 1, 12, 9, 30, tzinfo=JST)
PROFILE = load_profile(DEFAULT_PROFILE)
PHONE = "090-8765-4321"
STORY = "夫の暴力から逃げてきて、今は友人の家にいます"
SUMMARY = {"fields": {"age": 38, "housing": "with_friends", "job_history": "介護施設で5年、腰を痛めて退職"},
           "sources": {"age": "typed"}, "urgency": "urgent", "notes": STORY}
STAFF_TEXT = "山田です。明日10時にお電話します。"
SECRETS = [PHONE, STORY, "介護施設で5年", STAFF_TEXT, "with_friends"]


@pytest.fixture(params=BACKENDS)
async def engine(request, tmp_path):
    async with database(request.param, tmp_path) as eng:
        yield eng


async def store_everything(engine, sender="resident-x"):
    slot = slots.free_slots("jiritsu_soudan", PROFILE, NOW, {}, limit=1)[0]
    result = await book(engine, sender_id=sender, channel="rest", destination=slot.destination, start=slot.start,
                        end=slot.end, summary=SUMMARY, consent=True, contact=f"携帯 {PHONE}", profile=PROFILE, now=NOW)
    assert result.ok
    ticket = await open_ticket(engine, sender_id=sender, channel="rest", urgency="urgent", mode="callback",
                               reason="dv", callback_after=None, summary=SUMMARY)
    async with AsyncSession(engine) as session, session.begin():
        row = (await session.execute(sa.select(HandoffTicket).where(HandoffTicket.ticket == ticket.ticket))).scalar_one()
        row.notes = f"職員メモ：{STORY}"
        session.add(StaffMessage(ticket=ticket.ticket, sender_id=sender, text=STAFF_TEXT, at=NOW, delivered=False))
    return result.booking.reference, ticket.ticket


# --------------------------------------------------------------------------- keys


def test_malformed_keys_are_refused_without_echoing_them():
    with pytest.raises(DataKeyError, match="key 2 of 2 is not a Fernet key") as err:
        crypto.parse_keys(f"{new_key()},not-a-real-key-abc", "INTAKE_DATA_KEY")
    assert "not-a-real-key" not in str(err.value)
    with pytest.raises(DataKeyError, match="no key found"):
        crypto.parse_keys(" , \n# only a comment\n", "var/data.key")
    a, b = new_key(), new_key()
    assert crypto.parse_keys(f"# newest first\n{a}\n{b}  # the old one\n", "file") == [a.encode(), b.encode()]


def test_the_key_file_is_made_once_with_mode_0600_and_never_overwritten(tmp_path):
    path = tmp_path / "var" / "data.key"
    env = {crypto.KEY_FILE_ENV: str(path)}
    first = crypto.load_keys(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 1
    before = path.read_bytes()
    assert crypto.create_key_file(path) is False and path.read_bytes() == before
    assert crypto.load_keys(env) == first
    assert crypto.load_keys({**env, crypto.KEY_ENV: new_key()}) != first  # the environment wins
    assert [p.name for p in path.parent.iterdir()] == ["data.key"]  # no temporary file left


def test_processes_starting_together_share_one_new_key(tmp_path):
    path = tmp_path / "data.key"
    code = "from bot.db import crypto; print(crypto.load_keys()[0].decode())"
    env = {k: v for k, v in os.environ.items() if k != crypto.KEY_ENV}
    env.update({crypto.KEY_FILE_ENV: str(path), "PYTHONPATH": str(ROOT)})
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
             for _ in range(6)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and keys == {crypto.parse_keys(path.read_text(), "f")[0].decode()}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path, mode):
    path = tmp_path / "data.key"
    path.write_text(new_key() + "\n")
    os.chmod(path, mode)
    with pytest.raises(DataKeyError, match=r"owner only .*refusing to start.*chmod 600"):
        crypto.load_keys({crypto.KEY_FILE_ENV: str(path)})


# --------------------------------------------------------------------------- stored data


async def test_round_trip_and_no_plaintext_in_the_database(engine, tmp_path, use_keys):
    use_keys(new_key())
    reference, ticket = await store_everything(engine)
    (booking,) = await bookings_for(engine, "resident-x")
    assert booking.reference == reference and booking.summary == SUMMARY and booking.contact == f"携帯 {PHONE}"
    (row,) = await tickets_for(engine, "resident-x")
    assert row.summary == SUMMARY and row.notes == f"職員メモ：{STORY}"
    async with AsyncSession(engine) as session:
        assert (await session.execute(sa.select(StaffMessage.text))).scalars().all() == [STAFF_TEXT]
    async with engine.connect() as conn:
        raw = (await conn.execute(text(
            "select b.summary, b.contact, t.summary, t.notes, m.text from bookings b, handoff_tickets t, staff_messages m"
        ))).one()
    assert all(value.startswith("gAAAAA") for value in raw)
    assert not [s for s in SECRETS for value in raw if s in value]
    if engine.dialect.name == "sqlite":
        await engine.dispose()
        db = next(p for p in tmp_path.iterdir() if p.suffix == ".db")
        assert leaks(sqlite_files(db), SECRETS) == []


async def test_nothing_stored_means_null_not_ciphertext(engine, use_keys):
    use_keys(new_key())
    slot = slots.free_slots("jiritsu_soudan", PROFILE, NOW, {}, limit=1)[0]
    await book(engine, sender_id="quiet", channel="rest", destination=slot.destination, start=slot.start, end=slot.end,
               summary=SUMMARY, consent=False, profile=PROFILE, now=NOW)
    async with engine.connect() as conn:
        assert (await conn.execute(text("select summary, contact from bookings"))).one() == (None, None)


async def test_a_wrong_key_gives_a_clear_error(engine, use_keys):
    use_keys(new_key())
    await store_everything(engine)
    use_keys(new_key())
    with pytest.raises(DataKeyError) as err:
        await bookings_for(engine, "resident-x")
    message = str(err.value)
    assert "cannot be decrypted" in message and "INTAKE_DATA_KEY" in message and "newest first" in message
    assert PHONE not in message


async def test_rotation_with_the_old_key_second_then_rekey(engine, use_keys):
    old, new = new_key(), new_key()
    use_keys(old)
    await store_everything(engine, "before")
    use_keys(new, old)
    (kept,) = await bookings_for(engine, "before")
    assert kept.contact == f"携帯 {PHONE}"
    await open_ticket(engine, sender_id="after", channel="rest", urgency="normal", mode="callback",
                      reason="requested", callback_after=None, summary={"fields": {"age": 70}})
    use_keys(new)
    assert (await tickets_for(engine, "after"))[0].summary == {"fields": {"age": 70}}  # written with the new key
    with pytest.raises(DataKeyError):
        await tickets_for(engine, "before")
    use_keys(new, old)
    changed = await rekey_database(engine)
    assert changed == {"handoff_tickets": 2, "bookings": 1, "staff_messages": 1}
    use_keys(new)  # the old key can go now
    assert (await tickets_for(engine, "before"))[0].notes == f"職員メモ：{STORY}"
    assert (await bookings_for(engine, "before"))[0].summary == SUMMARY


# --------------------------------------------------------------------------- migration 0003


async def test_plaintext_rows_are_encrypted_by_the_migration(engine, tmp_path, use_keys):
    use_keys(new_key())
    await migrate(engine, "0002")
    at = datetime(2026, 11, 1, tzinfo=timezone.utc)
    tickets = sa.table("handoff_tickets", *[sa.column(c) for c in ("ticket", "sender_id", "channel", "urgency", "mode",
                                                                  "reason", "status", "created_at")],
                       sa.column("summary", sa.JSON), sa.column("notes"))
    bookings = sa.table("bookings", *[sa.column(c) for c in ("id", "reference", "sender_id", "channel", "destination",
                                                            "office", "start_at", "end_at", "status", "sequence",
                                                            "consent", "created_at", "updated_at")],
                        sa.column("summary", sa.JSON), sa.column("contact"))
    events = sa.table("booking_events", sa.column("booking_id"), sa.column("status"), sa.column("at"), sa.column("actor"))
    messages = sa.table("staff_messages", sa.column("ticket"), sa.column("sender_id"), sa.column("text"),
                        sa.column("at"), sa.column("delivered"))
    stamp = at if engine.dialect.name == "postgresql" else at.replace(tzinfo=None)
    async with engine.begin() as conn:
        await conn.execute(tickets.insert(), [
            dict(ticket="HAAAAAA", sender_id="old-1", channel="rest", urgency="urgent", mode="callback", reason="dv",
                 status="open", created_at=stamp, summary=SUMMARY, notes=STORY),
            dict(ticket="HBBBBBB", sender_id="old-2", channel="rest", urgency="normal", mode="callback",
                 reason="requested", status="closed", created_at=stamp, summary=None, notes=None)])
        await conn.execute(bookings.insert().values(
            id=1, reference="YAAAAAA", sender_id="old-1", channel="rest", destination="jiritsu_soudan", office="窓口",
            start_at=stamp, end_at=stamp, status="booked", sequence=0, consent=True, created_at=stamp,
            updated_at=stamp, summary=SUMMARY, contact=PHONE))
        await conn.execute(events.insert().values(booking_id=1, status="booked", at=stamp, actor="resident"))
        await conn.execute(messages.insert().values(ticket="HAAAAAA", sender_id="old-1", text=STAFF_TEXT, at=stamp,
                                                    delivered=True))
    await migrate(engine)
    async with engine.connect() as conn:
        raw = (await conn.execute(text("select summary, notes from handoff_tickets order by ticket"))).all()
        assert raw[0][0].startswith("gAAAAA") and raw[0][1].startswith("gAAAAA") and raw[1] == (None, None)
        assert (await conn.execute(text("select count(*) from booking_events"))).scalar() == 1  # nothing cascaded
        assert (await conn.execute(text("select count(*) from staff_messages"))).scalar() == 1
        (contact,) = (await conn.execute(text("select contact from bookings"))).one()
        assert contact.startswith("gAAAAA")
    (ticket,) = await tickets_for(engine, "old-1")
    assert ticket.summary == SUMMARY and ticket.notes == STORY
    (booking,) = await bookings_for(engine, "old-1")
    assert booking.summary == SUMMARY and booking.contact == PHONE
    if engine.dialect.name == "sqlite":
        async with engine.begin() as conn:  # the CHECK on bookings.status survived the table copy
            with pytest.raises(sa.exc.IntegrityError):
                await conn.execute(text("update bookings set status = 'lost'"))
        await engine.dispose()
        db = next(p for p in tmp_path.iterdir() if p.suffix == ".db")
        with sqlite3.connect(db) as conn:  # the old plaintext pages were zeroed (secure_delete), not just freed
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert leaks(sqlite_files(db), [PHONE, STORY, STAFF_TEXT]) == []


def test_downgrade_decrypts_and_upgrade_encrypts_again(tmp_path, use_keys):
    """The command-line round trip keeps the data (downgrade 0002, upgrade head)."""
    use_keys(new_key())
    db = tmp_path / "cli.db"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}", PYTHONPATH=str(ROOT))

    def alembic(*args):
        done = subprocess.run([sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    alembic("upgrade", "head")
    slot_at = "2027-01-14 01:00:00.000000"
    with sqlite3.connect(db) as conn:
        conn.execute("insert into bookings (reference, sender_id, channel, destination, office, start_at, end_at, status,"
                     " sequence, consent, created_at, updated_at, summary, contact) values ('YCCCCCC', 's', 'rest',"
                     " 'hellowork', 'x', ?, ?, 'booked', 0, 1, ?, ?, ?, ?)",
                     (slot_at, slot_at, slot_at, slot_at, crypto.encrypt(crypto.dumps(SUMMARY)), crypto.encrypt(PHONE)))
    alembic("downgrade", "0002")
    with sqlite3.connect(db) as conn:
        summary, contact = conn.execute("select summary, contact from bookings").fetchone()
    assert contact == PHONE and json.loads(summary) == SUMMARY
    alembic("upgrade", "head")
    with sqlite3.connect(db) as conn:
        summary, contact = conn.execute("select summary, contact from bookings").fetchone()
    assert crypto.decrypt(contact) == PHONE and crypto.decrypt(summary).startswith("{")
    assert head() >= "0003"


async def test_the_rekey_command_covers_the_database_and_the_conversations(tmp_path, use_keys, monkeypatch):
    """``python -m bot.db.rekey`` with the new key first; afterwards the old key is not needed."""
    from bot.db.engine import make_engine
    from bot.trackerstore import EncryptedSQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    old, new = new_key(), new_key()
    use_keys(old)
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    engine = make_engine(url)
    await store_everything(engine, "rotating")
    await engine.dispose()
    domain = Domain.load(str(ROOT / "domain.yml"))
    trackers = tmp_path / "trackers.db"
    store = EncryptedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(trackers))
    tracker = DialogueStateTracker("rotating", domain.slots)
    tracker.update(UserUttered(STORY, {"name": "crisis_emergency"}))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    store.engine.dispose()
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f'tracker_store:\n  type: bot.trackerstore.EncryptedSQLTrackerStore\n  db: "{trackers}"\n')
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(ROOT), INTAKE_DATA_KEY=f"{new},{old}")
    done = subprocess.run([sys.executable, "-m", "bot.db.rekey", "--endpoints", str(endpoints)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "handoff_tickets: 1 rows" in done.stdout and "conversation events: 2" in done.stdout
    assert STORY not in done.stdout + done.stderr and PHONE not in done.stdout + done.stderr
    use_keys(new)
    engine = make_engine(url)
    try:
        assert (await tickets_for(engine, "rotating"))[0].notes == f"職員メモ：{STORY}"
        assert (await bookings_for(engine, "rotating"))[0].contact == f"携帯 {PHONE}"
    finally:
        await engine.dispose()
    store = EncryptedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(trackers))
    assert (await store.retrieve("rotating")).latest_message.text == STORY
    store.engine.dispose()
