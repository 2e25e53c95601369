"""OpenAI's request and answer shapes, and how they map onto the SDK's calls. No I/O, no Starlette.

A request body is checked here into a small plan (`ChatPlan`, `ImagePlan`, `SpeechPlan`);
anything the service cannot honour is a `GatewayError` (a 400 naming it, or a 404 for an
unknown model) before anything is sent upstream. The SDK's errors map onto OpenAI's error
shape in `error_from_sdk`.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from dynaspark_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DynasparkError,
    InvalidRequestError,
    ModelNotSupportedError,
    PermissionDeniedError,
    RateLimitError,
)

__all__ = [
    "DONE",
    "IMAGE_MODEL_NAMES",
    "SPEECH_MODELS",
    "TEXT_MODELS",
    "TEXT_PREFIX",
    "ChatPlan",
    "GatewayError",
    "ImagePlan",
    "SpeechPlan",
    "chat_completion",
    "completion_chunk",
    "error_from_sdk",
    "event",
    "model_entry",
    "parse_chat",
    "parse_image",
    "parse_speech",
]

#: `text/<model>` in `model` selects the public text API instead of the chat endpoint.
TEXT_PREFIX = "text/"
#: The text models `/v1/models` lists. ASSUMPTION: the spec names no text model and passes any
#: name through; these are the Pollinations names the service's documentation mentions
#: (`openai` is what it answers with by default). Any other `text/<name>` is sent as given.
TEXT_MODELS = ("openai", "mistral", "qwen-coder")
#: OpenAI's image model names, served by the spec's default image model.
IMAGE_MODEL_NAMES = ("dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini")
#: The speech model names accepted by /v1/audio/speech; all are the service's one audio model.
SPEECH_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts", "openai-audio")
DONE = b"data: [DONE]\n\n"


class GatewayError(Exception):
    """An error answer in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer (also the payload of an error event in a stream)."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def _bad(message: str, param: str | None = None, code: str | None = None) -> GatewayError:
    return GatewayError(400, message, param=param, code=code)


def _model_not_found(model: str, known: Sequence[str]) -> GatewayError:
    return GatewayError(
        404,
        f"The model {model!r} does not exist; models served here: {', '.join(known)}",
        param="model",
        code="model_not_found",
    )


# --------------------------------------------------------------------------- SDK errors


def _retry_after_header(error: RateLimitError) -> dict[str, str]:
    seconds = error.retry_after
    if seconds is None:
        given = error.headers.get("retry-after") or error.headers.get("Retry-After")
        return {"Retry-After": given} if given else {}
    if not math.isfinite(seconds):
        return {}
    return {"Retry-After": str(max(0, math.ceil(seconds)))}


def error_from_sdk(error: DynasparkError) -> GatewayError:
    """The OpenAI-shaped answer for an SDK error.

    Bad input is a 400 (an unknown model a 404); the service's 429 stays a 429 with its
    `Retry-After`; a refused upstream key, an upstream 5xx, a broken connection or an answer
    that breaks the spec are a 502 (the gateway's upstream failed); a timeout is a 504.
    """
    message = error.message
    if isinstance(error, ModelNotSupportedError):
        return GatewayError(404, message, param="model", code="model_not_found")
    if isinstance(error, InvalidRequestError):
        return _bad(message)
    if isinstance(error, RateLimitError):
        return GatewayError(
            429, message, type="rate_limit_error", code="rate_limit_exceeded", headers=_retry_after_header(error)
        )
    if isinstance(error, BadRequestError):
        return _bad(f"Dynaspark refused the request: {message}")
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return GatewayError(
            502,
            f"Dynaspark refused the gateway's API key: {message}",
            type="upstream_error",
            code="upstream_auth_failed",
        )
    if isinstance(error, APITimeoutError):
        return GatewayError(
            504, f"Dynaspark did not answer in time: {message}", type="timeout", code="upstream_timeout"
        )
    if isinstance(error, APIStatusError | APIConnectionError):
        return GatewayError(502, f"Dynaspark failed: {message}", type="upstream_error", code="upstream_error")
    return GatewayError(
        502, f"Dynaspark's answer was unusable: {message}", type="upstream_error", code="upstream_error"
    )


