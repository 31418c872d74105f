"""Sign-in, sessions, roles and CSRF for the staff console.

Decisions are pure functions (``password_problem``, ``safe_next``, ``role_allows``,
``LoginThrottle``) so that they are tested without a server; the database functions are thin.
Session cookies carry a random token; the database keeps only its SHA-256 digest, so a copy of the
database does not let anyone sign in. Argon2 hashing runs in a thread: it takes tens of
milliseconds on purpose and must not stall the event loop.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Deque, Dict, Optional, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.staff_models import ROLES, StaffSession, StaffUser
from integrations.console.settings import ConsoleSettings

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
MAX_PASSWORD_CHARS = 1024

# -- pure decisions -------------------------------------------------------------------------------


def normalise_username(raw: str) -> str:
    """Full-width input from a Japanese IME (ｙａｍａｄａ) signs in as ``yamada``."""
    return unicodedata.normalize("NFKC", raw or "").strip().lower()


def username_problem(username: str) -> Optional[str]:
    if not USERNAME_RE.match(username):
        return "ユーザー名は半角英小文字・数字・「._-」で3〜32文字にしてください。"
    return None


def password_problem(password: str, username: str = "", min_length: int = 12) -> Optional[str]:
    """Why a new password is refused, in Japanese; ``None`` when it is acceptable."""
    if len(password) < min_length:
        return f"パスワードは{min_length}文字以上にしてください。"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"パスワードは{MAX_PASSWORD_CHARS}文字以内にしてください。"
    if len(set(password)) < 4:
        return "同じ文字の繰り返しが多すぎます。別のパスワードにしてください。"
    if username and normalise_username(username) in normalise_username(password):
        return "パスワードにユーザー名を含めないでください。"
    return None


def safe_next(target: Optional[str]) -> str:
    """Where to go after sign-in: only a path on this site, never another host (no open redirect)."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return "/"
    if any(ord(ch) < 0x20 or ch in "\\\x7f" for ch in target):
        return "/"
    if not target.startswith("/") or target.startswith("//"):
        return "/"
    if target.startswith("/login") or target.startswith("/logout"):
        return "/"
    return target


def role_allows(role: Optional[str], required: str) -> bool:
    """Roles are ordered staff < manager < admin; a higher role may do what a lower one may."""
    if role not in ROLES or required not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(required)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def tokens_match(expected: Optional[str], given: Optional[str]) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


