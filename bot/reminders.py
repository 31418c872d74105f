"""The day-before reminder, through the channel the resident booked on.

:func:`send_due` asks the database for tomorrow's bookings not yet reminded (after the profile's
``booking.reminder_hour``), claims each one (so two runners never both send) and has Rasa run
``action_send_reminder`` in that conversation with ``output_channel`` set to the booking's
channel. Channels that cannot push (the plain REST channel answers only requests) are counted
as skipped: those residents keep the .ics file and the reference.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import bookings as store
from bot.profile import Profile

log = logging.getLogger(__name__)
#: Channels whose Rasa connector can send without a pending request.
PUSH_CHANNELS = frozenset({"telegram", "line", "webchat", "callback", "socketio"})


class Runner(Protocol):
    async def run_action(self, sender_id: str, action: str, *, slots: dict, output_channel: str) -> None: ...


@dataclass
class Sent:
    sent: int = 0
    skipped: int = 0
    failed: int = 0


async def send_due(engine: AsyncEngine, rasa: Runner, profile: Profile, now: datetime) -> Sent:
    result = Sent()
    for booking in await store.due_reminders(engine, now, profile=profile):
        if not await store.mark_reminded(engine, booking.id, now=now):
            continue  # another runner took it
        if booking.channel not in PUSH_CHANNELS:
            result.skipped += 1
            continue
        try:
            await rasa.run_action(booking.sender_id, "action_send_reminder",
                                  slots={"reminder_reference": booking.reference}, output_channel=booking.channel)
            result.sent += 1
        except Exception:  # one unreachable chat must not stop the others; no personal data logged
            log.exception("reminder for a %s booking could not be sent", booking.channel)
            result.failed += 1
    return result


async def _loop(interval: float) -> None:
    import asyncio
    import os

    from bot import clock
    from bot.db.engine import get_engine
    from bot.profile import load_profile
    from integrations.rasa_api import RasaClient

    rasa = RasaClient(os.environ.get("RASA_URL") or f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}",
                      token=os.environ.get("RASA_TOKEN") or None)
    profile = await asyncio.to_thread(load_profile)
    try:
        while True:
            result = await send_due(get_engine(), rasa, profile, clock.now())
            if result.sent or result.skipped or result.failed:
                log.info("reminders: %d sent, %d skipped (channel cannot push), %d failed",
                         result.sent, result.skipped, result.failed)
            await asyncio.sleep(interval)
    finally:
        await rasa.close()


if __name__ == "__main__":  # python -m bot.reminders  (Procfile: reminders)
    import asyncio

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_loop(300))
