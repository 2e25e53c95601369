"""The text operation (GET /api/generate_response; `_generated/api/public/generate_text.py`):
its options, checks, request plan, the parsing of its answer and its call. No I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from dynaspark_sdk._answers import _optional_int, _required_string, json_answer, media_type
from dynaspark_sdk._errors import InvalidRequestError
from dynaspark_sdk._folding import fold_history, image_urls, normalize_messages, split_system
from dynaspark_sdk._generated import spec_values
from dynaspark_sdk._generated.types import UNSET
from dynaspark_sdk._operations import Call, answer_meta
from dynaspark_sdk._plans import (
    MessagesInput,
    RequestPlan,
    _check_url_length,
    _key,
    _optional,
    _prompt,
    _repr,
    _wire,
    check_parameter,
    check_utf8,
)
from dynaspark_sdk._results import TextResponse, Usage
from dynaspark_sdk._secrets import ApiKey
from dynaspark_sdk._text_decoders import text_decoder_for
from dynaspark_sdk.frontend import LONG_PROMPT_ADVICE

if TYPE_CHECKING:
    from dynaspark_sdk._flow import Answer
    from dynaspark_sdk._settings import Settings

__all__ = ["TextOptions", "parse_text_fields", "plan_text", "text_call", "text_prompt"]


@attrs.frozen(kw_only=True)
class TextOptions:
    """The optional parameters of GET /api/generate_response, unchecked."""

    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    json: bool = False
    private: bool | None = None
    referrer: str | None = None
    extra_query: Mapping[str, object] | None = None


def text_prompt(
    prompt_or_messages: MessagesInput, system: str | None, method: str = "generate_text"
) -> tuple[str, str | None]:
    """(user_input, system) for the public text endpoint: system messages become `system`.
    `method` is the caller's name, for error messages."""
    normalized = normalize_messages(prompt_or_messages)
    if image_urls(normalized):
        raise InvalidRequestError(f"{method} takes no images; send images with chat()")
    from_messages, rest = split_system(normalized)
    if system is not None and not isinstance(system, str):
        raise InvalidRequestError(f"system must be a string, not {type(system).__name__}")
    systems = [s for s in (system, from_messages) if s]
    if not rest:
        raise InvalidRequestError("the messages hold no user or assistant message, only a system prompt")
    user_input = fold_history(rest)  # one message: its text as it is
    return user_input, "\n\n".join(systems) if systems else None


def plan_text(
    prompt_or_messages: MessagesInput,
    options: TextOptions,
    *,
    api_key: ApiKey | None,
    stream: bool,
    base_url_bytes: int,
) -> RequestPlan:
    """GET /api/generate_response, as JSON or (stream=True) as server-sent events."""
    from dynaspark_sdk._generated.api.public import generate_text as text_api

    user_input, system = text_prompt(prompt_or_messages, options.system, "stream_text" if stream else "generate_text")
    _prompt(user_input, "generate_text")
    op = "generate_text"
    if options.model == spec_values.AUDIO_MODEL:
        raise InvalidRequestError(f"model {spec_values.AUDIO_MODEL!r} makes speech; use generate_audio()")
    if not isinstance(options.json, bool):
        raise InvalidRequestError(f"json must be True or False, not {type(options.json).__name__}")
    kwargs = text_api._get_kwargs(
        user_input=user_input,
        api_key=_key(api_key),
        model=_optional(op, "model", options.model),
        temperature=_optional(op, "temperature", options.temperature),
        top_p=_optional(op, "top_p", options.top_p),
        presence_penalty=_optional(op, "presence_penalty", options.presence_penalty),
        frequency_penalty=_optional(op, "frequency_penalty", options.frequency_penalty),
        json=True if options.json else UNSET,
        system=_optional(op, "system", system),
        stream=True if stream else UNSET,
        private=_optional(op, "private", options.private),
        seed=_optional(op, "seed", options.seed),
        referrer=_optional(op, "referrer", options.referrer),
    )
    _merge_extra_query(kwargs["params"], options.extra_query)
    _check_url_length(kwargs["url"], kwargs["params"], base_url_bytes, advice=LONG_PROMPT_ADVICE)
    return RequestPlan(
        operation=op,
        expect="text" if stream else "json",
        # What the service uses when no model is named (an assumption of the spec).
        model=options.model if options.model is not None else spec_values.DEFAULT_TEXT_MODEL,
        make=lambda _payload, _image: kwargs,
    )


