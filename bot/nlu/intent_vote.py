"""A second opinion on the intent: TF-IDF character n-grams + logistic regression, averaged with DIET.

DIET and a linear model over character n-grams make different mistakes on short, noisy Japanese
(measured by 5-fold cross-validation, `make bench`): averaging their probability distributions
beats either alone. Options, each measured on the benchmark's folds before it was turned on:

- ``vector_weight`` > 0: the model also reads the message's mean word vector (the dense sentence
  feature of ``ChiveFeaturizer``, scaled by that weight), so a synonym the data never used counts.
- ``norm_ngrams``: character n-grams of Sudachi's normalised forms too (しごと→仕事, 子ども→子供),
  so a spelling the data never used finds the usual one's n-grams.
- ``hiragana_copies``: every training example is learned a second time in hiragana (Sudachi's
  reading of its kanji and katakana words, spaced by word, as residents who write without kanji
  do: 「よやく を とりけし たい」), so an all-hiragana message meets n-grams it knows.
- ``kana_fold``: the n-grams are read after katakana → hiragana (:func:`bot.textnorm.fold`), so a
  message typed all in katakana (「ソウダンリョウ イクラデスカ」) meets the hiragana copies' n-grams.
- ``min_df``: an n-gram found in fewer training texts (hiragana copies included) is left out. At 3
  the model has a third of the columns and trains in less than half the time; most of the dropped
  n-grams were one example's own and cannot tell an unseen message apart anyway.

This component trains the linear model on the same examples, then replaces
``intent`` / ``intent_ranking`` by ``diet_weight × DIET + (1 − diet_weight) × logistic regression``.
It runs after DIET and before ``FallbackClassifier``, so the fallback threshold applies to the
combined confidence; the crisis override still runs last. Quick-reply payloads (``/intent``) never
reach the NLU graph.

The fitted model is stored as arrays (vocabulary, idf, coefficients) rather than a pickle.
"""
from __future__ import annotations

import json
import unicodedata
import warnings
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import textnorm
from bot.nlu.ja_tokenizer import TOKEN_READING
from bot.nlu.word_vectors import TOKEN_NORM


def fold(text: str) -> str:
    """NFKC (full-width digits, half-width kana) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def _vectorizer(vocabulary: Optional[Dict[str, int]] = None, kana_fold: bool = False, min_df: int = 1) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), preprocessor=textnorm.fold if kana_fold else fold,
                           sublinear_tf=True, vocabulary=vocabulary, min_df=min_df)


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def combine(diet_ranking: List[Dict[str, Any]], vote: Dict[str, float], diet_weight: float) -> List[Dict[str, Any]]:
    """The weighted average of both distributions, best first (DIET's names missing from the
    vote, e.g. none, count with the vote at 0, and the other way round)."""
    diet = {r[INTENT_NAME_KEY]: float(r[PREDICTED_CONFIDENCE_KEY]) for r in diet_ranking}
    names = set(diet) | set(vote)
    mixed = {n: diet_weight * diet.get(n, 0.0) + (1 - diet_weight) * vote.get(n, 0.0) for n in names}
    return [{INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: round(c, 6)}
            for n, c in sorted(mixed.items(), key=lambda kv: (-kv[1], kv[0]))]


def _fitted(vectorizers: List[Any], classes: List[str], coef: np.ndarray, intercept: np.ndarray,
            n_dense: int = 0) -> Dict[str, Any]:
    """The model as ``vote`` uses it. ``vectorizers``: surface n-grams, then (optionally) the
    normalised forms' n-grams; their columns come first, the ``n_dense`` word-vector weights last.
    ``coef_t`` is a row-major copy of ``coef.T``: sparse @ the transposed view made scipy copy all
    coefficients on every message (3 ms instead of 0.01)."""
    coef_t = np.ascontiguousarray(coef.T)
    n_grams = coef_t.shape[0] - n_dense
    return {"vectorizers": vectorizers, "classes": classes, "coef": coef, "intercept": intercept,
            "coef_t": coef_t[:n_grams], "dense_t": coef_t[n_grams:]}


def _has_kanji_or_katakana(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" or "\u30a1" <= c <= "\u30fa" or c == "\u30fc" for c in text)


def hiragana_copy(message: Message) -> Optional[str]:
    """The message as a resident without kanji writes it: each kanji or katakana word by its reading
    in hiragana, words spaced (digits and Latin letters kept). None when nothing would change."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    words = [t.get(TOKEN_READING) if _has_kanji_or_katakana(t.text) and t.get(TOKEN_READING) else t.text
             for t in tokens]
    if not any(w != t.text for w, t in zip(words, tokens)):
        return None
    return " ".join(words)


