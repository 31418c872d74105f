"""Rasa's SQL tracker store with the conversation encrypted at rest.

Rasa keeps every event of a conversation in one ``events`` table; the ``data`` column holds the
event as JSON, with the resident's own words. :class:`EncryptedSQLTrackerStore` is Rasa 3.6's
``SQLTrackerStore`` with a different row class and nothing else overridden for normal turns:

* ``data`` is a Fernet token (:mod:`bot.db.crypto`): encrypted when Rasa's ``save`` writes the
  row, decrypted when ``_retrieve`` reads it, so Rasa's own code sees plain JSON.
* ``sender_id``, ``type_name`` and ``timestamp`` stay plain: ``_event_query`` filters on them
  (the conversation, the latest ``session_started`` and the events after it) and ``save`` counts
  the rows they select to know which events are new.
* ``intent_name`` and ``action_name`` are filled by ``save`` but never read by Rasa (``retrieve``
  rebuilds the tracker from ``data`` alone); an intent such as ``crisis_emergency`` says too much,
  so they are written as NULL.

One addition: when a turn ran ``action_delete_my_data`` and it succeeded (its ``Restarted``
event follows it), ``save`` deletes every row of that conversation instead of appending. Deleting
inside the action could not work: Rasa saves the tracker after the turn and, counting no rows,
would write the whole conversation back. The resident's next message starts a new tracker.

Speed: each turn Rasa reads the whole conversation (decrypt, parse and replay every event), and a
form turn sends it twice to the action server; profiled under 20 concurrent conversations the read
alone was 29 % of the Rasa process. The store therefore keeps the tracker it last saved per
conversation (a small LRU, :data:`CACHE_SIZE`) and hands it back on the next ``retrieve`` when the
database shows no write since (the newest row id of that conversation is unchanged, one indexed
query) and the tracker holds exactly the events that were saved; otherwise it reads the database
as Rasa does. Several Rasa workers or the retention job writing or deleting rows therefore only
cost a re-read. On SQLite, connections use WAL with ``synchronous=NORMAL``: a commit no longer
waits for the disk while the event loop (Rasa's store is synchronous) holds every conversation.

At start the store refuses a data key that cannot open the newest stored event, and encrypts
rows written in plain text before it was configured. endpoints.yml::

    tracker_store:
      type: bot.trackerstore.EncryptedSQLTrackerStore
      dialect: "sqlite"
      db: "var/trackers.db"

Rasa passes the other keys (``dialect``, ``db``, ``username``, ``password``, ``port``, ``url`` as
``host``, ``login_db``, ``query``) to ``SQLTrackerStore``. Rasa falls back to an in-memory store
(with only a warning) when the class cannot be imported or its constructor raises
AttributeError/ImportError; the constructor turns those into a RuntimeError so that never happens
silently after the import.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, _create_sequence
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event as sa_event
from sqlalchemy.orm import declarative_base, sessionmaker
from sqlalchemy.types import TypeDecorator

from bot.db import crypto, trackerdb

logger = logging.getLogger(__name__)

#: The action that erases a conversation on the resident's request (bot/actions/privacy.py).
ERASE_ACTION = "action_delete_my_data"
#: Conversations whose last saved tracker is kept in memory (``TRACKER_CACHE_SIZE``, 0 = off).
CACHE_SIZE = 256


class EventData(TypeDecorator):
    """An event's JSON, stored as a Fernet token. Rows written in plain text by Rasa's own store
    (JSON always starts with ``{``) are read as they are, and encrypted at the next start."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else crypto.encrypt(value)

    def process_result_value(self, value, dialect):
        if value is None or value.startswith("{"):
            return value
        return crypto.decrypt(value)


class NotStored(TypeDecorator):
    """A column Rasa fills on save but never reads back: always written as NULL."""

    impl = sa.String(255)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None


_Base = declarative_base()


class EncryptedEvent(_Base):
    """Rasa's ``events`` table, same columns and index, with the personal parts protected."""

    __tablename__ = "events"

    id = sa.Column(sa.Integer, _create_sequence(__tablename__), primary_key=True)
    sender_id = sa.Column(sa.String(255), nullable=False, index=True)
    type_name = sa.Column(sa.String(255), nullable=False)
    timestamp = sa.Column(sa.Float)
    intent_name = sa.Column(NotStored)
    action_name = sa.Column(NotStored)
    data = sa.Column(EventData)


def erasure_requested(events: Iterable[Any]) -> bool:
    """True when the turn since the resident's last message ran :data:`ERASE_ACTION` successfully
    (a ``restart`` event after it: the action returns one only once the data is deleted)."""
    restarted = False
    for event in reversed(list(events)):
        kind = getattr(event, "type_name", None)
        if kind == "user":
            return False
        if kind == "restart":
            restarted = True
        elif kind == "action" and getattr(event, "action_name", None) == ERASE_ACTION and restarted:
            return True
    return False


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose events are encrypted at rest (see the module docstring)."""

    Base = _Base
    SQLEvent = EncryptedEvent

    def __init__(self, domain: Optional[Any] = None, host: Optional[str] = None, **kwargs: Any) -> None:
        try:
            crypto.keyring()  # a missing, malformed or unsafe key stops the start here, with its message
            super().__init__(domain=domain, host=host, **kwargs)
            self._cache_size = int(os.environ.get("TRACKER_CACHE_SIZE", CACHE_SIZE))
            self._kept: "OrderedDict[str, _Kept]" = OrderedDict()
            if self.engine.dialect.name == "sqlite":
                # Rasa's engine opens a new SQLite connection per session (NullPool); one pooled
                # connection, used only from the event loop, spares the open and the pragmas.
                self.engine.dispose()
                self.engine = sa.create_engine(self.engine.url, poolclass=sa.pool.QueuePool, pool_size=1,
                                               max_overflow=4, connect_args={"check_same_thread": False})
                sa_event.listen(self.engine, "connect", _sqlite_pragmas)
                self.sessionmaker = sessionmaker(bind=self.engine)
            self._check_key()
            self._encrypt_plain_rows()
        except (AttributeError, ImportError) as err:  # Rasa would swap in an in-memory store without a word
            raise RuntimeError(f"EncryptedSQLTrackerStore could not start: {err}") from err

    def _check_key(self) -> None:
        """The configured keys must open the newest encrypted event (else refuse to start)."""
        with self.session_scope() as session:
            newest = session.execute(
                sa.text("SELECT data FROM events WHERE data LIKE :prefix ORDER BY id DESC LIMIT 1"),
                {"prefix": crypto.TOKEN_PREFIX + "%"},
            ).scalar()
        if newest is not None:
            crypto.decrypt(newest)  # DataKeyError says what to do

    def _encrypt_plain_rows(self) -> None:
        """Encrypt events stored in plain text (by Rasa's own SQL store, before this one)."""
        table = sa.table("events", sa.column("id"), sa.column("data", sa.Text), sa.column("intent_name"),
                         sa.column("action_name"))
        with self.session_scope() as session:
            plain = session.execute(sa.select(table.c.id, table.c.data).where(table.c.data.like("{%"))).fetchall()
            for row_id, data in plain:
                session.execute(table.update().where(table.c.id == row_id)
                                .values(data=crypto.encrypt(data), intent_name=None, action_name=None))
            session.execute(table.update().where(sa.or_(table.c.intent_name.isnot(None), table.c.action_name.isnot(None)))
                            .values(intent_name=None, action_name=None))
            session.commit()
        if plain:
            logger.info("Encrypted %d conversation events stored before encryption was enabled.", len(plain))

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The tracker saved last, when the database has nothing newer; else Rasa's read."""
        kept = self._kept.get(sender_id)
        if kept is not None:
            with self._session() as session:
                if kept.current(self._newest_id(session, sender_id)):
                    self._kept.move_to_end(sender_id)
                    return kept.tracker
            del self._kept[sender_id]
        return await super().retrieve(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Appends the events not yet stored; after a successful erase deletes the conversation."""
        sender_id = tracker.sender_id
        if erasure_requested(tracker.events):
            self._kept.pop(sender_id, None)
            with self.session_scope() as session:
                deleted = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id) \
                    .delete(synchronize_session=False)
                session.commit()
            trackerdb.truncate_wal(self.engine)
            logger.info("Erased a conversation on the resident's request (%d events).", deleted)
            return
        if not tracker.events:  # the empty tracker Rasa saves on creating a conversation: nothing to write
            self._keep(_Kept(tracker, 0, None))
            return
        await self.stream_events(tracker)
        kept = self._kept.pop(sender_id, None)
        with self._session() as session:
            if kept is not None and kept.tracker is tracker and kept.newest_id == self._newest_id(session, sender_id):
                stored = kept.events  # nothing written since our own save: no need to count rows
            else:
                stored = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()
            rows = [self._row(sender_id, event) for event in list(tracker.events)[stored:]]
            session.add_all(rows)
            session.flush()  # assigns the ids (read after commit, each would be reloaded)
            newest = max((row.id for row in rows), default=None) or self._newest_id(session, sender_id)
            session.commit()
        self._keep(_Kept(tracker, len(tracker.events), newest))

    def _keep(self, kept: "_Kept") -> None:
        """Remembers the tracker as saved (the least recently saved are forgotten first)."""
        if self._cache_size:
            self._kept.pop(kept.tracker.sender_id, None)
            self._kept[kept.tracker.sender_id] = kept
            while len(self._kept) > self._cache_size:
                self._kept.popitem(last=False)

    def _session(self) -> Any:
        """A session without Rasa's per-session schema lookup (checked by the first ``session_scope``)."""
        return contextlib.closing(self.sessionmaker())

    def _row(self, sender_id: str, event: Any) -> EncryptedEvent:
        data = event.as_dict()
        return self.SQLEvent(sender_id=sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                             data=json.dumps(data))

    def _newest_id(self, session: Any, sender_id: str) -> Optional[int]:
        return session.execute(sa.select(sa.func.max(self.SQLEvent.id))
                               .where(self.SQLEvent.sender_id == sender_id)).scalar()


@dataclass
class _Kept:
    """A tracker as saved: its event count then, and the newest row id of its conversation."""

    tracker: DialogueStateTracker
    events: int
    newest_id: Optional[int]

    def current(self, newest_id: Optional[int]) -> bool:
        """Nothing written to the conversation since, and nothing added to the object unsaved."""
        return newest_id is not None and newest_id == self.newest_id and len(self.tracker.events) == self.events


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Deleted rows are zeroed; WAL + NORMAL: commits do not wait for the disk (a crash of the
    process loses nothing; a power cut may lose the last turns, never the file's integrity)."""
    cursor = dbapi_connection.cursor()
    for pragma in ("secure_delete=ON", "journal_mode=WAL", "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
