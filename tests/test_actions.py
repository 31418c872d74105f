"""The rasa-sdk actions called directly, as the action server calls them (async, real profile,
real extraction, a real database for handoff tickets)."""
from __future__ import annotations

import os
import uuid
from typing import Any, Dict, List

import pytest
from sqlalchemy import text
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.asking import ask_payload
from bot.actions.booking import ValidateBookingForm
from bot.actions.conversation import ActionStop
from bot.actions.handoff import ActionHandback, ActionHandoff, ActionSafetyCheck, ActionSafetyResponse, ActionStaffMessage
from bot.actions.referral import ActionRoute, ActionShowOffices
from bot.actions.screening import ActionResume, ActionStartIntake, ValidateIntakeForm
from bot.db import engine as db_engine
from bot.db.handoffs import open_ticket, tickets_for
from rasa.shared.core.domain import Domain

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Read before any fixture points DATABASE_URL at a temporary SQLite file.
PG_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    return Domain.load(os.path.join(ROOT, "domain.yml")).as_dict()


@pytest.fixture(autouse=True)
def sqlite_db(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'intake.db'}")
    db_engine.get_engine.cache_clear()
    yield
    db_engine.get_engine.cache_clear()


def tracker(text: str, intent: str, slots: Dict[str, Any] | None = None, *, form: str | None = "intake_form",
            sender: str = "resident-1", entities: List[Dict[str, Any]] | None = None,
            events: List[Dict[str, Any]] | None = None) -> Tracker:
    return Tracker.from_dict({
        "sender_id": sender,
        "slots": slots or {},
        "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.9},
                           "entities": entities or [], "message_id": f"m-{abs(hash(text))}"},
        "events": events or [],
        "paused": False,
        "latest_event_time": None,
        "followup_action": None,
        "active_loop": {"name": form} if form else {},
        "latest_action_name": "action_listen",
        "latest_input_channel": "rest",
    })


def slot_sets(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def customs(dispatcher: CollectingDispatcher, kind: str) -> List[Dict[str, Any]]:
    return [m["custom"] for m in dispatcher.messages if m.get("custom", {}).get("type") == kind]


async def test_validation_fills_every_field_and_asks_the_next_missing_one(domain):
    d = CollectingDispatcher()
    events = await ValidateIntakeForm().run(d, tracker("46歳で子ども3人、1年5か月働いてないです", "job_loss", {"requested_slot": "age"}), domain)
    got = slot_sets(events)
    assert (got["age"], got["children"], got["months_without_work"], got["employment_status"]) == (46, 3, 17, "unemployed")
    assert got["requested_slot"] not in {"age", "children", "months_without_work", "employment_status"}
    # The same action call asks the next question: its text and buttons, then the ask payload.
    asks = customs(d, "ask")
    assert [a["field"] for a in asks] == [got["requested_slot"]]
    question = next(m for m in d.messages if m.get("text") and m.get("buttons"))
    assert [b["payload"] for b in question["buttons"]] == [c["payload"] for c in asks[0]["choices"]]
    assert got["answered_by"]["age"] == "typed"
    assert got["answered_by"]["employment_status"] == "inferred"  # said in passing, not asked


async def test_quick_reply_payload_and_non_answers(domain):
    t = tracker('/inform{"housing": "renting"}', "inform", {"requested_slot": "housing"},
                entities=[{"entity": "housing", "value": "renting"}])
    got = slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), t, domain))
    assert (got["housing"], got["answered_by"]["housing"]) == ("renting", "button")
    t = tracker("/decline_answer", "decline_answer", {"requested_slot": "monthly_income"})
    assert slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), t, domain))["monthly_income"] == "declined"
    t = tracker("よくわからないです", "dont_know", {"requested_slot": "public_assistance"})
    assert slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), t, domain))["public_assistance"] == "unknown"


