"""The held-out file measures generalisation only while no training example repeats one of it."""
import re

from bench import nlu
from bot.paths import ROOT

#: Spaces, punctuation and long-vowel marks do not make a different example.
_IGNORED = re.compile(r"[\s、。，．,.!?！？〜~ー…・]")


def _key(text: str) -> str:
    return _IGNORED.sub("", text)


def test_no_training_example_repeats_a_heldout_one():
    train = nlu.load_corpus(ROOT / "nlu" / "data")
    heldout = {_key(e.text): e.text for e in nlu.load_corpus(ROOT / "nlu" / "heldout").examples}
    repeated = sorted(heldout[_key(e.text)] for e in train.examples if _key(e.text) in heldout)
    assert repeated == []


def test_key_ignores_spacing_and_punctuation_only():
    assert _key("いいえ そう では ない です") == _key("いいえ、そうではないです。")
    assert _key("ないない") != _key("ない")
