"""The gateway as a Starlette application over one `AsyncClient`."""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dynaspark_sdk import AsyncClient, DynasparkError, RateLimit

from ._answers import (
    IGNORED_SCOPE_KEY,
    STREAM_HEADERS,
    error_response,
    ignored_headers,
    on_asyncio,
    send_events,
    send_json_body,
)
from ._guard import HEADERS_SCOPE_KEY, Admission, RequestGuard
from ._response_store import AsyncResponseStore, MemoryResponseStore, ResponseStore
from ._responses_routes import ResponsesRoutes
from ._retry_headers import SHOULD_NOT_RETRY, RateLimitHeaders
from ._shapes.chat_completions import (
    DONE,
    ChatPlan,
    ChunkEvents,
    chat_completion_json,
    completion_id,
    event,
    parse_chat,
)
from ._shapes.errors import GatewayError
from ._shapes.images import parse_image
from ._shapes.models import model_list
from ._shapes.parameters import policies
from ._shapes.speech import parse_speech
from ._shapes.tools import chat_tool_calls, tool_call_deltas
from ._upstream import TextStream, Upstream, shutting_down

__all__ = ["MAX_BODY_BYTES", "create_app"]

#: Largest request body accepted: a 20 MB image (the SDK's default limit) as a base64 data URI, and the rest.
MAX_BODY_BYTES = 28 * 1024 * 1024

_logger = logging.getLogger("dynaspark_sdk.gateway")


