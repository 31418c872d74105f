"""Appointments: book, move, cancel, mark, look up, remind. One short transaction per call.

Correctness under concurrency rests on one row per slot (``slot_load``): booking inserts it if
missing (``ON CONFLICT DO NOTHING``) and then takes a seat with the conditional atomic update
``UPDATE slot_load SET taken = taken + 1 WHERE ... AND taken < :capacity``. PostgreSQL (READ
COMMITTED) makes a second writer of the row wait and re-check the condition on the committed
row; SQLite engines from ``bot.db.engine`` start every transaction with ``BEGIN IMMEDIATE``, so
writers run one at a time. Either way exactly ``capacity`` bookings succeed, and the booking row,
its history line and the seat are written in the same transaction or not at all. Moves and
cancellations give the old seat back in that transaction. Deadlocks, serialisation failures
and a busy SQLite file are retried a few times.

Every time is an aware datetime; the database keeps UTC (see ``models.UTCDateTime``).
Validation of the slot itself (open day, real slot, notice, window) is :func:`bot.slots.check`,
done before anything is written.
"""
from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Dict, List, Mapping, NoReturn, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import slots as slotlib
from bot.db.engine import ensure_schema, reader, write_turn
from bot.db.handoffs import _ALPHABET
from bot.db.models import ACTIVE_STATUSES, Booking, BookingEvent, SlotLoad
from bot.profile import Profile, load_profile

UTC = timezone.utc
REFERENCE_PREFIX = "Y"
REFERENCE_LENGTH = 6
#: What a resident may type between the characters of a reference (spaces, hyphens, ー).
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー・.,_/]+")
_REFERENCE = re.compile(rf"^{REFERENCE_PREFIX}?([{_ALPHABET}]{{{REFERENCE_LENGTH}}})$")
_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\s\-‐‑‒–—―−ー・.,_/]*")
_WORD_BREAK = re.compile(r"[\s.,・/]+")
_ACTOR = re.compile(r"^(resident|staff:\S.{0,70})$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_SUMMARY_BYTES = 64_000
MAX_CONTACT_CHARS = 200
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
_ATTEMPTS = 8


@dataclass(frozen=True)
class BookResult:
    """What happened. ``status`` is the booking's new status on success (booked, moved,
    cancelled, attended, no_show), else ``taken`` (no seat left), ``refused`` (see ``reason``)
    or ``not_found`` (no booking with that reference).

    Reasons for ``refused``: those of :func:`bot.slots.check` (``past``, ``too_soon``, ``closed``,
    ``not_a_slot``, ``out_of_window``, ``held_for_urgent``, ``not_bookable``,
    ``unknown_destination``), and ``started`` (a resident cannot change an appointment that has
    begun), ``not_active`` (already cancelled, attended or no-show), ``same_slot``, ``staff_only``,
    ``not_started`` (attendance marked before the start). A repeated ``book`` of the slot the
    resident already holds returns that booking with ``reason="already_booked"``.
    """

    status: str
    booking: Optional[Booking] = None
    reason: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.booking is not None and self.status not in ("taken", "refused", "not_found")


class _Abort(Exception):
    """Leave the transaction with nothing written and hand back ``result``."""

    def __init__(self, result: BookResult) -> None:
        super().__init__(result.status)
        self.result = result


def _abort(session: AsyncSession, status: str, booking: Optional[Booking] = None,
           reason: Optional[str] = None) -> NoReturn:
    """Raise :class:`_Abort`; the booking leaves the session first so the rollback keeps its state."""
    if booking is not None:
        session.expunge(booking)
    raise _Abort(BookResult(status, booking, reason))


# --------------------------------------------------------------------------- references (pure)


def new_reference() -> str:
    """「Y」 + six characters without 0/O, 1/I/L, easy to read out on the phone."""
    return REFERENCE_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(REFERENCE_LENGTH))


def normalize_reference(text: Any) -> Optional[str]:
    """The canonical reference for what a resident typed, or None when it cannot be one.

    Full-width letters, lower case, spaces and hyphens (also 「ー」) are forgiven and the 「Y」 may
    be left out: 「ｙ４ｋ７－ｍｐｑ」 → ``Y4K7MPQ``.
    """
    if not isinstance(text, str) or len(text) > 64:
        return None
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    match = _REFERENCE.match(compact)
    return REFERENCE_PREFIX + match[1] if match else None


