"""Tables of the staff console: accounts, sessions, the audit trail and messages sent by staff.

They live on the same declarative ``Base`` as the bot's tables so that one metadata (and one
migration history) covers the whole database. Nothing here holds a resident's intake data except
``StaffMessage.text``, which is what staff wrote to the resident (encrypted at rest).
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String

from bot.db.crypto import EncryptedText

from bot.db.models import Base

#: Roles in increasing order of rights; each role may do everything the ones before it may.
ROLES = ("staff", "manager", "admin")


class StaffUser(Base):
    """A person who signs in to the console. Passwords are stored as argon2 hashes only."""

    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True, index=True)
    display_name = Column(String(100), nullable=False)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False, default="staff")  # staff | manager | admin
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    password_changed_at = Column(DateTime(timezone=True), nullable=True)


class StaffSession(Base):
    """A signed-in browser. Only a SHA-256 digest of the cookie's token is stored."""

    __tablename__ = "staff_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True, index=True)
    user_id = Column(Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    last_seen = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)  # absolute limit; idle limit uses last_seen


class AuditLog(Base):
    """Who did what to which case. Codes only: no resident data, no passwords, no addresses."""

    __tablename__ = "staff_audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True, index=True)
    action = Column(String(32), nullable=False)  # open_case, claim, reply, handback, close, login, login_failed, ...
    ticket = Column(String(16), nullable=True, index=True)  # no foreign key: the trail outlives purged tickets
    detail = Column(String(64), nullable=True)  # a short code such as "print" or "rate_limited"


class StaffMessage(Base):
    """A message a staff member wrote to a resident; kept undelivered when Rasa could not take it."""

    __tablename__ = "staff_messages"

    id = Column(Integer, primary_key=True)
    ticket = Column(String(16), ForeignKey("handoff_tickets.ticket", ondelete="CASCADE"), nullable=False, index=True)
    sender_id = Column(String(255), nullable=False)
    staff_user_id = Column(Integer, ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True)
    text = Column(EncryptedText, nullable=False)  # encrypted at rest (bot.db.crypto)
    at = Column(DateTime(timezone=True), nullable=False)
    delivered = Column(Boolean, nullable=False, default=False)
