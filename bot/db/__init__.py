"""Storage: SQLAlchemy 1.4 in 2.0 style, async engines (aiosqlite by default, asyncpg for PostgreSQL).

``engine`` makes engines, ``migrate`` applies the Alembic migrations, ``handoffs`` and
``bookings`` are the tables' operations (``models`` holds the tables).
"""
