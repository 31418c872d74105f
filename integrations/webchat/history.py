"""A Rasa tracker turned into what the resident saw: their own messages and the bot's.

Pure functions. The result uses the same shape as the live socket events (``bot_message``),
so the page renders history and live messages with one code path. Button payloads the resident
pressed are shown by their titles; internal payloads with no visible title (the page's silent
``/greet``) are left out. Slots, intents and entities never leave the server.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

#: Payloads of the page's own buttons, shown by the same titles the page shows.
PAGE_BUTTONS = {"/start_over": "最初から", "/request_human": "人と話したい"}
#: Most messages a history answer carries (older ones are dropped, never the newest).
MAX_MESSAGES = 300


def _buttons(raw: object) -> List[Dict[str, str]]:
    out = []
    for b in raw if isinstance(raw, list) else []:
        if isinstance(b, Mapping) and isinstance(b.get("title"), str) and isinstance(b.get("payload"), str):
            out.append({"title": b["title"], "payload": b["payload"]})
    return out


def bot_message(message: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """One bot message (Rasa's ``send_response`` dict or a tracker event's text + data) as the
    page receives it: ``text``, ``buttons``, ``custom``, ``image``, ``attachment``; None if empty."""
    out: Dict[str, Any] = {}
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        out["text"] = text.strip()
    buttons = _buttons(message.get("buttons")) or _buttons(message.get("quick_replies"))
    if buttons:
        out["buttons"] = buttons
    for key in ("custom", "attachment"):
        if isinstance(message.get(key), Mapping) and message[key]:
            out[key] = dict(message[key])
    if isinstance(message.get("image"), str) and message["image"]:
        out["image"] = message["image"]
    return out or None


def _choices(msg: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from msg.get("buttons") or []
    custom = msg.get("custom") or {}
    if custom.get("type") == "ask":
        yield from _buttons(custom.get("choices"))


def conversation(events: Iterable[Mapping[str, Any]], limit: int = MAX_MESSAGES) -> Dict[str, Any]:
    """``{"messages": [...], "bot_total": n}`` from tracker events.

    Each message is ``{"from": "user", "text"}`` or ``{"from": "bot", "n": index, ...bot_message}``
    where ``n`` counts the bot messages from the start, so the page can fetch only what it missed
    while offline. Only the last ``limit`` messages are returned.
    """
    messages: List[Dict[str, Any]] = []
    titles: Dict[str, str] = {}
    bots = 0
    for event in events:
        kind = event.get("event")
        if kind == "bot":
            data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
            msg = bot_message({**data, "text": event.get("text")})
            if msg is None:
                continue
            msg = {"from": "bot", "n": bots, **msg}
            bots += 1
            messages.append(msg)
            offered = {b["payload"]: b["title"] for b in _choices(msg)}
            if offered:
                titles = offered
        elif kind == "user":
            text = event.get("text")
            if not isinstance(text, str) or not text.strip():
                continue
            if text.startswith("/"):
                shown = titles.get(text) or PAGE_BUTTONS.get(text.split("{")[0].strip())
                if not shown:
                    continue
                text = shown
            messages.append({"from": "user", "text": text})
    return {"messages": messages[-limit:] if limit else messages, "bot_total": bots}
