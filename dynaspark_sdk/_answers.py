"""What every operation's answer parsing shares: status, JSON and error checks. No I/O.

Each operation parses its own answer in its module (`_operations/<op>.py`) with these parts.

Each function takes what arrived (status, headers, body) and either returns the result's
fields or raises one of the SDK's errors. The shells never look at a body themselves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

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
from ._secrets import redact
from ._service_errors import error_in_answer, service_error_in, typed_error

__all__ = [
    "error_for_status",
    "json_answer",
    "media_type",
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


#: What Render's page says while a free instance starts (its proxy's "Service waking up").
_WAKING_PAGE_MARKERS = (b"waking up",)


def _html_page_cause(status: int, body: bytes) -> str:
    """What an HTML error page most likely means. Only the wake-up page, or a gateway's 502/503
    page, says the host is starting; any other (a 404 or 501 of a web server that is not the
    service) says more about `base_url` than about waiting."""
    lowered = body[:4096].lower()
    if status in (502, 503) or any(marker in lowered for marker in _WAKING_PAGE_MARKERS):
        return "the host may be waking up"
    return f"a {status} page of a web server that may not be the service: check base_url"


def error_for_status(status: int, headers: Mapping[str, str], body: bytes, *, now: float) -> APIStatusError:
    """The typed error for an error status (4xx/5xx), with the body's error text and code."""
    found = service_error_in(body)
    if found is not None:
        detail = found.detail
    elif media_type(headers) == "text/html":
        cause = _html_page_cause(status, body)
        detail = f"an HTML page instead of the service's answer ({cause}): {redact(excerpt(body))}"
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


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_retryable_validation_error(error: DynasparkError) -> bool:
    """An HTML page at 200 is Render's proxy talking while the service wakes: worth a retry."""
    # Stream decoders keep the whole header value ("text/html; charset=utf-8"), answers' parsers
    # the bare media type: compare media types, or streams never retry the waking page.
    if not isinstance(error, ResponseValidationError):
        return False
    return media_type({"content-type": error.content_type}) == "text/html"