def find_reference_in(text: Any) -> Optional[str]:
    """The reference inside a sentence (「予約番号はY4K7MPQです」), or None.

    A code written with its 「Y」 wins over a bare six-character word, so 「thanks Y4K7MPQ」 finds
    the reference, not 「THANKS」. Confirm the booking found (office, time) before changing it.
    """
    if not isinstance(text, str):
        return None
    folded = unicodedata.normalize("NFKC", text[:2000])
    pieces: List[str] = []
    for run in _RUN.finditer(folded):  # a stretch of latin letters, digits and separators
        words = [w for w in _WORD_BREAK.split(run.group(0)) if w]
        pieces.append(run.group(0))
        pieces.extend(words)
        pieces.extend(a + b for a, b in zip(words, words[1:]))  # 「Y4K7 MPQ」
    found = [(piece, normalize_reference(piece)) for piece in pieces]
    with_prefix = [ref for piece, ref in found
                   if ref and _SEPARATORS.sub("", piece).upper().startswith(REFERENCE_PREFIX)
                   and len(_SEPARATORS.sub("", piece)) == REFERENCE_LENGTH + 1]
    return next(iter(with_prefix), None) or next((ref for _, ref in found if ref), None)


# --------------------------------------------------------------------------- helpers


def _now(now: Optional[datetime]) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _actor(actor: str) -> str:
    if not isinstance(actor, str) or not _ACTOR.match(actor):
        raise ValueError("actor must be 'resident' or 'staff:<name>'")
    return actor


def _summary(summary: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if summary is None:
        return None
    if not isinstance(summary, Mapping):
        raise ValueError("summary must be a mapping of intake fields")
    data = dict(summary)
    if len(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")) > MAX_SUMMARY_BYTES:
        raise ValueError("summary is too large")
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))  # plain JSON types only


def _contact(contact: Optional[str]) -> Optional[str]:
    """Free text from the resident: control characters out, length capped, empty means none."""
    if contact is None:
        return None
    cleaned = " ".join(_CONTROL.sub(" ", str(contact)).split())[:MAX_CONTACT_CHARS]
    return cleaned or None


def _retryable(err: DBAPIError) -> bool:
    orig = getattr(err, "orig", None)
    if getattr(orig, "sqlstate", None) in _RETRY_SQLSTATES or getattr(orig, "pgcode", None) in _RETRY_SQLSTATES:
        return True
    message = str(orig).lower()
    return "database is locked" in message or "database is busy" in message or "deadlock" in message


async def _retrying(engine: AsyncEngine, attempt: Callable[[], Awaitable[BookResult]]) -> BookResult:
    """Run a write transaction, again after a deadlock, serialisation failure, busy file or
    reference collision (with a short random back-off outside the write turn)."""
    for n in range(_ATTEMPTS):
        try:
            async with write_turn(engine):
                return await attempt()
        except _Abort as abort:
            return abort.result
        except IntegrityError as err:  # a freshly drawn reference already exists: draw again
            if "reference" not in str(err.orig).lower() or n == _ATTEMPTS - 1:
                raise
        except DBAPIError as err:
            if not _retryable(err) or n == _ATTEMPTS - 1:
                raise
            await asyncio.sleep(random.uniform(0.005, 0.02) * (2 ** n))
    raise AssertionError("unreachable")


def _session(engine: AsyncEngine) -> AsyncSession:
    return AsyncSession(engine, expire_on_commit=False)


async def _take_seat(session: AsyncSession, destination: str, start: datetime, capacity: int) -> bool:
    """Take one seat of a slot if one is left (the conditional atomic update)."""
    table = SlotLoad.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(table).values(destination=destination, start=start, taken=0).on_conflict_do_nothing())
    result = await session.execute(
        update(table)
        .where(table.c.destination == destination, table.c.start == start, table.c.taken < capacity)
        .values(taken=table.c.taken + 1)
    )
    return result.rowcount == 1


