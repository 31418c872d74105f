"""Language detection, limited-Japanese cues and foreign-language crisis words."""
import pytest

from bot.language import detect, foreign_crisis, looks_limited_japanese, notice


@pytest.mark.parametrize("text, lang", [
    ("仕事を探しています", "ja"),
    ("しごと が ない", "ja"),
    ("I lost my job and I need help", "en"),
    ("Perdi meu emprego e preciso de ajuda", "pt"),
    ("Não tenho dinheiro para o aluguel", "pt"),
    ("Não falo japonês, preciso de ajuda", "pt"),  # ê is Portuguese too, not only Vietnamese
    ("Você fala português?", "pt"),
    ("Tôi bị mất việc, cần giúp đỡ", "vi"),
    ("Necesito trabajo, por favor", "es"),
    ("我需要帮助，我没有工作", "zh"),
    ("我沒有錢吃飯了，請幫幫我。", "zh"),
    ("孩子生病了，没有钱去医院", "zh"),
    # kanji without kana is an answer in Japanese, not Chinese (this once switched 「34歳」 to Chinese)
    ("実家", None),
    ("34歳", None),
    ("訂正 年齢44歳", None),
    ("無職", None),
    ("不在", None),
    ("在宅希望", None),
    ("Tôi bị mất việc và cần giúp đỡ", "vi"),
    ("OK", None),
    ("", None),
    ("😭😭", None),
    ("<script>alert(1)</script>", None),
    ("SELECT * FROM users;--", None),
    ("Kailangan ko ng tulong sa trabaho ngayon", "other"),
])
def test_detect(text, lang):
    assert detect(text) == lang


@pytest.mark.parametrize("text, limited", [
    ("にほんご すこし わかります", True),
    ("日本語が苦手です", True),
    ("通訳をお願いできますか", True),
    ("しごと が ない です", True),
    ("仕事がないです", False),
    ("しごとがない", False),
    ("46歳で子ども3人です", False),
])
def test_limited_japanese(text, limited):
    assert looks_limited_japanese(text) is limited


@pytest.mark.parametrize("text, crisis", [
    ("I want to die", True),
    ("I am thinking about suicide", True),
    ("My husband hits me every night", True),
    ("Quero morrer, não aguento mais", True),
    ("Meu marido me bate", True),
    ("Quiero morir", True),
    ("我想死", True),
    ("Tôi muốn chết", True),
    ("I lost my job and I need help", False),
    ("Preciso de ajuda com o aluguel", False),
    ("I'm dying to find a job", False),
])
def test_foreign_crisis(text, crisis):
    assert foreign_crisis(text) is crisis


def test_notice_falls_back_to_english_and_adds_easy_japanese():
    assert "intérprete" in notice("pt")
    assert notice("xx").startswith("This chat is in Japanese")
    assert "やさしい にほんご" in notice(None)
    assert "Para falar com uma pessoa" in notice("pt", again=True) and "人と話したい" in notice("xx", again=True)
