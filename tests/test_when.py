"""Residents' replies to a slot offer, read as a Japanese speaker means them (bot/when.py).

Three fixed moments: a Monday night that is also a national holiday (勤労感謝の日), the year end,
and late February (month end, no 2月29日 in 2027). Every expectation is the whole WhenRequest, so
an extra constraint the resident did not say fails the test too.
"""
from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.when import (
    INVALID_DATE, PAST, UNPARSED, VAGUE, WhenRequest, describe, matches, normalize_reply, parse_when,
)

JST = ZoneInfo("Asia/Tokyo")
MON = datetime(2026, 11, 23, 23, 10, tzinfo=JST)  # Monday night, 勤労感謝の日
YEAR_END = datetime(2026, 12, 30, 10, 0, tzinfo=JST)  # Wednesday; this week runs to Sunday 1/3
FEB = datetime(2027, 2, 25, 9, 0, tzinfo=JST)  # Thursday; 2027 is not a leap year
NOWS = {"mon": MON, "year_end": YEAR_END, "feb": FEB}

AM = {"time_from": time(5, 0), "time_to": time(12, 0)}
PM = {"time_from": time(12, 0), "time_to": time(18, 0)}
EVENING = {"time_from": time(15, 0), "time_to": time(18, 0)}
NEXT_WEEK = {"date_from": date(2026, 11, 30), "date_to": date(2026, 12, 6)}
WEEKDAYS = (0, 1, 2, 3, 4)


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def at(*hhmm: str) -> tuple:
    return tuple(time(*map(int, x.split(":"))) for x in hhmm)


