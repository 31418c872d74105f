"""Screening: start the intake from the resident's first words, then validate every answer.

The form asks the first missing field of :func:`bot.screening.plan`; :func:`bot.intake.absorb`
decides what each message answers. Returning no events for safety/stop intents makes the form
reject the turn, so the rules in ``nlu/data/rules.yml`` answer instead.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import clock
from bot.actions.asking import ask
from bot.actions.support import profile, say, slot_events
from bot.extraction import extract
from bot.intake import PROBLEM_INTENTS, absorb, empathy
from bot.screening import next_field, plan


def _message_id(tracker: Tracker) -> Any:
    return tracker.latest_message.get("message_id")


async def absorb_latest(dispatcher: CollectingDispatcher, tracker: Tracker) -> tuple:
    """Apply the latest message once (idempotent by message id); returns (events, slots, handled)."""
    slots = dict(tracker.slots)
    msg_id = _message_id(tracker)
    if msg_id is not None and slots.get("last_absorbed") == msg_id:
        return [], slots, True
    turn = absorb(tracker.latest_message, slots, await profile())
    if not turn.handled:
        return [], slots, False
    for note in turn.notes:
        dispatcher.utter_message(text=note)
    slots.update(turn.updates)
    return slot_events(turn.updates) + [SlotSet("last_absorbed", msg_id)], slots, True


class ValidateIntakeForm(FormValidationAction):
    """Fills every field a message answers, then asks the next question (see bot/actions/asking.py)."""

    def name(self) -> Text:
        return "validate_intake_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        return plan(tracker.slots)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        events, slots, handled = await absorb_latest(dispatcher, tracker)
        if not handled and tracker.latest_action_name == "action_listen":
            return []  # the form rejects; a rule takes over (crisis, person, stop ...)
        field = next_field(slots)
        if field:
            ask(dispatcher, field, slots, domain, again=field == tracker.get_slot("requested_slot"))
        if not handled:
            # Back after a side step (not understood, office list): the same question again, and
            # requested_slot from our plan, else Rasa takes the domain's first empty slot (one that
            # may not apply, such as months_without_work for someone in work) and reads the next
            # 「ない」 as its answer.
            return [SlotSet("requested_slot", field)]
        return events + [
            SlotSet("intake_turns", int(slots.get("intake_turns") or 0) + 1),
            SlotSet("requested_slot", field),
        ]


def left_booking(tracker: Tracker) -> bool:
    """Whether this turn closed the booking form (a problem told instead of a booking answer)."""
    events = tracker.events
    user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    before = [e.get("name") for e in events[:user] if e.get("event") == "active_loop"]
    closed = any(e.get("event") == "active_loop" and e.get("name") is None for e in events[user + 1:])
    return closed and bool(before) and before[-1] == "booking_form"


async def start_intake(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """Welcome once (free, confidential, you may decline), then keep what the message told us."""
    if left_booking(tracker):
        say(dispatcher, tracker, "予約の手続きはいったん止めて、先にお話を伺います。予約はあとでいつでもできます。",
            "よやく は あとで できます。さきに おはなし を ききます。")
    first_time = not tracker.get_slot("first_seen")
    if first_time:
        kind = PROBLEM_INTENTS.get((tracker.latest_message.get("intent") or {}).get("name"))
        opening = (empathy(kind) + " ") if kind else ""
        say(
            dispatcher, tracker,
            f"{opening}お話しくださりありがとうございます。相談は無料で、秘密は守られます。"
            "合う窓口をご案内するため、いくつか質問させてください。答えにくいことは「答えたくない」で大丈夫です。",
            "はなして くれて ありがとう ございます。そうだん は おかね が かかりません。ひみつ は まもります。"
            "いくつか しつもん します。こたえたくない とき は「こたえたくない」で だいじょうぶ です。",
        )
    events, _, _ = await absorb_latest(dispatcher, tracker)
    if first_time:
        events.append(SlotSet("first_seen", clock.now().isoformat()))
    return events


def carries_facts(tracker: Tracker) -> bool:
    """Outside the screening, does this typed message tell us about the resident's situation?"""
    text = tracker.latest_message.get("text") or ""
    if tracker.active_loop_name or text.startswith("/"):
        return False
    found = extract(text)
    return bool(found.fields or found.concerns)


async def screen_from_here(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """Start the screening with this message, whatever intent the classifier gave it."""
    return await start_intake(dispatcher, tracker) + [SlotSet("fallback_count", 0), FollowupAction("intake_form")]


class ActionStartIntake(Action):
    """Opens (or re-opens) the screening with what the resident's own words already told us."""

    def name(self) -> Text:
        return "action_start_intake"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        return await start_intake(dispatcher, tracker)


#: Actions after which 「続きから」 means coming back: the resident stopped or returned with a greeting.
_LEFT = {"action_stop", "action_greet", "action_session_start"}


def came_back(tracker: Tracker) -> bool:
    """Whether the resident left (stopped, greeted anew, or a person took the chat) before this 「続きから」."""
    events = list(tracker.events)
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    for event in reversed(events[:users[-1]] if users else events):
        kind = event.get("event")
        if kind in ("resume", "session_started"):
            return True
        if kind == "action" and event.get("name") != "action_listen":
            return event.get("name") in _LEFT
    return True  # no history (a new session): welcome back


class ActionResume(Action):
    """「続きから」: the slots were kept; the form picks up at the first missing question."""

    def name(self) -> Text:
        return "action_resume"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if not came_back(tracker):  # 「このまま続ける」 to a side question: the resident never left
            say(dispatcher, tracker, "はい、このまま続けます。", "はい。つづけます。")
        elif next_field(tracker.slots):
            say(dispatcher, tracker, "おかえりなさい。前回の続きから伺います。", "おかえりなさい。つづき から はじめます。")
        else:
            say(dispatcher, tracker, "おかえりなさい。前回うかがった内容で、もう一度ご案内します。", "おかえりなさい。まえ の ないよう で あんない します。")
        return []
