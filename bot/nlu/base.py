"""Shared base of our non-trainable NLU components: configured by ``max_chars`` only."""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message


class CappedTextComponent(GraphComponent):
    """Reads at most ``max_chars`` of a message: a 10,000-character paste must not stall NLU."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_chars": 2000}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._max_chars = int(config["max_chars"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)

    def text_of(self, message: Message) -> Text:
        return (message.get(TEXT) or "")[: self._max_chars]


def replace_intent(message: Message, intent: Text) -> None:
    """Make ``intent`` the message's intent (confidence 1.0: a rule decided) and the top of its
    ranking, keeping the classifier's other candidates below it."""
    chosen = {"name": intent, "confidence": 1.0}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent]
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [chosen] + ranking, add_to_output=True)
