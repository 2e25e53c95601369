"""The SDK's error tree. Every failure a user can see is one of these.

    DynasparkError
    ├── InvalidRequestError (also a ValueError): bad input, raised before any request
    │   ├── ModelNotSupportedError
    │   └── MediaError
    ├── APIConnectionError: the request did not get an answer
    │   └── APITimeoutError
    ├── APIStatusError: the service answered with an error status
    │   ├── BadRequestError (400), AuthenticationError (401), PermissionDeniedError (403),
    │   │   NotFoundError (404), RateLimitError (429), InternalServerError (5xx)
    ├── ResponseValidationError: the answer breaks the spec (HTML page, bad JSON, ...)
    ├── StreamInterruptedError: a stream ended before it was complete
    ├── StructuredOutputError: the model's answer was no valid tool call or JSON, even repaired
    ├── ClientClosedError (also a RuntimeError): the client (or its pool) was closed
    └── StreamClosedError (also a RuntimeError): a stream read again after it was closed

No message, repr or attribute of these ever holds the API key or a URL's query string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._rate_limit import RateLimit

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "DynasparkError",
    "InternalServerError",
    "InvalidRequestError",
    "MediaError",
    "ModelNotSupportedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "StreamClosedError",
    "StreamInterruptedError",
    "StructuredOutputError",
    "excerpt",
]

EXCERPT_CHARS = 200


def excerpt(body: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line, printable excerpt of an answer's body for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rebuild(cls: type[DynasparkError], args: tuple[Any, ...], state: dict[str, Any]) -> DynasparkError:
    """Unpickle an error without calling its `__init__` (whose keyword-only arguments pickle
    cannot pass): the same class, `args` and attributes."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class DynasparkError(Exception):
    """Base class of every error the SDK raises.

    Every error survives `pickle` and `copy.deepcopy` with its class, message and attributes,
    so one raised in a `ProcessPoolExecutor` worker reaches the parent intact.
    """

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidRequestError(DynasparkError, ValueError):
    """The arguments cannot make a valid request; raised before anything is sent."""


class ModelNotSupportedError(InvalidRequestError):
    """The model is neither one of the service's models nor an alias of one."""


class MediaError(InvalidRequestError):
    """An image cannot be sent: unknown format, empty, missing, too large, or more than one."""


class APIConnectionError(DynasparkError):
    """No answer arrived: the connection failed, was reset, or a proxy failed."""


class APITimeoutError(APIConnectionError):
    """The request or the stream timed out."""


class APIStatusError(DynasparkError):
    """The service answered with an error status (4xx or 5xx).

    Attributes: `status_code`; `error` (the service's `{"error": ...}` text, if any); `code`
    (the error's code, when its body is `{"error": {"code": ..., "message": ...}}`);
    `body_excerpt`; `headers`; `rate_limit` (the `X-RateLimit-*` numbers of the answer).

    A 2xx answer whose JSON holds an `"error"` raises one of these too, with that 2xx status.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error: str | None = None,
        body_excerpt: str = "",
        headers: Mapping[str, str] | None = None,
        rate_limit: RateLimit | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.code = code
        self.body_excerpt = body_excerpt
        self.headers: Mapping[str, str] = dict(headers or {})
        self.rate_limit = rate_limit if rate_limit is not None else RateLimit()


class BadRequestError(APIStatusError):
    """400: the service refused the parameters."""


class AuthenticationError(APIStatusError):
    """401: the API key was refused."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such endpoint (check `base_url`)."""


class RateLimitError(APIStatusError):
    """429, or a local refusal because the rate-limit window is used up.

    `retry_after` is the number of seconds to wait, when it is known.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the service (or Render's proxy in front of it) failed."""


class ResponseValidationError(DynasparkError):
    """The answer does not match the spec: an HTML page, bad JSON, JSON without `response`.

    `status_code`, `content_type` and `body_excerpt` say what arrived.
    """

    def __init__(self, message: str, *, status_code: int = 200, content_type: str = "", body_excerpt: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.content_type = content_type
        self.body_excerpt = body_excerpt


class StreamInterruptedError(DynasparkError):
    """A stream broke off before it was complete; `partial_text` holds what had arrived."""

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class StructuredOutputError(DynasparkError):
    """The model was to answer with a tool call or JSON fitting a schema and did not, even after
    the repair turns (`max_repairs`). Nothing that fails the schema is ever handed back as if it
    passed.

    `raw_text` is the last answer as the model wrote it; `errors` what was wrong with it (one
    line each); `attempts` every answer, the first one first.
    """

    def __init__(self, message: str, *, raw_text: str, errors: tuple[str, ...], attempts: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.errors = tuple(errors)
        self.attempts = tuple(attempts) or (raw_text,)


class ClientClosedError(DynasparkError, RuntimeError):
    """The client was closed (or the one it was made from with `with_options()`), so it can send
    nothing more: a new call, or a stream made before the close and read after it."""


class StreamClosedError(DynasparkError, RuntimeError):
    """A stream was read after it had been closed before its end: by `close()` / `aclose()`,
    by leaving its `with` block, or by an error that ended it. What had arrived stays in its
    `text`; a new stream asks again. (A stream read to its end just stops again, as any
    exhausted iterator does.)"""