# --------------------------------------------------------------------------- parameters


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
_CHAT_UNSUPPORTED: dict[str, Callable[[object], bool]] = {
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
    # The parameters the text API takes (see _TEXT_PARAMETERS): unsupported by the chat endpoint.
    "temperature": _is(1),
    "top_p": _is(1),
    "presence_penalty": _is(0),
    "frequency_penalty": _is(0),
    "seed": _is(),
    "response_format": lambda value: value is None or value == {"type": "text"},
}
#: Chat-completion parameters the text API honours, with the name of its parameter.
_TEXT_PARAMETERS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "seed": "seed",
}
#: Parameters every request may carry: handled here, or (`user`, an end-user id for OpenAI's
#: abuse monitoring) meaningless to Dynaspark and harmless to accept.
_CHAT_HANDLED = frozenset({"model", "messages", "stream", "stream_options", "user"})
#: The same for the text API (`text/<model>`): its parameters are handled, and `response_format`
#: may also ask for JSON.
_TEXT_HANDLED = _CHAT_HANDLED | frozenset(_TEXT_PARAMETERS)
_TEXT_UNSUPPORTED: dict[str, Callable[[object], bool]] = {
    **{k: v for k, v in _CHAT_UNSUPPORTED.items() if k not in _TEXT_PARAMETERS},
    "response_format": lambda value: value is None or value in ({"type": "text"}, {"type": "json_object"}),
}


def _at_default(unsupported: Mapping[str, Callable[[object], bool]], name: str, value: object) -> bool:
    check = unsupported.get(name)
    return check is not None and check(value)


def _check_parameters(
    body: Mapping[str, Any], handled: frozenset[str], unsupported: Mapping[str, Callable[[object], bool]], what: str
) -> None:
    """A 400 naming every parameter that is neither handled nor at its default."""
    refused = [
        name for name, value in body.items() if name not in handled and not _at_default(unsupported, name, value)
    ]
    if refused:
        names = ", ".join(refused)
        raise _bad(
            f"{what} cannot honour the parameter(s) {names} (leave them out or at their defaults)",
            param=refused[0],
            code="unsupported_parameter",
        )


def _object_body(body: object) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise _bad(f"the request body must be a JSON object, not {type(body).__name__}")
    return body


