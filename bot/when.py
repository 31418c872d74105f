"""What a resident means by a Japanese reply to an appointment offer (「明日の午後」「土曜は無理」).

:func:`parse_when` turns the reply into a :class:`WhenRequest`, a small description of the wish
that the slot search tests with :func:`matches` and the bot reads back with :func:`describe`
before booking. Everything is relative to a timezone-aware ``now``; local days and times are
Asia/Tokyo. The module is pure: no I/O, no logging of the resident's text.

How the reply is read
---------------------
1. Normalisation: at most :data:`MAX_INPUT` raw characters are looked at; HTML tags are dropped;
   NFKC width folding, katakana to hiragana (:func:`bot.textnorm.fold`); common hiragana spellings
   become kanji (あしたのごご → 明日の午後, らいしゅうのかようび → 来週の火曜日, じゅうじはん →
   10時半, みっか → 3日); kanji numerals before 月/日/時/分 become digits (十二月三日 → 12月3日).
   Only the first :data:`MAX_CHARS` normalised characters are parsed, so huge input is cheap.
2. ja-timex (``TimexParser``, built lazily once) finds dates, weekdays, clock times and relative
   words (明日, 来週, 3日後). Only its raw fields are used: years, weeks and months are resolved
   here, because its own reference handling does not know the rules below.
3. Own lexicons find times of day (午前, 夕方 …), 土日/平日/週末, 「なるべく早く」, 「いつでも」,
   vague words (いつか), exclusion markers (無理, 以外, だめ, 都合が悪い, は仕事 …) and the
   positive markers and punctuation that end an exclusion's reach.

Interpretation rules (what a Japanese speaker means when booking)
-----------------------------------------------------------------
- 「12月3日」「12/3」 without a year: the occurrence nearest to today (previous, this or next
  year). If that nearest occurrence is already past the problem is ``"past"`` (「11月1日」 said on
  11/23; 「12月25日」 said on 12/30), otherwise it is the date (「1月5日」 said on 12/30 is next
  year's). This is "the next such date", except that a date a few days or months ago is taken as a
  past date rather than as one nearly a year ahead, which nobody booking a consultation means.
  A month/day that does not exist in that year (「2月30日」「13月1日」「2月29日」 in 2027) is
  ``"invalid_date"``.
- 「3日」 alone: the next 3rd that is today or later (on 2/25, 「30日」 is 3/30); 「来月の3日」
  and 「12月3日か4日」 take the month said. Ranges: 「3日から5日」「12/28〜1/5」 (the end rolls
  into the next month/year), 「12月10日以降」「来週以降」 (open end), 「12月下旬」 (21st–end;
  上旬 1–10, 中旬 11–20, 前半/後半 1–15/16–end), 「来週の後半」 (Thu–Sun; 頭 Mon–Tue, 前半
  Mon–Wed), 今週末 (Sat–Sun), 月末 (21st–end), 週明け (next Mon–Tue), 年明け (1/1–1/15),
  「1週間後」 (the 7 days from a week today), 「3日後」 (one date).
- A named day that has passed, a window entirely past, or a time today that has passed
  (「今日の10時」 at 23:10) is ``"past"``; 昨日/先週/3日前 alone too. Past parts of a window are cut.
- Weeks run Monday to Sunday: 今週 = today..Sunday, 来週 = next Monday..Sunday, 再来週 the week
  after. 「来週の火曜」 is one date; 「火曜」 alone allows every Tuesday (``weekdays``);
  「次の火曜」「今度の火曜」 are the first Tuesday after today; 「明日か金曜」 is the next Friday.
  土日/週末 = Sat+Sun, 平日 = Mon–Fri, 「月・水・金」 a list, 「月〜金」 a range.
- A bare hour 1–7 (「3時」) is p.m., as in every office appointment; 8–12 as said; 午前/午後/朝/
  夜/夕方/昼 before the hour decide instead (「夕方5時」 = 17:00).
- Times of day (start inclusive, end exclusive; a slot matches when it *starts* inside):
  see :data:`PERIODS` — 朝 5:00–10:00, 午前 5:00–12:00 (the first slot at 8:45 is a morning slot),
  昼 11:00–14:00, 昼過ぎ 12:00–15:00, 午後 12:00–18:00, 夕方 15:00–18:00, 夜 18:00–23:00,
  日中/昼間 8:00–18:00. 「14時ごろ」 is 13:30–14:30.
- Exclusions reach back over the items said since the last punctuation or positive marker:
  「3日と4日は無理」 excludes both; 「来週の月曜以外」 excludes one date; in 「来週は月曜以外」 the
  topic は keeps 来週 as the wish and excludes Monday only; 「明日、明後日は無理」 is a list. A
  reason in between does not end the reach (「土日は子どもがいるので無理」). 「明日以外は無理」
  「明日じゃないと無理」「明日しか空いてない」 mean only 明日. An excluded time of day becomes the
  other side of the day (「午前は無理」 = from 12:00); an excluded exact time is not represented
  (alone, 「10時は無理」 is ``"vague"``). Exclusions of days other than the named ones are dropped
  (「明日じゃなくて明後日」 is just 明後日).
- 「なるべく早く」「一番早いので」「一日も早く」「至急」 set ``asap``; 「いつでも」「何曜日でも」
  「おまかせ」 add nothing (an open request); いつか/そのうち/未定 alone are ``"vague"``.
- Several dates or times are alternatives (「3日か4日の午後」). Phrases that each name a day and
  a time (「金曜の夕方か土曜の朝」「明日の10時か明後日の14時」) become ``alternatives``, each with
  the week said before it (「来週の水曜の午後か、木曜の午前」). Otherwise several times of day are
  joined into one window spanning them, and an exact time wins over a window.
"""
from __future__ import annotations

import calendar
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from bot.textnorm import fold

TZ = ZoneInfo("Asia/Tokyo")
#: Raw characters looked at, and normalised characters parsed: replies to a slot offer are short,
#: and a 10,000-character paste must cost no more than a sentence.
MAX_INPUT = 1000
MAX_CHARS = 200

PAST, INVALID_DATE, VAGUE, UNPARSED = "past", "invalid_date", "vague", "unparsed"
PROBLEMS = (PAST, INVALID_DATE, VAGUE, UNPARSED)
WEEKDAY_NAMES = "月火水木金土日"


@dataclass(frozen=True)
class WhenRequest:
    """A resident's wish about when to come. Empty with ``problem`` None means "any time".

    A local day is wished when it is one of ``dates`` or lies in ``date_from..date_to`` (both
    inclusive, either may be open; ``weekdays`` then restricts the window); with neither, any day
    is, restricted by ``weekdays``. ``excluded_*`` always apply. A slot's start time must be one of
    ``at`` when given, else lie in ``time_from`` (inclusive) .. ``time_to`` (exclusive).
    """

    dates: Tuple[date, ...] = ()
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    #: Allowed weekdays, Monday = 0 (as ``date.weekday()``); empty means all.
    weekdays: Tuple[int, ...] = ()
    excluded_weekdays: Tuple[int, ...] = ()
    excluded_dates: Tuple[date, ...] = ()
    time_from: Optional[time] = None
    time_to: Optional[time] = None
    #: Exact start times named (「10時」「14時半」); usually one.
    at: Tuple[time, ...] = ()
    #: 「なるべく早く」「一番早いので」: offer the earliest matching slots first.
    asap: bool = False
    #: None, or one of :data:`PROBLEMS`: "past" (the named day or time has passed),
    #: "invalid_date" (「2月30日」「13月1日」「25時」), "vague" (「いつか」: a wish without anything
    #: usable), "unparsed" (no date or time content at all).
    problem: Optional[str] = None
    #: Day-and-time phrases said as alternatives (「金曜の夕方か土曜の朝」). When given, a slot must
    #: fit one of them; each carries its own days, times and the exclusions, and the fields above
    #: are empty except ``excluded_*``, ``asap`` and ``problem`` (None).
    alternatives: Tuple["WhenRequest", ...] = ()

    @property
    def is_open(self) -> bool:
        """True for a usable request that constrains nothing (「いつでも」)."""
        return self.problem is None and self == WhenRequest(asap=self.asap)


