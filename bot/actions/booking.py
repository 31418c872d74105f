"""Booking, moving and cancelling a consultation in the chat (issue 3).

One form, ``booking_form``, whose questions :func:`bot.booking_flow.required` picks: the
reference (move/cancel), the office, the time, the confirmation (with consent to share the
intake summary). Times are read by :mod:`bot.when`; free seats come from :mod:`bot.db.bookings`,
which also guarantees that two residents never get the same last seat.
"""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import booking_flow as flow
from bot import clock
from bot.actions.support import channel_of, profile, say
from bot.db import bookings as store
from bot.db import stats as stats_db
from bot.db.engine import get_engine
from bot.intake import PROBLEM_INTENTS
from bot.profile import Profile
from bot.slots import find_slot, is_open_day
from bot.slots import label as slot_label
from bot.stats.events import booking_event
from bot.summary import intake_summary
from bot.when import matches, parse_when

_SAFETY = frozenset({"crisis_emergency", "urgent_need", "safety_check"})
#: Intents the booking form never answers itself: a rule takes over (safety, a person, stop ...).
_LEAVE = _SAFETY | {"request_human", "stop", "start_over", "show_offices", "cancel_booking", "change_booking",
                    "delete_my_data", "confirm_delete"}
_RESET = ("booking_destination", "booking_slot", "booking_wish", "booking_consent", "booking_misses")
_STOP = {"title": "予約をやめる", "payload": "/stop"}


def _intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def _entity(tracker: Tracker, name: str) -> Any:
    return next((e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == name), None)


def _urgency(tracker: Tracker) -> str:
    referral = tracker.get_slot("referral") or {}
    return referral.get("urgency") or tracker.get_slot("crisis") or "normal"


def _answers(events: List[Dict[str, Any]], asking: str) -> bool:
    """Whether the form's handler took the message as the answer (a time wish counts for the slot)."""
    wanted = {asking, "booking_wish"} if asking == "booking_slot" else {asking}
    return any(e.get("event") == "slot" and e.get("name") in wanted and e.get("value") not in (None, flow.UNKNOWN_REFERENCE)
               for e in events)


def ics_url(reference: str) -> Optional[str]:
    base = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}/ics/{reference}.ics" if base else None


async def _offer(tracker: Tracker, prof: Profile, wish: Optional[str]) -> tuple:
    """(intro sentence, slots) for the form's time question, honouring a typed wish."""
    dest = tracker.get_slot("booking_destination")
    engine, now, urgency = get_engine(), clock.now(), _urgency(tracker)
    req = parse_when(wish, now) if wish else None
    if req is not None and req.problem is None:
        found = await store.open_slots(engine, dest, now, profile=prof, urgency=urgency, limit=flow.OFFER,
                                       predicate=lambda s: matches(req, s.start, s.end))
        if found:
            return flow.offer_intro(req, True, False), found
        closed = bool(req.dates) and not any(is_open_day(dest, d, prof) for d in req.dates)
        start = min(req.dates) if req.dates else req.date_from
        nearby = await store.open_slots(engine, dest, now, profile=prof, urgency=urgency, limit=flow.OFFER,
                                        predicate=(lambda s: s.local_day >= start) if start else None)
        return flow.offer_intro(req, False, closed), nearby
    return flow.offer_intro(None, False, False), await store.open_slots(engine, dest, now, profile=prof,
                                                                          urgency=urgency, limit=flow.OFFER)


async def _single_fit(tracker: Tracker, prof: Profile, req: Any) -> Any:
    """The one free slot that fits ``req``, or None when none or several do."""
    if req is None or req.problem is not None:
        return None
    found = await store.open_slots(get_engine(), tracker.get_slot("booking_destination"), clock.now(), profile=prof,
                                   urgency=_urgency(tracker), limit=2, predicate=lambda s: matches(req, s.start, s.end))
    return found[0] if len(found) == 1 else None


class ActionBookingStart(Action):
    """「予約したい」: book at the referral's office (asking which when there are several)."""

    def name(self) -> Text:
        return "action_booking_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        codes = flow.bookable_destinations(tracker.get_slot("referral"), prof)
        events = [SlotSet(k, None) for k in _RESET] + [SlotSet("booking_mode", "new"), SlotSet("booking_reference", None)]
        if len(codes) == 1:
            events.append(SlotSet("booking_destination", codes[0]))
        say(dispatcher, tracker, "相談の予約をお取りします。予約は無料です。", "そうだん の よやく を します。おかね は かかりません。")
        return events


