"""Request handlers of the staff console. Each one is marked with the least role that may use it.

Forms post back and redirect (``?m=<code>`` selects a fixed notice; nothing from the request is
echoed into a page except through autoescaped templates).
"""
from __future__ import annotations

import asyncio
import re
import secrets
from datetime import datetime
from typing import Any, Dict, Optional
from urllib.parse import quote, urlencode

import aiohttp_jinja2
from aiohttp import web

from bot.db.staff_models import ROLES
from integrations.console import audit, case_records, cases, users
from integrations.console.app import CONSOLE, ROLE_LABELS, Console, base_context, console_of
from integrations.console.auth import (
    LOGIN_COOKIE, MAX_PASSWORD_CHARS, SESSION_COOKIE, CurrentUser, create_session, end_session,
    end_sessions_of, load_session, normalise_username, password_problem, public, require_role,
    safe_next, tokens_match, utc,
)
from integrations.console.booking_list import bookings_of
from integrations.console.intake_summary import (
    CHANNEL_LABELS, MODE_LABELS, STATUS_LABELS, URGENCY_LABELS, missing, parse_summary, sections,
)
from integrations.console.transcript import lines as transcript_lines
from integrations.rasa_api import RasaError, RasaUnavailable

TICKET_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
LOGIN_FAILED = "ユーザー名またはパスワードが正しくありません。"

NOTICES: Dict[str, tuple] = {
    "claimed": ("ok", "この相談の担当になりました。"),
    "taken_over": ("ok", "この相談の担当を引き継ぎました。"),
    "sent": ("ok", "メッセージを送信しました。"),
    "resent": ("ok", "未送信だったメッセージを送信しました。"),
    "nothing_to_resend": ("ok", "未送信のメッセージはありません。"),
    "handed_back": ("ok", "会話をボットに戻しました。この相談は終了しました。"),
    "closed": ("ok", "対応完了にしました。"),
    "rasa_down": ("error", "チャットボット（Rasa）に接続できませんでした。メッセージは「未送信」として保存しました。"
                           "しばらくしてから「未送信を再送する」を押してください。"),
    "rasa_refused": ("error", "チャットボット（Rasa）がメッセージを受け付けませんでした。メッセージは「未送信」として"
                              "保存しました。システム管理者に連絡してください。"),
    "handback_failed": ("error", "チャットボット（Rasa）に接続できず、ボットに戻せませんでした。相談は対応中のままです。"
                                 "しばらくしてからもう一度お試しください。"),
    "user_created": ("ok", "職員を登録しました。"),
    "user_deactivated": ("ok", "アカウントを停止しました。ログイン中のセッションも終了しました。"),
    "user_activated": ("ok", "アカウントを再開しました。"),
    "password_reset": ("ok", "パスワードを再設定しました。本人に安全な方法で伝え、ログイン後に変更してもらってください。"),
    "logged_out": ("ok", "ログアウトしました。"),
    "expired": ("error", "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"),
    "password_changed": ("ok", "パスワードを変更しました。新しいパスワードでログインしてください。"),
    "outcome_saved": ("ok", "支援の結果を記録しました。"),
    "attended": ("ok", "来所を記録しました。"),
    "no_show": ("ok", "来所なしを記録しました。"),
}


# -- helpers ------------------------------------------------------------------------------------------


def notice_of(request: web.Request) -> Optional[Dict[str, str]]:
    found = NOTICES.get(request.query.get("m", ""))
    return {"kind": found[0], "text": found[1]} if found else None


def render(request: web.Request, template: str, context: Dict[str, Any], status: int = 200) -> web.Response:
    base = base_context(request)
    base["notice"] = notice_of(request)
    base.update(context)
    return aiohttp_jinja2.render_template(template, request, base, status=status)


def redirect(path: str, notice: Optional[str] = None) -> web.HTTPFound:
    return web.HTTPFound(path + ("?" + urlencode({"m": notice}) if notice else ""))


