"""`/v1/chat/completions`: the request checked into a `ChatPlan`, and the answer's shapes
(a whole `chat.completion`, or `chat.completion.chunk` events)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .errors import bad_request, model_not_found
from .models import TEXT_MODELS, TEXT_PREFIX
from .parameters import (
    CHAT_HANDLED,
    CHAT_UNSUPPORTED,
    TEXT_HANDLED,
    TEXT_PARAMETERS,
    TEXT_UNSUPPORTED,
    boolean,
    check_parameters,
    object_body,
    string,
)

__all__ = [
    "DONE",
    "NO_USAGE",
    "ChatPlan",
    "chat_completion",
    "completion_chunk",
    "completion_id",
    "event",
    "parse_chat",
]

DONE = b"data: [DONE]\n\n"


@attrs.frozen
class ChatPlan:
    """A checked chat-completion request.

    `text_model` is None for the chat endpoint (then `model` is the chat model asked for),
    else the text API's model; `text_options` are `generate_text` keyword arguments.
    """

    model: str
    messages: list[Any]
    stream: bool
    include_usage: bool
    text_model: str | None = None
    text_options: dict[str, Any] = attrs.field(factory=dict)


def _without_detail(messages: list[Any]) -> list[Any]:
    """The messages with OpenAI's `detail` taken off image parts (the service has no such
    setting, and accepting it is what OpenAI clients need); everything else goes to the SDK,
    which checks and folds it."""
    cleaned: list[Any] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            parts = []
            for part in content:
                image = part.get("image_url") if isinstance(part, dict) else None
                if isinstance(image, dict) and "detail" in image:
                    detail = image["detail"]
                    if detail is not None and not isinstance(detail, str):
                        raise bad_request("an image_url's 'detail' must be a string", param="messages")
                    part = {**part, "image_url": {k: v for k, v in image.items() if k != "detail"}}
                parts.append(part)
            message = {**message, "content": parts}
        cleaned.append(message)
    return cleaned


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


def parse_chat(body: object, chat_models: Sequence[str]) -> ChatPlan:
    """Check a `/v1/chat/completions` body. Raises GatewayError (404 for an unknown model)."""
    request = object_body(body)
    model = string(request, "model")
    assert model is not None
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list of messages", param="messages")
    stream = boolean(request, "stream")
    include_usage = _stream_options(request, stream)
    messages = _without_detail(messages)
    if model.startswith(TEXT_PREFIX):
        name = model[len(TEXT_PREFIX) :]
        if not name.strip():
            raise model_not_found(model, [*chat_models, *(TEXT_PREFIX + m for m in TEXT_MODELS)])
        check_parameters(request, TEXT_HANDLED, TEXT_UNSUPPORTED, "the text API")
        options = {sdk: request[name] for name, sdk in TEXT_PARAMETERS.items() if request.get(name) is not None}
        options["json"] = request.get("response_format") == {"type": "json_object"}
        return ChatPlan(model, messages, stream, include_usage, text_model=name, text_options=options)
    if model not in chat_models:
        raise model_not_found(model, [*chat_models, *(TEXT_PREFIX + m for m in TEXT_MODELS)])
    check_parameters(request, CHAT_HANDLED, CHAT_UNSUPPORTED, f"the chat model {model}")
    return ChatPlan(model, messages, stream, include_usage)


def completion_id() -> str:
    """A fresh `chatcmpl-...` id."""
    return "chatcmpl-" + secrets.token_hex(12)


#: The usage reported where the service counts no tokens (the chat endpoint, any stream). OpenAI
#: always sends the object, and clients read it unchecked (llm's OpenAI models fail on null).
NO_USAGE: Mapping[str, int] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def chat_completion(
    id: str, created: int, model: str, text: str, usage: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """A whole `chat.completion` object; `usage` None (not counted) is reported as zeros."""
    return {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": dict(usage if usage is not None else NO_USAGE),
    }


def completion_chunk(
    id: str,
    created: int,
    model: str,
    delta: Mapping[str, str] | None,
    finish_reason: str | None = None,
    *,
    usage: bool = False,
) -> dict[str, Any]:
    """One `chat.completion.chunk`; with `usage`, the final usage chunk (no choices; the
    service counts no tokens for a stream, so they are zeros)."""
    chunk: dict[str, Any] = {"id": id, "object": "chat.completion.chunk", "created": created, "model": model}
    if usage:
        chunk["choices"] = []
        chunk["usage"] = dict(NO_USAGE)
        return chunk
    chunk["choices"] = [{"index": 0, "delta": dict(delta or {}), "logprobs": None, "finish_reason": finish_reason}]
    return chunk


def event(payload: object) -> bytes:
    """One server-sent event carrying `payload` as JSON."""
    return b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n\n"
