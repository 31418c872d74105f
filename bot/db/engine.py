"""One async engine per process, created on first use from ``DATABASE_URL``.

The default is a SQLite file under ``var/`` so that the product starts with no outside server;
``postgresql://`` URLs are switched to the asyncpg driver.

SQLite engines are made safe for concurrent writers: the driver's own transaction handling is
switched off and every transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock at
once, so a read-then-write transaction can never act on a stale read), the journal is WAL and a
busy connection waits up to 30 s instead of failing. DDL is transactional too, so a migration
either applies whole or not at all. Pure reads go through :func:`reader` (a plain deferred
``BEGIN``: WAL readers never wait for the writer), and :func:`write_turn` queues the writers of
one process on an asyncio lock instead of leaving them to SQLite's sleeping busy handler.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any, AsyncIterator, Optional

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.paths import VAR

DEFAULT_SQLITE = VAR / "intake.db"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: Seconds a SQLite connection waits for the write lock before giving up.
SQLITE_BUSY_SECONDS = 30


def database_url(raw: str | None = None) -> str:
    """Normalise a URL to an async driver (postgresql+asyncpg, sqlite+aiosqlite)."""
    url = raw or os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}"
    for sync, async_ in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://"),
                         ("postgresql+psycopg2://", "postgresql+asyncpg://"), ("sqlite://", "sqlite+aiosqlite://")):
        if url.startswith(sync):
            return async_ + url[len(sync):]
    return url


def make_engine(url: str | None = None, *, schema: Optional[str] = None, pool_size: Optional[int] = None,
                max_overflow: Optional[int] = None, **kwargs: Any) -> AsyncEngine:
    """A new async engine (callers own it and ``dispose()`` it).

    ``schema`` (PostgreSQL only) puts every table in that schema through the connection's
    ``search_path``: tests use it to work in a fresh schema of a shared database. Pool sizes apply
    to PostgreSQL; SQLite files use one short-lived connection per session (see below).
    """
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        if resolved.startswith("sqlite+aiosqlite:///") and ":memory:" not in resolved:
            Path(resolved.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(kwargs.pop("connect_args", {}), timeout=SQLITE_BUSY_SECONDS)
        # SQLAlchemy 1.4 gives SQLite files a NullPool: a connection per session, closed after it.
        # Keep it: aiosqlite (0.22) runs each connection in a non-daemon thread, so connections
        # left open in a pool would keep the process from exiting unless the engine is disposed.
        engine = create_async_engine(resolved, future=True, connect_args=connect_args, **kwargs)
        _make_sqlite_transactional(engine)
        return engine
    if schema is not None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"not a plain schema name: {schema!r}")
        connect_args = kwargs.pop("connect_args", {})
        settings = dict(connect_args.get("server_settings", {}), search_path=schema)
        kwargs["connect_args"] = dict(connect_args, server_settings=settings)
    if pool_size is not None:
        kwargs["pool_size"] = pool_size
    if max_overflow is not None:
        kwargs["max_overflow"] = max_overflow
    return create_async_engine(resolved, future=True, pool_pre_ping=True, **kwargs)


def _make_sqlite_transactional(engine: AsyncEngine) -> None:
    """The SQLAlchemy recipe for real SQLite transactions, with ``BEGIN IMMEDIATE``."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every SQLite test
        dbapi_connection.isolation_level = None  # the driver stops issuing its own BEGIN/COMMIT
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA secure_delete=ON")  # deleted or purged personal data is zeroed, not left in free pages
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection):  # pragma: no cover
        read_only = connection.get_execution_options().get("sqlite_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool) for read-only work: on SQLite its transactions do not take
    the write lock. Cheap to make; not cached, so it never keeps an engine alive."""
    return engine.execution_options(sqlite_read_only=True) if engine.dialect.name == "sqlite" else engine


_write_locks: "weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary]" = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def write_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold while writing to a SQLite engine: writers of this process wait in line on the event
    loop (other processes still meet SQLite's own lock). Does nothing for PostgreSQL."""
    if engine.dialect.name != "sqlite":
        yield
        return
    per_loop = _write_locks.setdefault(engine.sync_engine, weakref.WeakKeyDictionary())
    lock = per_loop.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        yield


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> AsyncEngine:
    """The process-wide engine for ``url`` (default ``DATABASE_URL``)."""
    return make_engine(url)


_ready: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()
_locks: "weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary]" = weakref.WeakKeyDictionary()


async def ensure_schema(engine: AsyncEngine) -> None:
    """Migrate ``engine``'s database once per process (concurrent first callers wait for one)."""
    key = engine.sync_engine
    if _ready.get(key):
        return
    per_loop = _locks.setdefault(key, weakref.WeakKeyDictionary())
    lock = per_loop.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        if not _ready.get(key):
            await create_schema(engine)
            _ready[key] = True


async def create_schema(engine: AsyncEngine) -> None:
    """Bring the database to the newest schema (Alembic upgrade to head; idempotent)."""
    from bot.db.migrate import migrate

    await migrate(engine)