def local(console: Console, dt: Optional[datetime], fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    return dt.astimezone(console.tz).strftime(fmt) if dt else ""


def clean_text(value: Any) -> str:
    """Form text without control or direction-override characters, newlines kept."""
    if not isinstance(value, str):
        return ""
    return CONTROL_RE.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _form_str(form: Any, name: str, limit: int = 10_000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


async def _case_or_404(request: web.Request) -> cases.Case:
    code = request.match_info["ticket"]
    if not TICKET_RE.match(code):
        raise web.HTTPNotFound()
    found = await cases.get_case(console_of(request).engine, code)
    if found is None:
        raise web.HTTPNotFound()
    return found


# -- sign-in ------------------------------------------------------------------------------------------


def _login_page(request: web.Request, *, next_url: str, error: Optional[str] = None, username: str = "",
                status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"error": error, "next_url": next_url, "username": username,
                                              "login_token": token}, status=status)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", path="/login",
                        secure=console_of(request).settings.secure_cookies, max_age=3600)
    return response


@public
async def login_form(request: web.Request) -> web.Response:
    console = console_of(request)
    next_url = safe_next(request.query.get("next"))
    if await load_session(console.engine, request.cookies.get(SESSION_COOKIE), console.settings, touch=False):
        raise web.HTTPFound(next_url)
    return _login_page(request, next_url=next_url)


@public
async def login_submit(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    next_url = safe_next(_form_str(form, "next", 2000))
    if not tokens_match(request.cookies.get(LOGIN_COOKIE), _form_str(form, "login_token", 200)):
        return _login_page(request, next_url=next_url, status=403,
                           error="ページの有効期限が切れました。もう一度ログインしてください。")
    username = normalise_username(_form_str(form, "username", 200))[:64]
    password = _form_str(form, "password", MAX_PASSWORD_CHARS + 1)
    ip = request.remote or "-"
    if console.throttle.blocked(username, ip):
        await audit.record(console.engine, "login_failed", detail="rate_limited")
        return _login_page(request, next_url=next_url, username=username, status=429,
                           error="ログインの失敗が続いたため、しばらくログインできません。10分ほどしてからお試しください。")
    user = await users.find_user(console.engine, username) if username else None
    usable = user is not None and user.active and 0 < len(password) <= MAX_PASSWORD_CHARS
    ok, new_hash = await console.passwords.verify(user.password_hash if usable else None, password)
    if not ok:
        console.throttle.record_failure(username, ip)
        await audit.record(console.engine, "login_failed", user_id=user.id if user else None,
                           detail="inactive" if user is not None and not user.active else None)
        return _login_page(request, next_url=next_url, username=username, status=401, error=LOGIN_FAILED)
    console.throttle.reset(username)
    if new_hash:
        await users.store_rehash(console.engine, user.id, new_hash)
    await end_session(console.engine, request.cookies.get(SESSION_COOKIE))
    raw = await create_session(console.engine, user.id, console.settings)
    await audit.record(console.engine, "login", user_id=user.id)
    response = web.HTTPFound(next_url)
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="Strict", path="/",
                        secure=console.settings.secure_cookies)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


@require_role("staff")
async def logout(request: web.Request) -> web.Response:
    console = console_of(request)
    await end_session(console.engine, request.cookies.get(SESSION_COOKIE))
    await audit.record(console.engine, "logout", user_id=request["user"].id)
    response = redirect("/login", "logged_out")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


# -- queue --------------------------------------------------------------------------------------------


def _queue_items(console: Console, rows) -> list:
    now = datetime.now(console.tz)
    return [{
        "ticket": r.ticket, "url": "/cases/" + quote(r.ticket, safe=""), "urgency": r.urgency,
        "urgency_label": URGENCY_LABELS.get(r.urgency, r.urgency), "mode_label": MODE_LABELS.get(r.mode, r.mode),
        "channel_label": CHANNEL_LABELS.get(r.channel, r.channel),
        "waiting_minutes": r.waiting_minutes(now), "callback_at": local(console, r.callback_after, "%m/%d %H:%M"),
        "status_label": STATUS_LABELS.get(r.status, r.status), "claimed_by": r.claimed_by_name or "",
    } for r in rows]


