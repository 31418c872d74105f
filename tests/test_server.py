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


def _sdk_events():
    """One event of every kind the reply schema knows (rasa-sdk's classes where it has one)."""
    from datetime import datetime

    from rasa_sdk import events as ev

    return [ev.SlotSet("age", 46), ev.SlotSet("benefits", ["unemployment"]), ev.AllSlotsReset(), ev.Restarted(),
            ev.ActiveLoop("intake_form"), ev.ActiveLoop(None), ev.FollowupAction("action_listen"),
            ev.UserUtteranceReverted(), ev.ActionReverted(), ev.ConversationPaused(), ev.ConversationResumed(),
            ev.ReminderScheduled("EXTERNAL_reminder", datetime(2026, 12, 8, 9, 0), name="booking"),
            ev.ReminderCancelled(name="booking"), ev.ActionExecuted("action_listen"), ev.SessionStarted(),
            ev.BotUttered("年齢を教えてください。", {"custom": {"type": "ask", "field": "age"}}),
            ev.UserUttered("45歳です", {"intent": {"name": "inform", "confidence": 1.0}, "entities": []}),
            ev.LoopInterrupted(True), ev.ActionExecutionRejected("intake_form"), ev.AgentUttered("x"),
            {"event": "entities", "entities": [{"entity": "age", "value": 45}]},
            {"event": "form", "name": "intake_form"}, {"event": "form_validation", "validate": False},
            {"event": "user_featurization", "use_text_for_featurization": True}, {"event": "export"}]


def _mutations(event):
    """Ways an event can be malformed: each field with a value of the wrong type, no name, extra kinds."""
    bad = [{k: v for k, v in event.items() if k != "event"}, {**event, "event": 7}, {**event, "event": "no_such"},
           {**event, "timestamp": "yesterday"}, {**event, "metadata": []}, "an event as text", None]
    for key, value in event.items():
        if key not in ("event", "timestamp"):
            bad += [{**event, key: wrong} for wrong in (12345, "text", [1], {"a": 1}, None, True) if wrong != value]
    return bad


