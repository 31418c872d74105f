"""Tests for bot/crisis.py.

The labelled files (tests/data/crisis_labelled.yml, crisis_blind.yml, crisis_blind2.yml) are the
contract: every emergency in them must be caught — each miss is a resident in danger whom the bot
would have answered with an intake question — while false alarms stay rare (domain.md: they
erode trust and staff time). The blind files' headers say how blind each one still is.
"""
from __future__ import annotations

import dataclasses
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.crisis_eval import LABELLED_FILES, evaluate, evaluate_files, load
from bot import crisis
from bot.crisis import EMERGENCY, URGENT, Assessment, assess, is_emergency, load_lexicon

ROOT = Path(__file__).resolve().parents[1]


FILES = [path for path in LABELLED_FILES if path.exists()]
#: Minimum sizes (emergency, urgent, none) each file was written to.
MIN_COUNTS = {
    "crisis_labelled.yml": {"crisis": 150, "none": 150},
    "crisis_blind.yml": {EMERGENCY: 200, URGENT: 100, "none": 250},
    "crisis_blind2.yml": {EMERGENCY: 60, "none": 60},
}


@pytest.fixture(scope="module", params=FILES, ids=[p.name for p in FILES])
def report(request):
    return evaluate(request.param)


def _missed(report, label):
    return [(m["text"], m["got_level"]) for m in report["misclassified"] if m["label"] == label]


# --------------------------------------------------------------------------------------------
# The labelled files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_labelled_file_is_large_and_consistent(path):
    items = load(path)
    levels = load_lexicon().levels
    crises = [i for i in items if i["label"] != "none"]
    counts = {label: sum(1 for i in items if i["label"] == label) for label in (EMERGENCY, URGENT, "none")}
    counts["crisis"] = len(crises)
    assert all(counts[key] >= n for key, n in MIN_COUNTS[path.name].items()), counts
    assert len({i["text"] for i in items}) == len(items), "duplicate texts"
    for item in crises:
        assert levels.get(item.get("signal")) == item["label"], item


def test_blind_files_share_no_message_with_older_files():
    """A blind file that copied older (tuned-on) messages would overstate recall."""
    seen: set[str] = set()
    for path in FILES:
        texts = {i["text"] for i in load(path)}
        assert not texts & seen, (path.name, sorted(texts & seen)[:5])
        seen |= texts


def test_every_emergency_is_detected(report):
    assert report["recall"][EMERGENCY] == 1.0, _missed(report, EMERGENCY)


def test_urgent_recall(report):
    missed = [(t, lvl) for t, lvl in _missed(report, URGENT) if lvl is None]
    assert report["recall"][URGENT] >= 0.95, missed


def test_false_positive_rate(report):
    assert report["false_positive_rate"] <= 0.03, _missed(report, "none")


def test_the_expected_signal_is_named(report):
    assert report["signal_recall"] >= 0.95, report["wrong_signal"]


def test_benchmark_reports_every_file_and_latency():
    result = evaluate_files(FILES[:2])
    assert set(result["files"]) == {p.name for p in FILES[:2]}
    assert result["total"]["counts"]["total"] == sum(len(load(p)) for p in FILES[:2])
    timing = result["latency_ms"]["warm_best_of_5"]
    assert timing["n"] == result["total"]["counts"]["total"] and 0 < timing["p50"] <= timing["p95"] <= timing["max"]


# --------------------------------------------------------------------------------------------
# Targeted cases
# --------------------------------------------------------------------------------------------

SUICIDAL = [
    "死にたい", "しにたい", "氏にたい", "ｼﾆﾀｲ", "タヒにたい", "死にたぃ", "死にたいです", "死んでしまいたい",
    "消えたい", "自殺したい", "生きていたくない", "もう終わりにしたい", "首をつる", "飛び降りたい",
    "46歳で仕事がなくて、もう死にたいです", "死にたいとしか思えない", "しにたいしにたいしにたい",
    "死にたーい", "<p>死にたい</p>", "\ud800死にたい",
]


@pytest.mark.parametrize("text", SUICIDAL)
def test_suicidal_variants(text):
    result = assess(text)
    assert result.level == EMERGENCY and "suicidal" in result.signals, result


