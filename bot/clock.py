"""The current time, in one place.

``INTAKE_NOW`` (ISO 8601 with offset) fixes the clock for a whole running stack, so end-to-end
tests and demos can show office-hours behaviour (live handoff, today's slots) at any hour.
Never set it in production.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone


def now() -> datetime:
    fixed = os.environ.get("INTAKE_NOW")
    if fixed:
        moment = datetime.fromisoformat(fixed)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)
