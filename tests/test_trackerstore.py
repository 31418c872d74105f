"""The encrypting tracker store (bot/trackerstore.py) on a real SQLite file and PostgreSQL schema."""
from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    AllSlotsReset,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.db import trackerdb
from bot.db.crypto import DataKeyError
from bot.paths import ROOT
from bot.trackerstore import EncryptedSQLTrackerStore, erasure_requested
from tests.dbutil import PG_URL, pg_schema
from tests.privacy_support import leaks, new_key, sqlite_files

DOMAIN = Domain.load(str(ROOT / "domain.yml"))
WORDS = "夫に知られたくないのですが、家賃を3か月滞納していて、電話は090-1234-5678です"


def conversation(sender: str, text: str = WORDS) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    now = time.time()
    for event in (ActionExecuted("action_session_start", timestamp=now), SessionStarted(timestamp=now),
                  ActionExecuted("action_listen", timestamp=now),
                  UserUttered(text, {"name": "housing_trouble", "confidence": 0.9}, timestamp=now + 1),
                  ActionExecuted("action_start_intake", timestamp=now + 2),
                  SlotSet("contact", "090-1234-5678", timestamp=now + 2), SlotSet("age", 46, timestamp=now + 2),
                  BotUttered("住まいのこと、心配ですよね。", timestamp=now + 2),
                  ActionExecuted("action_listen", timestamp=now + 3)):
        tracker.update(event)
    return tracker


def sqlite_store(path) -> EncryptedSQLTrackerStore:
    return EncryptedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(path))


@asynccontextmanager
async def pg_store() -> AsyncIterator[EncryptedSQLTrackerStore]:
    """A store in a fresh PostgreSQL schema (Rasa's POSTGRESQL_SCHEMA setting)."""
    async with pg_schema() as schema:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("POSTGRESQL_SCHEMA", schema)
            store = EncryptedSQLTrackerStore(domain=DOMAIN, host=PG_URL)
            try:
                yield store
            finally:
                store.engine.dispose()


async def test_events_are_encrypted_on_disk_and_read_back(tmp_path, use_keys):
    use_keys(new_key())
    db = tmp_path / "trackers.db"
    store = sqlite_store(db)
    await store.save(conversation("resident-1"))
    again = await store.retrieve("resident-1")
    assert again.latest_message.text == WORDS and again.get_slot("contact") == "090-1234-5678"
    assert again.get_slot("age") == 46 and again.latest_bot_utterance.text == "住まいのこと、心配ですよね。"
    store.engine.dispose()
    assert leaks(sqlite_files(db), [WORDS, "090-1234-5678", "滞納", "心配ですよね", "housing_trouble",
                                    "action_start_intake"]) == []
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select sender_id, type_name, timestamp, intent_name, action_name, data from events").fetchall()
    assert len(rows) == 9 and {r[0] for r in rows} == {"resident-1"}
    assert {r[1] for r in rows} >= {"user", "action", "slot", "bot", "session_started"}  # what Rasa queries stays plain
    assert all(r[2] for r in rows) and all(r[3] is None and r[4] is None for r in rows)
    assert all(r[5].startswith("gAAAAA") for r in rows)


async def test_a_new_turn_appends_only_its_events(tmp_path, use_keys):
    """Rasa's save counts the stored rows to find the new events: encryption must not disturb it."""
    use_keys(new_key())
    store = sqlite_store(tmp_path / "trackers.db")
    tracker = conversation("resident-2")
    await store.save(tracker)
    tracker = await store.retrieve("resident-2")
    tracker.update(UserUttered("46歳です", {"name": "inform", "confidence": 0.9}))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    full = await store.retrieve_full_tracker("resident-2")
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == [WORDS, "46歳です"]
    assert len(full.events) == 11


async def test_postgresql_holds_only_ciphertext(use_keys):
    if not PG_URL:
        pytest.skip("DATABASE_URL does not name a PostgreSQL database (.ci/run sets it)")
    use_keys(new_key())
    async with pg_store() as store:
        await store.save(conversation("resident-pg"))
        assert (await store.retrieve("resident-pg")).latest_message.text == WORDS
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("select data, intent_name, action_name from events")).fetchall()
    assert rows and all(r.data.startswith("gAAAAA") and r.intent_name is None and r.action_name is None for r in rows)
    assert not any(s in r.data for r in rows for s in ("090-1234-5678", "滞納", "\\u6ede"))