async def test_side_question_is_answered_and_the_question_kept(domain):
    d = CollectingDispatcher()
    events = await ValidateIntakeForm().run(d, tracker("相談ってお金かかりますか", "ask_cost", {"consulting_for": "self", "requested_slot": "age"}), domain)
    assert "無料" in d.messages[0]["text"]
    assert slot_sets(events)["requested_slot"] == "age"
    assert [a["field"] for a in customs(d, "ask")] == ["age"]  # and back to the same question


@pytest.mark.parametrize("field, no, follow_up", [("employment_status", "unemployed", "どんな働き方か"),
                                                   ("benefits", ["none"], "どの手当や給付か")])
async def test_yes_or_no_to_a_choice_question(domain, field, no, follow_up):
    slots = {"consulting_for": "self", "age": 65, "requested_slot": field}
    answer = slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), tracker("いいえ", "deny", slots), domain))
    assert answer[field] == no  # 「お仕事はされていますか？」「いいえ」
    d = CollectingDispatcher()
    yes = slot_sets(await ValidateIntakeForm().run(d, tracker("はい", "affirm", slots), domain))
    assert field not in yes and follow_up in d.messages[0]["text"]  # which one, not 「すみません」
    assert customs(d, "ask")  # and a question follows


@pytest.mark.parametrize("extra, starts", [({"consulting_for": "family_member"}, "ご本人は今、お仕事"),
                                            ({"consulting_for": "self"}, "今、お仕事"),
                                            ({"consulting_for": "family_member", "easy_ja": True}, "いま しごと")])
async def test_a_family_consultation_asks_about_the_person_concerned(domain, extra, starts):
    slots = {"age": 28, "requested_slot": "age", **extra}
    d = CollectingDispatcher()
    await ValidateIntakeForm().run(d, tracker("28歳です", "inform", slots), domain)
    asked = [m for m in d.messages if m.get("buttons")][0]
    assert asked["text"].startswith(starts)  # 「ご本人は…」: the resident is not the one asked about
    assert customs(d, "ask")[0]["field"] == "employment_status"


async def test_almost_done_is_said_once_not_again_with_the_same_question(domain):
    slots = {"consulting_for": "self", "age": 40, "employment_status": "unemployed", "months_without_work": 3,
             "housing": "renting", "eviction_risk": False, "rent_arrears_months": 0, "household": "alone", "children": 0,
             "monthly_income": 0, "public_assistance": "no", "benefits": ["none"], "health": "good", "debts": False,
             "work_readiness": "ready_now"}
    first, again = CollectingDispatcher(), CollectingDispatcher()
    await ValidateIntakeForm().run(first, tracker("工場で5年働いていました", "inform", {**slots, "requested_slot": "job_history"}), domain)
    assert customs(first, "ask")[0]["field"] == "work_preferences"
    assert any(m.get("text") == "あと少しです。" for m in first.messages)
    done = {**slots, "job_history": "工場で5年働いていました", "requested_slot": "work_preferences"}
    await ValidateIntakeForm().run(again, tracker("ありがとうございます", "thank", done), domain)  # not an answer
    assert customs(again, "ask")[0]["field"] == "work_preferences"
    assert not any(m.get("text") == "あと少しです。" for m in again.messages)


@pytest.mark.parametrize("whom, says, not_says", [("self", "年齢を教えてください", "ご家族"),
                                                  ("family_member", "ご本人（ご相談の方）の年齢", None)])
async def test_the_age_question_mentions_family_only_when_it_may_apply(domain, whom, says, not_says):
    d = CollectingDispatcher()
    await ValidateIntakeForm().run(d, tracker("/inform{\"consulting_for\": \"%s\"}" % whom, "inform",
                                              {"requested_slot": "consulting_for"}, entities=[{"entity": "consulting_for", "value": whom}]), domain)
    (question,) = [m["text"] for m in d.messages if "年齢" in (m.get("text") or "")]
    assert says in question and (not_says is None or not_says not in question)


