"""Greeting, side questions, stop / resume / start over, misunderstandings, other languages."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import clock, language
from bot.actions.screening import carries_facts, screen_from_here
from bot.actions.support import profile, say
from bot.intake import FAQ_INTENTS
from bot.screening import next_field

TOPICS = [
    {"title": "仕事のこと", "payload": "/want_job"},
    {"title": "住まい・家賃のこと", "payload": "/housing_trouble"},
    {"title": "お金・借金のこと", "payload": "/money_trouble"},
    {"title": "家族・子どものこと", "payload": "/family_children"},
    {"title": "人と話したい", "payload": "/request_human"},
]


def _in_progress(tracker: Tracker) -> bool:
    return bool(tracker.get_slot("first_seen")) and next_field(tracker.slots) is not None


class ActionGreet(Action):
    def name(self) -> Text:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        hello = clock.greeting(clock.now(), prof.municipality.timezone)
        easy_hello = hello.replace("ございます", " ございます")
        if _in_progress(tracker):
            say(dispatcher, tracker, f"{hello}。前回の続きから相談できます。", f"{easy_hello}。つづき から できます。",
                buttons=[{"title": "続きから", "payload": "/resume"}, {"title": "最初から", "payload": "/start_over"}])
            return []
        city = prof.municipality.name
        if carries_facts(tracker):  # 「こんばんは、家賃が払えなくて…」: greet, then listen
            say(dispatcher, tracker, f"{hello}。{city}の「くらし・しごと相談」チャットです。",
                f"{easy_hello}。{city} の そうだん チャット です。")
            return await screen_from_here(dispatcher, tracker)
        say(dispatcher, tracker,
            f"{hello}。{city}の「くらし・しごと相談」チャットです。夜間や休日も受け付けています。"
            "相談は無料で、秘密は守られます。\nどんなことでお困りですか？ご自分の言葉で、自由に書いてください。",
            f"{easy_hello}。{city} の そうだん チャット です。おかね は かかりません。ひみつ は まもります。"
            "\nこまって いる こと を かいて ください。",
            buttons=TOPICS)
        return []


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        prof = await profile()
        dispatcher.utter_message(text=prof.faq(FAQ_INTENTS.get(intent, "cost"), easy=bool(tracker.get_slot("easy_ja"))))
        if not tracker.get_slot("first_seen"):
            say(dispatcher, tracker, "よろしければ、今お困りのことを教えてください。", "こまって いる こと を おしえて ください。")
        return []


class ActionStop(Action):
    def name(self) -> Text:
        return "action_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        line = prof.listening_line()  # not 119: the line is for a hard night, not a fire
        tail = f"\nつらいときは、話を聞いてくれる電話もあります：{line.name} {line.phone}（{line.hours}）" if line else ""
        if tracker.get_slot("first_seen"):
            say(dispatcher, tracker,
                "わかりました。ここまでの内容は保存しています。「続きから」と送れば、いつでも再開できます。" + tail,
                "わかりました。ないよう は のこして あります。「つづきから」と おくれば また はじめられます。" + tail)
        else:
            say(dispatcher, tracker, "わかりました。いつでも、また話しかけてください。" + tail,
                "わかりました。いつでも また はなしかけて ください。" + tail)
        return []


class ActionStartOver(Action):
    """「最初から」: forget the answers (the language preference stays) and listen again."""

    def name(self) -> Text:
        return "action_start_over"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        keep = {k: tracker.get_slot(k) for k in ("easy_ja", "language", "interpreter") if tracker.get_slot(k) is not None}
        say(dispatcher, tracker, "最初からやり直します。どんなことでお困りですか？", "はじめ から に します。こまって いる こと を かいて ください。",
            buttons=TOPICS)
        return [AllSlotsReset()] + [SlotSet(k, v) for k, v in keep.items()]


class ActionThank(Action):
    def name(self) -> Text:
        return "action_thank"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker, "どういたしまして。ほかにも気になることがあれば、いつでも書いてください。",
            "どういたしまして。また いつでも かいて ください。")
        return []


class ActionOutOfScope(Action):
    def name(self) -> Text:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker,
            "ごめんなさい、このチャットでは暮らしや仕事のご相談を受けています。近いものがあれば選んでください。",
            "ごめんなさい。ここ は くらし と しごと の そうだん です。",
            buttons=TOPICS)
        return []


class ActionFallback(Action):
    """A misunderstanding: ask again simply; the second in a row offers a person.

    A message the classifier could not place but that still answers intake fields (「しごと が
    ない」) is not a misunderstanding: the screening starts with what it said.
    """

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if carries_facts(tracker):
            # Not classified, but it tells us about the resident's situation: listen and go on.
            return await screen_from_here(dispatcher, tracker)
        count = int(tracker.get_slot("fallback_count") or 0) + 1
        if count >= 2:
            say(dispatcher, tracker,
                "うまく読み取れず、ごめんなさい。職員と直接話すこともできます。",
                "ごめんなさい。しょくいん と はなす こと も できます。",
                buttons=[{"title": "人と話したい", "payload": "/request_human"}, {"title": "このまま続ける", "payload": "/resume"}])
        elif tracker.active_loop_name:
            say(dispatcher, tracker, "すみません、うまく読み取れませんでした。選択肢から選ぶか、短い言葉で教えてください。",
                "すみません。わかりません でした。ボタン で えらんで ください。")
        else:
            say(dispatcher, tracker,
                "すみません、うまく読み取れませんでした。困っていることを短い言葉で教えてください。（例：仕事がない、家賃が払えない）",
                "すみません。わかりません でした。こまって いる こと を みじかく かいて ください。",
                buttons=TOPICS)
        events = [SlotSet("fallback_count", count)]
        if (tracker.latest_message.get("intent") or {}).get("name") != "nlu_fallback":
            # Run as the core fallback (no rule matched this state): listen next instead of
            # being predicted again and again; the nlu_fallback rules continue their form.
            events.append(FollowupAction("action_listen"))
        return events


class ActionForeignLanguage(Action):
    """A message in another language: one line in it, then やさしい日本語 and an interpreter flag."""

    def name(self) -> Text:
        return "action_foreign_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        lang = language.detect(tracker.latest_message.get("text") or "") or tracker.get_slot("language")
        lang = lang if lang and lang != "ja" else "other"
        if tracker.get_slot("interpreter"):  # told once already: the way to a person, not the same lines
            dispatcher.utter_message(text=language.notice(lang, again=True), buttons=TOPICS)
        else:
            dispatcher.utter_message(text=language.notice(lang))
            dispatcher.utter_message(text="こまって いる こと を、かんたん な にほんご で かいて ください。", buttons=TOPICS)
        return [SlotSet("language", lang), SlotSet("easy_ja", True), SlotSet("interpreter", True)]
