"""NLU accuracy: the systems compared, stratified cross-validation and the held-out evaluation.

Systems share one interface, ``fit(examples)`` then ``predict(texts)`` -> ``[{"intent", "entities"}]``:
Rasa pipelines are trained with ``rasa.model_training.train_nlu`` and queried through
``Agent.parse_message`` (so the intent is the one after the *whole* pipeline: fallback, overrides);
the scikit-learn baseline is TF-IDF over NFKC character n-grams with logistic regression.
"""
from __future__ import annotations

import asyncio
import copy
import gc
import shutil
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from bench import metrics
from bot.paths import ROOT

SEED = 42


@dataclass
class Example:
    """One annotated message: text, gold intent, gold entities (dicts with entity/start/end/value)."""

    text: str
    intent: str
    entities: List[Dict[str, Any]]
    message: Any = field(repr=False, default=None)  # the Rasa Message, to write training files
    author: str = "first"  # "second", "third"… for nlu/data/<n>_author_*.yml


@dataclass
class Corpus:
    """Examples of a data directory plus its non-example NLU data (synonyms, regexes, lookups)."""

    examples: List[Example]
    extras: Dict[str, Any]

    @property
    def intents(self) -> List[str]:
        return sorted({e.intent for e in self.examples})


def load_corpus(path: Path) -> Corpus:
    """NLU files under ``path`` (dialogue files such as rules.yml are skipped)."""
    import rasa.shared.data as rasa_data
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    files = sorted(rasa_data.get_data_files([str(path)], rasa_data.is_nlu_file))
    parts = [load_data(f) for f in files]
    data = TrainingData().merge(*parts)
    authors = {m.get("text"): _author(f) for f, part in zip(files, parts) for m in part.intent_examples}
    examples = [Example(m.get("text"), m.get("intent"), [dict(e) for e in m.get("entities") or []], m,
                        authors[m.get("text")])
                for m in data.intent_examples]
    extras = {"entity_synonyms": data.entity_synonyms, "regex_features": data.regex_features,
              "lookup_tables": data.lookup_tables}
    return Corpus(examples, extras)


def _author(file: str) -> str:
    """Which author's round a data file belongs to: `third_author_work.yml` -> "third"."""
    stem = Path(file).stem
    return stem.split("_author_")[0] if "_author_" in stem else "first"


# --------------------------------------------------------------------------- configurations

def diet_epochs(config: Dict[str, Any]) -> int:
    """Epochs of the (first) DIETClassifier in a Rasa config."""
    return next(int(c.get("epochs", 300)) for c in config["pipeline"] if c["name"] == "DIETClassifier")


def with_epochs(config: Dict[str, Any], epochs: Optional[int]) -> Dict[str, Any]:
    """A copy of ``config`` whose DIETClassifiers train for ``epochs`` (unchanged when None)."""
    config = copy.deepcopy(config)
    for comp in config["pipeline"]:
        if comp["name"] == "DIETClassifier" and epochs:
            comp["epochs"] = epochs
    return config


def our_config(epochs: Optional[int] = None, nlu_only: bool = True) -> Dict[str, Any]:
    """config.yml, DIET epochs overridden when given; ``nlu_only`` drops the (irrelevant) policies."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    if nlu_only:
        config.pop("policies", None)
    return with_epochs(config, epochs)


BASELINE_LANGUAGE = "xx"


def char_ngram_config(epochs: int) -> Dict[str, Any]:
    """Rasa's stock character n-gram pipeline. WhitespaceTokenizer refuses ``ja``, hence ``xx``."""
    return {
        "recipe": "default.v1",
        "language": BASELINE_LANGUAGE,
        "assistant_id": "bench-char-ngram-baseline",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
            {"name": "DIETClassifier", "epochs": epochs, "entity_recognition": True,
             "constrain_similarities": True, "random_seed": SEED},
        ],
    }


# --------------------------------------------------------------------------- systems

