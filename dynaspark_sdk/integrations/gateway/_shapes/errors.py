"""Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, and the SDK's
errors mapped onto it."""

from __future__ import annotations

import math
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
)

__all__ = ["GatewayError", "bad_request", "error_from_sdk", "model_not_found"]


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


def error_from_sdk(error: DynasparkError) -> GatewayError:
    """The OpenAI-shaped answer for an SDK error.

    Bad input is a 400 (an unknown model a 404); the service's 429 stays a 429 with its
    `Retry-After`; a refused upstream key, an upstream 5xx, a broken connection or an answer
    that breaks the spec are a 502 (the gateway's upstream failed); a timeout is a 504.
    """
    message = error.message
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
    if isinstance(error, APIStatusError | APIConnectionError):
        return GatewayError(502, f"Dynaspark failed: {message}", type="upstream_error", code="upstream_error")
    return GatewayError(
        502, f"Dynaspark's answer was unusable: {message}", type="upstream_error", code="upstream_error"
    )
