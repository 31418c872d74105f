"""Statistics rows: what the builders keep (codes, a day, an age band), what they refuse, the 年度
boundaries, and the keyed case key."""
from __future__ import annotations

import os
import stat
from datetime import date, datetime, timedelta, timezone
from multiprocessing import Pool

import pytest

from bot.stats import case_key as ck
from bot.stats import fiscal
from bot.stats.events import (
    age_band, attendance_event, booking_event, check_row, handoff_event, minutes_between, outcome_event,
    referral_event, target_groups,
)

JST = timezone(timedelta(hours=9))
KEY = "a" * 64
PAYLOAD = {"type": "referral", "urgency": "normal", "interpreter": False, "referrals": [
    {"destination": "jiritsu_soudan", "name": "みどり市くらし・しごとサポートセンター", "reason": "家賃のことを一緒に考えます。"},
    {"destination": "hellowork", "name": "ハローワークみどり", "reason": "すぐに仕事を探せます。"},
]}


@pytest.mark.parametrize("day, fy", [
    (date(2027, 3, 31), 2026), (date(2027, 4, 1), 2027), (date(2026, 4, 1), 2026), (date(2026, 12, 31), 2026),
    (date(2027, 1, 1), 2026),
])
def test_fiscal_year_runs_april_to_march(day, fy):
    assert fiscal.fiscal_year(day) == fy


def test_fiscal_periods_and_labels():
    assert fiscal.period(2026) == (date(2026, 4, 1), date(2027, 3, 31))
    assert fiscal.period(2026, 3) == (date(2027, 3, 1), date(2027, 3, 31))
    assert fiscal.period(2026, 4) == (date(2026, 4, 1), date(2026, 4, 30))
    assert fiscal.period(2027, 2) == (date(2028, 2, 1), date(2028, 2, 29))  # a leap year
    assert fiscal.label(2026) == "2026年度（令和8年度）"
    assert fiscal.month_label(2026, 1) == "2027年1月"
    assert [m for _, m in fiscal.months(2026)][:2] == [4, 5] and fiscal.months(2026)[-1] == (2027, 3)


@pytest.mark.parametrize("moment, fy, month, day", [
    # 3/31 23:59 in Japan is still the old 年度, even though it is 14:59 UTC
    (datetime(2027, 3, 31, 23, 59, tzinfo=JST), 2026, 3, date(2027, 3, 31)),
    # 4/1 00:30 in Japan is already the new 年度, while UTC still says 3/31
    (datetime(2027, 3, 31, 15, 30, tzinfo=timezone.utc), 2027, 4, date(2027, 4, 1)),
    (datetime(2027, 4, 1, 0, 0, tzinfo=JST), 2027, 4, date(2027, 4, 1)),
])
def test_rows_take_the_local_day_and_its_fiscal_year(moment, fy, month, day):
    row = referral_event({"age": 46}, PAYLOAD, "line", moment, case_key=KEY)
    assert (row["day"], row["fiscal_year"], row["month"]) == (day, fy, month)
    assert type(row["day"]) is date  # never a time of day


@pytest.mark.parametrize("age, band", [(46, "40代"), (40, "40代"), (49, "40代"), (15, "10代"), (9, "10歳未満"),
                                       (93, "90代以上"), (None, "unknown"), ("declined", "unknown"), (True, "unknown"),
                                       (-3, "unknown"), (400, "unknown")])
def test_age_bands_are_ten_years_wide(age, band):
    assert age_band(age) == band


def test_referral_row_keeps_codes_only():
    now = datetime(2026, 11, 24, 21, 40, tzinfo=JST)
    slots = {"age": 46, "household": "single_parent", "children": 3, "monthly_income": 80000,
             "job_history": "食品工場で8年、山田さんの紹介で", "contact": "090-1234-5678",
             "concerns": ["job_loss", "housing", "dv"], "crisis": None,
             "first_seen": (now - timedelta(minutes=37, seconds=50)).isoformat()}
    row = referral_event(slots, PAYLOAD, "line", now, case_key=KEY, low_income_monthly=100000)
    assert row == {
        "day": date(2026, 11, 24), "fiscal_year": 2026, "month": 11, "kind": "referral", "channel": "line",
        "age_band": "40代", "household": "single_parent",
        "target_groups": ["single_parent", "low_income", "housing", "unemployed"], "flags": ["dv"],
        "destinations": ["jiritsu_soudan", "hellowork"], "urgency": "normal", "minutes_to_referral": 37,
        "outcome": None, "case_key": KEY,
    }


def test_crisis_raises_urgency_and_sets_the_rare_flag():
    now = datetime(2026, 6, 1, 2, 0, tzinfo=JST)
    row = referral_event({"crisis": "emergency"}, {**PAYLOAD, "urgency": "urgent"}, "webchat", now, case_key=KEY)
    assert row["urgency"] == "emergency" and row["flags"] == ["emergency"]
    handoff = handoff_event({"concerns": ["cancer"]}, "urgent", "telegram", now, case_key=KEY)
    assert handoff["kind"] == "handoff" and handoff["urgency"] == "urgent" and handoff["flags"] == ["cancer"]
    assert handoff["destinations"] == [] and handoff["minutes_to_referral"] is None


