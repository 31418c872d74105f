"""Command line of the staff console.

    python -m integrations.console serve [--host 127.0.0.1] [--port 8080]
    python -m integrations.console create-admin --username NAME [--display-name 名前]

The database is ``DATABASE_URL`` (default: the bot's SQLite file); Rasa is ``RASA_URL`` (default
``http://127.0.0.1:${RASA_PORT:-5005}``) with ``RASA_TOKEN`` when the API is protected.
``create-admin`` reads the password from a prompt (typed twice) or from ``CONSOLE_ADMIN_PASSWORD``.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from typing import List, Optional

from integrations.console.settings import ConsoleSettings


def _settings() -> ConsoleSettings:
    """Settings from the environment; time zone and city name from the municipality profile."""
    from bot.profile import load_profile

    profile = load_profile()
    return ConsoleSettings.from_env(timezone=profile.municipality.timezone, municipality=profile.municipality.name)


async def _create_admin(username: str, display_name: str, password: str) -> int:
    from bot.db.engine import get_engine
    from integrations.console.auth import Passwords
    from integrations.console.schema import prepare
    from integrations.console.users import AccountError, create_user

    settings = ConsoleSettings.from_env()
    engine = get_engine()
    try:
        await prepare(engine)
        user = await create_user(engine, Passwords(settings.password_hasher()), username=username, password=password,
                                 role="admin", display_name=display_name, min_length=settings.password_min_length)
    except AccountError as exc:
        print(f"作成できませんでした: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"システム管理者「{user.username}」を作成しました。")
    return 0


def _read_password(min_length: int) -> Optional[str]:
    from integrations.console.auth import password_problem

    env = os.environ.get("CONSOLE_ADMIN_PASSWORD")
    if env is not None:
        return env
    first = getpass.getpass("パスワード: ")
    if problem := password_problem(first, min_length=min_length):
        print(problem, file=sys.stderr)
        return None
    if getpass.getpass("パスワード（確認）: ") != first:
        print("パスワードが一致しません。", file=sys.stderr)
        return None
    return first


def _serve(host: str, port: int) -> int:
    from aiohttp import web

    from bot.db.engine import get_engine
    from integrations.console.app import create_app
    from integrations.console.schema import prepare
    from integrations.rasa_api import RasaClient

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("aiosqlite", "sqlalchemy.engine", "asyncpg"):  # their debug output quotes SQL parameters
        logging.getLogger(chatty).setLevel(logging.WARNING)
    settings = _settings()

    async def check() -> None:
        probe = get_engine.__wrapped__()  # an uncached engine, disposed on this short-lived loop
        try:
            await prepare(probe)
        finally:
            await probe.dispose()

    asyncio.run(check())
    engine = get_engine()
    rasa_url = os.environ.get("RASA_URL") or f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}"
    rasa = RasaClient(rasa_url, token=os.environ.get("RASA_TOKEN") or None,
                      timeout=float(os.environ.get("CONSOLE_RASA_TIMEOUT", "5")))

    async def app_factory() -> web.Application:
        app = create_app(engine, rasa, settings)

        async def dispose(_app: web.Application) -> None:
            await engine.dispose()

        app.on_cleanup.append(dispose)
        return app

    # Access log without client address or user agent: the path carries only ticket codes.
    web.run_app(app_factory(), host=host, port=port, access_log_format='"%r" %s %b %Tfs')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.console", description="職員用相談コンソール")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="コンソールを起動する")
    serve.add_argument("--host", default=os.environ.get("CONSOLE_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("CONSOLE_PORT", "8080")))
    admin = sub.add_parser("create-admin", help="最初のシステム管理者を作る")
    admin.add_argument("--username", required=True)
    admin.add_argument("--display-name", default="")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args.host, args.port)
    password = _read_password(ConsoleSettings.from_env().password_min_length)
    if password is None:
        return 1
    return asyncio.run(_create_admin(args.username, args.display_name, password))


if __name__ == "__main__":
    sys.exit(main())
