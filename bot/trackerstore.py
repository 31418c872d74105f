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

import logging
from typing import Any, Iterable, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, _create_sequence
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event as sa_event
from sqlalchemy.orm import declarative_base
from sqlalchemy.types import TypeDecorator

from bot.db import crypto

logger = logging.getLogger(__name__)

#: The action that erases a conversation on the resident's request (bot/actions/privacy.py).
ERASE_ACTION = "action_delete_my_data"


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
            if self.engine.dialect.name == "sqlite":
                sa_event.listen(self.engine, "connect", _sqlite_secure_delete)
                self.engine.dispose()  # connections made from now on zero deleted rows
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

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save, except after a successful erase: then the conversation's rows are deleted."""
        if not erasure_requested(tracker.events):
            await super().save(tracker)
            return
        with self.session_scope() as session:
            deleted = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == tracker.sender_id) \
                .delete(synchronize_session=False)
            session.commit()
        logger.info("Erased a conversation on the resident's request (%d events).", deleted)


def _sqlite_secure_delete(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
