"""Fixtures of the console tests (registered with ``pytest_plugins = ["tests.console_fixtures"]``).

``console`` serves the console on a free port over a fresh SQLite file with a stand-in Rasa and one
user per role; ``console_page`` is a page in a fresh context of a headless Chromium.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Dict

import pytest
import pytest_asyncio

from tests.console_support import (
    CHROMIUM, CHROMIUM_ARGS, Harness, console_settings, sqlite_engine, start_console, stop_console,
)


@pytest.fixture
def console_overrides() -> Dict[str, Any]:
    """Settings changed for one test: ``@pytest.mark.parametrize("console_overrides", [{...}])``."""
    return {}


@pytest_asyncio.fixture
async def console(tmp_path, console_overrides) -> AsyncIterator[Harness]:
    settings = console_settings(**console_overrides)
    harness = await start_console(await sqlite_engine(tmp_path), settings)
    try:
        yield harness
    finally:
        await stop_console(harness)


@pytest_asyncio.fixture
async def console_browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture
async def console_page(console_browser):
    context = await console_browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        await context.close()