class ActionManageBooking(Action):
    """「予約を変更したい」「キャンセルしたい」: find the booking (reference in the message, the one
    just made in this chat, or ask for it), then the form asks for a new time or confirmation."""

    def name(self) -> Text:
        return "action_manage_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        mode = "cancel" if _intent(tracker) == "cancel_booking" else "move"
        ref = (store.find_reference_in(tracker.latest_message.get("text") or "") or _entity(tracker, "booking_reference")
               or tracker.get_slot("booking_reference"))  # the booking last made or named in this chat
        if not ref or ref == flow.UNKNOWN_REFERENCE:
            active = await store.bookings_for(get_engine(), tracker.sender_id, active_only=True)
            ref = active[-1].reference if len(active) == 1 else None
        events = [SlotSet(k, None) for k in _RESET] + [SlotSet("booking_mode", mode), SlotSet("booking_reference", None)]
        if ref:
            booking = await store.find(get_engine(), ref)
            if booking is not None and booking.status in store.ACTIVE_STATUSES:
                events += [SlotSet("booking_reference", booking.reference),
                           SlotSet("booking_destination", booking.destination)]
        return events


class ValidateBookingForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_booking_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        return flow.required(tracker.slots, await profile())

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        asking = tracker.get_slot("requested_slot")
        intent, text = _intent(tracker), tracker.latest_message.get("text") or ""
        leaving = intent in _LEAVE or (intent == "deny" and asking != "booking_consent")  # 「やっぱりやめます」
        if asking == "booking_slot" and intent not in _SAFETY and flow.offered_choice(text, flow.OFFER) is not None:
            leaving = False  # 「最初のでお願いします」 picks the first button; it does not start over
        if asking and leaving and not (asking == "booking_reference" and store.find_reference_in(text)):
            return []  # the form rejects; a rule answers (crisis, a person, stop, another booking request)
        handler = {"booking_reference": self._reference, "booking_destination": self._destination,
                   "booking_slot": self._slot, "booking_consent": self._consent}.get(asking)
        if handler and intent in PROBLEM_INTENTS:  # 「しごとが みつからなくて」 while asked for a number
            scratch = CollectingDispatcher()
            events = await handler(scratch, tracker, intent, text)
            if not _answers(events or [], asking):
                return []  # the form rejects; the rule "a problem while booking" starts the screening
            dispatcher.messages.extend(scratch.messages)
        else:
            events = await handler(dispatcher, tracker, intent, text) if handler else []
        if events is None:
            return []  # not an answer at all (nlu_fallback with no date): the fallback rule helps
        slots = {**tracker.slots, **{e["name"]: e["value"] for e in events if e.get("event") == "slot"}}
        nxt = flow.required(slots, await profile())
        return events + [SlotSet("booking_turns", int(tracker.get_slot("booking_turns") or 0) + 1),
                         SlotSet("requested_slot", nxt[0] if nxt else None)]

    async def _reference(self, dispatcher, tracker, intent, text) -> Optional[List[Dict[str, Any]]]:
        if intent in ("dont_know", "decline_answer"):
            return [SlotSet("booking_reference", flow.UNKNOWN_REFERENCE)]
        ref = store.find_reference_in(text) or _entity(tracker, "booking_reference")
        booking = await store.find(get_engine(), ref) if ref else None
        if booking is not None and booking.status in store.ACTIVE_STATUSES:
            return [SlotSet("booking_reference", booking.reference), SlotSet("booking_destination", booking.destination)]
        misses = int(tracker.get_slot("booking_misses") or 0) + 1
        if misses >= 2:
            return [SlotSet("booking_reference", flow.UNKNOWN_REFERENCE)]
        if booking is not None:
            say(dispatcher, tracker, "その予約はすでに取り消されているか、終わっています。ほかの番号があれば教えてください。",
                "その よやく は もう ありません。")
        else:
            say(dispatcher, tracker, "その番号の予約が見つかりませんでした。「Y」から始まる7文字をもう一度お確かめください。",
                "その ばんごう の よやく が ありません。もう いちど みて ください。")
        return [SlotSet("booking_misses", misses)]

    async def _destination(self, dispatcher, tracker, intent, text) -> Optional[List[Dict[str, Any]]]:
        prof = await profile()
        options = flow.bookable_destinations(tracker.get_slot("referral"), prof)
        code = _entity(tracker, "booking_destination")
        if code not in options:
            code = next((c for c in options if prof.destinations[c].short_name in text or prof.destinations[c].name in text), None)
        if code:
            return [SlotSet("booking_destination", code)]
        if intent == "nlu_fallback":
            return None
        say(dispatcher, tracker, "すみません、どの窓口か選んでください。", "どの まどぐち か えらんで ください。")
        return []

    async def _slot(self, dispatcher, tracker, intent, text) -> Optional[List[Dict[str, Any]]]:
        prof = await profile()
        dest, now = tracker.get_slot("booking_destination"), clock.now()
        chosen = flow.parse_iso(_entity(tracker, "booking_slot"))
        if chosen is not None:
            slot = find_slot(dest, prof, chosen)
            if slot is None:
                say(dispatcher, tracker, flow.refusal_note("not_a_slot"), "その じかん は えらべません。")
                return [SlotSet("booking_wish", None)]
            return [SlotSet("booking_slot", slot.local_start.isoformat())]
        wish = tracker.get_slot("booking_wish")
        if intent == "affirm" and wish:
            # 「はい」 to an offer of exactly one slot (the one that fits the wish): that slot.
            only = await _single_fit(tracker, prof, parse_when(wish, now))
            if only is not None:
                return [SlotSet("booking_slot", only.local_start.isoformat()), SlotSet("booking_wish", None)]
        if text.startswith("/"):
            return []
        if flow.offered_choice(text, flow.OFFER) is not None:  # 「2つ目で」: the same offer, by position
            offered = (await _offer(tracker, prof, wish))[1]
            pick = flow.offered_choice(text, len(offered))
            if pick is not None:
                return [SlotSet("booking_slot", offered[pick].local_start.isoformat()), SlotSet("booking_wish", None)]
        req = parse_when(text, now)
        if req.problem in ("unparsed",) and intent == "nlu_fallback":
            return None
        if req.problem:
            say(dispatcher, tracker, flow.problem_note(req.problem), "ひにち と じかん を おしえて ください。")
            return [SlotSet("booking_wish", None)]
        if (req.at or req.time_from) and len(req.dates) == 1:
            # 「12月3日の10時」, or a button's title typed (「12月9日(水) 9:35〜10:25」): one free slot fits, take it
            only = await _single_fit(tracker, prof, req)
            if only is not None:
                return [SlotSet("booking_slot", only.local_start.isoformat()), SlotSet("booking_wish", None)]
        return [SlotSet("booking_wish", text[:200])]

    async def _consent(self, dispatcher, tracker, intent, text) -> Optional[List[Dict[str, Any]]]:
        value = _entity(tracker, "booking_consent")
        if isinstance(value, bool):
            return [SlotSet("booking_consent", value)]
        if intent == "affirm":
            return [SlotSet("booking_consent", True)]
        if intent == "deny":
            if tracker.get_slot("booking_mode") == "new":
                return [SlotSet("booking_consent", False)]  # book, but keep the intake to ourselves
            return []  # 「いいえ」 to moving or cancelling: the question stays, with its 「やめる」 button
        if intent == "nlu_fallback":
            return None
        return []


