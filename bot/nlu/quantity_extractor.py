"""Rasa entity extractor for Japanese quantities: ages, money, durations and counts.

Rule-based on purpose: 「六十六歳」「月12万くらい」「1年5か月」 have one right integer each, and a
statistical tagger would both need far more data and still miss kanji numerals it never saw.
Entity values are integers; spans follow ``docs/nlu-guidelines.md``.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.base import CappedTextComponent
from bot.numbers import find_quantities


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class JaQuantityExtractor(CappedTextComponent, EntityExtractorMixin):
    """Adds ``age``, ``amount``, ``duration`` and ``count`` entities with integer values."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = self.text_of(message)
            found = [
                {"entity": q.kind, "start": q.start, "end": q.end, "value": q.value, "confidence_entity": 1.0}
                for q in find_quantities(text)
            ]
            message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(found), add_to_output=True)
        return messages
