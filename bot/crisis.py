"""Crisis detection: does a resident's message need a person now? (intake-protocol.md §4)

Rules, not the NLU model, on purpose: a missed suicidal message is the worst failure the bot can
have, so this detector must be predictable, say why it fired (``matched`` is shown to staff) and be
fixable the same evening by editing ``bot/data/crisis_lexicon.yml`` — no retraining. The lexicon
holds the words (its header explains the rule syntax); this module holds the matching:

* a message is normalised (:mod:`bot.textnorm`) and tokenised with SudachiPy (core dictionary,
  split mode C, fixed), then cut into sentences and clauses;
* a lexicon phrase matches a token span when the hiragana readings are equal (死にたい = しにたい =
  氏にたい = ｼﾆﾀｲ; the span must end on a token boundary, so 田中氏に対して is not しにたい) or
  when every token has the same dictionary form (死にたい ~ 死にたかった, 死にたくなる);
* an unknown katakana run that reads as a phrase in hiragana (シニタイヨ) is tokenised again in
  hiragana; the lexicon's variants rewrite slang, typos and romaji first (タヒ, 死たい, shinitai);
* a match is dropped when it is negated (死にたいとは思っていません), hyperbole (消えたいくらい
  恥ずかしい, 恥ずかしくて消えたい), a condition (ご飯がないと力が出ない), in the past where that
  matters (殴られていた) or in a context the lexicon excludes (a film, a disaster, someone who
  helps others);
* suicidal talk in the past tense that the message says is over, or puts far back (去年は死にたいと
  思ったこともあったけど今は大丈夫), becomes the urgent signal ``suicidal_history``: a person calls
  back today, but the chat does not show 119 (lexicon: ``history``).

Nothing happens at import: the dictionary and the lexicon load on first use. :func:`assess` never
raises; if the engine itself fails it falls back to substring matching so a crisis still shows.
"""
from __future__ import annotations

import functools
import html
import itertools
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    NamedTuple,
)

import yaml

from bot.textnorm import normalize, to_hiragana

__all__ = ["EMERGENCY", "LEXICON_PATH", "MAX_CHARS", "URGENT", "Assessment", "assess", "is_emergency", "load_lexicon"]

log = logging.getLogger(__name__)

LEXICON_PATH = Path(__file__).resolve().parent / "data" / "crisis_lexicon.yml"
EMERGENCY = "emergency"
URGENT = "urgent"
#: Severity order, to pick the level of a message with several signals.
_RANK = {None: 0, URGENT: 1, EMERGENCY: 2}

#: Longest text assessed. Longer input (a paste, binary) keeps its first and last halves: a crisis
#: is usually said at the start or at the end, and the cap bounds the turn's time.
MAX_CHARS = 20_000
#: Sudachi gets at most this many characters at once (its input limit is in bytes).
_CHUNK = 1_000
_SENTENCE_ENDS = "。!?"
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
_HTML_TAG = re.compile(r"<[^<>]{0,200}>")
_WORDY = re.compile(r"[^\W_]")
_KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ff]+")
_HIRAGANA = re.compile(r"[\u3041-\u309fー]+")
#: Reading given to symbols and emoji: no phrase contains it, so no match spans a symbol.
_BLOCK = "|"
#: Shortest reading that may match from inside a hiragana token (see _start_offsets).
_INSIDE_MIN = 4
_WORD_CACHE = 100_000  # morpheme descriptions kept (see _tokens)
_NEG_KEYS = frozenset({"ない", "無い"})
#: Words absorbed into a following negator: ません, ありません, あらへん → one negative token.
_ABSORBED = frozenset({"ます", "ある", "有る"})

Span = tuple[int, int]
Hits = Mapping[int, Sequence[Span]]


@dataclass(frozen=True)
class Assessment:
    """What :func:`assess` found. ``level`` is None, "urgent" or "emergency" (protocol §4);
    ``signals`` name the kinds of crisis; ``matched`` quotes the words that triggered them (from
    the normalised text, so ｼﾆﾀｲ is quoted as シニタイ), so staff see why the bot escalated."""

    level: str | None
    signals: frozenset[str]
    matched: tuple[str, ...]


NOTHING = Assessment(None, frozenset(), ())


def assess(text: str) -> Assessment:
    """Assess one resident message. Never raises: a crash here would lose the crisis turn."""
    try:
        return _assess(_coerce(text))
    except Exception:
        log.exception("crisis assessment failed; falling back to substring matching")
        return _fallback(text)


def is_emergency(text: str) -> bool:
    """True when the message needs crisis contacts and a person in this very turn."""
    return assess(text).level == EMERGENCY


# --------------------------------------------------------------------------------------------
# Text → tokens
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Grammar:
    """The lexicon's word lists that shape tokens, negation and tense (not phrases), and the
    cache of morpheme descriptions made with them."""

    break_on: frozenset[str]
    negators: frozenset[str]
    bridge: frozenset[str]
    only: frozenset[str]
    obligation: frozenset[str]
    obligation_heads: frozenset[str]
    rhetorical: frozenset[str]
    conditional: frozenset[str]
    past: frozenset[str]
    polite: frozenset[str]
    words: dict[tuple[str, int], tuple | None] = field(default_factory=dict)


class _Token(NamedTuple):
    """A tuple, not a dataclass: thousands are made per long message."""

    begin: int  # character offsets in the piece of text
    end: int
    reading: str  # folded hiragana, see _fold
    keys: frozenset[str]  # dictionary forms, compared by lemma matching
    functional: bool  # particle or auxiliary: may stand between a match and its negator
    negator: bool
    breaks: bool  # ends a clause
    hiragana: bool  # written in hiragana: Sudachi often mis-splits these (し|に|たいし|に|たい)
    ends_sentence: bool


