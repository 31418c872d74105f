"""Decisions of the booking conversation, as pure functions (no Rasa, no database).

The booking form asks, in order and only what is still missing: the reference (to move or
cancel), the office (when the referral names several bookable ones), the time, and a final
confirmation that doubles as consent to share the intake summary with the office.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot import textnorm
from bot.numbers import parse_number
from bot.profile import Profile
from bot.slots import Slot
from bot.when import WhenRequest, describe

MODES = ("new", "move", "cancel")
UNKNOWN_REFERENCE = "unknown"
#: How many slots are offered as buttons at once (a phone screen, one thumb).
OFFER = 5


def bookable_destinations(referral: Optional[Mapping[str, Any]], profile: Profile) -> List[str]:
    """The referral's destinations that take bookings, in the referral's order; the general desk
    when the resident asks to book before any referral (or none of it is bookable)."""
    codes = [r.get("destination") for r in (referral or {}).get("referrals") or []]
    out = [c for c in codes if c in profile.destinations and profile.destinations[c].bookable]
    return out or ["jiritsu_soudan"]


def required(slots: Mapping[str, Any], profile: Profile) -> List[str]:
    """The booking form's questions still open, in order."""
    mode = slots.get("booking_mode") or "new"
    needed: List[str] = []
    if mode in ("move", "cancel"):
        if not slots.get("booking_reference"):
            return ["booking_reference"]
        if slots.get("booking_reference") == UNKNOWN_REFERENCE:
            return []  # the resident is told how to reach the office instead
    if mode == "new" and not slots.get("booking_destination"):
        needed.append("booking_destination")
    if mode in ("new", "move") and not slots.get("booking_slot"):
        needed.append("booking_slot")
    if slots.get("booking_consent") is None:
        needed.append("booking_consent")
    return needed


def offer_intro(req: Optional[WhenRequest], matched: bool, closed_days: bool) -> str:
    """One sentence before the slot buttons, saying how they relate to the resident's wish."""
    if req is None:
        return "いちばん早い空きはこちらです。ほかの日時がよければ「来週の火曜の午後」のように書いてください。"
    wish = describe(req)
    if matched:
        return f"ご希望（{wish}）に合う空きはこちらです。"
    if closed_days:
        return f"ご希望の日（{wish}）は窓口がお休みです。近い日時はこちらです。"
    return f"ご希望（{wish}）には空きがありませんでした。近い日時はこちらです。"


def problem_note(problem: str) -> str:
    """A bad date reply: what was wrong, in one polite sentence, before the offer again."""
    return {
        "past": "その日時はもう過ぎています。これからの日時でお選びください。",
        "invalid_date": "その日付はカレンダーにありません。日にちをもう一度お確かめください。",
        "vague": "日にちや時間帯を教えてください（例：明日の午後、来週の火曜10時、12/3）。",
        "unparsed": "日にちや時間帯を教えてください（例：明日の午後、来週の火曜10時、12/3）。",
    }.get(problem, "日にちや時間帯を教えてください（例：明日の午後、来週の火曜10時）。")


_ORDINAL = re.compile(r"([0-9一二三四五]|ひと|ふた|みっ|よっ|いつ)(?:つ目|つめ|番目|ばんめ|個目|こめ)")
_FIRST = re.compile(r"最初の|さいしょの|一番上|いちばん上|いちばんうえ|一番早い|いちばん早い|いちばんはやい")
_LAST = re.compile(r"最後の|さいごの|一番下|いちばん下|いちばんした")
_KANA_COUNT = {"ひと": 1, "ふた": 2, "みっ": 3, "よっ": 4, "いつ": 5}


def offered_choice(text: str, offered: int) -> Optional[int]:
    """「2つ目で」「最初の」「いちばん下」: the 0-based index of the offered button meant, or None
    (residents on a phone answer a list by its position as often as by its label)."""
    folded = textnorm.fold(text or "")
    if not folded or len(folded) > 20 or not offered:
        return None
    m = _ORDINAL.search(folded)
    if m:
        n = _KANA_COUNT.get(m.group(1)) or parse_number(m.group(1))
        return n - 1 if n and 1 <= n <= offered else None
    if _FIRST.search(folded):
        return 0
    if _LAST.search(folded):
        return offered - 1
    return None


def slot_buttons(slots: Sequence[Slot]) -> List[Dict[str, str]]:
    return [{"title": s.label(), "payload": f'/inform{{"booking_slot": "{s.local_start.isoformat()}"}}'} for s in slots]


def refusal_note(reason: Optional[str]) -> str:
    """Why the chosen time cannot be booked (reasons of bot.slots.check and bot.db.bookings)."""
    return {
        "past": "その時間はもう過ぎています。",
        "too_soon": "その時間は直前のため予約できません。",
        "closed": "その日は窓口がお休みです。",
        "out_of_window": "その日はまだ予約を受け付けていません。",
        "held_for_urgent": "その時間は急ぎの方のために空けています。",
        "not_a_slot": "その時間には相談の枠がありません。",
        "started": "すでに始まっている予約は、ここでは変更できません。",
        "not_active": "その予約はすでに取り消されているか、終わっています。",
        "same_slot": "同じ日時です。変更はありません。",
    }.get(reason or "", "その時間は予約できませんでした。")


def booking_text(office: str, label: str, reference: str, address: str, bring: str, ics_url: Optional[str]) -> str:
    """The confirmation the resident keeps: where, when, the reference, what to bring."""
    lines = [
        f"予約しました。\n【{office}】\n{label}",
        f"予約番号：{reference}（変更やキャンセルのときにお伝えください）",
        f"場所：{address}",
        f"持ち物：{bring}",
        "前日にこのチャットでお知らせします。相談は無料で、秘密は守られます。",
    ]
    if ics_url:
        lines.append(f"カレンダーに入れる：{ics_url}")
    return "\n".join(lines)


def parse_iso(value: Any) -> Optional[datetime]:
    """A slot start from a button payload (ISO 8601 with offset); None for anything else."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None
