"""A resident's phone for Rasa's ``callback`` channel: an HTTP server that receives every message
the bot pushes, so tests can see what arrives without a request pending (staff messages,
reminders)."""
from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List


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


def kind(name: str) -> Callable[[Dict[str, Any]], bool]:
    """A ``Phone.until`` condition: the message carries a protocol payload of type ``name``."""
    return lambda m: (m.get("custom") or {}).get("type") == name