class _GatewayApp(Starlette):
    """The gateway's Starlette application, with its front in `__call__`, in front of the
    routes and of Starlette's own layers, so that every endpoint (one added later too) gets
    the same treatment:

    - the guard's checks (`RequestGuard`: Host, Origin and CORS, JSON bodies) before anything
      else; a refusal is answered here, in OpenAI's error shape;
    - headers on every answer: the CORS ones of an allowed origin, `x-should-retry: false` on a
      5xx (the upstream client's retries are spent) and the service's rate-limit numbers in
      OpenAI's names (see `_retry_headers`);
    - one log line per request, `METHOD PATH STATUS DURATION`, once its answer is complete (a
      stream's too); the query string and headers are never shown, so no key leaks.

    A `POST` to a path of `direct` goes straight to its ASGI endpoint, past Starlette's
    middleware and router (the same endpoint the router reaches; it answers its own errors,
    and an unexpected one is answered here as Starlette's outermost middleware would): the
    gateway's hot path costs less per call."""

    def __init__(
        self,
        *,
        log: Callable[[str], None],
        direct: dict[str, ASGIApp],
        guard: RequestGuard,
        rate_limit: Callable[[], RateLimit],
        **starlette: Any,
    ) -> None:
        super().__init__(**starlette)
        self.log = log
        self.direct = direct
        self.guard = guard
        self.rate_limit = rate_limit
        self.rate_limit_headers = RateLimitHeaders()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        stack = self.middleware_stack
        if stack is None:
            stack = self.middleware_stack = self.build_middleware_stack()
        if scope["type"] != "http":
            await stack(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        admission = self.guard.admit(scope)
        added = admission.headers

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [*added, *self.rate_limit_headers(self.rate_limit(), time.time())]
                if status >= 500:
                    extra.append(SHOULD_NOT_RETRY)
                if extra:
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        app: ASGIApp = stack
        direct = None
        if admission.status:
            app = _refusal(admission)
        elif scope["method"] == "POST":
            direct = self.direct.get(_route_path(scope))
        try:
            if direct is None:
                await app(scope, receive, sending)
            else:
                try:
                    await direct(scope, receive, sending)
                except Exception as exc:
                    if not status:  # as Starlette's outermost middleware: a 500, then up
                        await (await _unexpected(Request(scope), exc))(scope, receive, sending)
                    raise
        except Exception:
            status = status or 500  # answered by Starlette's outermost middleware
            raise
        finally:
            path = scope["path"]
            if not path.isprintable() or " " in path:
                path = "".join(c if c.isprintable() and c != " " else "?" for c in path)
            line = f"{scope['method']} {path} {status or '-'} {(time.perf_counter() - started) * 1000:.1f} ms"
            ignored = scope.get(IGNORED_SCOPE_KEY)
            self.log(f"{line} (ignored: {ignored})" if ignored else line)


def _refusal(admission: Admission) -> ASGIApp:
    """The answer to a request the guard stopped: a preflight's 204, or a refusal in OpenAI's
    shape (its CORS headers, if any, are added by the front)."""
    if admission.status == 204:
        return Response(status_code=204)
    return error_response(GatewayError(admission.status, admission.message, code=admission.code))


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the `root_path` of a mount (as Starlette's)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


class _Endpoint:
    """A plain ASGI callable as a route's endpoint (a bare function or method would be wrapped
    by Starlette as a request -> response handler)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of the header `name`, as Starlette's `Headers.get` (ASGI servers give
    header names in lower case; `name` is): from the guard's dict, which the front leaves in the
    scope of every HTTP request before any endpoint runs (see `RequestGuard.admit`)."""
    found: bytes | None = scope[HEADERS_SCOPE_KEY].get(name)
    return None if found is None else found.decode("latin-1")


class _Gateway:
    """The routes, around one AsyncClient."""

    def __init__(self, client: AsyncClient, gateway_key: str | None, strict_params: bool) -> None:
        self.client = client
        self.upstream = Upstream(client)
        self.in_flight = self.upstream.in_flight
        self._key = gateway_key.encode("utf-8") if gateway_key else None
        self.policies = policies(strict=strict_params)
        self.chat_models = tuple(client.models)
        self.image_models = tuple(client.image_models)
        # Built once: the models never change while the app runs, and `created` is its start.
        models = model_list(self.chat_models, self.image_models, int(time.time()))
        self.models_answer = models
        self.model_entries = {entry["id"]: entry for entry in models["data"]}

    @staticmethod
    def token(scope: Scope) -> str:
        """The bearer token the request carries ("" without one): whose stored responses it sees."""
        scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

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

    async def list_models(self, request: Request) -> Response:
        self.check_key(request.scope)
        return JSONResponse(self.models_answer)

    async def get_model(self, request: Request) -> Response:
        self.check_key(request.scope)
        name = request.path_params["model"]
        entry = self.model_entries.get(name)
        if entry is None:
            raise GatewayError(404, f"The model {name!r} does not exist", param="model", code="model_not_found")
        return JSONResponse(entry)

    # ------------------------------------------------------------------ chat

    async def chat_completions(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`POST /v1/chat/completions`, a plain ASGI endpoint (the gateway's hot path): it
        answers its own GatewayError and SDK errors; anything else goes up, to the 500 handler."""
        response: Response
        try:
            plan = parse_chat(await self.body(scope, receive), self.chat_models, self.policies)
            headers = ignored_headers(scope, plan.ignored)
            if plan.stream:
                # The events once the first piece has come (see `_events`): until then a
                # failure is still an error status (429, 502, 504).
                events = self._events(plan, await self.upstream.open_stream(plan))
                if on_asyncio():
                    await send_events(receive, send, events, headers)
                    return
                response = StreamingResponse(
                    events, headers={**STREAM_HEADERS, **headers}, media_type="text/event-stream"
                )
            else:
                answer = await self.upstream.answer(plan)
                calls = chat_tool_calls(answer.tool_calls)
                completion = chat_completion_json(
                    completion_id(), int(time.time()), plan.model, answer.text, answer.usage, calls
                )
                await send_json_body(send, completion, headers)
                return
        except (GatewayError, DynasparkError) as exc:
            response = error_response(self.upstream.error(exc))
        await response(scope, receive, send)

    async def _events(self, plan: ChatPlan, text: TextStream) -> AsyncGenerator[bytes, None]:
        """The chunks as server-sent events: the first carries the role and the first piece
        together (as OpenAI does); the last holds the stop (or an error event), the usage chunk
        if asked for, and `[DONE]`, in one piece of the body. An answer the service gave at
        once (`TextStream.whole`) goes out in one piece."""
        chunks = ChunkEvents(completion_id(), int(time.time()), plan.model)
        body = b""
        try:
            piece = await text.next()
            body = chunks.first(piece or "")
            while piece is not None:
                if not text.whole:
                    yield body
                    body = b""
                piece = await text.next()
                if piece is not None:
                    body += chunks.text(piece)
            # Calls come whole, after any text: the SDK holds a call until it is complete and valid.
            calls = text.tool_calls
            if calls:
                body += b"".join(chunks.delta(delta) for delta in tool_call_deltas(calls))
            body += chunks.finish("tool_calls" if calls else "stop")
            if plan.include_usage:
                body += chunks.usage()
        except DynasparkError as exc:
            body += event(self.upstream.error(exc).body())
        except GatewayError as exc:
            body += event(exc.body())
        finally:
            await text.aclose()
        yield body + DONE

    # ------------------------------------------------------------------ images and speech

    async def images(self, request: Request) -> Response:
        plan = parse_image(await self.body(request.scope, request.receive), self.image_models, self.policies.images)
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
            raise shutting_down()
        item["revised_prompt"] = None
        headers = ignored_headers(request.scope, plan.ignored)
        return JSONResponse({"created": int(time.time()), "data": [item]}, headers=headers)

    async def speech(self, request: Request) -> Response:
        plan = parse_speech(await self.body(request.scope, request.receive), self.policies.speech)
        with self.in_flight.guard() as waiting:
            audio = await self.client.generate_audio(plan.text, voice=plan.voice)
        if waiting.cancelled_caught:
            raise shutting_down()
        return Response(audio.data, media_type="audio/mpeg", headers=ignored_headers(request.scope, plan.ignored))


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return error_response(GatewayError(exc.status_code, message, code=code, headers=exc.headers))


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Logged for the operator; the client gets no traceback.
    _logger.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(GatewayError(500, "internal error in the gateway", type="server_error"))


def create_app(
    client: AsyncClient | None = None,
    *,
    gateway_key: str | None = None,
    log: Callable[[str], None] | None = None,
    allowed_hosts: Iterable[str] = (),
    cors_origins: Iterable[str] = (),
    allow_private_image_urls: bool = False,
    strict_params: bool = False,
    responses_db: str | os.PathLike[str] | None = None,
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

    Parameters that only tune sampling, length or bookkeeping (`temperature`, `max_tokens`,
    ...) are accepted and ignored, and named in the `x-dynaspark-ignored-params` header;
    `strict_params=True` refuses them (a 400) unless they are at their defaults.
    Stored responses (`/v1/responses`) are kept in memory, bounded, or in the SQLite file
    `responses_db`, where conversations survive a restart.

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
    gateway = _Gateway(calls, gateway_key, strict_params)
    store: ResponseStore
    if responses_db is None:
        store = MemoryResponseStore()
    else:  # (sqlite3 loaded only for a store in a file)
        from ._sqlite_response_store import SQLiteResponseStore

        store = SQLiteResponseStore(os.path.expanduser(os.fspath(responses_db)))
    responses = ResponsesRoutes(
        gateway.upstream,
        AsyncResponseStore(store),
        gateway.policies,
        gateway.chat_models,
        gateway.body,
        gateway.check_key,
        gateway.token,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()
            if owned:
                await upstream.aclose()

    async def sdk_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DynasparkError)
        return error_response(gateway.upstream.error(exc))

    routes = [
        Route("/v1/models", gateway.list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", gateway.get_model, methods=["GET"]),
        Route("/v1/chat/completions", _Endpoint(gateway.chat_completions), methods=["POST"]),
        Route("/v1/responses", _Endpoint(responses.create), methods=["POST"]),
        Route("/v1/responses/{response_id}", responses.retrieve, methods=["GET"]),
        Route("/v1/responses/{response_id}", responses.delete, methods=["DELETE"]),
        Route("/v1/responses/{response_id}/input_items", responses.input_items, methods=["GET"]),
        Route("/v1/images/generations", gateway.images, methods=["POST"]),
        Route("/v1/audio/speech", gateway.speech, methods=["POST"]),
    ]
    handlers = {
        GatewayError: _gateway_error,
        DynasparkError: sdk_error,
        HTTPException: _http_error,
        Exception: _unexpected,
    }
    direct: dict[str, ASGIApp] = {"/v1/chat/completions": gateway.chat_completions, "/v1/responses": responses.create}
    app = _GatewayApp(
        log=log if log is not None else _logger.info,
        direct=direct,
        guard=guard,
        rate_limit=lambda: calls.rate_limit,
        routes=routes,
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    # What the gateway's own servers end before their grace period runs out (see `InFlight`).
    app.state.dynaspark_in_flight = gateway.in_flight
    return app
