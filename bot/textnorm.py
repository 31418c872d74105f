"""Normalisation of residents' Japanese before matching.

Residents type full-width digits, half-width kana, odd spaces and control characters. Matching
code (numbers, lexicons, crisis detection) works on the normalised text; NLU offsets always refer
to the original text, so :func:`normalize_with_offsets` keeps a map back to it.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Dict, List, Tuple

import jaconv

#: Characters that carry no meaning for us: C0/C1 controls (except newline/tab), zero-width
#: characters, BOM and the Unicode replacement character left by broken encodings.
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufffd]")
_SPACES = re.compile(r"\s+")
#: Long-vowel marks and tildes residents type in place of each other (〜 ～ ー ｰ).
_WAVE = str.maketrans({"〜": "~", "～": "~"})


def clean(text: str) -> str:
    """Remove invisible/control characters and collapse whitespace; keeps length semantics loose."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", text or "")).strip()


def _fold_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).translate(_WAVE)


#: Memo of :func:`_fold_unit`; residents reuse a few thousand characters, so it stays small.
_UNIT_MEMO: Dict[str, str] = {}
_MEMO_LIMIT = 8192
_VOICED_MARKS = "\uff9e\uff9f"  # half-width (semi-)voiced marks, folded with the kana before them


def _fold_unit(unit: str) -> str:
    """What one source unit becomes: "" when invisible, " " when blank, else its NFKC form."""
    folded = _UNIT_MEMO.get(unit)
    if folded is None:
        folded = "" if _INVISIBLE.match(unit[0]) else _fold_char(unit)
        folded = " " if folded.isspace() else folded
        if len(_UNIT_MEMO) < _MEMO_LIMIT:
            _UNIT_MEMO[unit] = folded
    return folded


def normalize(text: str) -> str:
    """NFKC (width), remove invisible characters, collapse whitespace, unify wave dashes."""
    return normalize_with_offsets(text)[0]


def normalize_with_offsets(text: str) -> Tuple[str, List[int]]:
    """Normalise ``text`` and return ``(normalised, starts)`` where ``starts[i]`` is the index in
    the original text of the character that produced ``normalised[i]`` (for a collapsed run of
    whitespace, its first character); ``starts`` has one extra entry equal to ``len(text)`` so
    that an end offset maps too.

    NFKC is applied per grapheme-ish unit: a half-width kana followed by a half-width (semi-)voiced
    mark is folded together (ﾊﾟ -> パ), which is the only length change residents produce in practice.
    """
    text = text or ""
    n = len(text)
    if _is_plain(text):  # already normal: the common case, and cheap even for very long input
        return text, list(range(n + 1))
    out: List[str] = []
    starts: List[int] = []
    space_at = -1  # index of the first blank of a pending whitespace run
    i = 0
    while i < n:
        step = 2 if i + 1 < n and text[i + 1] in _VOICED_MARKS else 1
        folded = _fold_unit(text[i : i + step])
        if folded == " ":
            if space_at < 0 and out:
                space_at = i
        elif folded:
            if space_at >= 0:
                out.append(" ")
                starts.append(space_at)
                space_at = -1
            out.append(folded)
            starts.extend([i] * len(folded))
        i += step
    starts.append(n)
    return "".join(out), starts


def _is_plain(text: str) -> bool:
    """True when normalising would not change ``text`` at all."""
    return (
        unicodedata.is_normalized("NFKC", text)
        and not _INVISIBLE.search(text)
        and not _NOT_PLAIN.search(text)
    )


#: Whitespace other than single inner spaces, and the wave dashes that :data:`_WAVE` rewrites.
_NOT_PLAIN = re.compile(r"^\s|\s$|[^\S ]|  |[〜\u301c]")


def to_hiragana(text: str) -> str:
    """Katakana to hiragana, for matching words that residents write either way (シゴト/しごと)."""
    return jaconv.kata2hira(text)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def fold(text: str) -> str:
    """Normalise, katakana to hiragana and ASCII to lower case, so that lexicons need one spelling
    per word (シゴト/しごと, DV/dv). Same length as :func:`normalize`, so its offsets still apply."""
    return fold_with_offsets(text)[0]


def fold_with_offsets(text: str) -> Tuple[str, List[int]]:
    """:func:`fold` with the offset map of :func:`normalize_with_offsets`."""
    normalised, starts = normalize_with_offsets(text)
    folded = _ascii_lower(to_hiragana(normalised))
    if len(folded) != len(normalised):  # a table mapping one character to two; keep offsets exact
        folded = "".join(_ascii_lower(to_hiragana(ch))[:1] or ch for ch in normalised)
    return folded, starts


def original_span(text: str, starts: List[int], begin: int, end: int) -> Tuple[int, int]:
    """Map the half-open span ``[begin, end)`` of the normalised text back to ``text``; the end
    covers the whole source unit of the last character (ﾊﾟ is two source characters)."""
    first = starts[begin]
    last = starts[end - 1]
    width = 2 if last + 1 < len(text) and text[last + 1] in "\uff9e\uff9f" else 1
    return first, last + width
