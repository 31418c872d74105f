"""Console decisions (pure functions), the Rasa API client against a stand-in Rasa, and the case
store on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import sys
import types
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.staff_models import StaffMessage
from bot.fields import ALL_FIELDS
from integrations.console import cases
from integrations.console.auth import (
    LoginThrottle, Passwords, create_session, load_session, normalise_username, password_problem, role_allows,
    safe_next,
)
from integrations.console.booking_list import bookings_of
from integrations.console.intake_summary import STAFF_LABELS, format_value, missing, parse_summary, sections
from integrations.console.transcript import MAX_TEXT, lines
from integrations.console.users import AccountError, create_user
from integrations.rasa_api import RasaClient, RasaError, RasaUnavailable
from tests.console_support import (
    FakeRasa, add_ticket, console_settings, drop_schema, free_port, postgres_engine, postgres_url, requires_postgres,
    sqlite_engine,
)

TOKYO = ZoneInfo("Asia/Tokyo")

# -- sign-in decisions --------------------------------------------------------------------------------


@pytest.mark.parametrize("target, expected", [
    ("/cases/HABC23", "/cases/HABC23"),
    ("/cases/HABC23/print?transcript=1", "/cases/HABC23/print?transcript=1"),
    ("//evil.example/", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("/ok\r\nSet-Cookie: x=1", "/"),
    ("/login?next=//evil.example", "/"),
    ("", "/"),
    (None, "/"),
])
def test_safe_next_only_allows_local_paths(target, expected):
    assert safe_next(target) == expected


def test_password_rules_refuse_short_repetitive_and_username_passwords():
    assert "12文字以上" in password_problem("みどり市2026", "sato")
    assert password_problem("aaaaaaaaaaaaaaaa", "sato") is not None
    assert "ユーザー名" in password_problem("sato-no-password-1", "sato")
    assert password_problem("ひだまり-staff-2026", "sato") is None
    assert password_problem("桜が咲く春の日に相談窓口へ", "sato") is None  # 12+ Japanese characters


def test_full_width_user_names_are_folded():
    assert normalise_username(" ｓａｔｏ１ ") == "sato1"
    assert normalise_username("Sato.Hanako") == "sato.hanako"


def test_roles_are_ordered():
    assert role_allows("admin", "staff") and role_allows("manager", "staff") and role_allows("staff", "staff")
    assert not role_allows("staff", "manager") and not role_allows("manager", "admin")
    assert not role_allows("root", "staff") and not role_allows(None, "staff")


def test_login_throttle_per_user_name_and_per_address():
    now = [1000.0]
    throttle = LoginThrottle(max_failures=5, window_seconds=600, max_failures_per_ip=8, clock=lambda: now[0])
    for _ in range(5):
        assert not throttle.blocked("sato1", "10.0.0.1")
        throttle.record_failure("sato1", "10.0.0.1")
    assert throttle.blocked("sato1", "10.0.0.9")  # the user name is locked from any address
    assert not throttle.blocked("suzuki1", "10.0.0.2")
    for _ in range(3):
        throttle.record_failure("other", "10.0.0.1")
    assert throttle.blocked("suzuki1", "10.0.0.1")  # 8 failures from one address
    now[0] += 601
    assert not throttle.blocked("sato1", "10.0.0.1")
    throttle.record_failure("sato1", "10.0.0.1")
    throttle.reset("sato1")
    assert not throttle.blocked("sato1", "10.0.0.3")


def test_login_throttle_memory_is_bounded():
    throttle = LoginThrottle(5, 600, 20, max_keys=50)
    for i in range(500):
        throttle.record_failure(f"guess{i}", f"10.0.{i // 250}.{i % 250}")
    assert len(throttle._hits) <= 50


# -- who may do what ----------------------------------------------------------------------------------


def test_may_act_rules():
    def may(action, status="open", mode="live", claimed_by=None, user_id=1, role="staff"):
        return cases.may_act(action, status=status, mode=mode, claimed_by=claimed_by, user_id=user_id, role=role)

    assert may("claim") is None and may("reply") is None and may("handback") is None
    assert may("close") is not None  # a live chat ends by handing back, so the bot is never left paused
    assert may("close", mode="callback") is None and may("handback", mode="callback") is not None
    assert may("claim", status="claimed", claimed_by=2) is not None
    assert may("claim", status="claimed", claimed_by=2, role="manager") is None  # take over
    assert may("reply", status="claimed", claimed_by=2, role="admin") is not None  # must take over first
    assert may("reply", status="claimed", claimed_by=1) is None
    assert may("handback", status="claimed", claimed_by=2) is not None
    assert may("handback", status="claimed", claimed_by=2, role="manager") is None
    for ended in ("closed", "handed_back"):
        assert all(may(a, status=ended) is not None for a in cases.ACTIONS)


# -- intake summary -----------------------------------------------------------------------------------


def test_every_protocol_field_has_a_form_label():
    assert set(STAFF_LABELS) == set(ALL_FIELDS)


def test_summary_new_shape_with_sources_and_referrals():
    summary = parse_summary({
        "fields": {"age": 46, "employment_status": "unemployed", "months_without_work": 17, "children": 3,
                   "health": "declined", "public_assistance": "unknown", "housing": "no_fixed_home",
                   "benefits": ["child_support_allowance", "housing_benefit"], "monthly_income": 120000,
                   "debts": {"has": True, "text": "カードローン"}, "not_a_field": "x"},
        "sources": {"age": "typed", "employment_status": "inferred", "children": "button", "housing": "forged"},
        "referrals": [{"destination": "jiritsu_soudan", "name": "くらし・しごとサポートセンター",
                       "reason": "住まいとお金のことを一緒に考えます。"}, "broken"],
        "urgency": "urgent", "language": "ja",
    })
    rows = {row.field: row for section in sections(summary) for row in section.rows}
    assert rows["age"].value == "46歳" and rows["age"].source_label == "本人が入力"
    assert rows["employment_status"].value == "無職（求職中）"
    assert rows["employment_status"].source_label == "ボットが推定（要確認）"
    assert rows["children"].value == "3人" and rows["children"].source_label == "本人が選択"
    assert rows["housing"].value == "住居不安定（ネットカフェ等）" and rows["housing"].source == "unknown"
    assert rows["months_without_work"].value == "1年5か月（17か月）"
    assert rows["health"].value == "答えたくない" and rows["health"].non_answer
    assert rows["public_assistance"].value == "わからない"
    assert rows["benefits"].value == "児童扶養手当、住居確保給付金"
    assert rows["monthly_income"].value == "120,000円"
    assert rows["debts"].value == "あり（カードローン）"
    assert "not_a_field" not in rows
    assert [r.name for r in summary.referrals] == ["くらし・しごとサポートセンター"]
    assert summary.urgency == "urgent"
    assert "子どもの人数" not in missing(summary) and "連絡方法" in missing(summary)


def test_summary_old_flat_shape_has_unknown_sources():
    summary = parse_summary({"age": 23, "housing": "company_dorm", "eviction_risk": True, "contact": "none"})
    rows = {row.field: row for section in sections(summary) for row in section.rows}
    assert rows["housing"].value == "社員寮・社宅"
    assert rows["eviction_risk"].value.startswith("あり")
    assert rows["contact"].value.startswith("連絡先なし")
    assert {row.source_label for row in rows.values()} == {"出所の記録なし"}


@pytest.mark.parametrize("raw", [None, "", "not json", "[1,2]", 42, {"fields": "oops"}, b"\xff\xfe"])
def test_malformed_summaries_render_as_empty(raw):
    summary = parse_summary(raw)
    assert sections(summary) == [] or all(isinstance(s.rows, list) for s in sections(summary))


def test_unknown_codes_are_shown_marked_not_dropped():
    assert format_value("housing", "castle") == "castle（未定義の値）"
    assert format_value("employment_status", "<b>x</b>") == "<b>x</b>（未定義の値）"  # escaped by the template
    assert format_value("months_without_work", 0) == "なし（現在就労中）"
    assert format_value("rent_arrears_months", 2) == "2か月分"


# -- transcript ---------------------------------------------------------------------------------------


def test_transcript_lines_map_button_payloads_and_skip_other_events():
    tracker = {"events": [
        {"event": "action", "name": "action_listen", "timestamp": 1_795_000_000},
        {"event": "bot", "text": "ご相談は、ご自身のことですか？", "timestamp": 1_795_000_001,
         "data": {"buttons": [{"title": "自分のこと", "payload": "/inform_self"}]}},
        {"event": "user", "text": "/inform_self", "timestamp": 1_795_000_005},
        {"event": "bot", "text": None, "data": {"custom": {"type": "handoff", "ticket": "HABC23"}}},
        {"event": "user", "text": "x" * (MAX_TEXT + 10), "timestamp": "garbage"},
        "not an event",
        {"event": "bot", "text": "支援員の山田です。", "data": {"custom": {"type": "staff_message", "name": "支援員"}}},
    ]}
    out = lines(tracker, TOKYO)
    assert [line.who for line in out] == ["bot", "resident", "bot", "resident", "staff"]
    assert out[4].text == "支援員の山田です。"
    assert out[0].buttons == ("自分のこと",)
    assert out[1].text == "自分のこと" and out[1].note == "ボタン"
    assert out[1].at.tzinfo is not None and out[1].at.utcoffset() == timedelta(hours=9)
    assert out[2].note == "データ: handoff"
    assert out[3].at is None and out[3].text.endswith("（以下省略）")
    assert lines({"events": "nope"}, TOKYO) == [] and lines({}, TOKYO) == []


# -- bookings -----------------------------------------------------------------------------------------


async def test_bookings_absent_module_and_present_module(monkeypatch, tmp_path):
    engine = await sqlite_engine(tmp_path)
    monkeypatch.setitem(sys.modules, "bot.db.bookings", None)  # as if the module did not exist
    none = await bookings_of(engine, "resident-1", TOKYO)
    assert none.available is False and none.rows == []

    seen = []

    async def bookings_for(engine_arg, sender_id):
        seen.append((engine_arg, sender_id))
        return [{"status": "booked", "destination": "hellowork", "office": "市役所2階 しごと相談コーナー",
                 "start": "2026-12-01T10:00:00+09:00", "end": "2026-12-01T10:50:00+09:00", "reference": "B7K2QX"}]

    module = types.ModuleType("bot.db.bookings")
    module.bookings_for = bookings_for
    monkeypatch.setitem(sys.modules, "bot.db.bookings", module)
    found = await bookings_of(engine, "resident-1", TOKYO)
    assert seen == [(engine, "resident-1")]
    assert found.available and found.rows[0].start == "2026年12月01日 10:00"
    assert found.rows[0].destination == "ハローワーク" and found.rows[0].status == "予約済み"
    await engine.dispose()


# -- Rasa API client ----------------------------------------------------------------------------------


@pytest.fixture
async def fake_rasa():
    rasa = await FakeRasa().start()
    yield rasa
    await rasa.stop()


async def test_rasa_client_follows_the_contract(fake_rasa):
    fake_rasa.conversation("telegram:123/ab", [("user", "こんにちは")])
    client = RasaClient(fake_rasa.url, token="s3cret")
    tracker = await client.tracker("telegram:123/ab")
    assert tracker["events"][-1]["text"] == "こんにちは"
    await client.send_staff_message("telegram:123/ab", "職員の佐藤です。")
    await client.hand_back("telegram:123/ab")
    await client.close()
    calls = [(c["method"], c["path"], c["query"], c["json"]) for c in fake_rasa.calls]
    base = "/conversations/telegram:123%2Fab"
    assert {c["sender"] for c in fake_rasa.calls} == {"telegram:123/ab"}
    assert calls == [
        ("GET", f"{base}/tracker", {"include_events": "ALL", "token": "s3cret"}, None),
        ("POST", f"{base}/tracker/events", {"output_channel": "latest", "token": "s3cret"},
         [{"event": "slot", "name": "staff_message", "value": "職員の佐藤です。"}]),
        ("POST", f"{base}/execute", {"output_channel": "latest", "token": "s3cret"}, {"name": "action_staff_message"}),
        ("POST", f"{base}/tracker/events", {"token": "s3cret"}, [{"event": "resume"}]),
        ("POST", f"{base}/execute", {"output_channel": "latest", "token": "s3cret"}, {"name": "action_handback"}),
    ]


async def test_rasa_client_without_token_sends_none(fake_rasa):
    client = RasaClient(fake_rasa.url)
    await client.send_staff_message("u1", "こんにちは")
    await client.close()
    assert all("token" not in c["query"] for c in fake_rasa.calls)


async def test_rasa_client_errors(fake_rasa):
    client = RasaClient(fake_rasa.url, timeout=2)
    fake_rasa.mode = "down"
    with pytest.raises(RasaUnavailable):
        await client.send_staff_message("u1", "こんにちは")
    fake_rasa.mode = "refuse"
    with pytest.raises(RasaError) as refused:
        await client.hand_back("u1")
    assert not isinstance(refused.value, RasaUnavailable) and refused.value.status == 403
    await client.close()
    closed = RasaClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(RasaUnavailable):
        await closed.tracker("u1")
    await closed.close()


async def test_rasa_client_times_out():
    async def slow(request):
        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/conversations/{sender}/tracker", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    client = RasaClient(f"http://127.0.0.1:{port}", timeout=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RasaUnavailable):
        await client.tracker("u1")
    assert loop.time() - started < 3
    await client.close()
    await runner.cleanup()


# -- case store on SQLite and PostgreSQL --------------------------------------------------------------


async def _store_behaviour(engine):
    """Queue order, claim race, finishing, messages and sessions: the same checks on every database."""
    settings = console_settings()
    passwords = Passwords(settings.password_hasher())
    sato = await create_user(engine, passwords, username="sato1", password="ひだまり-staff-2026", role="staff")
    suzuki = await create_user(engine, passwords, username="suzuki1", password="manager-pass-みどり", role="manager")
    with pytest.raises(AccountError):
        await create_user(engine, passwords, username="SATO1", password="another-pass-2026", role="staff")

    await add_ticket(engine, "HNORM1", urgency="normal", minutes_ago=90)
    await add_ticket(engine, "HURG01", urgency="urgent", minutes_ago=10)
    await add_ticket(engine, "HEMG02", urgency="emergency", minutes_ago=1)
    await add_ticket(engine, "HEMG01", urgency="emergency", minutes_ago=4)
    await add_ticket(engine, "HURG02", urgency="urgent", minutes_ago=40, status="claimed", claimed_by=sato.id)
    await add_ticket(engine, "HDONE1", urgency="emergency", minutes_ago=400, status="closed")
    rows = await cases.queue(engine)
    assert [r.ticket for r in rows] == ["HEMG01", "HEMG02", "HURG02", "HURG01", "HNORM1"]
    assert rows[2].claimed_by_name == "sato1" and rows[0].waiting_minutes(datetime.now(timezone.utc)) == 4

    results = await asyncio.gather(cases.claim(engine, "HEMG01", sato.id), cases.claim(engine, "HEMG01", suzuki.id))
    assert sorted(results) == [False, True]
    winner = (await cases.get_case(engine, "HEMG01")).ticket.claimed_by
    assert winner == (sato.id if results[0] else suzuki.id)
    assert await cases.claim(engine, "HEMG01", suzuki.id, take_over=True)

    message_id = await cases.add_message(engine, "HEMG01", "resident-hemg01", suzuki.id, "担当の鈴木です。")
    assert [m.delivered for m in await cases.undelivered(engine, "HEMG01")] == [False]
    await cases.mark_delivered(engine, message_id)
    assert await cases.undelivered(engine, "HEMG01") == []
    assert await cases.finish(engine, "HEMG01", "handed_back")
    assert not await cases.finish(engine, "HEMG01", "closed")
    assert "HEMG01" not in [r.ticket for r in await cases.queue(engine)]

    raw = await create_session(engine, sato.id, settings)
    assert (await load_session(engine, raw, settings)).username == "sato1"
    later = datetime.now(timezone.utc) + settings.idle_timeout + timedelta(seconds=1)
    assert await load_session(engine, raw, settings, now=later) is None
    assert await load_session(engine, raw, settings) is None  # deleted when found expired
    async with AsyncSession(engine) as session:
        stored = (await session.execute(select(StaffMessage))).scalars().all()
    assert [m.text for m in stored] == ["担当の鈴木です。"]


async def test_case_store_on_sqlite(tmp_path):
    engine = await sqlite_engine(tmp_path)
    try:
        await _store_behaviour(engine)
    finally:
        await engine.dispose()


@requires_postgres
@pytest.mark.postgres
async def test_case_store_on_postgres():
    url = postgres_url()
    engine, schema = await postgres_engine(url)
    try:
        await _store_behaviour(engine)
    finally:
        await engine.dispose()
        await drop_schema(url, schema)
