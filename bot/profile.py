"""Municipality profile: everything a city changes without touching code.

domain.md marks offices, phone numbers, age bands and the referral table itself as
**(confirm locally)**, so they live in one YAML file (``profiles/default.yml`` is the sample city
みどり市). This module loads that file, rejects anything the bot could misuse (a rule that names an
office that does not exist, a typo in a field code, an age band upside down) with a message that
names the bad key, and hands out frozen, typed objects so that nothing downstream re-reads YAML.

The condition language of ``routing.rules`` is parsed here as well, because validating a rule and
compiling it are the same walk; :mod:`bot.routing` only evaluates and combines the result.
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.fields import (
    ALL_FIELDS,
    BENEFIT_CODES,
    BOOLEAN_FIELDS,
    CHOICES,
    INTEGER_FIELDS,
    is_answered,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROFILE = REPO_ROOT / "profiles" / "default.yml"
PROFILE_ENV = "MUNICIPALITY_PROFILE"

HUMAN_STAFF = "human_staff"
#: Protocol §3: a profile may add destinations, never drop one of these.
PROTOCOL_DESTINATIONS: Tuple[str, ...] = (
    "jiritsu_soudan",
    "hellowork",
    "mothers_hellowork",
    "saposute",
    "silver_center",
    "welfare_office",
    "single_parent_desk",
    "household_budget",
    "disability_employment",
    HUMAN_STAFF,
)
#: Protocol §4, least to most urgent (the order matters: routing takes the maximum).
URGENCIES: Tuple[str, ...] = ("normal", "urgent", "emergency")
#: Values of the intake's ``crisis`` key, set by the crisis detector.
CRISIS_LEVELS: Tuple[str, ...] = URGENCIES[1:]
#: Presenting problems the intake records beside the protocol fields.
CONCERNS: Tuple[str, ...] = (
    "job_loss", "housing", "debt", "family", "health", "youth", "older",
    "single_parent", "language", "money", "dv", "care_leaver", "cancer",
)
FAQ_KEYS: Tuple[str, ...] = ("cost", "privacy", "saposute", "hours", "location")
WEEKDAYS: Tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Allowed codes of every categorical thing a rule may test.
_CODES: Dict[str, Tuple[str, ...]] = {
    **{name: tuple(codes) for name, codes in CHOICES.items()},
    "benefits": tuple(BENEFIT_CODES),
    "concerns": CONCERNS,
    "crisis": CRISIS_LEVELS,
}
CONDITION_FIELDS: Tuple[str, ...] = ALL_FIELDS + ("concerns", "crisis")
_CODE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MMDD = re.compile(r"^(\d\d)-(\d\d)$")
_SPAN = re.compile(r"^\s*([0-9:]+)\s*-\s*([0-9:]+)\s*$")
#: What to bring, when neither the city's ``booking.bring`` nor the destination's ``bring`` says.
DEFAULT_BRING = "本人確認できるもの（なくても相談できます）、お持ちなら収入や家賃がわかるもの"


class ProfileError(ValueError):
    """The profile cannot be used; the message starts with the file and the offending key."""


# --------------------------------------------------------------------------- typed profile


@dataclass(frozen=True)
class Municipality:
    name: str
    timezone: str


@dataclass(frozen=True)
class OfficeHours:
    """Regular opening of the desks; ``days`` are ``date.weekday()`` numbers (Monday = 0)."""

    days: Tuple[int, ...]
    open: time
    close: time


@dataclass(frozen=True)
class Closures:
    """Days the desks are shut although ``OfficeHours`` would say open."""

    weekends: bool
    national_holidays: bool
    year_end_start: Tuple[int, int]  # (month, day), e.g. (12, 29)
    year_end_end: Tuple[int, int]  # (month, day), e.g. (1, 3)
    dates: Tuple[date, ...]


@dataclass(frozen=True)
class Thresholds:
    """Age and income limits the case books leave to each city (all **confirm locally**)."""

    youth_min_age: int
    youth_max_age: int
    silver_min_age: int
    care_leaver_max_age: int
    middle_age_min: int
    low_income_monthly: int

    def as_dict(self) -> Dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PrivacyRules:
    """The ``privacy`` section (optional): personal data is purged ``retention_days`` after a
    conversation, ticket or booking was last active (``python -m bot.retention``)."""

    retention_days: int = 365


#: Bounds of ``privacy.retention_days``: at least a week (staff must be able to call back), at most ten years.
RETENTION_DAYS_RANGE = (7, 3650)


@dataclass(frozen=True)
class BookingRules:
    """City-wide appointment rules (the ``booking`` section; every key optional).

    ``urgent_first_days`` open days, counted from today, are held for urgent cases: an urgent
    resident sees them first, everybody else is offered slots after them.
    """

    window_days: int = 90
    min_notice_minutes: int = 60
    urgent_first_days: int = 2
    reminder_time: time = time(18, 0)  # the day before, local time
    bring: str = DEFAULT_BRING


@dataclass(frozen=True)
class Destination:
    """One office. ``opening`` None means the municipality's ``office_hours``; ``closures`` come on
    top of the city's closed days; ``lunch`` is a (start, end) break without slots; ``bring``
    None means the city's ``booking.bring``."""

    code: str
    name: str
    short_name: str
    address: str
    phone: str
    hours: str
    description: str
    slot_minutes: int
    capacity: int
    languages: Tuple[str, ...]
    bookable: bool
    opening: Optional[OfficeHours] = None
    closures: Tuple[date, ...] = ()
    lunch: Optional[Tuple[time, time]] = None
    bring: Optional[str] = None


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    hours: str