async def test_back_in_the_form_after_a_misunderstanding_the_same_question_comes_again(domain):
    # In work (パート), so months_without_work does not apply; it is still the domain's first empty slot.
    slots = {"consulting_for": "self", "age": 38, "employment_status": "employed_nonregular", "housing": "renting",
             "eviction_risk": False, "rent_arrears_months": 0, "household": "single_parent", "children": 2,
             "youngest_child_age": 4, "monthly_income": 100000, "public_assistance": "no",
             "benefits": ["child_support_allowance"], "health": "good", "requested_slot": "debts"}
    after_fallback = tracker("元気です", "nlu_fallback", slots).current_state()
    after_fallback["latest_action_name"] = "action_fallback"
    d = CollectingDispatcher()
    events = await ValidateIntakeForm().run(d, Tracker.from_dict(after_fallback), domain)
    assert slot_sets(events) == {"requested_slot": "debts"}  # ours, not Rasa's months_without_work
    assert [a["field"] for a in customs(d, "ask")] == ["debts"]  # asked again, with its buttons
    answer = slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), tracker("ない", "deny", slots), domain))
    assert answer["debts"] is False and "months_without_work" not in answer


@pytest.mark.parametrize("intent", ["inform", "ask_privacy", "deny"])
async def test_no_contact_typed_is_an_answer_whatever_the_classifier_said(domain, intent):
    slots = {"consulting_for": "self", "consent": True, "requested_slot": "contact"}
    d = CollectingDispatcher()
    events = await ValidateIntakeForm().run(d, tracker("連絡先はない", intent, slots), domain)
    assert slot_sets(events)["contact"] == "none"
    assert not any("秘密" in (m.get("text") or "") for m in d.messages)  # an answer, not a question to answer


async def test_an_answer_to_another_question_is_kept_and_said_back(domain):
    slots = {"consulting_for": "self", "age": 28, "employment_status": "unemployed", "requested_slot": "months_without_work"}
    d = CollectingDispatcher()
    events = await ValidateIntakeForm().run(d, tracker("実家です", "inform", slots), domain)
    assert slot_sets(events)["housing"] == "with_family"
    assert "お住まいは「家族の家」ですね" in d.messages[0]["text"]  # heard, although the question comes again
    assert [a["field"] for a in customs(d, "ask")] == ["months_without_work"]
    d = CollectingDispatcher()
    await ValidateIntakeForm().run(d, tracker("3か月です", "inform", slots), domain)
    assert not any("ですね" in (m.get("text") or "") for m in d.messages)  # the asked field: no echo


@pytest.mark.parametrize("text, intent", [("ひみつ は まもられますか", "ask_privacy"), ("秘密は守られますか", "ask_privacy"),
                                          ("開いてる時間がわからないです", "ask_hours")])
async def test_a_question_about_the_service_declines_nothing(domain, text, intent):
    slots = {"consulting_for": "self", "age": 45, "employment_status": "unemployed", "requested_slot": "months_without_work"}
    d = CollectingDispatcher()
    got = slot_sets(await ValidateIntakeForm().run(d, tracker(text, intent, slots), domain))
    assert "months_without_work" not in got
    assert got["requested_slot"] == "months_without_work"
    assert [a["field"] for a in customs(d, "ask")] == ["months_without_work"]


async def test_keeping_an_answer_secret_still_declines_it(domain):
    slots = {"consulting_for": "self", "age": 45, "employment_status": "unemployed", "requested_slot": "months_without_work"}
    got = slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), tracker("それは秘密です", "decline_answer", slots), domain))
    assert got["months_without_work"] == "declined"


async def test_correction_is_confirmed(domain):
    d = CollectingDispatcher()
    events = await ValidateIntakeForm().run(d, tracker("やっぱり45歳です", "correct", {"age": 46, "requested_slot": "housing"}), domain)
    assert slot_sets(events)["age"] == 45
    assert any("45歳" in (m.get("text") or "") for m in d.messages)


