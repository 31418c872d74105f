"""A small client for the Rasa server's HTTP API (``rasa run --enable-api``), used by the staff console.

Contract with the Rasa side (the actions are written with the live handoff):

* staff message: set the slot ``staff_message`` on the conversation, then execute
  ``action_staff_message`` with ``output_channel=latest`` so that the text reaches the resident's
  own channel;
* hand back: append a ``resume`` event (the bot replies again), then execute ``action_handback``.

Errors are split in two so the console can tell staff what happened: :class:`RasaUnavailable`
(no connection, timeout, 5xx: try again later) and :class:`RasaError` (Rasa refused the request).
Nothing here logs message text or conversation ids.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, Optional
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)


class RasaError(Exception):
    """Rasa answered, but not with success (wrong token, unknown action, bad request)."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class RasaUnavailable(RasaError):
    """Rasa could not be reached in time, or failed on its side; the request may be retried."""


SessionFactory = Callable[[], aiohttp.ClientSession]


class RasaClient:
    """``RasaClient("http://127.0.0.1:5005", token=None)``; one HTTP session, opened on first use."""

    def __init__(
        self,
        base_url: str,
        token: Optional[str] = None,
        session_factory: Optional[SessionFactory] = None,
        timeout: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token or None
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._factory = session_factory or (lambda: aiohttp.ClientSession(timeout=self.timeout))
        self._session: Optional[aiohttp.ClientSession] = None

    async def tracker(self, sender_id: str) -> Dict[str, Any]:
        """The whole conversation: ``{"sender_id", "slots", "events": [...], ...}``."""
        data = await self._request("GET", self._path(sender_id, "tracker"), params={"include_events": "ALL"},
                                   operation="tracker")
        if not isinstance(data, dict):
            raise RasaError("tracker: unexpected answer")
        return data

    async def send_staff_message(self, sender_id: str, text: str) -> None:
        """Deliver one staff message to the resident through the conversation's latest channel."""
        await self._request(
            "POST", self._path(sender_id, "tracker/events"), params={"output_channel": "latest"},
            json=[{"event": "slot", "name": "staff_message", "value": text}], operation="set staff_message",
        )
        await self._request(
            "POST", self._path(sender_id, "execute"), params={"output_channel": "latest"},
            json={"name": "action_staff_message"}, operation="execute action_staff_message",
        )

    async def run_action(self, sender_id: str, action: str, *, slots: Optional[Dict[str, Any]] = None,
                         output_channel: str = "latest") -> None:
        """Run one bot action in the conversation (reminders), after setting ``slots`` for it."""
        if slots:
            await self._request(
                "POST", self._path(sender_id, "tracker/events"),
                json=[{"event": "slot", "name": k, "value": v} for k, v in slots.items()], operation=f"set slots for {action}",
            )
        await self._request("POST", self._path(sender_id, "execute"), params={"output_channel": output_channel},
                            json={"name": action}, operation=f"execute {action}")

    async def hand_back(self, sender_id: str) -> None:
        """Let the bot reply again in this conversation."""
        await self._request("POST", self._path(sender_id, "tracker/events"), json=[{"event": "resume"}],
                            operation="resume")
        await self._request(
            "POST", self._path(sender_id, "execute"), params={"output_channel": "latest"},
            json={"name": "action_handback"}, operation="execute action_handback",
        )

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    # -- plumbing -----------------------------------------------------------------------------------

    @staticmethod
    def _path(sender_id: str, tail: str) -> str:
        if not sender_id:
            raise RasaError("empty conversation id")
        return f"/conversations/{quote(sender_id, safe='')}/{tail}"

    async def _request(self, method: str, path: str, *, operation: str, params: Optional[Dict[str, str]] = None,
                       json: Any = None) -> Any:
        query = dict(params or {})
        if self.token:
            query["token"] = self.token
        if self._session is None or self._session.closed:
            self._session = self._factory()
        try:
            async with self._session.request(method, self.base_url + path, params=query, json=json,
                                             timeout=self.timeout) as resp:
                if resp.status >= 500:
                    log.warning("rasa %s failed with HTTP %s", operation, resp.status)
                    raise RasaUnavailable(f"{operation}: HTTP {resp.status}", resp.status)
                if resp.status >= 400:
                    log.warning("rasa %s refused with HTTP %s", operation, resp.status)
                    raise RasaError(f"{operation}: HTTP {resp.status}", resp.status)
                if resp.content_type == "application/json":
                    return await resp.json()
                return await resp.text()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            log.warning("rasa %s unreachable (%s)", operation, type(exc).__name__)
            raise RasaUnavailable(f"{operation}: {type(exc).__name__}") from None
