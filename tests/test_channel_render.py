"""render.py: bot messages and protocol payloads → channel-neutral parts (pure)."""
from __future__ import annotations

from integrations.channels.callbacks import CallbackStore, SeenIds
from integrations.channels.inbound import GREETING_PAYLOAD, engine_text
from integrations.channels.render import (
    Part,
    QuickReply,
    render_message,
    split_text,
    truncate,
    utf16_len,
)

CHOICES = [{"title": "賃貸（アパートなど）", "payload": '/inform{"housing": "renting"}'},
           {"title": "路上・野宿", "payload": '/inform{"housing": "street"}'}]


def test_text_with_buttons_is_one_part_with_quick_replies():
    parts = render_message({"text": "今はどちらにお住まいですか？", "buttons": CHOICES, "custom": None, "image": None})
    assert parts == [Part("今はどちらにお住まいですか？", (
        QuickReply("賃貸（アパートなど）", '/inform{"housing": "renting"}'),
        QuickReply("路上・野宿", '/inform{"housing": "street"}')))]


def test_ask_payload_is_not_shown_and_unknown_payloads_are_dropped():
    assert render_message({"custom": {"type": "ask", "field": "housing", "choices": CHOICES}}) == []
    assert render_message({"custom": {"type": "mystery", "secret": "内部データ"}}) == []
    assert render_message({"custom": "not a mapping"}) == []
    assert render_message({"text": "   ", "buttons": None}) == []


def test_malformed_buttons_are_skipped():
    parts = render_message({"text": "選んでください", "buttons": [
        {"title": "はい", "payload": "/affirm"}, {"title": "", "payload": "/x"}, {"payload": "/y"}, "ボタン", None]})
    assert parts[0].quick_replies == (QuickReply("はい", "/affirm"),)


def test_split_and_truncate_count_utf16_and_never_break_characters():
    assert utf16_len("あ😀") == 3
    text = "あいう\nえお😀😀😀\nかきくけこ"
    chunks = split_text(text, 8)
    assert all(utf16_len(c) <= 8 for c in chunks)
    assert "".join(chunks) == text.replace("\n", "")
    assert split_text("😀" * 5, 3) == ["😀", "😀", "😀", "😀", "😀"]
    assert split_text("", 10) == [""]
    assert truncate("ひとり親（子どもと）", 20) == "ひとり親（子どもと）"
    assert truncate("😀" * 15, 20) == "😀" * 9 + "…"
    assert utf16_len(truncate("😀" * 15, 20)) <= 20
    assert truncate("お辞儀🙇\u200d♀️のボタン", 7) == "お辞儀🙇…"  # no dangling joiner


def test_typed_slashes_cannot_carry_intents_and_start_greets():
    assert engine_text("/start") == GREETING_PAYLOAD
    assert engine_text("/start@kurashi_bot abc") == GREETING_PAYLOAD
    assert engine_text('/inform{"age": 5}') == 'inform{"age": 5}'
    assert engine_text("//request_human") == "request_human"
    assert engine_text("  家賃が払えません 😢 ") == "家賃が払えません 😢"
    assert engine_text("/starting") == "starting"


def test_callback_store_is_bounded_and_scoped_per_chat():
    store = CallbackStore(per_chat=3, chats=2)
    ids = [store.put("tg:1", QuickReply(f"選択{i}", f"/p{i}")) for i in range(5)]
    assert all(len(i.encode()) <= 64 for i in ids) and len(set(ids)) == 5
    assert store.get("tg:1", ids[0]) is None  # evicted: oldest first
    assert store.get("tg:1", ids[4]) == QuickReply("選択4", "/p4")
    assert store.get("tg:2", ids[4]) is None  # another chat cannot use it
    store.put("tg:2", QuickReply("a", "/a"))
    store.put("tg:3", QuickReply("b", "/b"))
    assert store.get("tg:1", ids[4]) is None  # least recently active chat dropped
    assert len(store) == 2
    seen = SeenIds(capacity=2)
    assert seen.first_time("e1") and not seen.first_time("e1")
    assert seen.first_time("e2") and seen.first_time("e3") and seen.first_time("e1")