@dataclass(frozen=True)
class _Piece:
    """Up to _CHUNK characters of normalised text, tokenised, with clause and sentence numbers."""

    text: str
    tokens: tuple[_Token, ...]
    clauses: tuple[int, ...]
    sentences: tuple[int, ...]
    reading: str  # all token readings, concatenated
    starts: tuple[int, ...]  # offset of each token in ``reading``, plus len(reading)

    def quote(self, span: Span) -> str:
        return self.text[self.tokens[span[0]].begin : self.tokens[span[1] - 1].end]


_local = threading.local()


@functools.cache
def _dictionary():
    """Sudachi's core dictionary, loaded once on first use (not at import)."""
    from sudachipy import Dictionary

    return Dictionary(dict="core")


def _tokenize(text: str):
    """Split mode C (longest units), fixed: lexicon phrases are tokenised the same way.
    Sudachi tokenizers must not be shared between threads, hence one per thread."""
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        from sudachipy import SplitMode

        tokenizer = _local.tokenizer = _dictionary().tokenizer(mode=SplitMode.C)
    return tokenizer.tokenize(text)


_VOWEL = {kana: vowel for vowel, row in {
    "あ": "あかさたなはまやらわがざだばぱ",
    "い": "いきしちにひみりぎじぢびぴ",
    "う": "うくすつぬふむゆるぐずづぶぷ",
    "え": "えけせてねへめれげぜでべぺ",
    "お": "おこそとのほもよろをごぞどぼぽ",
}.items() for kana in row}
_SMALL_VOWEL = dict(zip("ぁぃぅぇぉ", "あいうえお"))
_LONG_MARKS = str.maketrans("", "", "ー~")


def _fold(reading: str) -> str:
    """Hiragana without spelling noise: long marks go (たーい), a small vowel that only lengthens
    the kana before it goes (たぁい), any other small vowel becomes full size (たぃ → たい)."""
    out: list[str] = []
    for ch in to_hiragana(reading).casefold().translate(_LONG_MARKS):
        big = _SMALL_VOWEL.get(ch)
        if big is None:
            out.append(ch)
        elif not (out and _VOWEL.get(out[-1]) == big):
            out.append(big)
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def _lemma_reading(lemma: str) -> str:
    """Reading of a dictionary form, so 吊る and つる (首をつる, 首を吊る) compare equal."""
    if _KANA.fullmatch(lemma):
        return _fold(lemma)
    return "".join(_fold(m.reading_form()) for m in _tokenize(lemma))


def _describe(m, grammar: _Grammar) -> tuple | None:
    """Everything about a morpheme except where it is; None for whitespace."""
    pos = m.part_of_speech()
    if pos[0] == "空白":
        return None
    surface = m.surface()
    ends_sentence = surface in _SENTENCE_ENDS
    if pos[0] == "補助記号":  # punctuation, emoji, and stray small kana (死にたぃ → た|ぃ)
        breaks = pos[1] in ("句点", "読点") or surface in "、,。!?…"
        folded = _fold(surface) if _KANA.fullmatch(surface) else _BLOCK
        return folded, frozenset({surface}), False, False, breaks, False, ends_sentence
    reading = _fold(m.reading_form())
    lemma = m.dictionary_form().casefold()
    lemma_reading = reading if lemma == surface.casefold() else _lemma_reading(lemma)
    keys = {m.normalized_form().casefold(), lemma}
    # A negator by its written forms, or by reading only when written in kana: 変 reads へん,
    # like the Kansai negator, but is not one.
    negator = bool(keys & grammar.negators) or (bool(_KANA.fullmatch(surface)) and lemma_reading in grammar.negators)
    if len(lemma_reading) > 1:  # one kana (に, し, ち) would make particles match 二, 死, 血
        keys.add(lemma_reading)
    keys = frozenset(keys)
    return (
        reading,
        keys | _NEG_KEYS if negator else keys,
        pos[0] in ("助詞", "助動詞"),
        negator,
        ends_sentence or (pos[1] == "接続助詞" and surface in grammar.break_on),
        bool(_HIRAGANA.fullmatch(surface)),
        ends_sentence,
    )


_KATAKANA_WORD = re.compile(r"[\u30a1-\u30faー]{3,}")
_INFLECTING = frozenset({"動詞", "形容詞", "助動詞"})


def _tokens(text: str, grammar: _Grammar) -> Iterator[_Token]:
    """Tokens of the text; morpheme descriptions are cached by (surface, word id) because words
    repeat. Offsets are summed from surfaces (cheaper than asking Sudachi for each).

    A katakana run the dictionary does not know may be a resident writing a whole phrase in
    katakana (シニタイヨ, キエタイヨー). It is tokenised again in hiragana, and used so when that
    reads as a phrase with a verb, adjective or auxiliary in it (し|に|たい|よ); an unknown noun
    (リスカ) stays whole. Hiragana has the same length, so offsets still hold."""
    begin = 0
    for m in _tokenize(text):
        surface = m.surface()
        respelt = _respelt(surface) if m.is_oov() and _KATAKANA_WORD.fullmatch(surface) else None
        for sub in respelt or (m,):
            word = _word(sub, grammar)
            end = begin + len(sub.surface())
            if word is not None:
                yield _Token(begin, end, *word)
            begin = end


