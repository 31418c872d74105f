"""Bounded in-memory maps the channels need: button ids → payloads, and ids already seen.

Telegram caps ``callback_data`` at 64 bytes while our payloads (``/inform{"housing": …}``) are
longer, so a button carries a short random id and the payload stays here. Only payloads we
offered can come back this way: a forged or stale id finds nothing. Random ids (not a counter)
mean an id from before a restart can never resolve to a different payload.
"""
from __future__ import annotations

import secrets
from collections import OrderedDict
from typing import Hashable, Optional

from integrations.channels.render import QuickReply


class CallbackStore:
    """Per-chat LRU of button id → (title, payload); the least recently active chats go first."""

    def __init__(self, per_chat: int = 64, chats: int = 5000) -> None:
        self.per_chat = per_chat
        self.chats = chats
        self._data: "OrderedDict[str, OrderedDict[str, QuickReply]]" = OrderedDict()

    def put(self, chat: str, reply: QuickReply) -> str:
        """Remember ``reply`` for ``chat``; returns its id (9 ASCII characters)."""
        buttons = self._data.get(chat)
        if buttons is None:
            buttons = self._data[chat] = OrderedDict()
            while len(self._data) > self.chats:
                self._data.popitem(last=False)
        self._data.move_to_end(chat)
        cid = "b" + secrets.token_urlsafe(6)
        while cid in buttons:
            cid = "b" + secrets.token_urlsafe(6)
        buttons[cid] = reply
        while len(buttons) > self.per_chat:
            buttons.popitem(last=False)
        return cid

    def get(self, chat: str, cid: Optional[str]) -> Optional[QuickReply]:
        """The button behind ``cid`` in ``chat``, or None when unknown or evicted."""
        buttons = self._data.get(chat)
        if buttons is None or not cid:
            return None
        return buttons.get(cid)

    def __len__(self) -> int:
        return sum(len(b) for b in self._data.values())


class SeenIds:
    """A bounded set for at-most-once processing of redelivered events."""

    def __init__(self, capacity: int = 10000) -> None:
        self.capacity = capacity
        self._seen: "OrderedDict[Hashable, None]" = OrderedDict()

    def first_time(self, key: Hashable) -> bool:
        """True the first time ``key`` is offered (and remembers it), False afterwards."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