async def test_rent_paid_told_aside_is_confirmed_and_not_asked_again(domain):
    """「アパートで家賃は払えてます」 to the income question: renting, no arrears (「なし」, not 「0か月」)."""
    d = CollectingDispatcher()
    slots = {"consulting_for": "self", "age": 34, "employment_status": "employed_nonregular", "requested_slot": "monthly_income"}
    got = slot_sets(await ValidateIntakeForm().run(d, tracker("アパートで家賃は払えてます", "inform", slots), domain))
    assert got["housing"] == "renting" and got["rent_arrears_months"] == 0
    said = " ".join(m.get("text") or "" for m in d.messages)
    assert "家賃の滞納は「なし」" in said and "0か月" not in said
    assert "rent_arrears_months" not in [a["field"] for a in customs(d, "ask")]


async def test_a_small_age_out_of_turn_is_not_the_residents_age(domain):
    """「5歳」 typed while the bot asks about the home: the youngest child's age, not 「年齢を「5歳」に直しました」."""
    d = CollectingDispatcher()
    slots = {"consulting_for": "self", "age": 34, "children": 2, "housing": "renting", "requested_slot": "eviction_risk"}
    got = slot_sets(await ValidateIntakeForm().run(d, tracker("5歳", "inform", slots), domain))
    assert "age" not in got and got["youngest_child_age"] == 5
    assert not any("直しました" in (m.get("text") or "") for m in d.messages)


@pytest.mark.parametrize("intent", ["crisis_emergency", "urgent_need", "request_human", "stop", "start_over"])
async def test_form_rejects_turns_that_rules_must_answer(domain, intent):
    assert await ValidateIntakeForm().run(CollectingDispatcher(), tracker("…", intent, {"requested_slot": "age"}), domain) == []


async def test_a_problem_leaves_the_booking_form_unless_it_answers_the_question(domain):
    d = CollectingDispatcher()
    asked_number = tracker("しごとが みつからなくて こまってます", "job_loss", {"requested_slot": "booking_reference",
                           "booking_mode": "cancel"}, form="booking_form")
    assert await ValidateBookingForm().run(d, asked_number, domain) == [] and d.messages == []  # no 「見つかりません」
    asked_time = tracker("来週の火曜の午後、仕事探しの相談がしたいです", "want_job", {"requested_slot": "booking_slot",
                         "booking_mode": "new", "booking_destination": "hellowork"}, form="booking_form")
    assert slot_sets(await ValidateBookingForm().run(CollectingDispatcher(), asked_time, domain))["booking_wish"]


async def test_validation_is_idempotent_for_the_same_message(domain):
    t = tracker("52歳です", "inform", {"requested_slot": "age"})
    first = slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), t, domain))
    again = tracker("52歳です", "inform", {**first})
    d = CollectingDispatcher()
    second = slot_sets(await ValidateIntakeForm().run(d, again, domain))
    assert "age" not in second
    # Only the next question again (as after a side question), no second confirmation of the age.
    assert [a["field"] for a in customs(d, "ask")] == [second["requested_slot"]]
    assert not any("52" in (m.get("text") or "") for m in d.messages)


async def test_start_intake_promises_free_and_confidential(domain):
    d = CollectingDispatcher()
    events = await ActionStartIntake().run(d, tracker("家賃が2か月払えていません", "housing_trouble", form=None), domain)
    said = d.messages[0]["text"]
    assert "無料" in said and "秘密" in said
    got = slot_sets(events)
    assert got["rent_arrears_months"] == 2 and got["first_seen"]


