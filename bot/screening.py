"""Which intake questions to ask, in which order, given what is already known.

Pure function of the slots: the form asks the first field of :func:`plan` that has no value, so a
field the resident already answered (in any message, in any words) is never asked again, and a
question that no longer applies (rent arrears for a home owner) disappears by itself.
"""
from __future__ import annotations

from typing import Any, Callable, List, Mapping, Tuple

from bot.fields import is_answered

Slots = Mapping[str, Any]


def _value(slots: Slots, field: str) -> Any:
    value = slots.get(field)
    return value if is_answered(value) else None


def _not_working(s: Slots) -> bool:
    return _value(s, "employment_status") in ("unemployed", "on_leave")


def _has_worked(s: Slots) -> bool:
    return _value(s, "employment_status") not in ("never_worked", "student")


def _rents(s: Slots) -> bool:
    return _value(s, "housing") in ("renting", "public_housing")


def _precarious_home(s: Slots) -> bool:
    return _value(s, "housing") in ("renting", "public_housing", "company_dorm", "with_friends")


def _may_have_children(s: Slots) -> bool:
    return _value(s, "household") in ("single_parent", "with_partner", "other", None)


def _has_children(s: Slots) -> bool:
    children = _value(s, "children")
    return isinstance(children, int) and children > 0


def _health_concern(s: Slots) -> bool:
    return _value(s, "health") in ("under_treatment", "disability", "mental_health", "unsure")


def _may_work(s: Slots) -> bool:
    return _value(s, "work_readiness") in ("ready_now", "needs_preparation", None)


def _consented(s: Slots) -> bool:
    return _value(s, "consent") is True


def _always(_: Slots) -> bool:
    return True


#: Order of questions: who, age, work, home, family, money, health, readiness, consent.
#: Listening comes first (the greeting invites free text); the form fills the gaps afterwards.
PLAN: Tuple[Tuple[str, Callable[[Slots], bool]], ...] = (
    ("consulting_for", _always),
    ("age", _always),
    ("employment_status", _always),
    ("months_without_work", _not_working),
    ("job_history", lambda s: _not_working(s) and _has_worked(s)),
    ("housing", _always),
    ("eviction_risk", _precarious_home),
    ("rent_arrears_months", _rents),
    ("household", _always),
    ("children", _may_have_children),
    ("youngest_child_age", _has_children),
    ("monthly_income", _always),
    ("public_assistance", _always),
    ("benefits", _always),
    ("health", _always),
    ("health_notes", _health_concern),
    ("debts", _always),
    ("work_readiness", _always),
    ("work_preferences", _may_work),
    ("consent", _always),
    ("contact", _consented),
)

ASKABLE: Tuple[str, ...] = tuple(field for field, _ in PLAN)


def plan(slots: Slots) -> List[str]:
    """Fields that apply to this resident, in asking order (answered ones included)."""
    return [field for field, applies in PLAN if applies(slots)]


def next_field(slots: Slots) -> str | None:
    """The next field to ask, or None when the intake is complete."""
    return next((f for f in plan(slots) if slots.get(f) is None), None)


def progress(slots: Slots) -> Tuple[int, int]:
    """(answered, applicable) for a short 「あと少しです」 cue."""
    fields = plan(slots)
    return sum(slots.get(f) is not None for f in fields), len(fields)
