"""``python -m bot.server run …``: Rasa's own command line with four measured fixes applied first.

Rasa 3.6 checks every action-server reply with ``jsonschema.validate(result, schema)``. That
call re-validates the *schema* against the draft 2020-12 meta-schema on every reply before it
looks at the reply; profiled under 20 concurrent conversations (py-spy, ``make bench``) this
meta-schema check was 54 % of the Rasa process's CPU.
:func:`cache_action_reply_check` checks the schema once and keeps the compiled validators: the same
schema, the same draft and, for an invalid reply, Rasa's own error as before; each event is checked
against the branch of its own name instead of all 23 (:class:`ReplyCheck`).

Rasa 3.6 also runs the whole NLU graph (tokenizer, featurizers, DIET, ...) for quick-reply
payloads such as ``/inform{"housing": "renting"}``, only for its last step, ``RegexMessageHandler``,
to throw every prediction away and build a new message from the payload. Most turns of a screening
are quick replies; :func:`parse_payloads_directly` builds that same message without the graph
(about a quarter of the Rasa process's CPU under 20 concurrent conversations).

One Rasa process is one busy core. Sanic hands every arriving message to the event loop at once,
so under load 20 turns share the core and *all* of them finish late (a burst of 20 first messages
all took about 20 turns' time). :func:`limit_concurrent_turns` lets ``MAX_CONCURRENT_TURNS``
turns (default 3: enough to overlap the action server's work with Rasa's) run at a time and
queues the rest in arrival order; throughput is the same, the waiting is fairer and the tail is
shorter.

Rasa 3.6 also opens a new ``aiohttp.ClientSession`` (a new connection pool, a new TCP connection)
for every call to the action server and closes it afterwards: about 5 % of the Rasa process's CPU
under 20 concurrent conversations. :func:`reuse_endpoint_sessions` keeps one session per endpoint
and event loop, with the same headers, authentication and timeout, and keeps its connections alive.

Everything else (arguments, channels, endpoints) is Rasa's own ``rasa`` command unchanged.
"""
from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any, Dict, List, Optional


class ReplyCheck:
    """Rasa's schema for action-server replies, checked as jsonschema checks it, but with the
    ``oneOf`` over the 23 event types dispatched by the event's name. Every branch of that
    ``oneOf`` pins ``event`` to a different ``const``, so at most the branch of that name can
    match and "exactly one valid" is "the branch of that name is valid". Trying all 23 branches
    for every event was 3.8 ms per reply, a tenth of a first turn's CPU (py-spy, 20 concurrent)."""

    def __init__(self, schema: Dict[str, Any]) -> None:
        import copy

        from jsonschema.validators import validator_for

        cls = validator_for(schema)
        cls.check_schema(schema)  # once, as jsonschema.validate would on every call
        outer = copy.deepcopy(schema)
        item = outer["properties"]["events"]["items"]
        branches = item.pop("oneOf")
        names = [b.get("properties", {}).get("event", {}).get("const") for b in branches]
        if None in names or len(set(names)) != len(names):
            raise ValueError("the event branches are no longer told apart by their name")
        self._outer = cls(outer)  # the reply and each event's common fields (event: a string)
        self._branches = {name: cls(branch) for name, branch in zip(names, branches)}

    def is_valid(self, reply: Any) -> bool:
        if not self._outer.is_valid(reply):
            return False
        for event in reply.get("events") or ():
            branch = self._branches.get(event["event"])
            if branch is None or not branch.is_valid(event):
                return False
        return True


@lru_cache(maxsize=1)
def _reply_check() -> ReplyCheck:
    from rasa.core.actions.action import RemoteAction

    return ReplyCheck(RemoteAction.action_response_format_spec())


def cache_action_reply_check() -> None:
    """Replaces ``RemoteAction._validate_action_result`` by the same check done once per event
    (:class:`ReplyCheck`); an invalid reply goes to Rasa's own check for its error message."""
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    if getattr(original, "cached_validator", False):
        return

    def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
        if _reply_check().is_valid(result):
            return True
        return original(self, result)  # raises with Rasa's own message

    _validate_action_result.cached_validator = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def payload_parse(text: str, domain: Any) -> Optional[Dict[str, Any]]:
    """The parse the graph's ``RegexMessageHandler`` gives a ``/intent{...}`` payload of a known
    intent; None for anything else (typed text, a malformed or unknown payload), which the graph
    then handles, with Rasa's own warnings."""
    from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
    from rasa.shared.nlu.training_data.message import Message

    stripped = (text or "").strip()
    match = YAMLStoryReader._regex_message_pattern().match(stripped) if stripped.startswith("/") else None
    if not match or match.group(INTENT_NAME_KEY).strip() not in domain.intents or match.group("rest"):
        return None
    unpacked = YAMLStoryReader.unpack_regex_message(Message(data={TEXT: stripped}), domain,
                                                    entity_extractor_name=RegexMessageHandler.__name__)
    parse = {TEXT: "", INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, ENTITIES: []}
    parse.update(unpacked.as_dict(only_output_properties=True))
    return parse