NOT_CRISES = [
    "死ぬほど忙しかった", "死ぬほど笑った", "殺虫剤の工場で働いていました", "必死に探しています", "死亡保険",
    "消えたいくらい恥ずかしかった",  # embarrassment hyperbole: see hyperbole in the lexicon
    "自殺対策の仕事をしていた", "ゲームで死んだ", "父が去年死にました", "寝る場所は実家にあります",
    "食べるものは何とかなっています", "死にたいとは思っていません", "上司まじ氏ね", "田中氏に対して意見した",
    "私にたいしてひどい", "タヒチに行きたい", "ご飯がないと力が出ない", "家を追い出されそうで心配",
    "来月には寮を出なあかん", "時給900円しかない", "財布に3000円あります",
]


@pytest.mark.parametrize("text", NOT_CRISES)
def test_not_crises(text):
    assert assess(text).level is None, assess(text)


@pytest.mark.parametrize(
    "text, signal",
    [
        ("今、夫に殴られています", "violence_now"),
        ("包丁を向けられている", "violence_now"),
        ("子どもが虐待されてる", "violence_now"),
        ("薬を大量に飲んだ", "medical"),
        ("息ができない", "medical"),
        ("血が止まらない", "medical"),
        ("母が倒れて意識がない", "medical"),
    ],
)
def test_emergencies(text, signal):
    result = assess(text)
    assert result.level == EMERGENCY and signal in result.signals, result


@pytest.mark.parametrize(
    "text, signal",
    [
        ("今夜寝る場所がありません", "no_shelter"),
        ("昨日から公園で寝ています", "no_shelter"),
        ("今日食べるものがない", "no_food"),
        ("所持金が数百円しかない", "no_money_today"),
        ("今日のお金がない", "no_money_today"),
        ("今月中に部屋を出ていかないといけません", "eviction"),
        ("寮を今月出される", "losing_dorm"),
        ("明日寮を出されます", "losing_dorm"),
        ("DVから逃げてきました", "fleeing_violence"),
        ("避難中です", "fleeing_violence"),
    ],
)
def test_urgent(text, signal):
    result = assess(text)
    assert result.level == URGENT and signal in result.signals, result


def test_emergency_outranks_urgent_and_both_are_named():
    result = assess("寝る場所もないし、もう死にたい")
    assert result.level == EMERGENCY
    assert {"suicidal", "no_shelter"} <= result.signals
    assert "死にたい" in result.matched


# Past suicidal talk (policy in tests/data/crisis_blind.yml): said to be over → urgent, so a person
# still calls back today; recent, ongoing, or not said to be over → emergency.
@pytest.mark.parametrize(
    "text",
    [
        "去年は死にたいと思ったこともあったけど、今は大丈夫です",
        "若い頃に自殺未遂をしたことがあります",
        "昔リスカしてたけど今はしてない",
        "何年も前にODして入院したことがある",
    ],
)
def test_past_suicidal_talk_said_to_be_over_is_urgent(text):
    result = assess(text)
    assert result.level == URGENT and "suicidal_history" in result.signals, result


@pytest.mark.parametrize(
    "text",
    [
        "去年死にたいと思った",  # not said to be over
        "昔から死にたいと思ってた。今は大丈夫",  # 昔から: still true
        "去年死にたいと思った、今もたまに思う",
        "死にたいと思ったけど今は大丈夫。でもやっぱり死にたい",  # a current match outranks history
        "さっき死のうとしたけど今は落ち着いてる",  # just now
        "前は死にたかった。今は大丈夫じゃない",  # negated: not over
    ],
)
def test_recent_or_unresolved_suicidal_talk_stays_emergency(text):
    assert assess(text).level == EMERGENCY, assess(text)


@pytest.mark.parametrize(
    "text, signal",
    [
        ("ｼﾆﾀｲﾖ", "suicidal"),  # an unknown katakana run, read again in hiragana
        ("キエタイヨー", "suicidal"),
        ("Shinitai", "suicidal"),  # romaji, any case
        ("タヒたい", "suicidal"),
        ("死たい", "suicidal"),
        ("またリスカした", "suicidal"),
        ("リスカしちゃいそう", "suicidal"),  # an unknown katakana noun stays whole (not リス|カ|し)
        ("恥ずかしくて死にたいけど、それより本当に生きていたくない", "suicidal"),
        ("今も外で怒鳴ってる。ドアを叩いてる", "violence_now"),
        ("おとうさんがうごかない", "medical"),
        ("呼吸が変", "medical"),  # 変 reads へん but is no negator…
        ("彼氏にどつかれて、顔腫れてるねん", "violence_now"),  # not rewritten to ど|疲れて
        ("どつかれたとこが腫れてきた", "violence_now"),
    ],
)
def test_spelling_and_indirect_wording(text, signal):
    result = assess(text)
    assert result.level == EMERGENCY and signal in result.signals, result


