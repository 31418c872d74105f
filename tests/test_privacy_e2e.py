"""Privacy through the running stack (REST channel, real NLU, real actions, the encrypting tracker
store, SQLite files): nothing readable on disk or in the logs, deletion on request, and a
conversation that survives a Rasa restart.

The clock is fixed (``INTAKE_NOW``) on Monday 2026-11-23 at 23:10, outside office hours, as in
tests/test_booking_chat.py: a request for a person becomes a call-back ticket.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from bench.procs import rest_stack, tracebacks
from tests.conftest import MODEL, NIGHT, RestChat
from tests.privacy_support import forms, leaks, sqlite_files

pytestmark = pytest.mark.server
NOW = NIGHT
FIRST = "46歳です。派遣切りにあって、家賃を2か月滞納しています。大家さんに出ていけと言われました"
PHONE = "090-4321-8765"
ANSWERS = {"contact": f"電話は{PHONE}です", "job_history": "倉庫のピッキングを8年やっていました",
           "work_preferences": "平日の昼間だけ働きたいです", "health_notes": "腰痛があるので重い物は無理です",
           "consent": "はい"}
#: What the resident typed: none of it may be readable in a database file or a log.
TYPED = [FIRST, "派遣切り", "家賃を2か月滞納", "出ていけと言われました", PHONE, "倉庫のピッキング", "平日の昼間だけ",
         "腰痛があるので", "46歳"]


class Stack:
    """The REST stack on one directory; ``restart`` stops both servers and starts them again on
    the same databases (the old logs are kept as ``*.log.1``)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._cm: Any = None
        self.info: Dict[str, Any] = {}
        self.old_logs: List[Path] = []

    def start(self) -> None:
        self._cm = rest_stack(MODEL, self.tmp, timeout=240, env={"INTAKE_NOW": NOW})
        self.info = self._cm.__enter__()

    def stop(self) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
            self._cm = None

    def restart(self) -> None:
        self.stop()
        for name, path in self.info["logs"].items():
            kept = Path(f"{path}.1")
            Path(path).rename(kept)
            self.old_logs.append(kept)
        self.start()

    @property
    def url(self) -> str:
        return self.info["url"]

    def logs(self) -> List[Path]:
        return self.old_logs + [Path(p) for p in self.info["logs"].values()]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("privacy"))
    s.start()
    try:
        yield s
        assert not any(tracebacks(s.info["logs"]).values()), s.info["logs"]
    finally:
        s.stop()


