"""Signed session ids: the browser never chooses which conversation it reads or writes.

The web server gives each browser a random conversation id inside an HMAC-signed, HttpOnly
cookie, and hands the page short-lived signed *socket tokens* for that id. Rasa's web chat
channel (``rasa_channel.py``) accepts a socket only with a valid token and takes the
conversation id from it, so a page cannot join someone else's conversation by sending an id.
Both processes share one secret: ``WEBCHAT_SECRET``, or else a file both create on first use.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Optional

from bot.paths import VAR

SECRET_ENV = "WEBCHAT_SECRET"
SECRET_FILE_ENV = "WEBCHAT_SECRET_FILE"
DEFAULT_SECRET_FILE = VAR / "webchat.secret"
#: How long a socket token stays valid; the page fetches a fresh one on every (re)connect.
SOCKET_TOKEN_SECONDS = 600
_ID = re.compile(r"^[0-9a-f]{32}$")


def new_session_id() -> str:
    """A fresh conversation id (128 random bits, hex): also Rasa's sender id."""
    return secrets.token_hex(16)


def is_session_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


def _mac(secret: bytes, purpose: str, *parts: str) -> str:
    msg = "|".join((purpose, *parts)).encode()
    return base64.urlsafe_b64encode(hmac.new(secret, msg, hashlib.sha256).digest()).rstrip(b"=").decode()


def cookie_value(secret: bytes, session_id: str) -> str:
    """The cookie that binds a browser to ``session_id``."""
    return f"{session_id}.{_mac(secret, 'cookie', session_id)}"


def session_from_cookie(secret: bytes, value: Optional[str]) -> Optional[str]:
    """The session id of a genuine cookie; None for a missing, malformed or forged one."""
    if not value or len(value) > 200 or value.count(".") != 1:
        return None
    session_id, mac = value.split(".")
    if is_session_id(session_id) and hmac.compare_digest(mac, _mac(secret, "cookie", session_id)):
        return session_id
    return None


def socket_token(secret: bytes, session_id: str, now: float, ttl: int = SOCKET_TOKEN_SECONDS) -> str:
    """A token that lets one socket connection speak as ``session_id`` until ``now + ttl``."""
    expires = str(int(now) + ttl)
    return f"{session_id}.{expires}.{_mac(secret, 'socket', session_id, expires)}"


def session_from_token(secret: bytes, token: object, now: float) -> Optional[str]:
    """The session id of a genuine, unexpired socket token; None otherwise."""
    if not isinstance(token, str) or len(token) > 200 or token.count(".") != 2:
        return None
    session_id, expires, mac = token.split(".")
    if not (is_session_id(session_id) and expires.isdigit()):
        return None
    if not hmac.compare_digest(mac, _mac(secret, "socket", session_id, expires)):
        return None
    return session_id if int(expires) >= now else None


def load_secret(explicit: Optional[str] = None) -> bytes:
    """The shared secret: ``explicit``, else ``$WEBCHAT_SECRET``, else the secret file.

    The file (``$WEBCHAT_SECRET_FILE``, default ``var/webchat.secret`` under the working
    directory) is created atomically by whichever process needs it first, so ``rasa run`` and the
    web server started from the same checkout agree without any set-up.
    """
    value = explicit or os.environ.get(SECRET_ENV)
    if value:
        return value.encode()
    path = Path(os.environ.get(SECRET_FILE_ENV) or DEFAULT_SECRET_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
        try:
            os.link(tmp, path)  # atomic: fails if another process won the race
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty: delete it or set {SECRET_ENV}")
    return secret.encode()