def _respelt(surface: str) -> list | None:
    morphemes = list(_tokenize(to_hiragana(surface)))
    if any(m.part_of_speech()[0] in _INFLECTING for m in morphemes):
        return morphemes
    return None


def _word(m, grammar: _Grammar) -> tuple | None:
    cache = grammar.words
    key = (m.surface(), m.word_id())
    word = cache.get(key, False)
    if word is False:
        if len(cache) >= _WORD_CACHE:
            cache.clear()
        word = cache[key] = _describe(m, grammar)
    return word


def _merge_negatives(tokens: Iterable[_Token]) -> list[_Token]:
    """ません, ありません, あらへん → one negative token, so the lexicon's 場所がない also catches
    場所がありません and negation counts 思っていません once."""
    out: list[_Token] = []
    for tok in tokens:
        while tok.negator and out and out[-1].keys & _ABSORBED:
            prev = out.pop()
            tok = _Token(prev.begin, tok.end, prev.reading + tok.reading, tok.keys, True, True, tok.breaks,
                         prev.hiragana and tok.hiragana, tok.ends_sentence)
        out.append(tok)
    return out


def _numbering(flags: Sequence[bool]) -> tuple[int, ...]:
    """0, 0, 1, 1, 1…: the number goes up after each flagged token."""
    return tuple(itertools.accumulate(flags[:-1], initial=0)) if flags else ()


def _analyse(text: str, grammar: _Grammar) -> _Piece:
    tokens = tuple(_merge_negatives(_tokens(text, grammar)))
    return _Piece(
        text,
        tokens,
        _numbering([t.breaks for t in tokens]),
        _numbering([t.ends_sentence for t in tokens]),
        "".join(t.reading for t in tokens),
        tuple(itertools.accumulate((len(t.reading) for t in tokens), initial=0)),
    )