CASES = [
    # --- the examples (said on Monday 11/23 at 23:10)
    ("明日の午後", "mon", dict(dates=(d(11, 24),), **PM)),
    ("来週の火曜10時", "mon", dict(dates=(d(12, 1),), at=at("10:00"))),
    ("12/3", "mon", dict(dates=(d(12, 3),))),
    ("3日の14時半", "mon", dict(dates=(d(12, 3),), at=at("14:30"))),
    ("土曜は無理", "mon", dict(excluded_weekdays=(5,))),
    ("なるべく早く", "mon", dict(asap=True)),
    ("夕方なら", "mon", dict(**EVENING)),
    # --- bad input from the issue
    ("11月1日", "mon", dict(dates=(d(11, 1),), problem=PAST)),  # 22 days ago, not next November
    ("2月30日", "mon", dict(problem=INVALID_DATE)),
    ("来週のどこか", "mon", dict(**NEXT_WEEK)),  # a usable window, not vague
    ("", "mon", dict(problem=UNPARSED)),
    ("   \u200b\n", "mon", dict(problem=UNPARSED)),
    ("😀🙏✨", "mon", dict(problem=UNPARSED)),
    ("<script>alert('予約')</script>", "mon", dict(problem=UNPARSED)),
    ("Can I book an appointment, please?", "mon", dict(problem=UNPARSED)),
    ("13月1日", "mon", dict(problem=INVALID_DATE)),
    ("25時", "mon", dict(problem=INVALID_DATE)),
    ("10:75", "mon", dict(problem=INVALID_DATE)),
    ("いつか", "mon", dict(problem=VAGUE)),
    ("まだわからないです", "mon", dict(problem=VAGUE)),
    ("昨日", "mon", dict(problem=PAST)),
    ("こんにちは", "mon", dict(problem=UNPARSED)),
    ("よろしくお願いします", "mon", dict(problem=UNPARSED)),
    # --- spellings: hiragana, kanji numerals, full width, HTML around real content
    ("あしたのごご", "mon", dict(dates=(d(11, 24),), **PM)),
    ("らいしゅうのかようびのじゅうじはん", "mon", dict(dates=(d(12, 1),), at=at("10:30"))),
    ("みっかのごぜん", "mon", dict(dates=(d(12, 3),), **AM)),
    ("十二月三日の午後二時", "mon", dict(dates=(d(12, 3),), at=at("14:00"))),
    ("１２／３", "mon", dict(dates=(d(12, 3),))),
    ("１４：３０でお願いします", "mon", dict(at=at("14:30"))),
    ("<b>明日</b>の午後", "mon", dict(dates=(d(11, 24),), **PM)),
    ("ごごさんじ", "mon", dict(at=at("15:00"))),
    ("つぎのげつようび", "mon", dict(dates=(d(11, 30),))),
    # --- dates
    ("12月3日(木)の10時", "mon", dict(dates=(d(12, 3),), at=at("10:00"))),
    ("3月1日", "mon", dict(dates=(d(3, 1, 2027),))),
    ("あさって", "mon", dict(dates=(d(11, 25),))),
    ("明後日の朝", "mon", dict(dates=(d(11, 25),), time_from=time(5, 0), time_to=time(10, 0))),
    ("今週の金曜", "mon", dict(dates=(d(11, 27),))),
    ("次の火曜", "mon", dict(dates=(d(11, 24),))),
    ("3日か4日", "mon", dict(dates=(d(12, 3), d(12, 4)))),
    ("明日か金曜", "mon", dict(dates=(d(11, 24), d(11, 27)))),
    ("来週の月曜から水曜", "mon", dict(dates=(d(11, 30), d(12, 1), d(12, 2)))),
    ("できれば来週の火曜か木曜の午後", "mon", dict(dates=(d(12, 1), d(12, 3)), **PM)),
    ("来月の3日", "mon", dict(dates=(d(12, 3),))),
    ("3日後", "mon", dict(dates=(d(11, 26),))),
    ("12月10日以降の平日", "mon", dict(date_from=d(12, 10), weekdays=WEEKDAYS)),
    ("12月下旬", "mon", dict(date_from=d(12, 21), date_to=d(12, 31))),
    ("2日から5日の午後", "mon", dict(date_from=d(12, 2), date_to=d(12, 5), **PM)),
    ("今日", "mon", dict(dates=(d(11, 23),))),
    ("今日の10時", "mon", dict(dates=(d(11, 23),), at=at("10:00"), problem=PAST)),
    ("今日の午後", "mon", dict(dates=(d(11, 23),), **PM, problem=PAST)),
    # --- weekdays
    ("火曜の10時", "mon", dict(weekdays=(1,), at=at("10:00"))),
    ("月曜か水曜", "mon", dict(weekdays=(0, 2))),
    ("平日ならいつでも", "mon", dict(weekdays=WEEKDAYS)),
    ("平日は仕事なので土曜", "mon", dict(weekdays=(5,))),
    # --- times
    ("3時", "mon", dict(at=at("15:00"))),  # a bare 3 o'clock appointment is in the afternoon
    ("8時", "mon", dict(at=at("8:00"))),
    ("12時", "mon", dict(at=at("12:00"))),
    ("朝9時", "mon", dict(at=at("9:00"))),
    ("夕方5時", "mon", dict(at=at("17:00"))),
    ("夜7時", "mon", dict(at=at("19:00"))),
    ("10時から12時", "mon", dict(time_from=time(10, 0), time_to=time(12, 0))),
    ("9時から5時", "mon", dict(time_from=time(9, 0), time_to=time(17, 0))),
    ("14時ごろ", "mon", dict(time_from=time(13, 30), time_to=time(14, 30))),
    ("15時以降", "mon", dict(time_from=time(15, 0))),
    ("午後3時まで", "mon", dict(time_to=time(15, 0))),
    ("午前中がいい", "mon", dict(**AM)),
    ("午後から", "mon", dict(time_from=time(12, 0))),
    ("なるべく早く、午前中で", "mon", dict(asap=True, **AM)),
    # --- anything, and exclusions
    ("いつでも", "mon", dict()),
    ("一番早いので", "mon", dict(asap=True)),
    ("月曜以外", "mon", dict(excluded_weekdays=(0,))),
    ("来週は月曜以外", "mon", dict(**NEXT_WEEK, excluded_weekdays=(0,))),
    ("来週の月曜以外", "mon", dict(excluded_dates=(d(11, 30),))),
    ("土日以外の午後", "mon", dict(excluded_weekdays=(5, 6), **PM)),
    ("3日と4日は無理", "mon", dict(excluded_dates=(d(12, 3), d(12, 4)))),
    ("水曜はちょっと", "mon", dict(excluded_weekdays=(2,))),
    ("午前は無理", "mon", dict(time_from=time(12, 0))),
    ("明日じゃなくて明後日", "mon", dict(dates=(d(11, 25),))),
    ("金曜日以外ならいつでも", "mon", dict(excluded_weekdays=(4,))),
    ("土日は子どもがいるので無理です", "mon", dict(excluded_weekdays=(5, 6))),  # the reason does not end it
    ("明日、あさっては無理", "mon", dict(excluded_dates=(d(11, 24), d(11, 25)))),  # a list, both excluded
    ("来週以降は無理", "mon", dict(date_to=d(11, 29))),
    # 「〜以外は無理」「〜じゃないと無理」「〜しか」 mean "only", not "except"
    ("明日以外は無理", "mon", dict(dates=(d(11, 24),))),
    ("明日じゃないと無理です", "mon", dict(dates=(d(11, 24),))),
    ("水曜日しか行けません", "mon", dict(weekdays=(2,))),
    ("どようびはむり", "mon", dict(excluded_weekdays=(5,))),
    ("すぐには無理", "mon", dict(problem=UNPARSED)),  # not "as soon as possible"
    ("これなら大丈夫", "mon", dict(problem=UNPARSED)),  # これな is not 来れない
    ("じゅうにがつついたちのごぜんくじ", "mon", dict(dates=(d(12, 1),), at=at("9:00"))),
    ("アシタノゴゴ", "mon", dict(dates=(d(11, 24),), **PM)),
    ("ごごにじはんごろ", "mon", dict(time_from=time(14, 0), time_to=time(15, 0))),
    ("10時〜", "mon", dict(time_from=time(10, 0))),
    ("月・水・金", "mon", dict(weekdays=(0, 2, 4))),
    ("月〜金の午前", "mon", dict(weekdays=WEEKDAYS, **AM)),
    ("一日も早くお願いします", "mon", dict(asap=True)),  # not the 1st of December
    ("12月3日か4日", "mon", dict(dates=(d(12, 3), d(12, 4)))),
    ("今週末", "mon", dict(date_from=d(11, 28), date_to=d(11, 29))),
    ("来週月曜", "mon", dict(dates=(d(11, 30),))),
    ("11月30日（月）午後2時〜", "mon", dict(dates=(d(11, 30),), time_from=time(14, 0))),
    # --- windows and bounds
    ("12月1日から12月5日まで", "mon", dict(date_from=d(12, 1), date_to=d(12, 5))),
    ("来週の水曜以降", "mon", dict(date_from=d(12, 2))),
    ("来週の後半", "mon", dict(date_from=d(12, 3), date_to=d(12, 6))),
    ("12月の火曜日", "mon", dict(date_from=d(12, 1), date_to=d(12, 31), weekdays=(1,))),
    ("毎週火曜", "mon", dict(weekdays=(1,))),
    ("夕方5時以降", "mon", dict(time_from=time(17, 0))),
    ("3日か4日の午後", "mon", dict(dates=(d(12, 3), d(12, 4)), **PM)),
    ("明日の10時か14時", "mon", dict(dates=(d(11, 24),), at=at("10:00", "14:00"))),
    ("今日の10時か明日の14時", "mon", dict(dates=(d(11, 24),), at=at("14:00"))),  # today's 10:00 is gone
    # --- the year end (Wednesday 12/30)
    ("1月5日", "year_end", dict(dates=(d(1, 5, 2027),))),
    ("12月25日", "year_end", dict(dates=(d(12, 25),), problem=PAST)),
    ("3日", "year_end", dict(dates=(d(1, 3, 2027),))),
    ("31日", "year_end", dict(dates=(d(12, 31),))),
    ("来週の火曜10時", "year_end", dict(dates=(d(1, 5, 2027),), at=at("10:00"))),
    ("12/28〜1/5", "year_end", dict(date_from=d(12, 30), date_to=d(1, 5, 2027))),
    ("今週", "year_end", dict(date_from=d(12, 30), date_to=d(1, 3, 2027))),
    ("年明け", "year_end", dict(date_from=d(1, 1, 2027), date_to=d(1, 15, 2027))),
    ("明日か金曜", "year_end", dict(dates=(d(12, 31), d(1, 1, 2027)))),
    # --- late February (Thursday 2/25, 9:00)
    ("2月30日", "feb", dict(problem=INVALID_DATE)),
    ("2月29日", "feb", dict(problem=INVALID_DATE)),
    ("4月31日", "feb", dict(problem=INVALID_DATE)),
    ("2月28日", "feb", dict(dates=(d(2, 28, 2027),))),
    ("にがつにじゅうはちにち", "feb", dict(dates=(d(2, 28, 2027),))),
    ("30日", "feb", dict(dates=(d(3, 30, 2027),))),
    ("28日", "feb", dict(dates=(d(2, 28, 2027),))),
    ("25日", "feb", dict(dates=(d(2, 25, 2027),))),
    ("24日", "feb", dict(dates=(d(3, 24, 2027),))),
    ("来月の31日", "feb", dict(dates=(d(3, 31, 2027),))),
    ("月末", "feb", dict(date_from=d(2, 25, 2027), date_to=d(2, 28, 2027))),
    ("来週の水曜日の午後2時", "feb", dict(dates=(d(3, 3, 2027),), at=at("14:00"))),
    ("今日の10時", "feb", dict(dates=(d(2, 25, 2027),), at=at("10:00"))),
    ("今日の8時", "feb", dict(dates=(d(2, 25, 2027),), at=at("8:00"), problem=PAST)),
    ("12/3", "feb", dict(dates=(d(12, 3),), problem=PAST)),  # December was under three months ago
]


