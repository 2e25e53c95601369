"""What the gateway's endpoints answer with, written to ASGI: JSON, error answers, a stream's
events, and the parameters it accepted and ignored (a header, and the log line)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence

from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from ._shapes.chat_completions import DONE
from ._shapes.errors import GatewayError

__all__ = [
    "IGNORED_HEADER",
    "IGNORED_SCOPE_KEY",
    "STREAM_HEADERS",
    "error_response",
    "ignored_headers",
    "on_asyncio",
    "send_events",
    "send_json_body",
]

#: The answer's header naming the parameters accepted and ignored.
IGNORED_HEADER = "x-dynaspark-ignored-params"
#: Where an endpoint leaves those names for the request's log line (in the ASGI scope).
IGNORED_SCOPE_KEY = "dynaspark.ignored_params"
#: The headers of a server-sent events answer.
STREAM_HEADERS: Mapping[str, str] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def ignored_headers(scope: Scope, ignored: Sequence[str]) -> dict[str, str]:
    """The header naming the ignored parameters (none when there are none); the names are
    also left in the scope for the log line."""
    if not ignored:
        return {}
    names = ", ".join(ignored)
    scope[IGNORED_SCOPE_KEY] = names
    return {IGNORED_HEADER: names}


async def send_json_body(send: Send, body: bytes, headers: Mapping[str, str] | None = None) -> None:
    """A 200 answer of JSON already rendered as Starlette's `JSONResponse` renders it
    (`response_objects.encode`), byte for byte what `JSONResponse(payload)` sends, without
    building one."""
    raw = [(b"content-length", str(len(body)).encode("latin-1")), (b"content-type", b"application/json")]
    if headers:
        raw.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def error_response(error: GatewayError) -> JSONResponse:
    """The error answer, in OpenAI's shape."""
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


# What a stream's answer starts with, as Starlette's StreamingResponse sends it.
_STREAM_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
        (b"content-type", b"text/event-stream; charset=utf-8"),
    ],
}


def on_asyncio() -> bool:
    """Whether the running event loop is asyncio's (`send_events` needs it)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _until_disconnect(receive: Receive) -> None:
    with contextlib.suppress(Exception):
        while (await receive())["type"] != "http.disconnect":
            pass


async def send_events(
    receive: Receive,
    send: Send,
    events: AsyncGenerator[bytes, None],
    headers: Mapping[str, str] | None = None,
    finished: Callable[[], bool] | None = None,
) -> None:
    """A stream's answer on asyncio, byte for byte what Starlette's `StreamingResponse` sends,
    with a plain task (not a task group and its cancel scopes) watching for the client to
    leave: then the stream ends at its next piece and its upstream answer is closed. The watch
    starts once a second piece has gone out and more are to come: a chat model's stream (all
    of it in one piece: `TextStream.whole`) never waits on the upstream after its first piece.
    The piece that ends with `[DONE]` is the last of the body (no empty piece after it); for a
    stream without `[DONE]` (the Responses API's), `finished()` says whether the piece just
    given was the last. `headers` are added to the start's."""
    start = _STREAM_START
    if headers:
        extra = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        start = {**start, "headers": [*start["headers"], *extra]}
    await send(start)
    gone: asyncio.Future[None] | None = None
    sent = 0
    try:
        async for body in events:
            if gone is not None and gone.done():
                break
            last = body.endswith(DONE) if finished is None else finished()
            await send({"type": "http.response.body", "body": body, "more_body": not last})
            sent += 1
            if gone is None and sent == 2 and not last:
                gone = asyncio.ensure_future(_until_disconnect(receive))
    except OSError:  # the client left (servers of ASGI 2.4 say so when sending)
        pass
    finally:
        if gone is not None:
            gone.cancel()
        await events.aclose()
