"""``GET /ics/{reference}.ics``: the calendar file offered after booking (residents' web server).

The reference is the only key, as on the phone; the file holds the office, the time and the
reference, nothing the resident told the bot. Cancelled bookings return a cancelled event so a
calendar that imported the file can drop it.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from bot.calendar_ics import booking_ics
from bot.db import bookings as store
from bot.db.engine import get_engine
from bot.profile import load_profile


async def _ics(request: web.Request) -> web.Response:
    ref = store.normalize_reference(request.match_info["reference"])
    booking = await store.find(get_engine(), ref) if ref else None
    if booking is None:
        return web.Response(status=404, text="予約が見つかりません。", content_type="text/plain", charset="utf-8")
    profile = await asyncio.to_thread(load_profile)
    body = booking_ics(booking, profile)
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{booking.reference}.ics"',
                                 "Cache-Control": "no-store"})


def setup_ics(app: web.Application) -> None:
    app.router.add_get(r"/ics/{reference:[A-Za-z0-9\-]{1,20}}.ics", _ics, name="ics")