class AskBookingDestination(Action):
    def name(self) -> Text:
        return "action_ask_booking_destination"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        options = flow.bookable_destinations(tracker.get_slot("referral"), prof)
        choices = [{"title": prof.destinations[c].short_name, "payload": f'/inform{{"booking_destination": "{c}"}}'}
                   for c in options]
        say(dispatcher, tracker, "どの窓口を予約しますか？", "どの まどぐち を よやく しますか？", buttons=choices + [_STOP])
        dispatcher.utter_message(json_message={"type": "ask", "field": "booking_destination", "choices": choices})
        return []


class AskBookingReference(Action):
    def name(self) -> Text:
        return "action_ask_booking_reference"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker, "予約番号（「Y」から始まる7文字）を教えてください。わからないときは「わからない」で大丈夫です。",
            "よやく ばんごう（Y から はじまる 7もじ）を おしえて ください。",
            buttons=[{"title": "わからない", "payload": "/dont_know"}, _STOP])
        dispatcher.utter_message(json_message={"type": "ask", "field": "booking_reference", "input": "text"})
        return []


class AskBookingSlot(Action):
    def name(self) -> Text:
        return "action_ask_booking_slot"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        intro, slots = await _offer(tracker, prof, tracker.get_slot("booking_wish"))
        if not slots:  # a full calendar: never a dead end
            dest = prof.destinations[tracker.get_slot("booking_destination")]
            say(dispatcher, tracker,
                f"申し訳ありません。予約できる空きが見つかりませんでした。{dest.short_name}（{dest.phone}）にお電話いただくか、人と話すこともできます。",
                f"ごめんなさい。あき が ありません。{dest.phone} に でんわ して ください。",
                buttons=[{"title": "人と話したい", "payload": "/request_human"}, _STOP])
            return []
        choices = flow.slot_buttons(slots)
        say(dispatcher, tracker, intro, "あいて いる じかん です。えらんで ください。", buttons=choices + [_STOP])
        dispatcher.utter_message(json_message={"type": "ask", "field": "booking_slot", "choices": choices, "input": "date"})
        return []