class RasaSystem:
    """A Rasa NLU pipeline trained with the Python API in a scratch directory."""

    has_entities = True

    def __init__(self, name: str, config: Dict[str, Any], extras: Dict[str, Any], workdir: Path) -> None:
        self.name, self.config, self.extras, self.workdir = name, config, extras, workdir
        self.agent: Any = None
        self._dir: Optional[Path] = None

    def describe(self) -> Dict[str, Any]:
        return {"kind": "rasa", "config": self.config}

    def fit(self, examples: Sequence[Example]) -> None:
        from rasa.core.agent import Agent
        from rasa.model_training import train_nlu
        from rasa.shared.nlu.training_data.training_data import TrainingData

        self.release()
        self._dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.workdir))
        config_path, data_path = self._dir / "config.yml", self._dir / "nlu.yml"
        config_path.write_text(yaml.safe_dump(self.config, allow_unicode=True), encoding="utf-8")
        data = TrainingData(training_examples=[e.message for e in examples], **self.extras)
        data_path.write_text(data.nlu_as_yaml(), encoding="utf-8")
        # No domain: NLU training does not need one, and the figures then depend on the data alone.
        model = train_nlu(config=str(config_path), nlu_data=str(data_path), output=str(self._dir),
                          fixed_model_name="model")
        if not model:
            raise RuntimeError(f"{self.name}: training produced no model")
        self.agent = Agent.load(model)

    def predict(self, texts: Sequence[str]) -> List[Dict[str, Any]]:
        return asyncio.run(self._parse_all(texts))

    async def _parse_all(self, texts: Sequence[str]) -> List[Dict[str, Any]]:
        out = []
        for text in texts:
            parsed = await self.agent.parse_message(text)
            out.append({"intent": (parsed.get("intent") or {}).get("name"), "entities": parsed.get("entities") or []})
        return out

    def release(self) -> None:
        """Drops the loaded model and its scratch directory."""
        self.agent = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        gc.collect()


def nfkc(text: str) -> str:
    """NFKC-folded, lower-cased text (full-width digits and half-width kana folded)."""
    return unicodedata.normalize("NFKC", text).lower()


class TfidfLogRegSystem:
    """scikit-learn baseline: TF-IDF of character 1–3-grams over NFKC text + logistic regression."""

    name = "tfidf_logreg"
    has_entities = False
    params = {"analyzer": "char", "ngram_range": [1, 3], "sublinear_tf": True, "C": 10.0, "max_iter": 5000}

    def __init__(self) -> None:
        self.model: Any = None

    def describe(self) -> Dict[str, Any]:
        return {"kind": "scikit-learn", "preprocess": "unicodedata NFKC + lower", **self.params}

    def fit(self, examples: Sequence[Example]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        p = self.params
        self.model = make_pipeline(
            TfidfVectorizer(analyzer=p["analyzer"], ngram_range=tuple(p["ngram_range"]), preprocessor=nfkc,
                            sublinear_tf=p["sublinear_tf"]),
            LogisticRegression(C=p["C"], max_iter=p["max_iter"], random_state=SEED),
        )
        self.model.fit([e.text for e in examples], [e.intent for e in examples])

    def predict(self, texts: Sequence[str]) -> List[Dict[str, Any]]:
        return [{"intent": intent, "entities": []} for intent in self.model.predict(list(texts))]

    def release(self) -> None:
        self.model = None


# --------------------------------------------------------------------------- evaluation

def fit_predict(system: Any, train: Sequence[Example], test: Sequence[Example]) -> Dict[str, Any]:
    """Trains ``system`` on ``train``; predictions for ``test`` and the training wall time."""
    start = time.monotonic()
    system.fit(train)
    seconds = time.monotonic() - start
    preds = system.predict([e.text for e in test])
    system.release()
    return {"preds": preds, "train_seconds": round(seconds, 1)}


def score(system: Any, test: Sequence[Example], preds: List[Dict[str, Any]], labels: List[str]) -> Dict[str, Any]:
    """Intent scores, and entity scores when the system extracts entities."""
    result = {"intent": metrics.intent_scores([e.intent for e in test], [p["intent"] for p in preds], labels)}
    if system.has_entities:
        result["entities"] = metrics.entity_scores([e.entities for e in test], [p["entities"] for p in preds])
    return result


def folds(examples: Sequence[Example], n: int) -> List[List[int]]:
    """Test indices of ``n`` stratified folds (shuffled, fixed seed)."""
    from sklearn.model_selection import StratifiedKFold

    skf = StratifiedKFold(n_splits=n, shuffle=True, random_state=SEED)
    return [list(test) for _, test in skf.split([e.text for e in examples], [e.intent for e in examples])]


def cross_validate(corpus: Corpus, systems: Sequence[Any], n_folds: int, log=print) -> Dict[str, Any]:
    """Stratified ``n_folds``-fold CV of every system on the same folds."""
    labels = corpus.intents
    per_system: Dict[str, Dict[str, Any]] = {s.name: {"folds": [], "test": [], "preds": []} for s in systems}
    for k, test_idx in enumerate(folds(corpus.examples, n_folds)):
        held = set(test_idx)
        train = [e for i, e in enumerate(corpus.examples) if i not in held]
        test = [corpus.examples[i] for i in test_idx]
        for system in systems:
            log(f"[cv] fold {k + 1}/{n_folds}: {system.name} (train {len(train)}, test {len(test)})")
            run = fit_predict(system, train, test)
            fold = score(system, test, run["preds"], labels)
            fold["train_seconds"] = run["train_seconds"]
            acc = per_system[system.name]
            acc["folds"].append(fold)
            acc["test"] += test
            acc["preds"] += run["preds"]
            log(f"[cv]   macro-F1 {fold['intent']['macro_f1']:.3f} acc {fold['intent']['accuracy']:.3f}")
    return {"folds": n_folds, "seed": SEED, "stratified": True,
            "systems": {s.name: summarize_cv(s, per_system[s.name], labels) for s in systems}}


def summarize_cv(system: Any, acc: Dict[str, Any], labels: List[str]) -> Dict[str, Any]:
    """Mean/std/per-fold intent figures; entity figures pooled over all test folds."""
    folds_ = acc["folds"]
    intent = {key: metrics.mean_std([f["intent"][key] for f in folds_]) for key in ("macro_f1", "accuracy")}
    pooled = score(system, acc["test"], acc["preds"], labels)
    intent["fallback"] = pooled["intent"]["fallback"]
    intent["top_confusions"] = metrics.confusions([e.intent for e in acc["test"]],
                                                  [p["intent"] for p in acc["preds"]])
    intent["f1_per_intent"] = metrics.f1_per_intent([e.intent for e in acc["test"]],
                                                    [p["intent"] for p in acc["preds"]], labels)
    intent["misclassified"] = [{"text": e.text, "gold": e.intent, "predicted": p["intent"]}
                               for e, p in zip(acc["test"], acc["preds"]) if p["intent"] != e.intent]
    intent["by_author"] = by_author(acc["test"], acc["preds"])
    out: Dict[str, Any] = {"intent": intent, "train_seconds": [f["train_seconds"] for f in folds_]}
    if system.has_entities:
        out["entities"] = pooled["entities"]
        out["entities"]["f1_per_fold"] = [f["entities"]["strict"]["overall"]["f1"] for f in folds_]
    return out


def by_author(test: Sequence[Example], preds: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Out-of-fold scores of each author's examples (pooled over the folds): whether a later round
    of data helped the earlier authors' examples, and how hard each round's examples are."""
    out = {}
    for author in sorted({e.author for e in test}):
        pairs = [(e.intent, p["intent"]) for e, p in zip(test, preds) if e.author == author]
        own = sorted({g for g, _ in pairs})  # macro over the intents this author wrote
        scores = metrics.intent_scores([g for g, _ in pairs], [p for _, p in pairs], own)
        out[author] = {"examples": len(pairs), "macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"]}
    return out


def heldout(train: Corpus, test: Corpus, systems: Sequence[Any], log=print) -> Dict[str, Any]:
    """Each system trained on all of ``train`` and evaluated on ``test``, with its errors listed."""
    labels = train.intents
    out: Dict[str, Any] = {}
    for system in systems:
        log(f"[heldout] {system.name} (train {len(train.examples)}, test {len(test.examples)})")
        run = fit_predict(system, train.examples, test.examples)
        result = score(system, test.examples, run["preds"], labels)
        result["train_seconds"] = run["train_seconds"]
        result["misclassified"] = [{"text": e.text, "gold": e.intent, "predicted": p["intent"]}
                                   for e, p in zip(test.examples, run["preds"]) if p["intent"] != e.intent]
        if system.has_entities:
            result["entity_errors"] = metrics.entity_errors(test.examples, run["preds"])
        log(f"[heldout]   macro-F1 {result['intent']['macro_f1']:.3f} acc {result['intent']['accuracy']:.3f}")
        out[system.name] = result
    return out


def corpus_stats(corpus: Corpus) -> Dict[str, Any]:
    """Example, intent and entity counts."""
    return {"examples": len(corpus.examples), "intents": len(corpus.intents),
            "min_per_intent": min(Counter(e.intent for e in corpus.examples).values()),
            "entities": dict(Counter(ent["entity"] for e in corpus.examples for ent in e.entities))}
