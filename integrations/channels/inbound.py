"""What residents' messages become before they reach the engine, and the fixed replies.

Pure. Both channels share these so the wording is the same everywhere (warm, short, です/ます).
"""
from __future__ import annotations

import re

#: Sent instead of forwarding stickers, photos, voice, video, location and files.
NOT_TEXT = (
    "ありがとうございます。申し訳ありませんが、文字のメッセージだけ読むことができます。"
    "ご相談の内容を、文字で送っていただけますか。"
)
#: A button whose id is no longer known (old message, or the server restarted).
EXPIRED_BUTTON = (
    "申し訳ありません。このボタンは使えなくなりました。"
    "お手数ですが、いちばん新しいボタンを押すか、文字で送ってください。"
)
#: Group chats: consultations are private, so the bot only talks one to one.
ONE_TO_ONE = "ご相談は、1対1のトークでお願いします。秘密を守るため、グループではお話を伺えません。"
#: The engine failed; nothing the resident did wrong.
TRY_AGAIN = "申し訳ありません。ただいまお返事ができません。少し時間をおいて、もう一度送っていただけますか。"
#: LINE follow event when the engine itself said nothing.
WELCOME = (
    "友だち追加ありがとうございます。お仕事やくらしのお困りごとを、文字で気軽に送ってください。"
    "相談は無料で、秘密は守られます。"
)
#: Text shown above buttons that came without any text (channels require some).
CHOOSE = "お選びください。"

#: Intent the engine receives when a conversation is opened (Telegram /start, LINE follow).
GREETING_PAYLOAD = "/greet"

_START = re.compile(r"^/start(@\w+)?(\s|$)")


def engine_text(typed: str) -> str:
    """Typed text → what the engine receives.

    Rasa reads a leading "/" as an intent with entities (``/inform{"age": 5}``); removing typed
    slashes means only buttons we offered can carry intents. Telegram's ``/start`` opens the
    conversation with the greeting.
    """
    text = typed.strip()
    if _START.match(text):
        return GREETING_PAYLOAD
    return text.lstrip("/").strip() if text.startswith("/") else text
