"""Intake questions: the question text plus the ``ask`` payload.

The wording and quick replies live in ``domain.yml`` (``utter_question_<field>``, with a やさしい日本語
variant); the same buttons become the payload's ``choices`` so every channel can render them.
``validate_intake_form`` asks the next question itself, in the same action call. The responses
are deliberately not named ``utter_ask_<field>`` and there is no ``action_ask_<field>``: Rasa's form
would otherwise call a second action (with the whole conversation as JSON) to ask, on every turn.
"""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk.executor import CollectingDispatcher

from bot.fields import CHOICES, INPUT_KIND
from bot.screening import progress


def question(field: str, domain: Dict[Text, Any], *, easy: bool = False) -> Dict[str, Any]:
    """The ``utter_question_<field>`` variant to say: the やさしい日本語 one when the resident needs it.

    Uttered as plain text and buttons rather than by response name, because Rasa's template
    interpolation would try to fill the ``{...}`` of every button payload and log the slots.
    """
    variants = domain.get("responses", {}).get(f"utter_question_{field}", [])
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


def ask(dispatcher: CollectingDispatcher, field: str, slots: Dict[Text, Any], domain: Dict[Text, Any]) -> None:
    """Says the question for ``field`` (with 「あと少しです」 near the end) and sends its ``ask``
    payload. ``slots`` are the ones after this turn, so a switch to やさしい日本語 applies at once."""
    easy = bool(slots.get("easy_ja"))
    done, total = progress(slots)
    if total and done and total - done == 2 and field not in ("consent", "contact"):
        dispatcher.utter_message(text="あと すこし です。" if easy else "あと少しです。")
    variant = question(field, domain, easy=easy)
    dispatcher.utter_message(text=variant.get("text"), buttons=list(variant.get("buttons") or []))
    dispatcher.utter_message(json_message=ask_payload(field, domain))
