"""Appointment benchmark: free-slot search over the 90-day window and ``book()`` on SQLite.

    python -m bench.booking_bench [--out bench/out]

Writes ``<out>/booking.json`` and prints it. Targets (issue 3): a free-slot search over 90 days
≤ 50 ms; a booking turn p95 ≤ 200 ms (``book()`` is the storage part of that turn).
Not part of ``bench/run.py``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Dict, List, Sequence
from zoneinfo import ZoneInfo

from bot import slots
from bot.db import bookings
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.profile import DEFAULT_PROFILE, load_profile

RUNS = 200
DESTINATION = "jiritsu_soudan"
#: A Tuesday morning, so the window holds a full 90 days of ordinary weeks and holidays.
NOW = datetime(2027, 1, 12, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo"))


def _percentiles(ms: Sequence[float]) -> Dict[str, float]:
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"runs": len(ms), "p50_ms": round(statistics.median(ms), 3), "p95_ms": round(cuts[94], 3),
            "max_ms": round(max(ms), 3)}


def realistic_taken(profile, rng: random.Random) -> Dict[datetime, int]:
    """A busy desk: the next two weeks mostly full, fewer bookings further out."""
    every = slots.generate(DESTINATION, profile, NOW.date(), NOW.date() + timedelta(days=90))
    taken = {}
    for slot in every:
        days_ahead = (slot.local_day - NOW.date()).days
        busy = 0.85 if days_ahead < 14 else 0.5 if days_ahead < 45 else 0.15
        seats = sum(rng.random() < busy for _ in range(slot.capacity))
        if seats:
            taken[slot.start] = seats
    return taken


def bench_search(profile, taken) -> Dict[str, Dict[str, float]]:
    out = {}
    for name, kwargs in (("full_window", {}), ("first_5", {"limit": 5}), ("urgent_first_5", {"limit": 5, "urgency": "urgent"}),
                         ("saturday_excluded_first_5", {"limit": 5, "predicate": lambda s: s.local_start.weekday() != 5})):
        slots.free_slots(DESTINATION, profile, NOW, taken, **kwargs)  # warm caches (holidays per year)
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            found = slots.free_slots(DESTINATION, profile, NOW, taken, **kwargs)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = {**_percentiles(times), "slots_found": len(found)}
    return out


async def bench_storage(profile, rng: random.Random) -> Dict[str, Dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            await migrate(engine)
            free = slots.free_slots(DESTINATION, profile, NOW, {})
            book_ms: List[float] = []
            for i in range(RUNS):
                slot = free[rng.randrange(len(free))]
                t0 = time.perf_counter()
                await bookings.book(engine, sender_id=f"bench-{i}", channel="rest", destination=DESTINATION,
                                    start=slot.start, end=slot.end, summary={"age": 40, "housing": "renting"},
                                    consent=True, profile=profile, now=NOW)
                book_ms.append((time.perf_counter() - t0) * 1000)
            search_ms: List[float] = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                await bookings.open_slots(engine, DESTINATION, NOW, profile=profile)
                search_ms.append((time.perf_counter() - t0) * 1000)
            # 20 residents confirming at the same moment (different slots and one contested slot).
            burst: List[float] = []

            async def timed(i: int, slot) -> None:
                t0 = time.perf_counter()
                await bookings.book(engine, sender_id=f"burst-{i}", channel="rest", destination=DESTINATION,
                                    start=slot.start, end=slot.end, summary={}, consent=False, profile=profile, now=NOW)
                burst.append((time.perf_counter() - t0) * 1000)

            await asyncio.gather(*(timed(i, free[-1 - (i % 5)]) for i in range(20)))
        finally:
            await engine.dispose()
    return {"book_sqlite_sequential": _percentiles(book_ms),
            "open_slots_sqlite_90_days": _percentiles(search_ms),
            "book_sqlite_20_concurrent": _percentiles(burst)}


def bench_booking() -> dict:
    """Run everything and return the figures (milliseconds)."""
    profile = load_profile(DEFAULT_PROFILE)
    rng = random.Random(20270112)
    taken = realistic_taken(profile, rng)
    search = bench_search(profile, taken)
    storage = asyncio.run(bench_storage(profile, rng))
    return {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "destination": DESTINATION,
        "window_days": profile.booking.window_days,
        "taken_slots": len(taken),
        "free_slot_search": search,
        **storage,
        "targets": {
            "free_slot_search_90_days_ms": 50,
            "booking_turn_p95_ms": 200,
            "search_pass": search["full_window"]["p95_ms"] <= 50
            and storage["open_slots_sqlite_90_days"]["p95_ms"] <= 50,
            "book_pass": storage["book_sqlite_sequential"]["p95_ms"] <= 200,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"))
    args = parser.parse_args(argv)
    result = bench_booking()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "booking.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
