"""`/v1/chat/completions`: the request checked into a `ChatPlan`, and the answer's shapes
(a whole `chat.completion`, or `chat.completion.chunk` events).

A `ChatPlan` is also what `/v1/responses` asks the service for: both endpoints share the
upstream calls (`_upstream.py`), the messages' rules and the image checks.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dynaspark_sdk import spec

from .errors import bad_request, model_not_found
from .messages import check_messages
from .models import TEXT_MODELS, TEXT_PREFIX
from .parameters import TEXT_API_PARAMETERS, Policies, boolean, object_body, string
from .response_objects import encode, string_json
from .stop import parse_stop
from .tools import structured_options

__all__ = [
    "CHAT_TARGET",
    "DONE",
    "NO_USAGE",
    "TEXT_TARGET",
    "ChatPlan",
    "ChunkEvents",
    "Target",
    "chat_completion_json",
    "completion_id",
    "event",
    "parse_chat",
    "target",
]

DONE = b"data: [DONE]\n\n"
#: What answers a chat model or `text/<model>` is called in errors.
CHAT_TARGET = "the chat models"
TEXT_TARGET = "the text API"


@attrs.define  # not frozen: a frozen class's __init__ costs three times as much, on every call
class Target:
    """Who answers a `model`: a chat model (`text_model` None; `model` the listed model the
    service is asked for, an alias resolved) or the text API (`text_model` its model).
    `model` is also the name every answer gives, plain or streamed: the model asked of the service."""

    model: str
    text_model: str | None = None


def target(model: str, chat_models: Sequence[str]) -> Target:
    """The target of `model`; a 404 for a model not served."""
    if model.startswith(TEXT_PREFIX):
        name = model[len(TEXT_PREFIX) :]
        if name.strip():
            return Target(model, name)
    elif model in chat_models:
        return Target(spec.CHAT_MODEL_ALIASES.get(model, model))
    raise model_not_found(model, [*chat_models, *(TEXT_PREFIX + m for m in TEXT_MODELS)])


@attrs.define  # not frozen (see `Target`)
class ChatPlan:
    """A checked request for the service: the chat endpoint (`text_model` None; `model` the
    chat model asked for) or the text API (`text_model`; `text_options` are `generate_text`
    keyword arguments). `model` is the name the answer gives. `stop` are the stop sequences
    the gateway cuts the answer at; `ignored` the parameters accepted and ignored."""

    model: str
    messages: list[Any]
    stream: bool
    include_usage: bool = False
    text_model: str | None = None
    text_options: dict[str, Any] = attrs.field(factory=dict)
    stop: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    structured: dict[str, Any] = attrs.field(factory=dict)
    """The SDK's `tools`, `tool_choice`, `parallel_tool_calls` and `response_format` (prompted
    tools and structured output, see `tools.py`); empty for a plain text answer."""


def _stream_options(body: Mapping[str, Any], stream: bool) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise bad_request("'stream_options' must be an object", param="stream_options")
    if not stream:
        raise bad_request("'stream_options' is only allowed with 'stream': true", param="stream_options")
    unknown = [name for name in options if name not in ("include_usage", "include_obfuscation")]
    if unknown:
        raise bad_request(f"unsupported stream option(s): {', '.join(unknown)}", param="stream_options")
    include = options.get("include_usage", False)
    if not isinstance(include, bool):
        raise bad_request("'stream_options.include_usage' must be true or false", param="stream_options")
    return include


def parse_chat(body: object, chat_models: Sequence[str], policies: Policies) -> ChatPlan:
    """Check a `/v1/chat/completions` body. Raises GatewayError (404 for an unknown model)."""
    request = object_body(body)
    model = string(request, "model")
    assert model is not None
    chosen = target(model, chat_models)
    stream = boolean(request, "stream")
    include_usage = _stream_options(request, stream)
    stop = parse_stop(request.get("stop"))
    structured = structured_options(
        request.get("tools"),
        request.get("tool_choice"),
        request.get("parallel_tool_calls"),
        request.get("response_format"),
    )
    if chosen.text_model is None:
        ignored = policies.chat.check(request)
        messages = check_messages(request.get("messages"), images=True, target=CHAT_TARGET)
        return ChatPlan(
            chosen.model, messages, stream, include_usage, stop=stop, ignored=ignored, structured=structured
        )
    ignored = policies.chat_text.check(request)
    messages = check_messages(request.get("messages"), images=False, target=f"{TEXT_TARGET} ({model})")
    options = {sdk: request[name] for name, sdk in TEXT_API_PARAMETERS.items() if request.get(name) is not None}
    # A response_format is checked and repaired by the SDK, which also asks the text API's json mode.
    return ChatPlan(
        chosen.model,
        messages,
        stream,
        include_usage,
        chosen.text_model,
        options,
        stop=stop,
        ignored=ignored,
        structured=structured,
    )


def completion_id() -> str:
    """A fresh `chatcmpl-...` id: 24 random hex digits. An id names an answer and guards
    nothing, so `random` (seeded from the OS, reseeded in a forked child) serves, without a
    system call per answer as `secrets` makes."""
    return f"chatcmpl-{random.getrandbits(96):024x}"


#: The usage reported where the service counts no tokens (the chat endpoint, any stream). OpenAI
#: always sends the object, and clients read it unchecked (llm's OpenAI models fail on null).
NO_USAGE: Mapping[str, int] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
_NO_USAGE_JSON = encode(NO_USAGE)


def chat_completion_json(
    id: str,
    created: int,
    model: str,
    text: str,
    usage: Mapping[str, int] | None = None,
    tool_calls: Sequence[Mapping[str, Any]] = (),
) -> bytes:
    """A whole `chat.completion` object, as `encode` renders its dict (compact UTF-8 JSON),
    made from its parts (the hot path: no dict and no encoder pass for the frame):
    `{"id", "object", "created", "model", "choices": [{"index": 0, "message": {"role",
    "content", "refusal": null}, "logprobs": null, "finish_reason"}], "usage"}`. `usage` None
    (not counted) is reported as zeros. With `tool_calls` (OpenAI's shape), the message
    carries them, its content null, and the finish reason is "tool_calls"."""
    if tool_calls:
        message = f'{{"role":"assistant","content":null,"refusal":null,"tool_calls":{encode(list(tool_calls))}}}'
        finish = "tool_calls"
    else:
        message = f'{{"role":"assistant","content":{string_json(text)},"refusal":null}}'
        finish = "stop"
    counts = _NO_USAGE_JSON if usage is None else encode(dict(usage))
    # `id` is ours (`completion_id`) and `created` an int: neither has anything to escape.
    return (
        f'{{"id":"{id}","object":"chat.completion","created":{created},"model":{string_json(model)},'
        f'"choices":[{{"index":0,"message":{message},"logprobs":null,"finish_reason":"{finish}"}}],'
        f'"usage":{counts}}}'
    ).encode()


# Made once: `json.dumps` with options builds an encoder on every call.
_EVENT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: What follows a choice's delta in a chunk that does not finish it.
_OPEN_CHOICE_END = ',"logprobs":null,"finish_reason":null}]}\n\n'


def event(payload: object) -> bytes:
    """One server-sent event carrying `payload` as JSON."""
    return b"data: " + _EVENT_JSON.encode(payload).encode("utf-8") + b"\n\n"


class ChunkEvents:
    """The `chat.completion.chunk` events of one stream, as server-sent events: each one byte
    for byte `event(chunk)` of the chunk as OpenAI shapes it (`{"id", "object", "created",
    "model", "choices": [{"index": 0, "delta", "logprobs": null, "finish_reason"}]}`), made
    from the parts every chunk of the stream shares, rendered once (the hot path of a stream:
    no dict and no encoder per chunk)."""

    __slots__ = ("_head",)

    def __init__(self, id: str, created: int, model: str) -> None:
        # `id` is ours (`completion_id`) and `created` an int: neither has anything to escape.
        self._head = (
            f'data: {{"id":"{id}","object":"chat.completion.chunk","created":{created},'
            f'"model":{string_json(model)},"choices":['
        )

    def first(self, text: str) -> bytes:
        """The first chunk: the role and the first piece of text together."""
        content = string_json(text)
        return f'{self._head}{{"index":0,"delta":{{"role":"assistant","content":{content}}}{_OPEN_CHOICE_END}'.encode()

    def text(self, text: str) -> bytes:
        """A chunk of a further piece of text."""
        return f'{self._head}{{"index":0,"delta":{{"content":{string_json(text)}}}{_OPEN_CHOICE_END}'.encode()

    def delta(self, delta: Mapping[str, Any]) -> bytes:
        """A chunk of any other delta (a tool call's)."""
        return f'{self._head}{{"index":0,"delta":{_EVENT_JSON.encode(delta)}{_OPEN_CHOICE_END}'.encode()

    def finish(self, reason: str) -> bytes:
        """The chunk that ends the choice: an empty delta and the finish reason."""
        return f'{self._head}{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"{reason}"}}]}}\n\n'.encode()

    def usage(self) -> bytes:
        """The final usage chunk (`stream_options.include_usage`): no choices; zeros, since the
        service counts no tokens for a stream."""
        return f'{self._head}],"usage":{_NO_USAGE_JSON}}}\n\n'.encode()