@pytest.mark.parametrize(
    "text",
    [
        "恥ずかしくて消えたい",  # embarrassment right before: hyperbole
        "ハローワークに行きました",  # a known katakana word is not read again
        "ぜいきん はらってない。とくそくじょう きた",  # …so ぜ|いき|ん is not 息 + 変
        "家を追い出されるのではと心配です",  # feared, not fixed
        "ロープを買ってきました、引っ越しの荷造り用",  # unless_message: the context is anywhere
        "今日はこれで終わりにします",
        "借金生活を終わりにしたい",
        "蚊に刺された",
        "寮を追い出されるかもしれない",
        "仕事でつかれて眠い",  # つかれて is still 疲れて
    ],
)
def test_guards_against_false_alarms(text):
    assert assess(text).level is None, assess(text)


#: Crisis and urgent examples of nlu/data/more_service.yml that the lexicon missed when it first met
#: them (7 of 37 emergencies, 10 of 36 urgent; session 5). The classifier had caught them, but only
#: the lexicon raises the emergency handoff; the classifier alone asks gently (safety_check).
@pytest.mark.parametrize(
    "text, level, signal",
    [
        ("屋上にいる。下見てる", EMERGENCY, "suicidal"),
        ("自分なんて消えればいい。方法考えてる", EMERGENCY, "suicidal"),
        ("いきるの つかれた。しぬ", EMERGENCY, "suicidal"),  # hiragana つかれた split by Sudachi
        ("死ぬ勇気もないけど、生きてたくもない", EMERGENCY, "suicidal"),
        ("首にベルトかけてみた", EMERGENCY, "suicidal"),
        ("海に来た。このまま入っていこうかな", EMERGENCY, "suicidal"),
        ("薬とお酒いっしょに飲んだ。ふらふらする", EMERGENCY, "medical"),
        ("夜逃げしてきました。今夜寝る場所を探しています", "urgent", "no_shelter"),
        ("寝袋ひとつで河川敷にいます", "urgent", "no_shelter"),
        ("嫁に出ていけ言われて車で寝とる", "urgent", "no_shelter"),  # western 寝とる
        ("今晩どこで過ごせばいいのかわからない", "urgent", "no_shelter"),
        ("子どもの粉ミルクが今日でなくなります。買うお金がありません", "urgent", "no_food"),
        ("食料支援とかすぐもらえるとこある？今日ほんとに何もない", "urgent", "no_food"),
        ("明日の朝までに家賃払わないと鍵替えるって言われた", "urgent", "eviction"),
    ],
)
def test_first_contact_misses_from_the_training_data(text, level, signal):
    result = assess(text)
    assert result.level == level and signal in result.signals, result


@pytest.mark.parametrize(
    "text",
    [
        "首にタオルをかけて作業しています",
        "首に名札の紐をかけて出勤",
        "屋上にいるので下に来てください",
        "薬とお酒を一緒に飲んだらダメですか",
        "今日は何もない日です",
        "河川敷にいます、花見の場所取り",
        "今晩どこで過ごせばいいか迷ってます、飲み会の後",
        "つかれたので休みたい",
        "このまま仕事を続けていこうか",
    ],
)
def test_the_new_rules_leave_look_alikes_alone(text):
    assert assess(text).level is None, assess(text)


def test_violence_in_the_past_is_history():
    assert assess("子どもの頃、父に殴られていました").level is None
    assert assess("父に殴られています").level == EMERGENCY


def test_is_emergency():
    assert is_emergency("もう死にたい") and not is_emergency("今夜寝る場所がない") and not is_emergency("")


def test_assessment_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        assess("死にたい").level = None  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------------------------

_RNG = random.Random(20240601)
BAD_INPUTS = [
    "",
    " ",
    "\n\n\t",
    None,
    b"\xff\xfe\x00garbage",
    bytes(range(256)),
    bytes(_RNG.randrange(256) for _ in range(5000)),
    "😭🙏" * 500,
    "<script>alert('x')</script>",
    "&lt;&gt;&amp;" * 100,
    "\x00\x07\x1b[31m\u200b\ufeff",
    "".join(chr(_RNG.randrange(0x20, 0x2FFFF)) for _ in range(10_000)),
    "a" * 10_000,
    "。" * 10_000,
    "１２３円" * 2_500,
    "ー" * 3_000 + "ぁ" * 3_000,
    "\ud800\udfff" * 100,
    12345,
]


