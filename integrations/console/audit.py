"""The audit trail: who opened, claimed, answered or closed which case, and every sign-in.

Rows hold codes only (action, ticket code, a short detail code); never resident data or passwords.
"""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.staff_models import AuditLog
from integrations.console.auth import now_utc

ACTIONS = (
    "login", "login_failed", "logout", "open_case", "claim", "reply", "retry", "handback", "close",
    "user_create", "user_deactivate", "user_activate", "password_reset", "password_change",
    "outcome", "attendance", "stats_view", "stats_export",
)


async def record(engine: AsyncEngine, action: str, *, user_id: Optional[int] = None, ticket: Optional[str] = None,
                 detail: Optional[str] = None) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    async with AsyncSession(engine) as session, session.begin():
        session.add(AuditLog(at=now_utc(), user_id=user_id, action=action, ticket=ticket,
                             detail=(detail or None) and detail[:64]))


async def rows(engine: AsyncEngine, *, ticket: Optional[str] = None, limit: int = 200) -> List[AuditLog]:
    async with AsyncSession(engine) as session:
        query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        if ticket is not None:
            query = query.where(AuditLog.ticket == ticket)
        return list((await session.execute(query)).scalars())
