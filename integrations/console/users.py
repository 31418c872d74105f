"""Staff accounts: create, list, activate/deactivate, set a password. Used by the CLI and the admin pages."""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.staff_models import ROLES, StaffUser
from integrations.console.auth import (
    Passwords, end_sessions_of, normalise_username, now_utc, password_problem, username_problem,
)


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message is Japanese, for staff."""


async def create_user(engine: AsyncEngine, passwords: Passwords, *, username: str, password: str, role: str,
                      display_name: str = "", min_length: int = 12) -> StaffUser:
    username = normalise_username(username)
    display_name = " ".join((display_name or "").split())[:100] or username
    if problem := username_problem(username):
        raise AccountError(problem)
    if role not in ROLES:
        raise AccountError("役割は staff・manager・admin のいずれかです。")
    if problem := password_problem(password, username, min_length):
        raise AccountError(problem)
    password_hash = await passwords.hash(password)
    now = now_utc()
    user = StaffUser(username=username, display_name=display_name, password_hash=password_hash, role=role,
                     active=True, created_at=now, password_changed_at=now)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            session.add(user)
    except IntegrityError:
        raise AccountError("そのユーザー名はすでに使われています。") from None
    return user


async def find_user(engine: AsyncEngine, username: str) -> Optional[StaffUser]:
    async with AsyncSession(engine) as session:
        return (await session.execute(
            select(StaffUser).where(StaffUser.username == normalise_username(username))
        )).scalars().first()


async def get_user(engine: AsyncEngine, user_id: int) -> Optional[StaffUser]:
    async with AsyncSession(engine) as session:
        return await session.get(StaffUser, user_id)


async def list_users(engine: AsyncEngine) -> List[StaffUser]:
    async with AsyncSession(engine) as session:
        return list((await session.execute(select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.username)))
                    .scalars())


async def count_active_admins(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as session:
        return (await session.execute(
            select(func.count()).select_from(StaffUser).where(StaffUser.role == "admin", StaffUser.active.is_(True))
        )).scalar_one()


async def set_active(engine: AsyncEngine, user_id: int, active: bool) -> None:
    """Deactivating also ends the user's sessions at once."""
    async with AsyncSession(engine) as session, session.begin():
        result = await session.execute(update(StaffUser).where(StaffUser.id == user_id).values(active=active))
        if result.rowcount != 1:
            raise AccountError("その職員は見つかりません。")
    if not active:
        await end_sessions_of(engine, user_id)


async def set_password(engine: AsyncEngine, passwords: Passwords, user_id: int, password: str, *,
                       min_length: int = 12, end_sessions: bool = True) -> None:
    user = await get_user(engine, user_id)
    if user is None:
        raise AccountError("その職員は見つかりません。")
    if problem := password_problem(password, user.username, min_length):
        raise AccountError(problem)
    password_hash = await passwords.hash(password)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(update(StaffUser).where(StaffUser.id == user_id)
                              .values(password_hash=password_hash, password_changed_at=now_utc()))
    if end_sessions:
        await end_sessions_of(engine, user_id)


async def store_rehash(engine: AsyncEngine, user_id: int, password_hash: str) -> None:
    """Replace a hash made with older cost settings after a successful sign-in."""
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(update(StaffUser).where(StaffUser.id == user_id).values(password_hash=password_hash))
