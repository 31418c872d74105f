"""Storage: SQLAlchemy 1.4 in 2.0 style, async engines (aiosqlite by default, asyncpg for PostgreSQL)."""
