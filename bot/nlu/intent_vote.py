"""A second opinion on the intent: TF-IDF character n-grams + logistic regression, averaged with DIET.

DIET and a linear model over character n-grams make different mistakes on short, noisy Japanese
(measured by 5-fold cross-validation, `make bench`): averaging their probability distributions
beats either alone. With ``vector_weight`` > 0 the model also reads the message's mean word vector (the dense
sentence feature of ``ChiveFeaturizer``, scaled by that weight), so a synonym the training data
never used still counts. This component trains the linear model on the same examples, then replaces
``intent`` / ``intent_ranking`` by ``diet_weight × DIET + (1 − diet_weight) × logistic regression``.
It runs after DIET and before ``FallbackClassifier``, so the fallback threshold applies to the
combined confidence; the crisis override still runs last. Quick-reply payloads (``/intent``) never
reach the NLU graph.

The fitted model is stored as arrays (vocabulary, idf, coefficients) rather than a pickle.
"""
from __future__ import annotations

import json
import unicodedata
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def fold(text: str) -> str:
    """NFKC (full-width digits, half-width kana) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def _vectorizer(vocabulary: Optional[Dict[str, int]] = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), preprocessor=fold, sublinear_tf=True,
                           vocabulary=vocabulary)


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


def _fitted(vectorizer: Any, classes: List[str], coef: np.ndarray, intercept: np.ndarray,
            n_dense: int = 0) -> Dict[str, Any]:
    """The model as ``vote`` uses it. ``coef_t`` is a row-major copy of ``coef.T``: sparse @ the
    transposed view made scipy copy all coefficients on every message (3 ms instead of 0.01).
    The last ``n_dense`` columns are the word-vector weights (``dense_t``)."""
    coef_t = np.ascontiguousarray(coef.T)
    n_grams = coef_t.shape[0] - n_dense
    return {"vectorizer": vectorizer, "classes": classes, "coef": coef, "intercept": intercept,
            "coef_t": coef_t[:n_grams], "dense_t": coef_t[n_grams:]}


def dense_sentence(message: Message) -> Optional[np.ndarray]:
    """The message's dense sentence feature (one row), when a dense featurizer ran before."""
    _, sentence = message.get_dense_features(TEXT)
    return None if sentence is None else np.asarray(sentence.features, dtype=np.float64).reshape(1, -1)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CharNgramIntentVote(GraphComponent, IntentClassifier):
    """Logistic regression over character 1–3-grams, averaged with the DIET ranking before it."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"diet_weight": 0.5, "vector_weight": 0.0, "C": 10.0, "max_iter": 5000, "ranking_length": 10,
                "max_chars": 2000}

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
        from sklearn.linear_model import LogisticRegression

        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            return self._resource  # nothing to learn: process() leaves DIET's answer alone
        vectorizer = _vectorizer()
        features = vectorizer.fit_transform([m.get(TEXT) for m in examples])
        dense = self._dense(examples)
        if dense is not None:
            from scipy.sparse import csr_matrix, hstack

            features = hstack([features, csr_matrix(dense)]).tocsr()
        lr = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"], random_state=42)
        lr.fit(features, [m.get(INTENT) for m in examples])
        coef = lr.coef_ if len(lr.classes_) > 2 else np.vstack([-lr.coef_[0], lr.coef_[0]])
        intercept = lr.intercept_ if len(lr.classes_) > 2 else np.array([-lr.intercept_[0], lr.intercept_[0]])
        n_dense = 0 if dense is None else dense.shape[1]
        self._model = _fitted(vectorizer, [str(c) for c in lr.classes_], coef, intercept, n_dense)
        self._persist()
        return self._resource

    def _persist(self) -> None:
        vectorizer = self._model["vectorizer"]
        with self._storage.write_to(self._resource) as directory:
            vocabulary = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
            (directory / "vote.json").write_text(json.dumps({"vocabulary": vocabulary,
                                                             "classes": self._model["classes"],
                                                             "n_dense": self._model["dense_t"].shape[0]},
                                                            ensure_ascii=False), encoding="utf-8")
            np.savez(directory / "vote.npz", idf=vectorizer.idf_, coef=self._model["coef"],
                     intercept=self._model["intercept"])

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "CharNgramIntentVote":
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / "vote.json").read_text(encoding="utf-8"))
                arrays = np.load(directory / "vote.npz")
                vectorizer = _vectorizer(meta["vocabulary"])
                vectorizer.idf_ = arrays["idf"]
                model = _fitted(vectorizer, meta["classes"], arrays["coef"], arrays["intercept"],
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

    def vote(self, texts: List[str], dense: Optional[np.ndarray] = None) -> List[Dict[str, float]]:
        """The linear model's distribution over intents for each text (and its word-vector row)."""
        scores = np.asarray(self._model["vectorizer"].transform(texts) @ self._model["coef_t"])
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
        votes = self.vote([m.get(TEXT)[: self.config["max_chars"]] for m in todo], dense)
        for message, vote in zip(todo, votes):
            ranking = combine(message.get(INTENT_RANKING_KEY), vote, float(self.config["diet_weight"]))
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[: int(self.config["ranking_length"]) or None],
                        add_to_output=True)
        return messages
