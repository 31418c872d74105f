"""Encryption at rest for personal fields: the data key, and SQLAlchemy column types using it.

Keys (cryptography's Fernet, through ``MultiFernet`` so that keys can rotate):

* ``INTAKE_DATA_KEY``: comma-separated Fernet keys, newest first; or, when it is unset,
* the key file ``var/data.key`` (``INTAKE_DATA_KEY_FILE`` names another path): one key per line,
  newest first, ``#`` comments allowed. It is created on first use with mode 0600 (written to a
  temporary file, then hard-linked into place, so two processes starting together never
  overwrite each other and nobody reads a half-written key). A key file that others may read is
  refused with a message saying how to fix it.

New values are encrypted with the first key; any listed key decrypts. Rotation: put a new key
first, keep the old one second, run ``python -m bot.db.rekey`` (re-encrypts everything with the
new key), then drop the old key. A value no listed key opens raises :class:`DataKeyError` with a
message that names the key sources (never a key, never the value).

Column types: :class:`EncryptedText` and :class:`EncryptedJSON` store Fernet tokens in a Text
column. Tokens are random per write, so encrypted columns cannot be searched or compared in SQL;
only ``IS NULL`` means anything.

    python -m bot.db.crypto new-key    # print a fresh key (for INTAKE_DATA_KEY)
    python -m bot.db.crypto status     # where the key comes from and how many keys (never the keys)
"""
from __future__ import annotations

import json
import os
import re
import secrets
import stat
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Mapping, Optional

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from bot.paths import VAR

KEY_ENV = "INTAKE_DATA_KEY"
KEY_FILE_ENV = "INTAKE_DATA_KEY_FILE"
DEFAULT_KEY_FILE = VAR / "data.key"
#: Every Fernet token starts with the version byte 0x80 and a 64-bit timestamp: "gAAAAA" in base64.
TOKEN_PREFIX = "gAAAAA"
WRONG_KEY = (f"stored personal data cannot be decrypted with the configured data key(s) ({KEY_ENV} or the key "
             "file var/data.key): the key was changed or lost. Put the previous key after the new one "
             "(newest first) to read data written with it.")


class DataKeyError(RuntimeError):
    """The data key is missing, malformed or unsafe, or does not open the stored data."""


# --------------------------------------------------------------------------- keys (pure parsing)


def parse_keys(text: str, source: str) -> List[bytes]:
    """Fernet keys from ``text`` (separated by commas, spaces or lines; ``#`` starts a comment)."""
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    parts = [p for p in re.split(r"[,\s]+", " ".join(lines)) if p]
    if not parts:
        raise DataKeyError(f"{source}: no key found")
    for n, part in enumerate(parts, 1):
        try:
            Fernet(part.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise DataKeyError(f"{source}: key {n} of {len(parts)} is not a Fernet key (44 URL-safe base64 "
                               "characters; `python -m bot.db.crypto new-key` prints one)") from None
    return [p.encode("ascii") for p in parts]


def key_file_path(env: Optional[Mapping[str, str]] = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE)


def read_key_file(path: Path) -> List[bytes]:
    """The keys in ``path``; refused when group or others have any access to it."""
    info = os.stat(path)  # FileNotFoundError goes to the caller
    if not stat.S_ISREG(info.st_mode):
        raise DataKeyError(f"{path}: the data key file is not a regular file")
    if info.st_mode & 0o077:
        raise DataKeyError(f"{path}: the data key file must be readable by its owner only (mode "
                           f"{stat.S_IMODE(info.st_mode):04o}); refusing to start. Fix it with: chmod 600 {path}")
    return parse_keys(path.read_text(encoding="ascii", errors="replace"), str(path))


def create_key_file(path: Path) -> bool:
    """Create ``path`` with one new key, mode 0600; False when it already existed (never overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(b"# Data key for personal fields (Fernet). Back it up: without it the data is lost.\n")
            out.write(Fernet.generate_key() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails when the key file exists: the first creator wins
        except FileExistsError:
            return False
        _fsync_dir(path.parent)
        return True
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_keys(env: Optional[Mapping[str, str]] = None) -> List[bytes]:
    """The configured keys, newest first: ``INTAKE_DATA_KEY``, else the key file (made if missing)."""
    env = os.environ if env is None else env
    raw = env.get(KEY_ENV, "")
    if raw.strip():
        return parse_keys(raw, KEY_ENV)
    path = key_file_path(env)
    try:
        return read_key_file(path)
    except FileNotFoundError:
        create_key_file(path)
        return read_key_file(path)


@lru_cache(maxsize=1)
def keyring() -> MultiFernet:
    """The process-wide keys (read once; :func:`reset_keyring` after changing them)."""
    return MultiFernet([Fernet(k) for k in load_keys()])


def reset_keyring() -> None:
    keyring.cache_clear()


# --------------------------------------------------------------------------- values


def encrypt(text: str) -> str:
    """A Fernet token (ASCII text) for ``text``, made with the newest key."""
    return keyring().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The text inside ``token``; :class:`DataKeyError` when no configured key opens it."""
    try:
        return keyring().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DataKeyError(WRONG_KEY) from None


def rotate(token: str) -> str:
    """The same value re-encrypted with the newest key (the token must open with a configured key)."""
    try:
        return keyring().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise DataKeyError(WRONG_KEY) from None


def looks_encrypted(value: Any) -> bool:
    """True for a string shaped like a Fernet token (legacy plaintext never is: JSON starts with {)."""
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def opens(value: Any) -> bool:
    """True when ``value`` is a token one of the configured keys decrypts."""
    if not looks_encrypted(value):
        return False
    try:
        decrypt(value)
    except DataKeyError:
        return False
    return True


def dumps(value: Any) -> str:
    """The JSON text stored (encrypted) for a JSON value."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- column types


class EncryptedText(TypeDecorator):
    """Text stored as a Fernet token. ``None`` stays NULL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"EncryptedText stores text, got {type(value).__name__}")
        return encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)


class EncryptedJSON(TypeDecorator):
    """A JSON value (mapping, list, number, text) stored as a Fernet token of its JSON text.
    ``None`` is NULL (there is no stored JSON ``null``)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(dumps(value))

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(decrypt(value))


# --------------------------------------------------------------------------- command line


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["new-key"]:
        print(Fernet.generate_key().decode("ascii"))
        return 0
    if args == ["status"]:
        try:
            keys = load_keys()
        except DataKeyError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        source = KEY_ENV if os.environ.get(KEY_ENV, "").strip() else str(key_file_path())
        print(f"{len(keys)} key(s) from {source}; new data is encrypted with the first")
        return 0
    print("usage: python -m bot.db.crypto new-key | status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
