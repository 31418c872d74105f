"""One resident turn during screening, as a pure function.

Given the NLU parse of the latest message and the current slots, :func:`absorb` decides which
fields the message answers (all of them, not just the one asked), what short notes the bot says
before its next question (an answer to a side question, a confirmed correction, a word of
empathy), and whether the screening can go on or a rule must take over (crisis, a request for a
person, stop, restart). The Rasa adapters in ``bot/actions`` only translate this into events.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from bot import language, textnorm
from bot.extraction import extract
from bot.fields import (
    BENEFIT_CODES,
    BOOLEAN_FIELDS,
    CHOICES,
    DECLINED,
    INTEGER_FIELDS,
    LABELS,
    TEXT_FIELDS,
    UNKNOWN,
    is_answered,
)
from bot.profile import Profile
from bot.screening import ASKABLE

#: Intents that leave screening to a rule: safety first, then the resident's wish to stop.
RULE_INTENTS = frozenset(
    {"crisis_emergency", "urgent_need", "request_human", "stop", "start_over", "nlu_fallback", "show_offices",
     "book_appointment", "change_booking", "cancel_booking", "safety_check", "delete_my_data", "confirm_delete"}
)
#: Side questions answered from the municipality profile before the question is repeated.
FAQ_INTENTS = {
    "ask_cost": "cost",
    "ask_privacy": "privacy",
    "ask_saposute": "saposute",
    "ask_hours": "hours",
    "ask_location": "location",
}
#: Presenting problems: intent -> concern code kept for routing and the staff summary.
PROBLEM_INTENTS = {
    "job_loss": "job_loss",
    "want_job": "job_loss",
    "housing_trouble": "housing",
    "debt_trouble": "debt",
    "money_trouble": "money",
    "family_children": "family",
    "health_trouble": "health",
    "youth_no_work": "youth",
    "older_light_work": "older",
    "single_parent": "single_parent",
    "language_help": "language",
}
#: Choice questions asked as yes/no questions (「お仕事はされていますか？」「手当はありますか？」):
#: the value a 「いいえ」 gives, and what a 「はい」 asks next (polite, easy).
_YES_NO_QUESTIONS = {
    "employment_status": ("unemployed", "お仕事をされているのですね。どんな働き方か、近いものを選んでください。",
                          "はたらいて いるの ですね。ちかい もの を えらんで ください。"),
    "benefits": (["none"], "どの手当や給付か、ボタンから選ぶか、書いてください。",
                 "どの てあて か、えらんで ください。"),
}
#: Messages that are never the answer to a free-text question, whatever the question was.
_NOT_FREE_TEXT = frozenset(FAQ_INTENTS) | RULE_INTENTS | {"greet", "thank", "out_of_scope", "non_japanese", "affirm"}
_EMPATHY = {
    "job_loss": "お仕事のこと、ご不安ですよね。",
    "housing": "住まいのこと、心配ですよね。",
    "debt": "お金の返済のこと、ひとりで抱えるのはつらいですよね。",
    "money": "暮らしのお金のこと、大変でしたね。",
    "family": "ご家族のこと、心配ですよね。",
    "health": "体調のことも含めて、一緒に考えます。",
    "youth": "ご自分のペースで大丈夫です。",
    "older": "年齢に合った働き方も探せます。",
    "single_parent": "子育てしながらの毎日、本当にお疲れさまです。",
    "language": "やさしい にほんご で はなします。",
}


#: 「ある」「少しあります」 to a free-text question (配慮してほしいこと…): yes, without the content yet.
_BARE_THERE_IS = re.compile(r"^(?:少し|すこし|ちょっと|一応|いちおう)?(?:ある|あり|あります|あるよ|あるかも|あるかもしれません|あるけど|ありますけど)(?:です|ね|よ)?$")

#: Talking with people described as hard (shy, anxious): a situation, not a request for a person.
_PEOPLE_HARD = re.compile(r"(?:人|ひと|他人|たにん)(?:と|に|の前で)(?:話|はな|しゃべ|喋|関わ|かかわ|会|あ)[^。！？!?]{0,8}?"
                          r"(?:苦手|にがて|つら|辛|怖|こわ|しんど|無理|むり|できな|でけへん|不安|緊張|きんちょう|ダメ|だめ)"
                          r"|人見知り|ひとみしり|対人恐怖|コミュ障")


def finds_people_hard(text: str) -> bool:
    """True for 「人と話すのがつらい」「人見知りで」; never for a typed quick reply (``/request_human``)."""
    return not text.startswith("/") and bool(_PEOPLE_HARD.search(text))


@dataclass
class Turn:
    """What the latest message did to the intake."""

    updates: Dict[str, Any] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    handled: bool = True  # False: screening pauses and a rule answers instead


def absorb(parse: Mapping[str, Any], slots: Mapping[str, Any], profile: Profile) -> Turn:
    """Apply one parsed user message to the intake slots."""
    intent = (parse.get("intent") or {}).get("name") or "nlu_fallback"
    text = parse.get("text") or ""
    asking = slots.get("requested_slot")
    if asking in TEXT_FIELDS and _BARE_THERE_IS.match(textnorm.fold(text).strip(" 。、.!！")):
        intent = "affirm"  # not 「場所は？」 (the classifier's guess for a lone 「ある」)
    if asking and intent == "request_human" and finds_people_hard(text):
        intent = "inform"  # 「人と話すのが怖いです」 answers the question; it asks for no one
    turn = Turn()

    fields, noticed = _fields_from_message(text, intent, parse.get("entities") or [], asking, slots)
    concerns = set(slots.get("concerns") or []) | noticed
    if intent in PROBLEM_INTENTS and not (asking and asking in fields):
        # 「ひとり暮らしです」 answering the household question is not a single-parent concern.
        concerns.add(PROBLEM_INTENTS[intent])
    _language_updates(text, intent, parse, slots, turn)

    changed = {k: v for k, v in fields.items() if slots.get(k) != v}
    turn.updates.update(changed)
    if sorted(concerns) != sorted(slots.get("concerns") or []):
        turn.updates["concerns"] = sorted(concerns)
    if changed:
        turn.updates["answered_by"] = _provenance(slots.get("answered_by"), changed, asking, text)
        turn.notes.extend(_correction_notes(changed, slots, asking))

    easy = bool(turn.updates.get("easy_ja", slots.get("easy_ja")))
    if asking and asking not in changed:
        turn.notes.extend(_kept_notes(changed, slots, asking, easy))
    if intent in RULE_INTENTS and not (intent == "nlu_fallback" and changed):
        turn.handled = False
    elif intent == "non_japanese":
        turn.notes.append(language.notice(turn.updates.get("language") or slots.get("language")))
    elif intent in FAQ_INTENTS and not (asking in TEXT_FIELDS and asking in changed):
        # (a free-text answer despite a question-like intent is 「連絡先はない」: no privacy leaflet)
        turn.notes.append(profile.faq(FAQ_INTENTS[intent], easy=easy))
    elif intent in PROBLEM_INTENTS and not changed:
        turn.notes.append(_EMPATHY[PROBLEM_INTENTS[intent]])
    elif intent == "out_of_scope" and not changed:
        turn.notes.append(_say(easy, "ごめんなさい、そのことにはお答えできません。相談の続きをお願いします。", "ごめんなさい。その しつもん には こたえられません。"))
    elif not changed and asking in TEXT_FIELDS and intent == "affirm":
        turn.notes.append(_say(easy, "ありがとうございます。よろしければ、その内容を書いてください。書きにくいときは「答えたくない」でも大丈夫です。",
                               "ありがとう ございます。どんな こと か かいて ください。"))
    elif not changed and asking in _YES_NO_QUESTIONS and intent == "affirm":
        turn.notes.append(_say(easy, *_YES_NO_QUESTIONS[asking][1:]))
    elif not changed and asking and intent in ("affirm", "deny", "inform", "correct", "greet", "thank"):
        turn.notes.append(_say(easy, f"すみません、{LABELS.get(asking, 'このこと')}について教えてください。わからない時は「わからない」、言いたくない時は「答えたくない」でも大丈夫です。", "すみません。もう いちど おしえて ください。「わからない」でも だいじょうぶ です。"))
    if turn.handled and not turn.updates.get("fallback_count") and slots.get("fallback_count"):
        turn.updates["fallback_count"] = 0
    return turn


def _fields_from_message(
    text: str, intent: str, entities: List[Mapping[str, Any]], asking: Optional[str], slots: Mapping[str, Any]
) -> Tuple[Dict[str, Any], Set[str]]:
    """Fields answered by a typed message or a quick-reply payload, and the concerns it shows."""
    if text.startswith("/"):
        # Quick reply: `/inform{"housing": "renting"}`, `/dont_know`, `/affirm` ...
        out: Dict[str, Any] = {}
        for ent in entities:
            name, value = ent.get("entity"), _coerce(ent.get("entity"), ent.get("value"))
            if name in ASKABLE and value is not None:
                out[name] = value
        if asking and not out:
            out.update(_meta_answer(intent, asking))
        return out, set()
    result = extract(text, asking=asking, known=slots)
    out = {k: v for k, v in result.fields.items() if k in ASKABLE and v is not None}
    if asking and asking not in out and intent in ("dont_know", "decline_answer"):
        out.update(_meta_answer(intent, asking))  # what the words say beats the classifier
    if asking in _YES_NO_QUESTIONS and asking not in out and intent == "deny":
        out[asking] = _YES_NO_QUESTIONS[asking][0]  # 「いいえ」 to 「今、お仕事はされていますか？」
    if intent in FAQ_INTENTS and out.get(asking) in (UNKNOWN, DECLINED):
        out.pop(asking)  # 「ひみつ は まもられますか」 asks about privacy; it declines nothing
    if asking in TEXT_FIELDS and intent in _NOT_FREE_TEXT and out.get(asking) != "none":
        out.pop(asking, None)  # 「相談ってお金かかりますか？」 is a question, not a job history ...
        # ... but 「連絡先はない」 (the button's title, typed) says so in so many words
    elif asking in TEXT_FIELDS and intent == "deny":
        out[asking] = "none" if asking == "contact" else "なし"
    return out, set(result.concerns)


def _meta_answer(intent: str, asking: str) -> Dict[str, Any]:
    """わからない / 答えたくない / はい / いいえ given as a quick reply to the field asked."""
    if intent == "dont_know":
        return {asking: UNKNOWN}
    if intent == "decline_answer":
        return {asking: DECLINED}
    if intent in ("affirm", "deny") and asking in BOOLEAN_FIELDS:
        return {asking: intent == "affirm"}
    return {}


def _coerce(name: Optional[str], value: Any) -> Any:
    """Quick-reply values arrive as JSON; make them the stored types of the protocol."""
    if name in INTEGER_FIELDS:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if name in BOOLEAN_FIELDS:
        return value if isinstance(value, bool) else None
    if name == "benefits":
        items = value if isinstance(value, list) else [value]
        items = [v for v in items if v in BENEFIT_CODES]
        return items or None
    if name in CHOICES:
        return value if value in CHOICES[name] else None
    return value if isinstance(value, str) and value.strip() else None


def _language_updates(text: str, intent: str, parse: Mapping[str, Any], slots: Mapping[str, Any], turn: Turn) -> None:
    """Switch to やさしい日本語 and flag an interpreter when the resident's Japanese is limited."""
    if text.startswith("/"):
        return  # a quick-reply payload says nothing about the resident's language
    detected = (parse.get("safety") or {}).get("language") or language.detect(text)
    if intent == "non_japanese" or (detected and detected != "ja"):
        if detected and detected != "ja":
            turn.updates["language"] = detected
        turn.updates.update(easy_ja=True, interpreter=True)
    elif intent == "language_help" or language.looks_limited_japanese(text):
        if not slots.get("easy_ja"):
            turn.updates.update(easy_ja=True, language=slots.get("language") or "easy_ja")
    turn.updates = {k: v for k, v in turn.updates.items() if slots.get(k) != v}


