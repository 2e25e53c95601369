"""The parameter policy (which parameters each endpoint takes, and which it cannot honour
unless they are at their defaults) and the checks of a request body's fields."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .errors import bad_request

__all__ = [
    "CHAT_HANDLED",
    "CHAT_UNSUPPORTED",
    "IMAGE_UNSUPPORTED",
    "SPEECH_UNSUPPORTED",
    "TEXT_HANDLED",
    "TEXT_PARAMETERS",
    "TEXT_UNSUPPORTED",
    "boolean",
    "check_parameters",
    "object_body",
    "string",
]


def _is(*defaults: object) -> Callable[[object], bool]:
    """A check that a value is one of OpenAI's defaults (None meaning "not given")."""

    def check(value: object) -> bool:
        # 1 == True in Python: a boolean is only ever the default when the default is a boolean.
        return any(value == d and isinstance(value, bool) == isinstance(d, bool) for d in (None, *defaults))

    return check


def _empty(value: object) -> bool:
    return value is None or value == [] or value == {}


#: Chat-completion parameters no Dynaspark endpoint can honour, each with the test of being at
#: its default (a parameter at its default asks for nothing and is accepted).
CHAT_UNSUPPORTED: dict[str, Callable[[object], bool]] = {
    "n": _is(1),
    "max_tokens": _is(),
    "max_completion_tokens": _is(),
    "stop": _empty,
    "logit_bias": _empty,
    "logprobs": _is(False),
    "top_logprobs": _is(0),
    "tools": _empty,
    "tool_choice": _is("none", "auto"),
    "parallel_tool_calls": _is(True),
    "functions": _empty,
    "function_call": _is("none", "auto"),
    "service_tier": _is("auto", "default"),
    "store": _is(False),
    "metadata": _empty,
    "modalities": lambda value: value is None or value == ["text"],
    "audio": _is(),
    "prediction": _is(),
    "reasoning_effort": _is(),
    "verbosity": _is(),
    "web_search_options": _is(),
    "prompt_cache_key": _is(),
    "safety_identifier": _is(),
    # The parameters the text API takes (see TEXT_PARAMETERS): unsupported by the chat endpoint.
    "temperature": _is(1),
    "top_p": _is(1),
    "presence_penalty": _is(0),
    "frequency_penalty": _is(0),
    "seed": _is(),
    "response_format": lambda value: value is None or value == {"type": "text"},
}
#: Chat-completion parameters the text API honours, with the name of its parameter.
TEXT_PARAMETERS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "seed": "seed",
}
#: Parameters every request may carry: handled here, or (`user`, an end-user id for OpenAI's
#: abuse monitoring) meaningless to Dynaspark and harmless to accept.
CHAT_HANDLED = frozenset({"model", "messages", "stream", "stream_options", "user"})
#: The same for the text API (`text/<model>`): its parameters are handled, and `response_format`
#: may also ask for JSON.
TEXT_HANDLED = CHAT_HANDLED | frozenset(TEXT_PARAMETERS)
TEXT_UNSUPPORTED: dict[str, Callable[[object], bool]] = {
    **{k: v for k, v in CHAT_UNSUPPORTED.items() if k not in TEXT_PARAMETERS},
    "response_format": lambda value: value is None or value in ({"type": "text"}, {"type": "json_object"}),
}
#: `/v1/images/generations` parameters the service cannot honour.
IMAGE_UNSUPPORTED: dict[str, Callable[[object], bool]] = {
    "n": _is(1),
    "quality": _is("auto", "standard"),
    "style": _is("vivid"),
    "background": _is("auto"),
    "moderation": _is("auto"),
    "output_format": _is(),
    "output_compression": _is(),
    "partial_images": _is(0),
    "stream": _is(False),
}
#: `/v1/audio/speech` parameters the service cannot honour.
SPEECH_UNSUPPORTED: dict[str, Callable[[object], bool]] = {
    "response_format": _is("mp3"),
    "speed": _is(1),
    "instructions": lambda value: value in (None, ""),
    "stream_format": _is("audio"),
}


def _at_default(unsupported: Mapping[str, Callable[[object], bool]], name: str, value: object) -> bool:
    check = unsupported.get(name)
    return check is not None and check(value)


def check_parameters(
    body: Mapping[str, Any], handled: frozenset[str], unsupported: Mapping[str, Callable[[object], bool]], what: str
) -> None:
    """A 400 naming every parameter that is neither handled nor at its default."""
    refused = [
        name for name, value in body.items() if name not in handled and not _at_default(unsupported, name, value)
    ]
    if refused:
        names = ", ".join(refused)
        raise bad_request(
            f"{what} cannot honour the parameter(s) {names} (leave them out or at their defaults)",
            param=refused[0],
            code="unsupported_parameter",
        )


def object_body(body: object) -> Mapping[str, Any]:
    """The request body, checked to be a JSON object."""
    if not isinstance(body, dict):
        raise bad_request(f"the request body must be a JSON object, not {type(body).__name__}")
    return body


def string(body: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    """The string field `name` (None when it is absent and not `required`)."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        shown = "missing" if value is None else f"a {type(value).__name__}"
        raise bad_request(f"{name!r} must be a string, and it is {shown}", param=name)
    return value


def boolean(body: Mapping[str, Any], name: str) -> bool:
    """The boolean field `name` (False when absent)."""
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"{name!r} must be true or false, not {json.dumps(value)[:40]}", param=name)
    return value
