"""Alembic environment for the bot's tables (SQLite and PostgreSQL, async drivers).

Two ways in:

* ``bot.db.migrate.migrate(engine)`` passes its own connection in ``config.attributes["connection"]``
  (a sync facade over the async connection, via ``AsyncConnection.run_sync``) already inside a
  transaction; the migrations run in that transaction.
* the ``alembic`` command line (``alembic.ini`` at the repository root) has no connection: one is
  made from ``DATABASE_URL`` with ``bot.db.engine.make_engine`` and the same code runs in
  ``asyncio.run`` (through ``bot.db.migrate.run_in_transaction``, as the first way does).

On PostgreSQL a transaction-scoped advisory lock serialises concurrent migrators (several action
server workers starting at once); the version table is read only after the lock is held.
"""
from __future__ import annotations

import asyncio
import logging.config

from alembic import context
from sqlalchemy import text

from bot.db.crypto import EncryptedJSON, EncryptedText
from bot.db.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata
#: Arbitrary constant naming "the bot's schema migration" among advisory locks.
ADVISORY_LOCK_KEY = 7_357_001


def render_item(type_, obj, autogen_context):
    """Autogenerate writes our column types as the plain types they are in the database."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, (EncryptedText, EncryptedJSON)):
        return "sa.Text()"
    return False


def do_run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        render_item=render_item,
        compare_type=True,
    )
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    from bot.db.engine import make_engine

    from bot.db.migrate import run_in_transaction

    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        async with engine.connect() as connection:
            await run_in_transaction(connection, do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    from bot.db.engine import database_url

    context.configure(url=database_url(config.get_main_option("sqlalchemy.url") or None),
                      target_metadata=target_metadata, literal_binds=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    do_run_migrations(connection)
elif context.is_offline_mode():
    run_migrations_offline()
else:
    if config.config_file_name is not None:
        logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(run_async_migrations())
