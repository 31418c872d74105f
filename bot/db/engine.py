"""One async engine per process, created on first use from ``DATABASE_URL``.

The default is a SQLite file under ``var/`` so that the product starts with no outside server;
``postgresql://`` URLs are switched to the asyncpg driver.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.db.models import Base

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE = ROOT / "var" / "intake.db"


def database_url(raw: str | None = None) -> str:
    """Normalise a URL to an async driver (postgresql+asyncpg, sqlite+aiosqlite)."""
    url = raw or os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}"
    for sync, async_ in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://"),
                         ("postgresql+psycopg2://", "postgresql+asyncpg://"), ("sqlite://", "sqlite+aiosqlite://")):
        if url.startswith(sync):
            return async_ + url[len(sync):]
    return url


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> AsyncEngine:
    resolved = database_url(url)
    if resolved.startswith("sqlite+aiosqlite:///"):
        Path(resolved.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    return create_async_engine(resolved, future=True, pool_pre_ping=True)


async def create_schema(engine: AsyncEngine) -> None:
    """Create missing tables (idempotent)."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
