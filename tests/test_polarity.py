"""bot/polarity.py and the PolarityGuard NLU step: yes and no read from the words."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.polarity_guard import PolarityGuard
from bot.polarity import polarity


@pytest.mark.parametrize("text", [
    "いいえ", "いえ、大丈夫です", "ううん", "うんにゃ", "ノー", "NO", "🙅‍♀️", "違います", "ちゃうちゃう",
    "そうじゃないです", "そうやない", "合ってないです", "結構です", "けっこう です", "いらないです", "要りません",
    "必要ありません", "遠慮しておきます", "間に合ってます", "当てはまらないです", "今回はいいです", "いいです", "いんや", "ほうじゃない", "そうじゃなかとよ", "そうやなか", "❌",
    "やっぱりいいです", "特にないです", "そういうわけではありません", "それは違う",
])
def test_no(text):
    assert polarity(text) == "deny"


@pytest.mark.parametrize("text", [
    "はい", "はいい", "はーい", "ﾊｲ", "うん", "うんうん", "ええ", "そうです", "そうや", "せやで", "そうじゃ",
    "お願いします", "おねがいしまーす", "頼みます", "了解です", "りょ", "ＯＫ", "ok", "Yes", "👍", "承知しました",
    "もちろんです", "間違いないです", "合ってます", "その通りです", "同意します", "いいよ", "ええよ", "それでお願いします", "はいな", "そうばい", "ほうじゃね", "👌", "はい😊",
])
def test_yes(text):
    assert polarity(text) == "affirm"


@pytest.mark.parametrize("text", [
    "", "   ", "45歳です", "そうだん したい", "相談料いくらですか", "はい、でも家賃が2か月たまっていて困っています",
    "わからない", "答えたくない", "実家住まいや", "ほうれん草", "<script>alert(1)</script>", "こんにちは",
])
def test_neither(text):
    assert polarity(text) is None


def _parsed(text: str, intent: str, ranking=None) -> Message:
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": 0.6}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking or [{"name": intent, "confidence": 0.6}], add_to_output=True)
    return message


@pytest.mark.parametrize("text, classified, expected", [
    ("そうじゃないです", "affirm", "deny"),        # the swap the guard exists for
    ("間違いないです", "deny", "affirm"),
    ("けっこう です", "nlu_fallback", "deny"),     # unsure classifier, clear words
    ("はい", "affirm", "affirm"),                  # agreement: unchanged
    ("ちがった、三十九歳だった", "correct", "correct"),  # not a yes/no intent: never touched
    ("いいえ", "crisis_emergency", "crisis_emergency"),
    ("よろしくお願いします", "greet", "greet"),
    ("うーん、どうだろう", "nlu_fallback", "nlu_fallback"),  # no polarity: stays unsure
    ("😭😭😭", "deny", "nlu_fallback"),  # emoji alone: no yes or no, so asked again
    ("😊", "affirm", "nlu_fallback"),
    ("👍", "affirm", "affirm"),  # a yes/no emoji is an answer
    ("🙅", "affirm", "deny"),
    ("🙏", "thank", "thank"),  # not a yes/no intent: never touched
])
def test_guard_changes_only_yes_no_swaps_and_unsure_replies(text, classified, expected):
    guard = PolarityGuard({"max_chars": 2000})
    ranking = [{"name": classified, "confidence": 0.6}, {"name": "inform", "confidence": 0.2}]
    [out] = guard.process([_parsed(text, classified, ranking)])
    assert out.get(INTENT)["name"] == expected
    assert out.get(INTENT_RANKING_KEY)[0]["name"] == expected
    assert len({r["name"] for r in out.get(INTENT_RANKING_KEY)}) == len(out.get(INTENT_RANKING_KEY))
