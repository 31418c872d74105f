"""Real databases for the storage tests: a SQLite file in a temporary directory, and a fresh
schema of the PostgreSQL named by DATABASE_URL (dropped afterwards, so parallel runs never meet)."""
from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import make_engine

#: Read at import, before any fixture points DATABASE_URL elsewhere.
PG_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def skip_without_postgres() -> None:
    if not PG_URL:
        pytest.skip("DATABASE_URL does not name a PostgreSQL database (.ci/run sets it)")


@asynccontextmanager
async def pg_schema() -> AsyncIterator[str]:
    """A new, empty schema; dropped with everything in it afterwards."""
    skip_without_postgres()
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(PG_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{name}"'))
        yield name
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        await admin.dispose()


@asynccontextmanager
async def database(backend: str, tmp_path: Path, **pool) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database of ``backend`` (``sqlite`` or ``postgresql``)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / f'bookings-{uuid.uuid4().hex[:8]}.db'}")
        try:
            yield engine
        finally:
            await engine.dispose()
        return
    async with pg_schema() as schema:
        engine = make_engine(PG_URL, schema=schema, **pool)
        try:
            yield engine
        finally:
            await engine.dispose()
