"""Handoff tickets as staff see them: the queue, one case, claiming, ending, and staff messages.

``may_act`` decides who may do what to a case (pure); the rest are short database calls. Claiming
is a conditional UPDATE, so two staff pressing 「担当する」 at once cannot both win.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.models import HandoffTicket
from bot.db.staff_models import StaffMessage, StaffUser
from integrations.console.auth import now_utc, role_allows, utc

ACTIVE = ("open", "claimed")
ENDED = ("handed_back", "closed")
URGENCY_ORDER = ("emergency", "urgent", "normal")
ACTIONS = ("claim", "reply", "handback", "close")


def may_act(action: str, *, status: str, mode: str, claimed_by: Optional[int], user_id: int, role: str) -> Optional[str]:
    """Why ``action`` is not allowed on this case (Japanese, for staff), or ``None`` when it is."""
    if action not in ACTIONS:
        raise ValueError(action)
    if status in ENDED:
        return "この相談はすでに終了しています。"
    if status not in ACTIVE:
        return "この相談は操作できない状態です。"
    mine = status == "open" or claimed_by == user_id
    if action == "claim":
        if mine or role_allows(role, "manager"):
            return None
        return "ほかの職員が担当しています。引き継ぐには管理者（manager）に依頼してください。"
    if action == "reply":
        return None if mine else "ほかの職員が担当しています。返信するには先に担当を引き継いでください。"
    if action == "handback" and mode != "live":
        return "折り返し連絡の相談ではボットは止まっていません。「対応完了」で終了してください。"
    if action == "close" and mode == "live":
        return "ライブ対応の相談は「ボットに戻す」で終了してください。"
    if mine or role_allows(role, "manager"):
        return None
    return "ほかの職員が担当しています。"


@dataclass(frozen=True)
class QueueRow:
    ticket: str
    urgency: str
    mode: str
    channel: str
    status: str
    created_at: datetime
    callback_after: Optional[datetime]
    claimed_by_name: Optional[str]

    def waiting_minutes(self, now: datetime) -> int:
        return max(0, int((now - self.created_at).total_seconds() // 60))


def _urgency_rank():
    return case(*((HandoffTicket.urgency == u, i) for i, u in enumerate(URGENCY_ORDER)), else_=len(URGENCY_ORDER))


async def queue(engine: AsyncEngine, *, limit: Optional[int] = None, offset: int = 0) -> List[QueueRow]:
    """Open and claimed cases: emergency, urgent, normal; within each, the longest waiting first."""
    query = (
        select(HandoffTicket.ticket, HandoffTicket.urgency, HandoffTicket.mode, HandoffTicket.channel,
               HandoffTicket.status, HandoffTicket.created_at, HandoffTicket.callback_after, StaffUser.display_name)
        .outerjoin(StaffUser, StaffUser.id == HandoffTicket.claimed_by)
        .where(HandoffTicket.status.in_(ACTIVE))
        .order_by(_urgency_rank(), HandoffTicket.created_at.asc(), HandoffTicket.id.asc())
        .limit(limit).offset(offset)
    )
    async with AsyncSession(engine) as session:
        result = await session.execute(query)
        return [QueueRow(ticket=r[0], urgency=r[1], mode=r[2], channel=r[3], status=r[4], created_at=utc(r[5]),
                         callback_after=utc(r[6]), claimed_by_name=r[7]) for r in result]


async def queue_counts(engine: AsyncEngine) -> Dict[str, int]:
    """Waiting cases per urgency (every urgency present, zero included)."""
    async with AsyncSession(engine) as session:
        result = await session.execute(
            select(HandoffTicket.urgency, func.count()).where(HandoffTicket.status.in_(ACTIVE))
            .group_by(HandoffTicket.urgency)
        )
        found = {u: int(n) for u, n in result}
    return {**{u: 0 for u in URGENCY_ORDER}, **found}


@dataclass(frozen=True)
class Case:
    ticket: HandoffTicket
    claimed_by_name: Optional[str]


async def get_case(engine: AsyncEngine, code: str) -> Optional[Case]:
    async with AsyncSession(engine) as session:
        row = (await session.execute(
            select(HandoffTicket, StaffUser.display_name)
            .outerjoin(StaffUser, StaffUser.id == HandoffTicket.claimed_by)
            .where(HandoffTicket.ticket == code)
        )).first()
        if row is None:
            return None
        return Case(ticket=row[0], claimed_by_name=row[1])


async def claim(engine: AsyncEngine, code: str, user_id: int, *, take_over: bool = False) -> bool:
    """Take the case; ``take_over`` also takes it from another staff member. True when it is now ours."""
    condition = or_(HandoffTicket.status == "open",
                    and_(HandoffTicket.status == "claimed", HandoffTicket.claimed_by == user_id))
    if take_over:
        condition = HandoffTicket.status.in_(ACTIVE)
    async with AsyncSession(engine) as session, session.begin():
        result = await session.execute(
            update(HandoffTicket).where(HandoffTicket.ticket == code, condition)
            .values(status="claimed", claimed_by=user_id, claimed_at=now_utc())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


async def finish(engine: AsyncEngine, code: str, status: str) -> bool:
    """End the case (``handed_back`` or ``closed``); False when it had already ended."""
    if status not in ENDED:
        raise ValueError(status)
    async with AsyncSession(engine) as session, session.begin():
        result = await session.execute(
            update(HandoffTicket).where(HandoffTicket.ticket == code, HandoffTicket.status.in_(ACTIVE))
            .values(status=status, closed_at=now_utc())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


@dataclass(frozen=True)
class MessageRow:
    id: int
    text: str
    at: datetime
    delivered: bool
    staff_name: Optional[str]


async def add_message(engine: AsyncEngine, code: str, sender_id: str, user_id: int, text: str) -> int:
    """Store the message before sending it, so that nothing staff wrote is lost when Rasa is down."""
    async with AsyncSession(engine) as session, session.begin():
        message = StaffMessage(ticket=code, sender_id=sender_id, staff_user_id=user_id, text=text, at=now_utc(),
                               delivered=False)
        session.add(message)
        await session.flush()
        return message.id


async def mark_delivered(engine: AsyncEngine, message_id: int) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(update(StaffMessage).where(StaffMessage.id == message_id).values(delivered=True))


async def messages(engine: AsyncEngine, code: str) -> List[MessageRow]:
    async with AsyncSession(engine) as session:
        result = await session.execute(
            select(StaffMessage.id, StaffMessage.text, StaffMessage.at, StaffMessage.delivered, StaffUser.display_name)
            .outerjoin(StaffUser, StaffUser.id == StaffMessage.staff_user_id)
            .where(StaffMessage.ticket == code).order_by(StaffMessage.at, StaffMessage.id)
        )
        return [MessageRow(id=r[0], text=r[1], at=utc(r[2]), delivered=bool(r[3]), staff_name=r[4]) for r in result]


async def undelivered(engine: AsyncEngine, code: str) -> List[MessageRow]:
    return [m for m in await messages(engine, code) if not m.delivered]