async def _queue_data(request: web.Request) -> Dict[str, Any]:
    """One page of the queue, the counts per urgency and the paging links' numbers."""
    console = console_of(request)
    size = max(1, console.settings.queue_page_size)
    raw = request.query.get("page", "1")
    page = int(raw) if raw.isdigit() and len(raw) < 6 else 1
    counts = await cases.queue_counts(console.engine)
    total = sum(counts.values())
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = await cases.queue(console.engine, limit=size, offset=(page - 1) * size)
    return {
        "items": _queue_items(console, rows), "total": total, "page": page, "pages": pages,
        "counts": [{"urgency": u, "label": URGENCY_LABELS[u], "count": counts[u]} for u in cases.URGENCY_ORDER],
        "updated": datetime.now(console.tz).strftime("%H:%M:%S"),
    }


@require_role("staff")
async def queue_page(request: web.Request) -> web.Response:
    data = await _queue_data(request)
    data["refresh_seconds"] = console_of(request).settings.queue_refresh_seconds
    return render(request, "queue.html", data)


@require_role("staff", api=True, passive=True)
async def queue_json(request: web.Request) -> web.Response:
    return web.json_response(await _queue_data(request))


# -- case ---------------------------------------------------------------------------------------------


async def _transcript(console: Console, sender_id: str):
    try:
        return transcript_lines(await console.rasa.tracker(sender_id), console.tz), None
    except RasaUnavailable:
        return [], "チャットボット（Rasa）に接続できないため、会話の記録を表示できません。"
    except RasaError:
        return [], "チャットボット（Rasa）から会話の記録を取得できませんでした。"


async def _case_context(request: web.Request, found: cases.Case, *, with_transcript: bool) -> Dict[str, Any]:
    console = console_of(request)
    user: CurrentUser = request["user"]
    t = found.ticket
    summary = parse_summary(t.summary)
    transcript_task = _transcript(console, t.sender_id) if with_transcript else asyncio.sleep(0, ([], None))
    (transcript, transcript_error), bookings, messages, outcome = await asyncio.gather(
        transcript_task, bookings_of(console.engine, t.sender_id, console.tz), cases.messages(console.engine, t.ticket),
        case_records.current_outcome(console.engine, t.sender_id, console.tz),
    )
    allowed = {a: cases.may_act(a, status=t.status, mode=t.mode, claimed_by=t.claimed_by, user_id=user.id,
                                role=user.role) is None for a in cases.ACTIONS}
    return {
        "t": t, "ticket": t.ticket, "summary": summary, "sections": sections(summary), "missing": missing(summary),
        "urgency_label": URGENCY_LABELS.get(t.urgency, t.urgency), "mode_label": MODE_LABELS.get(t.mode, t.mode),
        "channel_label": CHANNEL_LABELS.get(t.channel, t.channel), "status_label": STATUS_LABELS.get(t.status, t.status),
        "created": local(console, utc(t.created_at)), "callback_at": local(console, utc(t.callback_after)),
        "claimed_at": local(console, utc(t.claimed_at)), "closed_at": local(console, utc(t.closed_at)),
        "claimed_by_name": found.claimed_by_name or "", "claimed_by_me": t.claimed_by == user.id,
        "transcript": transcript, "transcript_error": transcript_error, "bookings": bookings,
        "messages": [{"text": m.text, "at": local(console, m.at, "%m/%d %H:%M"), "delivered": m.delivered,
                      "staff_name": m.staff_name or ""} for m in messages],
        "has_undelivered": any(not m.delivered for m in messages), "allowed": allowed,
        "outcome": outcome, "outcome_choices": list(case_records.OUTCOMES.items()),
        "attendance": case_records.markable(bookings),
        "take_over": t.status == "claimed" and t.claimed_by != user.id and allowed["claim"],
        "reply_max": console.settings.reply_max_chars, "refresh_seconds": console.settings.queue_refresh_seconds, "draft": "", "error": None, "printed_at":
            datetime.now(console.tz).strftime("%Y年%m月%d日 %H:%M"),
    }