@pytest.mark.parametrize("text,now,expected", CASES, ids=[f"{c[1]}:{c[0][:20]}" for c in CASES])
def test_parse_when(text, now, expected):
    assert parse_when(text, NOWS[now]) == WhenRequest(**expected)


def test_paired_phrases_become_alternatives():
    fri_evening_or_sat_morning = WhenRequest(alternatives=(
        WhenRequest(weekdays=(4,), **EVENING),
        WhenRequest(weekdays=(5,), time_from=time(5, 0), time_to=time(10, 0)),
    ))
    assert parse_when("金曜の夕方か土曜の朝", MON) == fri_evening_or_sat_morning
    assert parse_when("明日の10時か明後日の14時", MON) == WhenRequest(alternatives=(
        WhenRequest(dates=(d(11, 24),), at=at("10:00")),
        WhenRequest(dates=(d(11, 25),), at=at("14:00")),
    ))
    long_reply = "すみません、来週の水曜日の午後2時ごろか、木曜日の午前中だと助かります。土日は子どもがいるので無理です。"
    # 「土日は無理」 is excluded, and needs no mention once only a Wednesday and a Thursday remain
    assert parse_when(long_reply, MON) == WhenRequest(alternatives=(
        WhenRequest(dates=(d(12, 2),), time_from=time(13, 30), time_to=time(14, 30)),
        WhenRequest(dates=(d(12, 3),), **AM),  # 木曜 of 来週, said once
    ))
    assert parse_when("来週の水曜の午後か木曜の午前、ただし3日は無理", MON) == WhenRequest(
        dates=(d(12, 2),), **PM)


