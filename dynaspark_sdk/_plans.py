"""Request building: user arguments -> a checked, ready-to-send `RequestPlan`. No I/O.

Every check runs here, before anything is sent, against the enumerations and ranges the
spec gives (`_generated.spec_values`). The wire shape comes from the generated layer's
`_get_kwargs()`, with two corrections the generator cannot make: multipart bodies get a
boundary chosen by httpx (the generator pins `+++`, which a prompt could contain), and the
upload is re-opened for each attempt so a retry re-sends the whole image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, BinaryIO, Literal
from urllib.parse import urlencode

import attrs

from ._errors import InvalidRequestError, MediaError, ModelNotSupportedError
from ._generated import spec_values
from ._generated.types import UNSET, File, Unset
from ._history import content_text, fold_history, image_urls, normalize_messages, split_system
from ._media import ImageUpload, RemoteImage, prepare_media
from ._secrets import ApiKey

__all__ = [
    "Expect",
    "MessagesInput",
    "RequestPlan",
    "check_chat_path",
    "check_parameter",
    "check_utf8",
    "plan_chat",
    "plan_image",
    "plan_speech",
    "plan_status",
    "plan_text",
    "resolve_chat_model",
]

Expect = Literal["json", "text", "audio", "image"]
MessagesInput = str | Sequence[Mapping[str, Any]]

#: Longest URL the SDK will send. ASSUMPTION: the service sits behind Render's proxy, and
#: common front ends refuse request lines past 8 KiB; a longer prompt fails clearly here.
MAX_URL_BYTES = 8192


@attrs.frozen
class RequestPlan:
    """Everything needed to send one request, any number of times.

    `kwargs(payload)` gives the keyword arguments of `httpx.Client.build_request`, with
    `payload` the freshly opened upload (or None when the request has none). `make` gets
    the payload and the plan's upload (which `with_upload` may have replaced).

    `paths` are the URL paths the operation can be found at, newest first, when it has moved
    (chat); the flow picks one with `at(path)`. Empty for an operation with one fixed path.
    """

    operation: str
    expect: Expect
    model: str | None
    _make: Callable[[BinaryIO | None, ImageUpload | RemoteImage | None], dict[str, Any]] = attrs.field(
        alias="make", repr=False
    )
    upload: ImageUpload | RemoteImage | None = None
    paths: tuple[str, ...] = ()
    path: str | None = None

    def kwargs(self, payload: BinaryIO | None = None) -> dict[str, Any]:
        """`build_request` keyword arguments for one attempt."""
        made = self._make(payload, self.upload)
        return made if self.path is None else {**made, "url": self.path}

    def at(self, path: str) -> RequestPlan:
        """The same plan sent to `path` (one of `paths`)."""
        return attrs.evolve(self, path=path)

    def with_upload(self, upload: ImageUpload) -> RequestPlan:
        """The same plan with a fetched remote image in place of its URL."""
        return attrs.evolve(self, upload=upload)


# --------------------------------------------------------------------------- checks


def check_parameter(operation: str, name: str, value: object) -> None:
    """Raise InvalidRequestError unless `value` fits the spec's rule for that parameter."""
    rule = spec_values.PARAMETERS[operation][name]
    shown = _show(name)
    if rule.type == "boolean":
        if not isinstance(value, bool):
            raise InvalidRequestError(f"{shown} must be True or False, not {type(value).__name__}")
        return
    if rule.type in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRequestError(f"{shown} must be a number, not {type(value).__name__}")
        if rule.type == "integer" and not isinstance(value, int):
            raise InvalidRequestError(f"{shown} must be a whole number, not {_repr(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequestError(f"{shown} must be a finite number, not {_repr(value)}")
        low, high = rule.minimum, rule.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise InvalidRequestError(f"{shown} must be between {_num(low)} and {_num(high)}, not {_repr(value)}")
        return
    if not isinstance(value, str):
        raise InvalidRequestError(f"{shown} must be a string, not {type(value).__name__}")
    check_utf8(shown, value)
    if rule.min_length is not None and len(value) < rule.min_length:
        raise InvalidRequestError(f"{shown} must not be empty")
    if rule.enum is not None and value not in rule.enum:
        raise InvalidRequestError(f"{shown} must be one of {', '.join(rule.enum)}; got {value!r}")


def check_utf8(what: str, text: str) -> None:
    """Raise InvalidRequestError when `text` cannot go on the wire as UTF-8 (a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequestError(
            f"{what} holds a lone surrogate (U+{ord(text[error.start]):04X}) at position {error.start},"
            " which cannot be sent as UTF-8"
        ) from None


def _repr(value: object) -> str:
    """A short repr for error messages; Python refuses to print integers of over 4300 digits."""
    try:
        shown = repr(value)
    except ValueError:
        return "an integer too long to print"
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _show(name: str) -> str:
    return {"wm": "watermark", "user_input": "the prompt"}.get(name, name)


def _num(value: float | None) -> str:
    if value is None:
        return "-inf"
    return str(int(value)) if float(value).is_integer() else str(value)


def _optional(operation: str, name: str, value: object) -> Any:
    """UNSET for None (so the generated layer leaves it off the wire), else the checked value."""
    if value is None:
        return UNSET
    check_parameter(operation, name, value)
    return value


def _key(api_key: ApiKey | None) -> str | Unset:
    return api_key.reveal() if api_key is not None else UNSET


#: The advice a too-long text prompt gets; the CLI names its own command instead.
LONG_PROMPT_ADVICE = "chat() sends long prompts in a POST body"


def _check_url_length(path: str, params: Mapping[str, Any], base_url_bytes: int, *, advice: str | None = None) -> None:
    texts = [(k, _wire(v)) for k, v in params.items()]
    # A character percent-encodes to at most 12 bytes (4 UTF-8 bytes, "%XX" each): most
    # requests are short enough to skip encoding the query just to measure it.
    worst = base_url_bytes + len(path) + 1 + sum(12 * (len(k) + len(v)) + 2 for k, v in texts)
    if worst <= MAX_URL_BYTES:
        return
    query = urlencode(texts)
    size = base_url_bytes + len(path) + 1 + len(query)
    if size > MAX_URL_BYTES:
        raise InvalidRequestError(
            f"the request URL would be {size} bytes, over the {MAX_URL_BYTES}-byte limit of a GET "
            "request; shorten the prompt" + (f" ({advice})" if advice else "")
        )


def _wire(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- models


def resolve_chat_model(model: str | None, *, resolve_alias: bool = True) -> str:
    """gpt4free's rule: empty -> the default; an alias -> its target; unknown -> an error.

    With `resolve_alias=False` a listed name is kept as given (the default too).

    >>> resolve_chat_model("gemini-2.0-flash")
    'gemini-2.0-flash-lite'
    """
    if model is not None and not isinstance(model, str):
        raise ModelNotSupportedError(f"model must be a string, not {type(model).__name__}")
    if not isinstance(resolve_alias, bool):
        raise InvalidRequestError(f"resolve_alias must be True or False, not {type(resolve_alias).__name__}")
    name = model or spec_values.DEFAULT_CHAT_MODEL
    if resolve_alias:
        name = spec_values.CHAT_MODEL_ALIASES.get(name, name)
    if name not in spec_values.CHAT_MODELS:
        aliases = ", ".join(f"{a} -> {t}" for a, t in spec_values.CHAT_MODEL_ALIASES.items())
        raise ModelNotSupportedError(
            f"model {model!r} is not supported; valid models: {', '.join(spec_values.CHAT_MODELS)} (aliases: {aliases})"
        )
    return name


# --------------------------------------------------------------------------- operations


def _prompt(text: str, operation: str) -> str:
    if not isinstance(text, str):
        raise InvalidRequestError(f"the prompt must be a string, not {type(text).__name__}")
    if not text.strip():
        raise InvalidRequestError("the prompt is empty")
    check_parameter(operation, "user_input", text)
    return text


def plan_chat(
    messages: MessagesInput,
    *,
    model: str | None,
    media: object,
    max_media_bytes: int,
    origin: str,
    chat_path: str | None = None,
    resolve_alias: bool = True,
) -> RequestPlan:
    """POST to the chat endpoint: history folded into `user_input`, at most one image.

    `origin` is the service's base URL: like the web page (and gpt4free's provider), the
    request carries `origin`, `referer` and `x-requested-with` headers. The plan lists the
    endpoint's paths, newest first (`spec_values.CHAT_PATHS`), or only `chat_path` when the
    client pins one.
    """
    from ._generated.api.chat import chat as chat_api
    from ._generated.models import ChatForm, ChatFormNoImage, ChatModel

    resolved = resolve_chat_model(model, resolve_alias=resolve_alias)
    normalized = normalize_messages(messages)
    user_input = _prompt(fold_history(normalized), "chat")
    from_parts = image_urls(normalized)
    given = prepare_media(media, max_bytes=max_media_bytes)
    if (from_parts and given is not None) or len(from_parts) > 1:
        count = len(from_parts) + (given is not None)
        raise MediaError(f"the service takes one image per request, got {count}")
    upload = given if given is not None else prepare_media(from_parts or None, max_bytes=max_media_bytes)
    ai_model = ChatModel(resolved)
    page_headers = {
        "origin": origin.rstrip("/"),
        "referer": origin.rstrip("/") + "/",
        "x-requested-with": "XMLHttpRequest",
    }

    def make(payload: BinaryIO | None, image: ImageUpload | RemoteImage | None) -> dict[str, Any]:
        if image is None:
            kwargs = chat_api._get_kwargs(body=ChatFormNoImage(user_input=user_input, ai_model=ai_model))
        else:
            assert isinstance(image, ImageUpload), "a remote image must be fetched before sending"
            assert payload is not None
            file = File(payload=payload, file_name=image.filename, mime_type=image.content_type)
            kwargs = chat_api._get_kwargs(body=ChatForm(user_input=user_input, ai_model=ai_model, file=file))
            # The generator pins the boundary to "+++"; without the header httpx picks a random one.
            kwargs["headers"].pop("Content-Type", None)
        kwargs["headers"].update(page_headers)
        return kwargs

    paths = (chat_path,) if chat_path is not None else spec_values.CHAT_PATHS
    return RequestPlan(
        operation="chat", expect="json", model=resolved, make=make, upload=upload, paths=paths, path=paths[0]
    )


def check_chat_path(value: object) -> str | None:
    """A `chat_path` client option checked: None (follow the service), or a path such as
    "/generate_response" to pin the chat endpoint to."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"chat_path must be a path string or None, not {type(value).__name__}")
    if not value.startswith("/") or value.startswith("//") or any(c in value for c in "?#\\ \t\r\n"):
        raise InvalidRequestError(
            f"chat_path must be a path on the service such as {spec_values.CHAT_PATHS[-1]!r}, not {_repr(value)}"
        )
    check_utf8("chat_path", value)
    return value


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
    user_input = content_text(rest[0]["content"]) if len(rest) == 1 else fold_history(rest)
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
    from ._generated.api.public import generate_text as text_api

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


