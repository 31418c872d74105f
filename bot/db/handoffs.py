"""Handoff tickets: create and read. Short-lived sessions, one per call."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.engine import ensure_schema as _ensure_schema
from bot.db.models import HandoffTicket

#: Unambiguous characters for codes read aloud on the phone (no 0/O, 1/I/L).
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_code(prefix: str = "H", length: int = 6) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


async def open_ticket(
    engine: AsyncEngine,
    *,
    sender_id: str,
    channel: str,
    urgency: str,
    mode: str,
    reason: str,
    callback_after: Optional[datetime],
    summary: Mapping[str, Any],
) -> HandoffTicket:
    """Record a handoff request; reuses the open ticket of the same conversation if there is one."""
    await _ensure_schema(engine)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        existing = (
            await session.execute(
                select(HandoffTicket).where(HandoffTicket.sender_id == sender_id, HandoffTicket.status.in_(("open", "claimed")))
            )
        ).scalars().first()
        if existing:
            if _rank(urgency) > _rank(existing.urgency):
                existing.urgency, existing.reason, existing.mode = urgency, reason, mode
            existing.summary = dict(summary)
            return existing
        ticket = HandoffTicket(
            ticket=new_code(), sender_id=sender_id, channel=channel, urgency=urgency, mode=mode, reason=reason,
            callback_after=callback_after, summary=dict(summary), created_at=datetime.now(timezone.utc), status="open",
        )
        session.add(ticket)
        return ticket


async def tickets_for(engine: AsyncEngine, sender_id: str) -> list:
    await _ensure_schema(engine)
    async with AsyncSession(engine) as session:
        rows = await session.execute(select(HandoffTicket).where(HandoffTicket.sender_id == sender_id))
        return list(rows.scalars())


def _rank(urgency: str) -> int:
    return {"normal": 0, "urgent": 1, "emergency": 2}.get(urgency, 0)
