"""Where to refer a resident: the domain.md referral table, evaluated from profile data.

The table itself lives in the municipality profile (``routing.rules``) because each city confirms
it locally; this module only fixes what the protocol fixes for every city: how matching rules are
combined, how urgency is decided, that a person comes first when it is urgent, and that the
answer is never empty (京丹後: 「『無理だ』と言ってしまうと先はない」). ``route`` is pure and
deterministic, so a staff tool can replay a decision from a stored intake.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

from bot.profile import (
    CONDITION_FIELDS,
    HUMAN_STAFF,
    URGENCIES,
    Profile,
    Rule,
    answered_value,
)

#: More than three places to go overwhelms; the support worker is added on top when urgent.
MAX_REFERRALS = 3
#: Protocol §4: no place to sleep is urgent whatever the profile's rules say.
_NO_HOME = ("street", "no_fixed_home")

Offer = Tuple[str, str]  # (destination code, reason)


@dataclass(frozen=True)
class Referral:
    destination: str
    name: str
    reason: str


@dataclass(frozen=True)
class Decision:
    urgency: str
    referrals: Tuple[Referral, ...]
    interpreter: bool

    def to_payload(self) -> Dict[str, Any]:
        """The protocol §1 ``referral`` payload, exactly."""
        return {
            "type": "referral",
            "urgency": self.urgency,
            "referrals": [dataclasses.asdict(referral) for referral in self.referrals],
            "interpreter": self.interpreter,
        }


def route(intake: Mapping[str, Any], profile: Profile) -> Decision:
    """Decide urgency and up to three places (plus a person when urgent) for one intake.

    ``intake`` holds protocol fields (any may be missing, ``unknown`` or ``declined``), optional
    ``concerns`` and optional ``crisis`` (None, "urgent" or "emergency").
    """
    matched = _matching_rules(intake, profile)
    offers = _unique(offer for rule in matched for offer in rule.refer)
    if all(code == HUMAN_STAFF for code, _ in offers):  # no rule matched, or only "a person"
        offers = _unique([*offers, *_fallback(intake, profile).refer])
    urgency = _most_urgent([*(rule.urgency for rule in matched), *_protocol_urgency(intake)])
    return Decision(
        urgency=urgency,
        referrals=tuple(Referral(code, profile.destinations[code].name, reason)
                        for code, reason in _select(offers, urgency, profile)),
        interpreter=any(rule.interpreter for rule in matched),
    )


def _matching_rules(intake: Mapping[str, Any], profile: Profile) -> List[Rule]:
    """Matching rules, higher priority first; ``sorted`` is stable, so file order breaks ties."""
    return sorted((rule for rule in profile.rules if rule.matches(intake)), key=lambda rule: -rule.priority)


def _unique(offers: Iterable[Offer]) -> List[Offer]:
    """Each destination once, keeping the first (most specific) reason."""
    seen: Dict[str, str] = {}
    for code, reason in offers:
        seen.setdefault(code, reason)
    return list(seen.items())


#: Fields that say nothing about the resident's situation: the chat's language (set to ja by the
#: first referral itself), the consent to share, how to contact them.
_NOT_SITUATION = frozenset({"language", "consent", "contact"})


def _fallback(intake: Mapping[str, Any], profile: Profile) -> Rule:
    """A person as well as the front door when we know nothing at all about the resident."""
    knows_something = any(answered_value(intake, key) is not None for key in CONDITION_FIELDS if key not in _NOT_SITUATION)
    return profile.fallback if knows_something else profile.nothing_known


def _protocol_urgency(intake: Mapping[str, Any]) -> List[str]:
    """Urgency the protocol imposes regardless of the profile: the crisis flag and lost housing."""
    crisis = intake.get("crisis")
    if crisis is not None and crisis not in URGENCIES:
        raise ValueError(f"intake['crisis'] must be None or one of {URGENCIES}, got {crisis!r}")
    levels = [crisis or URGENCIES[0]]
    if intake.get("housing") in _NO_HOME or intake.get("eviction_risk") is True:
        levels.append("urgent")
    return levels


def _most_urgent(levels: Sequence[str]) -> str:
    return max(levels, key=URGENCIES.index)


def _select(offers: List[Offer], urgency: str, profile: Profile) -> List[Offer]:
    """Cap the list; when urgent, a person goes first (with the rule's reason if it gave one)."""
    if urgency == URGENCIES[0]:
        return offers[:MAX_REFERRALS]
    reasons = dict(offers)
    staff = (HUMAN_STAFF, reasons.get(HUMAN_STAFF, profile.staff_reasons[urgency]))
    return [staff, *[offer for offer in offers if offer[0] != HUMAN_STAFF][:MAX_REFERRALS]]