# --------------------------------------------------------------------------- times of day


@dataclass(frozen=True)
class Period:
    """A time of day: the window it names, what 「〜から」/「〜まで」 with it mean, and whether a
    bare hour said with it is p.m. (None: as said)."""

    label: str
    start: time
    end: time
    after: time
    until: time
    pm: Optional[bool]


def _t(hhmm: str) -> time:
    h, m = hhmm.split(":")
    return time(int(h), int(m))


PERIODS: Dict[str, Period] = {
    p.label: p
    for p in (
        Period("朝", _t("5:00"), _t("10:00"), _t("5:00"), _t("10:00"), False),
        Period("午前", _t("5:00"), _t("12:00"), _t("5:00"), _t("12:00"), False),
        Period("昼前", _t("10:00"), _t("12:00"), _t("10:00"), _t("12:00"), False),
        Period("昼", _t("11:00"), _t("14:00"), _t("12:00"), _t("12:00"), True),
        Period("昼過ぎ", _t("12:00"), _t("15:00"), _t("12:00"), _t("15:00"), True),
        Period("午後", _t("12:00"), _t("18:00"), _t("12:00"), _t("18:00"), True),
        Period("夕方", _t("15:00"), _t("18:00"), _t("15:00"), _t("17:00"), True),
        Period("夜", _t("18:00"), _t("23:00"), _t("18:00"), _t("18:00"), True),
        Period("日中", _t("8:00"), _t("18:00"), _t("8:00"), _t("18:00"), None),
    )
}
#: Spellings (after normalisation) of each time of day.
_PERIOD_WORDS = {
    "午前中": "午前", "午前": "午前", "朝一番": "朝", "朝一": "朝", "朝いち": "朝", "早朝": "朝", "朝": "朝",
    "昼前": "昼前", "お昼前": "昼前", "昼過ぎ": "昼過ぎ", "昼すぎ": "昼過ぎ", "お昼過ぎ": "昼過ぎ",
    "お昼すぎ": "昼過ぎ", "お昼": "昼", "昼頃": "昼", "昼ごろ": "昼", "昼": "昼", "午後": "午後",
    "夕方": "夕方", "夕刻": "夕方", "夜": "夜", "晩": "夜", "日中": "日中", "昼間": "日中",
}

# --------------------------------------------------------------------------- normalisation

_TAGS = re.compile(r"<[^<>]{0,300}>")
_HIRA = re.compile(r"[ぁ-ゖ]")
_PREV_OK = set("のはもとか")
_NEXT_OK = ("の", "は", "か", "で", "に", "な", "も", "と", "が", "ま", "ご", "こ", "す", "じ", "い", "だ", "ぐ", "く")
#: Hiragana spellings that are never anything else in a reply about dates.
_LONG_KANA = {
    "しあさって": "明々後日", "あさって": "明後日", "みょうごにち": "明後日", "みょうにち": "明日", "あした": "明日",
    "さらいしゅう": "再来週", "らいしゅう": "来週", "こんしゅう": "今週", "さらいげつ": "再来月", "らいげつ": "来月",
    "こんげつ": "今月", "ほんじつ": "本日", "よくじつ": "翌日", "らいねん": "来年", "ことし": "今年",
    "ごぜんちゅう": "午前中", "ごぜん": "午前", "ごご": "午後", "ゆうがた": "夕方", "ひるすぎ": "昼過ぎ",
    "ひるまえ": "昼前", "ひるま": "昼間", "おひる": "お昼", "にっちゅう": "日中", "あさいち": "朝一",
    "へいじつ": "平日", "しゅうまつ": "週末", "どにち": "土日",
    "げつようび": "月曜日", "かようび": "火曜日", "すいようび": "水曜日", "もくようび": "木曜日",
    "きんようび": "金曜日", "どようび": "土曜日", "にちようび": "日曜日", "げつよう": "月曜", "すいよう": "水曜",
    "もくよう": "木曜", "きんよう": "金曜", "どよう": "土曜", "にちよう": "日曜",
    "いがい": "以外", "むり": "無理", "つごう": "都合", "つぎの": "次の", "こんどの": "今度の",
    "じょうじゅん": "上旬", "ちゅうじゅん": "中旬", "げじゅん": "下旬",
}
#: Short spellings converted only between word boundaries (あさ in あさひ stays).
_SHORT_KANA = {"きょう": "今日", "あす": "明日", "あさ": "朝", "ひる": "昼", "よる": "夜"}

_ONES = {1: "いち", 2: "に", 3: "さん", 5: "ご", 6: "ろく", 7: "しち", 8: "はち", 9: "く"}
_HOUR_KANA = {"いち": 1, "に": 2, "さん": 3, "よ": 4, "ご": 5, "ろく": 6, "しち": 7, "なな": 7, "はち": 8,
              "く": 9, "じゅう": 10, "じゅういち": 11, "じゅうに": 12}
_MONTH_KANA = {"いち": 1, "に": 2, "さん": 3, "し": 4, "ご": 5, "ろく": 6, "しち": 7, "はち": 8, "く": 9,
               "じゅう": 10, "じゅういち": 11, "じゅうに": 12}


def _day_readings() -> Dict[str, int]:
    """Kana readings of the days of a month (ついたち, ふつか … さんじゅういちにち); いつか is left
    out because it is also "some day"."""
    readings = {"ついたち": 1, "ふつか": 2, "みっか": 3, "よっか": 4, "むいか": 6, "なのか": 7, "ようか": 8,
                "ここのか": 9, "とおか": 10, "はつか": 20, "じゅうよっか": 14, "にじゅうよっか": 24}
    for n in range(11, 32):
        if n not in (14, 20, 24):
            tens, one = divmod(n, 10)
            readings[{1: "じゅう", 2: "にじゅう", 3: "さんじゅう"}[tens] + _ONES.get(one, "") + "にち"] = n
    return readings


_DAY_KANA = _day_readings()


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_LONG_RE = re.compile(_alternation(_LONG_KANA))
_SHORT_RE = re.compile(_alternation(_SHORT_KANA))
_DAY_RE = re.compile(f"(?:{_alternation(_DAY_KANA)})")
_MONTH_RE = re.compile(f"({_alternation(_MONTH_KANA)})がつ")
_HOUR_RE = re.compile(f"({_alternation(_HOUR_KANA)})じ(?![ゃゅょ]|かん)")
_DIGIT_UNITS = (
    (re.compile(r"(\d+)がつ"), r"\1月"),
    (re.compile(r"(\d+)にち"), r"\1日"),
    (re.compile(r"(\d+)じ(?!かん)"), r"\1時"),
    (re.compile(r"(\d+)[ふぷ]ん"), r"\1分"),
    (re.compile(r"時はん"), "時半"),
)
#: 「一日も早く」 is "as soon as possible", not the 1st of a month.
_ONE_DAY_SOONER = re.compile(r"(?<!\d)1日も(?:早|はや)")
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUM = re.compile(r"([〇零一二三四五六七八九十]+)(?=月|日|時|週間|/)|(?<=時)([〇一二三四五六七八九十]+)(?=分)")


