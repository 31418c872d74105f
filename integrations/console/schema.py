"""Bring the database to the newest schema before serving: the same Alembic migrations as the bot
(``bot/db/migrations``), so the console's tables and the bot's never disagree."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.migrate import migrate


async def prepare(engine: AsyncEngine) -> None:
    await migrate(engine)
