"""One ``action_ask_<field>`` per intake question: the question text plus the ``ask`` payload.

The wording and quick replies live in ``domain.yml`` (``utter_ask_<field>``, with a やさしい日本語
variant); the same buttons become the payload's ``choices`` so every channel can render them.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.fields import CHOICES, INPUT_KIND, LABELS
from bot.screening import ASKABLE, progress


def question(field: str, domain: Dict[Text, Any], *, easy: bool = False) -> Dict[str, Any]:
    """The ``utter_ask_<field>`` variant to say: the やさしい日本語 one when the resident needs it.

    Uttered as plain text and buttons rather than by response name, because Rasa's template
    interpolation would try to fill the ``{...}`` of every button payload and log the slots.
    """
    variants = domain.get("responses", {}).get(f"utter_ask_{field}", [])
    default = next((v for v in variants if not v.get("condition")), variants[0] if variants else {})
    if easy:
        return next((v for v in variants if v.get("condition")), default)
    return default


def ask_payload(field: str, domain: Dict[Text, Any]) -> Dict[str, Any]:
    """The protocol ``ask`` payload for ``field``, choices taken from the domain's buttons."""
    payload: Dict[str, Any] = {"type": "ask", "field": field}
    default = question(field, domain)
    choices = [{"title": b["title"], "payload": b["payload"]} for b in default.get("buttons", [])]
    if choices:
        payload["choices"] = choices
    if field in INPUT_KIND:
        payload["input"] = INPUT_KIND[field]
    elif field not in CHOICES and field not in ("benefits", "eviction_risk", "debts", "consent"):
        payload["input"] = "text"
    return payload


class AskFieldAction(Action):
    """Base class; concrete subclasses exist for each field in :data:`bot.screening.ASKABLE`."""

    field: Optional[str] = None

    def name(self) -> Text:
        return f"action_ask_{self.field or 'field'}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        field = self.field or tracker.get_slot("requested_slot")
        if not field:
            return []
        done, total = progress(tracker.slots)
        if total and done and total - done == 2 and field not in ("consent", "contact"):
            dispatcher.utter_message(text="あと少しです。" if not tracker.get_slot("easy_ja") else "あと すこし です。")
        variant = question(field, domain, easy=bool(tracker.get_slot("easy_ja")))
        dispatcher.utter_message(text=variant.get("text"), buttons=list(variant.get("buttons") or []))
        dispatcher.utter_message(json_message=ask_payload(field, domain))
        return []


def _make(field: str) -> type:
    return type(f"Ask_{field}", (AskFieldAction,), {"field": field, "__doc__": f"Asks {LABELS[field]}."})


ASK_ACTIONS = [_make(f) for f in ASKABLE]
