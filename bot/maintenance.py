"""The maintenance process (Procfile ``maintenance:``): retention, once a day.

    python -m bot.maintenance            # runs now, then every day at 03:00 local time
    python -m bot.maintenance --once     # one run, then exit (cron, tests)

:func:`run_once` is the whole day's work; the loop only sleeps until :func:`next_run`. A failed
run is logged (without personal data) and tried again the next day.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import List, Optional, Union
from zoneinfo import ZoneInfo

from bot import clock, retention
from bot.profile import load_profile

log = logging.getLogger("bot.maintenance")
RUN_AT = time(3, 0)


def next_run(now: datetime, timezone: str, at: time = RUN_AT) -> datetime:
    """The first ``at`` (local time in ``timezone``) strictly after ``now``."""
    local = now.astimezone(ZoneInfo(timezone))
    candidate = datetime.combine(local.date(), at, tzinfo=local.tzinfo)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=local.tzinfo)
    return candidate


async def run_once(now: datetime, *, endpoints: Union[str, Path] = retention.DEFAULT_ENDPOINTS) -> retention.Report:
    """One day's maintenance: the retention purge."""
    report = await retention.run_configured(now, endpoints=endpoints)
    for line in report.lines():
        log.info(line)
    return report


async def loop(endpoints: Union[str, Path] = retention.DEFAULT_ENDPOINTS) -> None:
    zone = (await asyncio.to_thread(load_profile)).municipality.timezone
    while True:
        now = clock.now()
        try:
            await run_once(now, endpoints=endpoints)
        except Exception as err:  # keep the process alive; the next day tries again
            log.error("maintenance run failed: %s", err.__class__.__name__)
        wait = (next_run(clock.now(), zone) - clock.now()).total_seconds()
        await asyncio.sleep(max(wait, 60.0))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.maintenance", description="Daily retention purge.")
    parser.add_argument("--once", action="store_true", help="run once and exit")
    parser.add_argument("--endpoints", default=str(retention.DEFAULT_ENDPOINTS), help="Rasa endpoints.yml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.once:
        asyncio.run(run_once(clock.now(), endpoints=args.endpoints))
        return 0
    try:
        asyncio.run(loop(args.endpoints))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