async def test_start_intake_says_the_booking_was_left_only_when_it_was(domain):
    booking = [{"event": "active_loop", "name": "booking_form"}, {"event": "user", "text": "しごとが みつからない"},
               {"event": "action", "name": "action_deactivate_loop"}, {"event": "active_loop", "name": None}]
    done_earlier = [{"event": "active_loop", "name": "booking_form"}, {"event": "active_loop", "name": None},
                    {"event": "user", "text": "しごとが みつからない"}]
    said = {}
    for name, events in (("left", booking), ("earlier", done_earlier)):
        t = tracker("しごとが みつからない", "want_job", form=None)
        t.events = events
        d = CollectingDispatcher()
        await ActionStartIntake().run(d, t, domain)
        said[name] = " ".join(m.get("text") or "" for m in d.messages)
    assert "予約の手続きはいったん止めて" in said["left"] and "予約" not in said["earlier"]


async def test_stop_keeps_the_answers_and_offers_a_listening_line_not_119(domain):
    d = CollectingDispatcher()
    events = await ActionStop().run(d, tracker("また後で", "stop", {"age": 45, "first_seen": "2026-12-06T22:00:00+09:00"}), domain)
    said = d.messages[0]["text"]
    assert "保存" in said and "続きから" in said
    assert "よりそいホットライン" in said and "119" not in said
    assert not any(e.get("name") == "age" for e in events)  # nothing answered is dropped


def test_ask_payload_matches_protocol(domain):
    assert ask_payload("age", domain) == {"type": "ask", "field": "age", "input": "number"}
    housing = ask_payload("housing", domain)
    assert housing["field"] == "housing" and {c["payload"] for c in housing["choices"]} >= {'/inform{"housing": "street"}'}


async def test_route_sends_referral_payload(domain):
    d = CollectingDispatcher()
    slots = {"age": 66, "employment_status": "retired", "work_readiness": "ready_now", "public_assistance": "no",
             "housing": "owned", "concerns": ["older"]}
    events = await ActionRoute().run(d, tracker("/inform", "inform", slots, form=None), domain)
    (payload,) = customs(d, "referral")
    assert payload["type"] == "referral" and payload["urgency"] == "normal"
    assert "silver_center" in [r["destination"] for r in payload["referrals"]]
    assert slot_sets(events)["referral"] == payload
    again = CollectingDispatcher()  # 「答えたくない」 after it: the same decision is not sent twice
    assert await ActionRoute().run(again, tracker("答えたくない", "decline_answer", {**slots, "referral": payload}, form=None), domain) == []
    assert not customs(again, "referral") and "変わりません" in again.messages[0]["text"] and again.messages[0]["buttons"]
    resumed = CollectingDispatcher()  # 「続きから」 asks to see it again
    await ActionRoute().run(resumed, tracker("続きから", "resume", {**slots, "referral": payload}, form=None), domain)
    assert customs(resumed, "referral") == [payload]


async def test_emergency_sends_contacts_and_records_a_ticket(domain):
    d = CollectingDispatcher()
    t = tracker("46歳です。もう死にたい", "crisis_emergency", {"requested_slot": "age"}, sender="resident-crisis")
    events = await ActionSafetyResponse().run(d, t, domain)
    (handoff,) = customs(d, "handoff")
    assert handoff["urgency"] == "emergency" and handoff["ticket"]
    assert {"0120-279-338", "110", "119"} <= {c["phone"] for c in handoff["contacts"]}
    assert not customs(d, "ask")
    got = slot_sets(events)
    assert got["crisis"] == "emergency" and got["age"] == 46
    (row,) = await tickets_for(db_engine.get_engine(), "resident-crisis")
    assert row.ticket == handoff["ticket"] and row.urgency == "emergency" and row.summary["fields"]["age"] == 46
    assert row.summary["sources"]["age"] == "typed" and row.summary["urgency"] == "emergency"
    async with db_engine.get_engine().connect() as conn:  # the anonymous statistics row
        (stat,) = (await conn.execute(text("select kind, urgency, age_band, flags from stat_events"))).all()
    assert stat[:3] == ("handoff", "emergency", "40代") and "emergency" in stat[3]


