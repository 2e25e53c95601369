"""The gateway as a Starlette application over one `AsyncClient`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dynaspark_sdk import AsyncClient, AsyncStream, DynasparkError, RateLimit

from ._guard import Admission, RequestGuard
from ._retry_headers import SHOULD_NOT_RETRY, rate_limit_headers
from ._shapes import (
    DONE,
    TEXT_MODELS,
    TEXT_PREFIX,
    ChatPlan,
    GatewayError,
    chat_completion,
    completion_chunk,
    completion_id,
    error_from_sdk,
    event,
    model_entry,
    parse_chat,
    parse_image,
    parse_speech,
)

__all__ = ["MAX_BODY_BYTES", "create_app"]

#: Largest request body accepted: a 20 MB image (the SDK's default limit) as a base64 data URI, and the rest.
MAX_BODY_BYTES = 28 * 1024 * 1024

_logger = logging.getLogger("dynaspark_sdk.gateway")


def _error_response(error: GatewayError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _shutting_down() -> GatewayError:
    return GatewayError(503, "the gateway is shutting down; try again later", type="server_error", code="shutting_down")


class _Guard:
    """`InFlight.guard()`: a plain context manager (a generator-based one costs more per call)."""

    __slots__ = ("_scope", "_scopes")

    def __init__(self, scopes: set[anyio.CancelScope], ended: bool) -> None:
        self._scopes = scopes
        self._scope = anyio.CancelScope()
        if ended:
            self._scope.cancel()

    def __enter__(self) -> anyio.CancelScope:
        self._scopes.add(self._scope)
        return self._scope.__enter__()

    def __exit__(self, *exc_info: Any) -> bool:
        try:
            return bool(self._scope.__exit__(*exc_info))
        finally:
            self._scopes.discard(self._scope)


class InFlight:
    """The upstream waits of the requests in flight. A server that stops (`dynaspark gateway`
    on Ctrl-C, `serve_in_thread` at the end of its block) calls `end_all()` shortly before its
    grace period runs out: a request still waiting then answers 503 (a stream under way ends
    with an error event and `[DONE]`) instead of having its connection cut."""

    def __init__(self) -> None:
        self._scopes: set[anyio.CancelScope] = set()
        self.ended = False

    def guard(self) -> _Guard:
        """A cancel scope around one upstream wait (never around a `yield` to Starlette), ended
        by `end_all()`: check its `cancelled_caught` afterwards."""
        return _Guard(self._scopes, self.ended)

    def end_all(self) -> None:
        """End every upstream wait, now and from now on (on the server's event loop)."""
        self.ended = True
        for scope in list(self._scopes):
            scope.cancel()


class _Front:
    """ASGI middleware in front of the routes, so that every endpoint (one added later too)
    gets the same treatment:

    - the guard's checks (`RequestGuard`: Host, Origin and CORS, JSON bodies) before anything
      else; a refusal is answered here, in OpenAI's error shape;
    - headers on every answer: the CORS ones of an allowed origin, `x-should-retry: false` on a
      5xx (the upstream client's retries are spent) and the service's rate-limit numbers in
      OpenAI's names (see `_retry_headers`);
    - one log line per request, `METHOD PATH STATUS DURATION`, once its answer is complete (a
      stream's too); the query string and headers are never shown, so no key leaks.

    A `POST` to a path of `direct` goes straight to its ASGI endpoint, past Starlette's
    exception middleware and router (the same endpoint the router reaches; it answers its own
    errors): the gateway's hot path costs less per call."""

    def __init__(
        self,
        app: ASGIApp,
        log: Callable[[str], None],
        direct: dict[str, ASGIApp],
        guard: RequestGuard,
        rate_limit: Callable[[], RateLimit],
    ) -> None:
        self.app = app
        self.log = log
        self.direct = direct
        self.guard = guard
        self.rate_limit = rate_limit
        # The rate-limit headers of the last answer, by the numbers and the second they were
        # made in: most answers in a second share them.
        self._limit_headers: tuple[RateLimit, int, list[tuple[bytes, bytes]]] | None = None

    def _rate_limit_headers(self) -> list[tuple[bytes, bytes]]:
        limit, now = self.rate_limit(), time.time()
        cached = self._limit_headers
        if cached is not None and cached[0] is limit and cached[1] == int(now):
            return cached[2]
        headers = rate_limit_headers(limit, now)
        self._limit_headers = (limit, int(now), headers)
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        admission = self.guard.admit(scope)
        added = admission.headers

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [*added, *self._rate_limit_headers()]
                if status >= 500:
                    extra.append(SHOULD_NOT_RETRY)
                if extra:
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        app = self.app
        if admission.status:
            app = _refusal(admission)
        elif scope["method"] == "POST":
            app = self.direct.get(_route_path(scope), app)
        try:
            await app(scope, receive, sending)
        except Exception:
            status = status or 500  # answered by Starlette's outermost middleware
            raise
        finally:
            path = scope["path"]
            if not path.isprintable() or " " in path:
                path = "".join(c if c.isprintable() and c != " " else "?" for c in path)
            self.log(f"{scope['method']} {path} {status or '-'} {(time.perf_counter() - started) * 1000:.1f} ms")


def _refusal(admission: Admission) -> ASGIApp:
    """The answer to a request the guard stopped: a preflight's 204, or a refusal in OpenAI's
    shape (its CORS headers, if any, are added by the front)."""
    if admission.status == 204:
        return Response(status_code=204)
    return _error_response(GatewayError(admission.status, admission.message, code=admission.code))


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the `root_path` of a mount (as Starlette's)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


def _dumps(payload: object) -> bytes:
    """JSON exactly as Starlette's JSONResponse renders it."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


async def _send_json(send: Send, payload: object) -> None:
    """A 200 JSON answer, byte for byte what `JSONResponse(payload)` sends, without building one."""
    body = _dumps(payload)
    headers = [(b"content-length", str(len(body)).encode("latin-1")), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# What a stream's answer starts with, as Starlette's StreamingResponse sends it.
_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_STREAM_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
        (b"content-type", b"text/event-stream; charset=utf-8"),
    ],
}


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _until_disconnect(receive: Receive) -> None:
    with contextlib.suppress(Exception):
        while (await receive())["type"] != "http.disconnect":
            pass


async def _send_events(receive: Receive, send: Send, events: AsyncGenerator[bytes, None]) -> None:
    """A stream's answer on asyncio, byte for byte what Starlette's `StreamingResponse` sends,
    with a plain task (not a task group and its cancel scopes) watching for the client to
    leave: then the stream ends at its next piece and its upstream answer is closed. The watch
    starts once a second piece has gone out and more are to come: a chat model's stream (one
    piece, then the end) never waits on the upstream after its first piece. The piece that
    ends with `[DONE]` is the last of the body (no empty piece after it)."""
    await send(_STREAM_START)
    gone: asyncio.Future[None] | None = None
    sent = 0
    try:
        async for body in events:
            if gone is not None and gone.done():
                break
            last = body.endswith(DONE)
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


class _Endpoint:
    """A plain ASGI callable as a route's endpoint (a bare function or method would be wrapped
    by Starlette as a request -> response handler)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of the (lower-case) header `name`, as Starlette's `Headers.get`."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class _Gateway:
    """The routes, around one AsyncClient."""

    def __init__(self, client: AsyncClient, gateway_key: str | None) -> None:
        self.client = client
        self._key = gateway_key.encode("utf-8") if gateway_key else None
        self.in_flight = InFlight()

    def check_key(self, scope: Scope) -> None:
        if self._key is None:
            return
        given = _header(scope, b"authorization") or ""
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode("utf-8"), self._key):
            raise GatewayError(
                401,
                "Incorrect or missing API key: send 'Authorization: Bearer <the gateway's key>'.",
                code="invalid_api_key",
            )

    async def body(self, scope: Scope, receive: Receive) -> object:
        """The request's JSON body (after the key check), read from the ASGI `receive`."""
        self.check_key(scope)
        declared = _header(scope, b"content-length") or ""
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise GatewayError(413, f"the request body is over {MAX_BODY_BYTES} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise GatewayError(413, f"the request body is over {MAX_BODY_BYTES} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            elif message["type"] == "http.disconnect":
                raise ClientDisconnect()
        try:
            return json.loads(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        except (ValueError, RecursionError):
            raise GatewayError(400, "the request body is not valid JSON") from None

    # ------------------------------------------------------------------ models

    def model_names(self) -> list[str]:
        return [*self.client.models, *(TEXT_PREFIX + name for name in TEXT_MODELS)]

    async def list_models(self, request: Request) -> Response:
        self.check_key(request.scope)
        return JSONResponse({"object": "list", "data": [model_entry(name) for name in self.model_names()]})

    async def get_model(self, request: Request) -> Response:
        self.check_key(request.scope)
        name = request.path_params["model"]
        if name not in self.model_names():
            raise GatewayError(404, f"The model {name!r} does not exist", param="model", code="model_not_found")
        return JSONResponse(model_entry(name))

    # ------------------------------------------------------------------ chat

    async def chat_completions(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`POST /v1/chat/completions`, a plain ASGI endpoint (the gateway's hot path): it
        answers its own GatewayError and SDK errors; anything else goes up, to the 500 handler."""
        response: Response
        try:
            plan = parse_chat(await self.body(scope, receive), self.client.models)
            if plan.stream:
                events = await self._stream(plan)
                if _on_asyncio():
                    await _send_events(receive, send, events)
                    return
                response = StreamingResponse(events, headers=_STREAM_HEADERS, media_type="text/event-stream")
            else:
                with self.in_flight.guard() as waiting:
                    completion = await self._completion(plan)
                if waiting.cancelled_caught:
                    raise _shutting_down()
                await _send_json(send, completion)
                return
        except GatewayError as exc:
            response = _error_response(exc)
        except DynasparkError as exc:
            response = _error_response(error_from_sdk(exc))
        await response(scope, receive, send)

    async def _completion(self, plan: ChatPlan) -> dict[str, Any]:
        ident, created = completion_id(), int(time.time())
        if plan.text_model is None:
            answer = await self.client.chat(plan.messages, model=plan.model)
            return chat_completion(ident, created, answer.model, answer.text)
        result = await self.client.generate_text(plan.messages, model=plan.text_model, **plan.text_options)
        usage = result.usage
        counts = None
        if usage is not None:
            counts = {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }
        model = TEXT_PREFIX + (result.model or plan.text_model)
        return chat_completion(ident, created, model, result.text, counts)

    async def _stream(self, plan: ChatPlan) -> AsyncGenerator[bytes, None]:
        """The events of a streamed answer, once its first piece has come (see `_events`)."""
        stream: AsyncStream
        if plan.text_model is None:
            stream = self.client.stream_chat(plan.messages, model=plan.model)
        else:
            stream = self.client.stream_text(plan.messages, model=plan.text_model, **plan.text_options)
        # Wait for the first piece before answering: until then a failure is still a status
        # code (429, 502, 504); after it, the stream is under way and a failure is an error event.
        try:
            with self.in_flight.guard() as waiting:
                first = await anext(stream, None)
        except BaseException:
            await stream.aclose()
            raise
        if waiting.cancelled_caught:
            await stream.aclose()
            raise _shutting_down()
        return self._events(plan, stream, first)

    async def _events(self, plan: ChatPlan, stream: AsyncStream, first: str | None) -> AsyncGenerator[bytes, None]:
        """The chunks as server-sent events: the first carries the role and the first piece
        together (as OpenAI does); the last holds the stop (or an error event), the usage chunk
        if asked for, and `[DONE]`, in one piece of the body."""
        model = plan.model if plan.text_model is None else TEXT_PREFIX + plan.text_model
        ident, created = completion_id(), int(time.time())
        in_flight = self.in_flight
        try:
            yield event(completion_chunk(ident, created, model, {"role": "assistant", "content": first or ""}))
            piece = first
            while piece is not None:
                with in_flight.guard() as waiting:
                    piece = await anext(stream, None)
                if waiting.cancelled_caught:
                    raise _shutting_down()
                if piece is not None:
                    yield event(completion_chunk(ident, created, model, {"content": piece}))
            tail = event(completion_chunk(ident, created, model, {}, "stop"))
            if plan.include_usage:
                tail += event(completion_chunk(ident, created, model, None, usage=True))
        except DynasparkError as exc:
            tail = event(error_from_sdk(exc).body())
        except GatewayError as exc:
            tail = event(exc.body())
        finally:
            await stream.aclose()
        yield tail + DONE

    # ------------------------------------------------------------------ images and speech

    async def images(self, request: Request) -> Response:
        plan = parse_image(await self.body(request.scope, request.receive), self.client.image_models)
        item: dict[str, Any] = {}
        with self.in_flight.guard() as waiting:
            result = await self.client.generate_image(
                plan.prompt, width=plan.width, height=plan.height, model=plan.model
            )
            if plan.b64_json:
                item["b64_json"] = base64.b64encode(await result.download()).decode("ascii")
            else:
                item["url"] = result.url
        if waiting.cancelled_caught:
            raise _shutting_down()
        item["revised_prompt"] = None
        return JSONResponse({"created": int(time.time()), "data": [item]})

    async def speech(self, request: Request) -> Response:
        plan = parse_speech(await self.body(request.scope, request.receive))
        with self.in_flight.guard() as waiting:
            audio = await self.client.generate_audio(plan.text, voice=plan.voice)
        if waiting.cancelled_caught:
            raise _shutting_down()
        return Response(audio.data, media_type="audio/mpeg")


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return _error_response(exc)


async def _sdk_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DynasparkError)
    return _error_response(error_from_sdk(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return _error_response(GatewayError(exc.status_code, message, code=code, headers=exc.headers))


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Logged for the operator; the client gets no traceback.
    _logger.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return _error_response(GatewayError(500, "internal error in the gateway", type="server_error"))


def create_app(
    client: AsyncClient | None = None,
    *,
    gateway_key: str | None = None,
    log: Callable[[str], None] | None = None,
    allowed_hosts: Iterable[str] = (),
    cors_origins: Iterable[str] = (),
    allow_private_image_urls: bool = False,
) -> Starlette:
    """The OpenAI-compatible gateway as an ASGI application (Starlette), serving `/v1/...`.

    `client` is the upstream `AsyncClient` (default: `AsyncClient()`, configured from the
    environment, closed when the app shuts down; a client you pass stays yours to close).
    Every request shares it: its pool, retries, rate-limit gate and concurrency limit.
    With `gateway_key`, every request needs `Authorization: Bearer <gateway_key>`.
    `log` gets one line per request (default: the `dynaspark_sdk.gateway` logger, INFO).

    Safe by default, for every endpoint: a `Host` other than an IP literal, `localhost`,
    `*.localhost`, `*.local`, `*.internal`, this machine's name or one of `allowed_hosts` is
    refused (403; `"*"` turns the check off); a request with an `Origin` (a web page) is
    refused (403) unless it is a loopback origin or one of `cors_origins` (exact origins, or
    `"*"`), which get CORS answers; a body that is not `application/json` is refused (415).
    Image URLs in messages are fetched only from public addresses (every redirect hop checked,
    the connection made to the address checked), unless `allow_private_image_urls=True`.

        import uvicorn
        from dynaspark_sdk import AsyncClient
        from dynaspark_sdk.gateway import create_app

        uvicorn.run(create_app(AsyncClient(max_retries=3)), port=8000)
    """
    if isinstance(allowed_hosts, str) or isinstance(cors_origins, str):
        raise TypeError("allowed_hosts and cors_origins are lists of names, not one string")
    if not isinstance(allow_private_image_urls, bool):
        raise TypeError(f"allow_private_image_urls must be True or False, not {allow_private_image_urls!r}")
    guard = RequestGuard(allowed_hosts, cors_origins)
    owned = client is None
    upstream = client if client is not None else AsyncClient()
    # The calls go through a copy of the client (the same pool, rate-limit state and retries)
    # that fetches callers' image URLs from public addresses only, unless told otherwise.
    calls = upstream.with_options(private_image_urls=allow_private_image_urls)
    gateway = _Gateway(calls, gateway_key)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                await upstream.aclose()

    routes = [
        Route("/v1/models", gateway.list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", gateway.get_model, methods=["GET"]),
        Route("/v1/chat/completions", _Endpoint(gateway.chat_completions), methods=["POST"]),
        Route("/v1/images/generations", gateway.images, methods=["POST"]),
        Route("/v1/audio/speech", gateway.speech, methods=["POST"]),
    ]
    handlers = {
        GatewayError: _gateway_error,
        DynasparkError: _sdk_error,
        HTTPException: _http_error,
        Exception: _unexpected,
    }
    direct: dict[str, ASGIApp] = {"/v1/chat/completions": gateway.chat_completions}
    middleware = [
        Middleware(
            _Front,
            log=log if log is not None else _logger.info,
            direct=direct,
            guard=guard,
            rate_limit=lambda: calls.rate_limit,
        )
    ]
    app = Starlette(routes=routes, exception_handlers=handlers, middleware=middleware, lifespan=lifespan)
    # What the gateway's own servers end before their grace period runs out (see `InFlight`).
    app.state.dynaspark_in_flight = gateway.in_flight
    return app
