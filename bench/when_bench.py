"""Speed of bot/when.py: parse 1,000 mixed replies to a slot offer and report per-parse latency.

A booking turn has a p95 budget of 200 ms (issue 3); reading the reply must be a small part of it.
The cold start (building ja-timex's parser and compiling its patterns) is reported apart, because
:func:`bot.when.warm_up` moves it to process start. Run ``python -m bench.when_bench`` for JSON.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

import numpy as np

from bot import when

#: What residents type back: the issue's examples, spellings, exclusions and bad input.
EXPRESSIONS = (
    "明日の午後", "来週の火曜10時", "12/3", "3日の14時半", "土曜は無理", "なるべく早く", "夕方なら",
    "あしたのごご", "らいしゅうのかようびのじゅうじはん", "十二月三日の午後二時", "１２／３", "１４：３０で",
    "来週のどこか", "2月30日", "11月1日", "いつか", "いつでも", "平日ならいつでも", "月曜以外",
    "来週は月曜以外", "土日以外の午後", "3日と4日は無理", "午前中がいい", "一番早いので", "10時から12時",
    "14時ごろ", "15時以降", "今日の10時", "今週の金曜", "次の火曜", "12月10日以降の平日", "来月の3日",
    "12月下旬", "明日か金曜", "できれば来週の火曜か木曜の午後", "平日は仕事なので土曜", "明日じゃなくて明後日",
    "よろしくお願いします", "😀", "<script>alert(1)</script>", "Can I come tomorrow?", "",
    "すみません、来週の水曜日の午後2時ごろか、木曜日の午前中だと助かります。土日は子どもがいるので無理です。",
    "仕事が" + "忙しくて" * 60 + "明日なら",
    "あ" * 10_000,
)
N_PARSES = 1000


def _percentile(values: List[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def bench_when(n: int = N_PARSES) -> Dict[str, Any]:
    """Cold-start ms, then ``n`` parses cycling through :data:`EXPRESSIONS` with ``now`` moving
    through a year (so year ends and month ends are crossed): p50/p95/p99/max ms per parse."""
    tz = ZoneInfo("Asia/Tokyo")
    start_now = datetime(2026, 11, 23, 23, 10, tzinfo=tz)
    cold_start = time.perf_counter()
    when.warm_up()
    cold_ms = (time.perf_counter() - cold_start) * 1000
    timings: List[float] = []
    problems: Dict[str, int] = {}
    for k in range(n):
        text = EXPRESSIONS[k % len(EXPRESSIONS)]
        now = start_now + timedelta(days=(k * 7) % 365, minutes=k)
        t0 = time.perf_counter()
        req = when.parse_when(text, now)
        timings.append((time.perf_counter() - t0) * 1000)
        key = req.problem or "ok"
        problems[key] = problems.get(key, 0) + 1
    return {
        "parses": n,
        "distinct_expressions": len(EXPRESSIONS),
        "cold_start_ms": round(cold_ms, 1),
        "p50_ms": _percentile(timings, 50),
        "p95_ms": _percentile(timings, 95),
        "p99_ms": _percentile(timings, 99),
        "max_ms": round(max(timings), 3),
        "mean_ms": round(sum(timings) / n, 3),
        "outcomes": dict(sorted(problems.items())),
    }


if __name__ == "__main__":
    json.dump(bench_when(), sys.stdout, ensure_ascii=False, indent=2)
    print()