@pytest.mark.parametrize("text", BAD_INPUTS, ids=range(len(BAD_INPUTS)))
def test_never_raises(text):
    result = assess(text)  # type: ignore[arg-type]
    assert isinstance(result, Assessment)
    assert result.level in (None, URGENT, EMERGENCY)
    assert all(isinstance(q, str) for q in result.matched)


def _ten_thousand(filler: str, tail: str = "") -> str:
    return (filler * (10_000 // len(filler) + 1))[: 10_000 - len(tail)] + tail


LONG_INPUTS = {
    "benign intake text, crisis at the end": _ten_thousand(
        "46歳で仕事がなくて、毎日ハローワークに通っています。家賃も払えなくなりそうで不安です。", "もう死にたい"
    ),
    "labelled set run together": _ten_thousand("。".join(i["text"] for i in load())),
    "random kanji": "".join(chr(_RNG.randrange(0x4E00, 0x9FFF)) for _ in range(10_000)),
    "hiragana": _ten_thousand("しごとがなくてこまってますけどがんばってます"),
}


@pytest.mark.parametrize("name", LONG_INPUTS)
def test_ten_thousand_characters_are_assessed(name):
    """Speed is measured by `make bench` (crisis_eval); here only that long input is handled."""
    assert assess(LONG_INPUTS[name]).level in (None, URGENT, EMERGENCY)


def test_crisis_at_the_end_of_a_long_message_is_found():
    assert assess(LONG_INPUTS["benign intake text, crisis at the end"]).level == EMERGENCY
    huge = "仕事を探しています。" * 10_000 + "もう死にたい"
    assert assess(huge).level == EMERGENCY  # beyond MAX_CHARS: the last half is kept


def test_concurrent_calls_agree():
    texts = ["死にたい", "今夜寝る場所がない", "仕事を探しています"] * 20
    with ThreadPoolExecutor(max_workers=6) as pool:
        levels = list(pool.map(lambda t: assess(t).level, texts))
    assert levels == [EMERGENCY, URGENT, None] * 20


def test_engine_failure_falls_back_to_substring_matching(monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("tokenizer exploded")

    monkeypatch.setattr(crisis, "_analyse", broken)
    assert assess("もう死にたい").level == EMERGENCY
    assert assess("こんにちは").level is None


# --------------------------------------------------------------------------------------------
# The lexicon and the module
# --------------------------------------------------------------------------------------------


def test_every_lexicon_phrase_matches_itself_in_a_sentence():
    """A phrase Sudachi reads differently on its own than in a sentence can never match: catch
    that when staff add one (fragments such as ~年前 are written for exactly this reason)."""
    import yaml

    compiler = crisis._Compiler(yaml.safe_load(crisis.LEXICON_PATH.read_text(encoding="utf-8")))
    lexicon = compiler.compile()
    unmatched = []
    for (text, _exact), pid in compiler.ids.items():
        if text.startswith("~"):
            continue
        for carrier in ("{}", "それで{}。"):
            piece = crisis._analyse(compiler.rewrite(crisis.normalize(carrier.format(text))), compiler.grammar)
            if pid not in lexicon.table.hits(piece):
                unmatched.append((text, carrier))
    assert not unmatched


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("signals: {x: {level: emergency, rules: [{anyy: [死にたい]}]}}", "unknown keys"),
        ("signals: {x: {level: emergency, rules: [{any: ['@nowhere']}]}}", "unknown context"),
        ("signals: {x: {level: severe, rules: [死にたい]}}", "level"),
        ("signals: {x: {level: urgent, rules: [{any: [a], with: [b], scope: day}]}}", "scope"),
        ("signals: {x: {level: emergency, rules: [a]}, y: {level: emergency, rules: [b]}}\n"
         "history: {demote: {x: y}}", "urgent signal"),
    ],
)
def test_malformed_lexicon_is_rejected(tmp_path, yaml_text, message):
    path = tmp_path / "lexicon.yml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_lexicon(path)


def test_import_loads_nothing():
    """Importing the module must not load Sudachi, the lexicon, or Rasa (action server start-up)."""
    code = (
        "import sys, bot.crisis as c; "
        "assert 'sudachipy' not in sys.modules, 'sudachipy'; "
        "assert c._lexicon.cache_info().currsize == 0, 'lexicon'; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('rasa', 'rasa_sdk')], 'rasa'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
