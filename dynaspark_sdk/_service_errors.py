"""The service's error bodies, in every shape it is known or documented to send. No I/O.

The README's shape is `{"error": "message"}`; the service's docs show
`{"error": {"code": "rate_limit_exceeded", "message": ..., "details": {"reset_time": ...}}}`.
Both give the error its text; the nested one also its `code` and, through `reset_time`, how
long a rate-limited caller should wait. A 2xx JSON answer holding `"error"` is an error too
(the service's own client raises on it): `error_in_answer` types it by its code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    excerpt,
)
from ._rate_limit import RateLimit
from ._retry import retry_after_seconds, seconds_until_reset_time
from ._secrets import redact

__all__ = ["ServiceError", "error_in_answer", "read_service_error", "service_error_in", "typed_error"]

# An error's `code` -> the error it is, for a 2xx answer that holds one.
_CODE_ERRORS: dict[str, type[APIStatusError]] = {
    "rate_limit_exceeded": RateLimitError,
    "invalid_api_key": AuthenticationError,
    "unauthorized": AuthenticationError,
    "forbidden": PermissionDeniedError,
    "bad_request": BadRequestError,
    "invalid_request": BadRequestError,
    "not_found": NotFoundError,
    "internal_error": InternalServerError,
    "server_error": InternalServerError,
}


class ServiceError(NamedTuple):
    """What an error body says."""

    text: str
    code: str | None = None
    reset_time: object = None

    @property
    def detail(self) -> str:
        """The text for a message, after the code when there is one (both redacted)."""
        if self.code is not None and self.code != self.text:
            return f"{redact(self.code)}: {redact(self.text)}"
        return redact(self.text)


def read_service_error(value: object) -> ServiceError:
    """The error described by the value of an answer's `"error"` member."""
    if isinstance(value, str):
        return ServiceError(value)
    if isinstance(value, dict):
        code = value.get("code") if isinstance(value.get("code"), str) else None
        message = value.get("message")
        details = value.get("details")
        reset_time = details.get("reset_time") if isinstance(details, dict) else None
        if isinstance(message, str):
            return ServiceError(message, code, reset_time)
        if code is not None:
            return ServiceError(code, code, reset_time)
    return ServiceError(json.dumps(value, ensure_ascii=False))


def service_error_in(body: bytes) -> ServiceError | None:
    """The error a JSON body `{"error": ...}` holds, or None when it holds none."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("error") is None:
        return None
    return read_service_error(data["error"])


def typed_error(
    cls: type[APIStatusError],
    message: str,
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    found: ServiceError | None,
    now: float,
) -> APIStatusError:
    """An error of class `cls`; a RateLimitError's `retry_after` comes from `Retry-After`,
    else `X-RateLimit-Reset`, else the body's `reset_time`."""
    common: dict[str, Any] = {
        "status_code": status,
        "error": redact(found.text) if found is not None else None,
        "code": redact(found.code) if found is not None and found.code is not None else None,
        "body_excerpt": redact(excerpt(body)),
        "headers": dict(headers),
        "rate_limit": RateLimit.from_headers(headers),
    }
    if cls is RateLimitError:
        wait = retry_after_seconds(headers, now=now, status=429)
        if wait is None and found is not None:
            wait = seconds_until_reset_time(found.reset_time, now=now)
        if wait is not None:
            message += f" (retry after {wait:.0f} s)"
        return RateLimitError(message, retry_after=wait, **common)
    return cls(message, **common)


def error_in_answer(
    found: ServiceError, *, status: int, headers: Mapping[str, str], body: bytes, now: float
) -> APIStatusError:
    """The typed error for a 2xx JSON answer holding `"error"`: its class follows the error's
    code (`APIStatusError` when there is none or it is unknown); `status_code` stays the 2xx."""
    cls = _CODE_ERRORS.get(found.code or "", APIStatusError)
    message = f"the service answered with an error: {found.detail}"
    return typed_error(cls, message, status=status, headers=headers, body=body, found=found, now=now)
