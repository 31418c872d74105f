"""Schema migrations (Alembic) for the bot's own tables, on SQLite and PostgreSQL.

``migrate(engine)`` upgrades the database behind an async engine to the newest revision; the
product calls it on first use of the database (``engine.ensure_schema``). Alembic itself is
synchronous: the upgrade runs on the engine's own connection through ``AsyncConnection.run_sync``,
in one transaction (SQLite and PostgreSQL both have transactional DDL), so a failed migration
leaves nothing behind. On SQLite, foreign keys are not enforced during that transaction (see
:func:`run_in_transaction`). Concurrent migrators wait for each other: PostgreSQL through an advisory
lock taken in ``env.py``, SQLite through ``BEGIN IMMEDIATE`` (see ``engine.py``).

From the shell::

    python -m bot.db.migrate            # the database named by DATABASE_URL (default var/intake.db)
    alembic upgrade head                # the same through alembic.ini at the repository root
"""
from __future__ import annotations

import asyncio
import logging
import sys
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


def alembic_config() -> Config:
    """An Alembic config pointing at ``bot/db/migrations`` wherever the package is installed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    script = ScriptDirectory.from_config(alembic_config())
    script.get_heads()  # reads every revision file now, not inside the event loop later
    return script


def head() -> str:
    """The newest revision id."""
    (only,) = _script().get_heads()
    return only


#: Alembic keeps its running environment in a module-global proxy (``alembic.context``), so two
#: upgrades interleaving on one event loop would configure each other's: one at a time per loop.
_loop_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def migrate(engine: AsyncEngine, target: str = "head") -> None:
    """Upgrade ``engine``'s database to head, or to the revision ``target`` (idempotent, safe to
    call concurrently)."""
    script = await asyncio.to_thread(_script)
    lock = _loop_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        async with engine.connect() as conn:
            await run_in_transaction(conn, _upgrade, script, target)


async def run_in_transaction(conn: AsyncConnection, fn: Callable[..., Any], *args: Any) -> None:
    """``fn(sync_connection, *args)`` in one transaction of ``conn``.

    SQLite alters a table by copying it and dropping the original ("batch mode"), and with
    foreign keys enforced that drop would cascade into the referencing tables (staff messages of a
    ticket, a booking's history). As Alembic advises, enforcement is off while migrating: the
    pragma only works outside a transaction, so it is set on the raw connection before ``BEGIN``,
    the result is checked with ``PRAGMA foreign_key_check`` before ``COMMIT``, and enforcement is
    back on before the connection returns to the pool.
    """
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        await conn.run_sync(_sqlite_foreign_keys, False)
    try:
        async with conn.begin():
            await conn.run_sync(fn, *args)
            if sqlite:
                await conn.run_sync(_check_foreign_keys)
    finally:
        if sqlite:
            await conn.run_sync(_sqlite_foreign_keys, True)


def _sqlite_foreign_keys(connection, on: bool) -> None:
    cursor = connection.connection.dbapi_connection.cursor()  # the driver itself: no implicit BEGIN
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _check_foreign_keys(connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(f"migration would leave {len(broken)} row(s) with a broken foreign key in {', '.join(tables)}")


def _upgrade(connection, script: ScriptDirectory, target: str = "head") -> None:
    config = alembic_config()
    config.attributes["connection"] = connection

    def upgrade(rev, _context):
        return script._upgrade_revs(target, rev)

    with EnvironmentContext(config, script, fn=upgrade, destination_rev=target):
        script.run_env()


def current(connection) -> str | None:
    """The revision a (sync) connection's database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def main() -> int:
    from bot.db.engine import database_url, make_engine

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        engine = make_engine()
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    url = database_url()
    where = url.split("@")[-1] if "@" in url else url  # never print a password
    asyncio.run(run())
    print(f"database at revision {head()}: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