def _merge_extra_query(params: dict[str, Any], extra: Mapping[str, object] | None) -> None:
    """Add `extra` to the query: names the spec does not know, never one of its (checked) parameters."""
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        raise InvalidRequestError(f"extra_query must be a mapping of names to values, not {type(extra).__name__}")
    for name, value in extra.items():
        if not isinstance(name, str) or not name:
            raise InvalidRequestError(f"extra_query names must be non-empty strings, got {_repr(name)}")
        check_utf8("an extra_query name", name)
        if name in params or name in spec_values.PARAMETERS["generate_text"]:
            # Even when not given: an unchecked extra_query value must not stand in for a checked one.
            raise InvalidRequestError(
                f"extra_query cannot set {name!r}, a parameter the SDK checks; use the argument of that name"
            )
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


def plan_speech(text: str, *, voice: str, api_key: ApiKey | None, base_url_bytes: int) -> RequestPlan:
    """GET /api/generate_response with the audio model: MP3 back."""
    from ._generated.api.public import generate_text as text_api
    from ._generated.models import Voice

    op = "generate_text"
    _prompt(text, op)
    check_parameter(op, "voice", voice)
    kwargs = text_api._get_kwargs(
        user_input=text,
        api_key=_key(api_key),
        model=spec_values.AUDIO_MODEL,
        voice=Voice(voice),
    )
    _check_url_length(kwargs["url"], kwargs["params"], base_url_bytes)
    return RequestPlan(
        operation="speech", expect="audio", model=spec_values.AUDIO_MODEL, make=lambda _payload, _image: kwargs
    )


