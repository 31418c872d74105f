"""Targets of the issue, pass/fail checks against the results, and the Markdown summary."""
from __future__ import annotations

import operator
from pathlib import Path
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


_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt}


def _check(name: str, value: Optional[float], op: str, target: float, unit: str = "") -> Dict[str, Any]:
    passed = None if value is None or target is None else bool(_OPS[op](value, target))
    return {"name": name, "value": value, "target": f"{op} {target:g}{unit}", "pass": passed}


def _cv(system: str, metric: str) -> str:
    return f"cross_validation.systems.{system}.{metric}"


def _best_baseline(values: Dict[str, Optional[float]]) -> Optional[float]:
    return max((v for k, v in values.items() if k != OURS and v is not None), default=None)


def checks(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every target of the issue, with the measured figure and pass/fail (None = not measured)."""
    cv = {s: _get(results, _cv(s, "intent.macro_f1.mean")) for s in SYSTEM_LABELS}
    ho = {s: _get(results, f"heldout.{s}.intent.macro_f1") for s in SYSTEM_LABELS}
    out = [_check("CV intent macro-F1 (ours)", cv[OURS], ">=", 0.93),
           _check("held-out intent macro-F1 (ours)", ho[OURS], ">=", 0.90)]
    for label, values in (("CV", cv), ("held-out", ho)):
        best = _best_baseline(values)
        if best is not None:
            out.append(_check(f"{label} intent macro-F1 above both baselines", values[OURS], ">", best))
    concurrent = _get(results, "latency.concurrent.conversations") or 20
    out += [
        _check("CV entity F1 (ours)", _get(results, _cv(OURS, "entities.strict.overall.f1")), ">=", 0.95),
        _check("held-out entity F1 (ours)", _get(results, f"heldout.{OURS}.entities.strict.overall.f1"), ">=", 0.95),
        _check("p95 latency, 1 conversation", _get(results, "latency.sequential.p95_ms"), "<=", 150, " ms"),
        _check(f"p95 latency, {concurrent} concurrent (embedded: 1 Rasa process)",
               _get(results, "latency.concurrent.p95_ms"), "<=", 600, " ms"),
        _check(f"p95 latency, {concurrent} concurrent (2 Rasa workers + Redis lock store)",
               _get(results, "latency.concurrent_scaled.p95_ms"), "<=", 600, " ms"),
        _check("cold training time", _get(results, "training.seconds"), "<=", 300, " s"),
        _check("stack peak RSS (rasa + actions)", _get(results, "memory.sum_peak_mb"), "<=", 2048, " MB"),
        _check("stack peak RSS, 2 Rasa workers", _get(results, "latency.concurrent_scaled.memory.sum_peak_mb"),
               "<=", 2048, " MB"),
        _check("crisis recall, emergency (all labelled files)", _get(results, "crisis.total.recall_emergency"), ">=", 1.0),
        _check("crisis false positives (all labelled files)", _get(results, "crisis.total.false_positive_rate"), "<=", 0.03),
        _check("crisis false positives, whole NLU pipeline (worst file)",
               max((f.get("false_positive_rate", 0) for f in (_get(results, "crisis.pipeline") or {}).values()),
                   default=None), "<=", 0.03),
        _check("booking turn p95", _get(results, "flows.booking.all_booking_turns.p95_ms"), "<=", 200, " ms"),
        _check("free-slot search, 90 days, p95 (with DB read)",
               _get(results, "components.booking.open_slots_sqlite_90_days.p95_ms"), "<=", 50, " ms"),
        _check("staff message to the channel, p95", _get(results, "flows.staff_message.p95_ms"), "<=", 1000, " ms"),
    ]
    console = _get(results, "components.console") or {}
    pages = [v["p95_ms"] for v in console.values() if isinstance(v, dict) and "p95_ms" in v]
    out.append(_check("console page p95, 1,000 cases (slowest page)", max(pages) if pages else None, "<=", 200, " ms"))
    out.append(_check("statistics dashboard p95, 100,000 events",
                      _get(results, "components.stats.dashboard_year.p95_ms"), "<=", 500, " ms"))
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1 else f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _verdict(passed: Optional[bool]) -> str:
    return {True: "pass", False: "**FAIL**", None: "n/a"}[passed]


def _row(cells: List[Any]) -> str:
    """First cell as is, the others formatted; strings pass through ``_fmt`` unchanged."""
    return "| " + " | ".join(_fmt(c) if i else str(c) for i, c in enumerate(cells)) + " |"


def _table(header: List[str], rows: List[List[Any]]) -> List[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [_row(r) for r in rows]


def _system_rows(results: Dict[str, Any]) -> List[str]:
    header = ["system", "CV macro-F1", "CV accuracy", "CV fallback rate", "held-out macro-F1", "held-out accuracy",
              "CV entity F1", "held-out entity F1"]
    rows = [[label, _get(results, _cv(s, "intent.macro_f1.mean")), _get(results, _cv(s, "intent.accuracy.mean")),
             _get(results, _cv(s, "intent.fallback.rate")), _get(results, f"heldout.{s}.intent.macro_f1"),
             _get(results, f"heldout.{s}.intent.accuracy"), _get(results, _cv(s, "entities.strict.overall.f1")),
             _get(results, f"heldout.{s}.entities.strict.overall.f1")]
            for s, label in SYSTEM_LABELS.items()]
    return _table(header, rows)


def _weak_intents(results: Dict[str, Any], n: int = 8) -> List[str]:
    """The intents with the lowest cross-validated F1 (ours): where the data needs work."""
    per_intent = _get(results, _cv(OURS, "intent.f1_per_intent")) or {}
    if not per_intent:
        return []
    weakest = ", ".join(f"{name} {f1:.2f}" for name, f1 in list(per_intent.items())[:n])
    lines = ["", f"Weakest intents by CV F1 (ours): {weakest}."]
    authors = _get(results, _cv(OURS, "intent.by_author")) or {}
    if authors:
        each = ", ".join(f"{name} {a['macro_f1']:.3f} ({a['examples']})" for name, a in authors.items())
        lines.append(f"Out-of-fold macro-F1 by author of the examples (ours; examples): {each}.")
    return lines


def _latency_rows(results: Dict[str, Any]) -> List[str]:
    rows = []
    labels = {"sequential": "1 conversation", "concurrent": "{n} concurrent",
              "concurrent_scaled": "{n} concurrent, 2 Rasa workers + Redis lock store"}
    for key, label in labels.items():
        lat = _get(results, f"latency.{key}")
        if lat:
            rows.append([label.format(n=lat.get("conversations", 20))]
                        + [lat.get(k) for k in ("turns", "p50_ms", "p95_ms", "max_ms")])
    return _table(["REST latency", "turns", "p50 ms", "p95 ms", "max ms"], rows)


def _target_rows(results: Dict[str, Any]) -> List[str]:
    rows = [[c["name"], c["value"], c["target"], _verdict(c["pass"])] for c in results.get("targets", [])]
    return _table(["measure", "result", "target", ""], rows)


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
    files = _get(results, "crisis.files")
    if not isinstance(files, dict):
        return []
    pipeline = _get(results, "crisis.pipeline") or {}
    rows = [[name, f.get("counts", {}).get("emergency"), f.get("recall_emergency"), f.get("recall_urgent"),
             f.get("false_positive_rate"), (pipeline.get(name) or {}).get("recall_emergency"),
             (pipeline.get(name) or {}).get("false_positive_rate")] for name, f in files.items()]
    return _table(["crisis file", "emergencies", "lexicon recall emergency", "lexicon recall urgent",
                   "lexicon false positives", "NLU pipeline recall emergency", "NLU pipeline false positives"], rows)


def markdown(results: Dict[str, Any]) -> str:
    """Short Markdown for the README: targets, systems, latency, crisis detector."""
    env = results.get("environment", {})
    cv = results.get("cross_validation")
    head = (f"Benchmark {env.get('date', '')} · {env.get('cpu_count')} CPUs · rasa {env.get('rasa')}"
            + (f" · {cv['folds']}-fold stratified CV" if cv else "")
            + (" · **QUICK MODE (not comparable to targets)**" if results.get("quick") else ""))
    parts = [head, "", *_target_rows(results), "", *_system_rows(results), *_weak_intents(results), "",
             *_latency_rows(results)]
    crisis = _crisis_rows(results)
    return "\n".join(parts + ([""] + crisis if crisis else [])) + "\n"


README_START, README_END = "<!-- BENCH:START -->", "<!-- BENCH:END -->"


def paste_into_readme(md: str, readme: Path) -> bool:
    """Replace the README's benchmark block with ``md`` (a full run only: quick figures are not targets)."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    readme.write_text(f"{head}{README_START}\n{md}{README_END}{tail}", encoding="utf-8")
    return True
