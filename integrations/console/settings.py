"""Settings of the staff console; every limit is a setting so that a city (or a test) can change it."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping, Optional

from argon2 import PasswordHasher


@dataclass(frozen=True)
class ConsoleSettings:
    #: A session ends after this long without a page view or an action (the queue's refresh does not count).
    idle_timeout: timedelta = timedelta(minutes=30)
    #: ... and in any case this long after sign-in.
    absolute_timeout: timedelta = timedelta(hours=12)
    #: Add ``Secure`` to cookies (set when the console is served over HTTPS).
    secure_cookies: bool = False
    #: Failed sign-ins allowed per user name, and per client address, within ``login_window``.
    login_max_failures: int = 5
    login_max_failures_per_ip: int = 20
    login_window: timedelta = timedelta(minutes=10)
    #: Seconds between refreshes of the queue page.
    queue_refresh_seconds: int = 5
    #: Cases per queue page (the most urgent and longest waiting come first).
    queue_page_size: int = 100
    timezone: str = "Asia/Tokyo"
    municipality: str = ""
    password_min_length: int = 12
    reply_max_chars: int = 2000
    #: argon2id cost (argon2-cffi's defaults: RFC 9106 low-memory profile).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4

    def password_hasher(self) -> PasswordHasher:
        return PasswordHasher(time_cost=self.argon2_time_cost, memory_cost=self.argon2_memory_kib,
                              parallelism=self.argon2_parallelism)

    def replace(self, **changes: Any) -> "ConsoleSettings":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> "ConsoleSettings":
        """Read ``CONSOLE_*`` variables; unset ones keep the defaults above."""
        env = os.environ if environ is None else environ
        values: dict = {}

        def number(name: str) -> Optional[float]:
            raw = env.get(name, "").strip()
            if not raw:
                return None
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number, not {raw!r}") from None
            if value <= 0:
                raise ValueError(f"{name} must be positive")
            return value

        if (v := number("CONSOLE_IDLE_MINUTES")) is not None:
            values["idle_timeout"] = timedelta(minutes=v)
        if (v := number("CONSOLE_ABSOLUTE_HOURS")) is not None:
            values["absolute_timeout"] = timedelta(hours=v)
        if (v := number("CONSOLE_LOGIN_MAX_FAILURES")) is not None:
            values["login_max_failures"] = int(v)
        if (v := number("CONSOLE_LOGIN_WINDOW_MINUTES")) is not None:
            values["login_window"] = timedelta(minutes=v)
        if (v := number("CONSOLE_REFRESH_SECONDS")) is not None:
            values["queue_refresh_seconds"] = max(1, int(v))
        values["secure_cookies"] = env.get("CONSOLE_SECURE_COOKIES", "").strip().lower() in ("1", "true", "yes")
        values.update(overrides)
        return cls(**values)
