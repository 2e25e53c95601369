"""Decoding the service's answers into results or typed errors. No I/O.

Each function takes what arrived (status, headers, body) and either returns the result's
fields or raises one of the SDK's errors. The shells never look at a body themselves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ._chunks import text_decoder_for
from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DynasparkError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    excerpt,
)
from ._media import detect_image_type
from ._secrets import redact
from ._service_errors import error_in_answer, service_error_in, typed_error

__all__ = [
    "error_for_status",
    "json_answer",
    "media_type",
    "parse_audio",
    "parse_chat_text",
    "parse_image_bytes",
    "parse_image_fields",
    "parse_status",
    "parse_text_fields",
]

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def media_type(headers: Mapping[str, str]) -> str:
    """The Content-Type without parameters, lower-cased ("" when absent)."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _service_error_text(body: bytes) -> str | None:
    found = service_error_in(body)
    return found.text if found is not None else None


def error_for_status(status: int, headers: Mapping[str, str], body: bytes, *, now: float) -> APIStatusError:
    """The typed error for an error status (4xx/5xx), with the body's error text and code."""
    found = service_error_in(body)
    if found is not None:
        detail = found.detail
    elif media_type(headers) == "text/html":
        detail = f"an HTML page instead of the service's answer (the host may be waking up): {redact(excerpt(body))}"
    else:
        detail = redact(excerpt(body)) or "(empty body)"
    cls = _STATUS_ERRORS.get(status, InternalServerError if status >= 500 else APIStatusError)
    return typed_error(cls, f"{status}: {detail}", status=status, headers=headers, body=body, found=found, now=now)


def _error_in_answer(status: int, headers: Mapping[str, str], body: bytes) -> APIStatusError | None:
    found = service_error_in(body)
    if found is None:
        return None
    return error_in_answer(found, status=status, headers=headers, body=body, now=time.time())


def json_answer(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The answer's JSON object, or ResponseValidationError saying what arrived instead."""
    kind = media_type(headers)

    def invalid(what: str) -> ResponseValidationError:
        return ResponseValidationError(
            f"{what} (status {status}, content type {kind or 'none'}): {redact(excerpt(body))}",
            status_code=status,
            content_type=kind,
            body_excerpt=redact(excerpt(body)),
        )

    if kind == "text/html":
        raise invalid("an HTML page arrived instead of the service's JSON answer")
    if kind and kind != "application/json" and not kind.endswith("+json") and kind != "text/plain":
        raise invalid("expected a JSON answer")
    try:
        data = json.loads(body)
    except ValueError:
        raise invalid("the answer is not valid JSON") from None
    if not isinstance(data, dict):
        raise invalid("the answer is JSON but not an object")
    if "error" in data and "response" not in data and "image_url" not in data:
        raise _error_in_answer(status, headers, body) or invalid("the answer holds an empty error")
    return data


def _required_string(data: dict[str, Any], name: str, status: int, headers: Mapping[str, str]) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raw = json.dumps(data)[:200]
        problem = f"has no {name!r}" if value is None else f"has a {type(value).__name__} {name!r}"
        raise ResponseValidationError(
            f"the answer {problem} (status {status}): {redact(raw)}",
            status_code=status,
            content_type=media_type(headers),
            body_excerpt=redact(raw),
        )
    return value


def parse_chat_text(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """The text of a chat answer `{"response": "..."}`."""
    return _required_string(json_answer(status, headers, body), "response", status, headers)


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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


def parse_image_fields(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str, str | None, int | None]:
    """(url, model, seed) of an image answer."""
    data = json_answer(status, headers, body)
    url = _required_string(data, "image_url", status, headers)
    if not url.lower().startswith(("http://", "https://")):
        raise ResponseValidationError(
            f"the image URL is not http(s): {redact(url[:200])}",
            status_code=status,
            content_type="application/json",
        )
    model = data.get("model") if isinstance(data.get("model"), str) else None
    return url, model, _optional_int(data.get("seed"))


def parse_image_bytes(status: int, headers: Mapping[str, str], body: bytes) -> bytes:
    """The downloaded image, checked by its magic bytes."""
    if detect_image_type(body[:16]) is None:
        raise ResponseValidationError(
            f"the image URL gave no image (status {status}, content type {media_type(headers) or 'none'},"
            f" {len(body)} bytes): {redact(excerpt(body))}",
            status_code=status,
            content_type=media_type(headers),
            body_excerpt=redact(excerpt(body)),
        )
    return body


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


def parse_status(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str | None, dict[str, Any]]:
    """(status word, details) of GET /status; a plain-text body is kept as the status word."""
    kind = media_type(headers)
    if kind == "application/json" or body.lstrip().startswith(b"{"):
        data = json_answer(status, headers, body)
        word = data.get("status")
        return (word if isinstance(word, str) else None), data
    if kind == "text/html":
        json_answer(status, headers, body)  # raises the HTML-page error
    text = body.decode("utf-8", "replace").strip()
    return (text[:100] or None), {}


def is_retryable_validation_error(error: DynasparkError) -> bool:
    """An HTML page at 200 is Render's proxy talking while the service wakes: worth a retry."""
    # Stream decoders keep the whole header value ("text/html; charset=utf-8"), answers' parsers
    # the bare media type: compare media types, or streams never retry the waking page.
    if not isinstance(error, ResponseValidationError):
        return False
    return media_type({"content-type": error.content_type}) == "text/html"
