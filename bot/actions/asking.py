"""Intake questions: the question text plus the ``ask`` payload.

The wording and quick replies live in ``domain.yml`` (``utter_question_<field>``, with a やさしい日本語
variant); the same buttons become the payload's ``choices`` so every channel can render them.
``validate_intake_form`` asks the next question itself, in the same action call. The responses
are deliberately not named ``utter_ask_<field>`` and there is no ``action_ask_<field>``: Rasa's form
would otherwise call a second action (with the whole conversation as JSON) to ask, on every turn.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa_sdk.executor import CollectingDispatcher

from bot.fields import CHOICES, INPUT_KIND
from bot.screening import progress


def question(field: str, domain: Dict[Text, Any], slots: Optional[Dict[Text, Any]] = None) -> Dict[str, Any]:
    """The ``utter_question_<field>`` variant to say: the one whose slot conditions all hold and
    that has the most of them (やさしい日本語 first, then the family wording 「ご本人は…」), else the plain one.

    Uttered as plain text and buttons rather than by response name, because Rasa's template
    interpolation would try to fill the ``{...}`` of every button payload and log the slots.
    """
    slots = slots or {}
    variants = domain.get("responses", {}).get(f"utter_question_{field}", [])

    def holds(variant: Dict[str, Any]) -> bool:
        return all(slots.get(c.get("name")) == c.get("value") for c in variant.get("condition") or [])

    def rank(variant: Dict[str, Any]) -> tuple:
        names = [c.get("name") for c in variant.get("condition") or []]
        return ("easy_ja" in names, len(names))

    matching = [v for v in variants if holds(v)]
    return max(matching, key=rank) if matching else (variants[0] if variants else {})


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


def ask(dispatcher: CollectingDispatcher, field: str, slots: Dict[Text, Any], domain: Dict[Text, Any],
        *, again: bool = False) -> None:
    """Says the question for ``field`` (with 「あと少しです」 near the end, once: not when ``again``)
    and sends its ``ask`` payload. ``slots`` are the ones after this turn, so a switch to
    やさしい日本語 applies at once."""
    easy = bool(slots.get("easy_ja"))
    done, total = progress(slots)
    if not again and total and done and total - done == 2 and field not in ("consent", "contact"):
        dispatcher.utter_message(text="あと すこし です。" if easy else "あと少しです。")
    variant = question(field, domain, slots)
    dispatcher.utter_message(text=variant.get("text"), buttons=list(variant.get("buttons") or []))
    dispatcher.utter_message(json_message=ask_payload(field, domain))