class LoginThrottle:
    """Failed sign-ins per user name and per client address within a sliding window (in memory).

    Memory is bounded: at most ``max_keys`` keys, the stalest dropped first.
    """

    def __init__(self, max_failures: int, window_seconds: float, max_failures_per_ip: int,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.max_failures = max_failures
        self.max_failures_per_ip = max_failures_per_ip
        self.window = window_seconds
        self.clock = clock
        self.max_keys = max_keys
        self._hits: Dict[Tuple[str, str], Deque[float]] = {}

    def _recent(self, key: Tuple[str, str]) -> Deque[float]:
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def blocked(self, username: str, ip: str) -> bool:
        return (len(self._recent(("u", username))) >= self.max_failures
                or len(self._recent(("ip", ip))) >= self.max_failures_per_ip)

    def record_failure(self, username: str, ip: str) -> None:
        now = self.clock()
        for key in (("u", username), ("ip", ip)):
            self._recent(key)
            self._hits.setdefault(key, deque()).append(now)
        while len(self._hits) > self.max_keys:
            stalest = min(self._hits, key=lambda k: self._hits[k][-1])
            del self._hits[stalest]

    def reset(self, username: str) -> None:
        self._hits.pop(("u", username), None)


# -- passwords --------------------------------------------------------------------------------------

#: Verified against when the user name does not exist, so both failures take about as long.
_DUMMY_PASSWORD = "dummy-password-for-timing"


class Passwords:
    """argon2id hashing with the console's cost settings; blocking work runs in a thread."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self._dummy_hash: Optional[str] = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored_hash: Optional[str], password: str) -> Tuple[bool, Optional[str]]:
        """``(ok, new_hash)``; ``new_hash`` is set when the stored hash used older cost settings."""
        return await asyncio.to_thread(self._verify_sync, stored_hash, password)

    def _verify_sync(self, stored_hash: Optional[str], password: str) -> Tuple[bool, Optional[str]]:
        if stored_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(_DUMMY_PASSWORD)
            try:
                self.hasher.verify(self._dummy_hash, password)
            except VerificationError:
                pass
            return False, None
        try:
            self.hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, None
        if self.hasher.check_needs_rehash(stored_hash):
            return True, self.hasher.hash(password)
        return True, None


# -- sessions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    display_name: str
    role: str
    session_id: int
    csrf_token: str


def utc(dt: Optional[datetime]) -> Optional[datetime]:
    """SQLite hands back naive datetimes; everything the console stores is UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


async def create_session(engine: AsyncEngine, user_id: int, settings: ConsoleSettings,
                         now: Optional[datetime] = None) -> str:
    """Start a session; returns the raw token for the cookie (never stored)."""
    now = now or now_utc()
    raw = secrets.token_urlsafe(32)
    async with AsyncSession(engine) as session, session.begin():
        session.add(StaffSession(token_hash=token_digest(raw), user_id=user_id, csrf_token=secrets.token_urlsafe(32),
                                 created_at=now, last_seen=now, expires_at=now + settings.absolute_timeout))
    return raw


def session_expired(created_at: datetime, last_seen: datetime, expires_at: datetime, now: datetime,
                    settings: ConsoleSettings) -> bool:
    return now >= utc(expires_at) or now - utc(last_seen) >= settings.idle_timeout or \
        now - utc(created_at) >= settings.absolute_timeout


async def load_session(engine: AsyncEngine, raw: Optional[str], settings: ConsoleSettings, *, touch: bool = True,
                       now: Optional[datetime] = None) -> Optional[CurrentUser]:
    """The signed-in user of a cookie, or ``None``; expired sessions are deleted on sight."""
    if not raw or len(raw) > 200:
        return None
    now = now or now_utc()
    digest = token_digest(raw)
    async with AsyncSession(engine) as session, session.begin():
        row = (await session.execute(
            select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(StaffSession.token_hash == digest)
        )).first()
        if row is None:
            return None
        sess, user = row
        if not user.active or session_expired(sess.created_at, sess.last_seen, sess.expires_at, now, settings):
            await session.execute(delete(StaffSession).where(StaffSession.id == sess.id))
            return None
        # Activity is written at most every few seconds (a write per page view would cost more than the page).
        if touch and now - utc(sess.last_seen) >= min(timedelta(seconds=30), settings.idle_timeout / 10):
            await session.execute(update(StaffSession).where(StaffSession.id == sess.id).values(last_seen=now))
        return CurrentUser(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                           session_id=sess.id, csrf_token=sess.csrf_token)


async def end_session(engine: AsyncEngine, raw: Optional[str]) -> None:
    if not raw:
        return
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(delete(StaffSession).where(StaffSession.token_hash == token_digest(raw)))


async def end_sessions_of(engine: AsyncEngine, user_id: int) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


# -- route markers ------------------------------------------------------------------------------------

ROLE_ATTR = "_console_role"
PUBLIC_ATTR = "_console_public"
API_ATTR = "_console_api"
PASSIVE_ATTR = "_console_passive"


def require_role(role: str, *, api: bool = False, passive: bool = False):
    """Mark a handler with the least role that may use it. Unmarked handlers are refused to everyone.

    ``api``: answer anonymous users with 401 instead of a redirect; ``passive``: does not count as
    activity for the idle timeout (the queue's auto-refresh).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def mark(handler):
        setattr(handler, ROLE_ATTR, role)
        setattr(handler, API_ATTR, api)
        setattr(handler, PASSIVE_ATTR, passive)
        return handler

    return mark


def public(handler):
    """Mark a handler reachable without signing in (the sign-in page only)."""
    setattr(handler, PUBLIC_ATTR, True)
    return handler
