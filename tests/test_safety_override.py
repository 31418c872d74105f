"""The last NLU step: the lexicon overrides the classifier, and the classifier alone only asks."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.safety_override import SafetyIntentOverride


def run(text: str, diet_intent: str) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": diet_intent, "confidence": 0.8})
    message.set("intent_ranking", [{"name": diet_intent, "confidence": 0.8}])
    SafetyIntentOverride({**SafetyIntentOverride.get_default_config()}).process([message])
    return message


@pytest.mark.parametrize("text, diet, expected", [
    ("もう死にたい", "greet", "crisis_emergency"),            # the lexicon wins over any classifier
    ("しにたい", "inform", "crisis_emergency"),
    ("今夜寝る場所がありません", "housing_trouble", "urgent_need"),
    ("夫から殴られることがあって、家にいるのが怖いです", "family_children", "urgent_need"),  # violence at home, not this minute
    ("ボクシングで殴られることがある", "inform", "inform"),
    ("死ぬほど忙しかったです", "crisis_emergency", "safety_check"),  # classifier alone: ask, no alarm
    ("殺虫剤の工場で働いていました", "crisis_emergency", "safety_check"),
    ("受けていない", "crisis_emergency", "inform"),  # a button title typed out is an answer, not a signal
    ("心の不調がある", "urgent_need", "inform"),
    ("路上・野宿", "inform", "urgent_need"),  # ...but the lexicon still decides
    ("仕事を探しています", "want_job", "want_job"),            # nothing to do
])
def test_lexicon_decides_and_the_classifier_alone_asks(text, diet, expected):
    message = run(text, diet)
    assert message.get("intent")["name"] == expected
    assert message.get("intent_ranking")[0]["name"] == expected
    assert message.get("safety")["language"] == "ja"


@pytest.mark.parametrize("text, diet, expected", [
    ("<script>alert(1)</script>", "non_japanese", "nlu_fallback"),  # markup is not a language
    ("Y4K7MPQ", "non_japanese", "nlu_fallback"),
    ("I lost my job and cannot pay the rent", "non_japanese", "non_japanese"),  # confirmed: switch
    ("Perdi meu emprego e não tenho dinheiro", "inform", "non_japanese"),     # the detector alone decides
])
def test_another_language_only_when_the_detector_confirms_it(text, diet, expected):
    assert run(text, diet).get("intent")["name"] == expected


@pytest.mark.parametrize("text, diet, expected", [
    ("あ", "thank", "nlu_fallback"),        # a lone kana is a slip, not thanks: ask again
    ("え…", "affirm", "nlu_fallback"),
    ("５", "inform", "inform"),              # a bare number answers the question asked
    ("二", "inform", "inform"),
    ("はい", "affirm", "affirm"),
    ("👍", "affirm", "affirm"),
])
def test_a_lone_kana_is_not_guessed(text, diet, expected):
    assert run(text, diet).get("intent")["name"] == expected
