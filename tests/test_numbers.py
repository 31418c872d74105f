"""Quantity extraction: values and spans exactly as the NLU annotation rules of
``docs/nlu-guidelines.md`` (entity F1 is measured against spans made with these rules)."""
from __future__ import annotations


import pytest

from bot.numbers import Quantity, find_quantities, parse_number

# (text, [(kind, value, span text), ...]) in order of appearance.
QUANTITIES = [
    # ages
    ("46歳です", [("age", 46, "46歳")]),
    ("四十六歳になりました", [("age", 46, "四十六歳")]),
    ("六十六歳", [("age", 66, "六十六歳")]),
    ("６６才です", [("age", 66, "６６才")]),
    ("にじゅうさい", [("age", 20, "にじゅうさい")]),
    ("わたしは よんじゅうろくさい です", [("age", 46, "よんじゅうろくさい")]),
    ("やっぱり 45さい です", [("age", 45, "45さい")]),
    ("五十二歳やで", [("age", 52, "五十二歳")]),
    ("娘（２２才）が働かず家にいて", [("age", 22, "２２才")]),
    ("上の子は十歳、下の子は七歳です", [("age", 10, "十歳"), ("age", 7, "七歳")]),
    ("未婚の母です。0歳の子を抱えて", [("age", 0, "0歳")]),
    ("40代です", []),
    ("借金はいっさいない、じっさいに", []),
    ("最近ございますください", []),
    ("千歳に住んでいます", []),
    ("にじゅうはっさい", [("age", 28, "にじゅうはっさい")]),
    # amounts
    ("パートで月12万くらいです", [("amount", 120000, "12万")]),
    ("手取りは十二万円ほどです", [("amount", 120000, "十二万円")]),
    ("月12万円", [("amount", 120000, "12万円")]),
    ("120,000円です", [("amount", 120000, "120,000円")]),
    ("面接の交通費は5千円までなら出せます", [("amount", 5000, "5千円")]),
    ("副業で1.5万くらいの収入", [("amount", 15000, "1.5万")]),
    ("貯金は0円", [("amount", 0, "0円")]),
    ("所持金3000円", [("amount", 3000, "3000円")]),
    ("家賃は6万5千円です", [("amount", 65000, "6万5千円")]),
    ("1万2千円でした", [("amount", 12000, "1万2千円")]),
    ("１２万５千", [("amount", 125000, "１２万５千")]),
    ("時給１，１００円", [("amount", 1100, "１，１００円")]),
    ("年収は二百万円くらいでした", [("amount", 2000000, "二百万円")]),
    ("つき 8まん くらい", [("amount", 80000, "8まん")]),
    ("しょじきん 80えん です", [("amount", 80, "80えん")]),
    ("きゅうりょう じゅうにまん", [("amount", 120000, "じゅうにまん")]),
    ("財布に三百円しかない", [("amount", 300, "三百円")]),
    ("ゼロ円です", [("amount", 0, "ゼロ円")]),
    ("月12万円位", [("amount", 120000, "12万円")]),
    ("月収15万～20万", [("amount", 150000, "15万"), ("amount", 200000, "20万")]),
    ("¥120,000", [("amount", 120000, "¥120,000")]),
    ("千葉で働いてた、万が一のため", []),
    ("電話は3000番", []),
    # durations
    ("1年5か月働いてない", [("duration", 17, "1年5か月")]),
    ("仕事を辞めて半年になります", [("duration", 6, "半年")]),
    ("3ヶ月", [("duration", 3, "3ヶ月")]),
    ("3カ月", [("duration", 3, "3カ月")]),
    ("3ヵ月", [("duration", 3, "3ヵ月")]),
    ("三か月だけ派遣でいまいた", [("duration", 3, "三か月")]),
    ("2年", [("duration", 24, "2年")]),
    ("派遣で工場に1年半いました", [("duration", 18, "1年半")]),
    ("二年半", [("duration", 30, "二年半")]),
    ("あかん間違えた、2年半やわ", [("duration", 30, "2年半")]),
    ("最後の出勤から2週間です", [("duration", 0, "2週間")]),
    ("給料日まで10日あります", [("duration", 0, "10日")]),
    ("3ヶ月間休職", [("duration", 3, "3ヶ月間")]),
    ("1年と5か月", [("duration", 17, "1年と5か月")]),
    ("やちん 2かげつ たまってます", [("duration", 2, "2かげつ")]),
    ("引きこもって3年目", [("duration", 36, "3年")]),
    ("２週間前から無職でう", [("duration", 0, "２週間")]),
    ("じゅっかげつ", [("duration", 10, "じゅっかげつ")]),
    ("にねんはん", [("duration", 30, "にねんはん")]),
    ("2020年に辞めた、令和2年、高校2年、2年生、２０２４年３月", []),
    ("3月10日に面接、週3日働きたい", []),
    # counts
    ("子どもは2人です", [("count", 2, "2人")]),
    ("子どもが二人いて", [("count", 2, "二人")]),
    ("こども は ふたり です", [("count", 2, "ふたり")]),
    ("扶養家族は3名です", [("count", 3, "3名")]),
    ("息子が一人います", [("count", 1, "一人")]),
    ("こども 3にん いて", [("count", 3, "3にん")]),
    ("子どもはひとりです", [("count", 1, "ひとり")]),
    ("子ども二人おるで", [("count", 2, "二人")]),
    ("夫婦と子ども2人で住んでいます", [("count", 2, "2人")]),
    ("一人暮らしです", []),
    ("ひとり暮らし", []),
    ("二人暮らしです", []),
    ("ひとり親です", []),
    ("一人で子どもを育てています", []),
    ("主人と二人で切り盛りしていた", []),
    ("小学生の娘と二人です", []),  # the two of us, not a count of children
    ("娘と二人やねん", []),
    ("離婚して子どもとふたりだけど", []),
    ("息子どふたりで暮らしてるんだ", []),  # Tohoku ど for と
    ("旦那と別れで、娘ど二人でやってんだ", []),
    ("だけど二人とも無職です", [("count", 2, "二人")]),
    ("夫と2人の子どもがいます", [("count", 2, "2人")]),
    ("子どもふたりを育てています", [("count", 2, "ふたり")]),
    ("3しゅうかん まえ", [("duration", 0, "3しゅうかん")]),
    ("一日二食で済ませる日もあります", []),  # how often, not how long
    ("1日3時間だけ働きたい", []),
    ("一日中寝ています", []),
    ("食費を一日５００円にしてまう", [("amount", 500, "５００円")]),
    ("夫を一人にしておくのが不安です", []),
    ("週に2日だけ", []),
    ("週休二日の事務職を探しています", []),
    ("週に二、三日ほど働きたい", []),
    ("週2〜3日", []),
    ("膝の半月板をいためて", []),  # the knee's meniscus, not half a month
    ("半月前に辞めた", [("duration", 0, "半月")]),
    ("カラオケ ヒトリ デ イッテモ", []),  # spaced-out kana: 一人で
    ("むすこ ひとり です", [("count", 1, "ひとり")]),
    ("一日千円で暮らしています", [("amount", 1000, "千円")]),  # a daily budget, not a 0-day span
    ("食費は一日百円", [("amount", 100, "百円")]),
    ("2日間何も食べていない", [("duration", 0, "2日間")]),
    ("3日前に辞めました", [("duration", 0, "3日")]),
    ("一人っ子で、二人目はいない", []),
    ("名古屋に3名前後", []),
    ("会社に人がいない", []),
    # several in one message
    ("46歳で子ども3人、1年5か月働いてない",
     [("age", 46, "46歳"), ("count", 3, "3人"), ("duration", 17, "1年5か月")]),
    ("パートで月12万くらい、家賃を2か月滞納してる", [("amount", 120000, "12万"), ("duration", 2, "2か月")]),
    ("あ、29歳じゃなくて28歳だった", [("age", 29, "29歳"), ("age", 28, "28歳")]),
    ("ﾊﾟｰﾄで月１２万、ｺﾄﾞﾓ２人", [("amount", 120000, "１２万"), ("count", 2, "２人")]),
]


