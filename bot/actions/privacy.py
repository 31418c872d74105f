"""「私のデータを消してください」: confirm, then delete everything this conversation left behind.

``action_offer_delete`` asks once, with 「削除する」 (``/confirm_delete``) and 「やめる」 (``/deny``);
the rules run ``action_delete_my_data`` only right after that question. It deletes the
conversation's tickets, bookings (active ones are cancelled first, so the seat is free again) and
staff messages (:func:`bot.db.personal.erase_sender`), tells the resident what went, and returns
``AllSlotsReset`` + ``Restarted``: the tracker is empty for the rest of the turn, and the tracker
store (:class:`bot.trackerstore.EncryptedSQLTrackerStore`) deletes the conversation's stored events
when it saves this turn. Anonymous statistics stay.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, Restarted
from rasa_sdk.executor import CollectingDispatcher

from bot import clock
from bot.actions.support import profile, say
from bot.db.engine import get_engine
from bot.db.personal import Erased, erase_sender

log = logging.getLogger(__name__)
CONFIRM = {"title": "削除する", "payload": "/confirm_delete"}
KEEP = {"title": "やめる", "payload": "/deny"}


def erased_lines(erased: Erased) -> List[str]:
    """What was deleted, one line each, for the resident (counts only)."""
    lines = ["・このチャットでの会話の記録"]
    if erased.tickets:
        lines.append(f"・相談の受付票（{erased.tickets}件）")
    if erased.bookings:
        freed = f"、うち{erased.cancelled}件は取り消してから削除" if erased.cancelled else ""
        lines.append(f"・予約（{erased.bookings}件{freed}）")
    if erased.staff_messages:
        lines.append(f"・職員からのメッセージ（{erased.staff_messages}件）")
    return lines


class ActionOfferDelete(Action):
    """Say what deletion means and ask to confirm; nothing is deleted here."""

    def name(self) -> Text:
        return "action_offer_delete"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker,
            "このチャットでお話しいただいた内容と、相談の受付票・予約・職員からのメッセージをすべて削除します。"
            "予約が残っているときは、取り消してから削除します。削除すると元に戻せません。削除してよろしいですか？",
            "はなした ないよう、うけつけ、よやく を ぜんぶ けします。よやく は とりけし ます。"
            "もと に もどせません。けして いい ですか？",
            buttons=[CONFIRM, KEEP])
        return []


class ActionDeleteMyData(Action):
    """The resident confirmed: delete, report what went, and reset the conversation."""

    def name(self) -> Text:
        return "action_delete_my_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        try:
            erased = await erase_sender(get_engine(), tracker.sender_id, now=clock.now())
        except Exception as err:  # nothing is reset: the resident can ask again or call
            log.error("deleting a conversation's data failed: %s", err.__class__.__name__)
            desk = (await profile()).destinations["jiritsu_soudan"]
            say(dispatcher, tracker,
                f"申し訳ありません。いま削除できませんでした。少し時間をおいてもう一度「データを消して」と送るか、"
                f"{desk.short_name}（{desk.phone}）にご連絡ください。",
                f"ごめんなさい。いま けせません でした。あとで もう いちど おくって ください。{desk.phone}")
            return []
        say(dispatcher, tracker,
            "削除しました。\n" + "\n".join(erased_lines(erased))
            + "\n個人が特定できない統計（相談の件数など）だけが残ります。またいつでも、最初から相談できます。",
            "けしました。はなした こと も、うけつけ も、よやく も のこって いません。"
            "にんずう など の とうけい だけ が のこります。また いつでも そうだん できます。")
        return [AllSlotsReset(), Restarted()]


class ActionKeepData(Action):
    """「やめる」: nothing deleted; the conversation can go on."""

    def name(self) -> Text:
        return "action_keep_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker, "わかりました。何も削除していません。相談を続けるときは「続きから」と送ってください。",
            "わかりました。なにも けして いません。",
            buttons=[{"title": "続きから", "payload": "/resume"}, {"title": "今日はここまで", "payload": "/stop"}])
        return []