def test_unknown_channel_and_forged_destination_codes_are_not_stored():
    now = datetime(2026, 6, 1, 12, tzinfo=JST)
    forged = {"urgency": "normal", "referrals": [{"destination": "<script>alert(1)</script>"},
                                                 {"destination": "hellowork"}, {"destination": "山田太郎"}]}
    row = referral_event({}, forged, "山田さんのスマホ", now, case_key=KEY)
    assert row["channel"] == "other" and row["destinations"] == ["hellowork"]


@pytest.mark.parametrize("slots, dest, expected", [
    ({"concerns": ["youth"]}, [], ["youth"]),
    ({}, ["saposute"], ["youth"]),
    ({"employment_status": "retired", "concerns": ["older"]}, ["silver_center"], ["older"]),
    ({"benefits": ["disability_pension"]}, [], ["disability"]),
    ({"health": "mental_health"}, [], ["health"]),
    ({"public_assistance": "applying"}, [], ["public_assistance"]),
    ({"housing": "street"}, [], ["housing"]),
    ({"debts": True}, [], ["debt"]),
    ({"language": "pt"}, [], ["language"]),
    ({"language": "declined"}, [], []),
    ({"consulting_for": "family_member"}, [], ["family_consult"]),
    ({"monthly_income": 150000}, [], []),
    ({"monthly_income": 60000}, [], ["low_income"]),
])
def test_target_groups_follow_the_documented_derivation(slots, dest, expected):
    assert target_groups(slots, dest, low_income_monthly=100000) == expected


def test_minutes_to_referral():
    now = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
    assert minutes_between((now - timedelta(hours=2, minutes=5)).isoformat(), now) == 125
    assert minutes_between((now + timedelta(seconds=3)).isoformat(), now) == 0
    assert minutes_between("2026-06-01T12:00:00", now) is None  # no zone: unknown, not guessed
    assert minutes_between("昨日の夜", now) is None
    assert minutes_between((now - timedelta(days=400)).isoformat(), now) is None


def test_outcome_and_attendance_copy_the_last_referral():
    now = datetime(2026, 9, 1, 10, tzinfo=JST)
    base = referral_event({"age": 33, "concerns": ["youth"]}, PAYLOAD, "line", now, case_key=KEY)
    outcome = outcome_event("employed_referral", now + timedelta(days=30), case_key=KEY, base=base)
    assert outcome["kind"] == "outcome" and outcome["outcome"] == "employed_referral"
    assert outcome["age_band"] == "30代" and outcome["target_groups"] == ["youth"] and outcome["minutes_to_referral"] is None
    lonely = outcome_event("ended", now, case_key=KEY)
    assert lonely["age_band"] == "unknown" and lonely["channel"] == "other"
    mark = attendance_event("no_show", date(2026, 9, 3), "hellowork", case_key=KEY, base=base)
    assert mark["kind"] == "no_show" and mark["day"] == date(2026, 9, 3) and mark["destinations"] == ["hellowork"]
    with pytest.raises(ValueError):
        outcome_event("就職しました（山田）", now, case_key=KEY)
    booking = booking_event({"referral": PAYLOAD}, "jiritsu_soudan", "webchat", now, case_key=KEY)
    assert booking["kind"] == "booking" and booking["destinations"] == ["jiritsu_soudan"]


@pytest.mark.parametrize("change", [
    {"note": "山田さん"},  # an extra column
    {"channel": "山田さんのLINE"},
    {"age_band": "46歳"},
    {"day": datetime(2026, 6, 1, 9, 30)},  # finer than a day
    {"target_groups": ["youth", "山田"]},
    {"destinations": ["hellowork", "090-1234-5678"]},
    {"case_key": "sender-12345"},
    {"fiscal_year": 2025},
    {"outcome": "就職"},
    {"minutes_to_referral": -1},
])
def test_check_row_refuses_anything_but_codes(change):
    row = referral_event({}, PAYLOAD, "rest", datetime(2026, 6, 1, 12, tzinfo=JST), case_key=KEY)
    bad = {**row, **change}
    with pytest.raises(ValueError):
        check_row(bad)


def test_case_key_is_an_hmac_not_the_id():
    secret = b"k" * 32
    one = ck.case_key("telegram:123456789", secret)
    assert len(one) == 64 and "123456789" not in one
    assert one == ck.case_key("telegram:123456789", secret)  # the same person is counted once
    assert one != ck.case_key("telegram:123456780", secret)
    assert one != ck.case_key("telegram:123456789", b"z" * 32)  # without the key, no link
    with pytest.raises(ValueError):
        ck.case_key("", secret)


def test_secret_from_the_environment(tmp_path):
    with pytest.raises(ValueError):
        ck.load_secret({"STATS_SECRET": "short"})
    assert ck.load_secret({"STATS_SECRET": "x" * 40}) == b"x" * 40


def _load(path: str) -> bytes:
    return ck.load_secret({"STATS_KEY_FILE": path})


def test_key_file_is_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "var" / "stats.key"
    ck.forget_cached_secret()
    with Pool(4) as pool:  # processes starting together agree on one key
        keys = pool.map(_load, [str(path)] * 8)
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["stats.key"]  # no temporary file left
    ck.forget_cached_secret()
    assert _load(str(path)) == keys[0]


async def test_case_key_for_uses_the_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("STATS_SECRET", raising=False)
    monkeypatch.setenv("STATS_KEY_FILE", str(tmp_path / "stats.key"))
    ck.forget_cached_secret()
    key = await ck.case_key_for("webchat:abc")
    assert key == ck.case_key("webchat:abc", (tmp_path / "stats.key").read_text().strip().encode())
    ck.forget_cached_secret()