@pytest.mark.parametrize("text,expected", QUANTITIES)
def test_find_quantities(text, expected):
    found = find_quantities(text)
    assert [(q.kind, q.value, q.text) for q in found] == expected
    for q in found:
        assert text[q.start:q.end] == q.text  # offsets index the original text


def test_offsets_survive_invisible_characters_and_half_width_kana():
    text = "\u200bﾊﾟｰﾄ\u3000で　月１２万\x00くらい"
    (q,) = find_quantities(text)
    assert (q.kind, q.value, text[q.start:q.end]) == ("amount", 120000, "１２万")


def test_quantity_is_frozen():
    q = find_quantities("46歳")[0]
    assert q == Quantity("age", 46, 0, 3, "46歳")
    with pytest.raises(AttributeError):
        q.value = 1  # type: ignore[misc]


NUMERALS = [
    ("46", 46), ("４６", 46), ("四十六", 46), ("六十六", 66), ("十二万", 120000), ("12万5千", 125000),
    ("120,000", 120000), ("1.5万", 15000), ("二", 2), ("ゼロ", 0), ("〇", 0), ("零", 0),
    ("よんじゅうろく", 46), ("にじゅう", 20), ("ふたり", 2), ("ひとり", 1), ("百二十", 120), ("二〇二〇", 2020),
    ("千二百三十四万五千六百七十八", 12345678), ("さんびゃく", 300), (" 46 ", 46),
    ("1.5", None), ("万", None), ("いっ", None), ("", None), ("abc", None), ("1,2", None), ("十十", None),
    ("46歳", None), ("4６x", None), (None, None), ("1" * 5000, None),
]


@pytest.mark.parametrize("text,expected", NUMERALS)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


BAD_INPUT = [
    "", " ", "😀😀😀", "<script>alert('46歳')</script>".replace("46歳", "x"), "I lost my job 3 months ago",
    "\x00\x01\x02\x7f\ufffd", "あ" * 10_000, "1" * 10_000, "一" * 10_000, "に" * 10_000, "\ud800\udfff",
]


@pytest.mark.parametrize("text", BAD_INPUT)
def test_bad_input_gives_no_quantities(text):
    assert find_quantities(text) == []


def test_non_string_input_gives_no_quantities():
    assert find_quantities(None) == []  # type: ignore[arg-type]
    assert find_quantities(b"46\xe6\xad\xb3") == []  # type: ignore[arg-type]


def test_long_input_is_read_without_error():
    """Speed is measured by `make bench`; here only that long input keeps working."""
    text = ("46歳で子ども3人、1年5か月働いてない。月12万くらい。" * 400)[:10_000]
    found = find_quantities(text)
    assert found and {q.kind for q in found} == {"age", "count", "duration", "amount"}
    assert all(text[q.start:q.end] == q.text for q in found)
