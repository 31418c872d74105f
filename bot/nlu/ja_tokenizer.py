"""Rasa tokenizer for Japanese: spaCy's Japanese language class, which drives SudachiPy.

Token offsets index the exact text Rasa stores (entity spans depend on it), while each token's
lemma is Sudachi's normalised form folded with NFKC (しごと→仕事, 子ども→子供, ４６→46). The
word-level CountVectorsFeaturizer reads lemmas, so 表記揺れ collapses into one feature. The
unfolded normalised form stays in the token's data for the word vectors, which are keyed by it,
and so does the reading in hiragana (for the intent vote's all-hiragana copies of its examples).
"""
from __future__ import annotations

import unicodedata
from typing import Any, Dict, List, Text

import spacy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.word_vectors import TOKEN_NORM
from bot.textnorm import to_hiragana

TOKEN_READING = "reading"  # Token.data key: Sudachi's reading in hiragana (the surface when it has none)

@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class JaSudachiTokenizer(Tokenizer):
    """Sudachi morphological tokenizer with normalised lemmas."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            # Sudachi split mode: A (short units), B, C (named entities and compounds kept whole).
            "split_mode": "C",
            # Longer messages are cut for NLU only; the actions still see the whole text.
            "max_chars": 1000,
        }

    @staticmethod
    def supported_languages() -> List[Text]:
        return ["ja"]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy", "sudachipy", "sudachidict_core"]

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self._nlp = spacy.blank("ja", config={"nlp": {"tokenizer": {"split_mode": config["split_mode"]}}})
        self._max_chars = int(config["max_chars"])

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        tokens = []
        for tok in self._nlp(text[: self._max_chars]):
            if not tok.text.strip():
                continue
            lemma = to_hiragana(unicodedata.normalize("NFKC", tok.norm_ or tok.text)).lower()
            reading = tok.morph.get("Reading")
            data = {TOKEN_NORM: tok.norm_ or tok.text, TOKEN_READING: to_hiragana(reading[0]) if reading else tok.text}
            tokens.append(Token(tok.text, tok.idx, lemma=lemma, data=data))
        return self._apply_token_pattern(tokens)
