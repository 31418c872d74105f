"""Statistics rows in real databases (SQLite file and PostgreSQL): what replaces what, the counts
the dashboard reads, 年度 boundaries, and a scan that no personal data reaches a row or the CSV."""
from __future__ import annotations

import csv
import io
import logging
import random
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from statistics import median

import pytest
from sqlalchemy import select, text

from bot.db import stats as stats_db
from bot.db.migrate import migrate
from bot.db.stats_models import StatEvent
from bot.db.stats_queries import counts
from bot.intake import absorb
from bot.profile import load_profile
from bot.routing import route
from bot.stats import case_key as ck
from bot.stats.csv_export import to_csv
from bot.stats.events import (
    AGE_BANDS, EMPLOYED, HOUSEHOLDS, OUTCOMES, RARE_FLAGS, TARGET_GROUPS, handoff_event, outcome_event,
    referral_event,
)
from bot.stats.report import build_report
from tests.dbutil import BACKENDS, database

JST = timezone(timedelta(hours=9))
DESTS = ["jiritsu_soudan", "hellowork", "saposute", "silver_center", "welfare_office"]


@pytest.fixture(autouse=True)
def stats_key(tmp_path, monkeypatch):
    monkeypatch.delenv("STATS_SECRET", raising=False)
    monkeypatch.setenv("STATS_KEY_FILE", str(tmp_path / "stats.key"))
    ck.forget_cached_secret()
    yield
    ck.forget_cached_secret()


async def _rows(engine):
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(StatEvent.__table__).order_by(StatEvent.id))).mappings()]


def _key(n: int) -> str:
    return ck.case_key(f"resident-{n}", b"s" * 32)


PAYLOAD = {"urgency": "normal", "interpreter": False, "referrals": [{"destination": "jiritsu_soudan"}]}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_one_referral_per_person_and_day_and_one_outcome_per_year(backend, tmp_path):
    async with database(backend, tmp_path) as engine:
        await migrate(engine)
        morning = datetime(2026, 10, 5, 9, 0, tzinfo=JST)
        await stats_db.record(engine, referral_event({"age": 30}, PAYLOAD, "line", morning, case_key=_key(1)))
        corrected = {**PAYLOAD, "referrals": [{"destination": "saposute"}]}
        await stats_db.record(engine, referral_event({"age": 29}, corrected, "line", morning + timedelta(hours=3),
                                                     case_key=_key(1)))
        await stats_db.record(engine, referral_event({}, PAYLOAD, "line", morning + timedelta(days=1), case_key=_key(1)))
        await stats_db.record(engine, referral_event({}, PAYLOAD, "line", morning, case_key=_key(2)))
        for _ in range(2):  # every handoff counts
            await stats_db.record(engine, handoff_event({}, "urgent", "line", morning, case_key=_key(2)))
        await stats_db.record(engine, outcome_event("continuing", morning, case_key=_key(1)))
        await stats_db.record(engine, outcome_event("employed_referral", morning + timedelta(days=40), case_key=_key(1)))
        await stats_db.record(engine, outcome_event("ended", datetime(2027, 4, 2, tzinfo=JST), case_key=_key(1)))
        rows = await _rows(engine)
        referrals = [(r["case_key"] == _key(1), r["day"], r["destinations"], r["age_band"]) for r in rows
                     if r["kind"] == "referral"]
        assert sorted(referrals) == sorted([
            (True, date(2026, 10, 5), "|saposute|", "20代"),  # the day's last decision
            (True, date(2026, 10, 6), "|jiritsu_soudan|", "unknown"),
            (False, date(2026, 10, 5), "|jiritsu_soudan|", "unknown")])
        assert [r["kind"] for r in rows].count("handoff") == 2
        assert sorted((r["fiscal_year"], r["outcome"]) for r in rows if r["kind"] == "outcome") == [
            (2026, "employed_referral"), (2027, "ended")]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_bad_row_is_refused_and_nothing_is_written(backend, tmp_path, caplog):
    async with database(backend, tmp_path) as engine:
        await migrate(engine)
        row = referral_event({}, PAYLOAD, "line", datetime(2026, 6, 1, tzinfo=JST), case_key=_key(1))
        with pytest.raises(ValueError):
            await stats_db.record(engine, {**row, "channel": "山田太郎 090-1234-5678"})
        with caplog.at_level(logging.ERROR):
            assert await stats_db.record_quietly(engine, {**row, "note": "山田太郎"}) is False
        assert "山田" not in caplog.text and "ValueError" in caplog.text
        assert await _rows(engine) == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_attendance_can_be_corrected_and_outcomes_copy_the_referral(backend, tmp_path):
    async with database(backend, tmp_path) as engine:
        await migrate(engine)
        sender = "telegram:5550001"
        key = await ck.case_key_for(sender)
        await stats_db.record(engine, referral_event({"age": 52, "concerns": ["debt"]}, PAYLOAD, "telegram",
                                                     datetime(2026, 7, 1, 20, tzinfo=JST), case_key=key))
        start = datetime(2026, 7, 8, 10, tzinfo=JST)
        await stats_db.record_attendance(engine, sender, "no_show", start, "jiritsu_soudan")
        await stats_db.record_attendance(engine, sender, "attended", start, "jiritsu_soudan")  # staff corrected it
        row = await stats_db.record_outcome(engine, sender, "employed_other", datetime(2026, 8, 1, tzinfo=JST))
        assert row["age_band"] == "50代" and row["target_groups"] == ["debt"] and row["channel"] == "telegram"
        assert await stats_db.outcome_of(engine, sender, 2026) == "employed_other"
        assert await stats_db.outcome_of(engine, "someone-else", 2026) is None
        rows = await _rows(engine)
        assert sorted(r["kind"] for r in rows) == ["attended", "outcome", "referral"]
        assert await stats_db.years_with_data(engine) == [2026]


