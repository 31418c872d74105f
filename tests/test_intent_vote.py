"""bot/nlu/intent_vote.py: the character n-gram vote, trained on real Japanese examples, stored and
loaded as Rasa does, and averaged with a DIET ranking."""
from __future__ import annotations

import pytest
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from tests.conftest import graph_context as context, tokenized
from bot.nlu.intent_vote import CharNgramIntentVote, combine

EXAMPLES = {
    "housing_trouble": ["家賃が払えません", "やちん はらえない", "アパートを追い出されそうです", "家賃を2か月滞納しています",
                        "大家さんから退去してと言われた", "家賃の督促がきた"],
    "debt_trouble": ["借金が返せません", "カードローンの返済が苦しい", "消費者金融から借りすぎた", "リボ払いが膨らんだ",
                     "しゃっきん が かえせない", "税金を滞納して督促がきた"],
    "greet": ["こんにちは", "こんばんは", "はじめまして", "どうも", "おはようございます", "こんばんわ"],
}


def training_data() -> TrainingData:
    return TrainingData([Message(data={"text": t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts])


def diet_says(text: str, ranking: dict) -> Message:
    msg = Message(data={"text": text})
    msg.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking.items()])
    msg.set("intent", {"name": max(ranking, key=ranking.get), "confidence": max(ranking.values())})
    return msg


def test_combine_is_the_weighted_average_best_first():
    ranking = combine([{"name": "greet", "confidence": 0.6}, {"name": "debt_trouble", "confidence": 0.4}],
                      {"greet": 0.05, "debt_trouble": 0.15, "housing_trouble": 0.8}, diet_weight=0.5)
    assert [r["name"] for r in ranking] == ["housing_trouble", "greet", "debt_trouble"]
    assert [r["confidence"] for r in ranking] == pytest.approx([0.4, 0.325, 0.275])
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)


def test_trained_stored_and_loaded_vote_corrects_an_unsure_diet(storage):
    resource = Resource("vote")
    trained = CharNgramIntentVote.create({"diet_weight": 0.5}, storage, resource, context())
    trained.train(training_data())
    loaded = CharNgramIntentVote.load({"diet_weight": 0.5}, storage, resource, context())
    texts = ["家賃がはらえなくて困ってます", "借金の返済ができません"]
    assert [max(v, key=v.get) for v in loaded.vote(texts)] == ["housing_trouble", "debt_trouble"]
    for a, b in zip(loaded.vote(texts), trained.vote(texts)):  # the stored arrays give the same numbers
        assert a == pytest.approx(b)
    # DIET unsure between the two problems: the vote decides, and the ranking stays a distribution.
    msg = loaded.process([diet_says("家賃がはらえなくて困ってます", {"debt_trouble": 0.4, "housing_trouble": 0.35, "greet": 0.25})])[0]
    assert msg.get("intent")["name"] == "housing_trouble"
    assert sum(r["confidence"] for r in msg.get("intent_ranking")) == pytest.approx(1.0)


def test_without_a_diet_ranking_or_text_nothing_changes(storage):
    vote = CharNgramIntentVote.create({}, storage, Resource("vote2"), context())
    vote.train(training_data())
    empty = Message(data={"text": ""})
    payload = Message(data={"text": "こんにちは"})  # no ranking: e.g. DIET did not run
    assert vote.process([empty, payload]) == [empty, payload]
    assert empty.get("intent") is None and payload.get("intent") is None


def test_untrained_vote_leaves_diet_alone(storage):
    resource = Resource("vote3")
    CharNgramIntentVote.create({}, storage, resource, context()).train(TrainingData([]))
    loaded = CharNgramIntentVote.load({}, storage, resource, context())
    msg = diet_says("こんにちは", {"greet": 0.9, "debt_trouble": 0.1})
    assert loaded.process([msg])[0].get("intent")["name"] == "greet"


def test_hiragana_copy_and_normalised_text_come_from_sudachi():
    from bot.nlu.intent_vote import hiragana_copy, norm_text

    kanji, digits, kana = tokenized("予約を取り消したい", "番号はYH3K9PRです", "しごと が ない")
    assert hiragana_copy(kanji) == "よやく を とりけし たい"
    assert hiragana_copy(digits) == "ばんごう は YH 3 K 9 PR です"  # letters and digits stay as written
    assert hiragana_copy(kana) is None  # already as a resident without kanji writes it
    assert norm_text(kana) == "仕事が無い"  # Sudachi writes both words as usually spelled
    assert norm_text(Message(data={"text": "こんにちは"})) == "こんにちは"  # no tokens: the text itself


