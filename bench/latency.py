"""Per-turn latency through the REST channel: scripted intake conversations, one or many at a time.

A conversation opens with a realistic first message, then answers each ``ask`` payload with its
first quick reply (or a typed answer for free-text / number questions; the first button when a
reply offers buttons but asks nothing) until the ``referral`` payload arrives. Each POST /webhooks/rest/webhook is timed from send to complete JSON reply.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import aiohttp
import numpy as np

FIRST_MESSAGES = (
    "仕事をクビになって家賃が2か月払えていません",
    "46歳で子ども3人、1年5か月働いてないです",
    "シングルマザーで、パートの収入だけでは生活が苦しいです",
    "息子のことで相談です。28歳で、ずっと家にこもっていて働いていません",
    "65歳ですが、年金だけでは足りないので軽い仕事を探しています",
    "うつで休職していて、カードローンの返済も心配です",
    "派遣の契約が切れて、寮を出ないといけないんです",
    "こんにちは。仕事のことで相談したいです",
)
TYPED = {"age": "40歳です", "youngest_child_age": "5歳", "months_without_work": "3か月",
         "job_history": "工場で5年働いていました", "health_notes": "特にありません",
         "work_preferences": "平日の昼間がいいです", "contact": "なし", "monthly_income": "10万円くらい",
         "rent_arrears_months": "2か月", "children": "2人"}
MAX_TURNS = 30


@dataclass
class Conversation:
    """Timings (ms) and outcome of one scripted conversation."""

    sender: str
    turns_ms: List[float] = field(default_factory=list)
    typed: List[bool] = field(default_factory=list)  # False: a quick-reply payload ("/intent{...}")
    slow: List[Dict[str, Any]] = field(default_factory=list)
    outcome: str = "running"


def _payloads(reply: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return [m["custom"] for m in reply if isinstance(m.get("custom"), dict) and m["custom"].get("type") == kind]


def next_answer(reply: List[Dict[str, Any]]) -> Optional[str]:
    """What the resident says next: the ask's first quick reply, else a typed answer; without an ask
    (the welcome offers topic buttons), the first button; None when there is nothing to answer."""
    asks = _payloads(reply, "ask")
    if asks:
        ask = asks[0]
        return ask["choices"][0]["payload"] if ask.get("choices") else TYPED.get(ask.get("field"), "わからない")
    buttons = [b for m in reply for b in m.get("buttons") or []]
    return buttons[0]["payload"] if buttons else None


async def _say(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> tuple:
    start = time.perf_counter()
    async with session.post(url, json={"sender": sender, "message": text}) as resp:
        resp.raise_for_status()
        reply = await resp.json()
    return (time.perf_counter() - start) * 1000, reply


async def converse(session: aiohttp.ClientSession, base: str, first: str, slow_ms: float) -> Conversation:
    """One conversation from ``first`` to the referral (or a stall / error / turn limit)."""
    conv = Conversation(sender=f"bench-{uuid.uuid4().hex[:12]}")
    text: Optional[str] = first
    for _ in range(MAX_TURNS):
        try:
            ms, reply = await _say(session, f"{base}/webhooks/rest/webhook", conv.sender, text)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            conv.outcome = f"error: {type(exc).__name__}: {exc}"[:200]
            return conv
        conv.turns_ms.append(ms)
        conv.typed.append(not text.startswith("/"))
        if ms > slow_ms:
            conv.slow.append({"message": text, "ms": round(ms, 1), "turn": len(conv.turns_ms)})
        if _payloads(reply, "referral"):
            conv.outcome = "referral"
            return conv
        text = next_answer(reply)
        if text is None:
            conv.outcome = "stalled: reply had no ask, button or referral"
            return conv
    conv.outcome = "turn limit"
    return conv


def _session(timeout_s: float, limit: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s),
                                 connector=aiohttp.TCPConnector(limit=limit))


async def sequential(base: str, min_turns: int, slow_ms: float, timeout_s: float = 60) -> List[Conversation]:
    """Conversations one after another (cycling first messages) until ``min_turns`` turns are timed."""
    convs: List[Conversation] = []
    async with _session(timeout_s, 1) as session:
        while sum(len(c.turns_ms) for c in convs) < min_turns:
            first = FIRST_MESSAGES[len(convs) % len(FIRST_MESSAGES)]
            convs.append(await converse(session, base, first, slow_ms))
            if not convs[-1].turns_ms:
                break  # the server does not answer at all; do not spin
    return convs


async def concurrent(base: str, n: int, slow_ms: float, timeout_s: float = 120) -> List[Conversation]:
    """``n`` conversations at once, each with its own sender id."""
    async with _session(timeout_s, n) as session:
        jobs = [converse(session, base, FIRST_MESSAGES[i % len(FIRST_MESSAGES)], slow_ms) for i in range(n)]
        return list(await asyncio.gather(*jobs))


async def warm_up(base: str) -> float:
    """One throw-away turn (first request loads lazily built graphs); its time in ms."""
    async with _session(120, 1) as session:
        ms, _ = await _say(session, f"{base}/webhooks/rest/webhook", f"bench-warmup-{uuid.uuid4().hex[:8]}",
                           "こんにちは")
    return round(ms, 1)


def percentiles(times: Sequence[float]) -> Dict[str, Any]:
    """p50/p95/max/mean in ms (None when nothing was timed)."""
    arr = np.asarray(times, dtype=float)
    if not arr.size:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None, "mean_ms": None}
    return {"p50_ms": round(float(np.percentile(arr, 50)), 1), "p95_ms": round(float(np.percentile(arr, 95)), 1),
            "max_ms": round(float(arr.max()), 1), "mean_ms": round(float(arr.mean()), 1)}


def summarize(convs: Sequence[Conversation], slow_limit: int = 10) -> Dict[str, Any]:
    """Percentiles over every timed turn (and split typed / quick reply), outcomes, slowest turns."""
    turns = [(ms, typed) for c in convs for ms, typed in zip(c.turns_ms, c.typed)]
    outcomes: Dict[str, int] = {}
    for c in convs:
        outcomes[c.outcome] = outcomes.get(c.outcome, 0) + 1
    slow = sorted((s for c in convs for s in c.slow), key=lambda s: -s["ms"])[:slow_limit]
    by_input = {kind: {"turns": sum(t == want for _, t in turns), **percentiles([ms for ms, t in turns if t == want])}
                for kind, want in (("typed", True), ("quick_reply", False))}
    return {"conversations": len(convs), "turns": len(turns), **percentiles([ms for ms, _ in turns]),
            "by_input": by_input, "outcomes": outcomes, "turns_per_conversation": [len(c.turns_ms) for c in convs],
            "slow_turns": slow}