def test_enough_cases():
    assert len({(c[0], c[1]) for c in CASES}) >= 60


def test_leap_day_exists_in_a_leap_year():
    assert parse_when("2月29日", datetime(2028, 2, 1, 12, 0, tzinfo=JST)) == WhenRequest(dates=(date(2028, 2, 29),))


def test_now_in_another_timezone_uses_the_tokyo_day():
    # 2026-11-23 15:00 UTC is already 11/24 00:00 in Tokyo: 明日 is 11/25.
    now = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
    assert parse_when("明日", now).dates == (date(2026, 11, 25),)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        parse_when("明日", datetime(2026, 11, 23, 12, 0))


def test_huge_input_is_capped_but_keeps_what_comes_first():
    assert parse_when("あ" * 10_000, MON) == WhenRequest(problem=UNPARSED)
    assert parse_when("明日の午後で" + "お願いします" * 2_000, MON) == WhenRequest(dates=(d(11, 24),), **PM)
    # a date far beyond the parsed prefix is not read
    assert parse_when("あ" * 5_000 + "明日", MON).problem == UNPARSED
    assert len(normalize_reply("x" * 10_000)) <= 200


def test_binary_and_control_characters():
    junk = "".join(chr(c) for c in range(0, 32)) + "\ufffd\x7f" + bytes(range(128, 256)).decode("latin-1")
    assert parse_when(junk, MON).problem == UNPARSED
    assert parse_when("明日\x00の\u200b午後", MON) == WhenRequest(dates=(d(11, 24),), **PM)


