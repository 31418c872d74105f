"""Tables the bot writes. Conversation transcripts live in Rasa's tracker store, not here.

Every schema change needs an Alembic revision in ``bot/db/migrations/versions``;
``tests/test_migrations.py`` fails when the models and the migrations disagree.

Personal fields (what residents told us, how to reach them, what staff wrote to them) are
encrypted at rest with :mod:`bot.db.crypto`; everything a statistic needs (dates, status,
destination, urgency) stays plain.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import declarative_base
from sqlalchemy.types import TypeDecorator

from bot.db.crypto import EncryptedJSON, EncryptedText

Base = declarative_base()


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp that always comes back as aware UTC.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones, so values are stored as naive
    UTC text (one fixed form, so equality, ordering and the unique slot key work) and get
    ``tzinfo=UTC`` back on the way out. Naive datetimes are refused: a time without a zone is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got {value!r}")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class HandoffTicket(Base):
    """A request for a person: staff pick it up live or call back (see intake-protocol.md)."""

    __tablename__ = "handoff_tickets"

    id = Column(Integer, primary_key=True)
    ticket = Column(String(16), nullable=False, unique=True, index=True)
    sender_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(32), nullable=False, default="rest")
    urgency = Column(String(16), nullable=False)
    mode = Column(String(16), nullable=False)  # live | callback
    reason = Column(String(64), nullable=False)  # crisis signal or request kind, never free text
    status = Column(String(16), nullable=False, default="open")  # open | claimed | handed_back | closed
    callback_after = Column(UTCDateTime, nullable=True)
    summary = Column(EncryptedJSON, nullable=True)  # intake fields known at handoff time
    created_at = Column(UTCDateTime, nullable=False)
    notes = Column(EncryptedText, nullable=True)
    # Staff console (integrations/console): who took the case and when it ended. ``claimed_by`` is a
    # staff_users.id without a foreign key, so the bot's tables can be created without the console's.
    claimed_by = Column(Integer, nullable=True, index=True)
    claimed_at = Column(UTCDateTime, nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)


#: Booking states; the seat stays taken for every state but ``cancelled``.
BOOKING_STATUSES = ("booked", "moved", "cancelled", "attended", "no_show")
ACTIVE_STATUSES = ("booked", "moved")


class SlotLoad(Base):
    """Seats taken per slot: the one row concurrent bookings of a slot contend on.

    ``book`` inserts the row if missing, then ``UPDATE ... SET taken = taken + 1 WHERE taken <
    capacity``; the database serialises writers of one row, so no slot is ever over-booked.
    """

    __tablename__ = "slot_load"

    destination = Column(String(64), primary_key=True)
    start = Column("start_at", UTCDateTime, key="start", primary_key=True)
    taken = Column(Integer, nullable=False, default=0)

    __table_args__ = (CheckConstraint("taken >= 0", name="ck_slot_load_taken_not_negative"),)


class Booking(Base):
    """An appointment at an office; ``reference`` is the short code the resident quotes."""

    __tablename__ = "bookings"

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True, index=True)
    sender_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    destination = Column(String(64), nullable=False)
    office = Column(String(255), nullable=False)
    start = Column("start_at", UTCDateTime, key="start", nullable=False)
    end = Column("end_at", UTCDateTime, key="end", nullable=False)
    status = Column(String(16), nullable=False, default="booked")
    sequence = Column(Integer, nullable=False, default=0)  # moves and cancellation (the .ics SEQUENCE)
    summary = Column(EncryptedJSON, nullable=True)  # intake summary, stored only with consent
    consent = Column(Boolean, nullable=False, default=False)
    consent_at = Column(UTCDateTime, nullable=True)
    contact = Column(EncryptedText, nullable=True)
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)
    reminder_sent_at = Column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_bookings_destination_start", "destination", "start"),
        Index("ix_bookings_status_start", "status", "start"),
        CheckConstraint("status IN ('booked', 'moved', 'cancelled', 'attended', 'no_show')",
                        name="ck_bookings_status"),
    )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def payload(self, tz: str = "Asia/Tokyo") -> Dict[str, Any]:
        """The protocol's ``booking`` payload (attended/no_show are staff states, never sent)."""
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(tz)
        return {
            "type": "booking",
            "status": self.status if self.status in ("booked", "moved", "cancelled") else "booked",
            "destination": self.destination,
            "office": self.office,
            "start": self.start.astimezone(zone).isoformat(),
            "end": self.end.astimezone(zone).isoformat(),
            "reference": self.reference,
        }

    def __repr__(self) -> str:  # no personal data
        return f"<Booking {self.reference} {self.destination} {self.start:%Y-%m-%dT%H:%MZ} {self.status}>"


class BookingEvent(Base):
    """One line of a booking's history: who changed it to what, and from which start."""

    __tablename__ = "booking_events"

    id = Column(Integer, primary_key=True)
    booking_id = Column(Integer, ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False, index=True)
    status = Column(String(16), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    actor = Column(String(80), nullable=False)  # "resident" or "staff:<name>"
    previous_start = Column(UTCDateTime, nullable=True)


# The console's tables share this metadata (one migration history for the whole database).
from bot.db import staff_models  # noqa: E402,F401  (registers its tables on Base)
from bot.db import stats_models  # noqa: E402,F401  (the statistics table, also on Base)