def _provenance(previous: Any, changed: Mapping[str, Any], asking: Optional[str], text: str) -> Dict[str, str]:
    """Staff see how each field was answered: a quick reply, typed to the question, or inferred.

    Numbers count as typed wherever they appear: 「46歳です」 states the age in the resident's words.
    """
    out = dict(previous or {})
    for name in changed:
        if text.startswith("/"):
            out[name] = "button"
        else:
            out[name] = "typed" if name == asking or name in INTEGER_FIELDS else "inferred"
    return out


def _spoken(name: str, value: Any) -> str:
    """``display`` as residents say amounts: 「12万円」 rather than the staff summary's 「120,000円」."""
    if name == "monthly_income" and isinstance(value, int) and value > 0 and value % 10_000 == 0:
        return f"{value // 10_000}万円"
    return display(name, value)


def _kept_notes(changed: Mapping[str, Any], slots: Mapping[str, Any], asking: str, easy: bool) -> List[str]:
    """「実家です」 to another question: say what was kept, so that the same question asked again
    does not look as if the message went unheard (yes/no fields are not repeated back)."""
    kept = [n for n, v in changed.items() if n != asking and n not in BOOLEAN_FIELDS and n not in TEXT_FIELDS
            and not is_answered(slots.get(n)) and is_answered(v)]
    if not kept:
        return []
    if easy:
        return ["ありがとう ございます。わかりました。"]
    return ["ありがとうございます。" + "、".join(f"{LABELS[n]}は「{_spoken(n, changed[n])}」" for n in kept[:2]) + "ですね。"]


