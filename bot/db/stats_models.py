"""The statistics table: one anonymous row per referral, booking, attendance, handoff or outcome.

Rows hold codes only (see ``bot/stats/events.py``, whose ``check_row`` every write passes). They
live on the bot's ``Base`` so one migration history covers them, and they are *not* personal data
in the sense the purge removes: they survive it (docs/statistics.md). List-valued columns are
stored as ``|code|code|`` so that SQL can count a code with ``LIKE '%|code|%'``.
"""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Date, Index, Integer, String

from bot.db.models import Base


class StatEvent(Base):
    """One counted event. ``case_key`` is an HMAC of the sender id (pseudonymous, for 実件数)."""

    __tablename__ = "stat_events"

    id = Column(Integer, primary_key=True)
    day = Column(Date, nullable=False)  # the municipality's local day; never a time
    fiscal_year = Column(Integer, nullable=False)  # 年度 (April–March) of ``day``
    month = Column(Integer, nullable=False)  # calendar month of ``day`` (1–12), for GROUP BY
    kind = Column(String(16), nullable=False)  # referral | booking | attended | no_show | handoff | outcome
    channel = Column(String(16), nullable=False)
    age_band = Column(String(8), nullable=False)  # 「40代」 or unknown
    household = Column(String(16), nullable=False)
    target_groups = Column(String(255), nullable=False, default="")  # |youth|low_income|
    flags = Column(String(64), nullable=False, default="")  # rare flags: |dv|emergency|cancer|care_leaver|
    destinations = Column(String(255), nullable=False, default="")  # |jiritsu_soudan|hellowork|
    urgency = Column(String(16), nullable=False)
    minutes_to_referral = Column(Integer, nullable=True)
    outcome = Column(String(24), nullable=True)
    case_key = Column(String(64), nullable=False)

    # Covering indexes, one per dashboard query, in its GROUP BY order: SQLite then counts 100,000
    # rows from the index alone, without sorting (bot/db/stats_queries.py). ``month`` comes last
    # so a month filter is also answered from the index.
    __table_args__ = (
        Index("ix_stat_events_kinds", "fiscal_year", "kind", "month", "outcome"),
        Index("ix_stat_events_partitions", "fiscal_year", "kind", "channel", "urgency", "age_band", "household",
              "month"),
        Index("ix_stat_events_destinations", "fiscal_year", "kind", "destinations", "month"),
        Index("ix_stat_events_groups", "fiscal_year", "kind", "outcome", "target_groups", "month"),
        Index("ix_stat_events_people", "fiscal_year", "case_key", "kind", "month"),
        Index("ix_stat_events_minutes", "fiscal_year", "kind", "minutes_to_referral", "month"),
        Index("ix_stat_events_case_key_kind", "case_key", "kind"),
        CheckConstraint("kind IN ('referral', 'booking', 'attended', 'no_show', 'handoff', 'outcome')",
                        name="ck_stat_events_kind"),
        CheckConstraint("month BETWEEN 1 AND 12", name="ck_stat_events_month"),
        CheckConstraint("minutes_to_referral IS NULL OR minutes_to_referral >= 0", name="ck_stat_events_minutes"),
    )

    def __repr__(self) -> str:
        return f"<StatEvent {self.kind} {self.day} {self.urgency}>"
