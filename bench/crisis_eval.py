"""Measure bot/crisis.py against the labelled set in tests/data/crisis_labelled.yml.

Recall is what matters most (a missed crisis is the worst failure), the false-positive rate is
what keeps staff trusting the alarms (domain.md: false alarms erode trust). Run
``python -m bench.crisis_eval [path]`` for a JSON report; tests/test_crisis.py asserts on it.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bot.crisis import EMERGENCY, URGENT, Assessment, assess

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "tests" / "data" / "crisis_labelled.yml"
LABELS = (EMERGENCY, URGENT, "none")
#: Levels that count as "detected" for each label: an urgent message escalated to emergency is
#: still caught (a person is called either way).
_DETECTED = {EMERGENCY: {EMERGENCY}, URGENT: {URGENT, EMERGENCY}}


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
        "got_level": got.level,
        "got_signals": sorted(got.signals),
        "matched": list(got.matched),
    }


def evaluate(path: Path = DEFAULT_PATH) -> dict[str, Any]:
    """Recall per level, signal recall, false-positive rate, counts, misclassified examples."""
    items = load(path)
    assess("")  # load the dictionary and lexicon outside the timing
    started = time.perf_counter()
    results = [(item, assess(item["text"])) for item in items]
    elapsed = time.perf_counter() - started
    by_label = {label: [(i, a) for i, a in results if i["label"] == label] for label in LABELS}
    crises = by_label[EMERGENCY] + by_label[URGENT]

    def rate(pairs, ok) -> float:
        return round(sum(1 for i, a in pairs if ok(i, a)) / len(pairs), 4) if pairs else 1.0

    recall = {label: rate(by_label[label], lambda i, a: a.level in _DETECTED[i["label"]]) for label in _DETECTED}
    return {
        "path": str(path),
        "counts": {label: len(pairs) for label, pairs in by_label.items()} | {"total": len(items)},
        "recall": recall,
        # flat copies for bench/report.py, which prints top-level numbers
        "recall_emergency": recall[EMERGENCY],
        "recall_urgent": recall[URGENT],
        "exact_level_accuracy": rate(results, lambda i, a: a.level == _level(i["label"])),
        "signal_recall": rate(
            [(i, a) for i, a in crises if i.get("signal")], lambda i, a: i["signal"] in a.signals
        ),
        "false_positive_rate": rate(by_label["none"], lambda i, a: a.level is not None),
        "ms_per_message": round(1000 * elapsed / max(1, len(items)), 2),
        "misclassified": [_row(i, a) for i, a in results if a.level != _level(i["label"])],
        "wrong_signal": [
            _row(i, a) for i, a in crises if i.get("signal") and i["signal"] not in a.signals
        ],
    }


def main(argv: list[str]) -> int:
    report = evaluate(Path(argv[0]) if argv else DEFAULT_PATH)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
