"""dynaspark-sdk: typed sync and async clients for the Dynaspark LLM service.

    from dynaspark_sdk import Client

    with Client() as client:
        print(client.chat("Hello!").text)

Public names are loaded on first use, so `import dynaspark_sdk` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from ._errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ClientClosedError,
        DynasparkError,
        InternalServerError,
        InvalidRequestError,
        MediaError,
        ModelNotSupportedError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ResponseValidationError,
        StreamClosedError,
        StreamInterruptedError,
        StructuredOutputError,
    )
    from ._rate_limit import RateLimit
    from ._results import (
        AsyncImageResult,
        AudioResult,
        ChatResponse,
        ImageResult,
        ServiceStatus,
        TextResponse,
        Usage,
    )
    from ._retry import RetryPolicy
    from ._tools import ToolCall
    from .async_client import AsyncClient, AsyncConversation, AsyncStream
    from .client import Client, Conversation, Stream
    from .integrations.gpt4free import Dynaspark

_EXPORTS = {
    "_errors": (
        "APIConnectionError", "APIStatusError", "APITimeoutError", "AuthenticationError", "BadRequestError",
        "ClientClosedError", "DynasparkError", "InternalServerError", "InvalidRequestError", "MediaError",
        "ModelNotSupportedError", "NotFoundError", "PermissionDeniedError", "RateLimitError", "ResponseValidationError",
        "StreamClosedError", "StreamInterruptedError", "StructuredOutputError",
    ),
    "_rate_limit": ("RateLimit",),
    "_results": (
        "AsyncImageResult", "AudioResult", "ChatResponse", "ImageResult", "ServiceStatus", "TextResponse", "Usage",
    ),
    "_retry": ("RetryPolicy",),
    "_tools": ("ToolCall",),
    "async_client": ("AsyncClient", "AsyncConversation", "AsyncStream"),
    "client": ("Client", "Conversation", "Stream"),
    "integrations.gpt4free": ("Dynaspark",),
}  # fmt: skip
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncConversation",
    "AsyncImageResult",
    "AsyncStream",
    "AudioResult",
    "AuthenticationError",
    "BadRequestError",
    "ChatResponse",
    "Client",
    "ClientClosedError",
    "Conversation",
    "Dynaspark",
    "DynasparkError",
    "ImageResult",
    "InternalServerError",
    "InvalidRequestError",
    "MediaError",
    "ModelNotSupportedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "ResponseValidationError",
    "RetryPolicy",
    "ServiceStatus",
    "Stream",
    "StreamClosedError",
    "StreamInterruptedError",
    "StructuredOutputError",
    "TextResponse",
    "ToolCall",
    "Usage",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'dynaspark_sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
