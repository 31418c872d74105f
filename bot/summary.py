"""The intake summary staff receive with a handoff ticket or a booking (相談受付票の下書き).

One shape everywhere (console, print view, booking, statistics input), built from the slots:
``{"fields": {name: value}, "sources": {name: "typed" | "button" | "inferred"},
"concerns": [...], "referrals": [{"destination", "name", "reason"}], "urgency": ...,
"language": ..., "interpreter": bool}``. Only known fields are included.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

from bot.fields import ALL_FIELDS


def intake_summary(slots: Mapping[str, Any], *, urgency: str | None = None) -> Dict[str, Any]:
    fields = {k: slots[k] for k in ALL_FIELDS if slots.get(k) is not None}
    sources = {k: v for k, v in (slots.get("answered_by") or {}).items() if k in fields}
    referral = slots.get("referral") or {}
    return {
        "fields": fields,
        "sources": sources,
        "concerns": list(slots.get("concerns") or []),
        "referrals": [
            {k: r.get(k) for k in ("destination", "name", "reason")} for r in referral.get("referrals") or []
        ],
        "urgency": urgency or referral.get("urgency") or slots.get("crisis") or "normal",
        "language": slots.get("language") or "ja",
        "interpreter": bool(slots.get("interpreter") or referral.get("interpreter")),
    }