async def _release_seat(session: AsyncSession, destination: str, start: datetime) -> None:
    table = SlotLoad.__table__
    await session.execute(
        update(table)
        .where(table.c.destination == destination, table.c.start == start, table.c.taken > 0)
        .values(taken=table.c.taken - 1)
    )


async def _locked(session: AsyncSession, reference: str) -> Optional[Booking]:
    row = await session.execute(select(Booking).where(Booking.reference == reference).with_for_update())
    return row.scalars().first()


async def _changeable(session: AsyncSession, ref: str, actor: str, now: datetime) -> Booking:
    """The locked booking ``actor`` may still move or cancel; aborts with the reason otherwise."""
    booking = await _locked(session, ref)
    if booking is None:
        _abort(session, "not_found")
    if not booking.active:
        _abort(session, "refused", booking, "not_active")
    if actor == "resident" and booking.start <= now:
        _abort(session, "refused", booking, "started")
    return booking


def _capacity(profile: Profile, destination: str, capacity: Optional[int]) -> int:
    seats = profile.destinations[destination].capacity if capacity is None else capacity
    if not isinstance(seats, int) or seats < 1:
        raise ValueError("capacity must be a whole number >= 1")
    return seats


# --------------------------------------------------------------------------- writes


async def book(
    engine: AsyncEngine,
    *,
    sender_id: str,
    channel: str,
    destination: str,
    office: Optional[str] = None,
    start: datetime,
    end: datetime,
    capacity: Optional[int] = None,
    summary: Optional[Mapping[str, Any]] = None,
    consent: bool = False,
    contact: Optional[str] = None,
    urgency: str = "normal",
    profile: Optional[Profile] = None,
    now: Optional[datetime] = None,
) -> BookResult:
    """Book one seat of the slot ``start``–``end`` at ``destination``.

    The slot must be one :mod:`bot.slots` offers this resident now (``urgency`` opens the held
    days), else ``refused``; ``taken`` when its seats are gone. ``capacity`` defaults to the
    destination's. The intake ``summary`` is stored only with ``consent`` (the office sees it
    only then), with the time consent was given.
    """
    profile = profile or load_profile()
    now = _now(now)
    if not isinstance(sender_id, str) or not sender_id.strip() or len(sender_id) > 255:
        raise ValueError("sender_id must be non-empty text of at most 255 characters")
    reason = slotlib.check(destination, profile, now, start, end, urgency=urgency)
    if reason:
        return BookResult("refused", reason=reason)
    seats = _capacity(profile, destination, capacity)
    office = (office or profile.destinations[destination].name)[:255]
    stored_summary = _summary(summary) if consent else None
    contact = _contact(contact)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    await ensure_schema(engine)

    async def attempt() -> BookResult:
        async with _session(engine) as session:
            async with session.begin():
                seat = await _take_seat(session, destination, start, seats)
                mine = (await session.execute(
                    select(Booking).where(Booking.sender_id == sender_id, Booking.destination == destination,
                                          Booking.start == start, Booking.status.in_(ACTIVE_STATUSES))
                )).scalars().first()
                if mine is not None:  # a repeated confirmation: keep the one booking
                    _abort(session, "booked", mine, "already_booked")
                if not seat:
                    _abort(session, "taken")
                booking = Booking(
                    reference=new_reference(), sender_id=sender_id, channel=(channel or "rest")[:32],
                    destination=destination, office=office, start=start, end=end, status="booked",
                    sequence=0, summary=stored_summary, consent=bool(consent),
                    consent_at=now if consent else None, contact=contact, created_at=now, updated_at=now,
                )
                session.add(booking)
                await session.flush()
                session.add(BookingEvent(booking_id=booking.id, status="booked", at=now, actor="resident"))
            return BookResult("booked", booking)

    return await _retrying(engine, attempt)


