"""Book, move and cancel through the running stack (REST channel, real NLU, real actions, SQLite).

The clock is fixed (``INTAKE_NOW``) on Monday 2026-11-23 at 23:10, a national holiday, so the
offered slots and the replies to 「明日の午後」 are known: Tuesday 24th is the next business day.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from bench.procs import rest_stack, tracebacks
from tests.conftest import MODEL, NIGHT, RestChat

pytestmark = pytest.mark.server
NOW = NIGHT


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("booking")
    with rest_stack(MODEL, tmp, timeout=240, env={"INTAKE_NOW": NOW, "PUBLIC_BASE_URL": "https://soudan.example.jp"}) as s:
        yield {"url": s["url"], "db": tmp / "intake.db"}
        assert not any(tracebacks(s["logs"]).values()), s["logs"]


def customs(messages: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return [m["custom"] for m in messages if (m.get("custom") or {}).get("type") == kind]


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def rows(db: Path, sql: str) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def screened(base: str) -> RestChat:
    """A resident who went through the screening to a referral."""
    chat = RestChat(base)
    out = chat.say("66歳です。定年退職して年金だけでは足りないので、軽い仕事を探しています")
    for _ in range(25):
        if customs(out, "referral"):
            return chat
        ask = customs(out, "ask")
        assert ask, out
        field = ask[0]["field"]
        answers = {"consent": "はい", "contact": "電話は090-0000-0000です", "job_history": "工場で30年働きました",
                   "work_preferences": "午前中だけ", "health_notes": "特にありません"}
        choices = ask[0].get("choices")
        out = chat.say(answers.get(field) or (choices[0]["payload"] if choices else "わからない"))
    raise AssertionError("no referral after 25 turns")


def test_book_from_the_referral_with_a_typed_wish(stack):
    chat = screened(stack["url"])
    out = chat.say("予約したいです")
    ask = customs(out, "ask")[-1]
    assert ask["field"] in ("booking_destination", "booking_slot")
    if ask["field"] == "booking_destination":
        out = chat.say(ask["choices"][0]["payload"])
        ask = customs(out, "ask")[-1]
    assert ask["field"] == "booking_slot" and ask["input"] == "date"
    out = chat.say("明日の午後がいいです")
    offered = customs(out, "ask")[-1]
    assert "11月24日(火)の午後" in texts(out)
    assert offered["choices"] and all(c["title"].startswith("11月24日(火) 1") for c in offered["choices"])
    out = chat.say(offered["choices"][0]["payload"])
    assert customs(out, "ask")[-1]["field"] == "booking_consent"
    assert "伝えて" in texts(out)
    assert rows(stack["db"], "select count(*) from bookings") == [(0,)]  # nothing before confirmation
    out = chat.say("はい")
    (booking,) = customs(out, "booking")
    assert booking["status"] == "booked" and booking["start"].startswith("2026-11-24T1") and booking["start"].endswith("+09:00")
    assert booking["reference"] in texts(out) and "持ち物" in texts(out)
    assert f"https://soudan.example.jp/ics/{booking['reference']}.ics" in texts(out)
    (stored,) = rows(stack["db"], f"select status, consent, summary is not null from bookings where reference = '{booking['reference']}'")
    assert stored == ("booked", 1, 1)
    # anonymous statistics rows: a referral and a booking, as codes only (no sender id column at all)
    stats = {kind: (band, channel, dests) for kind, band, channel, dests in
             rows(stack["db"], "select kind, age_band, channel, destinations from stat_events order by id")}
    assert stats["referral"][:2] == ("60代", "rest") and "silver_center" in stats["referral"][2]
    assert stats["booking"][0] == "60代" and booking["destination"] in stats["booking"][2]


def test_a_slot_typed_as_its_button_reads_is_taken(stack):
    chat = screened(stack["url"])
    out = chat.say("予約したいです")
    ask = customs(out, "ask")[-1]
    if ask["field"] == "booking_destination":
        ask = customs(chat.say(ask["choices"][0]["payload"]), "ask")[-1]
    title = ask["choices"][1]["title"]  # 「11月24日(火) 9:35〜10:25」, typed instead of pressed
    out = chat.say(title)
    assert customs(out, "ask")[-1]["field"] == "booking_consent"  # not the same slot offered again
    out = chat.say("はい")
    (booking,) = customs(out, "booking")
    hour, minute = title.split(" ")[1].split("〜")[0].split(":")
    assert booking["status"] == "booked" and booking["start"][11:16] == f"{int(hour):02d}:{minute}"


@pytest.mark.parametrize("wish, pick, index", [(None, "2つ目で", 1), ("明日の午後がいいです", "最初のでお願いします", 0)])
def test_an_offered_slot_picked_by_its_position_is_taken(stack, wish, pick, index):
    chat = screened(stack["url"])
    ask = customs(chat.say("予約したいです"), "ask")[-1]
    if ask["field"] == "booking_destination":
        ask = customs(chat.say(ask["choices"][0]["payload"]), "ask")[-1]
    if wish:  # the position counts in the offer made for the wish, not the earliest slots
        ask = customs(chat.say(wish), "ask")[-1]
    meant = ask["choices"][index]["payload"].split('"booking_slot": "')[1].split('"')[0]
    out = chat.say(pick)
    assert [a["field"] for a in customs(out, "ask")][-1:] == ["booking_consent"], out
    (booking,) = customs(chat.say("はい"), "booking")
    assert booking["start"] == meant


def test_bad_dates_get_clear_replies_and_nothing_is_written(stack):
    chat = RestChat(stack["url"])
    chat.say("予約したいです")
    before = rows(stack["db"], "select count(*) from bookings")
    out = chat.say("2月30日")
    assert "カレンダーにありません" in texts(out) and customs(out, "ask")[-1]["field"] == "booking_slot"
    out = chat.say("11月1日")
    assert "過ぎています" in texts(out)
    out = chat.say("11月28日がいいです")  # a Saturday
    assert "お休み" in texts(out) and customs(out, "ask")[-1]["choices"]
    out = chat.say("<script>alert(1)</script>")
    assert customs(out, "ask") or "教えてください" in texts(out)
    assert rows(stack["db"], "select count(*) from bookings") == before


def test_move_then_cancel_by_reference(stack):
    chat = RestChat(stack["url"])
    chat.say("予約したいです")
    out = chat.say("来週の火曜10時でお願いします")
    if customs(out, "ask")[-1]["field"] == "booking_slot":  # the exact slot was not free: take the first offered
        out = chat.say(customs(out, "ask")[-1]["choices"][0]["payload"])
    out = chat.say('/inform{"booking_consent": false}')  # book without sharing the intake
    (booked,) = customs(out, "booking")
    ref = booked["reference"]
    assert rows(stack["db"], f"select consent, summary from bookings where reference = '{ref}'") == [(0, None)]

    other = RestChat(stack["url"])  # another day, another device: only the reference is known
    out = other.say(f"予約番号{ref.lower()}の日にちを変更したいです")
    ask = customs(out, "ask")[-1]
    assert ask["field"] == "booking_slot"
    out = other.say(ask["choices"][-1]["payload"])
    assert "変更します" in texts(out)
    out = other.say("はい")
    (moved,) = customs(out, "booking")
    assert moved["status"] == "moved" and moved["reference"] == ref and moved["start"] != booked["start"]

    out = other.say("予約をキャンセルしたいです")
    assert "取り消します" in texts(out) and ref in texts(out)
    out = other.say("はい")
    (cancelled,) = customs(out, "booking")
    assert cancelled["status"] == "cancelled"
    history = rows(stack["db"], f"select e.status from booking_events e join bookings b on b.id = e.booking_id where b.reference = '{ref}' order by e.id")
    assert [h[0] for h in history] == ["booked", "moved", "cancelled"]


def test_unknown_reference_twice_offers_the_phone(stack):
    chat = RestChat(stack["url"])
    out = chat.say("予約をキャンセルしたいです")
    assert customs(out, "ask")[-1]["field"] == "booking_reference"
    out = chat.say("YZZZZZZです")
    assert "見つかりませんでした" in texts(out)
    out = chat.say("Y2222222")
    assert "000-000-0001" in texts(out)


def test_a_problem_instead_of_the_reference_starts_the_screening(stack):
    chat = RestChat(stack["url"])
    out = chat.say("予約をキャンセルしたいです")
    assert customs(out, "ask")[-1]["field"] == "booking_reference"
    out = chat.say("しごと が みつからなくて こまってます。34さい です")
    assert "見つかりませんでした" not in texts(out) and "無料" in texts(out) and "予約はあとで" in texts(out)
    ask = customs(out, "ask")[-1]
    assert not ask["field"].startswith("booking_") and ask["field"] != "age"  # the age was in the message
    out = chat.say("予約をキャンセルしたいです")  # the booking request is still possible afterwards
    assert customs(out, "ask")[-1]["field"] == "booking_reference"
