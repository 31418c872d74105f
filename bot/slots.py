"""Appointment slots: which consultations exist and which can still be offered (pure, no I/O).

A destination's day is open when its weekday is in its ``opening`` (default: the city's
``office_hours``), and it is not a national holiday (jpholiday), not in 年末年始 (``closed.year_end``,
12/29–1/3 in the sample), not a city closure (``closed.dates``) and not one of the office's own
``closures``. Days listed in a destination's own ``opening`` are open even when ``closed.weekends``
is true (サポステ opens on Saturdays); without an own opening the city's weekend rule applies.

Slots are ``slot_minutes`` long, back to back from the opening time; none overlaps the optional
``lunch`` break (slots restart when it ends) and none ends after closing. Times are aware
datetimes in UTC; :class:`Slot` has local helpers for display and for the ``booking`` payload.

Who sees what (the ``booking`` section of the profile):

* every slot starts at least ``min_notice_minutes`` after ``now`` and lies within ``window_days``
  local days counted from today;
* the first ``urgent_first_days`` open days of the destination, counted from today (today counts
  while a slot can still start before closing), are held for urgent cases: ``urgency="urgent"``
  sees them first, ``"normal"`` is offered slots after them. ``"emergency"`` is treated as urgent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Callable, Iterator, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

import jpholiday

from bot.profile import Destination, OfficeHours, Profile

UTC = timezone.utc
_WEEKDAYS_JA = "月火水木金土日"
#: Urgencies that may take the held days.
_URGENT = ("urgent", "emergency")


@dataclass(frozen=True)
class Slot:
    """One consultation time at one destination; ``left`` is the number of seats still free."""

    destination: str
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC
    capacity: int
    left: int
    timezone: str = "Asia/Tokyo"

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.timezone))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(ZoneInfo(self.timezone))

    @property
    def local_day(self) -> date:
        return self.local_start.date()

    def label(self) -> str:
        """「1月12日(火) 10:00〜10:50」, the way residents read a slot (a button title)."""
        return label(self.start, self.end, self.timezone)

    def iso_local(self) -> Tuple[str, str]:
        """Start and end as ISO 8601 with the local offset (``+09:00``), as the protocol wants."""
        return self.local_start.isoformat(), self.local_end.isoformat()


def label(start: datetime, end: datetime, tz: str = "Asia/Tokyo") -> str:
    """「1月12日(火) 10:00〜10:50」 for any start and end (aware), in the local time of ``tz``."""
    s, e = start.astimezone(ZoneInfo(tz)), end.astimezone(ZoneInfo(tz))
    return f"{s.month}月{s.day}日({_WEEKDAYS_JA[s.weekday()]}) {s.hour}:{s.minute:02d}〜{e.hour}:{e.minute:02d}"


# --------------------------------------------------------------------------- open days


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset:
    """National holidays of one year (jpholiday is slow per day; a year at once is cheap)."""
    return frozenset(day for day, _ in jpholiday.year_holidays(year))


def _in_year_end(day: date, start: Tuple[int, int], end: Tuple[int, int]) -> bool:
    md = (day.month, day.day)
    return (md >= start or md <= end) if start > end else (start <= md <= end)


def _destination(dest_code: str, profile: Profile) -> Destination:
    try:
        return profile.destinations[dest_code]
    except KeyError:
        raise ValueError(f"unknown destination {dest_code!r} (known: {', '.join(profile.destinations)})") from None


def is_open_day(dest_code: str, day: date, profile: Profile) -> bool:
    """True when ``dest_code`` takes appointments on the local date ``day``."""
    dest = _destination(dest_code, profile)
    closed = profile.closed
    hours = dest.opening or profile.office_hours
    if day.weekday() not in hours.days or day in closed.dates or day in dest.closures:
        return False
    if dest.opening is None and closed.weekends and day.weekday() >= 5:
        return False
    if closed.national_holidays and day in _holidays(day.year):
        return False
    return not _in_year_end(day, closed.year_end_start, closed.year_end_end)


def _day_times(hours: OfficeHours, slot_minutes: int, lunch: Optional[Tuple[time, time]]) -> List[Tuple[int, int]]:
    """(start, end) of each slot as minutes after midnight; the same for every open day."""
    def minutes(t: time) -> int:
        return t.hour * 60 + t.minute

    close = minutes(hours.close)
    out, cursor = [], minutes(hours.open)
    while cursor + slot_minutes <= close:
        end = cursor + slot_minutes
        if lunch and cursor < minutes(lunch[1]) and end > minutes(lunch[0]):
            cursor = max(cursor, minutes(lunch[1]))
            continue
        out.append((cursor, end))
        cursor = end
    return out


def _days(start_day: date, end_day: date) -> Iterator[date]:
    day = start_day
    while day <= end_day:
        yield day
        day += timedelta(days=1)


def _iter_times(dest_code: str, profile: Profile, start_day: date, end_day: date) -> Iterator[Tuple[datetime, datetime]]:
    """(start, end) in UTC of every slot on the open days between the two local dates."""
    dest = _destination(dest_code, profile)
    tz = ZoneInfo(profile.municipality.timezone)
    times = [(timedelta(minutes=b), timedelta(minutes=f))
             for b, f in _day_times(dest.opening or profile.office_hours, dest.slot_minutes, dest.lunch)]
    if not times:
        return
    for day in _days(start_day, end_day):
        if not is_open_day(dest_code, day, profile):
            continue
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        if (midnight + times[-1][1]).utcoffset() == midnight.utcoffset():
            base = midnight.astimezone(UTC)  # one offset all day (always so in Japan): plain arithmetic
            for begin, finish in times:
                yield base + begin, base + finish
        else:  # a clock change during the day: convert each wall-clock time
            for begin, finish in times:
                yield (midnight + begin).astimezone(UTC), (midnight + finish).astimezone(UTC)


def _iter_slots(dest_code: str, profile: Profile, start_day: date, end_day: date) -> Iterator[Slot]:
    capacity, zone = _destination(dest_code, profile).capacity, profile.municipality.timezone
    for start, end in _iter_times(dest_code, profile, start_day, end_day):
        yield Slot(dest_code, start, end, capacity, capacity, zone)


def generate(dest_code: str, profile: Profile, start_day: date, end_day: date) -> List[Slot]:
    """Every slot of ``dest_code`` on the local dates ``start_day``..``end_day`` (both included)."""
    return list(_iter_slots(dest_code, profile, start_day, end_day))


# --------------------------------------------------------------------------- who may see what


@dataclass(frozen=True)
class Window:
    """Where offers for one resident may lie: ``earliest`` (UTC) up to the local day ``last_day``."""

    earliest: datetime
    first_day: date
    last_day: date


def _local_today(now: datetime, profile: Profile) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(profile.municipality.timezone))


def held_days(dest_code: str, profile: Profile, now: datetime) -> Tuple[date, ...]:
    """The open days held for urgent cases: the first ``urgent_first_days`` from today on.

    Today counts only while a slot could still start (now + notice before closing).
    """
    rules = profile.booking
    local = _local_today(now, profile)
    dest = _destination(dest_code, profile)
    close = (dest.opening or profile.office_hours).close
    notice = timedelta(minutes=rules.min_notice_minutes)
    out: List[date] = []
    day = local.date()
    for _ in range(rules.window_days):
        if len(out) >= rules.urgent_first_days:
            break
        if is_open_day(dest_code, day, profile):
            closing = datetime.combine(day, close, tzinfo=local.tzinfo)
            if day > local.date() or local + notice < closing:
                out.append(day)
        day += timedelta(days=1)
    return tuple(out)


def window(dest_code: str, profile: Profile, now: datetime, urgency: str = "normal") -> Window:
    """The part of the calendar a resident of this urgency may book."""
    rules = profile.booking
    local = _local_today(now, profile)
    earliest = (now + timedelta(minutes=rules.min_notice_minutes)).astimezone(UTC)
    first_day = local.date()
    last_day = first_day + timedelta(days=rules.window_days - 1)
    if urgency not in _URGENT:
        held = held_days(dest_code, profile, now)
        if held:
            first_day = held[-1] + timedelta(days=1)
    return Window(earliest=earliest, first_day=first_day, last_day=last_day)


def free_slots(
    dest_code: str,
    profile: Profile,
    now: datetime,
    taken: Mapping[datetime, int],
    *,
    urgency: str = "normal",
    limit: Optional[int] = None,
    predicate: Optional[Callable[[Slot], bool]] = None,
) -> List[Slot]:
    """Slots a resident can book now, earliest first, with ``left`` seats each.

    ``taken`` maps a slot's UTC start to the seats already booked (``bookings.taken_counts``);
    ``predicate`` narrows further (「土曜は無理」「夕方なら」). A destination that does not take
    bookings (``bookable: false``) has no free slots.
    """
    dest = _destination(dest_code, profile)
    if not dest.bookable or (limit is not None and limit <= 0):
        return []
    win = window(dest_code, profile, now, urgency)
    capacity, zone = dest.capacity, profile.municipality.timezone
    out: List[Slot] = []
    for start, end in _iter_times(dest_code, profile, win.first_day, win.last_day):
        if start < win.earliest:
            continue
        left = capacity - taken.get(start, 0)
        if left <= 0:
            continue
        slot = Slot(dest_code, start, end, capacity, left, zone)
        if predicate is not None and not predicate(slot):
            continue
        out.append(slot)
        if limit is not None and len(out) >= limit:
            break
    return out


def check(dest_code: str, profile: Profile, now: datetime, start: datetime, end: datetime,
          *, urgency: str = "normal") -> Optional[str]:
    """Why ``start``–``end`` cannot be booked now, or None when it is a real, offerable slot.

    Reasons: ``unknown_destination``, ``not_bookable``, ``past``, ``too_soon`` (inside the minimum
    notice), ``out_of_window``, ``closed`` (the office is shut that day), ``not_a_slot`` (open
    day, but no slot starts and ends there), ``held_for_urgent``. Seats are not checked here.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    dest = profile.destinations.get(dest_code)
    if dest is None:
        return "unknown_destination"
    if not dest.bookable:
        return "not_bookable"
    if start <= now:
        return "past"
    win = window(dest_code, profile, now, "urgent")
    if start < win.earliest:
        return "too_soon"
    day = start.astimezone(ZoneInfo(profile.municipality.timezone)).date()
    if day > win.last_day:
        return "out_of_window"
    if not is_open_day(dest_code, day, profile):
        return "closed"
    if (start, end) not in set(_iter_times(dest_code, profile, day, day)):
        return "not_a_slot"
    if day < window(dest_code, profile, now, urgency).first_day:
        return "held_for_urgent"
    return None


def find_slot(dest_code: str, profile: Profile, start: datetime) -> Optional[Slot]:
    """The generated slot that starts at ``start`` (aware), if any; ignores notice and window."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    day = start.astimezone(ZoneInfo(profile.municipality.timezone)).date()
    return next((s for s in _iter_slots(dest_code, profile, day, day) if s.start == start), None)
