"""The residents' web chat in a real headless Chromium against the real stack.

Rasa (trained model, ``WebchatInput`` channel from credentials.yml) and the action server run
through ``bench.procs.rest_stack``; the web chat runs as its own process with the same command
as the Procfile. Each test is a new browser context: a new resident with fresh cookies and
storage. What is asserted is what residents rely on: the screening reaches referral cards by
clicking and typing, nothing is lost on reload or network loss, text is never markup, and the
page works with the keyboard, at 320 CSS px and with sufficient contrast.
"""
from __future__ import annotations

import json
import secrets
import sys
import time
from typing import Any, Dict, Iterator, List

import pytest
import requests

from bench.procs import ROOT, child_env, free_port, rest_stack, spawn, stop, tracebacks, wait_http
from tests.conftest import MODEL, NIGHT

pytestmark = pytest.mark.server
sync_api = pytest.importorskip("playwright.sync_api")

OUT = ROOT / "test-output"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TYPED = {"age": "40歳です", "youngest_child_age": "5歳", "months_without_work": "3か月",
         "job_history": "工場で5年働いていました", "health_notes": "特にありません",
         "work_preferences": "平日の昼間がいいです", "contact": "なし", "monthly_income": "10万円くらい"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    if not MODEL.exists():
        pytest.fail("models/current.tar.gz is missing: run scripts/train.sh (make test does it)")
    tmp = tmp_path_factory.mktemp("webchat")
    secret = secrets.token_urlsafe(24)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WEBCHAT_SECRET", secret)  # rasa's channel and the web server must share it
        with rest_stack(MODEL, tmp, timeout=240, env={"INTAKE_NOW": NIGHT}) as rasa:
            port = free_port()
            log = tmp / "web.log"
            web = spawn([sys.executable, "-m", "integrations.webchat", "serve", "--host", "127.0.0.1",
                         "--port", str(port), "--rasa-url", rasa["url"]], log, child_env())
            try:
                wait_http(f"http://127.0.0.1:{port}/chat/", web, log, 60)
                yield {"rasa": rasa["url"], "web": f"http://127.0.0.1:{port}", "secret": secret}
            finally:
                stop(web)
                for name, count in tracebacks({**rasa["logs"], "web": str(log)}).items():
                    if count:
                        print(f"--- {name} log has {count} traceback(s)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    yield ctx
    ctx.close()


def wait_js(page: Any, expression: str, timeout: float = 30, arg: Any = None) -> None:
    """Poll ``expression`` in the page until truthy (``wait_for_function`` evaluates strings with
    ``eval``, which the page's Content-Security-Policy rightly forbids)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(expression, arg):
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {expression}")


class Chat:
    """A resident using the page; waits are on what the page shows, never on fixed sleeps alone."""

    def __init__(self, page: Any, stack: Dict[str, Any]) -> None:
        self.page = page
        self.stack = stack
        self.errors: List[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def open(self) -> "Chat":
        self.page.goto(self.stack["web"] + "/chat/")
        wait_js(self.page, "Number(document.body.dataset.botCount || 0) >= 1")
        self.settle()
        return self

    def bot_count(self) -> int:
        return int(self.page.evaluate("Number(document.body.dataset.botCount || 0)"))

    def settle(self, quiet: float = 0.8, timeout: float = 30) -> None:
        """Wait until no bot message has arrived for ``quiet`` seconds (a turn is several events)."""
        deadline = time.monotonic() + timeout
        last, since = self.bot_count(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.bot_count()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise AssertionError("the bot kept talking")

    def _after(self, action) -> None:  # type: ignore[no-untyped-def]
        before = self.bot_count()
        action()
        wait_js(self.page, f"Number(document.body.dataset.botCount || 0) > {before}")
        self.settle()

    def say(self, text: str) -> None:
        def act() -> None:
            self.page.fill("#message", text)
            self.page.press("#message", "Enter")
        self._after(act)

    def click(self, title: str | None = None) -> str:
        button = self.page.locator("#choices .choice", has_text=title).first if title else \
            self.page.locator("#choices .choice").first
        shown = button.inner_text()
        self._after(button.click)
        return shown

    def choices(self) -> List[str]:
        return self.page.locator("#choices .choice").all_inner_texts()

    def bubbles(self) -> List[str]:
        return self.page.locator("#log .bubble").all_inner_texts()

    def user_bubbles(self) -> List[str]:
        return self.page.locator("#log .msg-user .bubble").all_inner_texts()

    def session_id(self) -> str:
        return self.page.evaluate("JSON.parse(localStorage.getItem('kurashi-chat:session'))")

    def tracker(self) -> Dict[str, Any]:
        resp = requests.get(f"{self.stack['rasa']}/conversations/{self.session_id()}/tracker", timeout=30)
        resp.raise_for_status()
        return resp.json()


def user_texts(tracker: Dict[str, Any]) -> List[str]:
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


def test_full_screening_to_referral_cards(stack, context):
    chat = Chat(context.new_page(), stack).open()
    assert "相談は無料で、秘密は守られます" in chat.bubbles()[0]
    assert chat.choices(), "the welcome offers topics as quick replies"
    chat.say("仕事をクビになって家賃が払えません")
    seen = set()
    for _ in range(25):
        if chat.page.locator("#log .referral-card").count():
            break
        field = chat.page.get_attribute("#message", "data-field")
        assert field and field not in seen, f"expected a new question, got {field!r}"
        seen.add(field)
        if chat.choices():
            shown = chat.click()
            assert shown in chat.user_bubbles(), "a pressed quick reply shows its title as the resident's words"
        else:
            chat.say(TYPED.get(field, "わからない"))
    cards = chat.page.locator("#log .referral-card")
    assert cards.count() >= 1, "no referral after answering every question"
    for i in range(cards.count()):
        assert cards.nth(i).locator("h3").inner_text().strip()
        reason = cards.nth(i).locator("p").inner_text()
        assert any("\u3040" <= ch <= "\u30ff" for ch in reason), "a one-sentence Japanese reason"
    assert chat.page.locator('#log .referral-card[data-destination="jiritsu_soudan"]').count() == 1
    assert not any(b.startswith("/") for b in chat.user_bubbles()), "no raw payloads shown to the resident"
    assert chat.choices(), "what to do next is offered"
    OUT.mkdir(exist_ok=True)
    chat.page.screenshot(path=str(OUT / "webchat-referral.png"), full_page=True)
    tracker = chat.tracker()
    assert "仕事をクビになって家賃が払えません" in user_texts(tracker), "the page spoke in its own conversation"
    assert tracker["slots"]["referral"]["referrals"]
    assert not chat.errors


def test_reload_keeps_the_conversation_and_continues_it(stack, context):
    chat = Chat(context.new_page(), stack).open()
    chat.say("46歳で子ども3人、1年5か月働いてないです")
    field = chat.page.get_attribute("#message", "data-field")
    before_bubbles, before_choices, sid = chat.bubbles(), chat.choices(), chat.session_id()
    chat.page.reload()
    wait_js(chat.page, f"Number(document.body.dataset.rendered || 0) >= {len(before_bubbles)}")
    time.sleep(1.5)  # a second welcome would arrive within this time if the page wrongly greeted again
    assert chat.bubbles() == before_bubbles
    assert chat.choices() == before_choices
    assert chat.session_id() == sid
    assert chat.page.get_attribute("#message", "data-field") == field
    if before_choices:
        chat.click()
    else:
        chat.say(TYPED.get(field, "わからない"))
    tracker = chat.tracker()
    assert tracker["slots"]["age"] == 46, "the same conversation went on"
    assert chat.page.get_attribute("#message", "data-field") not in {field, "age", "children"}
    assert user_texts(tracker)[0] == "/greet" and user_texts(tracker).count("/greet") == 1
    # 「最初から」 asks first, then forgets the answers (same conversation, same page).
    chat.page.click("#restart")
    assert chat.page.is_visible("#restart-confirm")
    assert chat.page.evaluate("document.activeElement.id") == "restart-yes"
    chat._after(lambda: chat.page.click("#restart-yes"))
    assert chat.user_bubbles()[-1] == "最初から"
    assert chat.tracker()["slots"]["age"] is None
    assert "仕事のこと" in chat.choices()


def test_offline_message_is_queued_and_sent_in_the_same_conversation(stack, context):
    chat = Chat(context.new_page(), stack).open()
    chat.say("38歳です。派遣の仕事が切れてしまいました")
    sid = chat.session_id()
    context.set_offline(True)
    wait_js(chat.page, "document.getElementById('notice').textContent.includes('つながっていません')")
    chat.page.fill("#message", "家賃が2か月払えていません")
    chat.page.press("#message", "Enter")
    pending = chat.page.locator("#log .msg-user.pending")
    assert pending.count() == 1 and "未送信" in pending.inner_text()
    assert chat.page.evaluate("document.activeElement.id") == "message"
    before = chat.bot_count()
    context.set_offline(False)
    wait_js(chat.page, f"Number(document.body.dataset.botCount) > {before}")
    chat.settle()
    assert chat.page.locator("#log .msg-user.pending").count() == 0
    assert chat.page.inner_text("#notice").strip() == ""
    assert chat.session_id() == sid
    tracker = chat.tracker()
    assert "家賃が2か月払えていません" in user_texts(tracker)
    assert tracker["slots"]["age"] == 38 and tracker["slots"]["rent_arrears_months"] == 2
    chat.say("わからない")  # and the next message works as usual
    assert user_texts(chat.tracker())[-1] == "わからない"


def test_markup_from_the_resident_is_shown_as_text(stack, context):
    chat = Chat(context.new_page(), stack).open()
    dialogs: List[str] = []
    chat.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    attack = "<script>alert(1)</script>"
    chat.say(attack)
    chat.say('<img src=x onerror="alert(2)">')
    assert chat.user_bubbles()[-2:] == [attack, '<img src=x onerror="alert(2)">']
    chat.page.reload()
    wait_js(chat.page, "Number(document.body.dataset.rendered || 0) >= 4")
    time.sleep(1)
    assert attack in chat.user_bubbles()
    assert chat.page.locator("#log script, #log img").count() == 0
    assert dialogs == [] and not chat.errors


AXE_LIKE = """() => {
  const name = (el) => {
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(/\\s+/).map((id) => document.getElementById(id)?.textContent || '').join(' ').trim();
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim();
    if (el.id) { const l = document.querySelector(`label[for="${el.id}"]`); if (l) return l.textContent.trim(); }
    if (el.closest('label')) return el.closest('label').textContent.trim();
    return (el.textContent || el.getAttribute('title') || el.getAttribute('alt') || '').trim();
  };
  const unnamed = [...document.querySelectorAll('button, a[href], input, textarea, select, [role=group], section')]
    .filter((el) => !name(el)).map((el) => el.outerHTML.slice(0, 80));
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0);
  const bg = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3); } return [255, 255, 255]; };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const r = el.getBoundingClientRect();
    if (!own || !r.width || !r.height || el.closest('.visually-hidden')) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none') continue;
    const a = lum(rgb(st.color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = parseFloat(st.fontSize) >= 24 || (parseFloat(st.fontSize) >= 18.66 && Number(st.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(`${el.tagName}.${el.className} ${ratio.toFixed(2)} "${el.textContent.slice(0, 20)}"`);
  }
  const log = document.querySelector('[role=log]');
  return {unnamed, low, lang: document.documentElement.lang, logLive: log && log.getAttribute('aria-live'),
          landmarks: ['header', 'main', 'footer'].filter((t) => document.querySelector(t))};
}"""


def test_keyboard_only_and_accessible_names(stack, context):
    chat = Chat(context.new_page(), stack).open()
    page = chat.page
    order = []
    for _ in range(20):
        page.keyboard.press("Tab")
        order.append(page.evaluate("""() => { const a = document.activeElement;
            return a.id || (a.classList.contains('choice') ? 'choice' : a.tagName + ':' + a.textContent.trim()); }"""))
    assert "choice" in order and "message" in order and "send" in order, order
    assert order.index("choice") < order.index("message") < order.index("send") < order.index("person"), order
    outline = page.evaluate("""() => { document.getElementById('send').focus();
        const s = getComputedStyle(document.activeElement); return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
    assert outline[0] != "none" and outline[1] >= 2, "visible focus outline"
    # Keyboard only: type, Enter; the focus stays in the input; 「入力中…」 shows until the reply.
    page.focus("#message")
    page.evaluate("""() => { window.typingSeen = false; const t = document.getElementById('typing');
        new MutationObserver(() => { if (t.textContent.includes('入力中…')) window.typingSeen = true; })
          .observe(t, {subtree: true, childList: true, characterData: true}); }""")
    before = chat.bot_count()
    page.keyboard.type("仕事が見つからなくて困っています")
    page.keyboard.press("Enter")
    wait_js(page, f"Number(document.body.dataset.botCount) > {before}")
    chat.settle()
    assert page.evaluate("document.activeElement.id") == "message"
    assert chat.user_bubbles()[-1] == "仕事が見つからなくて困っています"
    assert page.evaluate("window.typingSeen") and page.inner_text("#typing").strip() == ""
    # A quick reply pressed with the keyboard: the next quick replies receive the focus.
    while not chat.choices():
        chat.say(TYPED.get(page.get_attribute("#message", "data-field"), "わからない"))
    page.locator("#choices .choice").first.focus()
    before = chat.bot_count()
    page.keyboard.press("Enter")
    wait_js(page, f"Number(document.body.dataset.botCount) > {before}")
    chat.settle()
    focused = page.evaluate("document.activeElement.classList.contains('choice') ? 'choice' : document.activeElement.id")
    assert focused == ("choice" if chat.choices() else "message")
    result = page.evaluate(AXE_LIKE)
    assert result["unnamed"] == [], result["unnamed"]
    assert result["low"] == [], result["low"]
    assert result["lang"] == "ja" and result["logLive"] == "polite"
    assert result["landmarks"] == ["header", "main", "footer"]
    assert page.locator("form#composer label[for=message]").inner_text() == "メッセージ"


def test_crisis_shows_the_handoff_banner_with_tel_links_and_staff_messages(stack, context):
    chat = Chat(context.new_page(), stack).open()
    chat.say("死にたい")
    banner = chat.page.locator("#log .handoff.emergency")
    assert banner.count() == 1
    assert banner.locator('a[href="tel:119"]').count() == 1
    assert banner.locator('a[href="tel:0120279338"]').count() == 1, "24-hour line as a tel: link"
    assert banner.locator(".ticket").inner_text().strip()
    # A staff member answers during the live handoff (how the staff console pushes a message).
    before = chat.bot_count()
    resp = requests.post(
        f"{stack['rasa']}/conversations/{chat.session_id()}/tracker/events",
        params={"output_channel": "webchat", "execute_side_effects": "true"},
        json=[{"event": "bot", "text": "支援員の田中です。いまお話しできますか？<b>",
               "data": {"custom": {"type": "staff_message", "name": "田中"}}}], timeout=30)
    resp.raise_for_status()
    wait_js(chat.page, f"Number(document.body.dataset.botCount) > {before}")
    staff = chat.page.locator("#log .msg-staff").last
    assert staff.locator(".bubble").inner_text() == "支援員の田中です。いまお話しできますか？<b>"
    assert "田中" in staff.locator(".who").inner_text()
    # A booking made by staff: a card with the local time, the reference and the .ics link.
    requests.post(
        f"{stack['rasa']}/conversations/{chat.session_id()}/tracker/events",
        params={"output_channel": "webchat", "execute_side_effects": "true"},
        json=[{"event": "bot", "text": "ご予約をお取りしました。", "data": {"custom": {
            "type": "booking", "status": "booked", "destination": "jiritsu_soudan", "office": "くらし・しごとサポートセンター",
            "start": "2026-12-03T10:00:00+09:00", "end": "2026-12-03T10:50:00+09:00", "reference": "K7Q2"}}}],
        timeout=30).raise_for_status()
    card = chat.page.locator("#log .booking")
    card.wait_for()
    assert "2026年12月3日（木） 10:00〜10:50" in card.inner_text()
    assert card.locator(".reference").inner_text() == "K7Q2"
    assert card.locator("a.ics-link").get_attribute("href") == "/ics/K7Q2.ics"
    # Reloading shows them again from the server's history.
    chat.page.reload()
    chat.page.locator("#log .booking").wait_for()
    assert chat.page.locator("#log .msg-staff").count() == 1
    assert chat.page.locator('#log .handoff.emergency a[href="tel:119"]').count() == 1


def test_narrow_screen_at_200_percent_zoom_has_no_horizontal_scroll(stack, browser):
    ctx = browser.new_context(viewport={"width": 320, "height": 480}, device_scale_factor=2, locale="ja-JP")
    try:
        chat = Chat(ctx.new_page(), stack).open()
        chat.say("しにたい")
        chat.say("あ" * 300)
        chat.say("https://example.invalid/" + "x" * 200)
        width = chat.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] == 320, width
        for selector in ("#send", "#message", ".handoff", "#person", "#restart"):
            box = chat.page.locator(selector).first.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 320, selector
    finally:
        ctx.close()


def test_conversations_are_bound_to_the_cookie(stack, browser):
    """A page cannot read or join another resident's conversation by naming its id."""
    a = browser.new_context()
    b = browser.new_context()
    try:
        alice = Chat(a.new_page(), stack).open()
        alice.say("43歳で、いまは無職です")
        victim = alice.session_id()
        cookie = {c["name"]: c["value"] for c in a.cookies()}["kurashi_chat"]
        assert cookie.startswith(victim + ".")
        assert all(c["httpOnly"] for c in a.cookies())
        own = requests.get(f"{stack['web']}/chat/api/history", cookies={"kurashi_chat": cookie}, timeout=30).json()
        assert "43歳で、いまは無職です" in json.dumps(own, ensure_ascii=False)
        bob = Chat(b.new_page(), stack).open()
        bob_cookie = {c["name"]: c["value"] for c in b.cookies()}["kurashi_chat"]
        forged = victim + "." + bob_cookie.split(".")[1]
        stolen = requests.get(f"{stack['web']}/chat/api/history", cookies={"kurashi_chat": forged}, timeout=30).json()
        assert stolen == {"messages": [], "bot_total": 0}
        # Bob's socket asks for Alice's id and gets his own; a forged token is refused.
        got = bob.page.evaluate("""(victim) => new Promise((resolve) => {
            const path = new URL('socket.io', document.baseURI).pathname;
            fetch('api/session', {method: 'POST'}).then((r) => r.json()).then((s) => {
              const ok = io({path, forceNew: true, auth: {token: s.token}});
              ok.on('connect', () => ok.emit('session_request', {session_id: victim}));
              ok.on('session_confirm', (id) => {
                ok.close();
                const bad = io({path, forceNew: true, reconnection: false, auth: {token: victim + '.9999999999.AAAA'}});
                bad.on('connect', () => { bad.close(); resolve([id, 'connected']); });
                bad.on('connect_error', () => resolve([id, 'refused']));
              });
            });
        })""", victim)
        assert got == [bob.session_id(), "refused"]
        assert "43歳で、いまは無職です" not in bob.page.inner_text("#log")
    finally:
        a.close()
        b.close()