async def test_violence_at_home_shows_the_violence_lines(domain):
    d = CollectingDispatcher()
    t = tracker("夫から殴られることがあって、家にいるのが怖いです", "urgent_need", form=None, sender="resident-dv")
    t.latest_message["safety"] = {"level": "urgent", "signals": ["fleeing_violence"]}
    await ActionSafetyResponse().run(d, t, domain)
    said = d.messages[0]["text"]
    assert "安全" in said and "DV相談＋" in said and "寝る場所" not in said
    (handoff,) = customs(d, "handoff")
    assert handoff["urgency"] == "urgent" and "0120-279-889" in {c["phone"] for c in handoff["contacts"]}


def _after(action: str) -> List[Dict[str, Any]]:
    """The events of a bot turn that ran ``action``, then the resident's 「続きから」."""
    return [{"event": "action", "name": action}, {"event": "bot", "text": "…"}, {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "/resume", "parse_data": {"intent": {"name": "resume"}}}]


@pytest.mark.parametrize("before, welcome", [("action_stop", True), ("action_greet", True),
                                             ("action_handoff", False), ("action_fallback", False)])
async def test_resume_welcomes_back_only_a_resident_who_left(domain, before, welcome):
    d = CollectingDispatcher()
    await ActionResume().run(d, tracker("/resume", "resume", {"age": 40}, form=None, events=_after(before)), domain)
    assert ("おかえりなさい" in d.messages[0]["text"]) is welcome, d.messages


async def test_request_for_person_reuses_the_open_ticket(domain):
    first, second = CollectingDispatcher(), CollectingDispatcher()
    await ActionHandoff().run(first, tracker("人と話したい", "request_human", form=None, sender="resident-2"), domain)
    await ActionHandoff().run(second, tracker("まだですか", "request_human", form=None, sender="resident-2"), domain)
    assert customs(first, "handoff")[0]["ticket"] == customs(second, "handoff")[0]["ticket"]
    assert len(await tickets_for(db_engine.get_engine(), "resident-2")) == 1


@pytest.mark.parametrize("text", ["人と話すのがつらいみたいです", "人見知りで、人と話すのが苦手です"])
async def test_finding_people_hard_is_asked_about_before_any_ticket(domain, text):
    d = CollectingDispatcher()
    events = await ActionHandoff().run(d, tracker(text, "request_human", sender="resident-shy"), domain)
    assert events == [] and not customs(d, "handoff")  # no ticket, no pause
    assert [b["payload"] for b in d.messages[0]["buttons"]] == ["/request_human", "/resume"]
    assert await tickets_for(db_engine.get_engine(), "resident-shy") == []
    await ActionHandoff().run(d, tracker("/request_human", "request_human", sender="resident-shy"), domain)
    assert len(await tickets_for(db_engine.get_engine(), "resident-shy")) == 1  # the button: a person


async def test_finding_people_hard_answers_the_question_asked(domain):
    d = CollectingDispatcher()
    t = tracker("人と話すのが怖いです", "request_human", {"consulting_for": "self", "requested_slot": "health_notes"})
    events = await ValidateIntakeForm().run(d, t, domain)
    assert slot_sets(events)["health_notes"] == "人と話すのが怖いです"  # the form goes on; no person called
    assert await tickets_for(db_engine.get_engine(), "resident-1") == []


