"""Statistics in the staff console, in a real headless Chromium: the managers' dashboard (charts,
filters, suppression marks, CSV download), the 403 for staff, and the outcome and attendance
entries on the case page that feed it."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import stats as stats_db
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.db.models import Booking
from bot.db.staff_models import AuditLog
from bot.db.stats_models import StatEvent
from bot.stats import case_key as ck
from bot.stats.events import handoff_event, referral_event
from tests.console_support import add_ticket, browser_login, console_settings, http_session, start_console, stop_console

pytest_plugins = ["tests.console_fixtures"]  # console_browser, console_page

JST = timezone(timedelta(hours=9))
TARGETS = """
statistics:
  min_cell: 10
targets:
  2026:
    支援対象者数: 300
    相談件数: 500
    就職件数: 30
    groups:
      youth: {支援対象者数: 40}
"""
SENDERS = [f"line:U{n:08d}" for n in range(260)]


@pytest.fixture(autouse=True)
def stats_env(tmp_path, monkeypatch):
    monkeypatch.delenv("STATS_SECRET", raising=False)
    monkeypatch.setenv("STATS_KEY_FILE", str(tmp_path / "stats.key"))
    (tmp_path / "targets.yml").write_text(TARGETS, encoding="utf-8")
    monkeypatch.setenv("STATS_TARGETS", str(tmp_path / "targets.yml"))
    ck.forget_cached_secret()
    yield
    ck.forget_cached_secret()


@pytest_asyncio.fixture
async def stats_console(tmp_path):
    """The console over a migrated SQLite file (as ``python -m integrations.console`` serves it)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'console.db'}")
    await migrate(engine)
    harness = await start_console(engine, console_settings())
    try:
        yield harness
    finally:
        await stop_console(harness)


async def seed(engine) -> None:
    """Realistic 2026年度 rows: 420 consultations by 260 people, a few rare ones."""
    rng = random.Random(26)
    payloads = [{"urgency": "normal", "referrals": [{"destination": "jiritsu_soudan"}, {"destination": "hellowork"}]},
                {"urgency": "normal", "referrals": [{"destination": "saposute"}]},
                {"urgency": "urgent", "referrals": [{"destination": "human_staff"}, {"destination": "jiritsu_soudan"}]}]
    rows = []
    for i in range(420):
        sender = SENDERS[i % len(SENDERS)]
        when = datetime(2026, 4, 3, 19, tzinfo=JST) + timedelta(days=i % 230, minutes=i)
        slots = {"age": 18 + (i * 7) % 60, "household": ("alone", "with_parents", "single_parent")[i % 3],
                 "concerns": ["youth"] if i % 4 == 0 else ["job_loss"],
                 "first_seen": (when - timedelta(minutes=10 + i % 50)).isoformat()}
        if i == 5:
            slots["concerns"] = ["dv"]
        key = ck.case_key(sender, ck.load_secret())
        rows.append(referral_event(slots, rng.choice(payloads), ("line", "webchat", "rest")[i % 3], when, case_key=key))
        if i % 40 == 0:
            rows.append(handoff_event(slots, "urgent", "line", when, case_key=key))
    async with engine.begin() as conn:
        await conn.execute(StatEvent.__table__.insert(), [stats_db.to_columns(r) for r in rows])