class AskBookingConsent(Action):
    """The confirmation before anything is written; for a new booking also the consent question."""

    def name(self) -> Text:
        return "action_ask_booking_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        mode = tracker.get_slot("booking_mode") or "new"
        ref = tracker.get_slot("booking_reference")
        yes = {"title": "はい", "payload": '/inform{"booking_consent": true}'}
        if mode == "cancel":
            booking = await store.find(get_engine(), ref)
            label = _label(booking.start, booking.end, prof) if booking else ref
            say(dispatcher, tracker, f"予約番号 {ref}（{label}）を取り消します。よろしいですか？",
                f"よやく {ref} を とりけし ます。いい ですか？", buttons=[{"title": "取り消す", "payload": yes["payload"]},
                                                                     {"title": "取り消さない", "payload": "/stop"}])
        else:
            dest = prof.destinations[tracker.get_slot("booking_destination")]
            start = flow.parse_iso(tracker.get_slot("booking_slot"))
            label = _label(start, start + _length(dest), prof)
            if mode == "move":
                say(dispatcher, tracker, f"予約を {label} に変更します。よろしいですか？",
                    f"よやく を {label} に かえます。いい ですか？",
                    buttons=[{"title": "変更する", "payload": yes["payload"]}, {"title": "変更しない", "payload": "/stop"}])
            else:
                say(dispatcher, tracker,
                    f"{dest.short_name}で {label} に予約します。\nお話しいただいた内容を窓口に伝えて、準備してもらってもよいですか？"
                    "伝えなくても予約できます。",
                    f"{dest.short_name} で {label} に よやく します。はなした こと を まどぐち に つたえて いい ですか？",
                    buttons=[{"title": "伝えて予約する", "payload": yes["payload"]},
                             {"title": "伝えずに予約する", "payload": '/inform{"booking_consent": false}'}, _STOP])
        dispatcher.utter_message(json_message={"type": "ask", "field": "booking_consent",
                                               "choices": [yes, {"title": "いいえ", "payload": '/inform{"booking_consent": false}'}]})
        return []


def _length(dest: Any) -> timedelta:
    return timedelta(minutes=dest.slot_minutes)


def _label(start: Any, end: Any, prof: Profile) -> str:
    return slot_label(start, end, prof.municipality.timezone)


def _payload(status: str, booking: Any, prof: Profile) -> Dict[str, Any]:
    """The model's protocol payload with the status of what was just done, and the .ics link."""
    payload = {**booking.payload(prof.municipality.timezone), "status": status}
    url = ics_url(booking.reference)
    if url:
        payload["ics"] = url
    return payload