def customs(messages: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return [m["custom"] for m in messages if (m.get("custom") or {}).get("type") == kind]


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def rows(db: Path, sql: str, *args: Any) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def first_question(chat: RestChat) -> str:
    """Tell the story; the field of the first question the screening asks."""
    ask = customs(chat.say(FIRST), "ask")
    assert ask
    return ask[-1]["field"]


def answer(chat: RestChat, field: str, out: Optional[List[Dict[str, Any]]] = None) -> List[Dict[str, Any]]:
    ask = customs(out, "ask")[-1] if out else {}
    choices = ask.get("choices")
    return chat.say(ANSWERS.get(field) or (choices[0]["payload"] if choices else "わからない"))


def screen(chat: RestChat) -> List[Dict[str, Any]]:
    """Answer the screening (the first message, then every question) up to the referral."""
    out = chat.say(FIRST)
    for _ in range(25):
        if customs(out, "referral"):
            return out
        ask = customs(out, "ask")
        assert ask, out
        out = answer(chat, ask[-1]["field"], out)
    raise AssertionError("no referral after 25 turns")


def book(chat: RestChat) -> Dict[str, Any]:
    out = chat.say("予約したいです")
    ask = customs(out, "ask")[-1]
    if ask["field"] == "booking_destination":
        ask = customs(chat.say(ask["choices"][0]["payload"]), "ask")[-1]
    assert ask["field"] == "booking_slot", out
    out = chat.say(ask["choices"][0]["payload"])
    assert customs(out, "ask")[-1]["field"] == "booking_consent"
    (booking,) = customs(chat.say("はい"), "booking")
    return booking


def test_nothing_the_resident_typed_is_readable_on_disk(stack):
    chat = RestChat(stack.url)
    screen(chat)
    booking = book(chat)
    assert booking["status"] == "booked"
    handoff = customs(chat.say("人と話したいです"), "handoff")
    assert handoff and handoff[0]["mode"] == "callback"
    db, trackers = stack.tmp / "intake.db", stack.tmp / "trackers.db"
    assert rows(db, "select count(*) from bookings where sender_id = ?", chat.sender) == [(1,)]
    assert rows(db, "select count(*) from handoff_tickets where sender_id = ?", chat.sender) == [(1,)]
    (stored,) = rows(trackers, "select count(*), sum(data like 'gAAAAA%'), count(intent_name), count(action_name) "
                               "from events where sender_id = ?", chat.sender)
    assert stored[0] > 30 and stored[1] == stored[0] and stored[2:] == (0, 0)
    assert chat.slots()["contact"] and chat.slots()["age"] == 46  # Rasa still reads it all
    assert leaks(sqlite_files(trackers) + sqlite_files(db), TYPED) == []


def test_the_resident_deletes_their_data(stack):
    chat = RestChat(stack.url)
    screen(chat)
    booking = book(chat)
    chat.say("人と話したいです")
    db, trackers = stack.tmp / "intake.db", stack.tmp / "trackers.db"
    ((start_at,),) = rows(db, "select start_at from bookings where reference = ?", booking["reference"])
    seat = "select taken from slot_load where destination = ? and start_at = ?"
    ((taken,),) = rows(db, seat, booking["destination"], start_at)
    assert rows(db, "select count(*) from bookings where sender_id = ?", chat.sender) == [(1,)]

    out = chat.say("私のデータを消してください")
    assert "元に戻せません" in texts(out)
    payloads = [b["payload"] for m in out for b in m.get("buttons") or []]
    assert payloads == ["/confirm_delete", "/deny"]
    assert rows(db, "select count(*) from bookings where sender_id = ?", chat.sender) == [(1,)]  # asked, not done

    out = chat.say("/confirm_delete")
    said = texts(out)
    assert "削除しました" in said and "予約（1件、うち1件は取り消してから削除）" in said and "統計" in said
    assert rows(db, "select count(*) from bookings where sender_id = ?", chat.sender) == [(0,)]
    assert rows(db, "select count(*) from handoff_tickets where sender_id = ?", chat.sender) == [(0,)]
    assert rows(db, seat, booking["destination"], start_at) == [(taken - 1,)]  # the seat is free again
    for _ in range(10):  # the tracker store deletes the events when it saves this turn
        left = rows(trackers, "select count(*) from events where sender_id = ?", chat.sender)[0][0]
        if left == 0:
            break
        time.sleep(0.5)
    assert left == 0

    out = chat.say("こんにちは")
    assert "前回の続き" not in texts(out) and "どんなことでお困りですか" in texts(out)
    slots = chat.slots()
    assert slots["age"] is None and slots["contact"] is None and slots["booking_reference"] is None
    users = [e["text"] for e in chat.tracker()["events"] if e["event"] == "user"]
    assert users == ["こんにちは"]


def test_changing_ones_mind_deletes_nothing(stack):
    chat = RestChat(stack.url)
    field = first_question(chat)
    out = chat.say("相談内容を削除して")  # in the middle of the screening
    assert [b["title"] for m in out for b in m.get("buttons") or []] == ["削除する", "やめる"]
    out = chat.say("/deny")
    assert "何も削除していません" in texts(out)
    assert chat.slots()["age"] == 46
    out = chat.say("続きから")
    assert customs(out, "ask") and customs(out, "ask")[-1]["field"] == field


def test_the_conversation_continues_after_a_rasa_restart(stack):
    chat = RestChat(stack.url)
    field = first_question(chat)
    before = chat.slots()
    assert before["age"] == 46 and before["rent_arrears_months"] == 2 and before[field] is None
    stack.restart()
    chat.base = stack.url
    assert chat.slots()["age"] == 46 and chat.slots()["rent_arrears_months"] == 2
    out = answer(chat, field)
    assert chat.slots()[field] is not None  # the answer went to the question asked before the restart
    ask = customs(out, "ask")
    assert customs(out, "referral") or (ask and ask[-1]["field"] not in (field, "age"))


def test_the_logs_hold_nothing_personal(stack):
    """After every conversation above (Rasa at its default INFO level, the action server as started)."""
    logs = stack.logs()
    assert len(logs) == 4 and all(p.stat().st_size > 0 for p in logs)
    found = leaks(logs, TYPED + ["私のデータを消してください", "相談内容を削除して"])
    assert found == [], found
    blob = b"".join(p.read_bytes() for p in logs)
    for pattern in ("'age': 46", '"age": 46', "age=46"):
        assert not any(f in blob for f in forms(pattern)), pattern
