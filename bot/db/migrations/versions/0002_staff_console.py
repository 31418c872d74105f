"""Staff console: accounts, sessions, audit trail, staff messages; who claimed a handoff ticket.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("password_changed_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_users_username", "staff_users", ["username"], unique=True)
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_sessions_token_hash", "staff_sessions", ["token_hash"], unique=True)
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"], unique=False)
    op.create_table(
        "staff_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("ticket", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    for col in ("at", "user_id", "ticket"):
        op.create_index(f"ix_staff_audit_log_{col}", "staff_audit_log", [col], unique=False)
    op.create_table(
        "staff_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["ticket"], ["handoff_tickets.ticket"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_messages_ticket", "staff_messages", ["ticket"], unique=False)
    # A database adopted by 0001 from create_all of the current models may have them already.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("handoff_tickets")}
    for name, type_ in (("claimed_by", sa.Integer()), ("claimed_at", UTC), ("closed_at", UTC)):
        if name not in have:
            op.add_column("handoff_tickets", sa.Column(name, type_, nullable=True))
    indexes = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("handoff_tickets")}
    if "ix_handoff_tickets_claimed_by" not in indexes:
        op.create_index("ix_handoff_tickets_claimed_by", "handoff_tickets", ["claimed_by"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_handoff_tickets_claimed_by", table_name="handoff_tickets")
    with op.batch_alter_table("handoff_tickets") as batch:
        for col in ("closed_at", "claimed_at", "claimed_by"):
            batch.drop_column(col)
    op.drop_index("ix_staff_messages_ticket", table_name="staff_messages")
    op.drop_table("staff_messages")
    for col in ("ticket", "user_id", "at"):
        op.drop_index(f"ix_staff_audit_log_{col}", table_name="staff_audit_log")
    op.drop_table("staff_audit_log")
    op.drop_index("ix_staff_sessions_user_id", table_name="staff_sessions")
    op.drop_index("ix_staff_sessions_token_hash", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_index("ix_staff_users_username", table_name="staff_users")
    op.drop_table("staff_users")
