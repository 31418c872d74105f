"""What the console and statistics benchmarks share: the console served in a child process, the
percentiles of page times, and the JSON report of a benchmark run on its own."""
from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence


def page_times(samples: List[float]) -> Dict[str, float]:
    """p50 / p95 (nearest rank) / max in ms, and how many requests."""
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 1),
            "max_ms": round(ordered[-1], 1), "n": len(ordered)}


async def serve_console(engine: Any, rasa_url: str, port: int) -> None:
    """The staff console on ``port`` as ``python -m integrations.console serve`` builds it; runs forever."""
    from aiohttp import web

    from integrations.console.app import create_app
    from integrations.console.settings import ConsoleSettings
    from integrations.rasa_api import RasaClient

    app = create_app(engine, RasaClient(rasa_url), ConsoleSettings(municipality="みどり市"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


@contextmanager
def child_process(target: Callable[..., None], args: Sequence[Any]) -> Iterator[None]:
    """``target(*args)`` in a spawned process (its own interpreter and event loop) while the block runs."""
    child = multiprocessing.get_context("spawn").Process(target=target, args=tuple(args), daemon=True)
    child.start()
    try:
        yield
    finally:
        child.terminate()
        child.join(10)


def save(result: Dict[str, Any], out: Path) -> None:
    """Writes ``result`` to ``out`` and prints it."""
    text = json.dumps(result, ensure_ascii=False, indent=2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    print(text)
