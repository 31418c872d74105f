"""What the bot sends → channel-neutral parts (text blocks with optional quick replies).

Pure: no I/O, no environment. Telegram and LINE both render through here, so a resident sees the
same referral list, contact lines and booking card on every channel. Payloads follow
``intake-protocol.md`` §1: ``ask`` is not shown (its choices already came as buttons),
``referral``/``handoff``/``booking`` become short Japanese text blocks, anything else is dropped
rather than shown as raw JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple
from urllib.parse import quote

JST = timezone(timedelta(hours=9))
WEEKDAYS = "月火水木金土日"
MAX_LISTED = 10  # referrals or contacts shown from one payload; protects against runaway lists

BOOKING_HEADLINES = {
    "booked": "ご予約を承りました。",
    "moved": "ご予約の日時を変更しました。",
    "cancelled": "ご予約を取り消しました。",
}


@dataclass(frozen=True)
class QuickReply:
    """One button: what the resident sees, and what the engine receives when it is pressed."""

    title: str
    payload: str


@dataclass(frozen=True)
class Part:
    """One text block; ``quick_replies`` belong to it (the channel decides how to show them)."""

    text: str = ""
    quick_replies: Tuple[QuickReply, ...] = ()


def render_message(message: Mapping[str, Any], public_base_url: Optional[str] = None) -> List[Part]:
    """One Rasa bot message (``BotUttered.message()`` shape) → the parts to show, in order."""
    parts: List[Part] = []
    text = _clean(message.get("text"))
    buttons = quick_replies_of(message.get("quick_replies") or message.get("buttons") or ())
    if text or buttons:
        parts.append(Part(text, buttons))
    image = message.get("image")
    if isinstance(image, str) and image.strip():
        parts.append(Part(image.strip()))
    custom = message.get("custom")
    if isinstance(custom, Mapping):
        parts.extend(render_payload(custom, public_base_url))
    return parts


def quick_replies_of(buttons: Iterable[Any]) -> Tuple[QuickReply, ...]:
    """Rasa buttons (``{"title", "payload"}``) → quick replies; malformed entries are skipped."""
    out = []
    for b in buttons or ():
        if not isinstance(b, Mapping):
            continue
        title, payload = _clean(b.get("title")), _clean(b.get("payload"))
        if title and payload:
            out.append(QuickReply(title, payload))
    return tuple(out)


def render_payload(payload: Mapping[str, Any], public_base_url: Optional[str] = None) -> List[Part]:
    """A protocol payload → text parts (empty for ``ask`` and for unknown types)."""
    kind = payload.get("type")
    if kind == "referral":
        return _referral(payload)
    if kind == "handoff":
        return _handoff(payload)
    if kind == "booking":
        return _booking(payload, public_base_url)
    return []


def _referral(payload: Mapping[str, Any]) -> List[Part]:
    lines = []
    for r in _mappings(payload.get("referrals"))[:MAX_LISTED]:
        name = _clean(r.get("name")) or _clean(r.get("destination"))
        if not name:
            continue
        reason = _clean(r.get("reason"))
        lines.append(f"{len(lines) + 1}. {name}" + (f"\n　{reason}" if reason else ""))
    if not lines:
        return []
    if payload.get("interpreter") is True:
        lines.append("※通訳を用意できます。")
    return [Part("ご案内先\n" + "\n".join(lines))]


def _handoff(payload: Mapping[str, Any]) -> List[Part]:
    lines = []
    for c in _mappings(payload.get("contacts"))[:MAX_LISTED]:
        name, phone, hours = _clean(c.get("name")), _clean(c.get("phone")), _clean(c.get("hours"))
        if not (name or phone):
            continue
        line = "・" + "：".join(x for x in (name, phone) if x)
        lines.append(line + (f"（{hours}）" if hours else ""))
    return [Part("連絡先\n" + "\n".join(lines))] if lines else []


def _booking(payload: Mapping[str, Any], public_base_url: Optional[str]) -> List[Part]:
    status = _clean(payload.get("status"))
    reference = _clean(payload.get("reference"))
    lines = [BOOKING_HEADLINES.get(status, "ご予約の内容です。")]
    if reference:
        lines.append(f"予約番号：{reference}")
    slot = format_slot(payload.get("start"), payload.get("end"))
    if slot:
        lines.append(f"日時：{slot}")
    office = _clean(payload.get("office"))
    if office:
        lines.append(f"場所：{office}")
    link = ics_url(public_base_url, reference) if status != "cancelled" else None
    if link:
        lines.append(f"カレンダーに追加：{link}")
    return [Part("\n".join(lines))]


def ics_url(public_base_url: Optional[str], reference: Optional[str]) -> Optional[str]:
    """``{PUBLIC_BASE_URL}/ics/{reference}.ics``, or None when either is missing."""
    base = (public_base_url or "").strip().rstrip("/")
    ref = (reference or "").strip()
    if not base or not ref:
        return None
    return f"{base}/ics/{quote(ref, safe='')}.ics"


def format_slot(start: Any, end: Any = None) -> str:
    """ISO 8601 start/end → 「2025年4月8日（火）10:00〜10:50」 in Japan time; raw text if unparsable."""
    s = _parse_time(start)
    if s is None:
        return _clean(start)
    text = f"{s.year}年{s.month}月{s.day}日（{WEEKDAYS[s.weekday()]}）{s:%H:%M}"
    e = _parse_time(end)
    if e is not None:
        text += f"〜{e:%H:%M}" if e.date() == s.date() else f"〜{e.month}月{e.day}日 {e:%H:%M}"
    return text


def _parse_time(value: Any) -> Optional[datetime]:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=JST) if dt.tzinfo is None else dt.astimezone(JST)


def utf16_len(text: str) -> int:
    """Length as Telegram and LINE count it (UTF-16 code units: most emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, length: Callable[[str], int] = utf16_len) -> List[str]:
    """Cut ``text`` into chunks of at most ``limit``, preferring line breaks; never splits a character."""
    chunks: List[str] = []
    rest = text
    while length(rest) > limit:
        cut = _fit(rest, limit, length)
        newline = rest.rfind("\n", 0, cut)
        if newline > 0:
            cut = newline
        chunks.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def truncate(text: str, limit: int, length: Callable[[str], int] = utf16_len) -> str:
    """``text`` if it fits, else its start plus 「…」 within ``limit``."""
    if length(text) <= limit:
        return text
    # drop a dangling zero-width joiner / variation selector left by cutting an emoji sequence
    return text[: _fit(text, limit - 1, length)].rstrip().rstrip("\u200d\ufe0f") + "…"


def _fit(text: str, limit: int, length: Callable[[str], int]) -> int:
    """Largest prefix length (in characters) whose measured length is within ``limit`` (at least 1)."""
    used, i = 0, 0
    for i, ch in enumerate(text):
        used += length(ch)
        if used > limit:
            return max(i, 1)
    return len(text)


def _mappings(value: Any) -> List[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, (list, tuple)) else []


def _clean(value: Any) -> str:
    if value is None or isinstance(value, (dict, list, tuple)):
        return ""
    return str(value).strip()
