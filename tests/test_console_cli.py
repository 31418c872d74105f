"""The console's command line: ``create-admin`` and ``serve``, run as real processes."""
from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def _run(args, db: Path, *, password=None, stdin=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if k not in ("CONSOLE_ADMIN_PASSWORD", "DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite:///{db}"
    if password is not None:
        env["CONSOLE_ADMIN_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "integrations.console", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def _users(db: Path):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT username, role, active, password_hash FROM staff_users").fetchall()


def test_create_admin_from_the_environment(tmp_path):
    db = tmp_path / "intake.db"
    done = _run(["create-admin", "--username", "Kanri1", "--display-name", "みどり市 管理者"], db,
                password="あさがお-管理-2026")
    assert done.returncode == 0, done.stderr
    assert "kanri1" in done.stdout
    [(username, role, active, password_hash)] = _users(db)
    assert (username, role, active) == ("kanri1", "admin", 1)
    assert password_hash.startswith("$argon2id$") and "あさがお" not in password_hash
    again = _run(["create-admin", "--username", "kanri1"], db, password="ほかの-パスワード-2026")
    assert again.returncode == 1 and "すでに使われています" in again.stderr
    assert len(_users(db)) == 1


def test_create_admin_refuses_weak_passwords(tmp_path):
    db = tmp_path / "intake.db"
    weak = _run(["create-admin", "--username", "kanri1"], db, password="short-pw")
    assert weak.returncode == 1 and "12文字以上" in weak.stderr
    assert "short-pw" not in weak.stdout + weak.stderr
    assert not db.exists() or _users(db) == []


def test_create_admin_prompt_needs_the_same_password_twice(tmp_path):
    db = tmp_path / "intake.db"
    # Without a terminal, getpass reads the two answers from standard input.
    mismatch = _run(["create-admin", "--username", "kanri1"], db, stdin="あさがお-管理-2026\nあさがお-管理-2027\n")
    assert mismatch.returncode == 1 and "一致しません" in mismatch.stderr
    ok = _run(["create-admin", "--username", "kanri1"], db, stdin="あさがお-管理-2026\nあさがお-管理-2026\n")
    assert ok.returncode == 0, ok.stderr
    assert [u[:2] for u in _users(db)] == [("kanri1", "admin")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_with_the_sign_in_page(tmp_path):
    db, port = tmp_path / "intake.db", _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATABASE_URL=f"sqlite:///{db}", RASA_URL="http://127.0.0.1:9")
    proc = subprocess.Popen([sys.executable, "-m", "integrations.console", "serve", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, page = time.time() + 60, None
        while time.time() < deadline and page is None:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/", timeout=2)
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.3)
        assert page is not None and page.status_code == 200
        assert "/login?next=" in page.url and "みどり市 相談コンソール" in page.text
        assert page.headers["X-Frame-Options"] == "DENY"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_an_old_database_is_migrated_and_keeps_its_tickets(tmp_path):
    db = tmp_path / "intake.db"
    with sqlite3.connect(db) as conn:  # handoff_tickets as the bot created it before the console existed
        conn.execute("CREATE TABLE handoff_tickets (id INTEGER PRIMARY KEY, ticket VARCHAR(16) NOT NULL UNIQUE, "
                     "sender_id VARCHAR(255) NOT NULL, channel VARCHAR(32) NOT NULL, urgency VARCHAR(16) NOT NULL, "
                     "mode VARCHAR(16) NOT NULL, reason VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, "
                     "callback_after DATETIME, summary JSON, created_at DATETIME NOT NULL, notes TEXT)")
        conn.execute("INSERT INTO handoff_tickets (ticket, sender_id, channel, urgency, mode, reason, status, created_at) "
                     "VALUES ('HOLD234', 's-old', 'rest', 'urgent', 'callback', 'no_shelter', 'open', '2026-11-01 00:00:00')")
    done = _run(["create-admin", "--username", "kanri1"], db, password="ながいパスワード-2026-admin")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(handoff_tickets)")}
        assert {"claimed_by", "claimed_at", "closed_at"} <= columns
        assert conn.execute("SELECT ticket FROM handoff_tickets").fetchall() == [("HOLD234",)]