def test_random_fragments_never_raise_and_stay_consistent():
    """Seeded fragments of real date words, digits and symbols glued at random (contradictions,
    huge numbers, half expressions): every result is a coherent request, describe and matches work."""
    import random

    rng = random.Random(20261123)
    tokens = list("0123456789/:~-・、。()（） ") + [
        "月", "日", "時", "分", "半", "年", "午前", "午後", "夕方", "朝", "夜", "明日", "明後日", "今日", "来週",
        "今週", "来月", "火曜", "土曜", "(木)", "は", "の", "か", "から", "まで", "以降", "ごろ", "以外", "無理",
        "なら", "しか", "なるべく早く", "いつでも", "いつか", "上旬", "末", "後半", "日後", "週間後", "十", "二",
        "令和", "2026", "9999", "31", "32", "29", "13", "25", "60", "99999999", "あした", "ごご", "じゅうじ",
        "みっか", "土日", "平日", "月・水", "年明け", "月末", "週明け", "😀", "<b>"]
    for _ in range(1500):
        text = "".join(rng.choice(tokens) for _ in range(rng.randint(1, 10)))
        now = MON + timedelta(days=rng.randint(-400, 800), minutes=rng.randint(0, 1440))
        req = parse_when(text, now)
        assert req.problem in (None, PAST, INVALID_DATE, VAGUE, UNPARSED)
        assert req.time_from is None or req.time_to is None or req.time_from < req.time_to, (text, now)
        if req.problem is None:
            assert req.date_from is None or req.date_to is None or req.date_from <= req.date_to, (text, now)
        assert isinstance(describe(req, now), str)
        start = now + timedelta(days=rng.randint(0, 60))
        matches(req, start, start + timedelta(minutes=50))


def test_phone_numbers_are_not_dates():
    assert parse_when("090-1234-5678", MON).problem == UNPARSED


def test_parallel_calls_give_the_same_answers():
    texts = [c[0] for c in CASES if c[1] == "mon"]
    expected = [parse_when(t, MON) for t in texts]
    results: dict = {}

    def worker(k: int) -> None:
        results[k] = [parse_when(t, MON) for t in texts]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(results[k] == expected for k in range(4))


