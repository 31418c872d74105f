"""Anonymous statistics rows: what happened, coarsely, and nothing about who (pure).

Each builder takes plain values (slots, a payload, codes, an aware ``now``) and returns one row
for the ``stat_events`` table. A row holds codes from fixed vocabularies only: the local day (never
a time), the 年度 and month of that day, a 10-year age band, the household type, target groups and
rare flags derived from the intake, destination codes, urgency, whole minutes from the first
message to the referral and, for outcomes, one of four outcome codes. No free text, no exact age,
no sender id: the ``case_key`` is a keyed hash of the sender id (see :mod:`bot.stats.case_key`),
which lets managers count distinct people (実件数) and is *pseudonymous*, not anonymous.

:func:`check_row` enforces that shape; the database writer refuses anything else.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from bot.stats.fiscal import fiscal_year

KINDS: Tuple[str, ...] = ("referral", "booking", "attended", "no_show", "handoff", "outcome")
URGENCIES: Tuple[str, ...] = ("normal", "urgent", "emergency")
#: Channel names as Rasa reports them; anything else is stored as ``other``.
CHANNELS: Tuple[str, ...] = ("rest", "webchat", "socketio", "telegram", "line", "cmdline", "console", "other")
HOUSEHOLDS: Tuple[str, ...] = ("alone", "with_partner", "with_parents", "single_parent", "other", "unknown")
UNKNOWN = "unknown"
AGE_BANDS: Tuple[str, ...] = ("10歳未満", "10代", "20代", "30代", "40代", "50代", "60代", "70代", "80代",
                              "90代以上", UNKNOWN)
#: Outcome codes staff record in the console, with the wording of the 実績報告.
OUTCOMES: Dict[str, str] = {
    "employed_referral": "就職（紹介就職）",
    "employed_other": "就職（その他）",
    "continuing": "継続支援",
    "ended": "終了",
}
EMPLOYED: Tuple[str, ...] = ("employed_referral", "employed_other")
#: Target groups (対象者の属性) as managers report them; derivation in :func:`target_groups`.
TARGET_GROUPS: Dict[str, str] = {
    "youth": "若者",
    "older": "高齢者",
    "single_parent": "ひとり親",
    "disability": "障害",
    "health": "病気・心身の不調",
    "low_income": "生活困窮・低所得",
    "public_assistance": "生活保護",
    "housing": "住まいの問題",
    "debt": "借金・滞納",
    "unemployed": "離職・失業",
    "language": "外国語・通訳",
    "family_consult": "家族からの相談",
}
#: Rare flags are never crossed with another dimension: they are shown only as single totals.
RARE_FLAGS: Dict[str, str] = {
    "dv": "暴力（DV）",
    "emergency": "緊急（生命・安全の危険）",
    "cancer": "がん",
    "care_leaver": "施設を出た若者（ケアリーバー）",
}
#: Destination codes: the protocol's and a profile's own (lower-case code words only).
DESTINATION_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CASE_KEY = re.compile(r"^[0-9a-f]{64}$")
MAX_DESTINATIONS = 6
#: A referral a year after the first message is no longer "time to referral".
MAX_MINUTES = 366 * 24 * 60

ROW_KEYS: Tuple[str, ...] = (
    "day", "fiscal_year", "month", "kind", "channel", "age_band", "household", "target_groups", "flags",
    "destinations", "urgency", "minutes_to_referral", "outcome", "case_key",
)

# --------------------------------------------------------------------------- coarse values


def local_day(now: datetime, tz: str = "Asia/Tokyo") -> date:
    """The municipality's calendar day of an aware moment (nothing finer is kept)."""
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(ZoneInfo(tz)).date()


def age_band(age: Any) -> str:
    """「40代」 for 46; ``unknown`` for a missing, declined or implausible answer."""
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 120:
        return UNKNOWN
    if age < 10:
        return "10歳未満"
    if age >= 90:
        return "90代以上"
    return f"{age // 10 * 10}代"


def channel_code(channel: Any) -> str:
    return channel if isinstance(channel, str) and channel in CHANNELS else "other"


def household_code(household: Any) -> str:
    return household if isinstance(household, str) and household in HOUSEHOLDS else UNKNOWN


