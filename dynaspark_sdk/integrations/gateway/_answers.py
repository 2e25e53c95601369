"""What the gateway's endpoints answer with, written to ASGI: JSON, error answers, the headers
of a stream, and the parameters it accepted and ignored (a header, and the log line)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from starlette.responses import JSONResponse
from starlette.types import Scope, Send

from ._shapes.errors import GatewayError

__all__ = [
    "IGNORED_HEADER",
    "IGNORED_SCOPE_KEY",
    "STREAM_HEADERS",
    "dumps",
    "error_response",
    "ignored_headers",
    "send_json",
    "send_json_body",
]

#: The answer's header naming the parameters accepted and ignored.
IGNORED_HEADER = "x-dynaspark-ignored-params"
#: Where an endpoint leaves those names for the request's log line (in the ASGI scope).
IGNORED_SCOPE_KEY = "dynaspark.ignored_params"
#: The headers of a server-sent events answer.
STREAM_HEADERS: Mapping[str, str] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def dumps(payload: object) -> bytes:
    """JSON exactly as Starlette's JSONResponse renders it."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


def ignored_headers(scope: Scope, ignored: Sequence[str]) -> dict[str, str]:
    """The header naming the ignored parameters (none when there are none); the names are
    also left in the scope for the log line."""
    if not ignored:
        return {}
    names = ", ".join(ignored)
    scope[IGNORED_SCOPE_KEY] = names
    return {IGNORED_HEADER: names}


async def send_json(send: Send, payload: object, headers: Mapping[str, str] | None = None) -> None:
    """A 200 JSON answer, byte for byte what `JSONResponse(payload)` sends, without building one."""
    await send_json_body(send, dumps(payload), headers)


async def send_json_body(send: Send, body: bytes, headers: Mapping[str, str] | None = None) -> None:
    """A 200 answer of JSON already rendered by `dumps`."""
    raw = [(b"content-length", str(len(body)).encode("latin-1")), (b"content-type", b"application/json")]
    if headers:
        raw.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def error_response(error: GatewayError) -> JSONResponse:
    """The error answer, in OpenAI's shape."""
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