def test_import_builds_nothing_and_pulls_no_rasa():
    code = ("import sys, bot.when as w; "
            "print(w._PARSER is None, 'ja_timex' in sys.modules, any(m.startswith('rasa') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=".").stdout
    assert out.split() == ["True", "False", "False"]


# --------------------------------------------------------------------------- matches


def slot(y, mo, day, hh, mm, minutes=50, tz=JST):
    start = datetime(y, mo, day, hh, mm, tzinfo=tz)
    return start, start + timedelta(minutes=minutes)


def test_matches_afternoon_of_one_day():
    req = parse_when("明日の午後", MON)
    assert matches(req, *slot(2026, 11, 24, 13, 0))
    assert matches(req, *slot(2026, 11, 24, 12, 0))  # the window's start is inside
    assert matches(req, *slot(2026, 11, 24, 16, 25))
    assert not matches(req, *slot(2026, 11, 24, 10, 0))
    assert not matches(req, *slot(2026, 11, 24, 18, 0))  # the end is outside
    assert not matches(req, *slot(2026, 11, 25, 13, 0))


def test_matches_exact_time_and_converts_utc_slots():
    req = parse_when("来週の火曜10時", MON)
    assert matches(req, *slot(2026, 12, 1, 10, 0))
    assert matches(req, *slot(2026, 12, 1, 1, 0, tz=timezone.utc))  # 10:00 in Tokyo
    assert not matches(req, *slot(2026, 12, 1, 10, 30))
    assert not matches(req, *slot(2026, 12, 8, 10, 0))


def test_matches_exclusions():
    no_saturday = parse_when("土曜は無理", MON)
    assert not matches(no_saturday, *slot(2026, 11, 28, 10, 0))
    assert matches(no_saturday, *slot(2026, 11, 27, 10, 0))
    next_week_not_monday = parse_when("来週は月曜以外", MON)
    assert not matches(next_week_not_monday, *slot(2026, 11, 30, 10, 0))
    assert matches(next_week_not_monday, *slot(2026, 12, 1, 10, 0))
    assert not matches(next_week_not_monday, *slot(2026, 12, 7, 10, 0))  # the week after


def test_matches_window_with_weekdays_and_approximate_time():
    weekdays_from_10th = parse_when("12月10日以降の平日", MON)
    assert matches(weekdays_from_10th, *slot(2026, 12, 10, 9, 0))
    assert not matches(weekdays_from_10th, *slot(2026, 12, 12, 9, 0))  # Saturday
    assert not matches(weekdays_from_10th, *slot(2026, 12, 9, 9, 0))
    around_two = parse_when("14時ごろ", MON)
    assert matches(around_two, *slot(2026, 12, 1, 13, 30))
    assert matches(around_two, *slot(2026, 12, 1, 14, 0))
    assert not matches(around_two, *slot(2026, 12, 1, 14, 30))


def test_matches_alternative_dates_and_open_requests():
    either = parse_when("3日か4日", MON)
    assert matches(either, *slot(2026, 12, 3, 9, 0)) and matches(either, *slot(2026, 12, 4, 15, 0))
    assert not matches(either, *slot(2026, 12, 5, 9, 0))
    for text in ("いつでも", "なるべく早く"):
        assert matches(parse_when(text, MON), *slot(2026, 11, 24, 8, 45))


def test_matches_one_of_the_alternatives():
    req = parse_when("金曜の夕方か土曜の朝", MON)
    assert matches(req, *slot(2026, 11, 27, 16, 0))
    assert matches(req, *slot(2026, 11, 28, 9, 0))
    assert not matches(req, *slot(2026, 11, 27, 9, 0))  # Friday morning was not offered
    assert not matches(req, *slot(2026, 11, 28, 16, 0))


def test_is_open_only_for_any_time():
    assert parse_when("いつでも", MON).is_open
    assert parse_when("なるべく早く", MON).is_open
    assert not parse_when("土曜は無理", MON).is_open
    assert not parse_when("こんにちは", MON).is_open


def test_matches_nothing_for_a_problem():
    for text in ("11月1日", "2月30日", "いつか", "こんにちは"):
        assert not matches(parse_when(text, MON), *slot(2026, 11, 1, 10, 0))
        assert not matches(parse_when(text, MON), *slot(2026, 12, 1, 10, 0))


def test_matches_refuses_naive_slots():
    with pytest.raises(ValueError):
        matches(WhenRequest(), datetime(2026, 12, 1, 10, 0), datetime(2026, 12, 1, 10, 50))


# --------------------------------------------------------------------------- describe

DESCRIPTIONS = [
    ("明日の午後", MON, "11月24日(火)の午後"),
    ("来週の火曜10時", MON, "12月1日(火)の10時"),
    ("3日の14時半", MON, "12月3日(木)の14時半"),
    ("来週、土曜は無理", MON, "来週（11月30日〜12月6日）、土曜日以外"),
    ("来週は土曜は無理", MON, "来週（11月30日〜12月6日）、土曜日以外"),
    ("土曜は無理", MON, "土曜日以外"),
    ("土日以外の午後", MON, "午後、土日以外"),
    ("3日と4日は無理", MON, "12月3日(木)と12月4日(金)以外"),
    ("なるべく早く", MON, "できるだけ早い日"),
    ("夕方なら", MON, "夕方"),
    ("14時ごろ", MON, "14時ごろ"),
    ("15時以降", MON, "15時以降"),
    ("10時から12時", MON, "10時から12時"),
    ("12月10日以降の平日", MON, "12月10日(木)以降の平日"),
    ("月曜か水曜", MON, "月曜日か水曜日"),
    ("いつでも", MON, "いつでも"),
    ("金曜の夕方か土曜の朝", MON, "金曜日の夕方か土曜日の朝"),
    ("明日の10時か明後日の14時", MON, "11月24日(火)の10時か11月25日(水)の14時"),
    ("1月5日", YEAR_END, "1月5日(火)"),
    ("こんにちは", MON, ""),
]


@pytest.mark.parametrize("text,now,expected", DESCRIPTIONS, ids=[x[0] for x in DESCRIPTIONS])
def test_describe(text, now, expected):
    assert describe(parse_when(text, now), now) == expected


def test_describe_without_now_names_dates_only():
    assert describe(parse_when("来週", MON)) == "11月30日(月)〜12月6日(日)"
