"""Privacy: personal fields encrypted at rest (Fernet tokens in Text columns, see bot.db.crypto).

handoff_tickets.summary (JSON -> Text) and .notes, bookings.summary (JSON -> Text) and .contact,
staff_messages.text. Rows already stored in plain text are encrypted in place with the data key
(INTAKE_DATA_KEY or var/data.key, created on first use; an empty database needs no key).
SQLite changes the column types in batch mode (copy and rename; ``bot.db.migrate`` keeps foreign
keys unenforced meanwhile, so the copy cascades into nothing). The downgrade decrypts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
import json
from typing import Any, Callable, Dict, Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: table -> {column: holds JSON}
PERSONAL: Dict[str, Dict[str, bool]] = {
    "handoff_tickets": {"summary": True, "notes": False},
    "bookings": {"summary": True, "contact": False},
    "staff_messages": {"text": False},
}


def upgrade() -> None:
    for table, columns in PERSONAL.items():
        json_columns = [c for c, is_json in columns.items() if is_json]
        if json_columns:
            with op.batch_alter_table(table) as batch:
                for column in json_columns:
                    batch.alter_column(column, existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=True,
                                       postgresql_using=f"{column}::text")
        _rewrite(table, columns, _encrypted)
    _ensure_ticket_indexes()


def _ensure_ticket_indexes() -> None:
    """The models' indexes on handoff_tickets. A table adopted from before migrations may have had
    its ticket code unique only through an inline, unnamed UNIQUE, which SQLite's batch copy does
    not carry over; staff_messages' foreign key needs the code to stay unique."""
    inspector = sa.inspect(op.get_bind())
    unique = {tuple(ix["column_names"]) for ix in inspector.get_indexes("handoff_tickets") if ix.get("unique")}
    unique |= {tuple(uc["column_names"]) for uc in inspector.get_unique_constraints("handoff_tickets")}
    names = {ix["name"] for ix in inspector.get_indexes("handoff_tickets")}
    if ("ticket",) not in unique and "ix_handoff_tickets_ticket" not in names:
        op.create_index("ix_handoff_tickets_ticket", "handoff_tickets", ["ticket"], unique=True)
    if "ix_handoff_tickets_sender_id" not in names:
        op.create_index("ix_handoff_tickets_sender_id", "handoff_tickets", ["sender_id"], unique=False)


def downgrade() -> None:
    for table, columns in PERSONAL.items():
        plain = _read(table, columns, _decrypted)
        json_columns = [c for c, is_json in columns.items() if is_json]
        if json_columns:
            # Empty the JSON columns first: SQLite's batch copy would CAST the text to JSON, which
            # SQLite reads as NUMERIC (turning '{...}' into 0); the decrypted values go back after.
            t = sa.table(table, *[sa.column(c, sa.Text()) for c in json_columns])
            op.get_bind().execute(t.update().values({c: None for c in json_columns}))
            with op.batch_alter_table(table) as batch:
                for column in json_columns:
                    batch.alter_column(column, existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=True,
                                       postgresql_using=f"{column}::json")
        _write(table, columns, plain)


# --------------------------------------------------------------------------- row rewriting


def _encrypted(value: Any, is_json: bool) -> Any:
    from bot.db import crypto  # imported here: a migration of an empty database needs no key

    if value is None or (is_json and str(value).strip() == "null"):
        return None
    if crypto.opens(value):  # a database made from the current models is already encrypted
        return value
    return crypto.encrypt(str(value))


def _decrypted(value: Any, is_json: bool) -> Any:
    from bot.db import crypto

    if value is None:
        return None
    text = crypto.decrypt(value) if crypto.looks_encrypted(value) else str(value)
    return json.loads(text) if is_json else text


def _read(table: str, columns: Dict[str, bool], convert: Callable[[Any, bool], Any]) -> Dict[Any, Dict[str, Any]]:
    """{id: {column: converted value}} for every row with a value in one of ``columns``."""
    t = sa.table(table, sa.column("id"), *[sa.column(c, sa.Text()) for c in columns])
    found = {}
    for row in op.get_bind().execute(sa.select(t).order_by(t.c.id)):
        values = {c: row._mapping[c] for c in columns}
        if any(v is not None for v in values.values()):
            found[row.id] = {c: convert(v, columns[c]) for c, v in values.items()}
    return found


def _write(table: str, columns: Dict[str, bool], rows: Dict[Any, Dict[str, Any]]) -> None:
    t = sa.table(table, sa.column("id"), *[sa.column(c, sa.JSON(none_as_null=True) if j else sa.Text()) for c, j in columns.items()])
    bind = op.get_bind()
    for row_id, values in rows.items():
        bind.execute(t.update().where(t.c.id == row_id).values(values))


def _rewrite(table: str, columns: Dict[str, bool], convert: Callable[[Any, bool], Any]) -> None:
    t = sa.table(table, sa.column("id"), *[sa.column(c, sa.Text()) for c in columns])
    bind = op.get_bind()
    for row in list(bind.execute(sa.select(t).order_by(t.c.id))):
        changed = {}
        for column, is_json in columns.items():
            old = row._mapping[column]
            new = convert(old, is_json)
            if new != old:
                changed[column] = new
        if changed:
            bind.execute(t.update().where(t.c.id == row.id).values(changed))
