"""Writing statistics rows, and the few per-person look-ups the console needs.

``record`` stores one row built by ``bot.stats.events`` (it re-checks the row's shape first, so no
free text can get in) and keeps the counts honest where one event can be recorded twice:

* ``referral``: one per person and day, the day's last decision (a corrected intake re-routes);
* ``attended`` / ``no_show``: one per person, appointment day and destination (a mark can be corrected);
* ``outcome``: one per person and 年度, the latest entry;
* ``booking`` and ``handoff``: every one counts.

The replacement happens in the same transaction as the insert.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable, Dict, Mapping, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import ensure_schema, reader, write_turn
from bot.db.stats_models import StatEvent
from bot.stats import events
from bot.stats.case_key import case_key_for, existing_case_key_for
from bot.stats.fiscal import fiscal_year

log = logging.getLogger(__name__)
TABLE = StatEvent.__table__


def encode_codes(codes) -> str:
    """``["a", "b"]`` → ``"|a|b|"`` (empty list → ``""``), so SQL can test one code with LIKE."""
    return f"|{'|'.join(codes)}|" if codes else ""


def decode_codes(text: Optional[str]) -> list:
    return [c for c in (text or "").split("|") if c]


def to_columns(row: Mapping[str, Any]) -> Dict[str, Any]:
    """Column values of a checked row."""
    events.check_row(row)
    values = dict(row)
    for name in ("target_groups", "flags", "destinations"):
        values[name] = encode_codes(row[name])
    return values


def from_columns(values: Mapping[str, Any]) -> Dict[str, Any]:
    """A stored row back as a builder's dict (lists decoded)."""
    row = {key: values[key] for key in events.ROW_KEYS}
    for name in ("target_groups", "flags", "destinations"):
        row[name] = decode_codes(values[name])
    return row


def _replaced(values: Mapping[str, Any]):
    """Conditions selecting the earlier row this one replaces, or None when rows just add up."""
    kind, key = values["kind"], TABLE.c.case_key == values["case_key"]
    if kind == "referral":
        return (key, TABLE.c.kind == "referral", TABLE.c.day == values["day"])
    if kind in ("attended", "no_show"):
        return (key, TABLE.c.kind.in_(("attended", "no_show")), TABLE.c.day == values["day"],
                TABLE.c.destinations == values["destinations"])
    if kind == "outcome":
        return (key, TABLE.c.kind == "outcome", TABLE.c.fiscal_year == values["fiscal_year"])
    return None


async def record(engine: AsyncEngine, row: Mapping[str, Any]) -> None:
    """Store one statistics row (see the module docstring for which rows replace earlier ones)."""
    values = to_columns(row)
    await ensure_schema(engine)
    async with write_turn(engine), engine.begin() as conn:
        conditions = _replaced(values)
        if conditions is not None:
            await conn.execute(delete(TABLE).where(*conditions))
        await conn.execute(insert(TABLE).values(**values))


async def record_quietly(engine: AsyncEngine, row: Mapping[str, Any]) -> bool:
    """``record`` for the conversation: a statistics fault is logged (type only) and never reaches the resident."""
    try:
        await record(engine, row)
        return True
    except Exception as exc:  # statistics must never break a conversation
        log.error("statistics row not stored (%s)", type(exc).__name__)
        return False


async def record_for_sender(engine: AsyncEngine, sender_id: str,
                            build: Callable[[str], Mapping[str, Any]]) -> bool:
    """What the bot's actions call: ``build(case_key)`` makes the row (a ``bot.stats.events`` builder),
    then it is stored. Any fault (key, builder, database) is logged by type only and returns False:
    statistics never interrupt a resident's conversation."""
    try:
        row = build(await case_key_for(sender_id))
        await record(engine, row)
        return True
    except Exception as exc:  # noqa: BLE001 - statistics must never break a conversation
        log.error("statistics row not stored (%s)", type(exc).__name__)
        return False


async def last_referral(engine: AsyncEngine, case_key: str) -> Optional[Dict[str, Any]]:
    """The person's latest referral row (its dimensions are copied to outcomes and attendance)."""
    async with reader(engine).connect() as conn:
        found = (await conn.execute(
            select(TABLE).where(TABLE.c.case_key == case_key, TABLE.c.kind == "referral")
            .order_by(TABLE.c.day.desc(), TABLE.c.id.desc()).limit(1)
        )).mappings().first()
    return from_columns(found) if found else None


async def outcome_of(engine: AsyncEngine, sender_id: str, fy: int) -> Optional[str]:
    """The outcome recorded for this person in 年度 ``fy``, or None. Reads only (the console migrates on start)."""
    key = await existing_case_key_for(sender_id)
    if key is None:
        return None
    async with reader(engine).connect() as conn:
        return (await conn.execute(
            select(TABLE.c.outcome).where(TABLE.c.case_key == key, TABLE.c.kind == "outcome",
                                          TABLE.c.fiscal_year == fy).order_by(TABLE.c.id.desc()).limit(1)
        )).scalar()


async def record_outcome(engine: AsyncEngine, sender_id: str, outcome: str, now: datetime, *,
                         tz: str = "Asia/Tokyo") -> Dict[str, Any]:
    """Staff entered an outcome for the person behind ``sender_id``; returns the row stored."""
    key = await case_key_for(sender_id)
    row = events.outcome_event(outcome, now, case_key=key, base=await last_referral(engine, key), tz=tz)
    await record(engine, row)
    return row


async def record_attendance(engine: AsyncEngine, sender_id: str, status: str, start: datetime, destination: str, *,
                            tz: str = "Asia/Tokyo") -> Dict[str, Any]:
    """Staff marked a booking (``start`` aware) attended or no-show; returns the row stored."""
    key = await case_key_for(sender_id)
    day = start.astimezone(ZoneInfo(tz)).date()
    row = events.attendance_event(status, day, destination, case_key=key, base=await last_referral(engine, key))
    await record(engine, row)
    return row


def current_fiscal_year(now: datetime, tz: str = "Asia/Tokyo") -> int:
    return fiscal_year(now.astimezone(ZoneInfo(tz)).date())


async def years_with_data(engine: AsyncEngine) -> list:
    """年度 from the first to the last with rows, newest first (two index look-ups, not a scan)."""
    async with reader(engine).connect() as conn:
        first, last = (await conn.execute(select(func.min(TABLE.c.fiscal_year), func.max(TABLE.c.fiscal_year)))).one()
    return [] if first is None else list(range(int(last), int(first) - 1, -1))

