"""bot/server.py: Rasa's check of action-server replies, with the validator compiled once."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.server import cache_action_reply_check

VALID = {"events": [{"event": "slot", "name": "age", "value": 46}],
         "responses": [{"text": "年齢を教えてください。", "buttons": [{"title": "わからない", "payload": "/dont_know"}]}]}


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    cache_action_reply_check()
    cache_action_reply_check()  # applying twice keeps one wrapper
    return RemoteAction("action_ask_age", None)


def test_valid_replies_pass(action):
    assert action._validate_action_result(VALID) is True
    assert action._validate_action_result({"events": [], "responses": []}) is True


@pytest.mark.parametrize("reply", [
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["text instead of an object"]},
])
def test_invalid_replies_raise_rasas_error(action, reply):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(reply)


def test_the_check_is_installed_once(action):
    assert getattr(RemoteAction._validate_action_result, "cached_validator", False)
    wrapped = RemoteAction._validate_action_result
    cache_action_reply_check()
    assert RemoteAction._validate_action_result is wrapped
