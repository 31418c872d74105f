"""Shared fixtures. The ``rest`` fixture runs the real stack: trained model, rasa server, actions."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "current.tar.gz"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not come up:\n{log.read_text()[-3000:]}")


class RestChat:
    """A resident talking through ``POST /webhooks/rest/webhook``."""

    def __init__(self, base: str, sender: str | None = None) -> None:
        self.base = base
        self.sender = sender or f"t-{uuid.uuid4().hex[:10]}"

    def say(self, text: str) -> List[Dict[str, Any]]:
        resp = requests.post(f"{self.base}/webhooks/rest/webhook", json={"sender": self.sender, "message": text}, timeout=60)
        resp.raise_for_status()
        return resp.json()

    def tracker(self) -> Dict[str, Any]:
        resp = requests.get(f"{self.base}/conversations/{self.sender}/tracker", timeout=30)
        resp.raise_for_status()
        return resp.json()

    def slots(self) -> Dict[str, Any]:
        return self.tracker()["slots"]


@pytest.fixture(scope="session")
def rest_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not MODEL.exists():
        pytest.fail("models/current.tar.gz is missing: run scripts/train.sh (make test does it)")
    tmp = tmp_path_factory.mktemp("stack")
    a_port, r_port = _free_port(), _free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{a_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{tmp / "trackers.db"}"\n'
    )
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'intake.db'}", "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
    logs = [tmp / "actions.log", tmp / "rasa.log"]
    actions = subprocess.Popen(
        [str(BIN / "rasa"), "run", "actions", "--actions", "bot.actions", "--port", str(a_port)],
        cwd=ROOT, env=env, stdout=logs[0].open("w"), stderr=subprocess.STDOUT,
    )
    rasa = subprocess.Popen(
        [str(BIN / "rasa"), "run", "--enable-api", "--port", str(r_port), "--model", str(MODEL),
         "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")],
        cwd=ROOT, env=env, stdout=logs[1].open("w"), stderr=subprocess.STDOUT,
    )
    try:
        _wait(f"http://127.0.0.1:{a_port}/health", actions, logs[0])
        _wait(f"http://127.0.0.1:{r_port}/status", rasa, logs[1])
        yield f"http://127.0.0.1:{r_port}"
    finally:
        for proc in (rasa, actions):
            proc.terminate()
        for proc in (rasa, actions):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            text = log.read_text()
            if "Traceback" in text:
                print(f"--- {log.name} contains a traceback ---\n{text[-4000:]}")


@pytest.fixture
def chat(rest_base: str) -> RestChat:
    return RestChat(rest_base)
