"""The dashboard's numbers, counted by the database (GROUP BY), never by Python over rows.

One call of :func:`counts` runs seven aggregate queries for a 年度 (or one month of it). Python then
only adds up their grouped results (at most a few thousand combinations, however many rows):
list columns (``|a|b|``) are grouped by their stored combination and split afterwards. Each
query has a covering index in its GROUP BY order (``bot/db/stats_models.py``), so SQLite reads
the index alone and rarely sorts.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import AsyncIterator, Dict, Optional, Tuple

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db.engine import reader
from bot.db.stats import decode_codes
from bot.db.stats_models import StatEvent
from bot.stats.events import EMPLOYED, RARE_FLAGS, TARGET_GROUPS

T = StatEvent.__table__
#: Dimensions that split referrals into disjoint categories.
PARTITIONS: Tuple[str, ...] = ("channel", "urgency", "age_band", "household")


@dataclass
class Counts:
    """Grouped counts of one period; every value is a number of rows or of distinct people."""

    fiscal_year: int
    month: Optional[int]
    by_kind_month: Dict[str, Dict[int, int]] = field(default_factory=dict)  # kind -> month -> rows
    outcomes: Dict[str, int] = field(default_factory=dict)  # outcome code -> people (one row per 年度)
    persons: int = 0  # distinct people with a referral or a handoff (実件数)
    partitions: Dict[str, Dict[str, int]] = field(default_factory=dict)  # dimension -> code -> referrals
    destinations: Dict[str, Dict[str, int]] = field(default_factory=dict)  # kind -> destination -> rows
    group_events: Dict[str, int] = field(default_factory=dict)  # target group -> referrals (延べ)
    group_persons: Dict[str, int] = field(default_factory=dict)  # target group -> distinct people
    group_employed: Dict[str, int] = field(default_factory=dict)  # target group -> 就職 outcomes
    flag_persons: Dict[str, int] = field(default_factory=dict)  # rare flag -> distinct people
    minutes_count: int = 0
    minutes_median: Optional[float] = None


#: SQLite page cache of a connection that counts (KiB): the covering indexes of a busy year fit,
#: so the next dashboard view reads them from memory. Pooled connections keep it.
SQLITE_CACHE_KIB = 65536


@contextlib.asynccontextmanager
async def _connect(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read connection whose queries all see one snapshot, so totals and their parts agree.

    SQLite: one deferred transaction in WAL mode is a snapshot. PostgreSQL: REPEATABLE READ
    (READ COMMITTED would let a referral written between two queries break a 計).
    """
    async with reader(engine).connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        else:
            await conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


def _period(fy: int, month: Optional[int]):
    condition = T.c.fiscal_year == fy
    return and_(condition, T.c.month == month) if month is not None else condition


async def counts(engine: AsyncEngine, fy: int, month: Optional[int] = None) -> Counts:
    """Everything the dashboard shows for 年度 ``fy`` (or one calendar month of it).

    Two read connections work at once (SQLite readers do not block each other in WAL mode).
    """
    result = Counts(fiscal_year=fy, month=month)
    where = _period(fy, month)
    await asyncio.gather(_by_kind(engine, where, result), _by_person(engine, where, result))
    return result


async def _by_kind(engine: AsyncEngine, where, result: Counts) -> None:
    async with _connect(engine) as conn:
        # 1. rows per kind and month, outcomes per code
        kinds: Dict[str, Dict[int, int]] = defaultdict(dict)
        outcomes: Dict[str, int] = defaultdict(int)
        for kind, m, outcome, n in await conn.execute(
                select(T.c.kind, T.c.month, T.c.outcome, func.count()).where(where)
                .group_by(T.c.kind, T.c.month, T.c.outcome)):
            kinds[kind][m] = kinds[kind].get(m, 0) + n
            if kind == "outcome" and outcome:
                outcomes[outcome] += n
        result.by_kind_month, result.outcomes = dict(kinds), dict(outcomes)

        # 2. referrals by every partition at once (few combinations), summed per dimension
        parts: Dict[str, Dict[str, int]] = {d: defaultdict(int) for d in PARTITIONS}
        columns = [T.c[d] for d in PARTITIONS]
        for *codes, n in await conn.execute(
                select(*columns, func.count()).where(where, T.c.kind == "referral").group_by(*columns)):
            for dim, code in zip(PARTITIONS, codes):
                parts[dim][code] += n
        result.partitions = {d: dict(v) for d, v in parts.items()}

        # 3. destinations per kind (grouped by the stored combination, then split)
        dests: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for kind, combo, n in await conn.execute(
                select(T.c.kind, T.c.destinations, func.count())
                .where(where, T.c.kind.in_(("referral", "booking", "attended", "no_show")))
                .group_by(T.c.kind, T.c.destinations)):
            for code in decode_codes(combo):
                dests[kind][code] += n
        result.destinations = {k: dict(v) for k, v in dests.items()}

        # 4. median minutes to referral: the middle one or two values, found by the database
        timed = and_(where, T.c.kind == "referral", T.c.minutes_to_referral.isnot(None))
        n = int((await conn.execute(select(func.count()).where(timed))).scalar() or 0)
        result.minutes_count = n
        if n:
            middle = [int(v) for (v,) in await conn.execute(
                select(T.c.minutes_to_referral).where(timed).order_by(T.c.minutes_to_referral)
                .offset((n - 1) // 2).limit(2 if n % 2 == 0 else 1))]
            result.minutes_median = sum(middle) / len(middle)


async def _by_person(engine: AsyncEngine, where, result: Counts) -> None:
    async with _connect(engine) as conn:
        # 5. target groups: referrals and 就職 outcomes (grouped by combination, then split)
        events: Dict[str, int] = defaultdict(int)
        employed: Dict[str, int] = defaultdict(int)
        for kind, outcome, combo, n in await conn.execute(
                select(T.c.kind, T.c.outcome, T.c.target_groups, func.count())
                .where(where, T.c.kind.in_(("referral", "outcome")))
                .group_by(T.c.kind, T.c.outcome, T.c.target_groups)):
            if kind == "referral" or outcome in EMPLOYED:
                for group in decode_codes(combo):
                    (events if kind == "referral" else employed)[group] += n
        result.group_events, result.group_employed = dict(events), dict(employed)

        # 6. distinct people (実件数): each person once, with the groups and flags of their latest
        #    referral or handoff in the period (intake concerns only accumulate, so the latest row
        #    holds what earlier ones did); grouped by combination, then split.
        latest = (select(func.max(T.c.id)).where(where, T.c.kind.in_(("referral", "handoff")))
                  .group_by(T.c.case_key).scalar_subquery())
        persons = 0
        groups: Dict[str, int] = dict.fromkeys(TARGET_GROUPS, 0)
        flags: Dict[str, int] = dict.fromkeys(RARE_FLAGS, 0)
        for combo, flagged, n in await conn.execute(
                select(T.c.target_groups, T.c.flags, func.count()).where(T.c.id.in_(latest))
                .group_by(T.c.target_groups, T.c.flags)):
            persons += n
            for group in decode_codes(combo):
                if group in groups:
                    groups[group] += n
            for flag in decode_codes(flagged):
                if flag in flags:
                    flags[flag] += n
        result.persons, result.group_persons, result.flag_persons = persons, groups, flags
