"""Initial schema: handoff tickets, bookings, their history and the per-slot seat counter.

Databases made before migrations existed (``create_all`` of handoff_tickets only) are adopted:
the table is created only when it is missing, the rest is new.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("handoff_tickets"):
        op.create_table(
            "handoff_tickets",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("ticket", sa.String(length=16), nullable=False),
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("channel", sa.String(length=32), nullable=False),
            sa.Column("urgency", sa.String(length=16), nullable=False),
            sa.Column("mode", sa.String(length=16), nullable=False),
            sa.Column("reason", sa.String(length=64), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("callback_after", UTC, nullable=True),
            sa.Column("summary", sa.JSON(), nullable=True),
            sa.Column("created_at", UTC, nullable=False),
            sa.Column("notes", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_handoff_tickets_ticket", "handoff_tickets", ["ticket"], unique=True)
        op.create_index("ix_handoff_tickets_sender_id", "handoff_tickets", ["sender_id"], unique=False)

    op.create_table(
        "slot_load",
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("start_at", UTC, nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.CheckConstraint("taken >= 0", name="ck_slot_load_taken_not_negative"),
        sa.PrimaryKeyConstraint("destination", "start_at"),
    )

    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("office", sa.String(length=255), nullable=False),
        sa.Column("start_at", UTC, nullable=False),
        sa.Column("end_at", UTC, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("consent_at", UTC, nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("reminder_sent_at", UTC, nullable=True),
        sa.CheckConstraint("status IN ('booked', 'moved', 'cancelled', 'attended', 'no_show')",
                           name="ck_bookings_status"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bookings_reference", "bookings", ["reference"], unique=True)
    op.create_index("ix_bookings_sender_id", "bookings", ["sender_id"], unique=False)
    op.create_index("ix_bookings_destination_start", "bookings", ["destination", "start_at"], unique=False)
    op.create_index("ix_bookings_status_start", "bookings", ["status", "start_at"], unique=False)

    op.create_table(
        "booking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("previous_start", UTC, nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_booking_events_booking_id", "booking_events", ["booking_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_booking_events_booking_id", table_name="booking_events")
    op.drop_table("booking_events")
    for name in ("ix_bookings_status_start", "ix_bookings_destination_start", "ix_bookings_sender_id",
                 "ix_bookings_reference"):
        op.drop_index(name, table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("slot_load")
    op.drop_index("ix_handoff_tickets_sender_id", table_name="handoff_tickets")
    op.drop_index("ix_handoff_tickets_ticket", table_name="handoff_tickets")
    op.drop_table("handoff_tickets")
