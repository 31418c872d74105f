"""Rasa dense featurizer: chiVe word vectors for each token, and their mean for the message.

Tokens are looked up by Sudachi's normalised form, which ``JaSudachiTokenizer`` keeps in the token's
data (its lemma is folded further, to hiragana, for the count features). The table is copied into
the trained model, so serving needs no file outside it. See ``bot/nlu/word_vectors.py``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.ja_tokenizer import JaSudachiTokenizer
from bot.nlu.word_vectors import DEFAULT_PATH, TOKEN_NORM, WordVectors, sentence_vector

TABLE_FILE = "vectors.npz"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class ChiveFeaturizer(DenseFeaturizer, GraphComponent):
    """Sequence features: one 300-d vector per token (zeros when unknown); sentence: their mean."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [JaSudachiTokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # ``path``: the table written by ``python -m bot.nlu.word_vectors fetch`` (training only).
        return {**DenseFeaturizer.get_default_config(), "path": None}

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource,
                 vectors: Optional[WordVectors]) -> None:
        super().__init__(name, {**self.get_default_config(), **config})
        self._storage, self._resource, self._vectors = model_storage, resource, vectors

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ChiveFeaturizer":
        path = Path(config.get("path") or DEFAULT_PATH)
        if not path.exists():
            raise FileNotFoundError(f"Word vectors not found at {path}. Run scripts/setup.sh "
                                    f"(or: python -m bot.nlu.word_vectors fetch) before training.")
        return cls(config, execution_context.node_name, model_storage, resource, WordVectors.load(path))

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "ChiveFeaturizer":
        with model_storage.read_from(resource) as directory:
            vectors = WordVectors.load(directory / TABLE_FILE)
        return cls(config, execution_context.node_name, model_storage, resource, vectors)

    def train(self, training_data: TrainingData) -> Resource:
        """Nothing to learn: stores the table in the model."""
        with self._storage.write_to(self._resource) as directory:
            self._vectors.save(directory / TABLE_FILE)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if not tokens:
                continue
            sequence = self._vectors.lookup([t.get(TOKEN_NORM) or t.text for t in tokens])
            self.add_features_to_message(sequence, sentence_vector(sequence), TEXT, message)
        return messages

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass
