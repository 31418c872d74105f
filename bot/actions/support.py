"""Helpers shared by the actions: profile access off the event loop, slot snapshots, utterances."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, Iterable, List, Mapping

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.profile import Profile, load_profile


async def profile() -> Profile:
    """The municipality profile; the first call reads YAML in a worker thread, later calls hit the cache."""
    return await asyncio.to_thread(load_profile)


def slots_of(tracker: Tracker) -> Dict[str, Any]:
    return dict(tracker.slots)


def easy(tracker: Tracker) -> bool:
    return bool(tracker.get_slot("easy_ja"))


def say(dispatcher: CollectingDispatcher, tracker: Tracker, polite: str, easy_text: str, **kwargs: Any) -> None:
    """Utter the やさしい日本語 text when the resident needs it, the polite text otherwise."""
    dispatcher.utter_message(text=easy_text if easy(tracker) else polite, **kwargs)


def slot_events(updates: Mapping[str, Any]) -> List[SlotSet]:
    return [SlotSet(k, v) for k, v in updates.items()]


def buttons(choices: Iterable[Mapping[str, str]]) -> List[Dict[str, str]]:
    return [{"title": c["title"], "payload": c["payload"]} for c in choices]


def channel_of(tracker: Tracker) -> str:
    return (tracker.get_latest_input_channel() or "rest")
