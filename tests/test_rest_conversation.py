"""The running product through the REST channel: real Japanese in, protocol payloads out.

Starts the trained model with the real action server (see ``conftest.rest_base``). Wording may
change; what is asserted is the contract of ``intake-protocol.md`` and the behaviour residents
rely on: never re-asked, corrections taken, safety first, nothing lost on bad input.
"""
from __future__ import annotations

from typing import Any, Dict, List

import pytest

from bot.fields import ALL_FIELDS, CHOICES
from bot.screening import ASKABLE

pytestmark = pytest.mark.server

DESTINATIONS = {
    "jiritsu_soudan", "hellowork", "mothers_hellowork", "saposute", "silver_center", "welfare_office",
    "single_parent_desk", "household_budget", "disability_employment", "human_staff",
}


def payloads(turn: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return [m["custom"] for m in turn if isinstance(m.get("custom"), dict) and m["custom"].get("type") == kind]


def text(turn: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in turn)


def asked(turn: List[Dict[str, Any]]) -> str | None:
    asks = payloads(turn, "ask")
    assert len(asks) <= 1, f"one question at a time: {asks}"
    return asks[0]["field"] if asks else None


def answer_until_referral(chat, turn, limit: int = 25) -> List[Dict[str, Any]]:
    """Answer each question with its first quick reply, or a typed answer; stop at the referral."""
    typed = {"age": "40歳です", "youngest_child_age": "5歳", "months_without_work": "3か月",
             "job_history": "工場で5年働いていました", "health_notes": "特にありません",
             "work_preferences": "平日の昼間がいいです", "contact": "なし", "monthly_income": "10万円くらい"}
    seen = set()
    for _ in range(limit):
        if payloads(turn, "referral"):
            return turn
        field = asked(turn)
        assert field, f"expected a question or a referral, got {turn}"
        assert field not in seen, f"{field} asked twice"
        seen.add(field)
        ask = payloads(turn, "ask")[0]
        turn = chat.say(ask["choices"][0]["payload"] if ask.get("choices") else typed.get(field, "わからない"))
    raise AssertionError("no referral after answering every question")


def test_first_message_fills_every_field_it_answers(chat):
    turn = chat.say("46歳で子ども3人、1年5か月働いてないです")
    slots = chat.slots()
    assert slots["age"] == 46
    assert slots["children"] == 3
    assert slots["months_without_work"] == 17
    assert slots["employment_status"] == "unemployed"
    assert asked(turn) not in {"age", "children", "months_without_work", "employment_status"}
    assert "無料" in text(turn) and "秘密" in text(turn)


def test_full_screening_ends_in_a_protocol_referral(chat):
    turn = chat.say("仕事をクビになって、家賃が2か月払えていません")
    turn = answer_until_referral(chat, turn)
    (referral,) = payloads(turn, "referral")
    assert set(referral) == {"type", "urgency", "referrals", "interpreter"}
    assert referral["urgency"] in {"normal", "urgent", "emergency"}
    assert 1 <= len(referral["referrals"]) <= 4
    for item in referral["referrals"]:
        assert set(item) == {"destination", "name", "reason"}
        assert item["destination"] in DESTINATIONS
        assert item["reason"].strip() and any("\u3040" <= ch <= "\u30ff" for ch in item["reason"])
    assert "jiritsu_soudan" in {r["destination"] for r in referral["referrals"]}
    assert isinstance(referral["interpreter"], bool)
    assert any(m.get("buttons") for m in turn), "the referral offers choices of what to do next"
    slots = chat.slots()
    assert slots["rent_arrears_months"] == 2 and slots["housing"] == "renting"


def test_ask_payload_has_choices_matching_the_buttons(chat):
    turn = chat.say("仕事が見つからなくて困っています")
    ask = payloads(turn, "ask")[0]
    assert ask["field"] in ASKABLE
    buttons = [b for m in turn for b in (m.get("buttons") or [])]
    if ask["field"] in CHOICES:
        assert ask["choices"] == [{"title": b["title"], "payload": b["payload"]} for b in buttons]


@pytest.mark.parametrize("message", ["はじめまして。46歳です", "こんばんは、家賃が払えなくて困ってます"])
def test_greeting_with_facts_starts_screening(chat, message):
    turn = chat.say(message)
    assert asked(turn), "the screening starts right away"
    assert any(v is not None for k, v in chat.slots().items() if k in ("age", "housing"))


def test_side_question_is_answered_and_the_same_question_comes_back(chat):
    first = asked(chat.say("派遣の仕事が切れてしまいました"))
    turn = chat.say("ところで、相談ってお金かかりますか？")
    assert "無料" in text(turn)
    assert asked(turn) == first


def test_correction_replaces_the_answer(chat):
    chat.say("46歳で、いまは無職です")
    assert chat.slots()["age"] == 46
    turn = chat.say("やっぱり45歳です")
    assert chat.slots()["age"] == 45
    assert "45" in text(turn)


def test_dont_know_and_decline_move_on(chat):
    turn = chat.say("借金が返せなくて困っています")
    first = asked(turn)
    turn = chat.say("答えたくないです")
    assert chat.slots()[first] == "declined"
    second = asked(turn)
    assert second and second != first
    chat.say("わからない")
    assert chat.slots()[second] == "unknown"


def test_family_member_consultation(chat):
    chat.say("息子のことで相談です。28歳で、ずっと家にこもっていて働いていません")
    slots = chat.slots()
    assert slots["consulting_for"] == "family_member"
    assert slots["age"] == 28


@pytest.mark.parametrize("message", ["もう死にたいです", "しにたい", "夫に殴られていて怖い"])
def test_emergency_gets_contacts_and_a_person_in_the_same_turn(chat, message):
    turn = chat.say(message)
    (handoff,) = payloads(turn, "handoff")
    assert handoff["urgency"] == "emergency"
    assert handoff["mode"] in {"live", "callback"} and handoff["ticket"]
    phones = {c["phone"] for c in handoff["contacts"]}
    assert "0120-279-338" in phones and any(p.startswith("11") for p in phones)
    assert not payloads(turn, "ask"), "no question before people are connected"
    assert "119" in text(turn)


def test_false_alarm_is_not_a_crisis(chat):
    turn = chat.say("先月まで死ぬほど忙しい職場で働いていて、辞めました")
    assert not payloads(turn, "handoff")
    assert asked(turn)


def test_urgent_need_mid_screening_keeps_answers(chat):
    chat.say("38歳です。仕事を探しています")
    turn = chat.say("実は今夜寝る場所がありません")
    (handoff,) = payloads(turn, "handoff")
    assert handoff["urgency"] == "urgent"
    assert chat.slots()["age"] == 38


def test_request_for_a_person(chat):
    chat.say("家賃が払えません")
    turn = chat.say("人と話したいです")
    (handoff,) = payloads(turn, "handoff")
    assert handoff["mode"] in {"live", "callback"}


def test_stop_and_resume_lose_nothing(chat):
    chat.say("52歳で、会社が倒産して仕事がなくなりました")
    chat.say("今日はここまでにします")
    assert chat.slots()["age"] == 52
    turn = chat.say("続きからお願いします")
    assert chat.slots()["age"] == 52
    assert asked(turn) not in {"age", "employment_status"}


def test_start_over_forgets_answers(chat):
    chat.say("33歳、パートです")
    chat.say("最初からやり直したい")
    assert chat.slots()["age"] is None


@pytest.mark.parametrize(
    "bad",
    ["", " ", "あ" * 10000, "😭😭😭", "\x00\x07\x1b[31m", "<script>alert('x')</script>", "SELECT * FROM users;--",
     "\ufffd\ufffd\ufffd", "I lost my job and I need help", "Perdi meu emprego e preciso de ajuda"],
)
def test_bad_input_gets_a_polite_answer_and_keeps_answers(chat, bad):
    chat.say("41歳、賃貸に住んでいて、仕事がありません")
    before = {k: v for k, v in chat.slots().items() if k in ALL_FIELDS and v is not None}
    turn = chat.say(bad)
    said = text(turn)
    assert said.strip(), f"no reply to {bad[:20]!r}"
    assert "Traceback" not in said and "Exception" not in said
    after = chat.slots()
    assert {k: after[k] for k in before if k != "language"} == {k: v for k, v in before.items() if k != "language"}
    assert chat.say("わからない") is not None  # the conversation continues


def test_emoji_alone_answers_no_question(chat):
    field = asked(chat.say("41歳、賃貸に住んでいて、家賃が払えません"))
    turn = chat.say("😭😭😭")  # read as 「いいえ」, it would have answered a yes/no question
    assert chat.slots()[field] is None and asked(turn) == field


def test_shy_is_not_a_request_for_a_person(chat):
    chat.say("22歳です。高校中退してからバイトも続かなくて、ずっと家にいます")
    turn = chat.say("人と話すのが苦手です")  # the opposite of 「人と話したい」: no handoff
    assert not payloads(turn, "handoff") and asked(turn)


def test_no_to_the_person_question_goes_on_with_the_screening(chat):
    turn = chat.say("人と話すのが怖いです")  # shares its words with 「人と話したい」: asked, not handed off
    assert not payloads(turn, "handoff") and "職員と直接話したい" in text(turn)
    turn = chat.say("いいえ")
    assert not payloads(turn, "handoff") and asked(turn) == "consulting_for"


def test_other_language_switches_to_easy_japanese_with_interpreter(chat):
    turn = chat.say("Preciso de ajuda, perdi meu emprego")
    slots = chat.slots()
    assert slots["language"] == "pt" and slots["easy_ja"] is True and slots["interpreter"] is True
    assert "intérprete" in text(turn)
    turn = chat.say("Não entendo japonês")  # the second time: the way to a person, not the same notice
    assert "Este chat é em japonês" not in text(turn) and "人と話したい" in text(turn)
    assert "/request_human" in [b["payload"] for m in turn for b in (m.get("buttons") or [])]
    turn = chat.say("しごと が ない")
    assert asked(turn)