def _coerce(text: Any) -> str:
    """Any input to a bounded str Sudachi accepts: no lone surrogates, no HTML markup."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS // 2] + "\n" + text[-MAX_CHARS // 2 :]
    text = text.encode("utf-8", "ignore").decode("utf-8")
    return html.unescape(_HTML_TAG.sub(" ", text))


def _pieces(text: str, rewrite: Callable[[str], str]) -> Iterator[str]:
    """Normalised text in chunks Sudachi accepts, cut after a sentence end where possible. Line
    breaks end sentences (normalisation would otherwise collapse them into spaces)."""
    flat = rewrite(normalize(_LINE_BREAKS.sub("。", text)))
    start = 0
    while start < len(flat):
        end = min(len(flat), start + _CHUNK)
        if end < len(flat):
            cut = max(flat.rfind(ch, start, end) for ch in _SENTENCE_ENDS)
            end = cut + 1 if cut > start else end
        if _WORDY.search(flat, start, end):
            yield flat[start:end]
        start = end


# --------------------------------------------------------------------------------------------
# Phrases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    reading: str
    lemmas: tuple[frozenset[str], ...]
    exact: bool  # reading match only


@dataclass(frozen=True)
class _PhraseTable:
    phrases: tuple[_Phrase, ...]
    readings: tuple[str, ...]  # by phrase id
    by_prefix: Mapping[str, tuple[int, ...]]  # first 2 reading characters (1 if shorter)
    by_key: Mapping[str, tuple[int, ...]]  # keys of the first token (lemma-matched phrases)
    candidates: dict[tuple[frozenset[str], frozenset[str]], tuple[int, ...]]  # cache, see _candidates

    @classmethod
    def build(cls, phrases: Sequence[_Phrase]) -> _PhraseTable:
        by_prefix: dict[str, list[int]] = defaultdict(list)
        by_key: dict[str, list[int]] = defaultdict(list)
        for pid, phrase in enumerate(phrases):
            by_prefix[phrase.reading[:2]].append(pid)
            for key in () if phrase.exact else phrase.lemmas[0]:
                by_key[key].append(pid)
        readings = tuple(p.reading for p in phrases)
        return cls(tuple(phrases), readings, _frozen(by_prefix), _frozen(by_key), {})

    def hits(self, piece: _Piece) -> dict[int, tuple[Span, ...]]:
        """Every phrase occurrence in the piece, as token spans, by phrase id."""
        found: dict[int, set] = defaultdict(set)
        self._reading_hits(piece, found)
        self._lemma_hits(piece, found)
        return {pid: tuple(sorted(spans)) for pid, spans in found.items()}

    def _reading_hits(self, piece: _Piece, found: dict[int, set]) -> None:
        text, readings, by_prefix = piece.reading, self.readings, self.by_prefix
        token_at = {offset: i for i, offset in enumerate(piece.starts)}
        for i, start, inside in _start_offsets(piece):
            for pid in by_prefix.get(text[start : start + 2], ()) + by_prefix.get(text[start], ()):
                reading = readings[pid]
                end = token_at.get(start + len(reading))
                too_short = inside and len(reading) < _INSIDE_MIN
                if end is not None and end > i and not too_short and text.startswith(reading, start):
                    found[pid].add((i, end))

    def _lemma_hits(self, piece: _Piece, found: dict[int, set]) -> None:
        tokens, phrases = piece.tokens, self.phrases
        nothing: frozenset[str] = frozenset()
        for i, tok in enumerate(tokens):
            following = tokens[i + 1].keys if i + 1 < len(tokens) else nothing
            for pid in self._candidates(tok.keys, following):
                rest = phrases[pid].lemmas[2:]
                n = len(phrases[pid].lemmas)
                if not rest or (i + n <= len(tokens) and all(w & t.keys for w, t in zip(rest, tokens[i + 2 :]))):
                    found[pid].add((i, i + n))

    def _candidates(self, keys: frozenset[str], following: frozenset[str]) -> tuple[int, ...]:
        """Phrases whose first two tokens fit this token and the next, cached per pair of words
        (the same pairs recur, and most phrases fail on their second token)."""
        hit = self.candidates.get((keys, following))
        if hit is None:
            if len(self.candidates) >= _WORD_CACHE:
                self.candidates.clear()
            firsts = {pid for key in keys for pid in self.by_key.get(key, ())}
            lemmas = [(pid, self.phrases[pid].lemmas) for pid in firsts]
            hit = tuple(pid for pid, lem in lemmas if len(lem) == 1 or lem[1] & following)
            self.candidates[(keys, following)] = hit
        return hit


def _frozen(index: Mapping[str, list[int]]) -> dict[str, tuple[int, ...]]:
    return {key: tuple(ids) for key, ids in index.items()}


def _start_offsets(piece: _Piece) -> Iterator[tuple[int, int, bool]]:
    """(token, reading offset, inside) where a reading match may start: every token start, and every
    character inside a hiragana token, because Sudachi splits long hiragana runs arbitrarily
    (しにたいしにたい → し|に|たいし|に|たい). Ends must still fall on a token boundary, which is
    what keeps 私にたいして (わたし|に|たいし|て) from reading as しにたい; and a match starting
    inside a token must be at least _INSIDE_MIN long (なんかし must not contain 歌詞)."""
    starts = piece.starts
    for i, tok in enumerate(piece.tokens):
        if starts[i] == starts[i + 1]:
            continue  # a token without reading (a lone long mark) starts nothing
        yield i, starts[i], False
        if tok.hiragana:
            for offset in range(starts[i] + 1, starts[i + 1]):
                yield i, offset, True


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    signal: str
    slots: tuple[frozenset[int], ...]  # phrase ids per slot, matched in order
    gap: int
    needs: tuple[frozenset[int], ...]  # `with`: each group must occur in the sentence…
    needs_anywhere: bool  # …or anywhere in the message (`scope: message`)
    unless: frozenset[int]
    unless_message: frozenset[int]  # dropped when one occurs anywhere in the message
    unless_before: frozenset[int]
    now: bool  # dropped when followed by a past auxiliary (殴られていた)
    before: int | None = None  # how far back unless_before looks (default: settings.before)


@dataclass(frozen=True)
class _AmountRule:
    signal: str
    max_yen: int
    before: tuple[str, ...]
    after: tuple[str, ...]
    unless_before: tuple[str, ...]


@dataclass(frozen=True)
class _Hyperbole:
    signals: frozenset[str]
    intensifiers: frozenset[str]
    reach: int
    harmless: frozenset[int]
    before: frozenset[int]  # embarrassment right before the match (恥ずかしくて消えたい)
    reach_before: int


@dataclass(frozen=True)
class _History:
    """Past suicidal talk that the message says is over (lexicon: `history`)."""

    demote: Mapping[str, str]  # signal → the urgent signal it becomes
    reach: int  # tokens after the match searched for a past auxiliary, within the clause
    distant: frozenset[int]  # in the sentence: long ago or a past experience (昔, ことがある)
    recent: frozenset[int]  # anywhere: recent or still true (今も, さっき) — never demoted
    over: tuple[_Rule, ...]  # anywhere: it is over (今は大丈夫)


@dataclass(frozen=True)
class _Speculation:
    signals: frozenset[str]
    words: frozenset[str]


@dataclass(frozen=True)
class _Lexicon:
    grammar: _Grammar
    rewrite: Callable[[str], str]
    table: _PhraseTable
    rules: tuple[_Rule, ...]
    rules_by_first: Mapping[int, tuple[int, ...]]  # phrase id → rules whose first slot has it
    amounts: tuple[_AmountRule, ...]
    levels: Mapping[str, str]
    hyperbole: _Hyperbole
    speculation: _Speculation
    history: _History
    before: int
    negation_reach: int
    fallback: tuple[tuple[str, str], ...]  # (phrase, signal) for substring matching


def _slot_hits(slot: frozenset[int], hits: Hits) -> list[Span]:
    return sorted(span for pid in slot for span in hits.get(pid, ()))


def _chains(rule: _Rule, hits: Hits, clauses: Sequence[int]) -> Iterator[Span]:
    """Spans where the rule's slots occur in order, within ``gap`` tokens, in one clause."""

    def extend(prev: Span, rest: Sequence[frozenset[int]]) -> int | None:
        if not rest:
            return prev[1]
        for start, end in _slot_hits(rest[0], hits):
            if prev[1] <= start <= prev[1] + rule.gap and clauses[start] == clauses[prev[1] - 1]:
                found = extend((start, end), rest[1:])
                if found is not None:
                    return found
        return None

    for span in _slot_hits(rule.slots[0], hits):
        end = extend(span, rule.slots[1:])
        if end is not None:
            yield span[0], end


def _same(numbers: Sequence[int], pids: frozenset[int], span: Span, hits: Hits) -> bool:
    """Does one of ``pids`` occur in the clause (or sentence) of the span?"""
    wanted = set(numbers[span[0] : span[1]])
    return any(numbers[start] in wanted for pid in pids for start, _ in hits.get(pid, ()))


