"""The chat operation (POST to the chat endpoint; `_generated/api/chat/chat.py`): its checks,
its request plan, the parsing of its answer and its call. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from dynaspark_sdk._answers import _required_string, json_answer
from dynaspark_sdk._errors import InvalidRequestError, MediaError, ModelNotSupportedError
from dynaspark_sdk._folding import fold_history, image_urls, normalize_messages
from dynaspark_sdk._generated import spec_values
from dynaspark_sdk._generated.types import File
from dynaspark_sdk._media import ImageUpload, RemoteImage
from dynaspark_sdk._media_files import prepare_media
from dynaspark_sdk._operations import Call, answer_meta
from dynaspark_sdk._plans import MessagesInput, RequestPlan, _prompt, _repr, check_utf8
from dynaspark_sdk._results import ChatResponse

if TYPE_CHECKING:
    from dynaspark_sdk._flow import Answer
    from dynaspark_sdk._settings import Settings

__all__ = ["chat_call", "check_chat_path", "parse_chat_text", "plan_chat", "resolve_chat_model"]


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
    from dynaspark_sdk._generated.api.chat import chat as chat_api
    from dynaspark_sdk._generated.models import ChatForm, ChatFormNoImage, ChatModel

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


def parse_chat_text(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """The text of a chat answer `{"response": "..."}`."""
    return _required_string(json_answer(status, headers, body), "response", status, headers)


def chat_call(
    settings: Settings, messages: MessagesInput, *, model: str | None, media: object, resolve_alias: bool = True
) -> Call[ChatResponse]:
    """POST to the chat endpoint (its newest path first, see `RequestPlan.paths`)."""
    plan = plan_chat(
        messages,
        model=model,
        media=media,
        max_media_bytes=settings.max_media_bytes,
        origin=settings.base_url,
        chat_path=settings.chat_path,
        resolve_alias=resolve_alias,
    )
    sent_model = plan.model or ""

    def parse(answer: Answer) -> ChatResponse:
        text = parse_chat_text(answer.status, answer.headers, answer.body)
        return ChatResponse(text=text, model=sent_model, **answer_meta(answer))

    return plan, parse
