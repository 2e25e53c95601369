"""The chat operation (POST to the chat endpoint; `_generated/api/chat/chat.py`): its checks,
its request plan, the parsing of its answer and its call. No I/O: an image given as `media=`
comes prepared (the shells read it with `_media_files.prepare_media`)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, BinaryIO

import attrs

from dynaspark_sdk._answers import _required_string, json_answer
from dynaspark_sdk._errors import InvalidRequestError, MediaError, ModelNotSupportedError
from dynaspark_sdk._folding import fold_history, image_urls, normalize_messages
from dynaspark_sdk._generated import spec_values
from dynaspark_sdk._generated.types import File
from dynaspark_sdk._media import ImageUpload, RemoteImage, image_from_url
from dynaspark_sdk._operations import Call, answer_meta
from dynaspark_sdk._plans import MessagesInput, RequestPlan, _prompt
from dynaspark_sdk._results import ChatResponse

if TYPE_CHECKING:
    from dynaspark_sdk._flow import Answer
    from dynaspark_sdk._settings import Settings

__all__ = [
    "ChatDraft",
    "chat_draft",
    "parse_chat_text",
    "resolve_chat_model",
]


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


@functools.cache
def _generated_chat() -> tuple[Any, Any, Any, Any]:
    """The generated chat operation and its models, imported on first use (not at import)."""
    from dynaspark_sdk._generated.api.chat import chat as chat_api
    from dynaspark_sdk._generated.models import ChatForm, ChatFormNoImage, ChatModel

    return chat_api, ChatForm, ChatFormNoImage, ChatModel


@functools.lru_cache(maxsize=64)
def _page_headers(origin: str) -> Mapping[str, str]:
    """The web page's headers for the service at `origin` (copied into each request's),
    without the URL's user info: a page's origin has none, and a password has no business in
    two more headers."""
    scheme, separator, rest = origin.rstrip("/").partition("://")
    authority, slash, path = rest.partition("/")
    page = f"{scheme}{separator}{authority.rpartition('@')[2]}{slash}{path}"
    return MappingProxyType({"origin": page, "referer": page + "/", "x-requested-with": "XMLHttpRequest"})


@attrs.frozen
class ChatDraft:
    """A chat request checked in everything but the image given as `media=`.

    Reading that image (a path, an open file, a stream) is I/O, the shells' part: they prepare
    it with `_media_files.prepare_media` (the async client in a worker thread) and hand the
    result to `plan()` or `call()`. The refusals of one call keep their order: the model, the
    messages and the prompt here; then the image; then the count of images (`plan()`).
    """

    model: str
    user_input: str
    part_urls: tuple[str, ...]
    max_media_bytes: int
    origin: str
    chat_path: str | None = None

    @classmethod
    def check(
        cls,
        messages: MessagesInput,
        *,
        model: str | None,
        max_media_bytes: int,
        origin: str,
        chat_path: str | None = None,
        resolve_alias: bool = True,
    ) -> ChatDraft:
        """The request checked but for its `media=` image: the history folded into
        `user_input`, the URLs of the messages' image parts kept for `plan()`."""
        resolved = resolve_chat_model(model, resolve_alias=resolve_alias)
        normalized = normalize_messages(messages)
        user_input = _prompt(fold_history(normalized), "chat")
        return cls(
            model=resolved,
            user_input=user_input,
            part_urls=tuple(image_urls(normalized)),
            max_media_bytes=max_media_bytes,
            origin=origin,
            chat_path=chat_path,
        )

    def plan(self, image: ImageUpload | RemoteImage | None) -> RequestPlan:
        """POST to the chat endpoint with `image` (the prepared `media=`) or an image part.

        `origin` is the service's base URL: like the web page (and gpt4free's provider), the
        request carries `origin`, `referer` and `x-requested-with` headers. The plan lists the
        endpoint's paths, newest first (`spec_values.CHAT_PATHS`), or only `chat_path` when the
        client pins one.
        """
        chat_api, ChatForm, ChatFormNoImage, ChatModel = _generated_chat()
        from_parts = self.part_urls
        if (from_parts and image is not None) or len(from_parts) > 1:
            count = len(from_parts) + (image is not None)
            raise MediaError(f"the service takes one image per request, got {count}")
        upload = image
        if from_parts:
            upload = image_from_url(from_parts[0], max_bytes=self.max_media_bytes)
        user_input = self.user_input
        ai_model = ChatModel(self.model)
        page_headers = _page_headers(self.origin)

        def make(payload: BinaryIO | None, image: ImageUpload | RemoteImage | None) -> dict[str, Any]:
            kwargs: dict[str, Any]
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

        paths = (self.chat_path,) if self.chat_path is not None else spec_values.CHAT_PATHS
        return RequestPlan(
            operation="chat", expect="json", model=self.model, make=make, upload=upload, paths=paths, path=paths[0]
        )

    def call(self, image: ImageUpload | RemoteImage | None) -> Call[ChatResponse]:
        """The plan with `image` (see `plan()`) and the parsing of its answer."""
        plan = self.plan(image)
        model = self.model

        def parse(answer: Answer) -> ChatResponse:
            text = parse_chat_text(answer.status, answer.headers, answer.body)
            return ChatResponse(text=text, model=model, **answer_meta(answer))

        return plan, parse


def parse_chat_text(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """The text of a chat answer `{"response": "..."}`."""
    return _required_string(json_answer(status, headers, body), "response", status, headers)


def chat_draft(
    settings: Settings, messages: MessagesInput, *, model: str | None, resolve_alias: bool = True
) -> ChatDraft:
    """`ChatDraft.check` with the client's settings: what a shell checks at the call, before it
    prepares the `media=` image (I/O) for `ChatDraft.call()`."""
    return ChatDraft.check(
        messages,
        model=model,
        max_media_bytes=settings.max_media_bytes,
        origin=settings.base_url,
        chat_path=settings.chat_path,
        resolve_alias=resolve_alias,
    )