def _at_boundary(s: str, start: int, end: int, check_next: bool) -> bool:
    before = s[start - 1] if start else ""
    if before and _HIRA.match(before) and before not in _PREV_OK:
        return False
    if not check_next:
        return True
    rest = s[end:]
    return not rest or not _HIRA.match(rest[0]) or rest.startswith(_NEXT_OK)


def _bounded(fmt: Callable[[re.Match], str], check_next: bool = False) -> Callable[[re.Match], str]:
    """A substitution applied only where the match starts a word (and, with ``check_next``, ends
    one: numbers end in their unit, がつ/にち/じ, so only bare words need the second check)."""
    def sub(m: re.Match) -> str:
        if not _at_boundary(m.string, m.start(), m.end(), check_next):
            return m.group(0)
        return fmt(m)
    return sub


def _kanji_value(run: str) -> Optional[int]:
    if "十" not in run:
        return int("".join(str(_KANJI_DIGITS[c]) for c in run)) if run else None
    if run.count("十") > 1:
        return None
    tens, _, ones = run.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return _KANJI_DIGITS.get(tens, 1) * 10 + _KANJI_DIGITS.get(ones, 0)


def _kanji_sub(m: re.Match) -> str:
    run = m.group(1) or m.group(2)
    value = _kanji_value(run)
    return m.group(0) if value is None else str(value)


def normalize_reply(text: str) -> str:
    """The reply as the parser reads it (see the module docstring, step 1)."""
    s = _TAGS.sub(" ", (text or "")[:MAX_INPUT])
    s = fold(s)[:MAX_CHARS]
    s = _LONG_RE.sub(lambda m: _LONG_KANA[m.group(0)], s)
    s = _SHORT_RE.sub(_bounded(lambda m: _SHORT_KANA[m.group(0)], check_next=True), s)
    s = _MONTH_RE.sub(_bounded(lambda m: f"{_MONTH_KANA[m.group(1)]}月"), s)
    s = _DAY_RE.sub(_bounded(lambda m: f"{_DAY_KANA[m.group(0)]}日"), s)
    s = _HOUR_RE.sub(_bounded(lambda m: f"{_HOUR_KANA[m.group(1)]}時"), s)
    for pattern, repl in _DIGIT_UNITS:
        s = pattern.sub(repl, s)
    return _ONE_DAY_SOONER.sub("一刻も早", _KANJI_NUM.sub(_kanji_sub, s))


# --------------------------------------------------------------------------- ja-timex

_PARSER = None
_PARSER_LOCK = threading.Lock()


def _timex(text: str) -> list:
    """ja-timex's findings in ``text``. The parser keeps per-call state (its number normaliser),
    so calls are serialised; one parse of a short reply takes well under a millisecond."""
    global _PARSER
    with _PARSER_LOCK:
        if _PARSER is None:
            from ja_timex import TimexParser
            from ja_timex.number_normalizer import NumberNormalizer

            # Own normaliser instance: TimexParser's default one is shared by every parser.
            _PARSER = TimexParser(number_normalizer=NumberNormalizer(), ignore_kansuji=True)
        return _PARSER.parse(text)


def warm_up() -> None:
    """Build the parser and compile its patterns (about 0.3 s) before the first resident waits."""
    _timex("明日の午後3時")


# --------------------------------------------------------------------------- items

DATE, DAY, MONTH, WEEK, WINDOW, WEEKDAY, PERIOD, TIME, YEAR = (
    "date", "day", "month", "week", "window", "weekday", "period", "time", "year")
ASAP, ANYTIME, VAGUE, EXCLUDE, SEP, INVALID, PASTREL = (
    "asap", "anytime", "vague", "exclude", "sep", "invalid", "pastrel")
_CONTENT = {DATE, DAY, MONTH, WEEK, WINDOW, WEEKDAY, PERIOD, TIME}


@dataclass
class _Item:
    kind: str
    start: int
    end: int
    date: Optional[date] = None
    window: Tuple[Optional[date], Optional[date]] = (None, None)
    weekdays: FrozenSet[int] = frozenset()
    period: Optional[Period] = None
    hour: int = 0
    minute: int = 0
    ampm: Optional[bool] = None  # TIME: True p.m., False a.m./as said, None bare hour
    md: Tuple[int, int] = (0, 0)  # DATE said as month/day without a year
    day: int = 0  # DAY
    year_shift: int = 0  # YEAR
    bound: Optional[str] = None  # "from" | "to" | "approx"
    range_to: Optional["_Item"] = None  # TIME: the end of 「10時から12時」
    is_range: bool = False  # WINDOW made of 「3日から5日」: a trailing まで is part of it
    paren: bool = False  # WEEKDAY written as （木）
    dropped: bool = False
    mod: Optional[str] = None  # MONTH: ja-timex's START/MID/END for 「12月初め」「12月末」


_INVALID_PATTERNS = (
    re.compile(r"(?<![\d.])(\d{1,4})月(\d{1,3})日"),
    re.compile(r"(?<![\d/.])(\d{1,3})/(\d{1,3})(?![\d/])"),
)
_INVALID_MONTH = re.compile(r"(?<![\d.])(\d+)月")
_INVALID_DAY = re.compile(r"(?<![\d./])(\d+)日(?![後前間目])")
_INVALID_HOUR = re.compile(r"(?<![\d.])(\d+)時(?!間)(?:(\d+)分)?")
_INVALID_CLOCK = re.compile(r"(?<![\d.:])(\d{1,2}):(\d{2})(?![\d:])")


def _invalid_spans(s: str) -> List[Tuple[int, int]]:
    """Spans of dates and times that cannot exist in any year (13月, 2月30日, 32日, 25時, 10:75)."""
    spans = []
    for pattern in _INVALID_PATTERNS:
        for m in pattern.finditer(s):
            month, day = int(m.group(1)), int(m.group(2))
            if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(2024, month)[1]):
                spans.append(m.span())
    for m in _INVALID_MONTH.finditer(s):
        if not 1 <= int(m.group(1)) <= 12:
            spans.append(m.span())
    for m in _INVALID_DAY.finditer(s):
        if not 1 <= int(m.group(1)) <= 31:
            spans.append(m.span())
    for m in _INVALID_HOUR.finditer(s):
        if int(m.group(1)) >= 24 or (m.group(2) and int(m.group(2)) >= 60):
            spans.append(m.span())
    for m in _INVALID_CLOCK.finditer(s):
        if int(m.group(1)) >= 24 or int(m.group(2)) >= 60:
            spans.append(m.span())
    return spans


def _lex(words: Iterable[str]) -> re.Pattern:
    return re.compile(_alternation(words))