async def test_plain_events_from_before_are_encrypted_at_start(tmp_path, use_keys):
    use_keys(new_key())
    db = tmp_path / "trackers.db"
    plain = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))
    await plain.save(conversation("old-resident"))
    plain.engine.dispose()
    assert leaks(sqlite_files(db), ["090-1234-5678"]) == ["090-1234-5678"]  # Rasa's own store writes it plainly
    store = sqlite_store(db)
    assert (await store.retrieve("old-resident")).latest_message.text == WORDS
    store.engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("VACUUM")  # the old pages were zeroed (secure_delete); vacuum drops the journal too
    assert leaks(sqlite_files(db), ["090-1234-5678", WORDS, "housing_trouble"]) == []


async def test_a_different_key_refuses_to_start(tmp_path, use_keys):
    use_keys(new_key())
    db = tmp_path / "trackers.db"
    store = sqlite_store(db)
    await store.save(conversation("resident-3"))
    store.engine.dispose()
    use_keys(new_key())
    with pytest.raises(DataKeyError, match="cannot be decrypted with the configured data key"):
        sqlite_store(db)


async def test_rotation_reads_old_events_and_writes_with_the_new_key(tmp_path, use_keys):
    old, new = new_key(), new_key()
    use_keys(old)
    db = tmp_path / "trackers.db"
    store = sqlite_store(db)
    await store.save(conversation("resident-4"))
    store.engine.dispose()
    use_keys(new, old)  # the new key first, the old one second
    store = sqlite_store(db)
    tracker = await store.retrieve("resident-4")
    assert tracker.latest_message.text == WORDS
    tracker.update(UserUttered("続きからお願いします", {"name": "resume", "confidence": 1.0}))
    await store.save(tracker)
    store.engine.dispose()
    use_keys(new)  # only the new key: the new event opens, the old ones do not
    with sqlite3.connect(db) as conn:
        last = conn.execute("select data from events order by id desc limit 1").fetchone()[0]
    from bot.db import crypto

    assert json.loads(crypto.decrypt(last))["text"] == "続きからお願いします"
    store = sqlite_store(db)  # the start check reads the newest event, which the new key opens
    with pytest.raises(DataKeyError):
        await store.retrieve("resident-4")  # the older events still need the old key (until bot.db.rekey)