def _right_before(pids: frozenset[int], span: Span, hits: Hits, clauses: Sequence[int], reach: int) -> bool:
    first = span[0]
    return any(
        end <= first <= end + reach and clauses[start] == clauses[first]
        for pid in pids
        for start, end in hits.get(pid, ())
    )


def _negated(piece: _Piece, span: Span, grammar: _Grammar, reach: int) -> bool:
    """Is the match denied by what follows it (死にたいとは思っていません)? Only particles,
    auxiliaries and bridge words may stand between; an even number of negators cancels out
    (死にたくないわけじゃない), and しか…ない means "only" (死にたいとしか思えない, 水しか飲んでない)."""
    tokens = piece.tokens
    count, only = 0, any(t.keys & grammar.only for t in tokens[span[0] : span[1]])
    i, stop = span[1], min(len(tokens), span[1] + reach)
    while i < stop and not tokens[i].breaks:
        tok = tokens[i]
        if _obligation_tail(tokens, i, grammar):
            i += 2  # ならない / いけない closing 〜なきゃ, 〜なければ: not a denial
            continue
        if tok.negator:
            count += not (_obligation(tokens, i, grammar) or _rhetorical(tokens, i, grammar))
        elif tok.keys & grammar.only:
            only = True
        elif not (tok.functional or tok.keys & grammar.bridge):
            break
        i += 1
    return count % 2 == 1 and not only


def _obligation_tail(tokens: Sequence[_Token], i: int, grammar: _Grammar) -> bool:
    return bool(tokens[i].keys & grammar.obligation_heads) and i + 1 < len(tokens) and tokens[i + 1].negator


def _obligation(tokens: Sequence[_Token], i: int, grammar: _Grammar) -> bool:
    """出ないといけない / 出なきゃ / 出なければ: the negator makes an obligation, not a denial."""
    if tokens[i].reading.endswith(("きゃ", "ちゃ")):
        marker = i
    elif i + 1 < len(tokens) and tokens[i + 1].keys & grammar.obligation:
        marker = i + 1
    else:
        return False
    head = marker + 1
    return head >= len(tokens) or tokens[head].breaks or bool(tokens[head].keys & grammar.obligation_heads)


def _rhetorical(tokens: Sequence[_Token], i: int, grammar: _Grammar) -> bool:
    """死んだ方が楽なんじゃないか, 〜じゃないですか: a question that asserts."""
    after = [t for t in tokens[i + 1 : i + 3] if not t.keys & grammar.polite]
    return bool(after) and bool(after[0].keys & grammar.rhetorical)


def _conditional(piece: _Piece, span: Span, grammar: _Grammar) -> bool:
    """ご飯がないと力が出ない: a match ending in a negator, then と/ば + a content word, states a
    condition, not a fact. (寝る場所がないと言われた is quoted speech and still counts.)"""
    tokens, end = piece.tokens, span[1]
    if not tokens[end - 1].negator or end + 1 >= len(tokens) or not tokens[end].keys & grammar.conditional:
        return False
    after = tokens[end + 1]
    return after.breaks or not (after.functional or after.keys & grammar.bridge)


def _past(piece: _Piece, span: Span, grammar: _Grammar) -> bool:
    """殴られていた, 殴られていました: a past auxiliary right after the match (ます may come between)."""
    for tok in piece.tokens[span[1] : span[1] + 2]:
        if tok.keys & grammar.past:
            return True
        if not tok.keys & grammar.polite:
            return False
    return False


def _speculative(piece: _Piece, span: Span, words: frozenset[str]) -> bool:
    """追い出されそう, 住むとこなく|なり|そう: likely, not happening."""
    return any(tok.keys & words for tok in piece.tokens[span[1] : span[1] + 2])


def _hyperbolic(piece: _Piece, span: Span, hits: Hits, hyp: _Hyperbole) -> bool:
    """消えたいくらい恥ずかしい: intensifier right after the match, then a harmless feeling; or
    恥ずかしくて消えたい: embarrassment right before it, in the same clause."""
    start, end = span
    clauses = piece.clauses
    if any(
        start - hyp.reach_before <= h_end <= start and clauses[h_start] == clauses[start]
        for pid in hyp.before
        for h_start, h_end in hits.get(pid, ())
    ):
        return True
    if end >= len(piece.tokens) or not piece.tokens[end].keys & hyp.intensifiers:
        return False
    return any(end < h_start <= end + hyp.reach for pid in hyp.harmless for h_start, _ in hits.get(pid, ()))


def _past_after(piece: _Piece, span: Span, grammar: _Grammar, reach: int) -> bool:
    """死にたいと思ったこともあった, リスカしてた: a past auxiliary follows in the same clause."""
    for tok in piece.tokens[span[1] : span[1] + reach]:
        if tok.keys & grammar.past:
            return True
        if tok.breaks:
            return False
    return False


class _Message(NamedTuple):
    """The whole message, for checks that look beyond one piece."""

    pieces: Sequence[_Piece]
    hits: Sequence[Hits]
    pids: frozenset[int]  # every phrase found anywhere
    over: Callable[[], bool]  # does the message say past trouble is over? (computed on demand)


def _historic(piece: _Piece, span: Span, hits: Hits, msg: _Message, lex: _Lexicon) -> bool:
    """Is this suicidal match history (去年は死にたいと思ったこともあったけど今は大丈夫)? Past tense
    after it, nothing recent anywhere, and the message says it is over or puts it far back."""
    hist = lex.history
    return (
        _past_after(piece, span, lex.grammar, hist.reach)
        and not hist.recent & msg.pids
        and (_same(piece.sentences, hist.distant, span, hits) or msg.over())
    )


