"""An .ics file for one appointment, for Google, Apple and Outlook calendars (pure).

One VEVENT whose UID comes from the booking reference, so a file sent again after a move
replaces the old entry (SEQUENCE counts the moves; a cancelled booking says STATUS:CANCELLED).
Times carry TZID=Asia/Tokyo with a VTIMEZONE block; a VALARM rings one day before.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Mapping, Optional
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone

from bot.profile import Profile

PRODID = "-//kurashi-intake//booking//JA"
UID_DOMAIN = "kurashi-intake.invalid"


def _field(booking: Any, name: str, default: Any = None) -> Any:
    """Booking-like: a ``Booking`` row, any object with these attributes, or a mapping."""
    if isinstance(booking, Mapping):
        return booking.get(name, default)
    return getattr(booking, name, default)


@lru_cache(maxsize=16)
def _vtimezone(tzid: str, year: int) -> Timezone:
    """The VTIMEZONE block (computing one scans the zone hour by hour: do it once per year)."""
    return Timezone.from_tzid(tzid, first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1))


def _aware(value: Any, name: str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime or ISO 8601 text with an offset")
    return value


def booking_ics(booking: Any, profile: Profile, *, now: Optional[datetime] = None) -> bytes:
    """The calendar file for ``booking`` (fields: reference, destination, start, end; optional
    office, status, sequence) at the office the profile describes."""
    reference = _field(booking, "reference")
    code = _field(booking, "destination")
    if not reference or code not in profile.destinations:
        raise ValueError("a booking needs a reference and a destination known to the profile")
    dest = profile.destinations[code]
    tz = ZoneInfo(profile.municipality.timezone)
    start = _aware(_field(booking, "start"), "start").astimezone(tz)
    end = _aware(_field(booking, "end"), "end").astimezone(tz)
    cancelled = _field(booking, "status") == "cancelled"

    event = Event()
    event.add("uid", f"{reference}@{UID_DOMAIN}")
    event.add("dtstamp", (now or datetime.now(timezone.utc)).astimezone(timezone.utc))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("sequence", int(_field(booking, "sequence", 0) or 0))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("summary", f"{'【取消】' if cancelled else ''}相談予約：{dest.short_name}")
    event.add("location", f"{_field(booking, 'office') or dest.name}（{dest.address}）")
    event.add("description", "\n".join((
        f"予約番号：{reference}",
        f"窓口：{_field(booking, 'office') or dest.name}",
        f"電話：{dest.phone}",
        f"持ち物：{profile.bring(code)}",
        "変更や取り消しは、チャットで予約番号をお知らせいただくか、お電話でご連絡ください。",
    )))
    event.add("transp", "OPAQUE")
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"明日は{dest.short_name}での相談の予約があります（予約番号 {reference}）。")
        alarm.add("trigger", timedelta(days=-1))
        event.add_component(alarm)

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add_component(_vtimezone(profile.municipality.timezone, start.year))  # before the event: some clients need it
    cal.add_component(event)
    return cal.to_ical()
