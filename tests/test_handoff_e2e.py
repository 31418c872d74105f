"""Live handoff end to end on the real stack: the bot pauses, a staff message reaches the resident's
channel, hand-back resumes the bot.

The resident talks through Rasa's ``callback`` channel, which pushes every bot message to a URL:
a small HTTP server here plays the resident's phone. The clock is fixed inside office hours
(``INTAKE_NOW``) so the handoff is live whatever time the tests run.
"""
from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List

import pytest
import requests

from bench.procs import rest_stack, tracebacks
from tests.conftest import MODEL

pytestmark = pytest.mark.server
OFFICE_HOURS = "2026-11-24T10:00:00+09:00"  # a Tuesday morning


class Phone:
    """Receives what the bot pushes to the resident (Rasa's callback channel)."""

    def __init__(self) -> None:
        self.inbox: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        inbox = self.inbox

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                inbox.put(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def until(self, done: Callable[[Dict[str, Any]], bool], timeout: float = 30) -> List[Dict[str, Any]]:
        """Messages up to and including the first one for which ``done`` is true."""
        got: List[Dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not got or not done(got[-1]):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected message not received; got {got}")
            got.append(self.inbox.get(timeout=remaining))
        return got

    def silent_for(self, seconds: float) -> bool:
        try:
            self.inbox.get(timeout=seconds)
            return False
        except queue.Empty:
            return True


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    phone = Phone()
    with rest_stack(MODEL, tmp_path_factory.mktemp("handoff"), timeout=240,
                    extra_credentials=f"callback:\n  url: \"{phone.url}\"\n", env={"INTAKE_NOW": OFFICE_HOURS}) as stack:
        yield {"url": stack["url"], "phone": phone}
        assert not any(tracebacks(stack["logs"]).values()), stack["logs"]
    phone.server.shutdown()


def _say(stack: Dict[str, Any], sender: str, text: str) -> None:
    resp = requests.post(f"{stack['url']}/webhooks/callback/webhook", json={"sender": sender, "message": text}, timeout=30)
    assert resp.status_code == 200


def _kind(kind: str) -> Callable[[Dict[str, Any]], bool]:
    return lambda m: (m.get("custom") or {}).get("type") == kind


def test_live_handoff_staff_message_and_hand_back(live_stack):
    phone, base, sender = live_stack["phone"], live_stack["url"], f"cb-{uuid.uuid4().hex[:8]}"
    _say(live_stack, sender, "家賃を3か月滞納しています")
    phone.until(_kind("ask"))  # the screening has started
    _say(live_stack, sender, "人と話したいです")
    handoff = phone.until(_kind("handoff"))[-1]["custom"]
    assert handoff["mode"] == "live" and handoff["ticket"].startswith("H")

    # Paused: the resident's next words are recorded for staff, and the bot says nothing.
    _say(live_stack, sender, "まだですか？")
    assert phone.silent_for(3)
    tracker = requests.get(f"{base}/conversations/{sender}/tracker", timeout=30).json()
    assert tracker["paused"] is True
    assert [e["text"] for e in tracker["events"] if e["event"] == "user"][-1] == "まだですか？"

    # A staff message (the console's contract, integrations/rasa_api.py) reaches the phone.
    started = time.monotonic()
    text = "支援員の山田です。お待たせしました。今の状況を聞かせてください。"
    requests.post(f"{base}/conversations/{sender}/tracker/events?output_channel=latest",
                  json=[{"event": "slot", "name": "staff_message", "value": text}], timeout=30).raise_for_status()
    requests.post(f"{base}/conversations/{sender}/execute?output_channel=latest",
                  json={"name": "action_staff_message"}, timeout=30).raise_for_status()
    got = phone.until(_kind("staff_message"))
    assert time.monotonic() - started < 30
    assert [m["text"] for m in got if m.get("text")] == [text]

    # Hand back: the bot is back, offers to go on, and the screening continues where it was.
    requests.post(f"{base}/conversations/{sender}/tracker/events", json=[{"event": "resume"}], timeout=30).raise_for_status()
    requests.post(f"{base}/conversations/{sender}/execute?output_channel=latest",
                  json={"name": "action_handback"}, timeout=30).raise_for_status()
    back = phone.until(lambda m: bool(m.get("buttons")))
    assert "/resume" in [b["payload"] for b in back[-1]["buttons"]]
    _say(live_stack, sender, "/resume")
    ask = phone.until(_kind("ask"))[-1]["custom"]
    assert ask["field"] != "rent_arrears_months"  # said before the handoff, never re-asked
    slots = requests.get(f"{base}/conversations/{sender}/tracker", timeout=30).json()["slots"]
    assert slots["rent_arrears_months"] == 3 and slots["handoff_live"] is False
