"""Safety first: crisis contacts in the same turn, and a person (live or by call-back).

In danger the resident is connected to people before any question (domain.md §Urgency). The
ticket is recorded so staff can pick it up in the console. A live handoff pauses the bot
(Rasa's ``ConversationPaused``): the resident's messages are still recorded and shown to staff,
and staff messages reach the resident through :class:`ActionStaffMessage`, which the console runs
with ``POST /conversations/{id}/execute?output_channel=latest``; :class:`ActionHandback` ends it.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import clock, officehours
from bot.actions.support import channel_of, profile, say, slot_events
from bot.db.engine import get_engine
from bot.db import stats as stats_db
from bot.db.handoffs import new_code, open_ticket
from bot.intake import absorb, finds_people_hard
from bot.profile import Contact, Profile
from bot.stats.events import handoff_event
from bot.summary import intake_summary

log = logging.getLogger(__name__)
_RANK = {None: 0, "normal": 0, "urgent": 1, "emergency": 2}


def higher(a: Optional[str], b: Optional[str]) -> Optional[str]:
    return a if _RANK.get(a, 0) >= _RANK.get(b, 0) else b


def _contacts(contacts: Sequence[Contact]) -> List[Dict[str, str]]:
    return [{"name": c.name, "phone": c.phone, "hours": c.hours} for c in contacts]


async def open_handoff(
    dispatcher: CollectingDispatcher, tracker: Tracker, prof: Profile, *, urgency: str, reason: str,
    slots: Dict[str, Any], contacts: Optional[Sequence[Contact]] = None,
) -> List[Dict[str, Any]]:
    """Record a ticket, tell the resident who will contact them and when, send the payload
    (``contacts``: the lines just shown, when not the urgency's usual ones)."""
    now = clock.now()
    live = officehours.is_open(now, prof)
    callback_at = None if live else officehours.next_opening(now, prof)
    summary = intake_summary(slots, urgency=urgency)
    try:
        row = await open_ticket(
            get_engine(), sender_id=tracker.sender_id, channel=channel_of(tracker), urgency=urgency,
            mode="live" if live else "callback", reason=reason, callback_after=callback_at, summary=summary,
        )
        ticket = row.ticket
    except Exception:  # the resident must still get the contacts; staff see the log
        log.exception("handoff ticket could not be stored (urgency=%s reason=%s)", urgency, reason)
        ticket = new_code()
    await stats_db.record_for_sender(get_engine(), tracker.sender_id, lambda key: handoff_event(
        slots, urgency, channel_of(tracker), now, case_key=key, tz=prof.municipality.timezone))
    if contacts is None:
        contacts = prof.crisis_contacts if urgency == "emergency" else prof.urgent_contacts if urgency == "urgent" else ()
    contacts = list(contacts)
    desk = prof.destinations["human_staff"]
    if live:
        say(dispatcher, tracker,
            f"担当の職員におつなぎします。このチャットのままお待ちください。受付番号は {ticket} です。"
            f"10分たっても返事がないときは、{desk.phone} にお電話ください。",
            f"しょくいん に つなぎます。この まま まって いて ください。ばんごう は {ticket} です。"
            f"10ぷん まっても へんじ が ない とき は {desk.phone} に でんわ して ください。")
    else:
        when = officehours.format_local(callback_at, prof)
        has_contact = slots.get("contact") not in (None, "none", "unknown", "declined")
        how = "ご連絡先に担当者からご連絡します" if has_contact else \
            "担当者が対応します。連絡先がなくても、窓口でこの番号をお伝えいただければ大丈夫です"
        say(dispatcher, tracker,
            f"今は窓口の時間外です。{when}以降、{how}。受付番号は {ticket} です。",
            f"いま まどぐち は しまって います。{when} から たんとう の ひと が たいおう します。ばんごう は {ticket} です。")
    dispatcher.utter_message(json_message={
        "type": "handoff", "urgency": urgency, "mode": "live" if live else "callback", "ticket": ticket,
        "contacts": _contacts(contacts),
    })
    events: List[Dict[str, Any]] = [SlotSet("handoff_ticket", ticket)]
    if live:
        # Leave the form first: after the hand-back, 「続きから」 re-enters it where it stopped.
        events += [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("handoff_live", True), ConversationPaused()]
    return events


def _contact_lines(contacts: Sequence[Contact]) -> str:
    return "\n".join(f"・{c.name}：{c.phone}（{c.hours}）" for c in contacts)


#: What the safety response says before the contact lines (polite, やさしい日本語).
_EMERGENCY = ("話してくださって、ありがとうございます。あなたの安全がいちばん大切です。"
              "今すぐ危ないときは、119（救急）か110（警察）に電話してください。24時間話を聞いてくれる窓口もあります。",
              "はなして くれて ありがとう。いま あぶない とき は 119 か 110 に でんわ して ください。"
              "24じかん はなせる でんわ も あります。")
_VIOLENCE = ("話してくださって、ありがとうございます。あなたの安全がいちばん大切です。"
             "暴力のことは、専門の窓口に相談できます。今まさに危ないときは110に電話してください。",
             "はなして くれて ありがとう。あなた の あんぜん が いちばん たいせつ です。"
             "いま あぶない とき は 110 に でんわ して ください。")
_URGENT = ("それは心配ですね。今日の寝る場所や食べるもののことは、すぐに相談できます。",
           "それ は しんぱい です ね。すぐ そうだん できます。")


class ActionSafetyResponse(Action):
    """Emergency or urgent need: contacts first, then a person. No question before that."""

    def name(self) -> Text:
        return "action_safety_response"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        parse = tracker.latest_message
        intent = (parse.get("intent") or {}).get("name")
        level = "emergency" if intent == "crisis_emergency" else "urgent"
        signals = (parse.get("safety") or {}).get("signals") or []
        slots = dict(tracker.slots)
        turn = absorb(parse, slots, prof)  # keep the facts of this message too
        slots.update(turn.updates)
        crisis = higher(level, slots.get("crisis"))
        violence = level == "urgent" and "fleeing_violence" in signals
        shown = prof.crisis_contacts if level == "emergency" else prof.violence_contacts if violence else prof.urgent_contacts
        polite, easy = (_EMERGENCY if level == "emergency" else _VIOLENCE if violence else _URGENT)
        lines = _contact_lines(shown)
        say(dispatcher, tracker, f"{polite}\n{lines}", f"{easy}\n{lines}")
        events = slot_events(turn.updates) + [SlotSet("crisis", crisis)]
        events += await open_handoff(dispatcher, tracker, prof, urgency=crisis, reason=",".join(signals) or intent, slots=slots,
                                     contacts=shown if crisis == level else None)
        if level == "urgent" and not any(e.get("event") == "pause" for e in events):
            say(dispatcher, tracker,
                "落ち着いたら、状況をもう少し教えてください。窓口の準備が早くなります。",
                "できれば、もうすこし おしえて ください。",
                buttons=[{"title": "続けて相談する", "payload": "/resume"}, {"title": "今日はここまで", "payload": "/stop"}])
        return events


class ActionHandoff(Action):
    """「人と話したい」: a person from the support team, now or by call-back."""

    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if finds_people_hard(tracker.latest_message.get("text") or ""):
            # 「人と話すのがつらいみたい」 shares its words with 「人と話したい」: ask before calling staff.
            say(dispatcher, tracker,
                "教えてくださってありがとうございます。人と話すのがつらい方も、安心して使える窓口があります。"
                "いま職員と直接話したい、ということでしょうか？",
                "おしえて くれて ありがとう ございます。いま しょくいん と はなしたい ですか？",
                buttons=[{"title": "人と話したい", "payload": "/request_human"},
                         {"title": "このまま続ける", "payload": "/resume"}])
            return []
        prof = await profile()
        slots = dict(tracker.slots)
        urgency = higher(slots.get("crisis"), (slots.get("referral") or {}).get("urgency")) or "normal"
        return await open_handoff(dispatcher, tracker, prof, urgency=urgency, reason="requested", slots=slots)


class ActionStaffMessage(Action):
    """Delivers what a staff member typed in the console, marked as coming from a person."""

    def name(self) -> Text:
        return "action_staff_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        text = (tracker.get_slot("staff_message") or "").strip()
        if text:
            dispatcher.utter_message(text=text, json_message={"type": "staff_message", "name": "支援員"})
        return [SlotSet("staff_message", None)]


class ActionHandback(Action):
    """Staff end the live chat; the bot is back and offers to go on, without re-asking anything."""

    def name(self) -> Text:
        return "action_handback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker,
            "支援員との会話は終わりました。ここからは、またチャットでお手伝いします。",
            "しえんいん との はなし は おわりました。また チャット で てつだいます。",
            buttons=[{"title": "相談の続き", "payload": "/resume"}, {"title": "今日はここまで", "payload": "/stop"}])
        # Run through the HTTP API, outside a prediction loop: mark the bot as listening so the
        # resident's next message is read by the rules as a fresh turn.
        return [SlotSet("handoff_live", False), ActionExecuted("action_listen")]


class ActionSafetyCheck(Action):
    """The classifier heard danger that the lexicon did not confirm: ask, gently, with the lines shown.

    No ticket and no alarm yet; 「今、危ない」 leads to the emergency response, 「人と話したい」 to a person.
    """

    def name(self) -> Text:
        return "action_safety_check"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        line = prof.listening_line()
        tail = f"\nつらいときは、24時間話を聞いてくれる電話もあります：{line.name} {line.phone}" if line else ""
        say(dispatcher, tracker,
            "書いてくださったことが気になりました。もしかして、今つらい気持ちだったり、危ない状況にいたりしませんか？" + tail,
            "しんぱい です。いま あぶない ですか？ つらい ですか？" + tail,
            buttons=[{"title": "今、危ない・つらい", "payload": "/crisis_emergency"},
                     {"title": "人と話したい", "payload": "/request_human"},
                     {"title": "大丈夫です、続けます", "payload": "/resume"}])
        return []
