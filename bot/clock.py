"""The current time, in one place.

``INTAKE_NOW`` (ISO 8601 with offset) fixes the clock for a whole running stack, so end-to-end
tests and demos can show office-hours behaviour (live handoff, today's slots) at any hour.
Never set it in production.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def now() -> datetime:
    fixed = os.environ.get("INTAKE_NOW")
    if fixed:
        moment = datetime.fromisoformat(fixed)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)


def greeting(moment: datetime, tz: str = "Asia/Tokyo") -> str:
    """The greeting for the local hour: residents write at night, and 「こんにちは」 at 23:00 jars."""
    hour = moment.astimezone(ZoneInfo(tz)).hour
    if 5 <= hour < 11:
        return "おはようございます"
    return "こんにちは" if 11 <= hour < 18 else "こんばんは"
