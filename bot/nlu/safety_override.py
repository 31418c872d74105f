"""Last NLU step: safety and language signals override the statistical intent.

A crisis must never depend on a classifier's confidence: when the curated lexicon
(:mod:`bot.crisis`) finds suicidal talk, violence or a medical emergency, the intent becomes
``crisis_emergency`` whatever DIET said; no shelter or food today becomes ``urgent_need``. A
message confidently written in another language becomes ``non_japanese``. The signals are added to
the parse result under ``safety`` so actions can record why.

DIET's own ``crisis_emergency``/``urgent_need`` without the lexicon's agreement becomes
``safety_check``: on the labelled benign look-alikes (「死ぬほど忙しかった」「殺虫剤の工場」) the
classifier alone raised false alarms for about a quarter of them, but on new wording it also
catches what the lexicon misses. So the bot asks, warmly and with the 24-hour lines shown, instead
of either ignoring it or calling staff for nothing (``bench/crisis_eval.evaluate_pipeline``).
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT
from rasa.shared.nlu.training_data.message import Message

from bot import crisis, language
from bot.extraction import is_choice_label
from bot.nlu.base import CappedTextComponent, replace_intent

EMERGENCY_INTENT = "crisis_emergency"
URGENT_INTENT = "urgent_need"
FOREIGN_INTENT = "non_japanese"
UNCLEAR_INTENT = "nlu_fallback"
CHECK_INTENT = "safety_check"
ANSWER_INTENT = "inform"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyIntentOverride(CappedTextComponent, IntentClassifier):
    """Overrides the intent with crisis, urgency or language signals."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = self.text_of(message)
            found = crisis.assess(text)
            lang = language.detect(text)
            message.set(
                "safety",
                {"level": found.level, "signals": sorted(found.signals), "language": lang},
                add_to_output=True,
            )
            current = (message.get(INTENT) or {}).get("name")
            foreign = lang not in (None, "ja")
            if found.level == "emergency" or (foreign and language.foreign_crisis(text)):
                replace_intent(message, EMERGENCY_INTENT)
            elif found.level == "urgent" and current != EMERGENCY_INTENT:
                replace_intent(message, URGENT_INTENT)
            elif foreign and current not in (EMERGENCY_INTENT, URGENT_INTENT):
                replace_intent(message, FOREIGN_INTENT)
            elif language.says_too_little(text) and current not in (EMERGENCY_INTENT, URGENT_INTENT):
                replace_intent(message, UNCLEAR_INTENT)  # 「あ」: ask again rather than guess
            elif current in (EMERGENCY_INTENT, URGENT_INTENT) and found.level is None:
                # The classifier alone: ask, do not alarm; a button title typed out is an answer.
                replace_intent(message, ANSWER_INTENT if is_choice_label(text) else CHECK_INTENT)
            elif current == FOREIGN_INTENT:
                # Latin letters the detector cannot place (markup, 「OK」, a code): not a language
                # to switch to; the bot asks again instead of answering in English.
                replace_intent(message, UNCLEAR_INTENT)
        return messages