#: Lexicons scanned after ja-timex, in priority order (an earlier match takes the characters).
_NEGATIVE = r"(?:無理|だめ|駄目|ng|行けな|いけな|来れな|来られな|厳し|難し|都合が?(?:悪|わる|つかな)|ちょっと)"
_LEXICONS: Tuple[Tuple[str, re.Pattern], ...] = (
    # 「明日以外は無理」「明日じゃないと無理」「明日しか空いてない」: only that day, nothing excluded
    (SEP, re.compile(
        rf"以外(?:は|だと|では)?{_NEGATIVE}"
        rf"|(?:じゃないと|でないと|じゃなきゃ|でなきゃ|じゃなければ|でなければ){_NEGATIVE}?"
        r"|しか(?:無理|だめ|行けな|いけな|来れな|来られな|空いてな|空いていな|あいてな|あいていな|都合が?つかな|な[いく])")),
    (EXCLUDE, re.compile(
        r"大丈夫じゃな|大丈夫ではな|空いてな|空いていな|あいてな|あいていな|都合が?(?:悪|わる)|都合が?つかな"
        r"|以外|無理|だめ|駄目|ng|不可|行けな|いけな|来れな|これない|来られな|こられな|厳し|きびし|難し|むずかし"
        r"|避け|さけたい|やめて|止めて|除い|のぞい|じゃな[いく]|ではな[いく]|でなく|休めな|やすめな"
        r"|はちょっと|は仕事|はしごと|は予定|はよてい|は用事|はようじ|はばいと|はぱーと|は出勤|は忙し|はいそがし"
        r"|はふさが|は埋ま|はうま")),
    (ASAP, re.compile(
        r"(?:なるべく|できるだけ|出来るだけ|できる限り|出来る限り|一番|いちばん|最も|もっとも|とにかく)(?:早|はや)"
        r"|早(?:く|め|い(?:方|ほう|日|の|うち|時間|ところ|とこ))|はや(?:く|め|い(?:ほう|方|の|日))"
        r"|一刻も早|至急|しきゅう|急ぎ|急いで|いそぎ|いそいで|すぐ(?!に?は)|直近|最短|最速|早急|asap")),
    (ANYTIME, re.compile(
        r"いつでも|何時でも|なんじでも|何曜日?でも|何日でも|なんにちでも|特にな[いし]|とくにな[いし]"
        r"|お?まかせ|お任せ|合わせ(?:ます|られ)|あわせ(?:ます|られ)|どこでも|どれでも|どの日でも")),
    (WINDOW, re.compile(r"年明け|年内|年末|月末|週明け")),
    (WEEKDAY, re.compile(r"土日祝?|平日|週末|([月火水木金土日])[~\-]([月火水木金土日])(?!\d)"
                         r"|[月火水木金土日](?:・[月火水木金土日])+(?![\d])")),
    (PERIOD, _lex(_PERIOD_WORDS)),
    (SEP, re.compile(
        r"[、。,.!?]|なら|だったら|でしたら|であれば|が(?:いい|良い|よい|よく|良く)|でいい|でよい|大丈夫|ok|おっけー"
        r"|希望|空いて|あいて|行けます|いけます|可能|お願い|おねがい|けど|けれど|でも|しかし|ただ|都合が(?:いい|良)")),
    (VAGUE, re.compile(
        r"いつか|そのうち|未定|わから|分から|わかん|分かん|決まって(?:い)?な|きまって(?:い)?な|考え中|検討中"
        r"|あとで|後で|近いうち|近々|ちかぢか|どこか|どっか|いつ頃|いつごろ|適当|今度|こんど|また")),
)
_WEEKDAY_GROUPS = {"土日": {5, 6}, "土日祝": {5, 6}, "週末": {5, 6}, "平日": {0, 1, 2, 3, 4}}
_NEXT_PREFIX = re.compile(r"(?:次|今度|この|次回)の?\s*$")
_FROM_AFTER = re.compile(r"\s*(?:以降|以後|から|より後|より|過ぎ|すぎ|以上|~(?!\s*\d))")
_TO_AFTER = re.compile(r"\s*(?:までに|まで|以前|より前|前)")
_APPROX_AFTER = re.compile(r"\s*(?:ごろ|頃|ころ|くらい|ぐらい|前後)")
_CONNECTOR = re.compile(r"\s*(?:から|~|-)\s*")
_PART = re.compile(r"\s*の?\s*(上旬|初旬|はじめ|初め|始め|頭|前半|中旬|半ば|なかば|中頃|中ごろ|後半|下旬|末|終わり|おわり)")
_PART_WORDS = {"上旬": "START", "初旬": "START", "はじめ": "START", "初め": "START", "始め": "START", "頭": "START",
               "前半": "FIRST", "中旬": "MID", "半ば": "MID", "なかば": "MID", "中頃": "MID", "中ごろ": "MID",
               "後半": "LAST", "下旬": "END", "末": "END", "終わり": "END", "おわり": "END"}
#: Parts of a month (days of the month) and of a week (0 = Monday): 上旬 1–10, 前半 1–15 …
_MONTH_PARTS = {"START": (1, 10), "FIRST": (1, 15), "MID": (11, 20), "LAST": (16, 31), "END": (21, 31)}
_WEEK_PARTS = {"START": (0, 1), "FIRST": (0, 2), "MID": (2, 3), "LAST": (3, 6), "END": (4, 6)}


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def resolve_month_day(month: int, day: int, today: date) -> Optional[date]:
    """The occurrence of month/day nearest to ``today`` (it may be past); None when it does not
    exist in that year (2月29日 outside leap years)."""
    def probe(year: int) -> date:
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))

    year = min((today.year - 1, today.year, today.year + 1),
               key=lambda y: (abs((probe(y) - today).days), probe(y) < today))
    try:
        return date(year, month, day)
    except ValueError:
        return None


def next_day_of_month(day: int, today: date) -> date:
    """The next ``day``-th of a month that is today or later (「30日」 on 2/25 is 3/30)."""
    first = today.replace(day=1)
    for k in range(13):
        month = _add_months(first, k)
        if day <= calendar.monthrange(month.year, month.month)[1]:
            candidate = month.replace(day=day)
            if candidate >= today:
                return candidate
    raise ValueError(day)


def _named_window(word: str, today: date) -> Tuple[date, date]:
    """年明け (1/1–1/15), 年内 (to 12/31), 年末 (12/20–12/31), 月末 (21st to the end), 週明け
    (next Monday and Tuesday); never starting before today."""
    if word == "年明け":
        year = today.year if today.month == 1 and today.day <= 15 else today.year + 1
        lo, hi = date(year, 1, 1), date(year, 1, 15)
    elif word == "年内":
        lo, hi = today, date(today.year, 12, 31)
    elif word == "年末":
        lo, hi = date(today.year, 12, 20), date(today.year, 12, 31)
    elif word == "月末":
        lo, hi = today.replace(day=21), _month_end(today)
    else:
        lo = today + timedelta(days=7 - today.weekday())
        hi = lo + timedelta(days=1)
    return max(lo, today), hi


def _month_window(year: int, month: int) -> Tuple[date, date]:
    first = date(year, month, 1)
    return first, _month_end(first)


def _nearest_month(month: int, today: date) -> Tuple[date, date]:
    def distance(year: int) -> Tuple[int, bool]:
        first, last = _month_window(year, month)
        if first <= today <= last:
            return 0, False
        return min(abs((first - today).days), abs((last - today).days)), last < today

    year = min((today.year - 1, today.year, today.year + 1), key=distance)
    return _month_window(year, month)


def _int(parsed: dict, key: str) -> Optional[int]:
    value = parsed.get(key)
    return int(value) if value and value.isdigit() else None


