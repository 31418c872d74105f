"""Personal data in the bot's own tables: erase one conversation, purge old ones, re-encrypt.

What is personal: handoff tickets' ``summary`` and ``notes``, bookings' ``summary`` and
``contact``, staff messages, and the ``sender_id`` that links a row to a chat account (a LINE or
Telegram user id is an identifier). What is not, and stays for the statistics: dates, status,
destination, office, channel, urgency, mode, reason, consent flags and the booking history
(states and times). The ``stat_events`` table is never touched here.

* :func:`erase_sender`: the resident asked for deletion. Active bookings are cancelled first
  (:func:`bot.db.bookings.cancel`, so the seat is free again), then the conversation's staff
  messages, tickets and bookings (their history rows go with them) are deleted.
* :func:`purge_before`: the retention period is over. Rows stay, personal fields are emptied
  (``sender_id`` becomes :data:`PURGED`); staff messages are deleted.
* :func:`rekey_database`: after a new key was put first, re-encrypt every personal field with it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Dict, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import bookings as booking_store
from bot.db import crypto
from bot.db.engine import ensure_schema, write_turn
from bot.db.models import Booking, BookingEvent, HandoffTicket
from bot.db.staff_models import StaffMessage

#: What a purged row's ``sender_id`` becomes: the row no longer points to anybody.
PURGED = "purged"
#: Encrypted columns per table (all hold Fernet tokens or NULL).
PERSONAL_COLUMNS: Dict[str, Tuple[str, ...]] = {
    "handoff_tickets": ("summary", "notes"),
    "bookings": ("summary", "contact"),
    "staff_messages": ("text",),
}


@dataclass(frozen=True)
class Erased:
    """How many rows of one conversation were deleted (``cancelled``: active bookings freed first)."""

    tickets: int = 0
    bookings: int = 0
    cancelled: int = 0
    staff_messages: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.tickets or self.bookings or self.staff_messages)


@dataclass(frozen=True)
class Purged:
    """Rows whose personal fields were emptied (tickets, bookings) or deleted (staff messages)."""

    tickets: int = 0
    bookings: int = 0
    staff_messages: int = 0

    def as_dict(self) -> Dict[str, int]:
        return asdict(self)


def _utc(now: Optional[datetime]) -> datetime:
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(timezone.utc)


async def erase_sender(engine: AsyncEngine, sender_id: str, *, now: Optional[datetime] = None) -> Erased:
    """Delete everything this conversation left in the bot's tables (see the module docstring)."""
    if not isinstance(sender_id, str) or not sender_id or sender_id == PURGED:
        raise ValueError("a conversation id is needed")
    now = _utc(now)
    await ensure_schema(engine)
    cancelled = 0
    for booking in await booking_store.bookings_for(engine, sender_id, active_only=True):
        if booking.start > now:  # a seat of a past slot frees nothing
            result = await booking_store.cancel(engine, booking.reference, "resident", now=now)
            cancelled += result.ok
    async with write_turn(engine), engine.begin() as conn:
        tickets = sa.select(HandoffTicket.ticket).where(HandoffTicket.sender_id == sender_id).scalar_subquery()
        messages = await conn.execute(sa.delete(StaffMessage).where(
            sa.or_(StaffMessage.sender_id == sender_id, StaffMessage.ticket.in_(tickets))))
        ticket_rows = await conn.execute(sa.delete(HandoffTicket).where(HandoffTicket.sender_id == sender_id))
        ids = sa.select(Booking.id).where(Booking.sender_id == sender_id).scalar_subquery()
        await conn.execute(sa.delete(BookingEvent).where(BookingEvent.booking_id.in_(ids)))
        booking_rows = await conn.execute(sa.delete(Booking).where(Booking.sender_id == sender_id))
    return Erased(tickets=ticket_rows.rowcount, bookings=booking_rows.rowcount, cancelled=cancelled,
                  staff_messages=messages.rowcount)


def _stale_tickets(cutoff: datetime):
    t = HandoffTicket.__table__.c
    old = sa.and_(t.created_at < cutoff, sa.or_(t.claimed_at.is_(None), t.claimed_at < cutoff),
                  sa.or_(t.closed_at.is_(None), t.closed_at < cutoff))
    personal = sa.or_(t.summary.isnot(None), t.notes.isnot(None), t.sender_id != PURGED)
    return sa.and_(old, personal)


def _stale_bookings(cutoff: datetime):
    b = Booking.__table__.c
    old = sa.and_(b.end < cutoff, b.updated_at < cutoff)  # never a booking still to come
    personal = sa.or_(b.summary.isnot(None), b.contact.isnot(None), b.sender_id != PURGED)
    return sa.and_(old, personal)


async def purge_before(engine: AsyncEngine, cutoff: datetime, *, dry_run: bool = False) -> Purged:
    """Empty the personal fields of rows whose last activity is before ``cutoff``.

    A ticket counts from its latest of created/claimed/closed, a booking from the later of its
    end and its last change, a staff message from when it was written.
    """
    cutoff = _utc(cutoff)
    await ensure_schema(engine)
    tickets, bookings_, messages = HandoffTicket.__table__, Booking.__table__, StaffMessage.__table__
    if dry_run:
        async with engine.connect() as conn:
            async def count(table, where) -> int:
                return (await conn.execute(sa.select(sa.func.count()).select_from(table).where(where))).scalar_one()

            return Purged(tickets=await count(tickets, _stale_tickets(cutoff)),
                          bookings=await count(bookings_, _stale_bookings(cutoff)),
                          staff_messages=await count(messages, messages.c.at < cutoff))
    async with write_turn(engine), engine.begin() as conn:
        m = await conn.execute(messages.delete().where(messages.c.at < cutoff))
        t = await conn.execute(tickets.update().where(_stale_tickets(cutoff))
                               .values(summary=None, notes=None, sender_id=PURGED))
        b = await conn.execute(bookings_.update().where(_stale_bookings(cutoff))
                               .values(summary=None, contact=None, sender_id=PURGED))
    return Purged(tickets=t.rowcount, bookings=b.rowcount, staff_messages=m.rowcount)


async def rekey_database(engine: AsyncEngine) -> Dict[str, int]:
    """Re-encrypt every personal field with the newest key; rows changed per table."""
    await ensure_schema(engine)
    changed: Dict[str, int] = {}
    async with write_turn(engine), engine.begin() as conn:
        for name, columns in PERSONAL_COLUMNS.items():
            table = sa.table(name, sa.column("id"), *[sa.column(c, sa.Text) for c in columns])
            rows = (await conn.execute(sa.select(table).order_by(table.c.id))).fetchall()
            n = 0
            for row in rows:
                values = {c: crypto.rotate(row._mapping[c]) for c in columns if row._mapping[c] is not None}
                if values:
                    await conn.execute(table.update().where(table.c.id == row.id).values(values))
                    n += 1
            changed[name] = n
    return changed
