"""The referral: where to go, why, and what the resident can do next."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import clock, officehours
from bot.actions.handoff import open_handoff
from bot.actions.support import channel_of, profile, say
from bot.db import stats as stats_db
from bot.db.engine import get_engine
from bot.stats.events import referral_event
from bot.routing import route

NEXT_STEPS = [
    {"title": "窓口の予約をする", "payload": "/book_appointment"},
    {"title": "連絡先と受付時間を見る", "payload": "/show_offices"},
    {"title": "人と話したい", "payload": "/request_human"},
    {"title": "今日はここまで", "payload": "/stop"},
]


class ActionRoute(Action):
    """Decides the destinations (pure :func:`bot.routing.route`) and explains each in one sentence."""

    def name(self) -> Text:
        return "action_route"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        slots = dict(tracker.slots)
        decision = route({**slots, "concerns": slots.get("concerns") or [], "crisis": slots.get("crisis")}, prof)
        payload = decision.to_payload()
        payload["interpreter"] = bool(payload["interpreter"] or slots.get("interpreter"))
        asked_again = (tracker.latest_message.get("intent") or {}).get("name") == "resume"
        if payload == slots.get("referral") and not asked_again:  # 「答えたくない」 after the referral: nothing new
            say(dispatcher, tracker, "大丈夫です。ご案内した窓口は変わりません。このあと、どうしますか？",
                "だいじょうぶ です。あんない は おなじ です。つぎ は どう しますか？", buttons=NEXT_STEPS)
            return []
        await stats_db.record_for_sender(get_engine(), tracker.sender_id, lambda key: referral_event(
            slots, payload, channel_of(tracker), clock.now(), case_key=key, tz=prof.municipality.timezone,
            low_income_monthly=prof.thresholds.low_income_monthly))
        lines = "\n".join(f"・{r.name}\n　{r.reason}" for r in decision.referrals)
        say(dispatcher, tracker,
            f"ありがとうございました。お話をもとに、次の窓口をご案内します。\n{lines}",
            f"ありがとう ございました。つぎ の まどぐち を あんない します。\n{lines}")
        if payload["interpreter"]:
            say(dispatcher, tracker, "通訳を用意できますので、窓口でお伝えください。", "つうやく の ひと を よべます。")
        dispatcher.utter_message(json_message=payload)
        events = [SlotSet("referral", payload), SlotSet("language", slots.get("language") or "ja")]
        urgency = decision.urgency
        if urgency in ("urgent", "emergency") and not slots.get("handoff_ticket"):
            events += await open_handoff(dispatcher, tracker, prof, urgency=urgency, reason="routing", slots=slots)
        if any(e.get("event") == "pause" for e in events):
            return events  # a person takes over now; no menu under their first message
        say(dispatcher, tracker, "どれを選んでも大丈夫です。このあと、どうしますか？", "つぎ は どう しますか？",
            buttons=NEXT_STEPS)
        return events


class ActionShowOffices(Action):
    """Address, phone and hours of the offices referred to, and whether they are open now."""

    def name(self) -> Text:
        return "action_show_offices"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        referral = tracker.get_slot("referral") or {}
        codes = [r["destination"] for r in referral.get("referrals", []) if r["destination"] in prof.destinations]
        codes = [c for c in codes if c != "human_staff"] or ["jiritsu_soudan"]
        for code in codes:
            d = prof.destinations[code]
            dispatcher.utter_message(text=f"【{d.name}】\n住所：{d.address}\n電話：{d.phone}\n受付：{d.hours}")
        now, city = clock.now(), prof.municipality.name
        # The city's own desks: the other offices keep the hours listed above (サポステ 火〜土).
        if officehours.is_open(now, prof):
            say(dispatcher, tracker, f"{city}の相談窓口は今、受付時間内です。お電話でもご相談いただけます。ほかの窓口は上の受付時間をご覧ください。",
                f"{city} の まどぐち は いま でんわ できます。")
        else:
            when = officehours.format_local(officehours.next_opening(now, prof), prof)
            say(dispatcher, tracker, f"{city}の相談窓口は今、受付時間外です。次に開くのは {when} です。",
                f"{city} の まどぐち は いま しまって います。つぎ は {when} に あきます。")
        return []
