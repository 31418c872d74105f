"""Chat with the running bot from a terminal through the REST channel.

Shows the text, numbered quick replies (type the number to press one) and the protocol payloads,
so a developer sees exactly what a channel receives. ``python -m integrations.cli_chat``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import uuid

import aiohttp


async def send(session: aiohttp.ClientSession, url: str, sender: str, message: str) -> list:
    async with session.post(url, json={"sender": sender, "message": message}) as resp:
        resp.raise_for_status()
        return await resp.json()


def show(messages: list) -> list:
    """Print one bot turn; return the quick replies offered."""
    buttons = []
    for m in messages:
        if m.get("text"):
            print(f"bot> {m['text']}")
        for b in m.get("buttons") or []:
            buttons.append(b)
            print(f"     [{len(buttons)}] {b['title']}")
        if m.get("custom"):
            print(f"     payload {json.dumps(m['custom'], ensure_ascii=False)}")
    return buttons


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:5005/webhooks/rest/webhook")
    parser.add_argument("--sender", default=f"cli-{uuid.uuid4().hex[:8]}")
    args = parser.parse_args()
    buttons: list = []
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                line = input("you> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return
            if line.strip().isdigit() and 0 < int(line) <= len(buttons):
                line = buttons[int(line) - 1]["payload"]
            buttons = show(await send(session, args.url, args.sender, line))


if __name__ == "__main__":
    asyncio.run(main())