def _random_rows(rng: random.Random, n: int):
    rows = []
    for i in range(n):
        day = date(2026, 3, 25) + timedelta(days=rng.randint(0, 400))  # spans three 年度
        kind = rng.choice(["referral", "referral", "booking", "attended", "no_show", "handoff", "outcome"])
        dests = rng.sample(DESTS, rng.randint(1, 2)) if kind == "referral" else [] if kind == "handoff" else [rng.choice(DESTS)]
        rows.append({
            "day": day, "fiscal_year": day.year if day.month >= 4 else day.year - 1, "month": day.month, "kind": kind,
            "channel": rng.choice(["webchat", "line", "rest", "socketio"]), "age_band": rng.choice(AGE_BANDS),
            "household": rng.choice(HOUSEHOLDS), "target_groups": sorted(rng.sample(list(TARGET_GROUPS), rng.randint(0, 3)),
                                                                         key=list(TARGET_GROUPS).index),
            "flags": [f for f in RARE_FLAGS if rng.random() < 0.05], "destinations": dests,
            "urgency": rng.choice(["normal", "normal", "urgent", "emergency"]),
            "minutes_to_referral": rng.randint(0, 500) if kind == "referral" and rng.random() < 0.9 else None,
            "outcome": rng.choice(list(OUTCOMES)) if kind == "outcome" else None, "case_key": _key(rng.randint(0, 60)),
        })
    return rows


def _expected(rows, fy, month=None):
    chosen = [r for r in rows if r["fiscal_year"] == fy and (month is None or r["month"] == month)]
    kinds = defaultdict(Counter)
    for r in chosen:
        kinds[r["kind"]][r["month"]] += 1
    ref = [r for r in chosen if r["kind"] == "referral"]
    people = [r for r in chosen if r["kind"] in ("referral", "handoff")]
    minutes = [r["minutes_to_referral"] for r in ref if r["minutes_to_referral"] is not None]
    latest = {r["case_key"]: r for r in people}  # rows are inserted in order: the last one wins
    dests = defaultdict(Counter)
    for r in chosen:
        for d in r["destinations"]:
            if r["kind"] != "handoff" and r["kind"] != "outcome":
                dests[r["kind"]][d] += 1
    return {
        "by_kind_month": {k: dict(v) for k, v in kinds.items()},
        "outcomes": dict(Counter(r["outcome"] for r in chosen if r["kind"] == "outcome")),
        "persons": len({r["case_key"] for r in people}),
        "partitions": {d: dict(Counter(r[d] for r in ref)) for d in ("channel", "urgency", "age_band", "household")},
        "destinations": {k: dict(v) for k, v in dests.items()},
        "group_events": {g: sum(g in r["target_groups"] for r in ref) for g in TARGET_GROUPS},
        # people per group and flag: each person once, as their latest referral or handoff says
        "group_persons": {g: sum(g in r["target_groups"] for r in latest.values()) for g in TARGET_GROUPS},
        "group_employed": {g: sum(g in r["target_groups"] for r in chosen if r["kind"] == "outcome" and r["outcome"] in EMPLOYED)
                           for g in TARGET_GROUPS},
        "flag_persons": {f: sum(f in r["flags"] for r in latest.values()) for f in RARE_FLAGS},
        "minutes_count": len(minutes), "minutes_median": median(minutes) if minutes else None,
    }


