"""The staff console driven in a real headless Chromium: sign-in, queue, claim, reply, hand back,
close, print view, logout, session expiry, CSRF, escaping, user administration and the audit trail.

Rasa is the stand-in of ``tests/console_support.FakeRasa``; it records what the console asked of it.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import HandoffTicket
from bot.db.staff_models import AuditLog, StaffMessage, StaffUser
from tests.console_support import PASSWORDS, add_ticket, browser_login

pytest_plugins = ["tests.console_fixtures"]

INTAKE = {
    "fields": {"consulting_for": "self", "age": 46, "employment_status": "unemployed", "months_without_work": 17,
               "children": 3, "housing": "renting", "rent_arrears_months": 2, "health": "declined",
               "job_history": "<img src=x onerror=alert(2)>食品工場で8年、工場閉鎖で離職"},
    "sources": {"age": "typed", "employment_status": "inferred", "children": "typed", "consulting_for": "button",
                "months_without_work": "typed", "housing": "inferred", "rent_arrears_months": "typed"},
    "referrals": [
        {"destination": "jiritsu_soudan", "name": "みどり市くらし・しごとサポートセンター（自立相談支援機関）",
         "reason": "家賃の支払いが難しいときは、住居確保給付金などを一緒に確認できます。"},
        {"destination": "hellowork", "name": "ハローワークみどり 市役所しごと相談コーナー",
         "reason": "すぐに仕事を探したい方を、求人の紹介までつなぎます。"},
    ],
    "urgency": "urgent", "language": "ja",
}


async def _audit(engine):
    async with AsyncSession(engine) as session:
        rows = (await session.execute(select(AuditLog).order_by(AuditLog.id))).scalars()
        return [(a.action, a.ticket, a.user_id, a.detail) for a in rows]


async def _ticket(engine, code):
    async with AsyncSession(engine) as session:
        return (await session.execute(select(HandoffTicket).where(HandoffTicket.ticket == code))).scalar_one()


async def test_login_queue_order_and_logout(console, console_page):
    page = console_page
    await add_ticket(console.engine, "HNORM1", urgency="normal", minutes_ago=120)
    await add_ticket(console.engine, "HURG01", urgency="urgent", minutes_ago=15, mode="callback",
                     callback_after=datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc), channel="telegram")
    await add_ticket(console.engine, "HEMG01", urgency="emergency", minutes_ago=2)
    await add_ticket(console.engine, "HEMG00", urgency="emergency", minutes_ago=7)
    await add_ticket(console.engine, "HURG00", urgency="urgent", minutes_ago=30, status="claimed",
                     claimed_by=console.user_ids["manager"])
    await add_ticket(console.engine, "HDONE1", urgency="emergency", minutes_ago=500, status="closed")

    await page.goto(console.base + "/")
    assert page.url.startswith(console.base + "/login?next=")
    await page.fill("#username", "ｓｔａｆｆ１")  # full-width input from an IME still signs in
    await page.fill("#password", PASSWORDS["staff"])
    await page.click("#login-button")
    await page.wait_for_selector("#queue-body")
    assert page.url == console.base + "/"
    assert await page.inner_text("#who") == "佐藤 花子（職員）"

    order = await page.eval_on_selector_all("#queue-body tr", "rows => rows.map(r => r.dataset.ticket)")
    assert order == ["HEMG00", "HEMG01", "HURG00", "HURG01", "HNORM1"]
    cells = await page.eval_on_selector_all('#queue-body tr[data-ticket="HURG01"] td', "tds => tds.map(t => t.innerText)")
    assert cells[:5] == ["HURG01", "至急", "折り返し連絡", "Telegram", "15分"]
    assert cells[5] == "12/01 09:00"  # shown in Japan time
    claimed = await page.eval_on_selector_all('#queue-body tr[data-ticket="HURG00"] td', "tds => tds.map(t => t.innerText)")
    assert claimed[-2:] == ["対応中", "鈴木 一郎"]

    await page.click("#logout")
    await page.wait_for_selector("#login-button")
    assert "ログアウトしました" in await page.inner_text("#notice")
    await page.goto(console.base + "/")
    assert "/login" in page.url
    actions = [a[0] for a in await _audit(console.engine)]
    assert actions == ["login", "logout"]


@pytest.mark.parametrize("console_overrides", [{"queue_page_size": 2}])
async def test_queue_pages_keep_the_most_urgent_first(console, console_page):
    page = console_page
    for code, urgency, minutes in (("HN1", "normal", 50), ("HN2", "normal", 40), ("HU1", "urgent", 5),
                                   ("HE1", "emergency", 1), ("HN3", "normal", 60)):
        await add_ticket(console.engine, code, urgency=urgency, minutes_ago=minutes)
    await browser_login(page, console, "staff")
    shown = []
    while True:
        shown.append(await page.eval_on_selector_all("#queue-body tr", "rows => rows.map(r => r.dataset.ticket)"))
        if not await page.locator("#next-page").count():
            break
        await page.click("#next-page")
        await page.wait_for_selector("#queue-body tr")
    assert shown == [["HE1", "HU1"], ["HN3", "HN1"], ["HN2"]]
    assert await page.inner_text("#queue-count") == "5"
    assert await page.inner_text("#queue-counts") == "緊急（生命・安全） 1件・至急 1件・通常 3件"


async def test_wrong_password_and_unknown_user_get_the_same_answer(console, console_page):
    page = console_page
    messages = []
    for username, password in (("staff1", "not-the-password-1"), ("ghost99", "not-the-password-1")):
        await page.goto(console.base + "/login")
        await page.fill("#username", username)
        await page.fill("#password", password)
        await page.click("#login-button")
        messages.append(await page.inner_text("#login-error"))
        assert await page.input_value("#password") == ""  # the password is never sent back
    assert messages[0] == messages[1] == "ユーザー名またはパスワードが正しくありません。"


async def test_claim_reply_and_hand_back(console, console_page):
    page = console_page
    csp_violations = []
    page.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)
    await add_ticket(console.engine, "HLIVE1", urgency="urgent", summary=INTAKE, sender_id="web-7f3a")
    console.rasa.conversation("web-7f3a", [
        ("user", "仕事をクビになって、家賃が2か月払えていません"),
        ("bot", "お仕事のこと、ご不安ですよね。"),
        ("user", "人と話したい"),
        ("bot", "担当の職員におつなぎします。このままお待ちください。"),
    ])
    await browser_login(page, console, "staff")
    await page.click('a[href="/cases/HLIVE1"]')
    await page.wait_for_selector("#intake")

    # the prefilled intake summary, with where each answer came from
    assert await page.inner_text('tr[data-field="employment_status"] td.value') == "無職（求職中）"
    assert await page.inner_text('tr[data-field="employment_status"] td.source') == "ボットが推定（要確認）"
    assert await page.inner_text('tr[data-field="age"] td.value') == "46歳"
    assert await page.inner_text('tr[data-field="age"] td.source') == "本人が入力"
    assert await page.inner_text('tr[data-field="consulting_for"] td.source') == "本人が選択"
    assert await page.inner_text('tr[data-field="months_without_work"] td.value') == "1年5か月（17か月）"
    assert await page.inner_text('tr[data-field="health"] td.value') == "答えたくない"
    assert await page.inner_text('tr[data-field="job_history"] td.value') == INTAKE["fields"]["job_history"]
    referrals = await page.inner_text("#referrals")
    assert "ハローワークみどり 市役所しごと相談コーナー" in referrals and "住居確保給付金" in referrals
    assert "予約はありません" in await page.inner_text("#bookings")
    transcript = await page.inner_text("#transcript")
    assert "家賃が2か月払えていません" in transcript and "担当の職員におつなぎします" in transcript

    await page.click("#claim")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == "この相談の担当になりました。"
    assert await page.inner_text("#claimed-by") == "佐藤 花子"
    assert (await _ticket(console.engine, "HLIVE1")).status == "claimed"

    await page.fill("#reply-text", "くらし・しごとサポートセンターの佐藤です。\n家賃のこと、一緒に考えましょう。")
    await page.click("#reply")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == "メッセージを送信しました。"
    assert "家賃のこと、一緒に考えましょう。" in await page.inner_text("#staff-messages")
    posted = [(c["path"].rsplit("/", 2)[-2:], c["query"], c["json"]) for c in console.rasa.posts("web-7f3a")]
    assert posted == [
        (["tracker", "events"], {"output_channel": "latest"},
         [{"event": "slot", "name": "staff_message",
           "value": "くらし・しごとサポートセンターの佐藤です。\n家賃のこと、一緒に考えましょう。"}]),
        (["web-7f3a", "execute"], {"output_channel": "latest"}, {"name": "action_staff_message"}),
    ]
    async with AsyncSession(console.engine) as session:
        stored = (await session.execute(select(StaffMessage))).scalar_one()
    assert stored.delivered and stored.staff_user_id == console.user_ids["staff"] and stored.sender_id == "web-7f3a"

    assert await page.locator("#close").count() == 0  # a live chat ends by handing back
    await page.click("#handback")
    await page.wait_for_selector("#notice")
    assert "ボットに戻しました" in await page.inner_text("#notice")
    assert await page.inner_text("#case-status") == "ボットに戻した"
    assert await page.locator("#reply-text").count() == 0
    assert [c["json"] for c in console.rasa.posts("web-7f3a")[2:]] == [[{"event": "resume"}], {"name": "action_handback"}]
    ticket = await _ticket(console.engine, "HLIVE1")
    assert ticket.status == "handed_back" and ticket.closed_at is not None

    await page.click('a:has-text("受付一覧")')
    await page.wait_for_selector("#queue-body")
    assert await page.locator('#queue-body tr[data-ticket="HLIVE1"]').count() == 0
    assert csp_violations == []  # scripts and styles all come from /static under default-src 'self'
    staff = console.user_ids["staff"]
    assert [a for a in await _audit(console.engine) if a[0] != "login"] == [
        ("open_case", "HLIVE1", staff, None), ("claim", "HLIVE1", staff, None), ("open_case", "HLIVE1", staff, None),
        ("reply", "HLIVE1", staff, None), ("open_case", "HLIVE1", staff, None),
        ("handback", "HLIVE1", staff, None), ("open_case", "HLIVE1", staff, None),
    ]


async def test_reply_kept_when_rasa_is_down_and_retried(console, console_page):
    page = console_page
    await add_ticket(console.engine, "HDOWN1", urgency="emergency", sender_id="tg-5501")
    await browser_login(page, console, "staff", path="/cases/HDOWN1")
    assert page.url == console.base + "/cases/HDOWN1"
    console.rasa.mode = "down"
    await page.reload()
    assert "会話の記録を表示できません" in await page.inner_text("#transcript-error")
    await page.fill("#reply-text", "担当の佐藤です。今どこにいらっしゃいますか？")
    await page.click("#reply")
    await page.wait_for_selector("#notice")
    assert "接続できませんでした" in await page.inner_text("#notice")
    assert "未送信" in await page.inner_text("#staff-messages")
    async with AsyncSession(console.engine) as session:
        assert [m.delivered for m in (await session.execute(select(StaffMessage))).scalars()] == [False]
    assert (await _ticket(console.engine, "HDOWN1")).claimed_by == console.user_ids["staff"]  # replying claimed it

    console.rasa.mode = "ok"
    await page.click("#retry")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == "未送信だったメッセージを送信しました。"
    assert "未送信" not in await page.inner_text("#staff-messages")
    async with AsyncSession(console.engine) as session:
        assert [m.delivered for m in (await session.execute(select(StaffMessage))).scalars()] == [True]
    sent = [c["json"] for c in console.rasa.posts("tg-5501") if c["path"].endswith("/tracker/events")]
    assert sent[-1] == [{"event": "slot", "name": "staff_message", "value": "担当の佐藤です。今どこにいらっしゃいますか？"}]
    details = [(a[0], a[3]) for a in await _audit(console.engine) if a[0] in ("reply", "retry")]
    assert details == [("reply", "undelivered"), ("retry", None)]


async def test_resident_script_is_shown_as_text(console, console_page):
    page = console_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())))
    await add_ticket(console.engine, "HXSS01", urgency="normal", summary=INTAKE, sender_id="rest-xss")
    console.rasa.conversation("rest-xss", [
        ("user", "<script>alert(1)</script>"),
        ("bot", "すみません、もう一度教えてください。"),
        ("user", '"><img src=x onerror=alert(3)>家がありません'),
    ])
    await browser_login(page, console, "staff", path="/cases/HXSS01")
    resident = page.locator("#transcript li.from-resident .text")
    assert await resident.nth(0).inner_text() == "<script>alert(1)</script>"
    assert await resident.nth(1).inner_text() == '"><img src=x onerror=alert(3)>家がありません'
    assert await page.locator("#transcript script, #transcript img, #intake img").count() == 0
    assert await page.inner_text('tr[data-field="job_history"] td.value') == INTAKE["fields"]["job_history"]
    await page.wait_for_timeout(300)
    assert dialogs == []


@pytest.mark.parametrize("console_overrides", [{"queue_refresh_seconds": 1}])
async def test_new_messages_appear_during_a_live_chat(console, console_page):
    page = console_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())))
    await add_ticket(console.engine, "HLIVE2", urgency="urgent", sender_id="web-live2")
    console.rasa.conversation("web-live2", [("user", "人と話したい")])
    await browser_login(page, console, "staff", path="/cases/HLIVE2")
    assert "人と話したい" in await page.inner_text("#transcript")
    console.rasa.trackers["web-live2"].append(
        {"event": "user", "text": "<script>alert(4)</script>今日泊まる場所がありません", "timestamp": 1_795_000_300})
    newest = page.locator("#chat li.from-resident .text").last
    await newest.wait_for()
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#chat .text')].some(e => e.textContent.includes('泊まる場所'))",
        timeout=5000)
    assert await newest.inner_text() == "<script>alert(4)</script>今日泊まる場所がありません"
    assert await page.locator("#chat script").count() == 0 and dialogs == []
    console.rasa.mode = "down"
    await page.wait_for_selector("#transcript-live-error:not([hidden])", timeout=5000)
    assert "接続できない" in await page.inner_text("#transcript-live-error")
    assert "泊まる場所" in await page.inner_text("#chat")  # what was shown stays
    opened = [a for a in await _audit(console.engine) if a[0] == "open_case"]
    assert len(opened) == 1  # refreshing is not opening the case again


async def test_print_view_summary_only_unless_asked(console, console_page):
    page = console_page
    await add_ticket(console.engine, "HPRNT1", urgency="urgent", mode="callback", summary=INTAKE, sender_id="line-88")
    console.rasa.conversation("line-88", [("user", "子ども3人いて、家賃が払えません")])
    await browser_login(page, console, "manager", path="/cases/HPRNT1")
    await page.click("#print-link")
    await page.wait_for_selector(".print-header")
    body = await page.inner_text("body")
    assert "相談受付票 HPRNT1" in body and "無職（求職中）" in body and "ボットが推定（要確認）" in body
    assert "住居確保給付金" in body and "出力者 鈴木 一郎" in body
    assert await page.locator("#transcript").count() == 0 and "子ども3人いて" not in body
    await page.emulate_media(media="print")
    assert not await page.is_visible(".print-toolbar")
    assert await page.is_visible("#intake")
    await page.emulate_media(media="screen")
    await page.click("#toggle-transcript")
    await page.wait_for_selector("#transcript")
    assert "子ども3人いて、家賃が払えません" in await page.inner_text("#transcript")
    prints = [(a[0], a[3]) for a in await _audit(console.engine) if a[0] == "open_case"]
    assert prints == [("open_case", None), ("open_case", "print"), ("open_case", "print_transcript")]


async def test_close_a_callback_case(console, console_page):
    page = console_page
    await add_ticket(console.engine, "HCALL1", urgency="normal", mode="callback", sender_id="rest-cb1",
                     callback_after=datetime.now(timezone.utc) + timedelta(hours=12))
    await browser_login(page, console, "staff", path="/cases/HCALL1")
    assert await page.locator("#handback").count() == 0
    await page.click("#claim")
    await page.wait_for_selector("#notice")
    await page.click("#close")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#notice") == "対応完了にしました。"
    assert await page.inner_text("#case-status") == "対応完了"
    ticket = await _ticket(console.engine, "HCALL1")
    assert ticket.status == "closed" and ticket.closed_at is not None
    assert console.rasa.posts() == []  # closing a call-back case does not touch the conversation
    assert [a[0] for a in await _audit(console.engine) if a[0] in ("claim", "close")] == ["claim", "close"]


@pytest.mark.parametrize("console_overrides", [{"idle_timeout": timedelta(seconds=2)}])
async def test_session_expires_after_idle_time(console, console_page):
    page = console_page
    await add_ticket(console.engine, "HIDLE1", urgency="urgent")
    await browser_login(page, console, "staff")
    await page.wait_for_timeout(2500)
    await page.goto(console.base + "/cases/HIDLE1")
    await page.wait_for_selector("#login-button")
    assert "一定時間操作がなかったため" in await page.inner_text("#notice")
    await page.fill("#username", "staff1")
    await page.fill("#password", PASSWORDS["staff"])
    await page.click("#login-button")
    await page.wait_for_selector("#intake")
    assert page.url == console.base + "/cases/HIDLE1"  # back where the resident's case was


@pytest.mark.parametrize("console_overrides", [{"queue_refresh_seconds": 1, "idle_timeout": timedelta(seconds=4)}])
async def test_queue_refreshes_itself_and_leaves_when_the_session_ends(console, console_page):
    page = console_page
    await browser_login(page, console, "staff")
    assert "待っている相談はありません" in await page.inner_text("#queue-body")
    await add_ticket(console.engine, "HNEW01", urgency="emergency", minutes_ago=0)
    await page.wait_for_selector('#queue-body tr[data-ticket="HNEW01"]', timeout=5000)
    assert await page.inner_text("#queue-count") == "1"
    assert page.url == console.base + "/"  # no reload: the table was rebuilt from /queue.json
    # the refresh does not count as activity: the idle limit still signs the unattended screen out
    await page.wait_for_selector("#login-button", timeout=10_000)


async def test_tampered_csrf_token_is_refused(console, console_page):
    page = console_page
    await add_ticket(console.engine, "HCSRF2", urgency="urgent")
    await browser_login(page, console, "staff", path="/cases/HCSRF2")
    await page.eval_on_selector('form[action="/cases/HCSRF2/claim"] input[name="csrf_token"]',
                                "input => { input.value = 'forged-token' }")
    await page.click("#claim")
    await page.wait_for_selector("#error-message")
    assert "不正な送信" in await page.inner_text("#error-message")
    assert (await _ticket(console.engine, "HCSRF2")).status == "open"
    await page.goto(console.base + "/cases/HCSRF2")
    await page.eval_on_selector('form[action="/cases/HCSRF2/claim"] input[name="csrf_token"]', "input => input.remove()")
    await page.click("#claim")
    await page.wait_for_selector("#error-message")
    assert (await _ticket(console.engine, "HCSRF2")).status == "open"


async def test_staff_cannot_open_user_administration(console, console_page):
    page = console_page
    await browser_login(page, console, "manager")
    assert await page.locator('a[href="/admin/users"]').count() == 0
    response = await page.goto(console.base + "/admin/users")
    assert response.status == 403
    assert "権限がありません" in await page.inner_text("#error-message")


async def test_admin_creates_deactivates_and_resets_users(console, console_browser, console_page):
    admin = console_page
    await browser_login(admin, console, "admin")
    await admin.click('a[href="/admin/users"]')
    await admin.fill("#new-username", "tanaka2")
    await admin.fill("#new-display-name", "田中 美咲")
    await admin.select_option("#new-role", "staff")
    for field in ("#new-password", "#new-confirm"):
        await admin.fill(field, "みどり2026")  # too short: refused with a reason
    await admin.eval_on_selector("#create-user", "form => form.noValidate = true")
    await admin.click("#create-user-button")
    assert "12文字以上" in await admin.inner_text("#users-error")
    assert await admin.input_value("#new-username") == "tanaka2"
    for field in ("#new-password", "#new-confirm"):
        await admin.fill(field, "さくら通り-相談-2026")
    await admin.click("#create-user-button")
    await admin.wait_for_selector("#notice")
    assert await admin.inner_text("#notice") == "職員を登録しました。"
    assert "田中 美咲" in await admin.inner_text('tr[data-username="tanaka2"]')

    other = await (await console_browser.new_context()).new_page()
    await other.goto(console.base + "/login")
    await other.fill("#username", "tanaka2")
    await other.fill("#password", "さくら通り-相談-2026")
    await other.click("#login-button")
    await other.wait_for_selector("#who")

    await admin.click('tr[data-username="tanaka2"] button.deactivate')
    await admin.wait_for_selector("#notice")
    assert "停止中" in await admin.inner_text('tr[data-username="tanaka2"]')
    await other.reload()
    await other.wait_for_selector("#login-button")

    await admin.click('tr[data-username="tanaka2"] button.activate')
    await admin.wait_for_selector("#notice")
    row = admin.locator('tr[data-username="tanaka2"]')
    await row.locator("summary").click()
    await row.locator('input[name="password"]').fill("新しい-パスワード-2027")
    await row.locator('input[name="confirm"]').fill("新しい-パスワード-2027")
    await row.locator("button.reset").click()
    await admin.wait_for_selector("#notice")
    assert "パスワードを再設定しました" in await admin.inner_text("#notice")
    await other.fill("#username", "tanaka2")
    await other.fill("#password", "新しい-パスワード-2027")
    await other.click("#login-button")
    await other.wait_for_selector("#who")
    await other.context.close()

    async with AsyncSession(console.engine) as session:
        user = (await session.execute(select(StaffUser).where(StaffUser.username == "tanaka2"))).scalar_one()
    assert user.active and user.role == "staff" and user.password_hash.startswith("$argon2id$")
    admin_actions = [(a[0], a[3]) for a in await _audit(console.engine) if a[2] == console.user_ids["admin"]]
    assert admin_actions[1:] == [("user_create", f"user:{user.id}"), ("user_deactivate", f"user:{user.id}"),
                                 ("user_activate", f"user:{user.id}"), ("password_reset", f"user:{user.id}")]
