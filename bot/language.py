"""Which language a message is in, and whether the writer's Japanese looks limited.

Decides when the bot switches to やさしい日本語 and flags an interpreter. Deliberately simple
script and keyword statistics: messages are short and the cost of a miss is low (the resident can
always ask for an interpreter), while a false switch on a native speaker's 「OK」 would be odd.
"""
from __future__ import annotations

import re
from typing import Optional

from bot.textnorm import normalize

_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
#: Chinese without kana: characters Japanese does not write (simplified and some traditional forms)
#: or a first/second person pronoun. Kanji alone is Japanese: 「実家」「34歳」「無職」「訂正 年齢44歳」.
_CHINESE = re.compile(r"[们这么吗呢谢说请帮钱给还对过让问时间题为样开关见长从门书车东边发现电话觉饭员业們這嗎謝說幫錢沒給還對過讓問]|我|你|她")
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ỹ]+")
_TAGS = re.compile(r"<[^>]{0,200}>")
#: Letters only Vietnamese uses (not â/ê/ô, which Portuguese has: 「japonês」「você」).
_VIETNAMESE = re.compile(r"[ăđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)

#: A few frequent function words per Latin-script language; two hits decide.
_MARKERS = {
    "pt": {"eu", "não", "nao", "preciso", "trabalho", "ajuda", "você", "voce", "estou", "emprego", "casa", "dinheiro", "de", "meu", "minha", "obrigado", "obrigada", "falar", "português", "portugues", "sem", "para", "com", "tenho", "perdi"},
    "es": {"yo", "necesito", "trabajo", "ayuda", "usted", "estoy", "empleo", "dinero", "mi", "gracias", "hablar", "español", "tengo", "perdí", "sin", "por", "favor"},
    "vi": {"tôi", "không", "việc", "làm", "giúp", "tiền", "nhà", "cần", "bạn", "và"},
    "en": {"i", "my", "need", "help", "job", "work", "the", "a", "to", "lost", "money", "can", "you", "speak", "english", "please", "have", "no", "is", "am", "rent", "what", "where", "how"},
}

#: Japanese that says, in Japanese, that Japanese is hard.
_LIMITED_JA = re.compile(r"(にほんご|日本語).{0,6}(すこし|少し|ちょっと|わから|分から|むずかし|難し|にがて|苦手|できない|下手|へた)|(やさしい|簡単な|かんたんな)\s*日本語|つうやく|通訳")
#: Space-separated hiragana words (わかちがき) are how learners often type: 「しごと が ない」.
_WAKACHI = re.compile(r"^[\u3040-\u309f\u30fcー]+(\s+[\u3040-\u309f\u30fcー]+){2,}[。、!?！？]*$")


def detect(text: str) -> Optional[str]:
    """Return a protocol ``language`` code (ja, pt, en, zh, vi, other) or None when undecidable."""
    t = _TAGS.sub(" ", normalize(text))  # markup is not language
    if not t.strip():
        return None
    if _KANA.search(t):
        return "ja"
    if _HANGUL.search(t):
        return "other"
    if _HAN.search(t):
        return "zh" if _CHINESE.search(t) else None
    words = [w.lower() for w in _LATIN_WORD.findall(t)]
    if len(words) < 2 and sum(map(len, words)) < 8:
        return None  # 「OK」「no」: too short to say
    if _VIETNAMESE.search(t):
        return "vi"
    scores = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    lang, hits = max(scores.items(), key=lambda kv: kv[1])
    if hits >= 1:
        # Portuguese and Spanish share words; ã/õ/ç and "não" mark Portuguese.
        if lang == "es" and re.search(r"[ãõç]|não", t, re.I):
            return "pt"
        return lang
    return "other" if len(words) >= 4 else None  # Tagalog, Nepali…: enough words to be sure


#: What is left of a message once spaces, punctuation, symbols and emoji are gone.
_NOT_CONTENT = re.compile(r"[\s\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u30fb\u30fc\W_]+")


def says_too_little(text: str) -> bool:
    """True for a lone kana such as 「あ」「え」「ん」 (a slip or a sound, not an answer): the classifier
    would still pick its nearest intent (「あ」 read as thanks). Digits, kanji and yes/no emoji are
    answers and are not caught here."""
    core = _NOT_CONTENT.sub("", normalize(text))
    return len(core) == 1 and bool(_KANA.match(core))


def is_foreign(text: str) -> bool:
    """True when the message is confidently written in a language other than Japanese."""
    return detect(text) not in (None, "ja")


def looks_limited_japanese(text: str) -> bool:
    """True when the message says Japanese is hard or is written the way learners write."""
    t = normalize(text)
    return bool(_LIMITED_JA.search(t) or _WAKACHI.match(t))


#: One line in the resident's language, then the bot goes on in やさしい日本語.
_NOTICE = {
    "en": "This chat is in Japanese. We will write in simple Japanese, and the office can arrange an interpreter.",
    "pt": "Este chat é em japonês. Vamos escrever em japonês simples, e o atendimento pode chamar um intérprete de português.",
    "es": "Este chat está en japonés. Escribiremos en japonés sencillo y la oficina puede ofrecer un intérprete.",
    "zh": "本聊天使用日语。我们会用简单的日语回复，窗口可以安排翻译。",
    "vi": "Cuộc trò chuyện này bằng tiếng Nhật. Chúng tôi sẽ viết tiếng Nhật đơn giản, văn phòng có thể sắp xếp phiên dịch.",
}


#: The second time: not the same notice again, but the way to a person (and the topic buttons).
_AGAIN = {
    "en": "To talk with a person (an interpreter can be arranged), press 「人と話したい」. The other buttons choose a topic.",
    "pt": "Para falar com uma pessoa (com intérprete), aperte 「人と話したい」. Os outros botões escolhem o assunto.",
    "es": "Para hablar con una persona (con intérprete), pulse 「人と話したい」. Los otros botones eligen el tema.",
    "zh": "如需与工作人员交谈（可安排翻译），请按「人と話したい」。其他按钮可选择咨询内容。",
    "vi": "Để nói chuyện với nhân viên (có phiên dịch), hãy bấm 「人と話したい」. Các nút khác để chọn chủ đề.",
}


def notice(lang: Optional[str], again: bool = False) -> str:
    """The interpreter notice in ``lang`` (English when we have no text for it), plus easy Japanese;
    ``again``: the resident wrote in that language before, so point to a person instead."""
    if again:
        return f"{_AGAIN.get(lang or 'en', _AGAIN['en'])}\nひと と はなしたい とき は「人と話したい」を おして ください。"
    return f"{_NOTICE.get(lang or 'en', _NOTICE['en'])}\nやさしい にほんご で はなします。つうやく の ひと も よべます。"


#: Suicidal talk or violence written in another language. Small on purpose: the Japanese lexicon
#: (bot/data/crisis_lexicon.yml) is the main detector; this keeps a foreign-language crisis from
#: being treated as a mere language question.
_FOREIGN_CRISIS = re.compile(
    r"suicid|kill (my ?self|me)|want to die|wanna die|end (it all|my life)|hurt(ing)? myself|(hits|beats|hurts) me\b"
    r"|me matar|quero morrer|acabar com (a )?minha vida|me bate|me agride"
    r"|matarme|quiero morir|me pega"
    r"|自杀|想死|不想活|打我"
    r"|tự tử|tự sát|muốn chết|đánh tôi"
    r"|magpakamatay|gusto ko nang mamatay",
    re.I,
)


def foreign_crisis(text: str) -> bool:
    """True when a non-Japanese message speaks of suicide or violence against the writer."""
    return bool(_FOREIGN_CRISIS.search(normalize(text)))
