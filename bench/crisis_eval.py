"""Measure bot/crisis.py against labelled message files (tests/data/crisis_*.yml).

Recall is what matters most (a missed crisis is the worst failure), the false-positive rate is
what keeps staff trusting the alarms (domain.md: false alarms erode trust). Run

    python -m bench.crisis_eval [file ...]          # default: every labelled file that exists

for a JSON report: per file recall per level, false-positive rate, level accuracy, results per
category and the misclassified items; over all files together, the same totals and the latency
of :func:`bot.crisis.assess` (p50/p95/max, first pass and warm). tests/test_crisis.py asserts on
:func:`evaluate`.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.crisis import EMERGENCY, URGENT, Assessment, assess

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
DEFAULT_PATH = DATA / "crisis_labelled.yml"
#: Every labelled file, oldest first. crisis_blind.yml was blind on first contact, then tuned on;
#: crisis_blind2.yml was written after that tuning (see their headers and the git history).
LABELLED_FILES = (DEFAULT_PATH, DATA / "crisis_blind.yml", DATA / "crisis_blind2.yml")
LABELS = (EMERGENCY, URGENT, "none")
#: Levels that count as "detected" for each label: an urgent message escalated to emergency is
#: still caught (a person is called either way).
_DETECTED = {EMERGENCY: {EMERGENCY}, URGENT: {URGENT, EMERGENCY}}
#: Warm latency: each message is timed this many times and its fastest run kept, so that other
#: processes on a shared machine do not turn scheduling delays into "slow messages".
REPEATS = 5


def load(path: Path = DEFAULT_PATH) -> list[dict[str, Any]]:
    """The labelled items; fails loudly on an unknown label so a typo cannot hide a case."""
    with open(path, encoding="utf-8") as fh:
        items = yaml.safe_load(fh) or []
    bad = [item for item in items if item.get("label") not in LABELS or not item.get("text")]
    if bad:
        raise ValueError(f"{path}: malformed items {bad[:3]}")
    return items


def _level(label: str) -> str | None:
    return None if label == "none" else label


def _row(item: dict[str, Any], got: Assessment) -> dict[str, Any]:
    return {
        "text": item["text"],
        "label": item["label"],
        "signal": item.get("signal"),
        "category": item.get("category"),
        "got_level": got.level,
        "got_signals": sorted(got.signals),
        "matched": list(got.matched),
    }


def _rate(pairs, ok) -> float:
    return round(sum(1 for i, a in pairs if ok(i, a)) / len(pairs), 4) if pairs else 1.0


def _correct(item: dict[str, Any], got: Assessment) -> bool:
    """Detected (crisis) or left alone (benign)."""
    if item["label"] == "none":
        return got.level is None
    return got.level in _DETECTED[item["label"]]


def _scores(results: Sequence[tuple[dict[str, Any], Assessment]]) -> dict[str, Any]:
    by_label = {label: [(i, a) for i, a in results if i["label"] == label] for label in LABELS}
    crises = by_label[EMERGENCY] + by_label[URGENT]
    recall = {label: _rate(by_label[label], _correct) for label in _DETECTED}
    return {
        "counts": {label: len(pairs) for label, pairs in by_label.items()} | {"total": len(results)},
        "recall": recall,
        # flat copies for bench/report.py, which prints top-level numbers
        "recall_emergency": recall[EMERGENCY],
        "recall_urgent": recall[URGENT],
        "false_positive_rate": _rate(by_label["none"], lambda i, a: a.level is not None),
        "exact_level_accuracy": _rate(results, lambda i, a: a.level == _level(i["label"])),
        "signal_recall": _rate([(i, a) for i, a in crises if i.get("signal")], lambda i, a: i["signal"] in a.signals),
    }


def _categories(results: Sequence[tuple[dict[str, Any], Assessment]]) -> dict[str, dict[str, Any]]:
    """Per label/category: how many, how many right (detected, or left alone when benign)."""
    groups: dict[str, list] = defaultdict(list)
    for item, got in results:
        if item.get("category"):
            groups[f"{item['label']}/{item['category']}"].append((item, got))
    return {
        key: {"n": len(pairs), "right": sum(1 for i, a in pairs if _correct(i, a))}
        for key, pairs in sorted(groups.items())
    }


def _assess_all(items: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], Assessment]]:
    return [(item, assess(item["text"])) for item in items]


def evaluate(path: Path = DEFAULT_PATH) -> dict[str, Any]:
    """Recall per level, signal recall, false-positive rate, counts, misclassified examples."""
    items = load(path)
    assess("")  # load the dictionary and lexicon outside the timing
    started = time.perf_counter()
    results = _assess_all(items)
    elapsed = time.perf_counter() - started
    crises = [(i, a) for i, a in results if i["label"] != "none"]
    return {
        "path": str(path),
        **_scores(results),
        "ms_per_message": round(1000 * elapsed / max(1, len(items)), 2),
        "categories": _categories(results),
        "misclassified": [_row(i, a) for i, a in results if a.level != _level(i["label"])],
        "wrong_signal": [_row(i, a) for i, a in crises if i.get("signal") and i["signal"] not in a.signals],
    }


def _percentiles(ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(ms)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"n": len(ordered), "mean": round(statistics.fmean(ordered), 3), "p50": at(0.50), "p95": at(0.95),
            "max": round(ordered[-1], 3)}


def latency(texts: Sequence[str], repeats: int = REPEATS) -> dict[str, Any]:
    """Milliseconds per :func:`assess` call. ``first_pass``: each message once, right after the
    dictionary and lexicon are loaded (cold word caches, as after a restart). ``warm``: the fastest
    of ``repeats`` runs per message (steady state, robust to other load on the machine)."""
    assess("")

    def timed(text: str) -> float:
        started = time.perf_counter()
        assess(text)
        return 1000 * (time.perf_counter() - started)

    first = [timed(t) for t in texts]
    warm = [min(timed(t) for _ in range(repeats)) for t in texts]
    return {"first_pass": _percentiles(first), f"warm_best_of_{repeats}": _percentiles(warm)}


def evaluate_files(paths: Sequence[Path]) -> dict[str, Any]:
    """One report per file, the totals over all of them, and the latency over all their texts."""
    every = [item for p in paths for item in load(Path(p))]
    timing = latency([item["text"] for item in every])  # first, while the word caches are cold
    return {
        "files": {Path(p).name: evaluate(Path(p)) for p in paths},
        "total": _scores(_assess_all(every)),
        "latency_ms": timing,
    }


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [p for p in LABELLED_FILES if p.exists()]
    json.dump(evaluate_files(paths), sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def evaluate_pipeline(paths: Sequence[Path], model: Path) -> dict[str, Any]:
    """The same files through the trained NLU pipeline: the lexicon's override *and* DIET's
    crisis intents, which is what decides in production (final intent crisis_emergency /
    urgent_need). Slower (the model is loaded), so only the benchmark runs it."""
    import asyncio

    from rasa.core.agent import Agent

    levels = {"crisis_emergency": EMERGENCY, "urgent_need": URGENT}

    async def parse_all(texts: list[str]) -> list[str | None]:
        agent = Agent.load(str(model))
        return [levels.get((await agent.parse_message(t))["intent"]["name"]) for t in texts]

    out: dict[str, Any] = {}
    for path in paths:
        items = load(Path(path))
        got = asyncio.run(parse_all([i["text"] for i in items]))
        pairs = [(i, Assessment(level=g, signals=frozenset(), matched=())) for i, g in zip(items, got)]
        out[Path(path).name] = _scores(pairs)
    return out
