"""A resident's appointments for the case page, read through ``bot.db.bookings`` when that module exists.

The bookings module is built separately; it is imported lazily so that the console works without
it (the page then says bookings are not available). Rows may be objects or mappings; only the
protocol's booking fields are read (``status``, ``destination``, ``office``, ``start``, ``end``,
``reference``).
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, List, Optional
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from integrations.console.auth import utc
from integrations.console.intake_summary import DESTINATION_LABELS

log = logging.getLogger(__name__)
MODULE = "bot.db.bookings"
STATUS_LABELS = {"booked": "予約済み", "moved": "変更済み", "cancelled": "キャンセル", "attended": "来所済み",
                 "no_show": "来所なし"}


@dataclass(frozen=True)
class BookingRow:
    start: str
    end: str
    destination: str
    office: str
    reference: str
    status: str
    status_code: str = ""
    started: bool = False  # the appointment has begun: staff may mark it attended or no-show


@dataclass(frozen=True)
class Bookings:
    available: bool  # False: no bookings module in this installation
    rows: List[BookingRow]
    error: bool = False


def _get(row: Any, name: str) -> Any:
    if isinstance(row, dict):
        return row.get(name)
    return getattr(row, name, None)


def _when(value: Any, tz: ZoneInfo) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return utc(value).astimezone(tz).strftime("%Y年%m月%d日 %H:%M")
    return "" if value is None else str(value)


def _started(value: Any, now: datetime) -> bool:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return False
    return isinstance(value, datetime) and value.tzinfo is not None and value <= now


def to_row(row: Any, tz: ZoneInfo, now: Optional[datetime] = None) -> BookingRow:
    destination = str(_get(row, "destination") or "")
    status = str(_get(row, "status") or "")
    return BookingRow(
        start=_when(_get(row, "start"), tz), end=_when(_get(row, "end"), tz),
        destination=DESTINATION_LABELS.get(destination, destination), office=str(_get(row, "office") or ""),
        reference=str(_get(row, "reference") or ""), status=STATUS_LABELS.get(status, status), status_code=status,
        started=_started(_get(row, "start"), now or datetime.now(timezone.utc)),
    )


async def bookings_of(engine: AsyncEngine, sender_id: str, tz: ZoneInfo) -> Bookings:
    try:
        module = importlib.import_module(MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != MODULE:
            raise
        return Bookings(available=False, rows=[])
    finder = getattr(module, "bookings_for", None)
    if finder is None:
        return Bookings(available=False, rows=[])
    try:
        found: Optional[list] = await finder(engine, sender_id)
        return Bookings(available=True, rows=[to_row(r, tz) for r in found or []])
    except Exception as exc:  # a bookings fault must not hide the rest of the case
        log.error("bookings could not be read (%s)", type(exc).__name__)
        return Bookings(available=True, rows=[], error=True)