@attrs.frozen(kw_only=True)
class ImageOptions:
    """The optional parameters of GET /api/generate_image, unchecked."""

    width: int | None = None
    height: int | None = None
    model: str | None = None
    nologo: bool | None = None
    seed: int | None = None
    watermark: str | None = None


def plan_image(prompt: str, options: ImageOptions, *, api_key: ApiKey | None, base_url_bytes: int) -> RequestPlan:
    """GET /api/generate_image."""
    from ._generated.api.public import generate_image as image_api
    from ._generated.models import ImageModel

    op = "generate_image"
    _prompt(prompt, op)
    model = _optional(op, "model", options.model)
    kwargs = image_api._get_kwargs(
        user_input=prompt,
        api_key=_key(api_key),
        width=_optional(op, "width", options.width),
        height=_optional(op, "height", options.height),
        model=UNSET if isinstance(model, Unset) else ImageModel(model),
        nologo=_optional(op, "nologo", options.nologo),
        seed=_optional(op, "seed", options.seed),
        wm=_optional(op, "wm", options.watermark),
    )
    _check_url_length(kwargs["url"], kwargs["params"], base_url_bytes)
    return RequestPlan(operation=op, expect="json", model=options.model, make=lambda _payload, _image: kwargs)


def plan_status() -> RequestPlan:
    """GET /status."""
    from ._generated.api.status import status as status_api

    kwargs = status_api._get_kwargs()
    return RequestPlan(operation="status", expect="json", model=None, make=lambda _payload, _image: kwargs)
