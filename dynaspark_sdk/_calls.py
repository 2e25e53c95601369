"""Each API call as a (plan, parse) pair, shared by both clients. No I/O.

`plan` is the checked request; `parse` turns a successful `Answer` into the call's result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ._answers import (
    parse_audio,
    parse_chat_text,
    parse_image_bytes,
    parse_image_fields,
    parse_status,
    parse_text_fields,
)
from ._flow import Answer, fetch_plan
from ._plans import (
    ImageOptions,
    MessagesInput,
    RequestPlan,
    TextOptions,
    plan_chat,
    plan_image,
    plan_speech,
    plan_status,
    plan_text,
)
from ._rate_limit import RateLimit
from ._results import AsyncImageResult, AudioResult, ChatResponse, ImageResult, ServiceStatus, TextResponse, Usage
from ._settings import Settings

__all__ = ["Call", "chat_call", "download_call", "image_call", "speech_call", "status_call", "text_call"]

T = TypeVar("T")
R = TypeVar("R", ImageResult, AsyncImageResult)
Call = tuple[RequestPlan, Callable[[Answer], T]]


def _meta(answer: Answer) -> dict[str, Any]:
    # httpx's Headers: a case-insensitive mapping, kept as it came rather than copied.
    return {"headers": answer.headers, "rate_limit": RateLimit.from_headers(answer.headers)}


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
        return ChatResponse(text=text, model=sent_model, **_meta(answer))

    return plan, parse


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
            **_meta(answer),
        )

    return plan, parse


def speech_call(settings: Settings, text: str, *, voice: str) -> Call[AudioResult]:
    """GET /api/generate_response with the audio model."""
    plan = plan_speech(text, voice=voice, api_key=settings.api_key, base_url_bytes=settings.base_url_bytes)

    def parse(answer: Answer) -> AudioResult:
        data, content_type = parse_audio(answer.status, answer.headers, answer.body)
        return AudioResult(data=data, content_type=content_type, voice=voice, **_meta(answer))

    return plan, parse


def image_call(
    settings: Settings, prompt: str, options: ImageOptions, *, result: type[R], fetch: Callable[[str], Any]
) -> Call[R]:
    """GET /api/generate_image; the answer becomes `result` (the client's kind of image result),
    which downloads the image through `fetch`."""
    plan = plan_image(prompt, options, api_key=settings.api_key, base_url_bytes=settings.base_url_bytes)

    def parse(answer: Answer) -> R:
        url, model, seed = parse_image_fields(answer.status, answer.headers, answer.body)
        return result(url=url, model=model, seed=seed, fetch=fetch, **_meta(answer))

    return plan, parse


def download_call(url: str) -> Call[bytes]:
    """GET an image result's URL (anywhere, no API key): the image's bytes, checked to be one."""
    return fetch_plan(url), lambda answer: parse_image_bytes(answer.status, answer.headers, answer.body)


def status_call() -> Call[ServiceStatus]:
    """GET /status."""

    def parse(answer: Answer) -> ServiceStatus:
        word, details = parse_status(answer.status, answer.headers, answer.body)
        return ServiceStatus(status=word, details=details, **_meta(answer))

    return plan_status(), parse
