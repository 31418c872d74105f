"""Rasa's conversation store (the ``events`` table), reached directly for privacy work.

Retention and key rotation run outside Rasa, in processes that should not import it: this module
finds the tracker store's database from ``endpoints.yml`` the way Rasa's ``SQLTrackerStore`` builds
its URL, and works on the table with plain SQL. Only ``sender_id``, ``timestamp`` and ``data`` are
used; the data stays encrypted except while being re-encrypted.

Blocking (synchronous SQLAlchemy, like Rasa's own store): async callers use ``asyncio.to_thread``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union
from urllib.parse import urlsplit

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import URL, Engine

from bot.db import crypto

#: Tracker store types that keep conversations in an SQL ``events`` table.
SQL_TYPES = {"sql", "bot.trackerstore.encryptedsqltrackerstore"}
_ENV_VAR = re.compile(r"\$\{([^}]+)\}")
EVENTS = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("timestamp"),
                  sa.column("data", sa.Text))


class EndpointsError(ValueError):
    """endpoints.yml cannot be read or names a variable that is not set."""


def _interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``${VAR}`` replaced from the environment, as Rasa does in endpoints.yml."""
    if not isinstance(value, str):
        return value

    def repl(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in env:
            raise EndpointsError(f"endpoints.yml: environment variable {name} is not set")
        return env[name]

    return _ENV_VAR.sub(repl, value)


def sql_url(dialect: str = "sqlite", host: Optional[str] = None, port: Optional[int] = None, db: str = "rasa.db",
            username: Optional[str] = None, password: Optional[str] = None, query: Optional[Mapping] = None,
            base: Optional[Path] = None) -> Union[str, URL]:
    """The URL ``SQLTrackerStore.get_db_url`` builds; a relative SQLite file is taken from ``base``
    (the directory Rasa runs in; default the current one)."""
    if host and "://" in host:
        return host
    if host:
        parsed = urlsplit(f"scheme://{host}")
        port = parsed.port or port
        host = parsed.hostname or host
    if dialect == "sqlite" and db and db != ":memory:" and not Path(db).is_absolute():
        db = str((base or Path.cwd()) / db)
    return URL.create(dialect, username=username, password=password, host=host, port=int(port) if port else None,
                      database=db, query=dict(query or {}))


def url_from_endpoints(path: Union[str, Path], env: Optional[Mapping[str, str]] = None,
                       base: Optional[Path] = None) -> Optional[Union[str, URL]]:
    """The tracker store database named in ``path``, or None when it is not an SQL store."""
    env = os.environ if env is None else env
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise EndpointsError(f"{path}: cannot read ({err.__class__.__name__})") from None
    store = raw.get("tracker_store") if isinstance(raw, Mapping) else None
    if not isinstance(store, Mapping) or str(store.get("type", "")).strip().lower() not in SQL_TYPES:
        return None
    cfg = {k: _interpolate(v, env) for k, v in store.items()}
    return sql_url(cfg.get("dialect", "sqlite"), cfg.get("url"), cfg.get("port"), cfg.get("db", "rasa.db"),
                   cfg.get("username"), cfg.get("password"), cfg.get("query"), base=base)


def make_engine(url: Union[str, URL]) -> Engine:
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _secure_delete(dbapi_connection, _record):  # deleted events are zeroed in the file
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()
    return engine


def truncate_wal(engine: Engine) -> None:
    """After a deletion on SQLite: copy the write-ahead log into the file (where ``secure_delete``
    zeroes the deleted rows) and empty it, so no copy of the deleted pages stays in ``-wal``."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _has_events(engine: Engine) -> bool:
    return sa.inspect(engine).has_table("events")


def exists(url: Union[str, URL]) -> bool:
    """False for a SQLite file that is not there (connecting would create an empty one)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return True
    return Path(parsed.database).exists()


@dataclass(frozen=True)
class Purged:
    conversations: int
    events: int


def purge_idle(url: Union[str, URL], cutoff: float, *, dry_run: bool = False) -> Purged:
    """Delete the events of every conversation whose last event is older than ``cutoff`` (epoch s)."""
    if not exists(url):
        return Purged(0, 0)
    engine = make_engine(url)
    try:
        if not _has_events(engine):
            return Purged(0, 0)
        idle = (sa.select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id)
                .having(sa.func.max(EVENTS.c.timestamp) < cutoff))
        with engine.begin() as conn:
            senders = conn.execute(sa.select(sa.func.count()).select_from(idle.subquery())).scalar_one()
            events = conn.execute(sa.select(sa.func.count()).select_from(EVENTS)
                                  .where(EVENTS.c.sender_id.in_(idle))).scalar_one()
            if not dry_run and senders:
                conn.execute(EVENTS.delete().where(EVENTS.c.sender_id.in_(idle.scalar_subquery())))
        if not dry_run and senders:
            truncate_wal(engine)
        return Purged(senders, events)
    finally:
        engine.dispose()


def delete_sender(url: Union[str, URL], sender_id: str) -> int:
    """Delete one conversation's events; how many there were."""
    if not exists(url):
        return 0
    engine = make_engine(url)
    try:
        if not _has_events(engine):
            return 0
        with engine.begin() as conn:
            deleted = conn.execute(EVENTS.delete().where(EVENTS.c.sender_id == sender_id)).rowcount
        truncate_wal(engine)
        return deleted
    finally:
        engine.dispose()


def rekey(url: Union[str, URL], batch: int = 1000) -> int:
    """Re-encrypt every event with the newest data key (plain legacy rows get encrypted too)."""
    if not exists(url):
        return 0
    engine = make_engine(url)
    done = 0
    try:
        if not _has_events(engine):
            return 0
        last = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(sa.select(EVENTS.c.id, EVENTS.c.data).where(EVENTS.c.id > last)
                                    .order_by(EVENTS.c.id).limit(batch)).fetchall()
                for row_id, data in rows:
                    if data is None:
                        continue
                    new = crypto.rotate(data) if crypto.looks_encrypted(data) else crypto.encrypt(data)
                    conn.execute(EVENTS.update().where(EVENTS.c.id == row_id).values(data=new))
                    done += 1
            if len(rows) < batch:
                return done
            last = rows[-1][0]
    finally:
        engine.dispose()
