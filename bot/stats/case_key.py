"""The ``case_key`` of a statistics row: HMAC-SHA256 of the sender id under a secret key.

It lets managers count distinct people (実件数) without the rows holding the sender id. It is
*pseudonymous*, not anonymous: whoever holds both the key and a sender id can find that person's
rows. The key comes from ``STATS_SECRET`` (at least 32 characters) or, when that is unset, from the
key file ``var/stats.key`` (``STATS_KEY_FILE`` overrides the path), created with mode 0600 on first
use. Keep the key out of backups of the statistics; losing it only means later rows can no longer
be linked to earlier ones (実件数 across the change is over-counted).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path
from typing import Mapping, Optional

from bot.paths import VAR

SECRET_ENV = "STATS_SECRET"
KEY_FILE_ENV = "STATS_KEY_FILE"
DEFAULT_KEY_FILE = VAR / "stats.key"
MIN_SECRET_CHARS = 32

_cache: dict = {}
_lock = threading.Lock()


def case_key(sender_id: str, secret: bytes) -> str:
    """HMAC-SHA256 of the sender id, as 64 hex characters (pure)."""
    if not isinstance(sender_id, str) or not sender_id:
        raise ValueError("sender_id must be non-empty text")
    if not isinstance(secret, bytes) or len(secret) < 16:
        raise ValueError("the statistics secret must be at least 16 bytes")
    return hmac.new(secret, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()


def load_secret(environ: Optional[Mapping[str, str]] = None) -> bytes:
    """The secret (blocking file I/O on first use; cached per source afterwards)."""
    env = os.environ if environ is None else environ
    raw = env.get(SECRET_ENV, "")
    if raw:
        if len(raw) < MIN_SECRET_CHARS:
            raise ValueError(f"{SECRET_ENV} must be at least {MIN_SECRET_CHARS} characters")
        return raw.encode("utf-8")
    path = Path(env.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE)
    with _lock:
        found = _cache.get(path)
        if found is None:
            found = _cache[path] = _read_or_create(path)
        return found


def _read_or_create(path: Path) -> bytes:
    """Read the key file, or create it atomically (0600) so concurrent first users agree on one key."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temp, path)  # atomic, and fails when another process made the file first
        except FileExistsError:
            pass
    finally:
        temp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if len(text) < MIN_SECRET_CHARS:
        raise ValueError(f"{path}: the statistics key is too short (delete it to make a new one)")
    return text.encode("ascii")


async def case_key_for(sender_id: str) -> str:
    """The case key of a sender id under the configured secret (the first call reads it in a thread)."""
    if os.environ.get(SECRET_ENV):
        return case_key(sender_id, load_secret())
    secret = await asyncio.to_thread(load_secret)
    return case_key(sender_id, secret)


async def existing_case_key_for(sender_id: str) -> Optional[str]:
    """Like :func:`case_key_for`, but None instead of creating a key file (readers: no key, no rows)."""
    if os.environ.get(SECRET_ENV):
        return case_key(sender_id, load_secret())
    path = Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE)
    if path not in _cache and not await asyncio.to_thread(path.exists):
        return None
    return await case_key_for(sender_id)


def forget_cached_secret() -> None:
    """Tests that point ``STATS_KEY_FILE`` elsewhere start from a clean cache."""
    with _lock:
        _cache.clear()