@pytest.mark.parametrize("now, says", [
    ("2026-11-30T11:00:00+09:00", "相談窓口は今、受付時間内です"),  # a Monday: the city desk is open, サポステ is not
    ("2026-11-23T23:00:00+09:00", "次に開くのは 11月24日(火) 8:45"),  # 勤労感謝の日, 23:00
])
async def test_office_list_gives_each_office_and_when_the_city_desk_opens(domain, monkeypatch, now, says):
    monkeypatch.setenv("INTAKE_NOW", now)
    referral = {"referrals": [{"destination": "jiritsu_soudan"}, {"destination": "saposute"}, {"destination": "human_staff"}]}
    d = CollectingDispatcher()
    await ActionShowOffices().run(d, tracker("/show_offices", "show_offices", {"referral": referral}, form=None), domain)
    texts = [m["text"] for m in d.messages]
    assert [t.split("】")[0] for t in texts[:2]] == ["【みどり市くらし・しごとサポートセンター（自立相談支援機関）", "【みどり地域若者サポートステーション"]
    assert "火〜土" in texts[1] and texts[2].startswith("みどり市の相談窓口") and says in texts[2]


async def test_request_in_office_hours_is_live_and_pauses_the_bot(domain, monkeypatch):
    monkeypatch.setenv("INTAKE_NOW", "2026-11-24T10:00:00+09:00")  # a Tuesday morning
    d = CollectingDispatcher()
    events = await ActionHandoff().run(d, tracker("人と話したい", "request_human", sender="resident-live"), domain)
    (payload,) = customs(d, "handoff")
    assert payload["mode"] == "live"
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "pause" and "active_loop" in kinds  # the form is left before pausing
    assert slot_sets(events)["handoff_live"] is True


async def test_request_at_night_on_a_holiday_is_a_callback_with_the_next_opening(domain, monkeypatch):
    monkeypatch.setenv("INTAKE_NOW", "2026-11-23T23:00:00+09:00")  # 勤労感謝の日, 23:00
    d = CollectingDispatcher()
    events = await ActionHandoff().run(d, tracker("人と話したい", "request_human", sender="resident-night"), domain)
    (payload,) = customs(d, "handoff")
    assert payload["mode"] == "callback" and "pause" not in [e["event"] for e in events]
    assert "11月24日(火) 8:45" in d.messages[0]["text"]
    (row,) = await tickets_for(db_engine.get_engine(), "resident-night")
    assert row.mode == "callback" and row.callback_after.isoformat().startswith("2026-11-2")


async def test_staff_message_is_delivered_marked_as_a_person_and_cleared(domain):
    d = CollectingDispatcher()
    events = await ActionStaffMessage().run(d, tracker("", "", {"staff_message": "支援員の山田です。お話を聞かせてください。"}), domain)
    assert d.messages[0]["text"] == "支援員の山田です。お話を聞かせてください。"
    assert d.messages[0]["custom"] == {"type": "staff_message", "name": "支援員"}
    assert slot_sets(events) == {"staff_message": None}
    empty = CollectingDispatcher()
    await ActionStaffMessage().run(empty, tracker("", "", {"staff_message": "  "}), domain)
    assert empty.messages == []


async def test_handback_offers_to_go_on(domain):
    d = CollectingDispatcher()
    events = await ActionHandback().run(d, tracker("", "", {"handoff_live": True}, form=None), domain)
    assert slot_sets(events) == {"handoff_live": False}
    assert events[-1]["event"] == "action" and events[-1]["name"] == "action_listen"
    assert "/resume" in [b["payload"] for b in d.messages[0]["buttons"]]


@pytest.mark.postgres
async def test_handoff_store_on_postgresql():
    if not PG_URL:
        pytest.skip("DATABASE_URL does not name a PostgreSQL database (.ci/run sets it)")
    engine = db_engine.get_engine(PG_URL)
    sender = f"pg-{uuid.uuid4().hex}"
    row = await open_ticket(engine, sender_id=sender, channel="rest", urgency="urgent", mode="callback",
                            reason="no_shelter", callback_after=None, summary={"age": 30})
    again = await open_ticket(engine, sender_id=sender, channel="rest", urgency="emergency", mode="callback",
                              reason="suicidal", callback_after=None, summary={"age": 30})
    assert again.ticket == row.ticket and again.urgency == "emergency"
    await engine.dispose()


