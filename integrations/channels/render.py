"""What the bot sends → channel-neutral parts (text blocks with optional quick replies).

Pure: no I/O, no environment. Telegram and LINE both render through here, so a resident sees the
same referral list, contact lines and booking card on every channel. Payloads follow
``intake-protocol.md`` §1: ``ask`` is not shown (its choices already came as buttons),
``referral``/``handoff``/``booking`` become short Japanese text blocks, anything else is dropped
rather than shown as raw JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple




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
    """A protocol payload → extra text parts. None today: the bot's own text already carries the
    referral reasons, the contacts and the booking (with its .ics link), and the ``ask`` choices
    are its buttons; rich clients (the web chat) draw cards from the payloads instead."""
    return []


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


def _clean(value: Any) -> str:
    if value is None or isinstance(value, (dict, list, tuple)):
        return ""
    return str(value).strip()
