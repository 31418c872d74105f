"""Japanese quantities in residents' messages: ages, yen, months and persons.

Residents write 「46歳」「四十六歳」「４６才」「よんじゅうろくさい」, 「月12万」「十二万円」「120,000円」,
「1年5か月」「半年」 and 「子ども二人」「ふたり」. Each has exactly one right integer, so this is rule
based: a statistical tagger would need far more data and would still miss numerals it never saw.

Spans follow ``docs/nlu-guidelines.md`` exactly (number + unit, no 月/手取り before, no くらい after)
because NLU entity F1 is measured against annotations made with the same rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import List, Optional, Pattern, Sequence, Tuple, Union

from .textnorm import fold, fold_with_offsets, original_span

Number = Union[int, Fraction]

AGE, AMOUNT, DURATION, COUNT = "age", "amount", "duration", "count"
KINDS = (AGE, AMOUNT, DURATION, COUNT)


@dataclass(frozen=True)
class Quantity:
    """One quantity; ``start``/``end`` index the text given to :func:`find_quantities`."""

    kind: str
    value: int
    start: int
    end: int
    text: str


# --------------------------------------------------------------------------- numerals

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "壱": 1, "二": 2, "弐": 2, "三": 3, "参": 3, "四": 4,
                 "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10 ** 4, "億": 10 ** 8}
_BIG = 10 ** 4
#: Kana numerals: value, and whether the token is a unit (十, 百…) rather than a digit.
_KANA = {
    "ぜろ": (0, False), "いち": (1, False), "いっ": (1, False), "に": (2, False), "さん": (3, False),
    "よん": (4, False), "ご": (5, False), "ろく": (6, False), "ろっ": (6, False), "なな": (7, False),
    "しち": (7, False), "はち": (8, False), "はっ": (8, False), "きゅう": (9, False),
    "じゅう": (10, True), "じゅっ": (10, True), "じっ": (10, True), "ひゃく": (100, True),
    "びゃく": (100, True), "ぴゃく": (100, True), "せん": (1000, True), "ぜん": (1000, True),
    "まん": (10 ** 4, True),
}
#: Sokuon forms only exist before a unit (いっさい, はっぴゃく): never at the end of a bare numeral.
_SOKUON = frozenset(k for k in _KANA if k.endswith("っ"))
#: Whole-word counts that are not numeral + counter.
_COUNT_WORDS = {"ひとり": 1, "ふたり": 2, "よにん": 4}

_KANA_ALT = "|".join(sorted(_KANA, key=len, reverse=True))
_TOKEN = (
    r"(?P<dec>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"|(?P<kd>[〇零一壱二弐三参四五六七八九]+)"
    r"|(?P<unit>[十百千万億])"
    rf"|(?P<kana>{_KANA_ALT})"
)


@lru_cache(maxsize=4096)
def _tokens(s: str) -> Optional[Tuple[Tuple[Number, bool, str], ...]]:
    """``(value, is_unit, source)`` tokens covering all of ``s``, or None."""
    out: List[Tuple[Number, bool, str]] = []
    pos = 0
    while pos < len(s):
        m = _re(_TOKEN).match(s, pos)
        if not m:
            return None
        tok = m.group()
        if m.lastgroup == "dec":
            digits = tok.replace(",", "")
            out.append((Fraction(digits) if "." in digits else int(digits), False, tok))
        elif m.lastgroup == "kd":
            out.append((int("".join(str(_KANJI_DIGITS[c]) for c in tok)), False, tok))
        elif m.lastgroup == "unit":
            out.append((_UNITS[tok], True, tok))
        else:
            value, is_unit = _KANA[tok]
            out.append((value, is_unit, tok))
        pos = m.end()
    return tuple(out)


def _compose(tokens: Sequence[Tuple[Number, bool, str]], sokuon_end: bool) -> Optional[Number]:
    """Combine digit and unit tokens the Japanese way: 十二万五千 = (10+2)*10^4 + 5*1000."""
    total: Number = 0
    section: Number = 0
    current: Optional[Number] = None
    last_small = last_big = 10 ** 12
    for i, (value, is_unit, src) in enumerate(tokens):
        following_unit = i + 1 < len(tokens) and tokens[i + 1][1]
        if src in _SOKUON and not (following_unit or (sokuon_end and i == len(tokens) - 1)):
            return None
        if not is_unit:
            if current is not None:
                return None
            current = value
        elif value < _BIG:
            if value >= last_small:
                return None
            section += (1 if current is None else current) * value
            current, last_small = None, value
        else:
            if value >= last_big or (current is None and section == 0):
                return None  # 万 with nothing before it (万一, 万が一) is not a number
            total += (section + (current or 0)) * value
            section, current, last_small, last_big = 0, None, 10 ** 12, value
    return total + section + (current or 0)


@lru_cache(maxsize=4096)
def _numeral(s: str, sokuon_end: bool = False) -> Optional[Number]:
    """The value of a numeral (an int, or a Fraction for 1.5万 until it is multiplied out)."""
    tokens = _tokens(s)
    return _compose(tokens, sokuon_end) if tokens else None


def _whole(value: Optional[Number]) -> Optional[int]:
    """``value`` as an int when it is a whole number."""
    if value is None or (isinstance(value, Fraction) and value.denominator != 1):
        return None
    return int(value)


def parse_number(s: str) -> Optional[int]:
    """The integer written by a bare numeral (「46」「四十六」「12万5千」「120,000」「1.5万」「ゼロ」
    「よんじゅうろく」「ふたり」), or None when ``s`` is not exactly one whole number."""
    if not isinstance(s, str):
        return None
    text = fold(s).replace(" ", "")
    if text in _COUNT_WORDS:
        return _COUNT_WORDS[text]
    if len(text) > 40:
        return None
    return _whole(_numeral(text))


# --------------------------------------------------------------------------- patterns

_NUM_CHARS = "0-9〇零一壱二弐三参四五六七八九十百千万億"
#: A digit/kanji numeral; the lookahead keeps the regex from backtracking into a shorter number.
_RUN = f"[{_NUM_CHARS}](?:[{_NUM_CHARS},.]*[{_NUM_CHARS}])?(?![{_NUM_CHARS}])"
_KRUN = f"(?:{_KANA_ALT})+"
_MAX_RUN = 24
#: A kana unit (さい, にん, ねん, まん, えん) ends a word only before these: keeps さいきん (最近),
#: にんげん (人間), まんぞく (満足) and ございます from reading as numbers.
_KANA_END = (r"(?=$|[^ぁ-ゖ]|です|でし|で|だ|に|の|と|や|か|よ|ね|な|は|が|も|を|じゃ|ぐらい|くらい"
             r"|ほど|まで|から|って|ずつ|い|お|ちょ)")
#: 年 followed by these is a calendar or school word (2年生, 年度, 年金, 年収), not a duration.
_KANJI_YEAR = "年(?![生度金収齢代末始上下配寄号制頃賀俸長少輩越])"
_KANJI_MONTHS = "(?:か|ヶ|ゖ|ケ|け|ゕ|ヵ|箇)(?:月|げつ)"


def _duration_pattern(num: str, year: str, months: str, half: str, span: str, sp: str) -> str:
    """Years (+ months or 半) or months (+ 半), optionally followed by 間."""
    return (
        rf"(?P<y>{num}){sp}{year}(?:(?P<yh>{half})|と?(?P<ym>{num}){sp}{months}(?P<ymh>{half})?)?(?:{span})?"
        rf"|(?P<m>{num}){sp}{months}(?P<mh>{half})?(?:{span})?"
    )


def _plain_family() -> List[Tuple[str, str]]:
    """Digit and kanji numerals take kanji and kana units (46歳, 46さい, 8まん)."""
    n = f"(?P<n>{_RUN})"
    kana_units = _kana_family(n)
    return [
        (DURATION, _duration_pattern(_RUN, f"(?:{_KANJI_YEAR}|ねん{_KANA_END})",
                                     f"(?:{_KANJI_MONTHS}|かげつ)", "半|はん", "間|かん", " ?")
         + rf"|(?P<w>{_RUN}) ?(?:週間|しゅうかん)|(?P<d>{_RUN}) ?日(?![本曜目付替])(?:間)?"),
        (AGE, rf"{n} ?(?:歳|才)"),
        (COUNT, rf"{n} ?(?:人|名)"),
        (AMOUNT, rf"{n}(?: ?(?P<yen>円)|(?![人名歳才年日週回件個枚本台時分秒点番度階号倍歩部冊匹頭%]))"),
    ] + kana_units[1:]


def _kana_family(n: str) -> List[Tuple[str, str]]:
    """Kana numerals only take kana units, so that a particle never counts: 「会社に人がいない」."""
    return [
        (DURATION, _duration_pattern(_KRUN, f"ねん{_KANA_END}", "かげつ", "はん", "かん", "") + _KANA_END),
        (AGE, rf"{n} ?さい{_KANA_END}"),
        (COUNT, rf"{n} ?にん{_KANA_END}"),
        (AMOUNT, rf"{n} ?(?P<man>まん)?(?P<yen>えん|円)?{_KANA_END}"),
    ]


@lru_cache(maxsize=None)
def _re(source: str) -> Pattern[str]:
    """Patterns are compiled on first use, never at import time."""
    return re.compile(source)


@lru_cache(maxsize=1)
def _patterns() -> Tuple[Pattern[str], List[Tuple[str, Pattern[str]]], List[Tuple[str, Pattern[str]]]]:
    """Compiled on first use, never at import time."""
    candidate = re.compile(rf"¥ ?{_RUN}|半年|半月|はんとし|ひとり|ふたり|よにん|(?P<k>{_KRUN})|{_RUN}")
    plain = [(kind, re.compile(rx)) for kind, rx in _plain_family()]
    kana = [(kind, re.compile(rx)) for kind, rx in _kana_family(f"(?P<n>{_KRUN})")]
    return candidate, plain, kana


def _group(m: "re.Match[str]", name: str) -> Optional[str]:
    return m.groupdict().get(name)


# --------------------------------------------------------------------------- validation

#: Counters glued to these are household words or other nouns, not a number of persons.
_COUNT_NOT = (r"暮らし|暮し|ぐらし|くらし|住まい|ずまい|目|め(?!っちゃ|ちゃ)|間|生|材|気|形|工|事|権|格|柄|称|前")
_NAME_NOT = (r"前|字|古屋|刺|簿|義|所|物|乗|詞|産|門|曲|作|案|誉|残|高")
#: 一人/ひとり followed by these means "alone" or is a compound (ひとり親, 一人っ子, 一人で).
_ONE_NOT = (r"親|おや|っ子|っこ|ぼっち|言|ごと|者|もの|身|旅|たび|立ち|だち|きり|占め|じめ|ひとり|一人|で(?!す|し)|にな|に(?:し|さ|す)")
#: After a number of days: a rate per day (一日二食, 1日3時間, 一日500円) or 一日中, not a span of days.
_PER_DAY = rf"(?:中|じゅう|(?:{_RUN}|[何数])(?:時間|じかん|食|しょく|回|かい|件|本|杯|円|万))"
#: 「娘と」, and Tohoku 「娘ど」 after a kanji noun (not けど, など): "with her", before a count.
_TOGETHER_BEFORE = r"(?:と|(?<=[一-龥])ど)$"
#: Before a number of days or weeks: a date (3月) or a rate (週, 週に, 月に, 週休, 週に二、).
_RATE_BEFORE = rf"[月週](?:に|休)? ?(?:{_RUN} ?[、・,〜~-])?$"
_YEAR_ERA = (r"(?:令和|平成|昭和|大正|西暦|高校|中学|小学|大学|[高中小第])$")


def _count_ok(text: str, start: int, end: int, value: int, unit: str) -> bool:
    rest = text[end:end + 5].lstrip(" ")  # 「ひとり で」 in spaced-out kana is still 一人で
    if _re(_NAME_NOT if unit == "名" else _COUNT_NOT).match(rest):
        return False
    if _re(_TOGETHER_BEFORE).search(text, max(0, start - 2), start) and not rest.startswith("の"):
        return False  # 「主人と二人で」「娘と二人です」: the two of us (like 二人暮らし); 「夫と2人の子ども」 counts
    return not (value == 1 and _re(_ONE_NOT).match(rest))


def _duration_value(m: "re.Match[str]", text: str, start: int) -> Optional[int]:
    """Whole months of a duration match; weeks and days are 0. None for calendar years (2020年,
    令和2年) and school years (高校2年)."""
    g = m.groupdict()
    if g.get("y"):
        years = _numeral(g["y"], sokuon_end=True)
        months = _numeral(g["ym"], sokuon_end=True) if g.get("ym") else 0
        if years is None or months is None or years >= 200 or _re(_YEAR_ERA).search(text[max(0, start - 2):start]):
            return None
        return int(years * 12 + months + (6 if g.get("yh") else 0))
    if g.get("m"):
        months = _numeral(g["m"], sokuon_end=True)
        return None if months is None or months > 2400 else int(months)
    numeral = g.get("w") or g.get("d")
    if numeral is None or _re(_RATE_BEFORE).search(text, max(0, start - 12), start):
        return None  # 3月10日 is a date; 週3日, 週に2日, 週休二日, 週に二、三日 a rate
    if g.get("d") and _re(_PER_DAY).match(text, m.end()):
        return None  # 一日二食, 1日3時間, 一日中: how often, not how long
    return 0 if _numeral(numeral) is not None else None


def _amount_value(m: "re.Match[str]", kana: bool) -> Optional[int]:
    numeral = _group(m, "n") or ""
    value = _numeral(numeral)
    if value is None:
        return None
    yen, man = _group(m, "yen"), _group(m, "man")
    if man:
        value *= 10 ** 4
    elif not yen:
        multiplied = any(u in numeral for u in ("万", "億", "まん")) or (numeral[-1:] == "千" and len(numeral) > 1)
        if not multiplied:
            return None  # a bare 3000 or 千葉 has no money unit
    elif kana and value < 100 and value != 0:
        return None  # ごえん (ご縁) is not 5 yen
    return _whole(value)


def _value(kind: str, m: "re.Match[str]", text: str, start: int, kana: bool) -> Optional[int]:
    if kind == DURATION:
        return _duration_value(m, text, start)
    if kind == AMOUNT:
        return _amount_value(m, kana)
    numeral = _group(m, "n") or ""
    if kind == AGE and numeral in ("いっ", "じっ"):
        return None  # いっさい / じっさい are 一切 and 実際
    value = _whole(_numeral(numeral, sokuon_end=True))
    if value is None:
        return None
    if kind == AGE:
        return int(value) if value <= 130 else None
    unit = text[m.end() - 1]
    return int(value) if value > 0 and _count_ok(text, start, m.end(), int(value), unit) else None


# --------------------------------------------------------------------------- scanning

_Found = Tuple[str, int, int, int]  # kind, value, start, end (indices of the folded text)


def _count_word(word: str, text: str, start: int) -> Optional[_Found]:
    """ひとり/ふたり/よにん, unless part of ひとり親, ひとり暮らし, ひとりで…"""
    end = start + len(word)
    value = _COUNT_WORDS[word]
    ok = _count_ok(text, start, end, value, "人") and _re(_KANA_END).match(text[end:end + 4])
    return (COUNT, value, start, end) if ok else None


def _half(word: str, text: str, start: int) -> Optional[_Found]:
    """半年 (6 months, 半年間 included) and 半月 (0 whole months; not 半月板, 半月型)."""
    end = start + len(word)
    if word == "半月":
        return None if text[end:end + 1] in ("板", "型", "形", "刊") else (DURATION, 0, start, end)
    tail = _re("(?:間|かん)").match(text, end)
    return DURATION, 6, start, tail.end() if tail else end


def _match_at(text: str, pos: int, family: List[Tuple[str, Pattern[str]]], kana: bool) -> Optional[_Found]:
    for kind, pattern in family:
        m = pattern.match(text, pos)
        if m:
            value = _value(kind, m, text, pos, kana)
            if value is not None:
                return kind, value, pos, m.end()
    return None


def _yen_prefixed(text: str, m: "re.Match[str]") -> Optional[_Found]:
    digits = m.group().lstrip("¥ ")
    value = _whole(_numeral(digits))
    return None if value is None else (AMOUNT, value, m.start(), m.end())


def _scan_candidate(text: str, m: "re.Match[str]") -> Optional[_Found]:
    word = m.group()
    if len(word) > _MAX_RUN:
        return None
    if word.startswith("¥"):
        return _yen_prefixed(text, m)
    if word in _COUNT_WORDS:
        return _count_word(word, text, m.start())
    if word in ("半年", "半月", "はんとし"):
        return _half(word, text, m.start())
    _, plain, kana = _patterns()
    if m.group("k") is None:
        return _match_at(text, m.start(), plain, False)
    for pos in range(m.start(), m.end()):  # a particle may precede the numeral: はにじゅうさい
        found = _match_at(text, pos, kana, True)
        if found:
            return found
    return None


def scan(folded: str) -> List[_Found]:
    """Quantities of already folded text (:func:`bot.textnorm.fold`), as ``(kind, value, start,
    end)`` in its own indices; the extraction layer uses this to avoid folding twice."""
    candidate = _patterns()[0]
    found: List[_Found] = []
    resume = 0
    for m in candidate.finditer(folded):
        if m.start() < resume:
            continue
        hit = _scan_candidate(folded, m)
        if hit:
            found.append(hit)
            resume = hit[3]
    return found


def find_quantities(text: str) -> List[Quantity]:
    """Every age, amount (yen), duration (whole months) and count (persons) in ``text``, in order,
    with offsets into ``text`` itself."""
    if not isinstance(text, str) or not text:
        return []
    folded, starts = fold_with_offsets(text)
    out = []
    for kind, value, begin, end in scan(folded):
        a, b = original_span(text, starts, begin, end)
        out.append(Quantity(kind, value, a, b, text[a:b]))
    return out


__all__ = ["Quantity", "find_quantities", "parse_number", "scan", "AGE", "AMOUNT", "DURATION", "COUNT", "KINDS"]