async def test_the_dashboard_in_chromium(stats_console, console_page):
    page = console_page
    await seed(stats_console.engine)
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    await browser_login(page, stats_console, "manager")
    await page.click("#nav-stats")
    await page.wait_for_selector("#kpis")
    await page.select_option("#fy", "2026")
    await page.click("#stats-show")
    await page.wait_for_url("**/stats?fy=2026&month=")
    assert "2026年度（令和8年度）" in await page.inner_text("h1")
    assert await page.inner_text("#kpi-persons dd") == "260"
    assert await page.inner_text("#kpi-consultations dd") == "420"
    assert await page.inner_text("#kpi-handoffs dd") == "11"
    assert await page.inner_text("#kpi-employed dd") == "10未満"  # no outcomes yet: 0 is small too
    assert await page.inner_text("#kpi-employment_rate dd") == "—"
    assert "分" in await page.inner_text("#kpi-median_minutes dd")

    # Charts: inline SVG with a text alternative; one bar per visible figure, none for a hidden one.
    svg = page.locator("#chart-channel svg")
    assert await svg.get_attribute("role") == "img"
    assert "LINE 140" in await page.locator("#chart-channel desc").text_content()
    # Telegram and その他 are 0; hiding only them would show 420 - 140 - 140 - 140 = 0, so the
    # smallest other figure (Webチャット) is hidden with them and gets no bar either.
    assert await page.locator("#chart-channel rect.bar").count() == 2
    assert await page.locator("#chart-channel text.hidden-value").count() == 3
    monthly = page.locator("#chart-monthly rect.bar")
    assert await monthly.count() >= 7
    box = await page.locator("#chart-channel svg").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50  # drawn, styled by the stylesheet
    cells = await page.eval_on_selector_all("#table-channel td", "tds => tds.map(t => t.innerText)")
    assert cells == ["10未満", "140", "10未満", "140", "10未満", "420"]
    # Rare flags: a single small total, never crossed.
    rare = await page.eval_on_selector_all("#rare td", "tds => tds.map(t => t.innerText)")
    assert rare[0] == "10未満"
    # Targets against actuals, with progress bars.
    targets = await page.eval_on_selector_all("#targets tbody tr", "rows => rows.map(r => r.innerText)")
    assert any("支援対象者数" in t and "300" in t and "260" in t and "87%" in t for t in targets)
    assert await page.locator("#targets svg.progress rect.done").count() >= 2

    # A month only: no month table, no targets; the figures of that month.
    await page.select_option("#month", "5")
    await page.click("#stats-show")
    await page.wait_for_url("**/stats?fy=2026&month=5")
    assert "2026年5月" in await page.inner_text("h1")
    assert await page.locator("#section-monthly").count() == 0 and await page.locator("#targets").count() == 0

    # The CSV download: UTF-8 with a BOM, the same marks, nothing about a person.
    async with page.expect_download() as info:
        await page.click("#csv-link")
    download = await info.value
    assert download.suggested_filename == "stats-2026-05.csv"
    data = (await download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    body = data.decode("utf-8-sig")
    assert "期間,2026年度（令和8年度） 2026年5月" in body and "10未満" in body
    keys = {ck.case_key(s, ck.load_secret()) for s in SENDERS}
    assert not any(k in body for k in keys) and "line:U" not in body
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


async def test_staff_are_refused_the_statistics(stats_console, console_page):
    page = console_page
    await browser_login(page, stats_console, "staff")
    assert await page.locator("#nav-stats").count() == 0
    response = await page.goto(stats_console.base + "/stats")
    assert response.status == 403
    assert "この操作を行う権限がありません。" in await page.inner_text("main")
    async with http_session() as http:
        await stats_console.http_login(http, "staff")
        async with http.get(stats_console.base + "/stats.csv", allow_redirects=False) as resp:
            assert resp.status == 403 and "text/csv" not in resp.headers.get("Content-Type", "")
    async with http_session() as http:
        await stats_console.http_login(http, "admin")
        async with http.get(stats_console.base + "/stats.csv?fy=2026") as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
        async with http.get(stats_console.base + "/stats?fy=20x6&month=13") as resp:
            assert resp.status == 400


async def _booking(engine, sender: str, reference: str, start: datetime, status: str = "booked") -> None:
    now = datetime.now(timezone.utc)
    async with AsyncSession(engine) as session, session.begin():
        session.add(Booking(reference=reference, sender_id=sender, channel="line", destination="jiritsu_soudan",
                            office="くらし・しごとサポートセンター", start=start, end=start + timedelta(minutes=50),
                            status=status, sequence=0, consent=False, created_at=now, updated_at=now))


async def test_outcome_and_attendance_from_the_case_page(stats_console, console_page):
    page, engine = console_page, stats_console.engine
    sender = "line:U0000beef"
    key = await ck.case_key_for(sender)
    await stats_db.record(engine, referral_event({"age": 34, "concerns": ["youth"]}, {"urgency": "normal", "referrals": [
        {"destination": "saposute"}]}, "line", datetime.now(timezone.utc) - timedelta(days=9), case_key=key))
    await add_ticket(engine, "HSTAT1", sender_id=sender)
    past = datetime.now(timezone.utc) - timedelta(days=2)
    await _booking(engine, sender, "YABCDEF", past)
    await _booking(engine, sender, "YFUTURE", datetime.now(timezone.utc) + timedelta(days=5))
    await _booking(engine, "line:Uother", "YOTHERS", past)

    await browser_login(page, stats_console, "staff", path="/cases/HSTAT1")
    assert "まだ記録されていません" in await page.inner_text("#outcome-current")
    await page.select_option("#outcome-select", "employed_referral")
    await page.click("#outcome-save")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == "支援の結果を記録しました。"
    assert "就職（紹介就職）" in await page.inner_text("#outcome-current")

    assert await page.locator("#attendance tr").count() == 1  # only the appointment that has begun
    await page.click("#mark-no_show-YABCDEF")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == "来所なしを記録しました。"
    await page.click("#mark-attended-YABCDEF")  # corrected
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == "来所を記録しました。"

    async with AsyncSession(engine) as session:
        rows = (await session.execute(select(StatEvent).order_by(StatEvent.id))).scalars().all()
        assert [(r.kind, r.outcome) for r in rows] == [("referral", None), ("outcome", "employed_referral"),
                                                        ("attended", None)]
        assert all(r.case_key == key for r in rows) and rows[1].target_groups == "|youth|"
        booking = (await session.execute(select(Booking).where(Booking.reference == "YABCDEF"))).scalar_one()
        assert booking.status == "attended"
        audit = [(a.action, a.detail) for a in (await session.execute(select(AuditLog))).scalars()]
        assert ("outcome", "employed_referral") in audit and ("attendance", "attended") in audit

    # Forged forms: another resident's booking, a made-up outcome. Nothing changes.
    async with http_session() as http:
        csrf = await stats_console.http_login(http, "staff")
        url = stats_console.base + "/cases/HSTAT1"
        async with http.post(url + "/attendance", data={"csrf_token": csrf, "reference": "YOTHERS",
                                                        "status": "no_show"}) as resp:
            assert resp.status == 404 and "この相談の予約が見つかりませんでした。" in await resp.text()
        async with http.post(url + "/attendance", data={"csrf_token": csrf, "reference": "YFUTURE",
                                                        "status": "attended"}) as resp:
            assert resp.status == 409 and "まだ記録できません" in await resp.text()
        async with http.post(url + "/outcome", data={"csrf_token": csrf, "outcome": "<b>就職</b>"}) as resp:
            assert resp.status == 400 and "<b>就職</b>" not in await resp.text()
    async with AsyncSession(engine) as session:
        assert len((await session.execute(select(StatEvent))).scalars().all()) == 3
        other = (await session.execute(select(Booking).where(Booking.reference == "YOTHERS"))).scalar_one()
        assert other.status == "booked"