async def test_an_erase_turn_deletes_the_conversation_and_nothing_else(tmp_path, use_keys):
    use_keys(new_key())
    store = sqlite_store(tmp_path / "trackers.db")
    await store.save(conversation("keep-me"))
    tracker = conversation("erase-me")
    await store.save(tracker)
    tracker.update(UserUttered("/confirm_delete", {"name": "confirm_delete", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_delete_my_data"))
    tracker.update(BotUttered("削除しました。"))
    tracker.update(AllSlotsReset())
    tracker.update(Restarted())
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    assert await store.retrieve("erase-me") is None
    assert (await store.retrieve("keep-me")).latest_message.text == WORDS
    fresh = await store.get_or_create_tracker("erase-me")
    assert fresh.get_slot("contact") is None and not [e for e in fresh.events if isinstance(e, UserUttered)]


def user_turn(tracker: DialogueStateTracker, text: str) -> DialogueStateTracker:
    tracker.update(UserUttered(text, {"name": "inform", "confidence": 0.9}))
    tracker.update(BotUttered("ありがとうございます。"))
    tracker.update(ActionExecuted("action_listen"))
    return tracker


def user_texts(tracker: DialogueStateTracker) -> list:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


async def test_a_turn_saved_by_another_worker_is_read_not_the_kept_tracker(tmp_path, use_keys):
    """Each Rasa worker keeps the trackers it saved; a write by another one must win."""
    use_keys(new_key())
    db = tmp_path / "trackers.db"
    first, second = sqlite_store(db), sqlite_store(db)
    await first.save(conversation("resident-5"))
    assert user_texts(await first.retrieve("resident-5")) == [WORDS]
    await second.save(user_turn(await second.retrieve("resident-5"), "46歳です"))
    seen_by_first = await first.retrieve("resident-5")
    assert user_texts(seen_by_first) == [WORDS, "46歳です"]
    await first.save(user_turn(seen_by_first, "子どもは2人です"))  # and first appends after it, not over it
    assert user_texts(await second.retrieve_full_tracker("resident-5")) == [WORDS, "46歳です", "子どもは2人です"]
    for store in (first, second):
        store.engine.dispose()


async def test_a_new_conversation_costs_no_query_until_its_first_turn_is_saved(tmp_path, use_keys):
    """Rasa saves the empty tracker it creates for a new conversation: nothing to write, nothing to
    ask the database (the retrieve before it found no row). The turn's save then writes every event."""
    use_keys(new_key())
    db = tmp_path / "trackers.db"
    store, other = sqlite_store(db), sqlite_store(db)
    statements = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    created = await store.get_or_create_tracker("resident-8", append_action_listen=False)  # as Rasa's processor
    assert len(created.events) == 0
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")  # the retrieve only
    for event in conversation("resident-8").events:
        created.update(event)
    await store.save(created)
    assert user_texts(await other.retrieve("resident-8")) == [WORDS]
    await store.save(user_turn(await store.retrieve("resident-8"), "46歳です"))
    assert len((await other.retrieve_full_tracker("resident-8")).events) == 12
    for s in (store, other):
        s.engine.dispose()


async def test_events_added_but_never_saved_are_not_handed_out(tmp_path, use_keys):
    """A turn that failed before Rasa saved it leaves events on the kept object: they must not count."""
    use_keys(new_key())
    store = sqlite_store(tmp_path / "trackers.db")
    tracker = conversation("resident-6")
    await store.save(tracker)
    user_turn(await store.retrieve("resident-6"), "この発言は保存されていません")
    assert user_texts(await store.retrieve("resident-6")) == [WORDS]
    store.engine.dispose()


async def test_a_conversation_deleted_from_outside_is_gone_for_rasa(tmp_path, use_keys):
    """The console and the retention job delete rows with their own connection (bot/db/trackerdb)."""
    use_keys(new_key())
    db = tmp_path / "trackers.db"
    store = sqlite_store(db)
    await store.save(conversation("resident-7"))
    assert await store.retrieve("resident-7") is not None
    assert trackerdb.delete_sender(f"sqlite:///{db}", "resident-7") == 9
    assert await store.retrieve("resident-7") is None
    assert leaks(sqlite_files(db), ["resident-7"]) == []  # nor in the write-ahead log
    store.engine.dispose()


async def test_two_workers_on_postgresql_see_each_others_turns(use_keys):
    if not PG_URL:
        pytest.skip("DATABASE_URL does not name a PostgreSQL database (.ci/run sets it)")
    use_keys(new_key())
    async with pg_store() as first:
        second = EncryptedSQLTrackerStore(domain=DOMAIN, host=PG_URL)
        try:
            await first.save(conversation("resident-pg2"))
            await first.retrieve("resident-pg2")
            await second.save(user_turn(await second.retrieve("resident-pg2"), "46歳です"))
            assert user_texts(await first.retrieve("resident-pg2")) == [WORDS, "46歳です"]
        finally:
            second.engine.dispose()


def test_only_a_successful_erase_in_this_turn_counts():
    erase, restart = ActionExecuted("action_delete_my_data"), Restarted()
    user = UserUttered("消してください", {"name": "delete_my_data"})
    listen = ActionExecuted("action_listen")
    assert erasure_requested([user, erase, restart, ActionExecuted("action_session_start"), SessionStarted(), listen])
    assert not erasure_requested([user, erase, listen])  # the action failed: no Restarted
    assert not erasure_requested([erase, restart, listen, UserUttered("こんにちは"), ActionExecuted("action_greet")])
    assert not erasure_requested([user, ActionExecuted("action_start_over"), restart, listen])
    assert not erasure_requested([])


def test_the_store_is_what_rasa_loads_from_endpoints(tmp_path, use_keys):
    """Rasa builds a custom store as ``cls(host=url, domain=..., event_broker=..., **kwargs)``; an
    unloadable class would become an in-memory store with only a warning."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import EndpointConfig

    use_keys(new_key())
    config = EndpointConfig(type="bot.trackerstore.EncryptedSQLTrackerStore", dialect="sqlite",
                            db=str(tmp_path / "trackers.db"))
    store = TrackerStore.create(config, DOMAIN)
    inner = getattr(store, "_tracker_store", store)
    assert isinstance(inner, EncryptedSQLTrackerStore)


def test_a_key_file_readable_by_others_stops_the_store(tmp_path, monkeypatch):
    from bot.db import crypto

    key = tmp_path / "data.key"
    key.write_text(new_key() + "\n")
    os.chmod(key, 0o644)
    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    monkeypatch.setenv(crypto.KEY_FILE_ENV, str(key))
    crypto.reset_keyring()
    try:
        with pytest.raises(DataKeyError, match="chmod 600"):
            sqlite_store(tmp_path / f"{uuid.uuid4().hex}.db")
    finally:
        crypto.reset_keyring()


async def test_rekey_moves_every_event_to_the_new_key(tmp_path, use_keys):
    from bot.db import trackerdb

    old, new = new_key(), new_key()
    use_keys(old)
    db = tmp_path / "trackers.db"
    store = sqlite_store(db)
    await store.save(conversation("resident-5"))
    store.engine.dispose()
    use_keys(new, old)
    assert trackerdb.rekey(f"sqlite:///{db}", batch=4) == 9  # several batches
    use_keys(new)
    store = sqlite_store(db)
    assert (await store.retrieve("resident-5")).latest_message.text == WORDS
