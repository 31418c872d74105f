"""Helpers for the privacy tests: new data keys, and raw byte scans of database files.

The ``use_keys`` fixture (a data key for one test) is in conftest.py."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, List

from cryptography.fernet import Fernet


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def forms(text: str) -> List[bytes]:
    """The ways ``text`` could appear in a file: UTF-8, UTF-16 and JSON's \\u escapes."""
    escaped = json.dumps(text)[1:-1]
    return list({text.encode("utf-8"), text.encode("utf-16-le"), escaped.encode("ascii", "backslashreplace")})


def leaks(files: Iterable[Path], secrets: Iterable[str]) -> List[str]:
    """The secrets found in the raw bytes of ``files`` (a database, its -wal and -journal files)."""
    blobs = [p.read_bytes() for p in files if p.exists()]
    return [s for s in secrets if any(f in blob for blob in blobs for f in forms(s))]


def sqlite_files(db: Path) -> List[Path]:
    return [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
