"""Tables the bot writes. Conversation transcripts live in Rasa's tracker store, not here."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, JSON, String, Text
from sqlalchemy.orm import declarative_base

Base = declarative_base()


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
    callback_after = Column(DateTime(timezone=True), nullable=True)
    summary = Column(JSON, nullable=True)  # intake fields known at handoff time
    created_at = Column(DateTime(timezone=True), nullable=False)
    notes = Column(Text, nullable=True)
    # Staff console (integrations/console): who took the case and when it ended. ``claimed_by`` is a
    # staff_users.id without a foreign key, so the bot's tables can be created without the console's.
    claimed_by = Column(Integer, nullable=True, index=True)
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    closed_at = Column(DateTime(timezone=True), nullable=True)
