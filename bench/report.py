"""Targets of the issue, pass/fail checks against the results, and the Markdown summary."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

OURS, CHAR_DIET, TFIDF = "ours", "char_ngram_diet", "tfidf_logreg"
SYSTEM_LABELS = {OURS: "ours (config.yml)", CHAR_DIET: "Rasa char n-gram DIET", TFIDF: "TF-IDF + LogReg"}


def _get(data: Dict[str, Any], path: str) -> Any:
    """``data["a"]["b"]...`` for ``path`` "a.b...", None when any key is missing."""
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _check(name: str, value: Optional[float], op: str, target: float, unit: str = "") -> Dict[str, Any]:
    passed = None if value is None else (value >= target if op == ">=" else value <= target if op == "<=" else value > target)
    return {"name": name, "value": value, "target": f"{op} {target:g}{unit}", "pass": passed}


def checks(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every target of the issue, with the measured figure and pass/fail (None = not measured)."""
    cv = {s: _get(results, f"cross_validation.systems.{s}.intent.macro_f1.mean") for s in (OURS, CHAR_DIET, TFIDF)}
    ho = {s: _get(results, f"heldout.{s}.intent.macro_f1") for s in (OURS, CHAR_DIET, TFIDF)}
    best_cv = max((v for k, v in cv.items() if k != OURS and v is not None), default=None)
    best_ho = max((v for k, v in ho.items() if k != OURS and v is not None), default=None)
    out = [
        _check("CV intent macro-F1 (ours)", cv[OURS], ">=", 0.93),
        _check("held-out intent macro-F1 (ours)", ho[OURS], ">=", 0.90),
    ]
    if best_cv is not None:
        out.append(_check("CV intent macro-F1 above both baselines", cv[OURS], ">", best_cv))
    if best_ho is not None:
        out.append(_check("held-out intent macro-F1 above both baselines", ho[OURS], ">", best_ho))
    out += [
        _check("CV entity F1 (ours)", _get(results, f"cross_validation.systems.{OURS}.entities.strict.overall.f1"), ">=", 0.95),
        _check("held-out entity F1 (ours)", _get(results, f"heldout.{OURS}.entities.strict.overall.f1"), ">=", 0.95),
        _check("p95 latency, 1 conversation", _get(results, "latency.sequential.p95_ms"), "<=", 150, " ms"),
        _check("p95 latency, 20 concurrent", _get(results, "latency.concurrent.p95_ms"), "<=", 600, " ms"),
        _check("cold training time", _get(results, "training.seconds"), "<=", 300, " s"),
        _check("stack peak RSS (rasa + actions)", _get(results, "memory.sum_peak_mb"), "<=", 2048, " MB"),
    ]
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1 else f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _verdict(passed: Optional[bool]) -> str:
    return {True: "pass", False: "**FAIL**", None: "n/a"}[passed]


def _system_rows(results: Dict[str, Any]) -> List[str]:
    rows = ["| system | CV macro-F1 | CV accuracy | held-out macro-F1 | held-out accuracy | CV entity F1 | held-out entity F1 |",
            "|---|---|---|---|---|---|---|"]
    for s, label in SYSTEM_LABELS.items():
        cv = f"cross_validation.systems.{s}"
        cells = [_get(results, f"{cv}.intent.macro_f1.mean"), _get(results, f"{cv}.intent.accuracy.mean"),
                 _get(results, f"heldout.{s}.intent.macro_f1"), _get(results, f"heldout.{s}.intent.accuracy"),
                 _get(results, f"{cv}.entities.strict.overall.f1"), _get(results, f"heldout.{s}.entities.strict.overall.f1")]
        rows.append(f"| {label} | " + " | ".join(_fmt(c) for c in cells) + " |")
    return rows


def _latency_rows(results: Dict[str, Any]) -> List[str]:
    rows = ["| REST latency | turns | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|"]
    for key, label in (("sequential", "1 conversation"), ("concurrent", "20 concurrent")):
        lat = _get(results, f"latency.{key}") or {}
        label = f"{lat.get('conversations', '')} concurrent" if key == "concurrent" and lat else label
        rows.append(f"| {label} | " + " | ".join(_fmt(lat.get(k)) for k in ("turns", "p50_ms", "p95_ms", "max_ms")) + " |")
    return rows


def _numbers(data: Dict[str, Any], prefix: str = "") -> Dict[str, float]:
    """Numeric leaves of ``data`` one level deep (``recall.emergency``), booleans excluded."""
    out: Dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, dict) and not prefix:
            out.update(_numbers(value, f"{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix + key] = value
    return out


def _crisis_rows(results: Dict[str, Any]) -> List[str]:
    crisis = results.get("crisis")
    if not isinstance(crisis, dict) or "skipped" in crisis:
        return []
    numbers = {k: v for k, v in _numbers(crisis).items() if not k.startswith("counts.")}
    return ["Crisis detector (bench/crisis_eval.py, tests/data/crisis_labelled.yml): "
            + ", ".join(f"{k} {_fmt(v)}" for k, v in numbers.items())] if numbers else []


def markdown(results: Dict[str, Any]) -> str:
    """Short Markdown for the README: targets, systems, latency."""
    env = results.get("environment", {})
    cv = results.get("cross_validation")
    head = (f"Benchmark {env.get('date', '')} · {env.get('cpu_count')} CPUs · rasa {env.get('rasa')}"
            + (f" · {cv['folds']}-fold stratified CV" if cv else "")
            + (" · **QUICK MODE (not comparable to targets)**" if results.get("quick") else ""))
    target_rows = ["| measure | result | target | |", "|---|---|---|---|"]
    target_rows += [f"| {c['name']} | {_fmt(c['value'])} | {c['target']} | {_verdict(c['pass'])} |"
                    for c in results.get("targets", [])]
    parts = [head, "", *target_rows, "", *_system_rows(results), "", *_latency_rows(results)]
    crisis = _crisis_rows(results)
    return "\n".join(parts + ([""] + crisis if crisis else [])) + "\n"