async def move(
    engine: AsyncEngine,
    reference: str,
    new_start: datetime,
    new_end: datetime,
    capacity: Optional[int] = None,
    actor: str = "resident",
    *,
    urgency: str = "normal",
    profile: Optional[Profile] = None,
    now: Optional[datetime] = None,
) -> BookResult:
    """Move a booking to another slot of the same destination, seat for seat, in one transaction.

    Staff may move an appointment whose time has passed (rebooking after a no-show); a resident
    may not. ``taken`` leaves the booking where it was.
    """
    profile = profile or load_profile()
    now, actor = _now(now), _actor(actor)
    ref = normalize_reference(reference)
    if ref is None:
        return BookResult("not_found")
    await ensure_schema(engine)

    async def attempt() -> BookResult:
        async with _session(engine) as session:
            async with session.begin():
                booking = await _changeable(session, ref, actor, now)
                if booking.start == new_start and booking.end == new_end:
                    _abort(session, "refused", booking, "same_slot")
                reason = slotlib.check(booking.destination, profile, now, new_start, new_end, urgency=urgency)
                if reason:
                    _abort(session, "refused", booking, reason)
                seats = _capacity(profile, booking.destination, capacity)
                old = booking.start
                # Seats in a fixed order (earlier slot first) so crossing moves cannot deadlock.
                for when in sorted((old, new_start.astimezone(UTC))):
                    if when == old:
                        await _release_seat(session, booking.destination, old)
                    elif not await _take_seat(session, booking.destination, when, seats):
                        _abort(session, "taken", booking)  # rolls the release back too
                booking.start, booking.end = new_start.astimezone(UTC), new_end.astimezone(UTC)
                booking.status, booking.sequence, booking.updated_at = "moved", booking.sequence + 1, now
                booking.reminder_sent_at = None
                session.add(BookingEvent(booking_id=booking.id, status="moved", at=now, actor=actor,
                                         previous_start=old))
            return BookResult("moved", booking)

    return await _retrying(engine, attempt)


async def cancel(engine: AsyncEngine, reference: str, actor: str = "resident", *,
                 now: Optional[datetime] = None) -> BookResult:
    """Cancel a booking and free its seat; a resident cannot cancel one that has begun."""
    now, actor = _now(now), _actor(actor)
    ref = normalize_reference(reference)
    if ref is None:
        return BookResult("not_found")
    await ensure_schema(engine)

    async def attempt() -> BookResult:
        async with _session(engine) as session:
            async with session.begin():
                booking = await _changeable(session, ref, actor, now)
                await _release_seat(session, booking.destination, booking.start)
                booking.status, booking.sequence, booking.updated_at = "cancelled", booking.sequence + 1, now
                session.add(BookingEvent(booking_id=booking.id, status="cancelled", at=now, actor=actor))
            return BookResult("cancelled", booking)

    return await _retrying(engine, attempt)


async def mark(engine: AsyncEngine, reference: str, status: str, actor: str, *,
               now: Optional[datetime] = None) -> BookResult:
    """Staff record attendance (``attended`` or ``no_show``) once the appointment has begun.

    The seat stays counted. A mark can be corrected (attended ↔ no_show); marking the same
    status again changes nothing.
    """
    if status not in ("attended", "no_show"):
        raise ValueError("status must be 'attended' or 'no_show'")
    now, actor = _now(now), _actor(actor)
    ref = normalize_reference(reference)
    if ref is None:
        return BookResult("not_found")
    if not actor.startswith("staff:"):
        return BookResult("refused", reason="staff_only")
    await ensure_schema(engine)

    async def attempt() -> BookResult:
        async with _session(engine) as session:
            async with session.begin():
                booking = await _locked(session, ref)
                if booking is None:
                    _abort(session, "not_found")
                if booking.status == "cancelled":
                    _abort(session, "refused", booking, "not_active")
                if booking.start > now:
                    _abort(session, "refused", booking, "not_started")
                if booking.status != status:
                    booking.status, booking.updated_at = status, now
                    session.add(BookingEvent(booking_id=booking.id, status=status, at=now, actor=actor))
            return BookResult(status, booking)

    return await _retrying(engine, attempt)


async def mark_reminded(engine: AsyncEngine, booking_id: int, *, now: Optional[datetime] = None) -> bool:
    """Claim a booking's reminder; False when it was already sent (so two senders never both send)."""
    now = _now(now)
    await ensure_schema(engine)
    table = Booking.__table__
    async with write_turn(engine), engine.begin() as conn:
        result = await conn.execute(
            update(table).where(table.c.id == booking_id, table.c.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now)
        )
        return result.rowcount == 1


