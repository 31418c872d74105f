"""bot/nlu/word_vectors.py and bot/nlu/vector_featurizer.py: the chiVe table fetched by
scripts/setup.sh, read through the real Sudachi tokenizer, stored in and loaded from a model, and
used by the intent vote."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from tests.conftest import graph_context as context, tokenized
from bot.nlu.intent_vote import CharNgramIntentVote
from bot.nlu.vector_featurizer import ChiveFeaturizer
from bot.nlu.word_vectors import DEFAULT_PATH, VOCAB_DIR, WordVectors, sentence_vector, table_from_wheel


@pytest.fixture(scope="module")
def table() -> WordVectors:
    if not DEFAULT_PATH.exists():
        pytest.fail(f"{DEFAULT_PATH} is missing: run scripts/setup.sh (python -m bot.nlu.word_vectors fetch)")
    return WordVectors.load(DEFAULT_PATH)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_the_table_places_near_synonyms_together(table):
    cancel, cancel_katakana, rent = table.lookup(["取り消す", "キャンセル", "家賃"])
    debt, loan = table.lookup(["借金", "ローン"])
    assert cosine(cancel, cancel_katakana) > cosine(cancel, rent) + 0.1
    assert cosine(debt, loan) > cosine(debt, cancel) + 0.1
    assert not table.lookup(["ｚｚｑｘ語"]).any()  # unknown: zeros, no error
    assert table.lookup([]).shape == (0, table.dim)


def test_tokens_are_looked_up_by_sudachis_normalised_form(table, storage):
    featurizer = ChiveFeaturizer.create({}, storage,
                                        Resource("chive"), context())
    message = featurizer.process(tokenized("しごと を さがして います"))[0]
    tokens = message.get("text_tokens")
    sequence, sentence = message.get_dense_features("text")
    assert sequence.features.shape == (len(tokens), table.dim)  # one row per token, as DIET requires
    row = {t.text: r for t, r in zip(tokens, sequence.features)}
    # all-hiragana words get the vectors of their kanji normal forms
    assert np.array_equal(row["しごと"], table.lookup(["仕事"])[0])
    assert np.array_equal(row["さがし"], table.lookup(["探す"])[0])
    assert np.linalg.norm(sentence.features) == pytest.approx(1.0, abs=1e-5)


def test_the_table_travels_inside_the_model(table, storage):
    resource = Resource("chive2")
    config: dict = {}
    trained = ChiveFeaturizer.create(config, storage, resource, context())
    trained.train(TrainingData([]))
    loaded = ChiveFeaturizer.load(config, storage, resource, context())
    a = trained.process(tokenized("予約を取り消したい"))[0].get_dense_features("text")[0].features
    b = loaded.process(tokenized("予約を取り消したい"))[0].get_dense_features("text")[0].features
    assert np.array_equal(a, b) and a.any()


def test_training_without_the_table_says_how_to_get_it(tmp_path, storage):
    with pytest.raises(FileNotFoundError, match="word_vectors fetch"):
        ChiveFeaturizer.create({"path": str(tmp_path / "none.npz")}, storage, Resource("x"), context())


def test_sentence_vector_ignores_unknown_words():
    rows = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    assert sentence_vector(rows) == pytest.approx(np.array([[0.6, 0.8]]))
    assert not sentence_vector(np.zeros((2, 2), dtype=np.float32)).any()


def test_a_spacy_vectors_directory_in_a_wheel_becomes_the_table(tmp_path):
    """The same reader setup.sh applies to ja-ginza's wheel, on a table written by spaCy itself."""
    from spacy.strings import hash_string
    from spacy.vectors import Vectors

    words = ["仕事", "家賃", "借金"]
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    vectors = Vectors(data=data, keys=[hash_string(words[0]), hash_string(words[1])])
    vectors.add(hash_string(words[2]), row=0)  # pruned tables map several words onto one row
    vectors.to_disk(tmp_path / "vocab")
    wheel = tmp_path / "ja_ginza-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for file in (tmp_path / "vocab").iterdir():
            archive.write(file, VOCAB_DIR + file.name)
    table = table_from_wheel(wheel)
    assert table.lookup(words + ["無い語"]).tolist() == [[0, 1, 2], [3, 4, 5], [0, 1, 2], [0, 0, 0]]
    table.save(tmp_path / "t.npz")
    assert np.array_equal(WordVectors.load(tmp_path / "t.npz").lookup(words), table.lookup(words))


def test_the_vote_reads_word_vectors_stored_and_loaded(table, storage):
    """With vector_weight the vote learns from the mean word vector too, and the model keeps it."""
    featurizer = ChiveFeaturizer.create({}, storage,
                                        Resource("chive3"), context())
    examples = {"cancel_booking": ["予約を取り消したい", "予約をキャンセルします", "面談をやめたい"],
                "book_appointment": ["予約したいです", "面談を申し込みたい", "相談の予約を取りたい"]}
    messages = tokenized(*(t for texts in examples.values() for t in texts))
    for message, intent in zip(messages, [i for i, texts in examples.items() for _ in texts]):
        message.set("intent", intent)
    featurizer.process(messages)
    resource, config = Resource("vote-vectors"), {"vector_weight": 2.0}
    CharNgramIntentVote.create(config, storage, resource, context()).train(TrainingData(messages))
    loaded = CharNgramIntentVote.load(config, storage, resource, context())
    assert loaded._model["dense_t"].shape == (table.dim, 2)
    probe = featurizer.process(tokenized("予約を取消したいです"))
    with_vectors = loaded.vote(["予約を取消したいです"], loaded._dense(probe))[0]
    without = loaded.vote(["予約を取消したいです"])[0]
    assert with_vectors != pytest.approx(without)  # the vector columns take part
    # A message the tokenizer left without tokens (so without a vector) still gets an answer.
    bare = Message(data={"text": "\x01\x02"})
    bare.set("intent_ranking", [{"name": "book_appointment", "confidence": 0.6},
                                {"name": "cancel_booking", "confidence": 0.4}])
    assert loaded.process([bare])[0].get("intent")["name"] in examples


def test_vector_weight_without_a_dense_featurizer_is_a_clear_error(storage):
    messages = tokenized("予約したいです", "予約をやめたい")
    for m, intent in zip(messages, ["book_appointment", "cancel_booking"]):
        m.set("intent", intent)
    vote = CharNgramIntentVote.create({"vector_weight": 1.0}, storage, Resource("v"), context())
    with pytest.raises(ValueError, match="ChiveFeaturizer"):
        vote.train(TrainingData(messages))
