"""What staff record on a case for the statistics: the outcome, and attendance of appointments.

Both write an anonymous ``stat_events`` row (``bot.db.stats``); attendance also goes through
``bot.db.bookings.mark`` so the booking itself and its history say who marked it. A reference
typed into a forged form must belong to this case's resident: staff cannot mark another
resident's appointment from this page.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import bookings as store
from bot.db import stats as stats_db
from bot.stats.events import OUTCOMES
from bot.stats.fiscal import fiscal_year
from integrations.console.booking_list import Bookings

log = logging.getLogger(__name__)
MARKABLE = ("booked", "moved", "attended", "no_show")
REFUSALS = {
    "not_started": (409, "予約の時刻より前のため、まだ記録できません。"),
    "not_active": (409, "取り消された予約には記録できません。"),
    "not_found": (404, "この相談の予約が見つかりませんでした。"),
}

__all__ = ["OUTCOMES", "Outcome", "current_outcome", "save_outcome", "markable", "mark_attendance"]


@dataclass(frozen=True)
class Outcome:
    code: Optional[str]
    label: str
    fiscal_year: int
    error: bool = False


async def current_outcome(engine: AsyncEngine, sender_id: str, tz: ZoneInfo) -> Outcome:
    """The outcome recorded in this 年度, for the case page (a statistics fault hides only this box)."""
    fy = fiscal_year(datetime.now(tz).date())
    try:
        code = await stats_db.outcome_of(engine, sender_id, fy)
    except Exception as exc:
        log.error("outcome could not be read (%s)", type(exc).__name__)
        return Outcome(None, "", fy, error=True)
    return Outcome(code, OUTCOMES.get(code or "", ""), fy)


async def save_outcome(engine: AsyncEngine, sender_id: str, code: str, tz: str) -> None:
    await stats_db.record_outcome(engine, sender_id, code, datetime.now(timezone.utc), tz=tz)


def markable(bookings: Bookings) -> List[dict]:
    """Appointments that have begun and were not cancelled: staff may record 来所 / 来所なし."""
    return [{"reference": b.reference, "when": b.start, "destination": b.destination, "status": b.status,
             "status_code": b.status_code}
            for b in bookings.rows if b.started and b.status_code in MARKABLE]


async def mark_attendance(engine: AsyncEngine, sender_id: str, reference: str, status: str, *, actor: str,
                          tz: str) -> Optional[Tuple[int, str]]:
    """Mark the booking and write the statistics row; ``(status, message)`` when refused."""
    booking = await store.find(engine, reference)
    if booking is None or booking.sender_id != sender_id:
        return REFUSALS["not_found"]
    result = await store.mark(engine, booking.reference, status, actor=actor)
    if not result.ok:
        return REFUSALS.get(result.reason or result.status, (409, "この予約には記録できませんでした。"))
    await stats_db.record_attendance(engine, sender_id, status, booking.start, booking.destination, tz=tz)
    return None