# --------------------------------------------------------------------------- reads


async def find(engine: AsyncEngine, reference: str) -> Optional[Booking]:
    """The booking a typed reference names (see :func:`normalize_reference`), or None."""
    ref = normalize_reference(reference)
    if ref is None:
        return None
    await ensure_schema(engine)
    async with _session(reader(engine)) as session:
        return (await session.execute(select(Booking).where(Booking.reference == ref))).scalars().first()


async def bookings_for(engine: AsyncEngine, sender_id: str, *, active_only: bool = False) -> List[Booking]:
    """A conversation's bookings, earliest first."""
    await ensure_schema(engine)
    query = select(Booking).where(Booking.sender_id == sender_id)
    if active_only:
        query = query.where(Booking.status.in_(ACTIVE_STATUSES))
    async with _session(reader(engine)) as session:
        return list((await session.execute(query.order_by(Booking.start, Booking.id))).scalars())


async def history(engine: AsyncEngine, reference: str) -> List[BookingEvent]:
    """A booking's status history, oldest first (empty for an unknown reference)."""
    ref = normalize_reference(reference)
    if ref is None:
        return []
    await ensure_schema(engine)
    async with _session(reader(engine)) as session:
        rows = await session.execute(
            select(BookingEvent).join(Booking, Booking.id == BookingEvent.booking_id)
            .where(Booking.reference == ref).order_by(BookingEvent.at, BookingEvent.id)
        )
        return list(rows.scalars())


async def taken_counts(engine: AsyncEngine, destination: str, start_utc: datetime,
                       end_utc: datetime) -> Dict[datetime, int]:
    """Seats taken per slot start (aware UTC) in ``[start_utc, end_utc)``, for ``slots.free_slots``."""
    await ensure_schema(engine)
    table = SlotLoad.__table__
    async with reader(engine).connect() as conn:
        rows = await conn.execute(
            select(table.c.start, table.c.taken)
            .where(table.c.destination == destination, table.c.start >= start_utc, table.c.start < end_utc,
                   table.c.taken > 0)
        )
        return {start: taken for start, taken in rows}


async def open_slots(engine: AsyncEngine, destination: str, now: Optional[datetime] = None, *,
                     profile: Optional[Profile] = None, urgency: str = "normal", limit: Optional[int] = None,
                     predicate: Optional[Callable[[slotlib.Slot], bool]] = None) -> List[slotlib.Slot]:
    """Free slots to offer right now: ``taken_counts`` over the resident's window fed to ``free_slots``."""
    profile = profile or load_profile()
    now = _now(now)
    win = slotlib.window(destination, profile, now, urgency)
    tz = ZoneInfo(profile.municipality.timezone)
    until = datetime.combine(win.last_day + timedelta(days=1), datetime.min.time(), tzinfo=tz).astimezone(UTC)
    taken = await taken_counts(engine, destination, win.earliest, until)
    return slotlib.free_slots(destination, profile, now, taken, urgency=urgency, limit=limit, predicate=predicate)


async def due_reminders(engine: AsyncEngine, now: Optional[datetime] = None, *,
                        profile: Optional[Profile] = None) -> List[Booking]:
    """Bookings of tomorrow (local) still booked/moved and not yet reminded, once ``now`` is past
    the profile's ``booking.reminder_hour``; before that hour, none."""
    profile = profile or load_profile()
    now = _now(now)
    tz = ZoneInfo(profile.municipality.timezone)
    local = now.astimezone(tz)
    if local.time() < profile.booking.reminder_time:
        return []
    tomorrow = local.date() + timedelta(days=1)
    begin = datetime.combine(tomorrow, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    finish = datetime.combine(tomorrow + timedelta(days=1), datetime.min.time(), tzinfo=tz).astimezone(UTC)
    await ensure_schema(engine)
    async with _session(reader(engine)) as session:
        rows = await session.execute(
            select(Booking)
            .where(Booking.start >= begin, Booking.start < finish, Booking.status.in_(ACTIVE_STATUSES),
                   Booking.reminder_sent_at.is_(None))
            .order_by(Booking.start, Booking.id)
        )
        return list(rows.scalars())