def _from_timex(tx, s: str, today: date) -> Optional[_Item]:
    """One ja-timex finding as an item, or None when it says nothing about booking."""
    start, end = tx.raw_span
    if end <= start:
        return None
    if (start and s[start].isdigit() and s[start - 1].isdigit()) or (
            end < len(s) and s[end - 1].isdigit() and s[end].isdigit()):
        return None  # part of a longer number (a phone number, 12345/6)
    p = tx.parsed
    if tx.type == "DATE":
        if "weekday" in p:
            return _Item(WEEKDAY, start, end, weekdays=frozenset({int(tx.value[-1]) - 1}),
                         paren=tx.raw_text.strip().startswith("("))
        year, month, day = _int(p, "calendar_year"), _int(p, "calendar_month"), _int(p, "calendar_day")
        if month is None and day is not None:
            return _Item(DAY, start, end, day=day)
        if month is None:
            return None
        if day is None:
            first, last = _month_window(year, month) if year else _nearest_month(month, today)
            return _Item(MONTH, start, end, window=(first, last), mod=tx.mod)
        if year:
            try:
                return _Item(DATE, start, end, date=date(year, month, day))
            except ValueError:
                return _Item(INVALID, start, end)
        resolved = resolve_month_day(month, day, today)
        return _Item(INVALID, start, end) if resolved is None else _Item(DATE, start, end, date=resolved, md=(month, day))
    if tx.type == "TIME":
        hour = _int(p, "clock_hour")
        if hour is None:
            return None
        minute = 30 if p.get("half_suffix") else (_int(p, "clock_minute") or 0)
        if p.get("pm_prefix") or p.get("pm_suffix") or p.get("evening_prefix"):
            ampm = True
        elif p.get("am_prefix") or p.get("am_suffix") or p.get("morning_prefix") or p.get("midnight_prefix"):
            ampm = False
        else:
            ampm = None
        if ampm and hour < 12:
            hour += 12
        elif ampm is False and hour == 12 and (p.get("am_prefix") or p.get("am_suffix")):
            hour = 0
        if hour >= 24 or minute >= 60:
            return _Item(INVALID, start, end)
        return _Item(TIME, start, end, hour=hour, minute=minute, ampm=ampm)
    if tx.type == "DURATION":
        text = tx.raw_text
        if tx.mod == "BEFORE":
            return _Item(PASTREL, start, end)
        monday = today - timedelta(days=today.weekday())
        if tx.mod == "NOW":
            if "day" in p:
                return _Item(DATE, start, end, date=today)
            if "week" in p:
                return _Item(WEEK, start, end, window=(today, monday + timedelta(days=6)))
            if "month" in p:
                return _Item(MONTH, start, end, window=(today, _month_end(today)))
            if "year" in p and text == "今年":
                return _Item(YEAR, start, end, year_shift=0)
            return None
        if tx.mod == "AFTER":
            if text in ("来週", "翌週", "再来週", "翌々週"):
                k = 2 if text in ("再来週", "翌々週") else 1
                return _Item(WEEK, start, end, window=(monday + timedelta(days=7 * k), monday + timedelta(days=7 * k + 6)))
            if text in ("来月", "翌月", "再来月", "翌々月"):
                first = _add_months(today, 2 if text in ("再来月", "翌々月") else 1)
                return _Item(MONTH, start, end, window=(first, _month_end(first)))
            if text in ("来年", "翌年"):
                return _Item(YEAR, start, end, year_shift=1)
            n = p.get("day") or p.get("week")
            if not n or not re.fullmatch(r"\d{1,3}", n):
                return None  # 「3.5日後」, or further ahead than anyone books
            if "day" in p:
                return _Item(DATE, start, end, date=today + timedelta(days=int(n)))
            first = today + timedelta(days=7 * int(n))
            return _Item(WINDOW, start, end, window=(first, first + timedelta(days=6)))
    return None


def _overlaps(taken: List[bool], start: int, end: int) -> bool:
    return any(taken[start:end])


def _take(taken: List[bool], start: int, end: int) -> None:
    taken[start:end] = [True] * (end - start)


def _scan(s: str, today: date) -> List[_Item]:
    taken = [False] * len(s)
    items: List[_Item] = []
    for start, end in _invalid_spans(s):
        if not _overlaps(taken, start, end):
            _take(taken, start, end)
            items.append(_Item(INVALID, start, end))
    for tx in sorted(_timex(s), key=lambda t: t.raw_span):
        item = _from_timex(tx, s, today)
        if item is not None and not _overlaps(taken, item.start, item.end):
            _take(taken, item.start, item.end)
            items.append(item)
    for kind, pattern in _LEXICONS:
        for m in pattern.finditer(s):
            if _overlaps(taken, *m.span()):
                continue
            item = _Item(kind, *m.span())
            if kind == WEEKDAY:
                if "・" in m.group(0):  # 「月・水・金」: a list
                    item.weekdays = frozenset(WEEKDAY_NAMES.index(c) for c in m.group(0)[::2])
                elif m.group(1):
                    a, b = WEEKDAY_NAMES.index(m.group(1)), WEEKDAY_NAMES.index(m.group(2))
                    if m.start() and s[m.start() - 1].isdigit():
                        continue  # 「12月~」: a month, not Monday
                    item.weekdays = frozenset((a + i) % 7 for i in range((b - a) % 7 + 1))
                else:
                    item.weekdays = frozenset(_WEEKDAY_GROUPS[m.group(0)])
            elif kind == PERIOD:
                item.period = PERIODS[_PERIOD_WORDS[m.group(0)]]
            elif kind == WINDOW:
                item.window = _named_window(m.group(0), today)
            _take(taken, *m.span())
            items.append(item)
    items.sort(key=lambda it: it.start)
    return items


# --------------------------------------------------------------------------- merging


def _gap(s: str, a: _Item, b: _Item) -> str:
    return s[a.end:b.start].strip()


def _next_weekday(weekday: int, today: date, *, strictly_after: bool) -> date:
    delta = (weekday - today.weekday()) % 7
    if delta == 0 and strictly_after:
        delta = 7
    return today + timedelta(days=delta)


def _after(it: _Item, start: date) -> date:
    """The first date at or after ``start`` that the (month/)day of ``it`` names."""
    if it.md == (0, 0):
        return next_day_of_month(it.date.day, start)
    month, day = it.md
    for year in (start.year, start.year + 1, start.year + 2):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= start:
            return candidate
    return start