def _string(body: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        shown = "missing" if value is None else f"a {type(value).__name__}"
        raise _bad(f"{name!r} must be a string, and it is {shown}", param=name)
    return value


def _boolean(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(f"{name!r} must be true or false, not {json.dumps(value)[:40]}", param=name)
    return value


# --------------------------------------------------------------------------- chat


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
                        raise _bad("an image_url's 'detail' must be a string", param="messages")
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
        raise _bad("'stream_options' must be an object", param="stream_options")
    if not stream:
        raise _bad("'stream_options' is only allowed with 'stream': true", param="stream_options")
    unknown = [name for name in options if name not in ("include_usage", "include_obfuscation")]
    if unknown:
        raise _bad(f"unsupported stream option(s): {', '.join(unknown)}", param="stream_options")
    include = options.get("include_usage", False)
    if not isinstance(include, bool):
        raise _bad("'stream_options.include_usage' must be true or false", param="stream_options")
    return include


def parse_chat(body: object, chat_models: Sequence[str]) -> ChatPlan:
    """Check a `/v1/chat/completions` body. Raises GatewayError (404 for an unknown model)."""
    request = _object_body(body)
    model = _string(request, "model")
    assert model is not None
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty list of messages", param="messages")
    stream = _boolean(request, "stream")
    include_usage = _stream_options(request, stream)
    messages = _without_detail(messages)
    if model.startswith(TEXT_PREFIX):
        name = model[len(TEXT_PREFIX) :]
        if not name.strip():
            raise _model_not_found(model, [*chat_models, *(TEXT_PREFIX + m for m in TEXT_MODELS)])
        _check_parameters(request, _TEXT_HANDLED, _TEXT_UNSUPPORTED, "the text API")
        options = {sdk: request[name] for name, sdk in _TEXT_PARAMETERS.items() if request.get(name) is not None}
        options["json"] = request.get("response_format") == {"type": "json_object"}
        return ChatPlan(model, messages, stream, include_usage, text_model=name, text_options=options)
    if model not in chat_models:
        raise _model_not_found(model, [*chat_models, *(TEXT_PREFIX + m for m in TEXT_MODELS)])
    _check_parameters(request, _CHAT_HANDLED, _CHAT_UNSUPPORTED, f"the chat model {model}")
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


def model_entry(name: str) -> dict[str, Any]:
    """One `/v1/models` entry."""
    return {"id": name, "object": "model", "created": 0, "owned_by": "dynaspark"}


# --------------------------------------------------------------------------- images


@attrs.frozen
class ImagePlan:
    """A checked `/v1/images/generations` request (`model` None: the service's default)."""

    prompt: str
    model: str | None
    width: int | None
    height: int | None
    b64_json: bool


_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")
_IMAGE_UNSUPPORTED: dict[str, Callable[[object], bool]] = {
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


def parse_image(body: object, image_models: Sequence[str]) -> ImagePlan:
    """Check an `/v1/images/generations` body. Raises GatewayError."""
    request = _object_body(body)
    prompt = _string(request, "prompt")
    assert prompt is not None
    _check_parameters(
        request, frozenset({"prompt", "model", "size", "response_format", "user"}), _IMAGE_UNSUPPORTED, "Dynaspark"
    )
    model = _string(request, "model", required=False)
    if model is not None and model not in image_models:
        if model not in IMAGE_MODEL_NAMES:
            raise _model_not_found(model, [*image_models, *IMAGE_MODEL_NAMES])
        model = None
    size = _string(request, "size", required=False)
    width = height = None
    if size is not None and size != "auto":
        match = _SIZE.fullmatch(size)
        if match is None:
            raise _bad(f"'size' must be 'WIDTHxHEIGHT' (e.g. '1024x768') or 'auto', not {size!r}", param="size")
        width, height = int(match.group(1)), int(match.group(2))
    response_format = _string(request, "response_format", required=False) or "url"
    if response_format not in ("url", "b64_json"):
        raise _bad(f"'response_format' must be 'url' or 'b64_json', not {response_format!r}", param="response_format")
    return ImagePlan(prompt, model, width, height, response_format == "b64_json")


# --------------------------------------------------------------------------- speech


@attrs.frozen
class SpeechPlan:
    """A checked `/v1/audio/speech` request."""

    text: str
    voice: str


_SPEECH_UNSUPPORTED: dict[str, Callable[[object], bool]] = {
    "response_format": _is("mp3"),
    "speed": _is(1),
    "instructions": lambda value: value in (None, ""),
    "stream_format": _is("audio"),
}


def parse_speech(body: object) -> SpeechPlan:
    """Check an `/v1/audio/speech` body (the voice is checked by the SDK). Raises GatewayError."""
    request = _object_body(body)
    model = _string(request, "model")
    assert model is not None
    if model not in SPEECH_MODELS:
        raise _model_not_found(model, SPEECH_MODELS)
    text = _string(request, "input")
    voice = _string(request, "voice")
    assert text is not None and voice is not None
    _check_parameters(request, frozenset({"model", "input", "voice"}), _SPEECH_UNSUPPORTED, "Dynaspark's speech")
    return SpeechPlan(text, voice)