async def _render_case(request: web.Request, found: cases.Case, *, status: int = 200, error: Optional[str] = None,
                       draft: str = "") -> web.Response:
    context = await _case_context(request, found, with_transcript=True)
    context.update(error=error, draft=draft)
    return render(request, "case.html", context, status=status)


@require_role("staff")
async def case_page(request: web.Request) -> web.Response:
    found = await _case_or_404(request)
    console = console_of(request)
    await audit.record(console.engine, "open_case", user_id=request["user"].id, ticket=found.ticket.ticket)
    return await _render_case(request, found)


@require_role("staff")
async def case_print(request: web.Request) -> web.Response:
    found = await _case_or_404(request)
    console = console_of(request)
    with_transcript = request.query.get("transcript") == "1"
    await audit.record(console.engine, "open_case", user_id=request["user"].id, ticket=found.ticket.ticket,
                       detail="print_transcript" if with_transcript else "print")
    context = await _case_context(request, found, with_transcript=with_transcript)
    context["with_transcript"] = with_transcript
    return render(request, "case_print.html", context)


@require_role("staff", api=True, passive=True)
async def case_transcript_json(request: web.Request) -> web.Response:
    """The conversation for the case page's live refresh (during a live chat, new messages appear)."""
    found = await _case_or_404(request)
    console = console_of(request)
    transcript, error = await _transcript(console, found.ticket.sender_id)
    return web.json_response({
        "lines": [{"who": line.who, "who_label": {"resident": "相談者", "staff": "職員"}.get(line.who, "ボット"),
                   "at": line.at.strftime("%m/%d %H:%M:%S") if line.at else "", "text": line.text,
                   "note": line.note, "buttons": list(line.buttons)} for line in transcript],
        "error": error, "active": found.ticket.status in cases.ACTIVE,
    })


async def _refusal(request: web.Request, found: cases.Case, action: str) -> Optional[web.Response]:
    user: CurrentUser = request["user"]
    t = found.ticket
    reason = cases.may_act(action, status=t.status, mode=t.mode, claimed_by=t.claimed_by, user_id=user.id,
                           role=user.role)
    return await _render_case(request, found, status=409, error=reason) if reason else None


@require_role("staff")
async def case_claim(request: web.Request) -> web.Response:
    found = await _case_or_404(request)
    if (refused := await _refusal(request, found, "claim")) is not None:
        return refused
    console, user, t = console_of(request), request["user"], found.ticket
    take_over = t.status == "claimed" and t.claimed_by != user.id
    if not await cases.claim(console.engine, t.ticket, user.id, take_over=take_over):
        found = await cases.get_case(console.engine, t.ticket)
        return await _render_case(request, found, status=409, error="ほかの職員が先に担当しました。")
    await audit.record(console.engine, "claim", user_id=user.id, ticket=t.ticket, detail="take_over" if take_over else None)
    raise redirect(f"/cases/{t.ticket}", "taken_over" if take_over else "claimed")


async def _deliver(console: Console, message_id: int, sender_id: str, text: str) -> Optional[str]:
    """Send one stored message; the notice code of a failure, or ``None`` when delivered."""
    try:
        await console.rasa.send_staff_message(sender_id, text)
    except RasaUnavailable:
        return "rasa_down"
    except RasaError:
        return "rasa_refused"
    await cases.mark_delivered(console.engine, message_id)
    return None


