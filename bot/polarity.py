"""はい or いいえ: the polarity of a short reply, from the words themselves.

Yes and no carry the most weight in the chat (consent, a booking confirmation, 「他にありますか」)
and are where a statistical classifier is weakest: 「そうじゃないです」 shares every character
but three with 「そうです」, and 「いいです」 means "no, thank you". This lexicon reads the
negation first, so :class:`bot.nlu.polarity_guard.PolarityGuard` can correct an affirm/deny swap.
Matching is on :func:`bot.textnorm.fold` text (width, katakana → hiragana, lower case).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from bot import textnorm

#: A pictograph after 「はい」 (「はい😊」) does not make it a sentence.
_EMOJI = "[\U0001F300-\U0001FAFF\u2600-\u27BF]"
#: Replies longer than this are sentences with content of their own (「はい、でも家賃が…」).
MAX_REPLY_CHARS = 14

_DENY = (
    r"^(?:いいえ|いーえ|いえ|いや|いんや|ううん|うんにゃ|のー|no|nope)(?:[、。!！ー~]|いや|いえ|です|だ|や|$)|🙅|❌|✖",
    r"ちが(?:う|います|いま|った|ってる)|違(?:う|います|いま|った|ってる)|ちゃう|ちゃいます",
    r"(?:そう|ほう|それ|あって|合って)(?:じゃ|では|や|で)?(?:ない|ねえ|ねぇ|ありません|あらへん|おまへん)",  # ほう: 広島
    r"(?:そう|ほう)(?:じゃ|や)なか",  # 九州「そうじゃなか」
    r"(?:そういう|そんな)(?:わけ|こと)(?:じゃ|では|は)?(?:ない|ありません|あらへん)",
    r"(?:けっこう|結構)(?:です|でs|っす|だ|や)?$|けっこでうす|(?:いら|要ら)(?:ない|ん|へん)|(?:いり|要り)ません",
    r"必要(?:ない|ありません|ないです|あらへん)|遠慮(?:します|しとく|しておきます|させて)|間に合って(?:ます|る)",
    r"当てはまら|あてはまら|当てはまりません|(?:今回|こんかい)は(?:いい|けっこう|結構)",
    r"^(?:やっぱり?|やっぱ)?いいです(?:わ|よ)?$|^(?:特に)?ない(?:です|ない|よ|っす)?$|^それはない$|ではないです$",
)
_AFFIRM = (
    r"^(?:は[あい]+|はーい|はいっ|あい|うん+|ええ|おう|へい|んだ)(?:[、。!！ー~な]|うん|んだ|そう|$|%s)" % _EMOJI,
    r"^(?:そう|せや)+(?:です|でs|でう|や|やで|じゃ|だ(?![んな])|ね|よ|っす|なんです|で|ばい|たい)?$|^(?:そう|せや)(?:です|や|じゃ)",
    r"^ほう(?:じゃ|や)(?:ね|な|の)?$",  # 広島・岡山の「そうだね」
    r"(?:^|、)(?:お(?:ねが|願)い|おねがしい)(?:します|しまーす|したい|ね)?$|^(?:たの|頼)(?:む|みます)|^よろしく",
    r"了解|りょうかい|^りょ$|承知|かしこまり|もちろん|^ok$|^okay$|^yes$|おっけ|^おけ$|^おk$|👍|🙆|👌|⭕",
    r"間違いない|まちがいない|(?:あって|合って)(?:ます|る|いる)$|その(?:通り|とおり)|同意|問題ありません",
    r"^(?:いい|ええ)(?:よ|で|わ)|^それで(?:いい|お願い|よろしく|ええ|進めて)",
)


def pictographs_only(text: str) -> bool:
    """True for a message of emoji alone (「😭😭😭」「😊」), whatever the classifier made of it."""
    core = re.sub(r"[\s\u200d\ufe0f。、.!！?？]", "", text or "")
    return bool(core) and re.fullmatch(f"{_EMOJI}+", core) is not None


@lru_cache(maxsize=1)
def _patterns() -> tuple:
    return re.compile("|".join(_DENY)), re.compile("|".join(_AFFIRM))


def polarity(text: str) -> Optional[str]:
    """``"deny"``, ``"affirm"`` or None (long, mixed or without a yes/no word).

    Negation wins over the affirmative words inside it (「そうじゃない」, 「合ってない」).
    """
    folded = textnorm.fold(text or "").replace(" ", "").strip("。、.!！?？")
    if not folded or len(folded) > MAX_REPLY_CHARS:
        return None
    deny, affirm = _patterns()
    if deny.search(folded):
        return "deny"
    if affirm.search(folded):
        return "affirm"
    return None