def parse_payloads_directly() -> None:
    """Quick-reply payloads skip the NLU graph (same parse, see :func:`payload_parse`)."""
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor._parse_message_with_graph
    if hasattr(original, "__wrapped_original__"):
        return

    def _parse_message_with_graph(self: Any, message: Any, tracker: Any, only_output_properties: bool = True) -> Dict[str, Any]:
        parse = payload_parse(message.text, self.domain) if only_output_properties else None
        return parse if parse is not None else original(self, message, tracker, only_output_properties)

    _parse_message_with_graph.__wrapped_original__ = original  # type: ignore[attr-defined]
    MessageProcessor._parse_message_with_graph = _parse_message_with_graph  # type: ignore[method-assign]


DEFAULT_CONCURRENT_TURNS = 3


def concurrent_turns_from_env(environ: Optional[Dict[str, str]] = None) -> int:
    """``MAX_CONCURRENT_TURNS`` (a positive integer; 0 = no limit), else the default."""
    import os

    raw = (environ if environ is not None else os.environ).get("MAX_CONCURRENT_TURNS", "").strip()
    try:
        value = int(raw) if raw else DEFAULT_CONCURRENT_TURNS
    except ValueError:
        raise SystemExit(f"MAX_CONCURRENT_TURNS must be a whole number, not {raw!r}") from None
    if value < 0:
        raise SystemExit("MAX_CONCURRENT_TURNS must be 0 (no limit) or more")
    return value


def limit_concurrent_turns(limit: int) -> None:
    """At most ``limit`` messages are processed at once (FIFO queue for the rest); 0: no limit.

    The slot is taken inside Rasa's per-conversation lock, never while waiting for one, so a
    conversation's own turns stay in order and no two waits can block each other."""
    import asyncio

    from rasa.core.processor import MessageProcessor

    original = getattr(MessageProcessor.handle_message, "__wrapped_original__", MessageProcessor.handle_message)
    if limit <= 0:
        MessageProcessor.handle_message = original  # type: ignore[method-assign]
        return
    gates: Dict[int, asyncio.Semaphore] = {}

    async def handle_message(self: Any, message: Any) -> Any:
        loop_id = id(asyncio.get_running_loop())
        gate = gates.get(loop_id) or gates.setdefault(loop_id, asyncio.Semaphore(limit))
        async with gate:
            return await original(self, message)

    handle_message.__wrapped_original__ = original  # type: ignore[attr-defined]
    MessageProcessor.handle_message = handle_message  # type: ignore[method-assign]


class _KeptSession:
    """``async with`` over a shared session that does not close it on exit."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *exc: Any) -> None:
        return None


def reuse_endpoint_sessions() -> None:
    """``EndpointConfig.session()`` hands out one kept-alive session per endpoint and event loop.

    A session belongs to the loop that made it; a new loop (tests, a restarted server) or a closed
    session gets a fresh one. The sessions live as long as the process, as the server does."""
    import asyncio

    from rasa.utils.endpoints import EndpointConfig

    original = getattr(EndpointConfig.session, "__wrapped_original__", EndpointConfig.session)
    sessions: Dict[Any, Any] = {}

    def session(self: Any) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return original(self)  # no loop: Rasa's own behaviour (the caller closes it)
        key = (id(loop), id(self))
        shared = sessions.get(key)
        if shared is None or shared[1].closed or shared[0] is not self:
            sessions[key] = shared = (self, original(self))
        return _KeptSession(shared[1])

    session.__wrapped_original__ = original  # type: ignore[attr-defined]
    EndpointConfig.session = session  # type: ignore[method-assign]


def main(argv: Optional[List[str]] = None) -> None:
    """Applies the fixes, then runs Rasa's command line with ``argv`` (default: ours)."""
    cache_action_reply_check()
    parse_payloads_directly()
    limit_concurrent_turns(concurrent_turns_from_env())
    reuse_endpoint_sessions()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