def _merge(items: List[_Item], s: str, today: date) -> List[_Item]:
    """Join items that make one expression: 来年+1月5日, 来月+3日, 12月3日+（木）, 次の+火曜,
    ranges (3日から5日, 10時〜12時, 月曜から水曜), bounds (以降, まで, ごろ), 夕方+5時, 12月+下旬."""
    live = [it for it in items]
    for i, it in enumerate(live):
        prev = live[i - 1] if i else None
        close = prev is not None and not prev.dropped and _gap(s, prev, it) in ("", "の")
        if it.kind == DATE and it.md != (0, 0) and close and prev.kind == YEAR:
            year = today.year + prev.year_shift
            try:
                it.date = date(year, *it.md)
            except ValueError:
                it.kind = INVALID
            prev.dropped = True
        elif it.kind == DAY:
            if close and prev.kind == MONTH:
                first = prev.window[0].replace(day=1)
                try:
                    it.date = first.replace(day=it.day)
                    it.kind = DATE
                except ValueError:
                    it.kind = INVALID
                prev.dropped = True
            else:
                it.kind, it.date = DATE, next_day_of_month(it.day, today)
        elif it.kind == WEEKDAY and prev is not None and not prev.dropped and prev.kind == DATE \
                and (it.paren or not _gap(s, prev, it)):
            it.dropped = True  # 「12月3日(木)」: the weekday annotates the date
        elif it.kind == WEEKDAY and len(it.weekdays) == 1 and _NEXT_PREFIX.search(s[:it.start]):
            (weekday,) = it.weekdays
            it.kind, it.date = DATE, _next_weekday(weekday, today, strictly_after=True)
        elif it.kind in (MONTH, WEEK):
            m = _PART.match(s, it.end)
            mod = _PART_WORDS[m.group(1)] if m else it.mod
            if mod in _MONTH_PARTS:
                lo, hi = it.window
                if it.kind == MONTH:
                    first = hi.replace(day=1)
                    a, b = _MONTH_PARTS[mod]
                    part = (first.replace(day=a), first.replace(day=min(b, hi.day)))
                else:
                    monday = hi - timedelta(days=6)
                    a, b = (5, 6) if m and m.group(1) == "末" else _WEEK_PARTS[mod]  # 今週末 = the weekend
                    part = (monday + timedelta(days=a), monday + timedelta(days=b))
                it.window = (max(part[0], lo), part[1])
                if m:
                    it.end = m.end()
    live = [it for it in live if not it.dropped]

    # ranges: A から B of the same kind
    out: List[_Item] = []
    i = 0
    while i < len(live):
        it = live[i]
        nxt = live[i + 1] if i + 1 < len(live) else None
        if nxt is not None and _CONNECTOR.fullmatch(s[it.end:nxt.start]) and (it.kind, nxt.kind) in (
                (DATE, DATE), (TIME, TIME), (WEEKDAY, WEEKDAY)):
            if it.kind == DATE:
                end_date = nxt.date
                if end_date < it.date:  # 「12/28〜1/5」「25日から3日」: the end is in the next year/month
                    end_date = _after(nxt, it.date)
                out.append(_Item(WINDOW, it.start, nxt.end, window=(it.date, end_date), is_range=True))
            elif it.kind == WEEKDAY and len(it.weekdays) == 1 and len(nxt.weekdays) == 1:
                (a,), (b,) = it.weekdays, nxt.weekdays
                out.append(_Item(WEEKDAY, it.start, nxt.end, weekdays=frozenset((a + k) % 7 for k in range((b - a) % 7 + 1))))
            else:
                it.range_to, it.is_range = nxt, True
                it.end = nxt.end
                out.append(it)
            i += 2
            continue
        out.append(it)
        i += 1

    # bounds right after an item
    for i, it in enumerate(out):
        if it.kind not in (DATE, MONTH, WEEK, WINDOW, WEEKDAY, TIME, PERIOD) or it.is_range:
            m = _TO_AFTER.match(s, it.end) if it.is_range else None
            if m:
                it.end = m.end()
            continue
        for bound, pattern in (("approx", _APPROX_AFTER), ("from", _FROM_AFTER), ("to", _TO_AFTER)):
            if bound == "approx" and it.kind != TIME:
                continue
            if bound == "to" and it.kind != TIME and s.startswith("前", it.end):
                continue
            m = pattern.match(s, it.end)
            if m:
                it.bound = bound
                it.end = m.end()
                break
        prev = out[i - 1] if i else None
        if it.kind == WEEKDAY and it.bound and len(it.weekdays) == 1 and prev is not None \
                and prev.kind in (WEEK, MONTH) and _gap(s, prev, it) in ("", "の"):
            # 「来週の水曜以降」: that Wednesday onwards
            day = next((x for x in _days(*prev.window) if x.weekday() in it.weekdays), None)
            if day is not None:
                it.kind, it.date = DATE, day
                prev.dropped = True

    # 夕方5時: a time of day right before a clock time says which half of the day it is
    for a, b in zip(out, out[1:]):
        if a.kind == PERIOD and b.kind == TIME and a.bound is None and _gap(s, a, b) in ("", "の") and b.ampm is None:
            if a.period.pm and b.hour < 12:
                b.hour += 12
                b.ampm = True
            else:
                b.ampm = False
            a.dropped = True
    return [it for it in out if not it.dropped]


# --------------------------------------------------------------------------- compiling


def _clock(it: _Item) -> time:
    hour = it.hour
    if it.ampm is None and 1 <= hour <= 7:
        hour += 12  # 「3時」 for an appointment is 15:00
    return time(hour, it.minute)


def _range_end_clock(start: time, it: _Item) -> time:
    end = _clock(it)
    if it.ampm is None and end <= start and it.hour < 12:
        end = time(it.hour + 12, it.minute)
    return end