def _accepted(rule: _Rule, span: Span, piece: _Piece, hits: Hits, message: frozenset[int], lex: _Lexicon) -> bool:
    grammar = lex.grammar
    if rule.needs_anywhere:
        needs_met = all(group & message for group in rule.needs)
    else:
        needs_met = all(_same(piece.sentences, group, span, hits) for group in rule.needs)
    return (
        needs_met
        and not _same(piece.clauses, rule.unless, span, hits)
        and not rule.unless_message & message
        and not _right_before(rule.unless_before, span, hits, piece.clauses, lex.before if rule.before is None else rule.before)
        and not _negated(piece, span, grammar, lex.negation_reach)
        and not _conditional(piece, span, grammar)
        and not (rule.now and _past(piece, span, grammar))
        and not (rule.signal in lex.hyperbole.signals and _hyperbolic(piece, span, hits, lex.hyperbole))
        and not (rule.signal in lex.speculation.signals and _speculative(piece, span, lex.speculation.words))
    )


def _rule_matches(piece: _Piece, hits: Hits, msg: _Message, lex: _Lexicon) -> Iterator[tuple[str, str]]:
    """(signal, quote) for each rule that fires; only rules whose first slot occurs are tried.
    A match that is history (see _historic) yields the urgent history signal instead, and only
    when no other span of the same rule is current."""
    candidates = sorted({r for pid in hits for r in lex.rules_by_first.get(pid, ())})
    demote = lex.history.demote
    for rule in (lex.rules[r] for r in candidates):
        past = None
        for span in _chains(rule, hits, piece.clauses):
            if not _accepted(rule, span, piece, hits, msg.pids, lex):
                continue
            if rule.signal in demote and _historic(piece, span, hits, msg, lex):
                past = past or (demote[rule.signal], piece.quote(span))
                continue
            yield rule.signal, piece.quote(span)
            break
        else:
            if past:
                yield past


def _any_fires(rules: Sequence[_Rule], msg: _Message, lex: _Lexicon) -> bool:
    return any(
        _accepted(rule, span, piece, hits, msg.pids, lex)
        for piece, hits in zip(msg.pieces, msg.hits)
        for rule in rules
        for span in _chains(rule, hits, piece.clauses)
    )


# --------------------------------------------------------------------------------------------
# Amounts of money (所持金が数百円)
# --------------------------------------------------------------------------------------------

_AMOUNT = re.compile(r"([0-9.,〇零一二三四五六七八九十百千万数]+|ゼロ)\s*(?:円|えん)")
_KANJI_DIGIT = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "数": "5"}
_SMALL_UNIT = {"十": 10, "百": 100, "千": 1000}
_SENTENCE_CHARS = re.compile(f"[{_SENTENCE_ENDS}]")
_AMOUNT_REACH = 12  # characters searched for an anchor word around an amount


def _yen(number: str) -> int | None:
    """'300', '3,000', '1.5万', '三百', '1万2千', '数百' (≈500) → yen; None if unreadable."""
    if number == "ゼロ":
        return 0
    total, section, digits = 0.0, 0.0, ""
    try:
        for ch in number.replace(",", ""):
            if ch in _SMALL_UNIT:
                section += float(digits or 1) * _SMALL_UNIT[ch]
                digits = ""
            elif ch == "万":
                total += (section + float(digits or (0 if section else 1))) * 10_000
                section, digits = 0.0, ""
            else:
                digits += _KANJI_DIGIT.get(ch, ch)
        return int(total + section + float(digits or 0))
    except ValueError:
        return None


def _amount_matches(text: str, rule: _AmountRule) -> Iterator[str]:
    """Small amounts next to an anchor: 財布に200円しかない, 所持金 三百円 (not 時給900円しかない)."""
    for m in _AMOUNT.finditer(text):
        value = _yen(m.group(1))
        if value is None or value > rule.max_yen:
            continue
        head = _SENTENCE_CHARS.split(text[max(0, m.start() - _AMOUNT_REACH) : m.start()])[-1]
        tail = text[m.end() : m.end() + _AMOUNT_REACH].lstrip()
        coin = tail.startswith("玉")  # 500円玉 is a coin: all one has only if said so (2枚だけ)
        anchor = None if coin else next((w for w in rule.before if w in head), None)
        after = next((w for w in rule.after if (w in tail if coin else tail.startswith(w))), None)
        if not (anchor or after) or any(word in head for word in rule.unless_before):
            continue
        if anchor:
            yield text[text.rfind(anchor, 0, m.start()) : m.end()]
        elif after:
            yield m.group(0) + after


# --------------------------------------------------------------------------------------------
# Assessment
# --------------------------------------------------------------------------------------------


def _assess(text: str) -> Assessment:
    lex = _lexicon()
    pieces = [_analyse(piece, lex.grammar) for piece in _pieces(text, lex.rewrite)]
    hits = [lex.table.hits(piece) for piece in pieces]
    message = frozenset(pid for found in hits for pid in found)
    msg = _Message(pieces, hits, message, functools.cache(lambda: _any_fires(lex.history.over, msg, lex)))
    found: list[tuple[str, str]] = []
    for piece, piece_hits in zip(pieces, hits):
        found.extend(_rule_matches(piece, piece_hits, msg, lex))
        found.extend((rule.signal, quote) for rule in lex.amounts for quote in _amount_matches(piece.text, rule))
    return _assessment(found, lex.levels)


