"""Retention: purge personal data older than the profile's ``privacy.retention_days``.

    python -m bot.retention [--dry-run] [--days N] [--endpoints endpoints.yml]

In the bot's database (``DATABASE_URL``) ticket summaries and notes, booking summaries and
contacts are emptied and the rows unlinked from the chat account, staff messages are deleted
(:func:`bot.db.personal.purge_before`); the rows themselves stay (dates, status, destination,
urgency), and so does the ``stat_events`` table. In Rasa's conversation store (the tracker store
of ``endpoints.yml``; a relative SQLite path is read from the current directory, as Rasa does)
every conversation whose last event is older is deleted. ``--dry-run`` counts without changing
anything. Only counts are printed, never personal data. The maintenance process
(:mod:`bot.maintenance`) runs this daily.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List, Optional, Union

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.db import personal, trackerdb
from bot.paths import ROOT
from bot.db.engine import make_engine
from bot.profile import load_profile

DEFAULT_ENDPOINTS = ROOT / "endpoints.yml"


@dataclass(frozen=True)
class Report:
    days: int
    cutoff: datetime
    dry_run: bool
    database: personal.Purged
    conversations: Optional[trackerdb.Purged]  # None: the tracker store is not an SQL database

    def lines(self) -> List[str]:
        verb = "would be " if self.dry_run else ""
        out = [f"retention {self.days} days: personal data last active before {self.cutoff:%Y-%m-%d %H:%M} UTC"
               + (" (dry run, nothing changed)" if self.dry_run else ""),
               f"handoff tickets {verb}purged: {self.database.tickets}",
               f"bookings {verb}purged: {self.database.bookings}",
               f"staff messages {verb}deleted: {self.database.staff_messages}"]
        if self.conversations is None:
            out.append("conversations: the tracker store is not an SQL database, nothing done")
        else:
            out.append(f"conversations {verb}deleted: {self.conversations.conversations} "
                       f"({self.conversations.events} events)")
        return out


async def run(now: datetime, *, days: int, engine: AsyncEngine, tracker_url: Optional[Union[str, URL]],
              dry_run: bool = False) -> Report:
    """Purge (or with ``dry_run`` count) everything personal last active before ``now - days``."""
    if days < 1:
        raise ValueError("days must be at least 1")
    cutoff = now.astimezone(timezone.utc) - timedelta(days=days)
    database = await personal.purge_before(engine, cutoff, dry_run=dry_run)
    conversations = None
    if tracker_url is not None:
        conversations = await asyncio.to_thread(trackerdb.purge_idle, tracker_url, cutoff.timestamp(),
                                                dry_run=dry_run)
    return Report(days=days, cutoff=cutoff, dry_run=dry_run, database=database, conversations=conversations)


async def run_configured(now: datetime, *, dry_run: bool = False, days: Optional[int] = None,
                         endpoints: Union[str, Path] = DEFAULT_ENDPOINTS) -> Report:
    """:func:`run` with the profile's retention, ``DATABASE_URL`` and the tracker store of ``endpoints``."""
    profile = await asyncio.to_thread(load_profile)
    tracker_url = trackerdb.url_from_endpoints(endpoints)
    engine = make_engine()
    try:
        return await run(now, days=days or profile.privacy.retention_days, engine=engine, tracker_url=tracker_url,
                         dry_run=dry_run)
    finally:
        await engine.dispose()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.retention",
                                     description="Purge personal data older than privacy.retention_days.")
    parser.add_argument("--dry-run", action="store_true", help="count what would be purged, change nothing")
    parser.add_argument("--days", type=int, help="override the profile's privacy.retention_days")
    parser.add_argument("--endpoints", default=str(DEFAULT_ENDPOINTS), help="Rasa endpoints.yml (tracker store)")
    args = parser.parse_args(argv)
    if args.days is not None and args.days < 1:
        parser.error("--days must be at least 1")
    try:
        report = asyncio.run(run_configured(clock.now(), dry_run=args.dry_run, days=args.days,
                                            endpoints=args.endpoints))
    except (trackerdb.EndpointsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