#: The text endpoint's parameters the SDK sets from arguments of its own (`generate_text`,
#: `stream_text`, `generate_audio` and the client's key). A parameter the spec gains later has
#: no argument yet: `extra_query` may send it, checked against the spec like an argument.
_SET_BY_ARGUMENTS = frozenset(
    {
        "user_input", "api_key", "model", "temperature", "top_p", "presence_penalty", "frequency_penalty",
        "json", "system", "stream", "private", "seed", "referrer", "voice",
    }
)  # fmt: skip


def _merge_extra_query(params: dict[str, Any], extra: Mapping[str, object] | None) -> None:
    """Add `extra` to the query: names the spec does not know, or spec parameters the SDK has no
    argument for yet (checked against the spec); never one an argument sets."""
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        raise InvalidRequestError(f"extra_query must be a mapping of names to values, not {type(extra).__name__}")
    for name, value in extra.items():
        if not isinstance(name, str) or not name:
            raise InvalidRequestError(f"extra_query names must be non-empty strings, got {_repr(name)}")
        check_utf8("an extra_query name", name)
        if name in params or name in _SET_BY_ARGUMENTS:
            # Even when not given: an unchecked extra_query value must not stand in for a checked one.
            raise InvalidRequestError(
                f"extra_query cannot set {name!r}, a parameter the SDK checks; use the argument of that name"
            )
        if name in spec_values.PARAMETERS["generate_text"]:
            check_parameter("generate_text", name, value)
        if not isinstance(value, str | int | float | bool):
            raise InvalidRequestError(
                f"extra_query[{name!r}] must be a string, number or bool, not {type(value).__name__}"
            )
        try:
            wire = _wire(value)
        except ValueError:
            raise InvalidRequestError(f"extra_query[{name!r}] is an integer too long to send") from None
        check_utf8(f"extra_query[{name!r}]", wire)
        params[name] = wire


def parse_text_fields(
    status: int, headers: Mapping[str, str], body: bytes
) -> tuple[str, str | None, dict[str, int] | None]:
    """(text, model, usage) of a public text answer.

    A `text/plain` answer (the docs' default without `json=true`) is the text itself, as the
    service's own client takes it, unless it is a mislabelled JSON answer or error object.
    """
    if media_type(headers) == "text/plain" and not _is_answer_object(body):
        return _plain_text(headers, body), None, None
    data = json_answer(status, headers, body)
    text = _required_string(data, "response", status, headers)
    model = data.get("model") if isinstance(data.get("model"), str) else None
    usage_raw = data.get("usage")
    usage: dict[str, int] | None = None
    if isinstance(usage_raw, dict):
        counts = {k: _optional_int(usage_raw.get(k)) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
        if all(v is not None for v in counts.values()):
            usage = {k: v for k, v in counts.items() if v is not None}
    return text, model, usage


def _is_answer_object(body: bytes) -> bool:
    """Whether a body is a JSON object holding "response" or "error"."""
    if not body.lstrip().startswith(b"{"):
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and ("response" in data or "error" in data)


def _plain_text(headers: Mapping[str, str], body: bytes) -> str:
    decoder = text_decoder_for(headers.get("content-type"))
    decoder.feed(body)
    decoder.close()
    return decoder.text


def text_call(
    settings: Settings, prompt_or_messages: MessagesInput, options: TextOptions, *, stream: bool
) -> Call[TextResponse]:
    """GET /api/generate_response (JSON, or server-sent events when `stream`)."""
    plan = plan_text(
        prompt_or_messages,
        options,
        api_key=settings.api_key,
        stream=stream,
        base_url_bytes=settings.base_url_bytes,
    )

    def parse(answer: Answer) -> TextResponse:
        text, model, usage = parse_text_fields(answer.status, answer.headers, answer.body)
        return TextResponse(
            text=text,
            model=model if model is not None else plan.model,
            usage=Usage(**usage) if usage is not None else None,
            **answer_meta(answer),
        )

    return plan, parse