def urgency_code(urgency: Any) -> str:
    return urgency if isinstance(urgency, str) and urgency in URGENCIES else "normal"


def destination_codes(codes: Iterable[Any]) -> List[str]:
    """Valid codes in order, each once, at most :data:`MAX_DESTINATIONS`."""
    out: List[str] = []
    for code in codes:
        if isinstance(code, str) and DESTINATION_CODE.match(code) and code not in out:
            out.append(code)
    return out[:MAX_DESTINATIONS]


def _referral_codes(payload: Any) -> List[str]:
    if not isinstance(payload, Mapping):
        return []
    referrals = payload.get("referrals")
    if not isinstance(referrals, Sequence) or isinstance(referrals, (str, bytes)):
        return []
    return destination_codes(r.get("destination") for r in referrals if isinstance(r, Mapping))


def _concerns(slots: Mapping[str, Any]) -> frozenset:
    raw = slots.get("concerns")
    if isinstance(raw, (list, tuple, set, frozenset)):
        return frozenset(c for c in raw if isinstance(c, str))
    return frozenset()


def target_groups(slots: Mapping[str, Any], destinations: Sequence[str] = (), *, interpreter: bool = False,
                  low_income_monthly: Optional[int] = None) -> List[str]:
    """Target groups of one intake, from its concerns, fields and destinations (docs/statistics.md).

    A group is a reporting category, never a label shown to anyone; a resident may be in several
    groups or none.
    """
    concerns, dest = _concerns(slots), set(destinations)
    benefits = slots.get("benefits") if isinstance(slots.get("benefits"), (list, tuple)) else ()
    income = slots.get("monthly_income")
    language = slots.get("language")
    found = {
        "youth": "youth" in concerns or "saposute" in dest,
        "older": "older" in concerns or "silver_center" in dest,
        "single_parent": "single_parent" in concerns or slots.get("household") == "single_parent"
        or bool(dest & {"single_parent_desk", "mothers_hellowork"}),
        "disability": slots.get("health") == "disability" or "disability_employment" in dest
        or "disability_pension" in benefits,
        "health": slots.get("health") in ("under_treatment", "mental_health") or "health" in concerns,
        "low_income": "money" in concerns or (
            low_income_monthly is not None and isinstance(income, int) and not isinstance(income, bool)
            and 0 <= income < low_income_monthly),
        "public_assistance": slots.get("public_assistance") in ("receiving", "applying") or "welfare_office" in dest,
        "housing": "housing" in concerns or slots.get("housing") in ("no_fixed_home", "street")
        or slots.get("eviction_risk") is True,
        "debt": "debt" in concerns or slots.get("debts") is True or "household_budget" in dest,
        "unemployed": "job_loss" in concerns or slots.get("employment_status") == "unemployed",
        "language": "language" in concerns or interpreter or bool(slots.get("interpreter"))
        or (isinstance(language, str) and language not in ("ja", "unknown", "declined", "")),
        "family_consult": slots.get("consulting_for") == "family_member",
    }
    return [group for group in TARGET_GROUPS if found[group]]


def rare_flags(slots: Mapping[str, Any], urgency: str) -> List[str]:
    """Violence, emergency, cancer, care leaver: counted alone, never crossed (see ``RARE_FLAGS``)."""
    concerns = _concerns(slots)
    found = {
        "dv": "dv" in concerns,
        "emergency": urgency == "emergency" or slots.get("crisis") == "emergency",
        "cancer": "cancer" in concerns,
        "care_leaver": "care_leaver" in concerns,
    }
    return [flag for flag in RARE_FLAGS if found[flag]]