def _correction_notes(changed: Mapping[str, Any], slots: Mapping[str, Any], asking: Optional[str]) -> List[str]:
    """Confirm a changed answer so the resident sees the correction was taken."""
    notes = []
    for name, value in changed.items():
        old = slots.get(name)
        if name != asking and is_answered(old) and is_answered(value):
            notes.append(f"{LABELS[name]}を「{_spoken(name, value)}」に直しました。")
    return notes


def display(name: str, value: Any) -> str:
    """Japanese display of a stored value, for residents and the staff summary."""
    if value == UNKNOWN:
        return "わからない"
    if value == DECLINED:
        return "回答なし"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if name == "age" or name == "youngest_child_age":
        return f"{value}歳"
    if name == "monthly_income":
        return f"{value:,}円"
    if name in ("months_without_work", "rent_arrears_months"):
        return f"{value}か月" if value else "なし"  # 家賃の滞納は「なし」, not 「0か月」
    if name == "children":
        return f"{value}人"
    if name == "benefits":
        return "、".join(BENEFIT_CODES.get(v, v) for v in value)
    if name in CHOICES:
        return CHOICES[name].get(value, str(value))
    return str(value)


def empathy(concern: str) -> str:
    """One warm sentence acknowledging a presenting problem."""
    return _EMPATHY.get(concern, "")


def _say(easy: bool, polite: str, easy_text: str) -> str:
    return easy_text if easy else polite
