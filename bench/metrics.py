"""Scores: intent accuracy / macro-F1 and entity precision / recall / F1 with integer values.

Intent: the predicted intent is the final one of the pipeline; ``nlu_fallback`` counts as wrong.
Macro-F1 averages over the gold intent set (a fallback prediction is a miss for the gold intent,
not an extra class). Entity: a prediction is correct when its type and integer value equal a gold
entity's and the spans overlap (one-to-one matching). ``type_span`` relaxes the value check: it
shows how far a tagger that returns surface strings (DIET without a normaliser) gets on spans.
"""
from __future__ import annotations

import statistics
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Sequence

ENTITY_TYPES = ("age", "amount", "duration", "count")
FALLBACK = "nlu_fallback"


def mean_std(values: Sequence[float]) -> Dict[str, Any]:
    """Mean, population std and the per-fold values, rounded."""
    return {"mean": round(statistics.fmean(values), 4),
            "std": round(statistics.pstdev(values), 4) if len(values) > 1 else 0.0,
            "folds": [round(v, 4) for v in values]}


def intent_scores(gold: Sequence[str], pred: Sequence[Optional[str]], labels: List[str]) -> Dict[str, Any]:
    """Accuracy, macro-F1 over ``labels`` and how often the fallback intent was returned."""
    from sklearn.metrics import accuracy_score, f1_score

    pred = [p or "None" for p in pred]
    fallback = sum(p == FALLBACK for p in pred)
    return {"n": len(gold), "accuracy": round(float(accuracy_score(gold, pred)), 4),
            "macro_f1": round(float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)), 4),
            "fallback": {"count": fallback, "rate": round(fallback / max(len(pred), 1), 4)}}


def f1_per_intent(gold: Sequence[str], pred: Sequence[Optional[str]], labels: List[str]) -> Dict[str, float]:
    """F1 of each intent, weakest first (where more or clearer training data is needed)."""
    from sklearn.metrics import f1_score

    scores = f1_score(gold, [p or "None" for p in pred], labels=labels, average=None, zero_division=0)
    return dict(sorted(((label, round(float(f), 3)) for label, f in zip(labels, scores)), key=lambda kv: kv[1]))


def confusions(gold: Sequence[str], pred: Sequence[Optional[str]], top: int = 10) -> List[Dict[str, Any]]:
    """The most frequent (gold -> predicted) errors."""
    pairs = Counter((g, p) for g, p in zip(gold, pred) if g != p)
    return [{"gold": g, "predicted": p, "count": n} for (g, p), n in pairs.most_common(top)]


def as_int(value: Any) -> Optional[int]:
    """The integer an entity value denotes, or None (e.g. DIET's surface string 「46歳」)."""
    try:
        number = float(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def _overlap(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def _relevant(entities: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [e for e in entities if e.get("entity") in ENTITY_TYPES]


def _same_value(gold: Dict[str, Any], pred: Dict[str, Any]) -> bool:
    value = as_int(pred.get("value"))
    return value is not None and value == as_int(gold["value"])


def match(gold: List[Dict[str, Any]], pred: List[Dict[str, Any]], check_value: bool) -> List[Dict[str, Any]]:
    """Predictions matched one-to-one to gold entities (same type, overlapping, same integer)."""
    free = list(gold)
    hits = []
    for p in pred:
        for g in free:
            if g["entity"] == p["entity"] and _overlap(g, p) and (not check_value or _same_value(g, p)):
                free.remove(g)
                hits.append(p)
                break
    return hits


def _prf(tp: int, n_pred: int, n_gold: int) -> Dict[str, Any]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "pred": n_pred,
            "gold": n_gold}


def _counts(golds: Sequence[List[Dict[str, Any]]], preds: Sequence[List[Dict[str, Any]]],
            check_value: bool) -> Dict[str, Counter]:
    counts = {"tp": Counter(), "pred": Counter(), "gold": Counter()}
    for gold, pred in zip(golds, preds):
        gold, pred = _relevant(gold), _relevant(pred)
        counts["gold"].update(e["entity"] for e in gold)
        counts["pred"].update(e["entity"] for e in pred)
        counts["tp"].update(e["entity"] for e in match(gold, pred, check_value))
    return counts


def _report(counts: Dict[str, Counter]) -> Dict[str, Any]:
    total = {k: sum(c.values()) for k, c in counts.items()}
    return {"overall": _prf(total["tp"], total["pred"], total["gold"]),
            "per_type": {t: _prf(counts["tp"][t], counts["pred"][t], counts["gold"][t]) for t in ENTITY_TYPES}}


def entity_scores(golds: Sequence[List[Dict[str, Any]]], preds: Sequence[List[Dict[str, Any]]]) -> Dict[str, Any]:
    """``strict`` (type + integer value + overlap, the headline) and ``type_span`` (no value check)."""
    return {"strict": _report(_counts(golds, preds, True)),
            "type_span": _report(_counts(golds, preds, False))["overall"]}


def _brief(text: str, entities: Iterable[Dict[str, Any]]) -> List[str]:
    return [f"{e['entity']}={e.get('value')} 「{text[e['start']:e['end']]}」" for e in entities]


def entity_errors(examples: Sequence[Any], preds: Sequence[Dict[str, Any]], limit: int = 100) -> List[Dict[str, Any]]:
    """Messages whose entities were not all found exactly (strict), for reading."""
    errors = []
    for e, p in zip(examples, preds):
        gold, pred = _relevant(e.entities), _relevant(p["entities"])
        if len(match(gold, pred, True)) != len(gold) or len(gold) != len(pred):
            errors.append({"text": e.text, "gold": _brief(e.text, gold), "predicted": _brief(e.text, pred)})
    return errors[:limit]