def minutes_between(first_seen: Any, now: datetime) -> Optional[int]:
    """Whole minutes from the ``first_seen`` slot (ISO 8601) to ``now``; None when unknown."""
    if not isinstance(first_seen, str) or len(first_seen) > 64:
        return None
    try:
        start = datetime.fromisoformat(first_seen)
    except ValueError:
        return None
    if start.tzinfo is None:
        return None
    minutes = int((now - start).total_seconds() // 60)
    if minutes < 0:
        return 0  # clocks of two processes disagree by seconds: the referral came at once
    return minutes if minutes <= MAX_MINUTES else None


# --------------------------------------------------------------------------- builders


def _row(kind: str, day: date, *, case_key: str, channel: Any, age: str, household: str, groups: Sequence[str],
         flags: Sequence[str], destinations: Sequence[str], urgency: str, minutes: Optional[int] = None,
         outcome: Optional[str] = None) -> Dict[str, Any]:
    row = {
        "day": day, "fiscal_year": fiscal_year(day), "month": day.month, "kind": kind,
        "channel": channel_code(channel), "age_band": age, "household": household,
        "target_groups": list(groups), "flags": list(flags), "destinations": list(destinations),
        "urgency": urgency, "minutes_to_referral": minutes, "outcome": outcome, "case_key": case_key,
    }
    check_row(row)
    return row


def _profile(slots: Mapping[str, Any], destinations: Sequence[str], urgency: str, *, interpreter: bool = False,
             low_income_monthly: Optional[int] = None) -> Dict[str, Any]:
    return {
        "age": age_band(slots.get("age")), "household": household_code(slots.get("household")),
        "groups": target_groups(slots, destinations, interpreter=interpreter, low_income_monthly=low_income_monthly),
        "flags": rare_flags(slots, urgency),
    }


def referral_event(slots: Mapping[str, Any], payload: Mapping[str, Any], channel: str, now: datetime, *,
                   case_key: str, tz: str = "Asia/Tokyo", low_income_monthly: Optional[int] = None) -> Dict[str, Any]:
    """The row for a ``referral`` payload sent to a resident (the last one of a day counts)."""
    slots = slots if isinstance(slots, Mapping) else {}
    urgency = urgency_code(payload.get("urgency") if isinstance(payload, Mapping) else None)
    urgency = _higher(urgency, slots.get("crisis"))
    destinations = _referral_codes(payload)
    interpreter = bool(payload.get("interpreter")) if isinstance(payload, Mapping) else False
    p = _profile(slots, destinations, urgency, interpreter=interpreter, low_income_monthly=low_income_monthly)
    return _row("referral", local_day(now, tz), case_key=case_key, channel=channel, age=p["age"],
                household=p["household"], groups=p["groups"], flags=p["flags"], destinations=destinations,
                urgency=urgency, minutes=minutes_between(slots.get("first_seen"), now))


def booking_event(slots: Mapping[str, Any], destination: str, channel: str, now: datetime, *, case_key: str,
                  urgency: Optional[str] = None, tz: str = "Asia/Tokyo",
                  low_income_monthly: Optional[int] = None) -> Dict[str, Any]:
    """The row for an appointment booked from the chat (moves and cancellations add none)."""
    slots = slots if isinstance(slots, Mapping) else {}
    referral = slots.get("referral") if isinstance(slots.get("referral"), Mapping) else {}
    level = _higher(urgency_code(urgency or referral.get("urgency")), slots.get("crisis"))
    referred = _referral_codes(referral)
    p = _profile(slots, referred, level, low_income_monthly=low_income_monthly)
    return _row("booking", local_day(now, tz), case_key=case_key, channel=channel, age=p["age"],
                household=p["household"], groups=p["groups"], flags=p["flags"],
                destinations=destination_codes([destination]), urgency=level)


def handoff_event(slots: Mapping[str, Any], urgency: str, channel: str, now: datetime, *, case_key: str,
                  tz: str = "Asia/Tokyo", low_income_monthly: Optional[int] = None) -> Dict[str, Any]:
    """The row for a handoff to a person (its reason, e.g. the crisis signal, is not kept)."""
    slots = slots if isinstance(slots, Mapping) else {}
    level = _higher(urgency_code(urgency), slots.get("crisis"))
    referral = slots.get("referral") if isinstance(slots.get("referral"), Mapping) else {}
    p = _profile(slots, _referral_codes(referral), level, low_income_monthly=low_income_monthly)
    return _row("handoff", local_day(now, tz), case_key=case_key, channel=channel, age=p["age"],
                household=p["household"], groups=p["groups"], flags=p["flags"], destinations=[], urgency=level)


def _from_base(base: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Dimensions copied from the person's last referral row, so outcomes can be counted per group."""
    if not base:
        return {"channel": "other", "age": UNKNOWN, "household": UNKNOWN, "groups": [], "flags": [],
                "destinations": [], "urgency": "normal"}
    return {"channel": base.get("channel"), "age": base.get("age_band", UNKNOWN),
            "household": base.get("household", UNKNOWN), "groups": list(base.get("target_groups") or []),
            "flags": list(base.get("flags") or []), "destinations": list(base.get("destinations") or []),
            "urgency": urgency_code(base.get("urgency"))}


def outcome_event(outcome: str, now: datetime, *, case_key: str, base: Optional[Mapping[str, Any]] = None,
                  tz: str = "Asia/Tokyo") -> Dict[str, Any]:
    """The row for an outcome staff recorded (one per person and 年度; a later entry replaces it)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    b = _from_base(base)
    return _row("outcome", local_day(now, tz), case_key=case_key, channel=b["channel"], age=b["age"],
                household=b["household"], groups=b["groups"], flags=b["flags"], destinations=b["destinations"],
                urgency=b["urgency"], outcome=outcome)


def attendance_event(status: str, appointment_day: date, destination: str, *, case_key: str,
                     base: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The row for a booking staff marked ``attended`` or ``no_show``, on the appointment's day."""
    if status not in ("attended", "no_show"):
        raise ValueError("status must be 'attended' or 'no_show'")
    b = _from_base(base)
    return _row(status, appointment_day, case_key=case_key, channel=b["channel"], age=b["age"],
                household=b["household"], groups=b["groups"], flags=b["flags"],
                destinations=destination_codes([destination]), urgency=b["urgency"])


def _higher(urgency: str, crisis: Any) -> str:
    crisis = crisis if crisis in URGENCIES else "normal"
    return max(urgency, crisis, key=URGENCIES.index)


# --------------------------------------------------------------------------- the row's shape


def check_row(row: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``row`` has exactly the statistics shape (codes only, a day, no text)."""
    if not isinstance(row, Mapping) or set(row) != set(ROW_KEYS):
        raise ValueError(f"a statistics row has exactly the keys {', '.join(ROW_KEYS)}")
    day = row["day"]
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValueError("day must be a date (no time of day)")
    if row["fiscal_year"] != fiscal_year(day) or row["month"] != day.month:
        raise ValueError("fiscal_year and month must be those of day")
    _one_of(row["kind"], KINDS, "kind")
    _one_of(row["channel"], CHANNELS, "channel")
    _one_of(row["age_band"], AGE_BANDS, "age_band")
    _one_of(row["household"], HOUSEHOLDS, "household")
    _one_of(row["urgency"], URGENCIES, "urgency")
    _codes(row["target_groups"], TARGET_GROUPS, "target_groups")
    _codes(row["flags"], RARE_FLAGS, "flags")
    if not isinstance(row["destinations"], list) or len(row["destinations"]) > MAX_DESTINATIONS or any(
            not isinstance(c, str) or not DESTINATION_CODE.match(c) for c in row["destinations"]):
        raise ValueError("destinations must be a short list of destination codes")
    minutes = row["minutes_to_referral"]
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)
                                or not 0 <= minutes <= MAX_MINUTES):
        raise ValueError("minutes_to_referral must be whole minutes or None")
    if minutes is not None and row["kind"] != "referral":
        raise ValueError("only referral rows carry minutes_to_referral")
    if row["kind"] == "outcome":
        _one_of(row["outcome"], OUTCOMES, "outcome")
    elif row["outcome"] is not None:
        raise ValueError("only outcome rows carry an outcome")
    if not isinstance(row["case_key"], str) or not CASE_KEY.match(row["case_key"]):
        raise ValueError("case_key must be a 64-character HMAC-SHA256 hex digest")


def _one_of(value: Any, allowed: Iterable[str], name: str) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} is not one of the allowed codes")


def _codes(values: Any, allowed: Mapping[str, str], name: str) -> None:
    if not isinstance(values, list) or any(not isinstance(v, str) or v not in allowed for v in values) \
            or len(set(values)) != len(values):
        raise ValueError(f"{name} must be a list of distinct known codes")