def norm_text(message: Message) -> str:
    """Sudachi's normalised forms of the message's words, joined (the text itself without tokens)."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    return "".join(t.get(TOKEN_NORM) or t.text for t in tokens) if tokens else (message.get(TEXT) or "")


def dense_sentence(message: Message) -> Optional[np.ndarray]:
    """The message's dense sentence feature (one row), when a dense featurizer ran before."""
    _, sentence = message.get_dense_features(TEXT)
    return None if sentence is None else np.asarray(sentence.features, dtype=np.float64).reshape(1, -1)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CharNgramIntentVote(GraphComponent, IntentClassifier):
    """Logistic regression over character 1–3-grams, averaged with the DIET ranking before it."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"diet_weight": 0.5, "vector_weight": 0.0, "norm_ngrams": False, "hiragana_copies": False,
                "kana_fold": False, "min_df": 1, "C": 10.0, "max_iter": 5000, "ranking_length": 10, "max_chars": 2000}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[Dict[str, Any]] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        self._model = model  # _fitted(...)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CharNgramIntentVote":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        from scipy.sparse import csr_matrix, hstack
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            return self._resource  # nothing to learn: process() leaves DIET's answer alone
        texts, norms = [m.get(TEXT) for m in examples], [norm_text(m) for m in examples]
        dense = self._dense(examples)
        rows = list(range(len(examples)))
        if self.config["hiragana_copies"]:
            copies = [(i, hiragana_copy(m)) for i, m in enumerate(examples)]
            copies = [(i, text) for i, text in copies if text]
            texts += [text for _, text in copies]
            norms += [norms[i] for i, _ in copies]  # the same words, so the same normalised forms
            rows += [i for i, _ in copies]  # ... and the same word vectors
        labels = [examples[i].get(INTENT) for i in rows]
        kana = bool(self.config["kana_fold"])
        min_df = int(self.config["min_df"])
        vectorizers = [_vectorizer(kana_fold=kana, min_df=min_df)
                       for _ in range(2 if self.config["norm_ngrams"] else 1)]
        blocks = [v.fit_transform(t) for v, t in zip(vectorizers, (texts, norms))]
        if dense is not None:
            blocks.append(csr_matrix(dense[rows]))
        features = hstack(blocks).tocsr()
        lr = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"], random_state=42)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a low max_iter stops early on purpose
            lr.fit(features, labels)
        coef = lr.coef_ if len(lr.classes_) > 2 else np.vstack([-lr.coef_[0], lr.coef_[0]])
        intercept = lr.intercept_ if len(lr.classes_) > 2 else np.array([-lr.intercept_[0], lr.intercept_[0]])
        n_dense = 0 if dense is None else dense.shape[1]
        self._model = _fitted(vectorizers, [str(c) for c in lr.classes_], coef, intercept, n_dense)
        self._persist()
        return self._resource

    def _persist(self) -> None:
        vectorizers = self._model["vectorizers"]
        with self._storage.write_to(self._resource) as directory:
            vocabularies = [{term: int(i) for term, i in v.vocabulary_.items()} for v in vectorizers]
            (directory / "vote.json").write_text(json.dumps({"vocabularies": vocabularies,
                                                             "classes": self._model["classes"],
                                                             "n_dense": self._model["dense_t"].shape[0]},
                                                            ensure_ascii=False), encoding="utf-8")
            np.savez(directory / "vote.npz", coef=self._model["coef"], intercept=self._model["intercept"],
                     **{f"idf{k}": v.idf_ for k, v in enumerate(vectorizers)})

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "CharNgramIntentVote":
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / "vote.json").read_text(encoding="utf-8"))
                arrays = np.load(directory / "vote.npz")
                kana = bool({**cls.get_default_config(), **config}["kana_fold"])
                vectorizers = [_vectorizer(vocabulary, kana) for vocabulary in meta["vocabularies"]]
                for k, vectorizer in enumerate(vectorizers):
                    vectorizer.idf_ = arrays[f"idf{k}"]
                model = _fitted(vectorizers, meta["classes"], arrays["coef"], arrays["intercept"],
                                meta.get("n_dense", 0))
        except (ValueError, FileNotFoundError):
            model = None  # trained without intents: DIET alone decides
        return cls(config, model_storage, resource, model)

    def _dense(self, messages: List[Message], dim: int = 0) -> Optional[np.ndarray]:
        """Scaled word-vector rows for ``messages`` (zeros where a message has none, e.g. no
        tokens), or None when the vectors are off. ``dim``: the trained width, when known."""
        weight = float(self.config["vector_weight"])
        if not weight:
            return None
        rows = [dense_sentence(m) for m in messages]
        dim = dim or next((r.shape[1] for r in rows if r is not None), 0)
        if not dim:
            raise ValueError("vector_weight is set but no dense featurizer (ChiveFeaturizer) runs before "
                             "CharNgramIntentVote")
        return weight * np.vstack([r if r is not None else np.zeros((1, dim)) for r in rows])

    def vote(self, texts: List[str], dense: Optional[np.ndarray] = None,
             norms: Optional[List[str]] = None) -> List[Dict[str, float]]:
        """The linear model's distribution over intents for each text (with its word-vector row and
        normalised text, when the model uses them; the text stands in for a missing ``norms``)."""
        from scipy.sparse import hstack

        vectorizers = self._model["vectorizers"]
        views = [texts, norms if norms is not None else texts][: len(vectorizers)]
        grams = hstack([v.transform(t) for v, t in zip(vectorizers, views)]).tocsr()
        scores = np.asarray(grams @ self._model["coef_t"])
        if self._model["dense_t"].shape[0] and dense is not None:
            scores = scores + dense @ self._model["dense_t"]
        probs = softmax(scores + self._model["intercept"])
        return [dict(zip(self._model["classes"], row.tolist())) for row in probs]

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        todo = [m for m in messages if (m.get(TEXT) or "").strip() and m.get(INTENT_RANKING_KEY)]
        if not todo:
            return messages
        n_dense = self._model["dense_t"].shape[0]
        dense = self._dense(todo, n_dense) if n_dense else None
        cut = self.config["max_chars"]
        votes = self.vote([m.get(TEXT)[:cut] for m in todo], dense, [norm_text(m)[:cut] for m in todo])
        for message, vote in zip(todo, votes):
            ranking = combine(message.get(INTENT_RANKING_KEY), vote, float(self.config["diet_weight"]))
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[: int(self.config["ranking_length"]) or None],
                        add_to_output=True)
        return messages