def _shift(t: time, minutes: int) -> time:
    total = max(0, min(23 * 60 + 59, t.hour * 60 + t.minute + minutes))
    return time(total // 60, total % 60)


def _days(first: date, last: date, limit: int = 62) -> List[date]:
    return [first + timedelta(days=k) for k in range(min((last - first).days + 1, limit))]


def _window_of(it: _Item, today: date) -> Tuple[Optional[date], Optional[date]]:
    """The day window an item names, bounds applied (「来週以降」 = next Monday onwards)."""
    if it.kind == DATE:
        lo = hi = it.date
    elif it.kind == WEEKDAY:
        lo = hi = _next_weekday(min(it.weekdays), today, strictly_after=False)
    else:
        lo, hi = it.window
    if it.bound == "from":
        return lo, None
    if it.bound == "to":
        return None, hi
    return lo, hi


def _intersect(a: tuple, b: tuple) -> tuple:
    """The overlap of two (low, high) bounds, None meaning open."""
    lo = max((x for x in (a[0], b[0]) if x is not None), default=None)
    hi = min((x for x in (a[1], b[1]) if x is not None), default=None)
    return lo, hi


@dataclass
class _Wish:
    dates: List[date] = field(default_factory=list)
    windows: List[Tuple[date, date]] = field(default_factory=list)
    bounds: List[Tuple[Optional[date], Optional[date]]] = field(default_factory=list)
    weekdays: set = field(default_factory=set)
    #: Closed time windows said as alternatives (午前, 14時ごろ, 10時から12時) and open bounds
    #: that narrow them (15時以降, 「午前は無理」).
    time_alts: List[Tuple[time, time]] = field(default_factory=list)
    time_bounds: List[Tuple[Optional[time], Optional[time]]] = field(default_factory=list)
    at: List[time] = field(default_factory=list)


def _collect(items: Sequence[_Item], today: date) -> _Wish:
    wish = _Wish()
    for it in items:
        if it.kind == DATE and it.bound is None:
            wish.dates.append(it.date)
        elif it.kind in (DATE, MONTH, WEEK, WINDOW) or (it.kind == WEEKDAY and it.bound):
            lo, hi = _window_of(it, today)
            (wish.windows if lo is not None and hi is not None else wish.bounds).append((lo, hi))
        elif it.kind == WEEKDAY:
            wish.weekdays |= it.weekdays
        elif it.kind == PERIOD:
            p = it.period
            if it.bound == "from":
                wish.time_bounds.append((p.after, None))
            elif it.bound == "to":
                wish.time_bounds.append((None, p.until))
            else:
                wish.time_alts.append((p.start, p.end))
        elif it.kind == TIME:
            t = _clock(it)
            if it.range_to is not None:
                wish.time_alts.append((t, _range_end_clock(t, it.range_to)))
            elif it.bound == "from":
                wish.time_bounds.append((t, None))
            elif it.bound == "to":
                wish.time_bounds.append((None, t))
            elif it.bound == "approx":
                wish.time_alts.append((_shift(t, -30), _shift(t, 30)))
            else:
                wish.at.append(t)
    return wish


def _split_exclusions(items: Sequence[_Item], s: str) -> Tuple[List[_Item], List[List[_Item]], set]:
    """Positive items, excluded groups, and the flags (asap, anytime, vague, invalid, pastrel)."""
    positive: List[_Item] = []
    excluded: List[List[_Item]] = []
    flags = set()
    segment: List[_Item] = []
    for k, it in enumerate(items):
        if it.kind == SEP and s[it.start:it.end] in "、," and 0 < k < len(items) - 1 \
                and items[k - 1].kind == items[k + 1].kind and items[k - 1].kind in (DATE, WEEKDAY):
            continue  # 「明日、明後日は無理」: a list, not a new sentence
        if it.kind == SEP:
            positive += segment
            segment = []
        elif it.kind == EXCLUDE:
            cut = 0
            for j in range(len(segment) - 1, 0, -1):
                if _gap(s, segment[j - 1], segment[j]).startswith("は"):
                    cut = j  # 「来週は月曜以外」: the topic stays wished, only Monday is excluded
                    break
            positive += segment[:cut]
            if segment[cut:]:
                excluded.append(segment[cut:])
            segment = []
        elif it.kind in _CONTENT:
            segment.append(it)
        else:
            flags.add(it.kind)
    positive += segment
    return positive, excluded, flags


_DAY_KINDS = (DATE, WEEKDAY, WEEK, MONTH, WINDOW)
_TIME_KINDS = (TIME, PERIOD)


def _phrases(positive: Sequence[_Item]) -> List[List[_Item]]:
    """Day-and-time phrases said as alternatives (「金曜の夕方か土曜の朝」), each with the week or
    month said before it when it names none itself (「来週の水曜の午後か、木曜の午前」); [] when
    the reply is not made of such phrases."""
    phrases: List[List[_Item]] = [[]]
    for it in positive:
        if it.kind in _DAY_KINDS and any(x.kind in _TIME_KINDS for x in phrases[-1]):
            phrases.append([])
        phrases[-1].append(it)
    if len(phrases) < 2 or not all(
            any(x.kind in _DAY_KINDS for x in p) and any(x.kind in _TIME_KINDS for x in p) for p in phrases):
        return []
    context: List[_Item] = []
    for phrase in phrases:
        own = [x for x in phrase if x.kind in (WEEK, MONTH)]
        if own:
            context = own
        elif context and not any(x.kind in (DATE, WINDOW) for x in phrase):
            phrase[:0] = context
    return phrases


def _compile(positive: Sequence[_Item], excluded_groups: Sequence[Sequence[_Item]], flags: set,
             local_now: datetime) -> WhenRequest:
    """One request from the wished items, the excluded groups and the flags."""
    today = local_now.date()
    wish = _collect(positive, today)

    # exclusions
    excluded_dates: set = set()
    excluded_weekdays: set = set()
    for group in excluded_groups:
        ex = _collect(group, today)
        for lo, hi in ex.windows:
            days = _days(lo, hi)
            excluded_dates.update(d for d in days if not ex.weekdays or d.weekday() in ex.weekdays)
        if ex.weekdays and not ex.windows:
            excluded_weekdays |= ex.weekdays
        excluded_dates.update(ex.dates)
        for lo, hi in ex.bounds:  # 「来週以降は無理」 = before next week
            wish.bounds.append((None, lo - timedelta(days=1)) if lo else (hi + timedelta(days=1), None))
        for lo, hi in ex.time_alts:  # 「午前は無理」 = from noon; a mid-day window is not represented
            if lo <= time(8, 0):
                wish.time_bounds.append((hi, None))
            elif hi >= time(17, 30):
                wish.time_bounds.append((None, lo))

    # weekdays with a short window or with dates become dates
    weekdays = set(wish.weekdays)
    dates = list(wish.dates)
    windows = list(wish.windows)
    if weekdays and windows and all((hi - lo).days < 7 for lo, hi in windows):
        dates += [d for lo, hi in windows for d in _days(lo, hi) if d.weekday() in weekdays]
        windows, weekdays = [], set()
    elif weekdays and dates and not windows:
        dates += [_next_weekday(w, today, strictly_after=True) for w in sorted(weekdays)]
        weekdays = set()

    if weekdays and weekdays - excluded_weekdays:  # 「平日は仕事なので土曜」: 土曜 says it all
        weekdays -= excluded_weekdays
        excluded_weekdays = set()
    if dates and not windows and not weekdays:  # 「明日じゃなくて明後日」: only the named days matter
        dates = [d for d in dates if d not in excluded_dates and d.weekday() not in excluded_weekdays]
        excluded_dates, excluded_weekdays = set(), set()
        if not dates:  # every named day is also excluded: nothing is left to offer
            return WhenRequest(problem=VAGUE)

    # days: windows said as alternatives are joined, open bounds narrow them; when they
    # contradict each other (「3日から今週」), the windows alone are kept
    joined = (min((lo for lo, _ in windows), default=None), max((hi for _, hi in windows), default=None))
    bounds_d: Tuple[Optional[date], Optional[date]] = (None, None)
    for bound in wish.bounds:
        bounds_d = _intersect(bounds_d, bound)
    date_from, date_to = next(c for c in (_intersect(joined, bounds_d), joined, bounds_d)
                              if c[0] is None or c[1] is None or c[0] <= c[1])

    # time of day: exact times win; alternatives are joined (one window spanning them), bounds
    # narrow them; when they contradict each other, the bounds alone are kept
    time_from = time_to = None
    at = sorted(set(wish.at))
    if not at:
        alts: Tuple[Optional[time], Optional[time]] = (None, None)
        if wish.time_alts:
            alts = (min(lo for lo, _ in wish.time_alts), max(hi for _, hi in wish.time_alts))
        bounds: Tuple[Optional[time], Optional[time]] = (None, None)
        for bound in wish.time_bounds:
            bounds = _intersect(bounds, bound)
        for candidate in (_intersect(alts, bounds), bounds, alts):
            if candidate[0] is None or candidate[1] is None or candidate[0] < candidate[1]:
                time_from, time_to = candidate
                break

    problem = None
    dates = sorted(set(dates))
    has_window = date_from is not None or date_to is not None
    if INVALID in flags:
        problem = INVALID_DATE
    elif dates and not has_window and all(d < today for d in dates):
        problem = PAST
    elif date_to is not None and date_to < today and not dates:
        problem = PAST
    if problem is None:
        dates = [d for d in dates if d >= today]
        if date_to is not None and date_to < today:
            date_from = date_to = None
        elif date_from is not None and date_from < today:
            date_from = today
        if dates == [today] and not has_window:
            clock = local_now.time().replace(second=0, microsecond=0, tzinfo=None)
            if (at and all(t <= clock for t in at)) or (time_to is not None and time_to <= clock):
                problem = PAST

    request = WhenRequest(
        dates=tuple(dates),
        date_from=date_from,
        date_to=date_to,
        weekdays=tuple(sorted(weekdays)),
        excluded_weekdays=tuple(sorted(excluded_weekdays)),
        excluded_dates=tuple(sorted(excluded_dates)),
        time_from=time_from,
        time_to=time_to,
        at=tuple(at),
        asap=ASAP in flags,
        problem=problem,
    )
    if problem is None and request == WhenRequest(problem=None) and ANYTIME not in flags:
        if excluded_groups or positive:
            problem = VAGUE  # understood, but nothing a slot can be tested against (「10時は無理」)
        elif VAGUE in flags:
            problem = VAGUE
        elif PASTREL in flags:
            problem = PAST
        else:
            problem = UNPARSED
        request = WhenRequest(problem=problem)
    return request


def parse_when(text: str, now: datetime) -> WhenRequest:
    """Read a resident's reply about when they can come; ``now`` must be timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local_now = now.astimezone(TZ)
    today = local_now.date()
    s = normalize_reply(text)
    if not s.strip():
        return WhenRequest(problem=UNPARSED)
    items = _merge(_scan(s, today), s, today)
    positive, excluded_groups, flags = _split_exclusions(items, s)
    request = _compile(positive, excluded_groups, flags, local_now)
    phrases = _phrases(positive) if request.problem is None else []
    if phrases:
        alternatives = [_compile(p, excluded_groups, flags, local_now) for p in phrases]
        usable = tuple(dict.fromkeys(a for a in alternatives if a.problem is None))
        if not usable:
            return alternatives[0]
        if len(usable) == 1:
            return usable[0]
        request = WhenRequest(excluded_weekdays=request.excluded_weekdays, excluded_dates=request.excluded_dates,
                              asap=request.asap, alternatives=usable)
    return request


# --------------------------------------------------------------------------- matching


def matches(req: WhenRequest, start: datetime, end: datetime) -> bool:
    """Whether the slot ``start``..``end`` (aware datetimes) fits the wish; False whenever the
    request has a problem. Only the start counts: a time window holds slots that start inside it."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("slot times must be timezone-aware")
    if req.problem is not None or end <= start:
        return False
    if req.alternatives:
        return any(matches(alt, start, end) for alt in req.alternatives)
    local = start.astimezone(TZ)
    day, weekday = local.date(), local.weekday()
    clock = time(local.hour, local.minute)
    has_window = req.date_from is not None or req.date_to is not None
    if req.dates or has_window:
        in_window = has_window and (req.date_from is None or req.date_from <= day) \
            and (req.date_to is None or day <= req.date_to) and (not req.weekdays or weekday in req.weekdays)
        if day not in req.dates and not in_window:
            return False
    elif req.weekdays and weekday not in req.weekdays:
        return False
    if weekday in req.excluded_weekdays or day in req.excluded_dates:
        return False
    if req.at:
        return clock in req.at
    if req.time_from is not None and clock < req.time_from:
        return False
    return req.time_to is None or clock < req.time_to


# --------------------------------------------------------------------------- describing


def _day_text(d: date, now: Optional[datetime]) -> str:
    """「12月3日(木)」; the year only when ``now`` is given and the date is half a year away."""
    year = f"{d.year}年" if now is not None and abs((d - now.astimezone(TZ).date()).days) > 183 else ""
    return f"{year}{d.month}月{d.day}日({WEEKDAY_NAMES[d.weekday()]})"


def _clock_text(t: time) -> str:
    if t.minute == 0:
        return f"{t.hour}時"
    return f"{t.hour}時半" if t.minute == 30 else f"{t.hour}時{t.minute}分"


def _weekdays_text(weekdays: Sequence[int], joiner: str = "か") -> str:
    ws = tuple(sorted(weekdays))
    if ws == (0, 1, 2, 3, 4):
        return "平日"
    if ws == (5, 6):
        return "土日"
    return joiner.join(f"{WEEKDAY_NAMES[w]}曜日" for w in ws)


def _week_label(lo: date, hi: date, now: Optional[datetime]) -> Optional[str]:
    if now is None:
        return None
    today = now.astimezone(TZ).date()
    monday = today - timedelta(days=today.weekday())
    for k, label in ((1, "来週"), (2, "再来週")):
        first = monday + timedelta(days=7 * k)
        if (lo, hi) == (first, first + timedelta(days=6)):
            return label
    return None


def _short_day(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _window_text(lo: Optional[date], hi: Optional[date], now: Optional[datetime]) -> str:
    if lo is None:
        return f"{_day_text(hi, now)}まで"
    if hi is None:
        return f"{_day_text(lo, now)}以降"
    label = _week_label(lo, hi, now)
    if label:
        return f"{label}（{_short_day(lo)}〜{_short_day(hi)}）"
    if lo.day == 1 and hi == _month_end(lo):
        return f"{lo.month}月"
    return f"{_day_text(lo, now)}〜{_day_text(hi, now)}"


def _runs(days: Sequence[date]) -> List[Tuple[date, date]]:
    runs: List[Tuple[date, date]] = []
    for d in sorted(days):
        if runs and d == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _time_text(req: WhenRequest) -> str:
    if req.at:
        return "か".join(_clock_text(t) for t in req.at)
    lo, hi = req.time_from, req.time_to
    if lo is None and hi is None:
        return ""
    for p in PERIODS.values():
        if (lo, hi) == (p.start, p.end) and p.label != "昼前":  # 「10時から12時」 reads better
            return p.label
    if lo is not None and hi is not None:
        minutes = (hi.hour * 60 + hi.minute) - (lo.hour * 60 + lo.minute)
        if minutes == 60 and lo.minute == 30:
            return f"{_clock_text(_shift(lo, 30))}ごろ"
        return f"{_clock_text(lo)}から{_clock_text(hi)}"
    return f"{_clock_text(lo)}以降" if lo is not None else f"{_clock_text(hi)}まで"


def _main_text(req: WhenRequest, now: Optional[datetime]) -> str:
    """Days and time of day, without the exclusions."""
    if req.alternatives:
        return "か".join(_main_text(alt, now) for alt in req.alternatives)
    days = [_day_text(d, now) for d in req.dates]
    has_window = req.date_from is not None or req.date_to is not None
    day_part = "か".join(days) if len(days) <= 2 else "、".join(days)
    if has_window:
        window = _window_text(req.date_from, req.date_to, now)
        if req.weekdays:
            window += f"の{_weekdays_text(req.weekdays)}"
        day_part = f"{day_part}か{window}" if day_part else window
    elif req.weekdays:
        day_part = _weekdays_text(req.weekdays)
    if req.asap:
        day_part = f"{day_part}のできるだけ早い日" if day_part else "できるだけ早い日"
    return "の".join(x for x in (day_part, _time_text(req)) if x)


def describe(req: WhenRequest, now: Optional[datetime] = None) -> str:
    """A short Japanese paraphrase to confirm (「12月1日(火)の午後」「来週（11月30日〜12月6日）、
    土曜日以外」). With ``now``, next week is named and far dates get their year. "" when nothing
    was understood; 「いつでも」 for an open request."""
    main = _main_text(req, now)
    excluded = [_weekdays_text(req.excluded_weekdays, "と")] if req.excluded_weekdays else []
    for lo, hi in _runs(req.excluded_dates):
        if (hi - lo).days >= 2:
            excluded.append(f"{_day_text(lo, now)}〜{_day_text(hi, now)}")
        else:
            excluded += [_day_text(d, now) for d in _days(lo, hi)]
    if excluded:
        main = f"{main}、{'と'.join(excluded)}以外" if main else f"{'と'.join(excluded)}以外"
    if not main:
        return "いつでも" if req.problem is None else ""
    return main
