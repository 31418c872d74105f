"""Make sure the console's tables exist before serving.

Until the migrations include the console's tables this creates missing ones (``create_all`` is
idempotent); an older ``handoff_tickets`` without the console's columns cannot be fixed that way
and is reported instead of failing on the first page.
"""
from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import staff_models  # noqa: F401  (registers the console's tables on Base.metadata)
from bot.db.models import Base

CONSOLE_COLUMNS = ("claimed_by", "claimed_at", "closed_at")


class SchemaOutdated(RuntimeError):
    pass


async def prepare(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        columns = await conn.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns("handoff_tickets")})
    lacking = [c for c in CONSOLE_COLUMNS if c not in columns]
    if lacking:
        raise SchemaOutdated(
            "handoff_tickets テーブルにコンソール用の列（" + ", ".join(lacking) + "）がありません。"
            "先にデータベースの移行（alembic upgrade head）を実行してください。"
        )
