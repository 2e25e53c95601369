"""The speech operation (GET /api/generate_response with the audio model): its checks, its
request plan, the parsing of its answer (MP3) and its call. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dynaspark_sdk._answers import _error_in_answer, media_type
from dynaspark_sdk._errors import ResponseValidationError, excerpt
from dynaspark_sdk._generated import spec_values
from dynaspark_sdk._operations import Call, answer_meta
from dynaspark_sdk._plans import RequestPlan, _check_url_length, _key, _prompt, check_parameter
from dynaspark_sdk._results import AudioResult
from dynaspark_sdk._secrets import ApiKey, redact

if TYPE_CHECKING:
    from dynaspark_sdk._flow import Answer
    from dynaspark_sdk._settings import Settings

__all__ = ["parse_audio", "plan_speech", "speech_call"]


def plan_speech(text: str, *, voice: str, api_key: ApiKey | None, base_url_bytes: int) -> RequestPlan:
    """GET /api/generate_response with the audio model: MP3 back."""
    from dynaspark_sdk._generated.api.public import generate_text as text_api
    from dynaspark_sdk._generated.models import Voice

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


def _looks_like_mp3(body: bytes) -> bool:
    if body.startswith(b"ID3"):
        return True
    return len(body) >= 2 and body[0] == 0xFF and (body[1] & 0xE0) == 0xE0


def parse_audio(status: int, headers: Mapping[str, str], body: bytes) -> tuple[bytes, str]:
    """(data, content_type) of a speech answer; junk never passes as audio."""
    kind = media_type(headers)
    if not kind.startswith("audio/") or not body or (kind == "audio/mpeg" and not _looks_like_mp3(body)):
        refused = _error_in_answer(status, headers, body) if kind in ("application/json", "text/plain") else None
        if refused is not None:
            raise refused
        raise ResponseValidationError(
            f"expected MP3 audio, got {kind or 'no content type'} ({len(body)} bytes): {redact(excerpt(body))}",
            status_code=status,
            content_type=kind,
            body_excerpt=redact(excerpt(body)),
        )
    return body, kind


def speech_call(settings: Settings, text: str, *, voice: str) -> Call[AudioResult]:
    """GET /api/generate_response with the audio model."""
    plan = plan_speech(text, voice=voice, api_key=settings.api_key, base_url_bytes=settings.base_url_bytes)

    def parse(answer: Answer) -> AudioResult:
        data, content_type = parse_audio(answer.status, answer.headers, answer.body)
        return AudioResult(data=data, content_type=content_type, voice=voice, **answer_meta(answer))

    return plan, parse