def _assessment(found: Iterable[tuple[str, str]], levels: Mapping[str, str]) -> Assessment:
    found = list(found)
    if not found:
        return NOTHING
    signals = frozenset(signal for signal, _ in found)
    level = max((levels[s] for s in signals), key=_RANK.__getitem__)
    return Assessment(level, signals, tuple(dict.fromkeys(quote for _, quote in found)))


def _fallback(text: Any) -> Assessment:
    """Plain substring matching of the lexicon's simple phrases, for when the engine fails."""
    try:
        lex = _lexicon()
        flat = lex.rewrite(normalize(_coerce(text)))
        return _assessment(((signal, p) for p, signal in lex.fallback if p in flat), lex.levels)
    except Exception:
        log.exception("crisis fallback failed too")
        return NOTHING


# --------------------------------------------------------------------------------------------
# Lexicon loading
# --------------------------------------------------------------------------------------------

_RULE_KEYS = frozenset(
    {"any", "seq", "combine", "amount", "exact", "gap", "with", "scope", "unless", "unless_message", "unless_before",
     "before", "now"}
)


def _scope(spec: Mapping[str, Any]) -> str:
    scope = spec.get("scope", "sentence")
    if scope not in ("sentence", "message"):
        raise ValueError(f"crisis lexicon: scope must be sentence or message, not {scope!r}")
    return scope


def _as_list(item: Any) -> list[Any]:
    return list(item) if isinstance(item, (list, tuple)) else [item]


def _combine(parts: Sequence[Sequence[str]]) -> list[str]:
    return ["".join(map(str, p)) for p in itertools.product(*parts)]


def _words(items: Iterable[Any] | None) -> frozenset[str]:
    return frozenset(str(w).casefold() for w in items or ())


def _rewriter(variants: Mapping[str, str]) -> Callable[[str], str]:
    """One pass, longest key first, so a protected word (タヒチ) beats its prefix (タヒ); letters
    match in any case (Shinitai, SHINITAI)."""
    if not variants:
        return lambda text: text
    table = {normalize(k).casefold(): v for k, v in variants.items()}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)), re.IGNORECASE)
    return lambda text: pattern.sub(lambda m: table[m.group(0).casefold()], text)


def _inflected(text: str, last: _Token) -> bool:
    """Does the phrase end in a conjugated form (死のう, 出ていけ, 死んだ)? Then its tense or mood
    is the point, and matching every form of its dictionary word (死ぬ) would be far too broad:
    such phrases match on readings only. 死にたい ends in たい, so 死にたかった still matches."""
    return text[last.begin : last.end].casefold() not in last.keys


def _simple_phrases(spec: Any) -> list[str]:
    """Phrases that mean a crisis on their own (no slots, no conditions): the fallback list."""
    if isinstance(spec, str):
        return [normalize(spec)]
    if set(spec) <= {"any", "exact"}:
        return [normalize(str(p)) for p in spec["any"] if not str(p).startswith("@")]
    return []


