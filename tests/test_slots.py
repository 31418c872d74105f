"""Which consultation slots exist and which a resident is offered (bot/slots.py, pure)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot import slots
from bot.profile import DEFAULT_PROFILE, load_profile
from tests.test_profile import edited_profile

JST = ZoneInfo("Asia/Tokyo")
UTC = timezone.utc


@pytest.fixture(scope="module")
def profile():
    return load_profile(DEFAULT_PROFILE)


def jst(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=JST)


def days_with_slots(code, profile, first, last):
    return sorted({s.local_day for s in slots.generate(code, profile, first, last)})


# --------------------------------------------------------------------------- closed days


def test_year_end_closes_12_29_to_1_3(profile):
    assert days_with_slots("jiritsu_soudan", profile, date(2026, 12, 28), date(2027, 1, 5)) == [
        date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 5)]


def test_coming_of_age_day_is_closed(profile):
    # 2027-01-11 is 成人の日 (a Monday); the Friday before and the Tuesday after are open.
    assert days_with_slots("jiritsu_soudan", profile, date(2027, 1, 8), date(2027, 1, 12)) == [
        date(2027, 1, 8), date(2027, 1, 12)]


def test_golden_week_2027(profile):
    # 4/29 昭和の日 (Thu), 5/3–5/5 憲法記念日・みどりの日・こどもの日 (Mon–Wed).
    assert days_with_slots("jiritsu_soudan", profile, date(2027, 4, 28), date(2027, 5, 7)) == [
        date(2027, 4, 28), date(2027, 4, 30), date(2027, 5, 6), date(2027, 5, 7)]
    # サポステ opens on Saturday 5/1 (no holiday), but not on the holidays of its own week.
    assert days_with_slots("saposute", profile, date(2027, 4, 28), date(2027, 5, 7)) == [
        date(2027, 4, 28), date(2027, 4, 30), date(2027, 5, 1), date(2027, 5, 6), date(2027, 5, 7)]


def test_city_closure_and_office_closure(profile):
    # 2026-08-14 is a city closure (Friday); サポステ also closes on 8/13 (its own closures).
    assert days_with_slots("jiritsu_soudan", profile, date(2026, 8, 12), date(2026, 8, 15)) == [
        date(2026, 8, 12), date(2026, 8, 13)]
    assert days_with_slots("saposute", profile, date(2026, 8, 12), date(2026, 8, 15)) == [
        date(2026, 8, 12), date(2026, 8, 15)]


def test_per_destination_opening_days(profile):
    saturday, monday = date(2027, 1, 16), date(2027, 1, 18)
    assert slots.is_open_day("saposute", saturday, profile)
    assert not slots.is_open_day("saposute", monday, profile)
    assert not slots.is_open_day("jiritsu_soudan", saturday, profile)
    assert slots.is_open_day("jiritsu_soudan", monday, profile)
    assert not slots.is_open_day("saposute", date(2027, 1, 17), profile)  # Sunday


def test_a_city_closure_added_to_the_profile(tmp_path):
    city = load_profile(edited_profile(tmp_path, lambda raw: raw["closed"]["dates"].append("2027-03-10")))
    assert not slots.is_open_day("hellowork", date(2027, 3, 10), city)
    assert slots.is_open_day("hellowork", date(2027, 3, 10), load_profile(DEFAULT_PROFILE))


# --------------------------------------------------------------------------- the slots of a day


def test_slots_of_a_day_follow_opening_length_and_lunch(profile):
    day = slots.generate("jiritsu_soudan", profile, date(2027, 1, 12), date(2027, 1, 12))
    assert [s.local_start.strftime("%H:%M") for s in day] == [
        "08:45", "09:35", "10:25", "13:00", "13:50", "14:40", "15:30", "16:20"]
    for s in day:
        assert s.start.tzinfo == UTC and s.end - s.start == timedelta(minutes=50)
        assert s.capacity == s.left == 3 and s.destination == "jiritsu_soudan"
        assert not (s.local_start.time() < time(13) and s.local_end.time() > time(12))  # lunch
        assert s.local_end.time() <= time(17, 15)


def test_saposute_saturday_slots_and_labels(profile):
    day = slots.generate("saposute", profile, date(2027, 1, 16), date(2027, 1, 16))
    assert day[0].label() == "1月16日(土) 10:00〜10:50"
    assert day[0].iso_local() == ("2027-01-16T10:00:00+09:00", "2027-01-16T10:50:00+09:00")
    assert day[0].start == datetime(2027, 1, 16, 1, 0, tzinfo=UTC)
    assert day[-1].local_end.time() <= time(18)
    assert all(s.capacity == 2 for s in day)


def test_slot_length_is_per_destination(profile):
    (first, *_) = slots.generate("human_staff", profile, date(2027, 1, 12), date(2027, 1, 12))
    assert first.end - first.start == timedelta(minutes=30)


def test_unknown_destination_is_a_clear_error(profile):
    with pytest.raises(ValueError, match="unknown destination"):
        slots.generate("nowhere", profile, date(2027, 1, 12), date(2027, 1, 12))


# --------------------------------------------------------------------------- what a resident is offered


def test_min_notice_and_urgent_window_start_today(profile):
    now = jst(2027, 1, 12, 9, 30)  # Tuesday morning; 10:25 is less than an hour ahead
    (first,) = slots.free_slots("jiritsu_soudan", profile, now, {}, urgency="urgent", limit=1)
    assert first.local_start == jst(2027, 1, 12, 13, 0)
    assert slots.check("jiritsu_soudan", profile, now, jst(2027, 1, 12, 10, 25), jst(2027, 1, 12, 11, 15),
                       urgency="urgent") == "too_soon"


def test_normal_cases_start_after_the_days_held_for_urgent_ones(profile):
    now = jst(2027, 1, 12, 9, 30)
    assert slots.held_days("jiritsu_soudan", profile, now) == (date(2027, 1, 12), date(2027, 1, 13))
    (first,) = slots.free_slots("jiritsu_soudan", profile, now, {}, limit=1)
    assert first.local_start == jst(2027, 1, 14, 8, 45)
    assert slots.check("jiritsu_soudan", profile, now, jst(2027, 1, 13, 8, 45), jst(2027, 1, 13, 9, 35)) \
        == "held_for_urgent"
    assert slots.check("jiritsu_soudan", profile, now, jst(2027, 1, 13, 8, 45), jst(2027, 1, 13, 9, 35),
                       urgency="urgent") is None


def test_friday_evening_before_a_holiday_weekend(profile):
    # After Friday's last slot: Mon 1/11 is a holiday, so the urgent days are Tue and Wed.
    now = jst(2027, 1, 8, 17, 0)
    assert slots.held_days("jiritsu_soudan", profile, now) == (date(2027, 1, 12), date(2027, 1, 13))
    (urgent,) = slots.free_slots("jiritsu_soudan", profile, now, {}, urgency="urgent", limit=1)
    assert urgent.local_start == jst(2027, 1, 12, 8, 45)
    (normal,) = slots.free_slots("jiritsu_soudan", profile, now, {}, limit=1)
    assert normal.local_start == jst(2027, 1, 14, 8, 45)


def test_no_hold_when_urgent_first_days_is_zero(tmp_path):
    city = load_profile(edited_profile(tmp_path, lambda raw: raw["booking"].update(urgent_first_days=0)))
    (first,) = slots.free_slots("jiritsu_soudan", city, jst(2027, 1, 12, 9, 30), {}, limit=1)
    assert first.local_start == jst(2027, 1, 12, 13, 0)


def test_window_days_bounds_the_search(profile):
    now = jst(2027, 1, 12, 9, 30)
    found = slots.free_slots("jiritsu_soudan", profile, now, {}, urgency="urgent")
    assert found[-1].local_day < date(2027, 1, 12) + timedelta(days=90)
    assert found[-1].local_day >= date(2027, 1, 12) + timedelta(days=80)
    assert slots.check("jiritsu_soudan", profile, now, jst(2027, 6, 1, 8, 45), jst(2027, 6, 1, 9, 35)) \
        == "out_of_window"
    assert [s.start for s in found] == sorted(s.start for s in found)


def test_taken_seats_hide_full_slots_and_count_the_rest(profile):
    now = jst(2027, 1, 12, 9, 30)
    first, second, third = slots.free_slots("jiritsu_soudan", profile, now, {}, limit=3)
    taken = {first.start: 3, second.start.astimezone(JST): 1}  # keys in any zone mean the same instant
    got = slots.free_slots("jiritsu_soudan", profile, now, taken, limit=2)
    assert [s.start for s in got] == [second.start, third.start]
    assert (got[0].left, got[1].left) == (2, 3)


def test_predicate_limit_and_unbookable_destinations(profile):
    now = jst(2027, 1, 12, 9, 30)
    no_saturday = slots.free_slots("saposute", profile, now, {}, limit=10,
                                   predicate=lambda s: s.local_start.weekday() != 5)
    assert len(no_saturday) == 10 and all(s.local_start.weekday() != 5 for s in no_saturday)
    evenings = slots.free_slots("saposute", profile, now, {}, limit=3, predicate=lambda s: s.local_start.hour >= 16)
    assert [s.local_start.strftime("%H:%M") for s in evenings] == ["16:30"] * 3
    assert slots.free_slots("silver_center", profile, now, {}) == []
    assert slots.free_slots("jiritsu_soudan", profile, now, {}, limit=0) == []


def test_check_names_why_a_time_cannot_be_booked(profile):
    now = jst(2027, 1, 12, 9, 30)
    check = lambda code, s, e, **kw: slots.check(code, profile, now, s, e, **kw)  # noqa: E731
    assert check("jiritsu_soudan", jst(2027, 1, 11, 8, 45), jst(2027, 1, 11, 9, 35)) == "past"
    assert check("jiritsu_soudan", jst(2027, 1, 18, 8, 50), jst(2027, 1, 18, 9, 40)) == "not_a_slot"
    assert check("jiritsu_soudan", jst(2027, 1, 16, 10, 0), jst(2027, 1, 16, 10, 50)) == "closed"  # Saturday
    assert check("saposute", jst(2027, 1, 16, 10, 0), jst(2027, 1, 16, 10, 50)) is None
    assert check("saposute", jst(2027, 1, 16, 10, 0), jst(2027, 1, 16, 11, 0)) == "not_a_slot"  # wrong end
    assert check("silver_center", jst(2027, 1, 18, 8, 30), jst(2027, 1, 18, 9, 20)) == "not_bookable"
    assert check("nowhere", jst(2027, 1, 18, 8, 30), jst(2027, 1, 18, 9, 20)) == "unknown_destination"
    with pytest.raises(ValueError):
        check("jiritsu_soudan", datetime(2027, 1, 18, 8, 45), datetime(2027, 1, 18, 9, 35))


def test_find_slot(profile):
    slot = slots.find_slot("saposute", profile, jst(2027, 1, 16, 14, 0))
    assert slot is not None and slot.local_end == jst(2027, 1, 16, 14, 50)
    assert slots.find_slot("saposute", profile, jst(2027, 1, 16, 13, 0)) is None  # lunch
