"""The conversation as staff read it, from the events of Rasa's tracker (pure).

Only ``user`` and ``bot`` events are shown. A quick-reply press arrives as its payload
(``/resume``); it is shown with the button's title when the previous bot turn offered it. Texts are
returned as they are: escaping is the template's job (autoescape), never this module's.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional
from zoneinfo import ZoneInfo

MAX_TEXT = 4000


@dataclass(frozen=True)
class Line:
    who: str  # "resident" | "bot" | "staff" (a console message, action_staff_message)
    text: str
    at: Optional[datetime]
    note: str = ""  # e.g. 「ボタン」, 「案内データ: handoff」
    buttons: tuple = ()


def _when(timestamp: Any, tz: ZoneInfo) -> Optional[datetime]:
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(float(timestamp), tz=timezone.utc).astimezone(tz)
    except (OverflowError, OSError, ValueError):
        return None


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else ""
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…（以下省略）"


def lines(tracker: Mapping[str, Any], tz: ZoneInfo) -> List[Line]:
    out: List[Line] = []
    offered: Dict[str, str] = {}
    events = tracker.get("events") if isinstance(tracker, Mapping) else None
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, Mapping):
            continue
        kind = event.get("event")
        at = _when(event.get("timestamp"), tz)
        if kind == "user":
            text = _text(event.get("text"))
            if text.startswith("/") and text in offered:
                out.append(Line("resident", offered[text], at, note="ボタン"))
            else:
                out.append(Line("resident", text, at))
            offered = {}
        elif kind == "bot":
            data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
            buttons = [b for b in data.get("buttons") or [] if isinstance(b, Mapping)]
            titles = tuple(str(b.get("title") or "") for b in buttons if b.get("title"))
            offered.update({str(b.get("payload")): str(b.get("title") or "") for b in buttons if b.get("payload")})
            text = _text(event.get("text"))
            custom = data.get("custom")
            note = ""
            if isinstance(custom, Mapping) and custom.get("type") == "staff_message":
                out.append(Line("staff", text, at, note=str(custom.get("name") or "支援員")))
                continue
            if isinstance(custom, Mapping) and custom.get("type"):
                note = f"データ: {custom.get('type')}"
            if text or titles or note:
                out.append(Line("bot", text, at, note=note, buttons=titles))
    return out
