"""The parameter policy: one table of what each endpoint does with each parameter it cannot
pass on, and the checks of a request body's fields.

A parameter the gateway uses (`model`, `messages`, `stop`, ...) is *handled* by its endpoint's
parser. Every other parameter is looked up in `PARAMETER_TABLE`:

- `TUNES`: it only tunes sampling, length or bookkeeping (`temperature`, `max_tokens`, `seed`,
  `metadata`, ...): accepted and ignored, and named in the answer's
  `x-dynaspark-ignored-params` header; with `strict_params` it is refused unless at its default.
- `IGNORED`: accepted and ignored (and named) even with `strict_params` (`user`, which the
  gateway always took).
- `REFUSED`: honouring it would change the answer's shape (`n` > 1, `logprobs: true`, audio,
  `include`, ...): a 400 naming it unless it is at its default.

A parameter in no row is refused. For `text/<model>` the text API's own parameters
(`TEXT_API_PARAMETERS`) are handled instead: passed on. `policies()` compiles the table once
per app into a `ParameterPolicy` per endpoint; checking a body is then one dict lookup per key.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .errors import bad_request

__all__ = [
    "CHAT",
    "IMAGES",
    "PARAMETER_TABLE",
    "RESPONSES",
    "SPEECH",
    "TEXT_API_PARAMETERS",
    "ParameterPolicy",
    "Policies",
    "Row",
    "Treatment",
    "boolean",
    "object_body",
    "policies",
    "string",
]

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
IMAGES = "/v1/images/generations"
SPEECH = "/v1/audio/speech"


class Treatment(enum.Enum):
    """What the gateway does with a parameter it cannot pass on (see the module's docstring)."""

    TUNES = "tunes"
    IGNORED = "ignored"
    REFUSED = "refused"


def _is(*defaults: object) -> Callable[[object], bool]:
    """A check that a value is one of OpenAI's defaults (None meaning "not given")."""

    def check(value: object) -> bool:
        # 1 == True in Python: a boolean is only ever the default when the default is a boolean.
        return any(value == d and isinstance(value, bool) == isinstance(d, bool) for d in (None, *defaults))

    return check


def _empty(value: object) -> bool:
    return value is None or value == [] or value == {}


def _text_only(value: object) -> bool:
    return value is None or value == ["text"]


def _no_includes(value: object) -> bool:
    # Encrypted reasoning is asked for by agents that do not store responses; there is none to include.
    return value is None or (isinstance(value, list) and all(v == "reasoning.encrypted_content" for v in value))


@attrs.frozen
class Row:
    """One row of the parameter policy: `name` on `endpoints`, its treatment, and the test of
    its value being at its default (a parameter at its default asks for nothing)."""

    name: str
    treatment: Treatment
    at_default: Callable[[object], bool]
    endpoints: tuple[str, ...]


_MODELS = (CHAT, RESPONSES)
TUNES, IGNORED, REFUSED = Treatment.TUNES, Treatment.IGNORED, Treatment.REFUSED

#: The parameter policy. A name may have one row per endpoint where its meaning differs.
PARAMETER_TABLE: tuple[Row, ...] = (
    # Sampling and length: the service has no such knobs (the text API takes some: TEXT_API_PARAMETERS).
    Row("temperature", TUNES, _is(1), _MODELS),
    Row("top_p", TUNES, _is(1), _MODELS),
    Row("presence_penalty", TUNES, _is(0), (CHAT,)),
    Row("frequency_penalty", TUNES, _is(0), (CHAT,)),
    Row("seed", TUNES, _is(), (CHAT,)),
    Row("logit_bias", TUNES, _empty, (CHAT,)),
    Row("max_tokens", TUNES, _is(), (CHAT,)),
    Row("max_completion_tokens", TUNES, _is(), (CHAT,)),
    Row("max_output_tokens", TUNES, _is(), (RESPONSES,)),
    Row("max_tool_calls", TUNES, _is(), (RESPONSES,)),
    Row("reasoning_effort", TUNES, _is(), (CHAT,)),
    Row("reasoning", TUNES, _empty, (RESPONSES,)),
    Row("verbosity", TUNES, _is(), (CHAT,)),
    Row("prediction", TUNES, _is(), (CHAT,)),
    Row("truncation", TUNES, _is("disabled"), (RESPONSES,)),
    # Bookkeeping.
    Row("user", IGNORED, _is(), (*_MODELS, IMAGES)),
    Row("metadata", TUNES, _empty, _MODELS),
    Row("store", TUNES, _is(False), (CHAT,)),
    Row("service_tier", TUNES, _is("auto", "default"), _MODELS),
    Row("prompt_cache_key", TUNES, _is(), _MODELS),
    Row("prompt_cache_retention", TUNES, _is(), _MODELS),
    Row("safety_identifier", TUNES, _is(), _MODELS),
    Row("include", REFUSED, _no_includes, (RESPONSES,)),
    # What would change the answer's shape.
    Row("n", REFUSED, _is(1), (CHAT, IMAGES)),
    Row("logprobs", REFUSED, _is(False), (CHAT,)),
    Row("top_logprobs", REFUSED, _is(0), _MODELS),
    Row("modalities", REFUSED, _text_only, (CHAT,)),
    Row("audio", REFUSED, _is(), (CHAT,)),
    Row("functions", REFUSED, _empty, (CHAT,)),
    Row("function_call", REFUSED, _is("none", "auto"), (CHAT,)),
    Row("web_search_options", REFUSED, _is(), (CHAT,)),
    Row("response_format", REFUSED, lambda value: value is None or value == {"type": "text"}, (CHAT,)),
    Row("background", REFUSED, _is(False), (RESPONSES,)),
    Row("conversation", REFUSED, _is(), (RESPONSES,)),
    Row("prompt", REFUSED, _is(), (RESPONSES,)),
    # Images.
    Row("quality", TUNES, _is("auto", "standard"), (IMAGES,)),
    Row("style", TUNES, _is("vivid"), (IMAGES,)),
    Row("background", REFUSED, _is("auto"), (IMAGES,)),
    Row("moderation", REFUSED, _is("auto"), (IMAGES,)),
    Row("output_format", REFUSED, _is(), (IMAGES,)),
    Row("output_compression", REFUSED, _is(), (IMAGES,)),
    Row("partial_images", REFUSED, _is(0), (IMAGES,)),
    Row("stream", REFUSED, _is(False), (IMAGES,)),
    # Speech.
    Row("response_format", REFUSED, _is("mp3"), (SPEECH,)),
    Row("speed", REFUSED, _is(1), (SPEECH,)),
    Row("instructions", REFUSED, lambda value: value in (None, ""), (SPEECH,)),
    Row("stream_format", REFUSED, _is("audio"), (SPEECH,)),
)

#: The parameters the text API (`text/<model>`) takes, each with its `generate_text` argument.
TEXT_API_PARAMETERS: Mapping[str, str] = {
    "temperature": "temperature",
    "top_p": "top_p",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "seed": "seed",
}

#: What each endpoint's parser reads itself.
_HANDLED: Mapping[str, frozenset[str]] = {
    # tools, tool_choice, parallel_tool_calls and response_format: prompted (see tools.py).
    CHAT: frozenset(
        {"model", "messages", "stream", "stream_options", "stop"}
        | {"tools", "tool_choice", "parallel_tool_calls", "response_format"}
    ),
    # tools, tool_choice, parallel_tool_calls and text.format: prompted as well.
    RESPONSES: frozenset(
        {"model", "input", "instructions", "previous_response_id", "store", "stream", "stream_options", "text"}
        | {"tools", "tool_choice", "parallel_tool_calls"}
    ),
    IMAGES: frozenset({"prompt", "model", "size", "response_format"}),
    SPEECH: frozenset({"model", "input", "voice"}),
}


@attrs.frozen
class ParameterPolicy:
    """The policy of one endpoint (and target: the chat endpoint or the text API), compiled.

    `what` names the target in the 400 (`the chat model`, `the text API`, ...).
    """

    what: str
    handled: frozenset[str]
    lenient: Mapping[str, Callable[[object], bool]]
    refused: Mapping[str, Callable[[object], bool]]

    def check(self, body: Mapping[str, Any]) -> tuple[str, ...]:
        """The names of the parameters accepted and ignored, in the body's order; a 400 naming
        every parameter that is refused (neither handled, ignorable nor at its default)."""
        ignored: list[str] = []
        refused: list[str] = []
        for name, value in body.items():
            if name in self.handled:
                continue
            lenient = self.lenient.get(name)
            if lenient is not None:
                if not lenient(value):
                    ignored.append(name)
                continue
            at_default = self.refused.get(name)
            if at_default is None or not at_default(value):
                refused.append(name)
        if refused:
            raise bad_request(
                f"{self.what} cannot honour the parameter(s) {', '.join(refused)}"
                " (leave them out or at their defaults)",
                param=refused[0],
                code="unsupported_parameter",
            )
        return tuple(ignored)


def _never(value: object) -> bool:
    return value is None


def _compile(endpoint: str, what: str, strict: bool, passed: frozenset[str] = frozenset()) -> ParameterPolicy:
    lenient: dict[str, Callable[[object], bool]] = {}
    refused: dict[str, Callable[[object], bool]] = {}
    for row in PARAMETER_TABLE:
        if endpoint not in row.endpoints or row.name in passed:
            continue
        if row.treatment is IGNORED:
            lenient[row.name] = _never
        elif row.treatment is TUNES and not strict:
            lenient[row.name] = row.at_default
        else:
            refused[row.name] = row.at_default
    return ParameterPolicy(what, _HANDLED[endpoint] | passed, lenient, refused)


@attrs.frozen
class Policies:
    """The compiled policy of every endpoint and target; `strict` as `create_app(strict_params=...)`."""

    strict: bool
    chat: ParameterPolicy
    chat_text: ParameterPolicy
    responses: ParameterPolicy
    responses_text: ParameterPolicy
    images: ParameterPolicy
    speech: ParameterPolicy


def policies(*, strict: bool = False) -> Policies:
    """The parameter policy compiled for every endpoint (done once, when the app is made)."""
    text = frozenset(TEXT_API_PARAMETERS)
    return Policies(
        strict=strict,
        chat=_compile(CHAT, "the chat models", strict),
        chat_text=_compile(CHAT, "the text API", strict, text | {"response_format"}),
        responses=_compile(RESPONSES, "the chat models", strict),
        responses_text=_compile(RESPONSES, "the text API", strict, text & {"temperature", "top_p"}),
        images=_compile(IMAGES, "Dynaspark", strict),
        speech=_compile(SPEECH, "Dynaspark's speech", strict),
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


def boolean(body: Mapping[str, Any], name: str, default: bool = False) -> bool:
    """The boolean field `name` (`default` when absent)."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"{name!r} must be true or false, not {json.dumps(value)[:40]}", param=name)
    return value
