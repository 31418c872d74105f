"""Loading and validating the municipality profile: a city's edit must work or fail loudly."""
from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import date, time
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import yaml

from bot.profile import (
    DEFAULT_PROFILE,
    FAQ_KEYS,
    PROFILE_ENV,
    PROTOCOL_DESTINATIONS,
    ProfileError,
    load_profile,
)

_names = itertools.count()


def edited_profile(tmp_path: Path, edit: Callable[[Dict[str, Any]], None]) -> Path:
    """A copy of the sample profile with ``edit`` applied, under a fresh name (loads are cached)."""
    raw = yaml.safe_load(DEFAULT_PROFILE.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / f"city{next(_names)}.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def rule(raw: Dict[str, Any], rule_id: str) -> Dict[str, Any]:
    return next(r for r in raw["routing"]["rules"] if r["id"] == rule_id)


@pytest.fixture(scope="module")
def profile():
    return load_profile(DEFAULT_PROFILE)


# --------------------------------------------------------------------------- the sample profile


def test_sample_profile_has_the_ten_protocol_destinations(profile):
    assert set(PROTOCOL_DESTINATIONS) <= set(profile.destinations)
    for code, dest in profile.destinations.items():
        assert dest.code == code
        assert dest.name and dest.short_name and dest.address and dest.phone and dest.description
        assert dest.slot_minutes > 0 and dest.capacity > 0
        assert isinstance(dest.bookable, bool)
    assert profile.destinations["jiritsu_soudan"].slot_minutes == 50
    assert "pt" in profile.destinations["hellowork"].languages


def test_sample_profile_office_hours_and_closures(profile):
    assert profile.municipality.name == "みどり市"
    assert profile.municipality.timezone == "Asia/Tokyo"
    assert profile.office_hours.days == (0, 1, 2, 3, 4)
    assert (profile.office_hours.open, profile.office_hours.close) == (time(8, 45), time(17, 15))
    assert profile.closed.weekends and profile.closed.national_holidays
    assert (profile.closed.year_end_start, profile.closed.year_end_end) == ((12, 29), (1, 3))
    assert all(isinstance(day, date) for day in profile.closed.dates)


def test_sample_opening_per_destination(profile):
    saposute, disability = profile.opening("saposute"), profile.opening("disability_employment")
    assert saposute.days == (1, 2, 3, 4, 5) and (saposute.open, saposute.close) == (time(10), time(18))
    assert disability.days == (0, 1, 2, 3, 4) and (disability.open, disability.close) == (time(9), time(17, 30))
    assert profile.opening("jiritsu_soudan") == profile.office_hours  # no own opening: the city's hours
    assert profile.destinations["jiritsu_soudan"].lunch == (time(12), time(13))
    assert date(2026, 8, 13) in profile.destinations["saposute"].closures


def test_sample_booking_rules(profile):
    rules = profile.booking
    assert (rules.window_days, rules.min_notice_minutes, rules.urgent_first_days) == (90, 60, 2)
    assert rules.reminder_time == time(18)
    assert profile.bring("jiritsu_soudan").startswith("本人確認できるもの（なくても相談できます）")
    assert "履歴書" in profile.bring("hellowork")  # a destination's own text wins


def test_booking_section_is_optional(tmp_path):
    city = load_profile(edited_profile(tmp_path, lambda raw: raw.pop("booking")))
    assert city.booking.window_days == 90 and city.booking.reminder_time == time(18)
    assert "本人確認" in city.bring("saposute")


def test_sample_thresholds(profile):
    assert profile.thresholds.as_dict() == {
        "youth_min_age": 15, "youth_max_age": 49, "silver_min_age": 60,
        "care_leaver_max_age": 25, "middle_age_min": 45, "low_income_monthly": 100000,
    }


def test_crisis_lines_are_the_real_national_numbers(profile):
    phones = {c.phone for c in profile.crisis_contacts}
    assert {"119", "110", "0120-279-338", "0570-783-556", "0570-064-556", "0120-279-889"} <= phones
    assert profile.urgent_contacts and all(c.hours for c in profile.urgent_contacts)


def test_sample_numbers_are_fictional(profile):
    for dest in profile.destinations.values():
        assert dest.phone.startswith("000-"), dest.code


@pytest.mark.parametrize("key", FAQ_KEYS)
def test_faq_has_polite_and_easy_answers(profile, key):
    text, easy = profile.faq(key), profile.faq(key, easy=True)
    assert text != easy
    assert text.endswith("。") and ("です" in text or "ます" in text)
    assert "{" not in text + easy  # placeholders were filled


def test_faq_saposute_follows_the_age_band(profile):
    assert "15〜49歳" in profile.faq("saposute")


def test_unknown_faq_names_the_key(profile):
    with pytest.raises(KeyError, match="weather"):
        profile.faq("weather")


def test_every_reason_is_one_polite_sentence(profile):
    rules = [*profile.rules, profile.fallback, profile.nothing_known]
    reasons = [reason for r in rules for _, reason in r.refer] + list(profile.staff_reasons.values())
    for reason in reasons:
        assert reason.endswith("。") and reason.count("。") == 1, reason
        assert re.search("(ます|です)。$", reason), reason


def test_disability_is_only_ever_offered_if_wished(profile):
    for r in profile.rules:
        for code, reason in r.refer:
            assert "障害" not in reason, r.id
            if code == "disability_employment":
                assert reason.startswith("ご希望があれば"), r.id


def test_profile_is_frozen(profile):
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.thresholds.youth_max_age = 30  # type: ignore[misc]
    with pytest.raises(TypeError):
        profile.destinations["saposute"] = None  # type: ignore[index]


# --------------------------------------------------------------------------- where it is loaded from


def test_load_is_cached_per_path(profile):
    assert load_profile(DEFAULT_PROFILE) is profile
    assert load_profile(str(DEFAULT_PROFILE)) is profile


def test_default_path_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    assert load_profile().path == DEFAULT_PROFILE
    city = edited_profile(tmp_path, lambda raw: raw["municipality"].update(name="あおば町"))
    monkeypatch.setenv(PROFILE_ENV, str(city))
    assert load_profile().municipality.name == "あおば町"


def test_a_city_may_add_its_own_destination(tmp_path):
    def add_aftercare(raw):
        raw["destinations"]["aftercare"] = dict(raw["destinations"]["jiritsu_soudan"], name="アフターケア相談")
        rule(raw, "care_leaver_losing_housing")["refer"].append("aftercare")
        rule(raw, "care_leaver_losing_housing")["reason"]["aftercare"] = "施設を出た方の暮らしを続けて支えます。"

    assert "aftercare" in load_profile(edited_profile(tmp_path, add_aftercare)).destinations


# --------------------------------------------------------------------------- errors name the bad key


_DELETE = object()


def _set(path: str, value: Any) -> Callable[[Dict[str, Any]], None]:
    def edit(raw):
        *parents, last = path.split(".")
        for key in parents:
            raw = raw[key]
        if value is _DELETE:
            del raw[last]
        else:
            raw[last] = value
    return edit


def _edit_rule(rule_id: str, **changes: Any) -> Callable[[Dict[str, Any]], None]:
    return lambda raw: rule(raw, rule_id).update(changes)

BROKEN = {
    "missing_destination": (_set("destinations.saposute", _DELETE), "destinations.saposute: missing"),
    "destination_missing_field": (_set("destinations.hellowork.phone", _DELETE), "destinations.hellowork.phone"),
    "unquoted_phone": (_set("destinations.hellowork.phone", 110), "destinations.hellowork.phone"),
    "bad_language": (_set("destinations.hellowork.languages", ["portuguese"]), "portuguese"),
    "unknown_destination_in_rule": (
        _edit_rule("debts", refer=["nowhere"], reason={"nowhere": "どこでもない場所です。"}), "nowhere"),
    "reason_missing": (_edit_rule("youth", reason={"saposute": "若い方の場所です。"}), "reason.jiritsu_soudan"),
    "unknown_field": (_edit_rule("debts", when={"salary": 0}), "salary"),
    "unknown_code": (_edit_rule("no_place_to_live", when={"housing": "stret"}), "stret"),
    "unknown_concern": (_edit_rule("debts", when={"concerns": "gambling"}), "gambling"),
    "unknown_threshold": (_edit_rule("older_job_seeker", when={"age": {"gte": "silver_age"}}), "silver_age"),
    "gte_on_text": (_edit_rule("debts", when={"housing": {"gte": 1}}), "gte needs a number field"),
    "unknown_operator": (_edit_rule("debts", when={"age": {"between": [1, 2]}}), "between"),
    "rule_key_typo": (_edit_rule("debts", prority=3), "prority"),
    "bad_urgency": (_edit_rule("danger", urgency="urgen"), "urgen"),
    "bad_placeholder": (_edit_rule("ready_to_job_hunt", reason={"hellowork": "{youth_max}歳までです。"}), "youth_max"),
    "duplicate_rule_id": (_edit_rule("debts", id="youth"), "duplicate rule id"),
    "threshold_missing": (_set("thresholds.middle_age_min", _DELETE), "thresholds.middle_age_min"),
    "threshold_not_a_number": (_set("thresholds.youth_max_age", "49歳"), "thresholds.youth_max_age"),
    "threshold_negative": (_set("thresholds.low_income_monthly", -1), "thresholds.low_income_monthly"),
    "youth_band_upside_down": (_set("thresholds.youth_min_age", 50), "thresholds.youth_min_age"),
    "threshold_typo": (_set("thresholds.youth_max", 40), "thresholds.youth_max"),
    "bad_time": (_set("office_hours.open", "8時45分"), "office_hours.open"),
    "bad_year_end": (_set("closed.year_end.start", "12-32"), "closed.year_end.start"),
    "bad_timezone": (_set("municipality.timezone", "Asia/Midori"), "municipality.timezone"),
    "faq_missing": (_set("faq.cost", _DELETE), "faq.cost: missing"),
    "faq_without_easy_ja": (_set("faq.privacy", {"text": "秘密は守られます。"}), "faq.privacy.easy_ja"),
    "no_fallback": (_set("routing.fallback", _DELETE), "routing.fallback"),
    "staff_reason_missing": (_set("routing.staff_reason", {"urgent": "すぐ連絡します。"}), "routing.staff_reason.emergency"),
    "no_crisis_contacts": (_set("crisis_contacts", []), "crisis_contacts"),
    "opening_bad_day": (_set("destinations.saposute.opening", {"days": ["saturday"], "open": "10:00", "close": "18:00"}),
                        "destinations.saposute.opening.days[0]"),
    "opening_upside_down": (_set("destinations.saposute.opening", {"days": ["sat"], "open": "18:00", "close": "10:00"}),
                            "destinations.saposute.opening.close"),
    "opening_missing_close": (_set("destinations.saposute.opening", {"days": ["sat"], "open": "10:00"}),
                              "destinations.saposute.opening.close: missing"),
    "lunch_not_a_span": (_set("destinations.jiritsu_soudan.lunch", "お昼"), "destinations.jiritsu_soudan.lunch"),
    "lunch_upside_down": (_set("destinations.jiritsu_soudan.lunch", "13:00-12:00"), "destinations.jiritsu_soudan.lunch"),
    "closure_not_a_date": (_set("destinations.saposute.closures", ["8月13日"]), "destinations.saposute.closures[0]"),
    "destination_key_typo": (_set("destinations.saposute.openning", {}), "destinations.saposute.openning"),
    "booking_key_typo": (_set("booking.window", 30), "booking.window"),
    "booking_window_zero": (_set("booking.window_days", 0), "booking.window_days"),
    "booking_notice_negative": (_set("booking.min_notice_minutes", -5), "booking.min_notice_minutes"),
    "booking_urgent_days_too_many": (_set("booking.urgent_first_days", 90), "booking.urgent_first_days"),
    "booking_reminder_hour": (_set("booking.reminder_hour", "18時"), "booking.reminder_hour"),
    "booking_bring_empty": (_set("booking.bring", ""), "booking.bring"),
}


@pytest.mark.parametrize("edit, expected", BROKEN.values(), ids=BROKEN.keys())
def test_broken_profile_names_the_bad_key(tmp_path, edit, expected):
    path = edited_profile(tmp_path, edit)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "nowhere.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("municipality: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(bad)
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ProfileError, match="expected a mapping"):
        load_profile(empty)
