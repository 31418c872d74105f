"""Statistics: the anonymous ``stat_events`` table (docs/statistics.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = (
    ("ix_stat_events_kinds", ["fiscal_year", "kind", "month", "outcome"]),
    ("ix_stat_events_partitions", ["fiscal_year", "kind", "channel", "urgency", "age_band", "household", "month"]),
    ("ix_stat_events_destinations", ["fiscal_year", "kind", "destinations", "month"]),
    ("ix_stat_events_groups", ["fiscal_year", "kind", "outcome", "target_groups", "month"]),
    ("ix_stat_events_people", ["fiscal_year", "case_key", "kind", "month"]),
    ("ix_stat_events_minutes", ["fiscal_year", "kind", "minutes_to_referral", "month"]),
    ("ix_stat_events_case_key_kind", ["case_key", "kind"]),
)


def upgrade() -> None:
    # A database whose tables were made with create_all of the current models already has it.
    if not sa.inspect(op.get_bind()).has_table("stat_events"):
        op.create_table(
            "stat_events",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("fiscal_year", sa.Integer(), nullable=False),
            sa.Column("month", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("channel", sa.String(length=16), nullable=False),
            sa.Column("age_band", sa.String(length=8), nullable=False),
            sa.Column("household", sa.String(length=16), nullable=False),
            sa.Column("target_groups", sa.String(length=255), nullable=False),
            sa.Column("flags", sa.String(length=64), nullable=False),
            sa.Column("destinations", sa.String(length=255), nullable=False),
            sa.Column("urgency", sa.String(length=16), nullable=False),
            sa.Column("minutes_to_referral", sa.Integer(), nullable=True),
            sa.Column("outcome", sa.String(length=24), nullable=True),
            sa.Column("case_key", sa.String(length=64), nullable=False),
            sa.CheckConstraint("kind IN ('referral', 'booking', 'attended', 'no_show', 'handoff', 'outcome')",
                               name="ck_stat_events_kind"),
            sa.CheckConstraint("month BETWEEN 1 AND 12", name="ck_stat_events_month"),
            sa.CheckConstraint("minutes_to_referral IS NULL OR minutes_to_referral >= 0",
                               name="ck_stat_events_minutes"),
            sa.PrimaryKeyConstraint("id"),
        )
    have = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("stat_events")}
    for name, columns in INDEXES:
        if name not in have:
            op.create_index(name, "stat_events", columns, unique=False)


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="stat_events")
    op.drop_table("stat_events")
