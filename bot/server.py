"""``python -m bot.server run …``: Rasa's own command line with one measured fix applied first.

Rasa 3.6 checks every action-server reply with ``jsonschema.validate(result, schema)``. That
call re-validates the *schema* against the draft 2020-12 meta-schema on every reply before it
looks at the reply; profiled under 20 concurrent conversations (py-spy, ``make bench``) this
meta-schema check was 54 % of the Rasa process's CPU, since a form turn makes two action calls.
:func:`cache_action_reply_check` checks the schema once and keeps the compiled validator: the same
schema, the same draft and the same error (``best_match``, Rasa's message appended) as before.

Everything else (arguments, channels, endpoints) is Rasa's own ``rasa`` command unchanged.
"""
from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any, Dict, List, Optional


@lru_cache(maxsize=1)
def _reply_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate would on every call
    return cls(schema)


def cache_action_reply_check() -> None:
    """Replaces ``RemoteAction._validate_action_result`` by the same check on a cached validator."""
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    if getattr(original, "cached_validator", False):
        return

    def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
        error = best_match(_reply_validator().iter_errors(result))
        if error is None:
            return True
        return original(self, result)  # raises with Rasa's own message

    _validate_action_result.cached_validator = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def main(argv: Optional[List[str]] = None) -> None:
    """Applies the fix, then runs Rasa's command line with ``argv`` (default: ours)."""
    cache_action_reply_check()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
