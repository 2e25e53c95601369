"""Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, and the SDK's
errors mapped onto it."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from dynaspark_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DynasparkError,
    InvalidRequestError,
    ModelNotSupportedError,
    PermissionDeniedError,
    RateLimitError,
    StructuredOutputError,
)

__all__ = ["GatewayError", "bad_request", "error_from_sdk", "is_local_rate_limit", "model_not_found"]


class GatewayError(Exception):
    """An error answer in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer (also the payload of an error event in a stream)."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> GatewayError:
    """A 400 `invalid_request_error`."""
    return GatewayError(400, message, param=param, code=code)


def model_not_found(model: str, known: Sequence[str]) -> GatewayError:
    """A 404 `model_not_found` that lists the models served."""
    return GatewayError(
        404,
        f"The model {model!r} does not exist; models served here: {', '.join(known)}",
        param="model",
        code="model_not_found",
    )


def _retry_after_header(error: RateLimitError) -> dict[str, str]:
    seconds = error.retry_after
    if seconds is None:
        given = error.headers.get("retry-after") or error.headers.get("Retry-After")
        return {"Retry-After": given} if given else {}
    if not math.isfinite(seconds):
        return {}
    return {"Retry-After": str(max(0, math.ceil(seconds)))}


def is_local_rate_limit(error: DynasparkError) -> bool:
    """Whether `error` is the client's own rate-limit gate refusing a call (the window it last
    saw is used up), not the service's 429: the gate's error has no answer, so no headers."""
    return isinstance(error, RateLimitError) and not error.headers


def _counted_locally(message: str, confirmed_at: float | None, now: float) -> str:
    if confirmed_at is None:
        when = "by the last answer this gateway saw"
    else:
        stamp = time.strftime("%H:%M:%S UTC", time.gmtime(confirmed_at))
        when = f"at {stamp} ({max(0, now - confirmed_at):.0f} s ago)"
    return (
        f"{message} (counted by the gateway, not asked of Dynaspark again, which saves the quota;"
        f" the service last confirmed the window used up {when})"
    )


def error_from_sdk(error: DynasparkError, confirmed_at: float | None = None) -> GatewayError:
    """The OpenAI-shaped answer for an SDK error.

    Bad input is a 400 (an unknown model a 404); the service's 429 stays a 429 with its
    `Retry-After`, and the client's own gate (the window it last saw is used up) is a 429
    that says so, and when the service last confirmed it (`confirmed_at`, Unix time); a
    refused upstream key, an upstream 5xx, a broken connection or an answer that breaks the
    spec are a 502 (the gateway's upstream failed); a timeout is a 504.
    """
    message = error.message
    if is_local_rate_limit(error):
        message = _counted_locally(message, confirmed_at, time.time())
    if isinstance(error, ModelNotSupportedError):
        return GatewayError(404, message, param="model", code="model_not_found")
    if isinstance(error, InvalidRequestError):
        return bad_request(message)
    if isinstance(error, RateLimitError):
        return GatewayError(
            429, message, type="rate_limit_error", code="rate_limit_exceeded", headers=_retry_after_header(error)
        )
    if isinstance(error, BadRequestError):
        return bad_request(f"Dynaspark refused the request: {message}")
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return GatewayError(
            502,
            f"Dynaspark refused the gateway's API key: {message}",
            type="upstream_error",
            code="upstream_auth_failed",
        )
    if isinstance(error, APITimeoutError):
        return GatewayError(
            504, f"Dynaspark did not answer in time: {message}", type="timeout", code="upstream_timeout"
        )
    if isinstance(error, StructuredOutputError):
        # Tools and structured output are prompted: the model's answer, even repaired, did not
        # fit. Never passed on as content that breaks the schema.
        return GatewayError(502, message, type="upstream_error", code="invalid_model_output")
    if isinstance(error, APIStatusError | APIConnectionError):
        return GatewayError(502, f"Dynaspark failed: {message}", type="upstream_error", code="upstream_error")
    return GatewayError(
        502, f"Dynaspark's answer was unusable: {message}", type="upstream_error", code="upstream_error"
    )
