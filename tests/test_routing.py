"""Routing: every row of the domain.md table, plus the guarantees the protocol relies on."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Tuple

import pytest

from bot.fields import ALL_FIELDS, DECLINED, UNKNOWN
from bot.profile import DEFAULT_PROFILE, PROTOCOL_DESTINATIONS, URGENCIES, ProfileError, load_profile
from bot.routing import MAX_REFERRALS, Decision, route
from tests.test_profile import edited_profile, rule


@pytest.fixture(scope="module")
def profile():
    return load_profile(DEFAULT_PROFILE)


@dataclass(frozen=True)
class Row:
    """One expectation: ``order`` must appear in that relative order, ``first`` leads the list."""

    intake: Mapping[str, Any]
    first: str
    order: Tuple[str, ...] = ()
    absent: Tuple[str, ...] = ()
    urgency: str = "normal"
    interpreter: bool = False
    says: Dict[str, str] = field(default_factory=dict)  # destination -> words its reason contains


ROWS: Dict[str, Row] = {
    # Hardship of any kind, not on 生活保護 -> jiritsu_soudan
    "hardship_not_on_public_assistance": Row(
        {"employment_status": "unemployed", "public_assistance": "no", "concerns": ["money"]},
        first="jiritsu_soudan"),
    "hardship_low_income_assistance_unknown": Row(
        {"monthly_income": 80000, "public_assistance": UNKNOWN}, first="jiritsu_soudan"),
    # Rent unpaid or housing lost after job loss -> jiritsu_soudan (住居確保給付金)
    "rent_arrears_after_job_loss": Row(
        {"employment_status": "unemployed", "housing": "renting", "rent_arrears_months": 2},
        first="jiritsu_soudan", says={"jiritsu_soudan": "住居確保給付金"}),
    "housing_lost_after_job_loss": Row(
        {"concerns": ["job_loss"], "housing": "company_dorm", "eviction_risk": True},
        first="human_staff", order=("human_staff", "jiritsu_soudan"), urgency="urgent",
        says={"jiritsu_soudan": "詳しい条件は窓口で確認します"}),
    # Able and willing to job-hunt now -> hellowork
    "ready_to_job_hunt": Row(
        {"age": 34, "employment_status": "unemployed", "work_readiness": "ready_now"}, first="hellowork"),
    # Able to work but anxious -> jiritsu_soudan 就労準備支援
    "able_but_anxious": Row(
        {"age": 52, "employment_status": "unemployed", "work_readiness": "needs_preparation"},
        first="jiritsu_soudan", absent=("saposute", "hellowork"), says={"jiritsu_soudan": "就労準備支援"}),
    # Young, little experience or withdrawn -> saposute beside jiritsu_soudan, resident chooses
    "young_never_worked": Row(
        {"age": 23, "employment_status": "never_worked"}, first="saposute",
        order=("saposute", "jiritsu_soudan"), says={"jiritsu_soudan": "選べます", "saposute": "15〜49歳"}),
    "young_withdrawn": Row(
        {"age": 19, "concerns": ["youth"]}, first="saposute", order=("saposute", "jiritsu_soudan")),
    "young_band_ends_at_youth_max_age": Row(
        {"age": 50, "employment_status": "never_worked"}, first="jiritsu_soudan", absent=("saposute",)),
    # 60+ wanting light work -> silver_center; otherwise Hello Work for older workers
    "older_wants_light_work": Row(
        {"age": 66, "concerns": ["older"]}, first="silver_center", order=("silver_center", "hellowork")),
    "older_job_seeker_hellowork": Row(
        {"age": 62, "work_readiness": "ready_now"}, first="hellowork", absent=("silver_center",),
        says={"hellowork": "60歳以上"}),
    # Receiving or applying for 生活保護 -> welfare_office (+ hellowork); never judged
    "public_assistance_receiving": Row(
        {"public_assistance": "receiving", "concerns": ["money"]}, first="welfare_office",
        order=("welfare_office", "hellowork"), absent=("jiritsu_soudan",)),
    "public_assistance_applying": Row(
        {"public_assistance": "applying", "employment_status": "unemployed", "rent_arrears_months": 1},
        first="welfare_office", order=("welfare_office", "hellowork"), absent=("jiritsu_soudan",)),
    # Single parent, including a DV evacuee not yet divorced -> single_parent_desk + mothers_hellowork
    "single_parent": Row(
        {"household": "single_parent", "children": 2, "employment_status": "unemployed"},
        first="single_parent_desk", order=("single_parent_desk", "mothers_hellowork")),
    "dv_evacuee_not_divorced": Row(
        {"concerns": ["dv"], "children": 1, "household": "other"}, first="human_staff",
        order=("human_staff", "single_parent_desk", "mothers_hellowork"), urgency="urgent",
        says={"single_parent_desk": "離婚の手続きが済んでいなくても"}),
    # Working single parent wanting better work -> mothers_hellowork + single_parent_desk
    "working_single_parent": Row(
        {"household": "single_parent", "employment_status": "employed_nonregular",
         "benefits": ["child_support_allowance"]},
        first="mothers_hellowork", order=("mothers_hellowork", "single_parent_desk"),
        says={"mothers_hellowork": "キャリアアップ"}),
    # Debts even when employed -> household_budget, not Hello Work first
    "debts_while_employed": Row(
        {"employment_status": "employed_regular", "debts": True, "work_readiness": "ready_now"},
        first="household_budget", order=("household_budget", "hellowork")),
    "debts_only": Row({"concerns": ["debt"]}, first="household_budget", absent=("hellowork",)),
    # Possible disability / repeated job loss -> jiritsu_soudan first, disability_employment if wished
    "possible_disability_grey_zone": Row(
        {"health": "unsure", "months_without_work": 3, "age": 51}, first="jiritsu_soudan",
        order=("jiritsu_soudan", "disability_employment"), says={"disability_employment": "ご希望があれば"}),
    "mental_health_ready_to_work": Row(
        {"health": "mental_health", "work_readiness": "ready_now", "age": 55},
        first="jiritsu_soudan", order=("jiritsu_soudan", "disability_employment")),
    # Cancer or illness, work allowed -> hellowork + jiritsu_soudan
    "cancer_can_work": Row(
        {"concerns": ["cancer"], "work_readiness": "ready_now"}, first="hellowork",
        order=("hellowork", "jiritsu_soudan"), says={"hellowork": "短時間"}),
    "illness_under_treatment": Row(
        {"health": "under_treatment", "work_readiness": "ready_now", "age": 40},
        first="hellowork", order=("hellowork", "jiritsu_soudan")),
    # Care leaver (<= care_leaver_max_age) losing housing -> urgent jiritsu_soudan
    "care_leaver_losing_housing": Row(
        {"concerns": ["care_leaver"], "age": 19, "eviction_risk": True}, first="human_staff",
        order=("human_staff", "jiritsu_soudan"), urgency="urgent", says={"jiritsu_soudan": "施設"}),
    "care_leaver_age_unknown": Row(
        {"concerns": ["care_leaver", "housing"], "age": DECLINED}, first="human_staff",
        order=("human_staff", "jiritsu_soudan"), urgency="urgent"),
    "care_leaver_over_age_not_urgent_by_itself": Row(
        {"concerns": ["care_leaver", "housing"], "age": 31}, first="jiritsu_soudan"),
    # Limited Japanese -> hellowork with an interpreter
    "limited_japanese_portuguese": Row({"language": "pt"}, first="hellowork", interpreter=True),
    "limited_japanese_concern": Row(
        {"concerns": ["language", "job_loss"], "language": UNKNOWN}, first="hellowork", interpreter=True),
    # Middle-aged job seeker -> hellowork
    "middle_aged_job_seeker": Row(
        {"age": 50, "employment_status": "unemployed", "public_assistance": "no"}, first="hellowork",
        says={"hellowork": "中高年"}),
    # A family member consults for someone else -> jiritsu_soudan
    "family_member_consults": Row(
        {"consulting_for": "family_member", "concerns": ["family"]}, first="jiritsu_soudan",
        says={"jiritsu_soudan": "家族からのご相談も受け付けています"}),
    "family_member_for_withdrawn_son": Row(
        {"consulting_for": "family_member", "age": 28, "concerns": ["youth"]}, first="jiritsu_soudan",
        order=("jiritsu_soudan", "saposute")),
    # Danger, no shelter, no food, violence -> a person, now
    "danger_emergency": Row({"crisis": "emergency"}, first="human_staff", urgency="emergency"),
    "danger_no_food_today": Row({"crisis": "urgent"}, first="human_staff", urgency="urgent"),
    "danger_sleeping_outside": Row(
        {"housing": "street"}, first="human_staff", order=("human_staff", "jiritsu_soudan"), urgency="urgent"),
    "danger_violence": Row({"concerns": ["dv"]}, first="human_staff", urgency="urgent"),
}


def codes(decision: Decision) -> Tuple[str, ...]:
    return tuple(r.destination for r in decision.referrals)


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_domain_table_row(profile, row):
    decision = route(row.intake, profile)
    got = codes(decision)
    assert got[0] == row.first, got
    assert [c for c in got if c in row.order] == list(row.order), got
    assert not set(row.absent) & set(got), got
    assert decision.urgency == row.urgency
    assert decision.interpreter is row.interpreter
    reasons = {r.destination: r.reason for r in decision.referrals}
    for code, words in row.says.items():
        assert words in reasons[code], reasons[code]


def test_public_assistance_reason_is_neutral(profile):
    """The bot never judges eligibility: receiving and applying get the very same words."""
    reasons = [route({"public_assistance": status}, profile).referrals[0].reason
               for status in ("receiving", "applying")]
    assert reasons[0] == reasons[1]
    assert not any(word in reasons[0] for word in ("受けられます", "対象になります", "受給できます"))


# --------------------------------------------------------------------------- never a dead end


@pytest.mark.parametrize("intake", [
    {},
    {name: UNKNOWN for name in ALL_FIELDS},
    {name: DECLINED for name in ALL_FIELDS} | {"concerns": [], "crisis": None},
    {"concerns": set(), "benefits": [UNKNOWN]},
    {name: DECLINED for name in ALL_FIELDS} | {"language": "ja", "consent": False, "contact": "none"},
], ids=["empty", "all_unknown", "all_declined", "empty_collections", "only_language_consent_contact"])
def test_nothing_known_still_gets_the_front_door_and_a_person(profile, intake):
    decision = route(intake, profile)
    assert codes(decision) == ("jiritsu_soudan", "human_staff")
    assert decision.urgency == "normal"


def test_something_known_but_no_rule_falls_back_to_front_door(profile):
    decision = route({"age": 30, "housing": "owned", "employment_status": "employed_regular"}, profile)
    assert codes(decision) == ("jiritsu_soudan",)


def test_non_answers_never_match_a_condition(profile):
    vague = {"age": UNKNOWN, "work_readiness": DECLINED, "public_assistance": UNKNOWN, "debts": DECLINED}
    assert codes(route(vague, profile)) == ("jiritsu_soudan", "human_staff")


# --------------------------------------------------------------------------- determinism and payload


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_deterministic(profile, row):
    again = dict(row.intake)
    if "concerns" in again:
        again["concerns"] = set(reversed(list(again["concerns"])))
    assert route(row.intake, profile) == route(row.intake, profile) == route(again, profile)


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_payload_matches_protocol(profile, row):
    payload = route(row.intake, profile).to_payload()
    assert json.loads(json.dumps(payload, ensure_ascii=False)) == payload
    assert set(payload) == {"type", "urgency", "referrals", "interpreter"}
    assert payload["type"] == "referral"
    assert payload["urgency"] in URGENCIES
    assert isinstance(payload["interpreter"], bool)
    assert isinstance(payload["referrals"], list) and payload["referrals"]
    for item in payload["referrals"]:
        assert set(item) == {"destination", "name", "reason"}
        assert item["destination"] in PROTOCOL_DESTINATIONS
        assert item["name"] == profile.destinations[item["destination"]].name
        assert isinstance(item["reason"], str) and item["reason"].endswith("。")
    destinations = [item["destination"] for item in payload["referrals"]]
    assert len(destinations) == len(set(destinations))


# --------------------------------------------------------------------------- urgency and the cap


@pytest.mark.parametrize("intake, expected", [
    ({"employment_status": "unemployed"}, "normal"),
    ({"eviction_risk": True}, "urgent"),
    ({"housing": "no_fixed_home", "public_assistance": "receiving"}, "urgent"),
    ({"crisis": "urgent", "work_readiness": "ready_now"}, "urgent"),
    ({"crisis": "emergency", "housing": "street"}, "emergency"),
    ({"crisis": "urgent", "concerns": ["dv"]}, "urgent"),
    ({"crisis": None, "eviction_risk": False}, "normal"),
])
def test_urgency_is_the_highest_signal(profile, intake, expected):
    assert route(intake, profile).urgency == expected


def test_urgency_levels_are_ordered():
    assert URGENCIES == ("normal", "urgent", "emergency")


def test_unknown_crisis_value_is_a_programming_error(profile):
    with pytest.raises(ValueError, match="crisis"):
        route({"crisis": "panic"}, profile)


KITCHEN_SINK = {
    "age": 45, "household": "single_parent", "children": 2, "employment_status": "employed_nonregular",
    "debts": True, "work_readiness": "ready_now", "health": "unsure", "monthly_income": 90000,
    "language": "pt", "consulting_for": "self",
}


def test_at_most_three_referrals(profile):
    decision = route(KITCHEN_SINK, profile)
    assert len(decision.referrals) == MAX_REFERRALS == 3
    assert decision.interpreter is True


def test_urgent_puts_a_person_first_on_top_of_the_cap(profile):
    decision = route({**KITCHEN_SINK, "eviction_risk": True}, profile)
    assert codes(decision)[0] == "human_staff"
    assert len(decision.referrals) == MAX_REFERRALS + 1
    assert codes(decision).count("human_staff") == 1
    assert decision.referrals[0].reason == profile.staff_reasons["urgent"]


def test_emergency_keeps_the_rule_reason_for_the_person(profile):
    decision = route({"crisis": "emergency", "concerns": ["dv"], "children": 1}, profile)
    assert decision.urgency == "emergency"
    assert codes(decision)[0] == "human_staff"
    danger = next(r for r in profile.rules if r.id == "danger")
    assert decision.referrals[0].reason == dict(danger.refer)["human_staff"]


# --------------------------------------------------------------------------- behaviour is data


def test_editing_the_youth_band_changes_routing_without_code(profile, tmp_path):
    forty_five = {"age": 45, "employment_status": "never_worked"}
    assert "saposute" in codes(route(forty_five, profile))
    narrower = load_profile(edited_profile(tmp_path, lambda raw: raw["thresholds"].update(youth_max_age=39)))
    assert "saposute" not in codes(route(forty_five, narrower))
    assert "15〜39歳" in narrower.faq("saposute")


def test_editing_a_rule_changes_routing_without_code(tmp_path):
    def debts_to_jiritsu_first(raw):
        r = rule(raw, "debts")
        r["refer"] = ["jiritsu_soudan", "household_budget"]
        r["reason"] = {"jiritsu_soudan": "まず総合窓口でお話をうかがいます。", **r["reason"]}

    edited = load_profile(edited_profile(tmp_path, debts_to_jiritsu_first))
    assert codes(route({"concerns": ["debt"]}, edited))[:2] == ("jiritsu_soudan", "household_budget")


@pytest.mark.parametrize("edit, expected", [
    (lambda raw: rule(raw, "youth")["refer"].append("aftercare"), "aftercare"),
    (lambda raw: raw["destinations"].pop("household_budget"), "destinations.household_budget"),
], ids=["unknown_destination_in_rule", "missing_destination"])
def test_broken_profile_fails_clearly(tmp_path, edit, expected):
    with pytest.raises(ProfileError, match=expected):
        load_profile(edited_profile(tmp_path, edit))
