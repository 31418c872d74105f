"""Yes/no from the words when the classifier swaps them or is unsure.

Runs after ``FallbackClassifier`` and before the safety override. Only two cases change the
intent, both for short replies whose polarity the lexicon of :mod:`bot.polarity` reads:
the classifier said ``affirm`` and the words say no (「そうじゃないです」), or the other way
round (「間違いないです」); or the classifier was unsure (``nlu_fallback``) about a clear
「いいえ、けっこうです」. Everything else keeps the classifier's intent, so 「ちがった、39歳だった」
stays a correction.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.base import CappedTextComponent, replace_intent
from bot.nlu.safety_override import UNCLEAR_INTENT
from bot.polarity import pictographs_only, polarity

YES_NO = ("affirm", "deny")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class PolarityGuard(CappedTextComponent, IntentClassifier):
    """Corrects affirm/deny swaps and unsure yes/no replies from the lexicon."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            current = (message.get(INTENT) or {}).get("name")
            if current not in (*YES_NO, UNCLEAR_INTENT):
                continue
            text = self.text_of(message)
            said = polarity(text)
            if said and said != current:
                replace_intent(message, said)
            elif not said and current in YES_NO and pictographs_only(text):
                replace_intent(message, UNCLEAR_INTENT)  # 「😭😭😭」 is no answer to 「お仕事は？」: ask again
        return messages
