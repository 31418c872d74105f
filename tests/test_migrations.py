"""Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.db import engine as db_engine
from bot.paths import ROOT
from bot.db.engine import create_schema, make_engine
from bot.db.handoffs import open_ticket, tickets_for
from bot.db.migrate import current, head, migrate
from bot.db.models import Base, HandoffTicket
from tests.dbutil import BACKENDS, PG_URL, database, pg_schema

TABLES = {"handoff_tickets", "bookings", "booking_events", "slot_load", "staff_users", "staff_sessions", "staff_audit_log", "staff_messages",
          "stat_events"}


async def schema_diff(engine) -> list:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: compare_metadata(
            MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata))


async def revision(engine):
    async with engine.connect() as conn:
        return await conn.run_sync(current)


async def tables(engine) -> set:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


@pytest.mark.parametrize("backend", BACKENDS)
async def test_migrations_build_exactly_the_models(backend, tmp_path):
    async with database(backend, tmp_path) as engine:
        assert await revision(engine) is None
        await migrate(engine)
        assert await revision(engine) == head()
        assert await tables(engine) == TABLES | {"alembic_version"}
        assert await schema_diff(engine) == []
        await migrate(engine)  # a second run changes nothing
        assert await revision(engine) == head() and await schema_diff(engine) == []


_MIGRATE_ONE = """
import asyncio, sys
from bot.db.engine import make_engine
from bot.db.migrate import migrate

async def main(url, schema):
    engine = make_engine(url, schema=schema or None)
    await migrate(engine)
    await engine.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def _migrate_in_processes(url: str, schema: str, n: int = 3) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", _MIGRATE_ONE, url, schema, cwd=ROOT, env=env,
                                                  stderr=asyncio.subprocess.PIPE) for _ in range(n)]
    for proc in procs:
        _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, err.decode()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_workers_starting_together_migrate_once(backend, tmp_path):
    """Several processes starting on an empty database at once: all succeed, one schema.

    (PostgreSQL: the advisory lock in env.py; SQLite: BEGIN IMMEDIATE. In one process, migrate()
    also runs one upgrade at a time.)
    """
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        await _migrate_in_processes(url, "")
        engines = [make_engine(url) for _ in range(3)]
        await asyncio.gather(*(migrate(e) for e in engines))
        assert await revision(engines[0]) == head() and await schema_diff(engines[0]) == []
        for e in engines:
            await e.dispose()
        return
    async with pg_schema() as schema:
        await _migrate_in_processes(PG_URL, schema)
        engines = [make_engine(PG_URL, schema=schema) for _ in range(3)]
        try:
            await asyncio.gather(*(migrate(e) for e in engines))
            assert await revision(engines[0]) == head() and await schema_diff(engines[0]) == []
        finally:
            for e in engines:
                await e.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_database_from_before_migrations_is_adopted(backend, tmp_path):
    """Earlier versions made handoff_tickets with create_all: its rows survive the first migration."""
    async with database(backend, tmp_path) as engine:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: HandoffTicket.__table__.create(sync))
            await conn.execute(HandoffTicket.__table__.insert().values(
                ticket="HABCDEF", sender_id="old-resident", channel="rest", urgency="urgent", mode="callback",
                reason="no_shelter", status="open", created_at=datetime(2026, 11, 1, tzinfo=timezone.utc)))
        await create_schema(engine)
        assert await schema_diff(engine) == []
        (old,) = await tickets_for(engine, "old-resident")
        assert old.ticket == "HABCDEF" and old.created_at == datetime(2026, 11, 1, tzinfo=timezone.utc)


async def test_handoff_tickets_still_work_through_the_migrations(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'intake.db'}")
    db_engine.get_engine.cache_clear()
    try:
        engine = db_engine.get_engine()
        row = await open_ticket(engine, sender_id="s1", channel="rest", urgency="urgent", mode="callback",
                                reason="no_shelter", callback_after=datetime(2027, 1, 12, tzinfo=timezone.utc),
                                summary={"age": 30})
        (again,) = await tickets_for(engine, "s1")
        assert again.ticket == row.ticket and again.callback_after.tzinfo is not None
        assert await revision(engine) == head()
        await engine.dispose()
    finally:
        db_engine.get_engine.cache_clear()


def _run(args, db_url):
    env = dict(os.environ, DATABASE_URL=db_url, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


async def test_command_line_upgrade_and_alembic_round_trip(tmp_path):
    db = tmp_path / "cli.db"
    done = _run(["-m", "bot.db.migrate"], f"sqlite:///{db}")
    assert done.returncode == 0, done.stderr
    assert f"revision {head()}" in done.stdout
    engine = make_engine(f"sqlite:///{db}")
    try:
        assert await tables(engine) == TABLES | {"alembic_version"}
        down = _run(["-m", "alembic", "-c", str(ROOT / "alembic.ini"), "downgrade", "base"], f"sqlite:///{db}")
        assert down.returncode == 0, down.stderr
        assert await tables(engine) == {"alembic_version"}
        up = _run(["-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "head"], f"sqlite:///{db}")
        assert up.returncode == 0, up.stderr
        assert await revision(engine) == head() and await schema_diff(engine) == []
    finally:
        await engine.dispose()


async def test_a_failed_migration_leaves_nothing(tmp_path):
    """DDL is transactional on SQLite too: a clash half-way rolls the whole revision back."""
    engine = make_engine(f"sqlite:///{tmp_path / 'clash.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE booking_events (id INTEGER PRIMARY KEY)"))  # made last by 0001
        with pytest.raises(Exception):
            await migrate(engine)
        assert await tables(engine) == {"booking_events"}
        assert await revision(engine) is None
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced_again_after_migrating(tmp_path):
    """SQLite migrations run with foreign keys off (a batch table copy must not cascade); every
    connection the pool hands out afterwards enforces them again."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}", pool_size=1, max_overflow=0)
    try:
        await migrate(engine, "0002")
        await migrate(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            with pytest.raises(Exception, match="FOREIGN KEY"):
                await conn.execute(text("INSERT INTO booking_events (booking_id, status, at, actor) "
                                        "VALUES (999, 'booked', '2026-11-01 00:00:00', 'resident')"))
    finally:
        await engine.dispose()


def test_the_migrations_are_a_single_line_through_0003():
    from bot.db.migrate import _script

    revisions = {r.revision: r.down_revision for r in _script().walk_revisions()}
    assert revisions["0003"] == "0002" and revisions["0002"] == "0001" and revisions["0001"] is None