@pytest.mark.parametrize("backend", BACKENDS)
async def test_counts_agree_with_a_count_by_hand(backend, tmp_path):
    rows = _random_rows(random.Random(7), 600)
    async with database(backend, tmp_path) as engine:
        await migrate(engine)
        async with engine.begin() as conn:  # bulk load: the replacement rules are tested above
            await conn.execute(StatEvent.__table__.insert(), [stats_db.to_columns(r) for r in rows])
        for fy, month in ((2026, None), (2025, None), (2026, 3), (2026, 4), (2027, 4)):
            got = await counts(engine, fy, month)
            want = _expected(rows, fy, month)
            for name, value in want.items():
                have = getattr(got, name)
                if isinstance(value, dict) and name in ("group_events", "group_persons", "group_employed", "flag_persons"):
                    have = {k: have.get(k, 0) for k in value}
                if name == "by_kind_month":
                    have = {k: v for k, v in have.items() if v}
                if name == "partitions":
                    have = {d: {c: n for c, n in v.items() if n} for d, v in have.items()}
                assert have == value, (fy, month, name)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_fiscal_year_boundary_through_the_database(backend, tmp_path):
    async with database(backend, tmp_path) as engine:
        await migrate(engine)
        last = datetime(2027, 3, 31, 23, 59, tzinfo=JST)
        first = datetime(2027, 3, 31, 15, 0, tzinfo=timezone.utc)  # 2027-04-01 00:00 in Japan
        await stats_db.record(engine, referral_event({}, PAYLOAD, "line", last, case_key=_key(1)))
        await stats_db.record(engine, referral_event({}, PAYLOAD, "line", first, case_key=_key(2)))
        old, new = await counts(engine, 2026), await counts(engine, 2027)
        assert old.by_kind_month == {"referral": {3: 1}} and old.persons == 1
        assert new.by_kind_month == {"referral": {4: 1}} and new.persons == 1
        assert (await counts(engine, 2026, 4)).persons == 0 and (await counts(engine, 2027, 3)).persons == 0


# --------------------------------------------------------------------------- personal data never gets in

CONVERSATIONS = [
    # (sender id, messages, asked field for each message)
    ("telegram:81234567", [("山田太郎と申します。46歳で子ども3人、1年5か月働いてないです", None),
                           ("食品工場で8年働いていましたが、工場閉鎖で山田製作所を辞めました", "job_history"),
                           ("電話は090-1234-5678、メールは taro.yamada@example.jp です", "contact"),
                           ("夫から殴られることがあって、家を出たいです", None)]),
    ("line:Uabcdef0123456789", [("鈴木花子です。67歳、年金だけでは生活が苦しいです", None),
                                ("腰が悪いので座り仕事がいいです。時給1100円以上希望", "work_preferences"),
                                ("みどり市緑町3-14-15 さくら荘201号室に住んでいます", None)]),
    ("webchat:5f1e2d3c", [("23歳です。大学を中退してからずっと家にいます", None),
                          ("コンビニで半年アルバイトしました（佐藤店長にお世話になりました）", "job_history"),
                          ("<script>alert('x')</script> 😀 日本語でおねがいします", None)]),
]
PERSONAL = ["山田", "太郎", "鈴木", "花子", "佐藤", "090-1234-5678", "09012345678", "example.jp", "taro",
            "食品工場", "製作所", "座り仕事", "1100", "緑町", "3-14-15", "さくら荘", "201号室", "コンビニ", "script",
            "81234567", "Uabcdef0123456789", "5f1e2d3c", "46歳", "67歳", "23歳"]
EXACT_AGES = {46, 67, 23}


def _converse(messages, profile):
    slots = {"first_seen": datetime(2026, 11, 2, 19, 0, tzinfo=JST).isoformat()}
    for said, asking in messages:
        turn = absorb({"text": said, "intent": {"name": "inform"}}, {**slots, "requested_slot": asking}, profile)
        slots.update(turn.updates)
    return slots