def test_the_fast_check_agrees_with_jsonschema_on_every_event_kind():
    """ReplyCheck (one branch per event) accepts exactly what the full schema accepts."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    from bot.server import ReplyCheck

    schema = RemoteAction.action_response_format_spec()
    reference, fast = validator_for(schema)(schema), ReplyCheck(schema)
    events = _sdk_events()
    assert {e["event"] for e in events} == set(fast._branches)
    replies = [VALID, {}, {"events": events, "responses": VALID["responses"]}, [], "text", None,
               {"events": None}, {"responses": [{"text": 5}]}, {"events": [{}]}]
    replies += [{"events": [event], "responses": []} for event in events]
    replies += [{"events": [bad]} for event in events for bad in _mutations(event)]
    verdicts = [(fast.is_valid(r), best_match(reference.iter_errors(r)) is None) for r in replies]
    assert [i for i, (a, b) in enumerate(verdicts) if a != b] == []
    assert sum(ok for ok, _ in verdicts) > len(events) and sum(not ok for ok, _ in verdicts) > 100


# ------------------------------------------------------------------ quick-reply payloads

PAYLOADS = ['/affirm', '/dont_know', '/inform{"housing": "renting"}', '/inform{"age": 46}',
            '/inform{"benefits": ["unemployment", "child_allowance"]}', ' /deny ', '/book_appointment@0.9']


@pytest.fixture(scope="module")
def processor():
    from rasa.core.agent import Agent

    from tests.conftest import MODEL

    if not MODEL.exists():
        pytest.fail("models/current.tar.gz is missing: run scripts/train.sh (make test does it)")
    return Agent.load(str(MODEL)).processor


def _graph_parse(processor, text):
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    original = getattr(MessageProcessor._parse_message_with_graph, "__wrapped_original__", MessageProcessor._parse_message_with_graph)
    return original(processor, UserMessage(text, sender_id="t"), DialogueStateTracker("t", []))


@pytest.mark.parametrize("text", PAYLOADS)
def test_payloads_parse_as_the_graph_parses_them(processor, text):
    from bot.server import payload_parse

    direct = payload_parse(text, processor.domain)
    assert direct is not None and direct["intent"]["name"] == text.strip().lstrip("/").split("{")[0].split("@")[0]
    assert direct == _graph_parse(processor, text)


@pytest.mark.parametrize("text", ["45歳です", "/", "/no_such_intent", "/inform{not json", "/affirm trailing words", "", "ｈｔｔｐ://example"])
def test_everything_else_goes_through_the_graph(processor, text):
    from bot.server import payload_parse

    assert payload_parse(text, processor.domain) is None


def test_the_shortcut_is_installed_once(processor, monkeypatch):
    from rasa.core.processor import MessageProcessor

    from bot.server import parse_payloads_directly

    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", MessageProcessor._parse_message_with_graph)
    parse_payloads_directly()
    installed = MessageProcessor._parse_message_with_graph
    parse_payloads_directly()
    assert MessageProcessor._parse_message_with_graph is installed
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.trackers import DialogueStateTracker

    typed = processor._parse_message_with_graph(UserMessage("家賃が払えません", sender_id="t"), DialogueStateTracker("t", []))
    assert typed["intent"]["name"] == "housing_trouble" and "safety" in typed  # the whole graph ran
    assert processor._parse_message_with_graph(UserMessage("/affirm", sender_id="t"), DialogueStateTracker("t", []))["intent"]["name"] == "affirm"


# ------------------------------------------------------------------ turns at a time

@pytest.mark.parametrize("environ, expected", [({}, 3), ({"MAX_CONCURRENT_TURNS": "5"}, 5), ({"MAX_CONCURRENT_TURNS": " 0 "}, 0)])
def test_turn_limit_from_the_environment(environ, expected):
    from bot.server import concurrent_turns_from_env

    assert concurrent_turns_from_env(environ) == expected


@pytest.mark.parametrize("raw", ["three", "-1", "2.5"])
def test_a_bad_turn_limit_stops_with_a_message(raw):
    from bot.server import concurrent_turns_from_env

    with pytest.raises(SystemExit, match="MAX_CONCURRENT_TURNS"):
        concurrent_turns_from_env({"MAX_CONCURRENT_TURNS": raw})


async def test_at_most_the_limit_of_turns_run_at_once_in_arrival_order(monkeypatch):
    import asyncio

    from rasa.core.processor import MessageProcessor

    from bot.server import limit_concurrent_turns

    running, peak, started, finished = 0, 0, [], []

    async def slow_turn(self, message):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        started.append(message)
        await asyncio.sleep(0.01)
        running -= 1
        finished.append(message)
        return [{"text": f"reply {message}"}]

    monkeypatch.setattr(MessageProcessor, "handle_message", slow_turn)
    limit_concurrent_turns(2)
    limit_concurrent_turns(2)  # applying twice wraps Rasa's method once
    assert MessageProcessor.handle_message.__wrapped_original__ is slow_turn
    replies = await asyncio.gather(*(MessageProcessor.handle_message(None, i) for i in range(7)))
    assert replies == [[{"text": f"reply {i}"}] for i in range(7)]
    assert peak == 2 and started == list(range(7))
    limit_concurrent_turns(0)
    assert MessageProcessor.handle_message is slow_turn


async def test_action_calls_share_one_kept_alive_connection(monkeypatch):
    """Two calls to an endpoint reuse one TCP connection (Rasa alone opens one per call), and the
    headers and token of the endpoint still go with every call."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer
    from rasa.utils.endpoints import EndpointConfig

    from bot.server import reuse_endpoint_sessions

    seen = []

    async def webhook(request: web.Request) -> web.Response:
        seen.append((request.transport.get_extra_info("peername")[1], request.headers.get("X-Check"),
                     request.query.get("token"), await request.json()))
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)  # undone after the test
    async with TestServer(app) as server:
        endpoint = EndpointConfig(str(server.make_url("/webhook")), headers={"X-Check": "1"}, token="t0k")
        plain = [await endpoint.request(json={"n": i}) for i in range(2)]
        reuse_endpoint_sessions()
        reuse_endpoint_sessions()  # applying twice wraps Rasa's method once
        kept = [await endpoint.request(json={"n": i}) for i in range(2, 5)]
    assert plain + kept == [{"events": [], "responses": []}] * 5
    ports = [port for port, *_ in seen]
    assert ports[0] != ports[1], "without the fix every call opens its own connection"
    assert len(set(ports[2:])) == 1
    assert [rest for _, *rest in seen] == [["1", "t0k", {"n": i}] for i in range(5)]