class _Compiler:
    """Turns the YAML into phrase ids and rules; every phrase is tokenised once, here."""

    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw
        self.settings = raw.get("settings") or {}
        negation = raw.get("negation") or {}
        tense = raw.get("tense") or {}
        self.grammar = _Grammar(
            break_on=_words((raw.get("clauses") or {}).get("break_on")),
            negators=_words(negation.get("negators")),
            bridge=_words(negation.get("bridge")),
            only=_words(negation.get("only")),
            obligation=_words(negation.get("obligation")),
            obligation_heads=_words(negation.get("obligation_heads")),
            rhetorical=_words(negation.get("rhetorical")),
            conditional=_words(negation.get("conditional")),
            past=_words(tense.get("past")),
            polite=_words(tense.get("polite")),
        )
        self.rewrite = _rewriter(raw.get("variants") or {})
        self.phrases: list[_Phrase] = []
        self.ids: dict[tuple[str, bool], int] = {}
        self.contexts: dict[str, frozenset[int]] = {}

    def phrase(self, text: str, exact: bool) -> int:
        """Register a phrase. A leading ~ marks a fragment that only tokenises right after a
        number (~年前, ~日後): it is analysed as 1年前 and the 1 is dropped."""
        key = (str(text), exact)
        if key not in self.ids:
            body = self.rewrite(normalize(str(text)))
            fragment = body.startswith("~")
            piece = _analyse("1" + body[1:] if fragment else body, self.grammar)
            tokens = piece.tokens[1:] if fragment else piece.tokens
            reading = "".join(t.reading for t in tokens)
            if not reading.strip(_BLOCK):
                raise ValueError(f"crisis lexicon: phrase {text!r} has no reading")
            lemmas = tuple(t.keys for t in tokens)
            self.ids[key] = len(self.phrases)
            self.phrases.append(_Phrase(reading, lemmas, exact or _inflected(piece.text, tokens[-1])))
        return self.ids[key]

    def resolve(self, items: Iterable[Any] | None, exact: bool = False) -> frozenset[int]:
        """Phrase ids of a list of phrases and @contexts."""
        ids: set = set()
        for item in map(str, items or ()):
            ids |= self.context(item[1:]) if item.startswith("@") else {self.phrase(item, exact)}
        return frozenset(ids)

    def context_spec(self, name: str) -> Any:
        spec = (self.raw.get("contexts") or {}).get(name)
        if spec is None:
            raise ValueError(f"crisis lexicon: unknown context @{name}")
        return spec

    def context(self, name: str) -> frozenset[int]:
        if name not in self.contexts:
            spec = self.context_spec(name)
            if isinstance(spec, Mapping):
                self.contexts[name] = self.resolve(_combine(spec["combine"]), bool(spec.get("exact")))
            else:
                self.contexts[name] = self.resolve(spec)
        return self.contexts[name]

    def texts(self, items: Iterable[Any] | None) -> list[str]:
        """Plain words, @contexts expanded: amount anchors are compared as text, not tokens."""
        out: list[str] = []
        for item in map(str, items or ()):
            out.extend(self.texts(self.context_spec(item[1:])) if item.startswith("@") else [normalize(item)])
        return out

    def rule(self, signal: str, spec: Any, signal_unless: list[Any]):
        spec = {"any": [spec]} if isinstance(spec, str) else dict(spec)
        unknown = set(spec) - _RULE_KEYS
        if unknown:
            raise ValueError(f"crisis lexicon: unknown keys {sorted(unknown)} in a {signal} rule")
        if "amount" in spec:
            return self.amount(signal, spec["amount"])
        exact = bool(spec.get("exact"))
        if "seq" in spec:
            slots = tuple(self.resolve(_as_list(slot), exact) for slot in spec["seq"])
        elif "combine" in spec:
            slots = (self.resolve(_combine(spec["combine"]), exact),)
        else:
            slots = (self.resolve(spec["any"], exact),)
        return _Rule(
            signal=signal,
            slots=slots,
            gap=int(spec.get("gap", self.settings.get("gap", 3))),
            needs=tuple(self.resolve(_as_list(item)) for item in spec.get("with") or ()),
            needs_anywhere=_scope(spec) == "message",
            unless=self.resolve(list(spec.get("unless") or ()) + signal_unless),
            unless_message=self.resolve(spec.get("unless_message")),
            unless_before=self.resolve(spec.get("unless_before")),
            now=bool(spec.get("now")),
            before=int(spec["before"]) if "before" in spec else None,
        )

    def amount(self, signal: str, spec: Mapping[str, Any]) -> _AmountRule:
        return _AmountRule(
            signal,
            int(spec["max_yen"]),
            tuple(self.texts(spec.get("before"))),
            tuple(self.texts(spec.get("after"))),
            tuple(self.texts(spec.get("unless_before"))),
        )

    def hyperbole(self) -> _Hyperbole:
        spec = self.raw.get("hyperbole") or {}
        return _Hyperbole(
            signals=frozenset(spec.get("signals") or ()),
            intensifiers=_words(spec.get("intensifiers")),
            reach=int(spec.get("reach", 3)),
            harmless=self.resolve(spec.get("harmless")),
            before=self.resolve(spec.get("before")),
            reach_before=int(spec.get("reach_before", 2)),
        )

    def history(self, levels: Mapping[str, str]) -> _History:
        spec = self.raw.get("history") or {}
        demote = {str(k): str(v) for k, v in (spec.get("demote") or {}).items()}
        for source, target in demote.items():
            if levels.get(source) is None or levels.get(target) != URGENT:
                raise ValueError(f"crisis lexicon: history demotes {source} to {target}, an urgent signal")
        return _History(
            demote=demote,
            reach=int(spec.get("reach", 8)),
            distant=self.resolve(spec.get("distant")),
            recent=self.resolve(spec.get("recent")),
            over=tuple(self.rule("_over", item, []) for item in spec.get("over") or ()),
        )

    def speculation(self) -> _Speculation:
        spec = self.raw.get("speculation") or {}
        return _Speculation(frozenset(spec.get("signals") or ()), _words(spec.get("words")))

    def compile(self) -> _Lexicon:
        rules: list[_Rule] = []
        amounts: list[_AmountRule] = []
        levels: dict[str, str] = {}
        fallback: list[tuple[str, str]] = []
        for signal, spec in (self.raw.get("signals") or {}).items():
            level = spec.get("level")
            if level not in (EMERGENCY, URGENT):
                raise ValueError(f"crisis lexicon: {signal} has level {level!r}")
            levels[signal] = level
            for rule_spec in spec.get("rules") or ():
                rule = self.rule(signal, rule_spec, list(spec.get("unless") or ()))
                (amounts if isinstance(rule, _AmountRule) else rules).append(rule)
                fallback.extend((p, signal) for p in _simple_phrases(rule_spec))
        # register these phrases before the table is built
        hyperbole, speculation, history = self.hyperbole(), self.speculation(), self.history(levels)
        by_first: dict[int, list[int]] = defaultdict(list)
        for index, rule in enumerate(rules):
            for pid in rule.slots[0]:
                by_first[pid].append(index)
        return _Lexicon(
            grammar=self.grammar,
            rewrite=self.rewrite,
            table=_PhraseTable.build(self.phrases),
            rules=tuple(rules),
            rules_by_first={pid: tuple(ids) for pid, ids in by_first.items()},
            amounts=tuple(amounts),
            levels=levels,
            hyperbole=hyperbole,
            speculation=speculation,
            history=history,
            before=int(self.settings.get("before", 3)),
            negation_reach=int(self.settings.get("negation_reach", 10)),
            fallback=tuple(fallback),
        )


def load_lexicon(path: Path = LEXICON_PATH) -> _Lexicon:
    """Parse and compile a lexicon file; raises ValueError on a malformed entry (the tests call
    this, so that a bad edit fails CI instead of silently weakening detection)."""
    with open(path, encoding="utf-8") as fh:
        return _Compiler(yaml.safe_load(fh) or {}).compile()


@functools.lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    return load_lexicon()