@require_role("staff")
async def case_reply(request: web.Request) -> web.Response:
    found = await _case_or_404(request)
    console, user, t = console_of(request), request["user"], found.ticket
    form = await request.post()
    text = clean_text(form.get("text"))
    if (refused := await _refusal(request, found, "reply")) is not None:
        return refused
    if not text:
        return await _render_case(request, found, status=400, error="メッセージを入力してください。")
    if len(text) > console.settings.reply_max_chars:
        return await _render_case(request, found, status=400, draft=text[: console.settings.reply_max_chars * 2],
                                  error=f"メッセージは{console.settings.reply_max_chars}文字以内にしてください"
                                        f"（いま{len(text)}文字）。")
    if t.status == "open" and not await cases.claim(console.engine, t.ticket, user.id):
        found = await cases.get_case(console.engine, t.ticket)
        return await _render_case(request, found, status=409, draft=text, error="ほかの職員が先に担当しました。")
    if t.status == "open":
        await audit.record(console.engine, "claim", user_id=user.id, ticket=t.ticket, detail="by_reply")
    message_id = await cases.add_message(console.engine, t.ticket, t.sender_id, user.id, text)
    failure = await _deliver(console, message_id, t.sender_id, text)
    await audit.record(console.engine, "reply", user_id=user.id, ticket=t.ticket, detail="undelivered" if failure else None)
    raise redirect(f"/cases/{t.ticket}", failure or "sent")


@require_role("staff")
async def case_retry(request: web.Request) -> web.Response:
    found = await _case_or_404(request)
    if (refused := await _refusal(request, found, "reply")) is not None:
        return refused
    console, user, t = console_of(request), request["user"], found.ticket
    pending = await cases.undelivered(console.engine, t.ticket)
    if not pending:
        raise redirect(f"/cases/{t.ticket}", "nothing_to_resend")
    for message in pending:  # in order; stop at the first failure so that the order is kept
        failure = await _deliver(console, message.id, t.sender_id, message.text)
        if failure:
            await audit.record(console.engine, "retry", user_id=user.id, ticket=t.ticket, detail="undelivered")
            raise redirect(f"/cases/{t.ticket}", failure)
    await audit.record(console.engine, "retry", user_id=user.id, ticket=t.ticket)
    raise redirect(f"/cases/{t.ticket}", "resent")


@require_role("staff")
async def case_handback(request: web.Request) -> web.Response:
    found = await _case_or_404(request)
    if (refused := await _refusal(request, found, "handback")) is not None:
        return refused
    console, user, t = console_of(request), request["user"], found.ticket
    try:
        await console.rasa.hand_back(t.sender_id)
    except RasaError:
        raise redirect(f"/cases/{t.ticket}", "handback_failed") from None
    await cases.finish(console.engine, t.ticket, "handed_back")
    await audit.record(console.engine, "handback", user_id=user.id, ticket=t.ticket)
    raise redirect(f"/cases/{t.ticket}", "handed_back")


@require_role("staff")
async def case_close(request: web.Request) -> web.Response:
    found = await _case_or_404(request)
    if (refused := await _refusal(request, found, "close")) is not None:
        return refused
    console, user, t = console_of(request), request["user"], found.ticket
    await cases.finish(console.engine, t.ticket, "closed")
    await audit.record(console.engine, "close", user_id=user.id, ticket=t.ticket)
    raise redirect(f"/cases/{t.ticket}", "closed")


@require_role("staff")
async def case_outcome(request: web.Request) -> web.Response:
    """Staff record what came of the case (就職・継続支援・終了); it becomes one statistics row."""
    found = await _case_or_404(request)
    console, user, t = console_of(request), request["user"], found.ticket
    form = await request.post()
    code = _form_str(form, "outcome", 40)
    if code not in case_records.OUTCOMES:
        return await _render_case(request, found, status=400, error="支援の結果を選んでから「記録する」を押してください。")
    await case_records.save_outcome(console.engine, t.sender_id, code, console.settings.timezone)
    await audit.record(console.engine, "outcome", user_id=user.id, ticket=t.ticket, detail=code)
    raise redirect(f"/cases/{t.ticket}", "outcome_saved")