@dataclass(frozen=True)
class Faq:
    text: str
    easy_ja: str


# --------------------------------------------------------------------------- rule conditions


def answered_value(intake: Mapping[str, Any], name: str) -> Any:
    """The usable answer for ``name``, or None when missing, わからない or 答えたくない.

    Collections (``concerns``, ``benefits``) come back as a frozenset without non-answers, or
    None when nothing usable is left, so that an empty list counts as "not known".
    """
    value = intake.get(name)
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(v for v in value if is_answered(v)) or None
    return value if is_answered(value) else None


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` from matching ``1`` (booleans and integers share fields)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equals(value: Any, expected: Any) -> bool:
    """A collection equals a code when it contains it (``concerns: dv``)."""
    if isinstance(value, frozenset):
        return any(_same(item, expected) for item in value)
    return _same(value, expected)


_OPERATORS: Dict[str, Callable[[Any, Any], bool]] = {
    "eq": _equals,
    "in": lambda value, options: any(_equals(value, option) for option in options),
    "gte": lambda value, bound: _is_number(value) and value >= bound,
    "lte": lambda value, bound: _is_number(value) and value <= bound,
}


@dataclass(frozen=True)
class Check:
    """One comparison on one field; an unanswered field fails every test but ``known: false``."""

    field: str
    op: str
    value: Any

    def matches(self, intake: Mapping[str, Any]) -> bool:
        answer = answered_value(intake, self.field)
        if self.op == "known":
            return (answer is not None) == self.value
        return answer is not None and _OPERATORS[self.op](answer, self.value)


@dataclass(frozen=True)
class AllOf:
    parts: Tuple["Condition", ...]

    def matches(self, intake: Mapping[str, Any]) -> bool:
        return all(part.matches(intake) for part in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: Tuple["Condition", ...]

    def matches(self, intake: Mapping[str, Any]) -> bool:
        return any(part.matches(intake) for part in self.parts)


@dataclass(frozen=True)
class Not:
    """Negation, so "not on 生活保護" also holds when the resident did not say."""

    part: "Condition"

    def matches(self, intake: Mapping[str, Any]) -> bool:
        return not self.part.matches(intake)


Condition = Union[Check, AllOf, AnyOf, Not]


@dataclass(frozen=True)
class Rule:
    """One row of the referral table: when ``when`` holds, offer ``refer`` in order.

    ``refer`` pairs each destination code with the sentence shown to the resident. Fallback rules
    have ``when=None`` and are used only by routing when nothing else applies.
    """

    id: str
    when: Optional[Condition]
    refer: Tuple[Tuple[str, str], ...]
    urgency: str = "normal"
    interpreter: bool = False
    priority: int = 0

    def matches(self, intake: Mapping[str, Any]) -> bool:
        return self.when is not None and self.when.matches(intake)


@dataclass(frozen=True)
class Profile:
    path: Path
    municipality: Municipality
    office_hours: OfficeHours
    closed: Closures
    thresholds: Thresholds
    destinations: Mapping[str, Destination]
    crisis_contacts: Tuple[Contact, ...]
    urgent_contacts: Tuple[Contact, ...]
    violence_contacts: Tuple[Contact, ...]  # violence at home, not happening this minute (else urgent_contacts)
    rules: Tuple[Rule, ...]
    fallback: Rule
    nothing_known: Rule
    staff_reasons: Mapping[str, str]  # urgency -> reason for human_staff added by routing
    faqs: Mapping[str, Faq]
    booking: BookingRules = BookingRules()
    privacy: PrivacyRules = PrivacyRules()

    def opening(self, code: str) -> OfficeHours:
        """Regular opening of one destination (its own, else the city's office hours)."""
        return self.destinations[code].opening or self.office_hours

    def bring(self, code: str) -> str:
        """What the resident should bring to this destination."""
        return self.destinations[code].bring or self.booking.bring

    def listening_line(self) -> Optional[Contact]:
        """The first crisis line that listens (not 119/110): offered to someone having a hard time."""
        return next((c for c in self.crisis_contacts if c.phone not in ("119", "110")), None)

    def faq(self, key: str, easy: bool = False) -> str:
        """The answer to a side question, in やさしい日本語 when ``easy``."""
        try:
            entry = self.faqs[key]
        except KeyError:
            raise KeyError(f"no FAQ {key!r} in the profile (known: {', '.join(self.faqs)})") from None
        return entry.easy_ja if easy else entry.text


# --------------------------------------------------------------------------- loading


def load_profile(path: Union[str, Path, None] = None) -> Profile:
    """Load and validate a profile: ``path``, else ``$MUNICIPALITY_PROFILE``, else the sample.

    Results are cached per resolved path, so callers may load on every turn.
    """
    chosen = path or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    return _load_cached(Path(chosen).expanduser().resolve())


@lru_cache(maxsize=8)
def _load_cached(path: Path) -> Profile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: municipality profile not found (set {PROFILE_ENV})") from None
    except yaml.YAMLError as err:
        raise ProfileError(f"{path}: not valid YAML: {err}") from None
    try:
        return _parse(raw, path)
    except ProfileError as err:
        raise ProfileError(f"{path}: {err}") from None


def _parse(raw: Any, path: Path) -> Profile:
    top = _section(raw, "", ("municipality", "office_hours", "closed", "thresholds", "destinations",
                             "crisis_contacts", "urgent_contacts", "routing", "faq"),
                   ("booking", "privacy", "violence_contacts"))
    thresholds = _thresholds(top["thresholds"])
    destinations = _destinations(top["destinations"])
    routing = _section(top["routing"], "routing", ("staff_reason", "fallback", "nothing_known", "rules"))
    rules = _rules(routing["rules"], destinations, thresholds)
    urgent = _contacts(top["urgent_contacts"], "urgent_contacts")
    return Profile(
        path=path,
        municipality=_municipality(top["municipality"]),
        office_hours=_office_hours(top["office_hours"]),
        closed=_closures(top["closed"]),
        thresholds=thresholds,
        destinations=destinations,
        crisis_contacts=_contacts(top["crisis_contacts"], "crisis_contacts"),
        urgent_contacts=urgent,
        violence_contacts=(_contacts(top["violence_contacts"], "violence_contacts") if top.get("violence_contacts")
                           else urgent),
        rules=rules,
        fallback=_rule(routing["fallback"], "routing.fallback", destinations, thresholds, "fallback"),
        nothing_known=_rule(routing["nothing_known"], "routing.nothing_known", destinations,
                            thresholds, "nothing_known"),
        staff_reasons=_staff_reasons(routing["staff_reason"], thresholds),
        faqs=_faqs(top["faq"], thresholds),
        booking=_booking(top.get("booking"), thresholds),
        privacy=_privacy(top.get("privacy")),
    )


# --------------------------------------------------------------------------- checked scalars


def _at(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _section(raw: Any, where: str, required: Sequence[str], optional: Sequence[str] = ()) -> Mapping:
    """A mapping with exactly the expected keys; a typo is reported, never silently ignored."""
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{where or 'profile'}: expected a mapping, got {type(raw).__name__}")
    for key in required:
        if key not in raw:
            raise ProfileError(f"{_at(where, key)}: missing")
    for key in raw:
        if key not in required and key not in optional:
            allowed = ", ".join((*required, *optional))
            raise ProfileError(f"{_at(where, key)}: unknown key (expected: {allowed})")
    return raw


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ProfileError(f"{where}: expected non-empty text (quote numbers such as phone numbers)")
    return raw.strip()


def _int(raw: Any, where: str, minimum: Optional[int] = 0) -> int:
    if not _is_number(raw) or int(raw) != raw or (minimum is not None and raw < minimum):
        floor = "" if minimum is None else f" >= {minimum}"
        raise ProfileError(f"{where}: expected a whole number{floor}, got {raw!r}")
    return int(raw)


def _bool(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        raise ProfileError(f"{where}: expected true or false, got {raw!r}")
    return raw


def _list(raw: Any, where: str) -> list:
    if not isinstance(raw, list) or not raw:
        raise ProfileError(f"{where}: expected a non-empty list")
    return raw


def _code(raw: Any, where: str, allowed: Iterable[str], kind: str = "code") -> str:
    allowed = tuple(allowed)
    if raw not in allowed:
        raise ProfileError(f"{where}: unknown {kind} {raw!r} (expected one of: {', '.join(allowed)})")
    return raw


def _sentence(raw: Any, where: str, thresholds: Thresholds) -> str:
    """Resident-facing text; ``{youth_max_age}`` and friends keep age bands in one place."""
    text = _text(raw, where)
    try:
        return text.format_map(thresholds.as_dict())
    except (KeyError, IndexError, ValueError) as err:
        raise ProfileError(f"{where}: bad placeholder {err} (use threshold names in braces)") from None


# --------------------------------------------------------------------------- sections


def _municipality(raw: Any) -> Municipality:
    raw = _section(raw, "municipality", ("name", "timezone"))
    timezone = _text(raw["timezone"], "municipality.timezone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProfileError(f"municipality.timezone: unknown time zone {timezone!r}") from None
    return Municipality(name=_text(raw["name"], "municipality.name"), timezone=timezone)


def _clock(raw: Any, where: str) -> time:
    match = _HHMM.match(raw) if isinstance(raw, str) else None
    if not match:
        raise ProfileError(f"{where}: expected a quoted time like \"08:45\", got {raw!r}")
    return time(int(match[1]), int(match[2]))


def _office_hours(raw: Any, where: str = "office_hours") -> OfficeHours:
    raw = _section(raw, where, ("days", "open", "close"))
    days = tuple(WEEKDAYS.index(_code(day, f"{where}.days[{i}]", WEEKDAYS))
                 for i, day in enumerate(_list(raw["days"], f"{where}.days")))
    if len(set(days)) != len(days):
        raise ProfileError(f"{where}.days: a day is listed twice")
    opening, closing = _clock(raw["open"], f"{where}.open"), _clock(raw["close"], f"{where}.close")
    if opening >= closing:
        raise ProfileError(f"{where}.close: must be later than {where}.open")
    return OfficeHours(days=tuple(sorted(days)), open=opening, close=closing)


def _span(raw: Any, where: str) -> Tuple[time, time]:
    """``"12:00-13:00"``: a break inside the day."""
    match = _SPAN.match(raw) if isinstance(raw, str) else None
    if not match:
        raise ProfileError(f"{where}: expected a quoted span like \"12:00-13:00\", got {raw!r}")
    start, end = _clock(match[1], where), _clock(match[2], where)
    if start >= end:
        raise ProfileError(f"{where}: the end must be later than the start")
    return start, end


def _privacy(raw: Any) -> PrivacyRules:
    defaults = PrivacyRules()
    if raw is None:
        return defaults
    raw = _section(raw, "privacy", (), ("retention_days",))
    days = _int(raw.get("retention_days", defaults.retention_days), "privacy.retention_days", minimum=1)
    low, high = RETENTION_DAYS_RANGE
    if not low <= days <= high:
        raise ProfileError(f"privacy.retention_days: expected {low} to {high} days, got {days}")
    return PrivacyRules(retention_days=days)


def _booking(raw: Any, thresholds: Thresholds) -> BookingRules:
    defaults = BookingRules()
    if raw is None:
        return defaults
    keys = ("window_days", "min_notice_minutes", "urgent_first_days", "reminder_hour", "bring")
    raw = _section(raw, "booking", (), keys)
    window = _int(raw.get("window_days", defaults.window_days), "booking.window_days", minimum=1)
    if window > 366:
        raise ProfileError("booking.window_days: at most 366 days")
    notice = _int(raw.get("min_notice_minutes", defaults.min_notice_minutes), "booking.min_notice_minutes")
    if notice > 7 * 24 * 60:
        raise ProfileError("booking.min_notice_minutes: at most one week (10080)")
    urgent = _int(raw.get("urgent_first_days", defaults.urgent_first_days), "booking.urgent_first_days")
    if urgent >= window:
        raise ProfileError("booking.urgent_first_days: must be smaller than booking.window_days")
    reminder = (_clock(raw["reminder_hour"], "booking.reminder_hour") if "reminder_hour" in raw
                else defaults.reminder_time)
    bring = _sentence(raw["bring"], "booking.bring", thresholds) if "bring" in raw else defaults.bring
    return BookingRules(window_days=window, min_notice_minutes=notice, urgent_first_days=urgent,
                        reminder_time=reminder, bring=bring)


def _month_day(raw: Any, where: str) -> Tuple[int, int]:
    match = _MMDD.match(raw) if isinstance(raw, str) else None
    if not match:
        raise ProfileError(f"{where}: expected a quoted \"MM-DD\", got {raw!r}")
    try:
        date(2000, int(match[1]), int(match[2]))  # a leap year, so 02-29 is allowed
    except ValueError:
        raise ProfileError(f"{where}: no such day {raw!r}") from None
    return int(match[1]), int(match[2])


def _day(raw: Any, where: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise ProfileError(f"{where}: expected a date like 2026-05-07, got {raw!r}") from None


def _closures(raw: Any) -> Closures:
    raw = _section(raw, "closed", ("weekends", "national_holidays", "year_end"), ("dates",))
    year_end = _section(raw["year_end"], "closed.year_end", ("start", "end"))
    return Closures(
        weekends=_bool(raw["weekends"], "closed.weekends"),
        national_holidays=_bool(raw["national_holidays"], "closed.national_holidays"),
        year_end_start=_month_day(year_end["start"], "closed.year_end.start"),
        year_end_end=_month_day(year_end["end"], "closed.year_end.end"),
        dates=_dates(raw.get("dates"), "closed.dates"),
    )


def _dates(raw: Any, where: str) -> Tuple[date, ...]:
    """An optional list of ISO dates (an empty or absent list is fine)."""
    raw = raw or []
    if not isinstance(raw, list):
        raise ProfileError(f"{where}: expected a list of dates")
    return tuple(_day(d, f"{where}[{i}]") for i, d in enumerate(raw))


def _thresholds(raw: Any) -> Thresholds:
    names = tuple(f.name for f in dataclasses.fields(Thresholds))
    raw = _section(raw, "thresholds", names)
    values = Thresholds(**{name: _int(raw[name], f"thresholds.{name}") for name in names})
    for name in names:
        if name != "low_income_monthly" and getattr(values, name) > 120:
            raise ProfileError(f"thresholds.{name}: {getattr(values, name)} is not a plausible age")
    if values.youth_min_age > values.youth_max_age:
        raise ProfileError("thresholds.youth_min_age: must not exceed thresholds.youth_max_age")
    return values


_DESTINATION_OPTIONAL = ("opening", "closures", "lunch", "bring")
_DESTINATION_KEYS = tuple(f.name for f in dataclasses.fields(Destination)
                          if f.name != "code" and f.name not in _DESTINATION_OPTIONAL)


def _destination(code: str, raw: Any) -> Destination:
    where = f"destinations.{code}"
    raw = _section(raw, where, _DESTINATION_KEYS, _DESTINATION_OPTIONAL)
    texts = {key: _text(raw[key], f"{where}.{key}")
             for key in ("name", "short_name", "address", "phone", "hours", "description")}
    languages = tuple(_code(lang, f"{where}.languages[{i}]", CHOICES["language"])
                      for i, lang in enumerate(_list(raw["languages"], f"{where}.languages")))
    return Destination(
        code=code,
        **texts,
        slot_minutes=_int(raw["slot_minutes"], f"{where}.slot_minutes", minimum=1),
        capacity=_int(raw["capacity"], f"{where}.capacity", minimum=1),
        languages=languages,
        bookable=_bool(raw["bookable"], f"{where}.bookable"),
        opening=_office_hours(raw["opening"], f"{where}.opening") if "opening" in raw else None,
        closures=_dates(raw.get("closures"), f"{where}.closures"),
        lunch=_span(raw["lunch"], f"{where}.lunch") if "lunch" in raw else None,
        bring=_text(raw["bring"], f"{where}.bring") if "bring" in raw else None,
    )


def _destinations(raw: Any) -> Mapping[str, Destination]:
    if not isinstance(raw, Mapping):
        raise ProfileError("destinations: expected a mapping of destination code -> details")
    for code in PROTOCOL_DESTINATIONS:
        if code not in raw:
            raise ProfileError(f"destinations.{code}: missing (the ten protocol destinations "
                               f"must all be defined: {', '.join(PROTOCOL_DESTINATIONS)})")
    for code in raw:
        if not isinstance(code, str) or not _CODE_NAME.match(code):
            raise ProfileError(f"destinations.{code}: codes are lower_snake_case")
    return MappingProxyType({code: _destination(code, details) for code, details in raw.items()})


def _contacts(raw: Any, where: str) -> Tuple[Contact, ...]:
    def contact(item: Any, at: str) -> Contact:
        item = _section(item, at, ("name", "phone", "hours"))
        return Contact(**{key: _text(item[key], f"{at}.{key}") for key in ("name", "phone", "hours")})

    return tuple(contact(item, f"{where}[{i}]") for i, item in enumerate(_list(raw, where)))


def _faqs(raw: Any, thresholds: Thresholds) -> Mapping[str, Faq]:
    if not isinstance(raw, Mapping):
        raise ProfileError("faq: expected a mapping of question key -> {text, easy_ja}")
    raw = _section(raw, "faq", FAQ_KEYS, optional=tuple(raw))  # a city may add its own questions
    entries = {}
    for key, item in raw.items():
        item = _section(item, f"faq.{key}", ("text", "easy_ja"))
        entries[key] = Faq(text=_sentence(item["text"], f"faq.{key}.text", thresholds),
                           easy_ja=_sentence(item["easy_ja"], f"faq.{key}.easy_ja", thresholds))
    return MappingProxyType(entries)


def _staff_reasons(raw: Any, thresholds: Thresholds) -> Mapping[str, str]:
    raw = _section(raw, "routing.staff_reason", CRISIS_LEVELS)
    return MappingProxyType({level: _sentence(raw[level], f"routing.staff_reason.{level}", thresholds)
                             for level in CRISIS_LEVELS})


# --------------------------------------------------------------------------- rules


def _rules(raw: Any, destinations: Mapping[str, Destination], thresholds: Thresholds) -> Tuple[Rule, ...]:
    rules = []
    for i, item in enumerate(_list(raw, "routing.rules")):
        rule_id = item.get("id") if isinstance(item, Mapping) else None
        where = f"routing.rules[{i}]" + (f" ({rule_id})" if isinstance(rule_id, str) else "")
        rules.append(_rule(item, where, destinations, thresholds))
    seen = set()
    for rule in rules:
        if rule.id in seen:
            raise ProfileError(f"routing.rules ({rule.id}): duplicate rule id")
        seen.add(rule.id)
    return tuple(rules)


def _rule(raw: Any, where: str, destinations: Mapping[str, Destination], thresholds: Thresholds,
          fixed_id: Optional[str] = None) -> Rule:
    """A table rule (``fixed_id`` None) needs ``id`` and ``when``; a fallback has neither."""
    options = ("urgency", "interpreter", "priority")
    required = ("refer", "reason") if fixed_id else ("id", "when", "refer", "reason")
    raw = _section(raw, where, required, options)
    refer = _list(raw["refer"], f"{where}.refer")
    codes = [_code(code, f"{where}.refer[{i}]", destinations, "destination") for i, code in enumerate(refer)]
    if len(set(codes)) != len(codes):
        raise ProfileError(f"{where}.refer: a destination is listed twice")
    reasons = _section(raw["reason"], f"{where}.reason", codes)
    return Rule(
        id=fixed_id or _text(raw["id"], f"{where}.id"),
        when=None if fixed_id else _compile(raw["when"], f"{where}.when", thresholds),
        refer=tuple((code, _sentence(reasons[code], f"{where}.reason.{code}", thresholds)) for code in codes),
        urgency=_code(raw.get("urgency", "normal"), f"{where}.urgency", URGENCIES),
        interpreter=_bool(raw.get("interpreter", False), f"{where}.interpreter"),
        priority=_int(raw.get("priority", 0), f"{where}.priority", minimum=None),
    )


def _compile(raw: Any, where: str, thresholds: Thresholds) -> Condition:
    """A mapping is "all of these"; ``any``/``all`` take lists of mappings; ``not`` one mapping."""
    if not isinstance(raw, Mapping) or not raw:
        raise ProfileError(f"{where}: expected a non-empty mapping of conditions")
    parts = tuple(_compile_key(key, value, _at(where, key), thresholds) for key, value in raw.items())
    return parts[0] if len(parts) == 1 else AllOf(parts)


def _compile_key(key: Any, value: Any, where: str, thresholds: Thresholds) -> Condition:
    if key in ("any", "all"):
        parts = tuple(_compile(item, f"{where}[{i}]", thresholds) for i, item in enumerate(_list(value, where)))
        return AnyOf(parts) if key == "any" else AllOf(parts)
    if key == "not":
        return Not(_compile(value, where, thresholds))
    if key not in CONDITION_FIELDS:
        raise ProfileError(f"{where}: unknown field {key!r} (expected any, all, not, concerns, crisis "
                           f"or an intake field: {', '.join(ALL_FIELDS)})")
    spec = value if isinstance(value, Mapping) else {"in" if isinstance(value, list) else "eq": value}
    if not spec:
        raise ProfileError(f"{where}: expected a value or operators (in, gte, lte, known)")
    checks = tuple(_check(key, op, arg, f"{where}.{op}", thresholds) for op, arg in spec.items())
    return checks[0] if len(checks) == 1 else AllOf(checks)


def _check(name: str, op: Any, arg: Any, where: str, thresholds: Thresholds) -> Check:
    if op == "known":
        return Check(name, op, _bool(arg, where))
    if op in ("gte", "lte"):
        if name not in INTEGER_FIELDS:
            raise ProfileError(f"{where}: {op} needs a number field ({', '.join(INTEGER_FIELDS)})")
        if isinstance(arg, str):
            bound = thresholds.as_dict().get(arg)
            if bound is None:
                raise ProfileError(f"{where}: unknown threshold {arg!r} "
                                   f"(expected one of: {', '.join(thresholds.as_dict())})")
            return Check(name, op, bound)
        return Check(name, op, _int(arg, where))
    if op == "eq":
        return Check(name, op, _value(name, arg, where))
    if op == "in":
        return Check(name, op, tuple(_value(name, item, f"{where}[{i}]")
                                    for i, item in enumerate(_list(arg, where))))
    raise ProfileError(f"{where}: unknown operator (expected in, gte, lte, known or a plain value)")


def _value(name: str, value: Any, where: str) -> Any:
    """A value a field can really hold, so a typo like ``housing: stret`` fails at load."""
    if name in _CODES:
        return _code(value, where, _CODES[name])
    if name in BOOLEAN_FIELDS:
        return _bool(value, where)
    if name in INTEGER_FIELDS:
        return _int(value, where)
    return _text(value, where)
