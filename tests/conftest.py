"""Shared fixtures. ``rest_base`` runs the real stack (trained model, rasa server, action server)
with the same launcher as the benchmark (``bench/procs.py``)."""
from __future__ import annotations

import os
import uuid
from typing import Any, Dict, Iterator, List

import pytest
import requests
from cryptography.fernet import Fernet

from bench.procs import ROOT, rest_stack, tracebacks

MODEL = ROOT / "models" / "current.tar.gz"

#: The clock of the shared stacks (``INTAKE_NOW``): 23:10 on Monday 2026-11-23, a national holiday,
#: when residents write and the desks are shut. Without it an urgent referral made in office hours
#: hands the chat to a person (no menu), and the same test passes at night and fails at 10:00.
NIGHT = "2026-11-23T23:10:00+09:00"


def pytest_configure(config: pytest.Config) -> None:
    """One data key for the whole run (and the servers it starts), so tests never write var/data.key."""
    os.environ.setdefault("INTAKE_DATA_KEY", Fernet.generate_key().decode("ascii"))


@pytest.fixture
def storage(tmp_path):
    """A Rasa model storage of one test's own, for graph components built by hand."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    return LocalModelStorage(tmp_path)


def graph_context():
    """The execution context Rasa gives a graph component, for components built by hand."""
    from rasa.engine.graph import ExecutionContext, GraphSchema

    return ExecutionContext(GraphSchema({}), "test-model")


def tokenized(*texts: str) -> list:
    """Messages with their text tokenized by the project's Sudachi tokenizer, as in the pipeline."""
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.ja_tokenizer import JaSudachiTokenizer

    tokenizer = JaSudachiTokenizer({**JaSudachiTokenizer.get_default_config()})
    messages = [Message(data={"text": t}) for t in texts]
    for m in messages:
        m.set("text_tokens", tokenizer.tokenize(m, "text"))
    return messages


@pytest.fixture
def use_keys(monkeypatch: pytest.MonkeyPatch):
    """``use_keys(k1, k2, ...)``: INTAKE_DATA_KEY for this test, newest first (the keyring is re-read)."""
    from bot.db import crypto

    def use(*keys: str) -> None:
        monkeypatch.setenv(crypto.KEY_ENV, ",".join(keys))
        crypto.reset_keyring()

    yield use
    crypto.reset_keyring()


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
    with rest_stack(MODEL, tmp_path_factory.mktemp("stack"), timeout=240, env={"INTAKE_NOW": NIGHT}) as stack:
        yield stack["url"]
        for name, count in tracebacks(stack["logs"]).items():
            if count:
                print(f"--- {name} log has {count} traceback(s): {stack['logs'][name]}")


@pytest.fixture
def chat(rest_base: str) -> RestChat:
    return RestChat(rest_base)
