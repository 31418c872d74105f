"""Timed flows on the real stack: booking turns, and a staff message reaching the resident.

Both run on one stack with Rasa's ``callback`` channel (a local receiver plays the resident's
phone, as in the tests) and a fixed clock inside office hours, so that slots and live handoffs
are the same on every run.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import requests

from bench import procs
from bench.latency import percentiles
from integrations.rasa_api import RasaClient
from bench.phone import Phone, kind

NOW = "2026-11-24T10:00:00+09:00"  # a Tuesday morning: desks open, slots from Thursday



def _timed_turn(url: str, phone: Phone, sender: str, text: str, done) -> tuple:
    """Seconds from sending ``text`` to the message for which ``done`` is true, and the messages."""
    start = time.perf_counter()
    requests.post(f"{url}/webhooks/callback/webhook", json={"sender": sender, "message": text}, timeout=60)
    got = phone.until(done, timeout=60)
    return (time.perf_counter() - start) * 1000, got


def booking_turns(url: str, phone: Phone, n: int) -> Dict[str, Any]:
    """``n`` residents each: 「予約したいです」 → offer, a slot button → confirmation, 「はい」 → booked."""
    offer_ms: List[float] = []
    choose_ms: List[float] = []
    confirm_ms: List[float] = []
    for i in range(n):
        sender = f"bench-book-{uuid.uuid4().hex[:8]}"
        ms, got = _timed_turn(url, phone, sender, "予約したいです", kind("ask"))
        offer_ms.append(ms)
        choices = got[-1]["custom"]["choices"]
        ms, _ = _timed_turn(url, phone, sender, choices[i % len(choices)]["payload"], kind("ask"))
        choose_ms.append(ms)
        ms, _ = _timed_turn(url, phone, sender, "はい", lambda m: kind("booking")(m) or "空き" in (m.get("text") or ""))
        confirm_ms.append(ms)
    return {"residents": n, "offer": percentiles(offer_ms), "choose_slot": percentiles(choose_ms),
            "confirm_and_book": percentiles(confirm_ms), "all_booking_turns": percentiles(offer_ms + choose_ms + confirm_ms)}


def staff_messages(url: str, phone: Phone, n: int) -> Dict[str, Any]:
    """A live handoff, then ``n`` console messages timed from the client call to the phone."""
    sender = f"bench-staff-{uuid.uuid4().hex[:8]}"
    requests.post(f"{url}/webhooks/callback/webhook", json={"sender": sender, "message": "人と話したいです"}, timeout=60)
    phone.until(kind("handoff"), timeout=60)

    async def send_all() -> List[float]:
        rasa = RasaClient(url, timeout=30)
        out = []
        try:
            for i in range(n):
                start = time.perf_counter()
                await rasa.send_staff_message(sender, f"支援員です。{i}回目のメッセージです。")
                await asyncio.to_thread(phone.until, kind("staff_message"), 30)
                out.append((time.perf_counter() - start) * 1000)
        finally:
            await rasa.close()
        return out

    return {"messages": n, **percentiles(asyncio.run(send_all()))}


def run(model: Path, tmp: Path, *, residents: int = 20, messages: int = 20) -> Dict[str, Any]:
    phone = Phone()
    try:
        with procs.rest_stack(model, tmp, extra_credentials=f'callback:\n  url: "{phone.url}"\n',
                              env={"INTAKE_NOW": NOW}) as stack:
            requests.post(f"{stack['url']}/webhooks/callback/webhook", json={"sender": "warm", "message": "予約したいです"}, timeout=60)
            phone.until(kind("ask"), timeout=60)
            result = {"booking": booking_turns(stack["url"], phone, residents),
                      "staff_message": staff_messages(stack["url"], phone, messages)}
            result["server_log_tracebacks"] = procs.tracebacks(stack["logs"])
            return result
    finally:
        phone.server.shutdown()