@require_role("staff")
async def case_attendance(request: web.Request) -> web.Response:
    """Staff mark one of this resident's appointments attended or no-show (and the statistics follow)."""
    found = await _case_or_404(request)
    console, user, t = console_of(request), request["user"], found.ticket
    form = await request.post()
    status = _form_str(form, "status", 20)
    reference = _form_str(form, "reference", 40)
    if status not in ("attended", "no_show") or not reference:
        return await _render_case(request, found, status=400, error="記録する予約と「来所」「来所なし」を選んでください。")
    problem = await case_records.mark_attendance(console.engine, t.sender_id, reference, status,
                                                 actor=f"staff:{user.username}", tz=console.settings.timezone)
    if problem is not None:
        return await _render_case(request, found, status=problem[0], error=problem[1])
    await audit.record(console.engine, "attendance", user_id=user.id, ticket=t.ticket, detail=status)
    raise redirect(f"/cases/{t.ticket}", status)


# -- own account --------------------------------------------------------------------------------------


@require_role("staff")
async def account_page(request: web.Request) -> web.Response:
    return render(request, "account.html", {"error": None})


@require_role("staff")
async def account_password(request: web.Request) -> web.Response:
    console, user = console_of(request), request["user"]
    form = await request.post()
    current = _form_str(form, "current", MAX_PASSWORD_CHARS + 1)
    new, confirm = _form_str(form, "new", MAX_PASSWORD_CHARS + 1), _form_str(form, "confirm", MAX_PASSWORD_CHARS + 1)
    record = await users.get_user(console.engine, user.id)
    ok, _ = await console.passwords.verify(record.password_hash if record else None, current)
    error = None
    if not ok:
        error = "現在のパスワードが正しくありません。"
    elif new != confirm:
        error = "新しいパスワードが確認欄と一致しません。"
    elif new == current:
        error = "新しいパスワードは現在のものと別にしてください。"
    else:
        error = password_problem(new, user.username, console.settings.password_min_length)
    if error:
        return render(request, "account.html", {"error": error}, status=400)
    await users.set_password(console.engine, console.passwords, user.id, new,
                             min_length=console.settings.password_min_length)
    await audit.record(console.engine, "password_change", user_id=user.id)
    response = redirect("/login", "password_changed")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


# -- administration -----------------------------------------------------------------------------------


async def _users_page(request: web.Request, *, error: Optional[str] = None, form: Optional[dict] = None,
                      status: int = 200) -> web.Response:
    console = console_of(request)
    rows = [{"id": u.id, "username": u.username, "display_name": u.display_name,
             "role_label": ROLE_LABELS.get(u.role, u.role), "active": u.active,
             "created": local(console, utc(u.created_at), "%Y/%m/%d")} for u in await users.list_users(console.engine)]
    return render(request, "users.html", {"rows": rows, "error": error, "roles": [(r, ROLE_LABELS[r]) for r in ROLES],
                                          "form": form or {"username": "", "display_name": "", "role": "staff"},
                                          "min_length": console.settings.password_min_length}, status=status)


@require_role("admin")
async def users_page(request: web.Request) -> web.Response:
    return await _users_page(request)


@require_role("admin")
async def users_create(request: web.Request) -> web.Response:
    console, admin = console_of(request), request["user"]
    form = await request.post()
    values = {"username": _form_str(form, "username", 200), "display_name": _form_str(form, "display_name", 200),
              "role": _form_str(form, "role", 20)}
    password, confirm = _form_str(form, "password", MAX_PASSWORD_CHARS + 1), _form_str(form, "confirm", MAX_PASSWORD_CHARS + 1)
    if password != confirm:
        return await _users_page(request, error="パスワードが確認欄と一致しません。", form=values, status=400)
    try:
        created = await users.create_user(console.engine, console.passwords, username=values["username"],
                                          password=password, role=values["role"], display_name=values["display_name"],
                                          min_length=console.settings.password_min_length)
    except users.AccountError as exc:
        return await _users_page(request, error=str(exc), form=values, status=400)
    await audit.record(console.engine, "user_create", user_id=admin.id, detail=f"user:{created.id}")
    raise redirect("/admin/users", "user_created")


def _user_id(request: web.Request) -> int:
    raw = request.match_info["user_id"]
    if not raw.isdigit() or len(raw) > 9:
        raise web.HTTPNotFound()
    return int(raw)