def kanji_examples() -> list:
    """Tokenized, labelled examples written with kanji only."""
    examples = {"housing_trouble": ["家賃を払えません", "家賃を滞納しています", "退去を求められました"],
                "debt_trouble": ["借金を返せません", "返済が遅れています", "督促状が届きました"]}
    messages = tokenized(*(t for texts in examples.values() for t in texts))
    for message, intent in zip(messages, [i for i, texts in examples.items() for _ in texts]):
        message.set("intent", intent)
    return messages


def test_hiragana_copies_and_normalised_ngrams_are_learned_stored_and_used(storage):
    """Trained on kanji examples only, the vote still reads an all-hiragana message with them."""
    from bot.nlu.intent_vote import norm_text

    messages = kanji_examples()
    probe = tokenized("しゃっきん が かえせない", "やちん を たいのう")
    GOLD = ["debt_trouble", "housing_trouble"]

    def trained(name: str, config: dict) -> CharNgramIntentVote:
        CharNgramIntentVote.create(config, storage, Resource(name), context()).train(TrainingData(messages))
        return CharNgramIntentVote.load(config, storage, Resource(name), context())

    def confidence(vote: CharNgramIntentVote) -> list:
        """The vote's confidence in the right intent, and its choice through ``process``."""
        probs = vote.vote([m.get("text") for m in probe], None, [norm_text(m) for m in probe])
        for m in probe:
            m.set("intent_ranking", [{"name": "housing_trouble", "confidence": 0.5},
                                     {"name": "debt_trouble", "confidence": 0.5}])
        chosen = [m.get("intent")["name"] for m in vote.process(probe)]
        return [p[gold] for p, gold in zip(probs, GOLD)], chosen

    plain = trained("plain", {"diet_weight": 0.0})
    both = trained("both", {"diet_weight": 0.0, "hiragana_copies": True, "norm_ngrams": True})
    assert len(both._model["vectorizers"]) == 2 and len(plain._model["vectorizers"]) == 1
    (with_copies, chosen), (without, _) = confidence(both), confidence(plain)
    assert chosen == GOLD
    assert all(a > b + 0.05 for a, b in zip(with_copies, without)), (with_copies, without)


def test_kana_fold_lets_an_all_katakana_message_meet_the_hiragana_copies(storage):
    """「シャッキン ガ カエセナイ」 typed in katakana: with kana_fold it reads like the hiragana copies."""
    messages = kanji_examples()
    probe = ["シャッキン ガ カエセナイ", "ヤチン ヲ タイノウ"]

    def confidences(name: str, kana_fold: bool) -> list:
        config = {"diet_weight": 0.0, "hiragana_copies": True, "kana_fold": kana_fold}
        CharNgramIntentVote.create(config, storage, Resource(name), context()).train(TrainingData(messages))
        loaded = CharNgramIntentVote.load(config, storage, Resource(name), context())  # the flag survives loading
        return [p[gold] for p, gold in zip(loaded.vote(probe), ["debt_trouble", "housing_trouble"])]

    folded, unfolded = confidences("folded", True), confidences("unfolded", False)
    assert all(p > 0.5 for p in folded), folded
    assert all(a > b + 0.05 for a, b in zip(folded, unfolded)), (folded, unfolded)


def test_min_df_leaves_out_rare_ngrams_and_still_decides(storage):
    """n-grams of fewer than ``min_df`` training texts are not columns; the vote still tells the
    problems apart, and the stored, smaller vocabulary is what the loaded model reads."""
    def trained(name: str, min_df: int) -> CharNgramIntentVote:
        config = {"diet_weight": 0.0, "min_df": min_df}
        CharNgramIntentVote.create(config, storage, Resource(name), context()).train(training_data())
        return CharNgramIntentVote.load(config, storage, Resource(name), context())

    every, common = trained("every", 1), trained("common", 2)
    vocab_every, vocab_common = every._model["vectorizers"][0].vocabulary_, common._model["vectorizers"][0].vocabulary_
    assert set(vocab_common) < set(vocab_every) and len(vocab_common) < len(vocab_every) / 2
    assert "督" in vocab_every and "督" in vocab_common  # 督促: in two examples
    assert "リボ" in vocab_every and "リボ" not in vocab_common  # リボ払い: in one
    texts = ["家賃が払えない", "借金の返済が苦しい", "こんばんは"]
    assert [max(v, key=v.get) for v in common.vote(texts)] == ["housing_trouble", "debt_trouble", "greet"]