async def test_quick_reply_payload_does_not_switch_language(domain):
    t = tracker('/inform{"consulting_for": "family_member"}', "inform", {"requested_slot": "consulting_for"},
                entities=[{"entity": "consulting_for", "value": "family_member"}])
    got = slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), t, domain))
    assert got["consulting_for"] == "family_member"
    assert "easy_ja" not in got and "language" not in got


@pytest.mark.parametrize("text, intent", [("相談ってお金かかりますか？", "ask_cost"), ("ありがとうございます", "thank"),
                                          ("こんにちは", "greet")])
async def test_free_text_question_does_not_swallow_other_messages(domain, text, intent):
    t = tracker(text, intent, {"consulting_for": "self", "requested_slot": "job_history"})
    assert "job_history" not in slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), t, domain))


async def test_free_text_answer_and_no(domain):
    t = tracker("工場で5年、派遣で働いていました", "inform", {"requested_slot": "job_history"})
    assert slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), t, domain))["job_history"].startswith("工場で5年")
    t = tracker("いいえ", "deny", {"requested_slot": "health_notes"})
    assert slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), t, domain))["health_notes"] == "なし"


@pytest.mark.parametrize("text, intent", [("ある", "ask_location"), ("少しあります", "inform"), ("はい", "affirm")])
async def test_a_bare_yes_to_a_free_text_question_asks_for_the_content(domain, text, intent):
    d = CollectingDispatcher()
    t = tracker(text, intent, {"consulting_for": "self", "requested_slot": "health_notes"})
    assert "health_notes" not in slot_sets(await ValidateIntakeForm().run(d, t, domain))
    said = "\n".join(m.get("text") or "" for m in d.messages)
    assert "内容を書いてください" in said and "住所" not in said  # no office address for 「ある」
    assert len(customs(d, "ask")) == 1  # and the screening goes on


@pytest.mark.parametrize("text, wrong_intent, field, value", [
    ("収入はゼロです", "decline_answer", "monthly_income", 0),
    ("元気です", "decline_answer", "health", "good"),
    ("ひとり暮らしです", "single_parent", "household", "alone"),
])
async def test_the_words_beat_a_misclassified_intent(domain, text, wrong_intent, field, value):
    t = tracker(text, wrong_intent, {"consulting_for": "self", "requested_slot": field})
    got = slot_sets(await ValidateIntakeForm().run(CollectingDispatcher(), t, domain))
    assert got[field] == value
    assert "single_parent" not in (got.get("concerns") or [])


async def test_safety_check_asks_with_the_lines_and_opens_no_ticket(domain):
    d = CollectingDispatcher()
    events = await ActionSafetyCheck().run(d, tracker("死ぬほど忙しかった", "safety_check", sender="resident-check"), domain)
    assert events == [] and not customs(d, "handoff")
    assert "0120-279-338" in d.messages[0]["text"]
    assert [b["payload"] for b in d.messages[0]["buttons"]] == ["/crisis_emergency", "/request_human", "/resume"]
    assert await tickets_for(db_engine.get_engine(), "resident-check") == []


@pytest.mark.parametrize("now, hello", [("2026-11-23T23:10:00+09:00", "こんばんは。"),
                                        ("2026-11-24T07:30:00+09:00", "おはようございます。"),
                                        ("2026-11-24T14:00:00+09:00", "こんにちは。"),
                                        ("2026-11-24T02:00:00+00:00", "こんにちは。")])  # 11:00 in Tokyo
async def test_greeting_follows_the_local_hour(domain, monkeypatch, now, hello):
    from bot.actions.conversation import ActionGreet

    monkeypatch.setenv("INTAKE_NOW", now)
    d = CollectingDispatcher()
    await ActionGreet().run(d, tracker("こんばんは", "greet", form=None), domain)
    assert d.messages[0]["text"].startswith(hello)
    assert "無料" in d.messages[0]["text"] and "秘密" in d.messages[0]["text"]