@require_role("admin")
async def users_deactivate(request: web.Request) -> web.Response:
    console, admin, user_id = console_of(request), request["user"], _user_id(request)
    target = await users.get_user(console.engine, user_id)
    if target is None:
        raise web.HTTPNotFound()
    if target.id == admin.id:
        return await _users_page(request, error="自分のアカウントは停止できません。", status=409)
    if target.role == "admin" and target.active and await users.count_active_admins(console.engine) <= 1:
        return await _users_page(request, error="最後のシステム管理者は停止できません。", status=409)
    await users.set_active(console.engine, user_id, False)
    await audit.record(console.engine, "user_deactivate", user_id=admin.id, detail=f"user:{user_id}")
    raise redirect("/admin/users", "user_deactivated")


@require_role("admin")
async def users_activate(request: web.Request) -> web.Response:
    console, admin, user_id = console_of(request), request["user"], _user_id(request)
    if await users.get_user(console.engine, user_id) is None:
        raise web.HTTPNotFound()
    await users.set_active(console.engine, user_id, True)
    await audit.record(console.engine, "user_activate", user_id=admin.id, detail=f"user:{user_id}")
    raise redirect("/admin/users", "user_activated")


@require_role("admin")
async def users_password(request: web.Request) -> web.Response:
    console, admin, user_id = console_of(request), request["user"], _user_id(request)
    if await users.get_user(console.engine, user_id) is None:
        raise web.HTTPNotFound()
    form = await request.post()
    password, confirm = _form_str(form, "password", MAX_PASSWORD_CHARS + 1), _form_str(form, "confirm", MAX_PASSWORD_CHARS + 1)
    if password != confirm:
        return await _users_page(request, error="パスワードが確認欄と一致しません。", status=400)
    try:
        await users.set_password(console.engine, console.passwords, user_id, password,
                                 min_length=console.settings.password_min_length)
    except users.AccountError as exc:
        return await _users_page(request, error=str(exc), status=400)
    await end_sessions_of(console.engine, user_id)
    await audit.record(console.engine, "password_reset", user_id=admin.id, detail=f"user:{user_id}")
    raise redirect("/admin/users", "password_reset")


# -- routes -------------------------------------------------------------------------------------------


def setup_routes(app: web.Application) -> None:
    assert CONSOLE in app
    r = app.router
    r.add_get("/login", login_form, name="login")
    r.add_post("/login", login_submit, name="login_submit")
    r.add_post("/logout", logout, name="logout")
    r.add_get("/", queue_page, name="queue")
    r.add_get("/queue.json", queue_json, name="queue_json")
    r.add_get("/cases/{ticket}", case_page, name="case")
    r.add_get("/cases/{ticket}/print", case_print, name="case_print")
    r.add_get("/cases/{ticket}/transcript.json", case_transcript_json, name="case_transcript")
    r.add_post("/cases/{ticket}/claim", case_claim, name="case_claim")
    r.add_post("/cases/{ticket}/reply", case_reply, name="case_reply")
    r.add_post("/cases/{ticket}/retry", case_retry, name="case_retry")
    r.add_post("/cases/{ticket}/handback", case_handback, name="case_handback")
    r.add_post("/cases/{ticket}/close", case_close, name="case_close")
    r.add_post("/cases/{ticket}/outcome", case_outcome, name="case_outcome")
    r.add_post("/cases/{ticket}/attendance", case_attendance, name="case_attendance")
    r.add_get("/account", account_page, name="account")
    r.add_post("/account/password", account_password, name="account_password")
    r.add_get("/admin/users", users_page, name="users")
    r.add_post("/admin/users", users_create, name="users_create")
    r.add_post("/admin/users/{user_id}/deactivate", users_deactivate, name="users_deactivate")
    r.add_post("/admin/users/{user_id}/activate", users_activate, name="users_activate")
    r.add_post("/admin/users/{user_id}/password", users_password, name="users_password")
    from integrations.console import stats_views  # imports this module's ``render``

    stats_views.setup_routes(app)