async def test_no_personal_data_reaches_the_rows_or_the_export(tmp_path):
    from bot.db.engine import make_engine

    profile = load_profile()
    engine = make_engine(f"sqlite:///{tmp_path / 'pii.db'}")
    try:
        await migrate(engine)
        now = datetime(2026, 11, 2, 19, 25, tzinfo=JST)
        seen_text = []
        for sender, messages in CONVERSATIONS:
            slots = _converse(messages, profile)
            seen_text.append(slots)
            payload = route({**slots, "concerns": slots.get("concerns") or [], "crisis": slots.get("crisis")},
                            profile).to_payload()
            key = await ck.case_key_for(sender)
            await stats_db.record(engine, referral_event(slots, payload, sender.split(":")[0], now, case_key=key,
                                                         low_income_monthly=profile.thresholds.low_income_monthly))
            await stats_db.record(engine, handoff_event(slots, "urgent", sender.split(":")[0], now, case_key=key))
            await stats_db.record_outcome(engine, sender, "continuing", now)
        # the conversations did carry personal data into the slots …
        assert seen_text[0].get("age") == 46 and "食品工場" in (seen_text[0].get("job_history") or "")
        assert "090-1234-5678" in (seen_text[0].get("contact") or "")
        rows = await _rows(engine)
        assert len(rows) == 9
        async with engine.connect() as conn:  # … but the table, read raw, holds none of it
            raw = " ".join(str(v) for row in (await conn.execute(text("SELECT * FROM stat_events"))).all() for v in row)
        for word in PERSONAL:
            assert word not in raw, word
        for row in rows:
            assert set(row) == {c.name for c in StatEvent.__table__.columns}
            assert not EXACT_AGES & {row["minutes_to_referral"], row["month"]} - {None}
            assert re.fullmatch(r"[0-9a-f]{64}", row["case_key"])
        assert {r["age_band"] for r in rows} == {"40代", "60代", "20代"}
        assert "dv" in rows[0]["flags"]
        report = build_report(await counts(engine, 2026), threshold=10, destination_order=list(profile.destinations))
        exported = to_csv(report).decode("utf-8-sig")
        for word in PERSONAL + [r["case_key"] for r in rows]:
            assert word not in exported, word
        table = list(csv.reader(io.StringIO(exported)))
        assert table[0] == ["区分", "項目", "列", "値"] and all(len(line) == 4 for line in table)
        values = {line[3] for line in table[1:]}
        assert values <= {"", "—", "10未満"} | {v for v in values if re.fullmatch(r"[0-9,]+|[0-9.]+%|[0-9時間分日.]+", v)}
    finally:
        await engine.dispose()


async def test_record_for_sender_as_the_actions_call_it(tmp_path, caplog):
    from bot.db.engine import make_engine
    from bot.stats.events import booking_event

    engine = make_engine(f"sqlite:///{tmp_path / 'actions.db'}")
    try:
        now = datetime(2026, 12, 1, 10, tzinfo=JST)
        assert await stats_db.record_for_sender(engine, "line:U123", lambda key: booking_event(
            {"age": 41}, "hellowork", "line", now, case_key=key)) is True
        (row,) = await _rows(engine)
        assert row["kind"] == "booking" and row["case_key"] == await ck.case_key_for("line:U123")
        with caplog.at_level(logging.ERROR):  # a broken builder never reaches the resident
            assert await stats_db.record_for_sender(engine, "line:U123", lambda key: booking_event(
                {}, "hellowork", "line", datetime(2026, 12, 1, 10), case_key=key)) is False
        assert "ValueError" in caplog.text and "U123" not in caplog.text
        assert len(await _rows(engine)) == 1
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_totals_and_parts_agree_while_rows_are_being_written(backend, tmp_path):
    """Each counting connection reads one snapshot: a 計 never disagrees with its parts."""
    import asyncio

    async with database(backend, tmp_path) as engine:
        await migrate(engine)
        stop = asyncio.Event()

        async def write() -> int:
            n = 0
            while not stop.is_set():
                n += 1
                payload = {**PAYLOAD, "referrals": [{"destination": DESTS[n % len(DESTS)]}]}
                await stats_db.record(engine, referral_event({"age": 20 + n % 50}, payload, ("line", "webchat")[n % 2],
                                                             datetime(2026, 5, 1, tzinfo=JST) + timedelta(days=n % 300),
                                                             case_key=_key(n)))
                await asyncio.sleep(0)
            return n

        writer = asyncio.create_task(write())
        try:
            for _ in range(15):
                report = build_report(await counts(engine, 2026), threshold=10, destination_order=DESTS)
                assert report.figures[1].label.startswith("相談件数")
        finally:
            stop.set()
            assert await writer > 0