class ActionBook(Action):
    """The form is complete: write the booking (or the move, or the cancellation) and confirm it."""

    def name(self) -> Text:
        return "action_book"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        prof = await profile()
        mode, ref = tracker.get_slot("booking_mode") or "new", tracker.get_slot("booking_reference")
        done = [SlotSet(k, None) for k in _RESET] + [SlotSet("booking_mode", None)]
        if ref == flow.UNKNOWN_REFERENCE:
            desk = prof.destinations["jiritsu_soudan"]
            say(dispatcher, tracker,
                f"番号がわからなくても大丈夫です。{desk.short_name}（{desk.phone}、{desk.hours}）にお電話いただくか、"
                "窓口でお名前をお伝えください。人と話すこともできます。",
                f"だいじょうぶ です。{desk.phone} に でんわ して ください。",
                buttons=[{"title": "人と話したい", "payload": "/request_human"}])
            return done + [SlotSet("booking_reference", None)]
        if not tracker.get_slot("booking_consent") and mode != "new":
            say(dispatcher, tracker, "わかりました。予約はそのままです。", "わかりました。よやく は そのまま です。")
            return done
        engine, now = get_engine(), clock.now()
        if mode == "cancel":
            result = await store.cancel(engine, ref, "resident", now=now)
            if result.ok:
                say(dispatcher, tracker, f"予約 {ref} を取り消しました。また必要なときは、いつでも「予約したい」と送ってください。",
                    f"よやく {ref} を とりけし ました。")
                dispatcher.utter_message(json_message=_payload("cancelled", result.booking, prof))
            else:
                say(dispatcher, tracker, flow.refusal_note(result.reason), "とりけし できません でした。")
            return done
        dest = prof.destinations[tracker.get_slot("booking_destination")]
        start = flow.parse_iso(tracker.get_slot("booking_slot"))
        end = start + _length(dest)
        if mode == "move":
            result = await store.move(engine, ref, start, end, actor="resident", urgency=_urgency(tracker), profile=prof, now=now)
        else:
            summary = intake_summary(tracker.slots, urgency=_urgency(tracker))
            result = await store.book(engine, sender_id=tracker.sender_id, channel=channel_of(tracker),
                                      destination=dest.code, office=dest.name, start=start, end=end,
                                      summary=summary, consent=bool(tracker.get_slot("booking_consent")),
                                      contact=_contact(tracker), urgency=_urgency(tracker), profile=prof, now=now)
        if result.ok:
            booking = result.booking
            if mode == "new" and result.reason != "already_booked":
                await stats_db.record_for_sender(engine, tracker.sender_id, lambda key: booking_event(
                    tracker.slots, booking.destination, channel_of(tracker), now, case_key=key,
                    urgency=_urgency(tracker), tz=prof.municipality.timezone))
            label = _label(booking.start, booking.end, prof)
            if mode == "move":
                say(dispatcher, tracker, f"予約を {label} に変更しました。予約番号は {booking.reference} のままです。",
                    f"よやく を {label} に かえました。")
            else:
                say(dispatcher, tracker, flow.booking_text(dest.name, label, booking.reference, dest.address,
                                                           prof.bring(dest.code), ics_url(booking.reference)),
                    f"よやく しました。{label}。ばんごう は {booking.reference} です。")
            dispatcher.utter_message(json_message=_payload("moved" if mode == "move" else "booked", booking, prof))
            return done + [SlotSet("booking_reference", booking.reference)]
        if result.status == "taken":
            say(dispatcher, tracker, "申し訳ありません。その時間はちょうど埋まってしまいました。次の空きはこちらです。",
                "ごめんなさい。その じかん は うまりました。ほか の じかん を えらんで ください。")
        else:
            say(dispatcher, tracker, flow.refusal_note(result.reason) + "別の時間をお選びください。", "ほか の じかん を えらんで ください。")
        # Ask for another time; the office and the answers given so far stay.
        return [SlotSet("booking_slot", None), SlotSet("booking_wish", None), SlotSet("booking_consent", None),
                FollowupAction("booking_form")]


def _contact(tracker: Tracker) -> Optional[str]:
    value = tracker.get_slot("contact")
    return value if isinstance(value, str) and value not in ("none", "unknown", "declined") else None


class ActionSendReminder(Action):
    """The day before: when, where, the reference, and how to move or cancel (run by bot/reminders.py)."""

    def name(self) -> Text:
        return "action_send_reminder"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        ref = tracker.get_slot("reminder_reference")
        booking = await store.find(get_engine(), ref) if ref else None
        if booking is not None and booking.status in store.ACTIVE_STATUSES:
            prof = await profile()
            label = _label(booking.start, booking.end, prof)
            say(dispatcher, tracker,
                f"明日のご予約のお知らせです。\n【{booking.office}】{label}\n予約番号：{booking.reference}\n"
                "ご都合が悪くなったときは「予約を変更したい」「キャンセルしたい」と送ってください。",
                f"あした よやく が あります。{label}。ばんごう {booking.reference}。")
        return [SlotSet("reminder_reference", None)]
