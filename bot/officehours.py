"""When the city's desks are open: weekdays, national holidays (jpholiday), 年末年始, closures.

Decides live handoff versus call-back, and later which appointment slots exist. Reads the
``office_hours`` and ``closed`` sections of the municipality profile; all times are timezone-aware
and local days are taken in the profile's timezone (Asia/Tokyo).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import jpholiday

from bot.profile import Profile


def _tz(profile: Profile) -> ZoneInfo:
    return ZoneInfo(profile.municipality.timezone)


def _in_year_end(day: date, start: tuple, end: tuple) -> bool:
    md = (day.month, day.day)
    return (md >= start or md <= end) if start > end else (start <= md <= end)


def is_business_day(day: date, profile: Profile) -> bool:
    """True when the desks open on ``day`` (a local date)."""
    closed = profile.closed
    if day.weekday() not in profile.office_hours.days or day in closed.dates:
        return False
    if closed.weekends and day.weekday() >= 5:
        return False
    if closed.national_holidays and jpholiday.is_holiday(day):
        return False
    return not _in_year_end(day, closed.year_end_start, closed.year_end_end)


def is_open(moment: datetime, profile: Profile) -> bool:
    """True when a person can take over a chat at ``moment``."""
    local = moment.astimezone(_tz(profile))
    hours = profile.office_hours
    return is_business_day(local.date(), profile) and hours.open <= local.time() < hours.close


def next_opening(moment: datetime, profile: Profile, *, max_days: int = 30) -> datetime:
    """The next time the desks are open; ``moment`` itself when they are open now."""
    if is_open(moment, profile):
        return moment
    tz = _tz(profile)
    local = moment.astimezone(tz)
    day = local.date() + timedelta(days=1 if local.time() >= profile.office_hours.open else 0)
    for _ in range(max_days):
        if is_business_day(day, profile):
            return datetime.combine(day, profile.office_hours.open, tzinfo=tz)
        day += timedelta(days=1)
    raise ValueError(f"no opening day within {max_days} days: check the profile's closed days")


def format_local(moment: datetime, profile: Profile) -> str:
    """「11月24日(火) 8:45」, the way residents read a time."""
    local = moment.astimezone(_tz(profile))
    return f"{local.month}月{local.day}日({'月火水木金土日'[local.weekday()]}) {local.hour}:{local.minute:02d}"
