"""The gateway as a Starlette application over one `AsyncClient`."""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dynaspark_sdk import AsyncClient, AsyncStream, DynasparkError

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


class _RequestLog:
    """ASGI middleware: one line per request, `METHOD PATH STATUS DURATION`, once its answer
    is complete (a stream's too). The query string and headers are never shown: no key leaks."""

    def __init__(self, app: ASGIApp, log: Callable[[str], None]) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            status.append(500)  # answered by Starlette's outermost middleware
            raise
        finally:
            path = "".join(c if c.isprintable() and c != " " else "?" for c in scope["path"])
            shown = str(status[0]) if status else "-"
            self.log(f"{scope['method']} {path} {shown} {(time.perf_counter() - started) * 1000:.1f} ms")


class _Gateway:
    """The routes, around one AsyncClient."""

    def __init__(self, client: AsyncClient, gateway_key: str | None) -> None:
        self.client = client
        self._key = gateway_key.encode("utf-8") if gateway_key else None

    def check_key(self, request: Request) -> None:
        if self._key is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode("utf-8"), self._key):
            raise GatewayError(
                401,
                "Incorrect or missing API key: send 'Authorization: Bearer <the gateway's key>'.",
                code="invalid_api_key",
            )

    async def body(self, request: Request) -> object:
        self.check_key(request)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise GatewayError(413, f"the request body is over {MAX_BODY_BYTES} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise GatewayError(413, f"the request body is over {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, RecursionError):
            raise GatewayError(400, "the request body is not valid JSON") from None

    # ------------------------------------------------------------------ models

    def model_names(self) -> list[str]:
        return [*self.client.models, *(TEXT_PREFIX + name for name in TEXT_MODELS)]

    async def list_models(self, request: Request) -> Response:
        self.check_key(request)
        return JSONResponse({"object": "list", "data": [model_entry(name) for name in self.model_names()]})

    async def get_model(self, request: Request) -> Response:
        self.check_key(request)
        name = request.path_params["model"]
        if name not in self.model_names():
            raise GatewayError(404, f"The model {name!r} does not exist", param="model", code="model_not_found")
        return JSONResponse(model_entry(name))

    # ------------------------------------------------------------------ chat

    async def chat_completions(self, request: Request) -> Response:
        plan = parse_chat(await self.body(request), self.client.models)
        if plan.stream:
            return await self._stream(plan)
        ident, created = completion_id(), int(time.time())
        if plan.text_model is None:
            answer = await self.client.chat(plan.messages, model=plan.model)
            return JSONResponse(chat_completion(ident, created, answer.model, answer.text))
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
        return JSONResponse(chat_completion(ident, created, model, result.text, counts))

    async def _stream(self, plan: ChatPlan) -> Response:
        stream: AsyncStream
        if plan.text_model is None:
            stream = self.client.stream_chat(plan.messages, model=plan.model)
        else:
            stream = self.client.stream_text(plan.messages, model=plan.text_model, **plan.text_options)
        # Wait for the first piece before answering: until then a failure is still a status
        # code (429, 502, 504); after it, the stream is under way and a failure is an error event.
        try:
            first = await anext(stream, None)
        except BaseException:
            await stream.aclose()
            raise
        model = plan.model if plan.text_model is None else TEXT_PREFIX + plan.text_model
        ident, created = completion_id(), int(time.time())

        async def events() -> AsyncIterator[bytes]:
            try:
                yield event(completion_chunk(ident, created, model, {"role": "assistant", "content": ""}))
                if first is not None:
                    yield event(completion_chunk(ident, created, model, {"content": first}))
                    async for piece in stream:
                        yield event(completion_chunk(ident, created, model, {"content": piece}))
                yield event(completion_chunk(ident, created, model, {}, "stop"))
                if plan.include_usage:
                    yield event(completion_chunk(ident, created, model, None, usage=True))
            except DynasparkError as exc:
                yield event(error_from_sdk(exc).body())
            finally:
                await stream.aclose()
            yield DONE

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    # ------------------------------------------------------------------ images and speech

    async def images(self, request: Request) -> Response:
        plan = parse_image(await self.body(request), self.client.image_models)
        result = await self.client.generate_image(plan.prompt, width=plan.width, height=plan.height, model=plan.model)
        item: dict[str, Any]
        if plan.b64_json:
            item = {"b64_json": base64.b64encode(await result.download()).decode("ascii")}
        else:
            item = {"url": result.url}
        item["revised_prompt"] = None
        return JSONResponse({"created": int(time.time()), "data": [item]})

    async def speech(self, request: Request) -> Response:
        plan = parse_speech(await self.body(request))
        audio = await self.client.generate_audio(plan.text, voice=plan.voice)
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
) -> Starlette:
    """The OpenAI-compatible gateway as an ASGI application (Starlette), serving `/v1/...`.

    `client` is the upstream `AsyncClient` (default: `AsyncClient()`, configured from the
    environment, closed when the app shuts down; a client you pass stays yours to close).
    Every request shares it: its pool, retries, rate-limit gate and concurrency limit.
    With `gateway_key`, every request needs `Authorization: Bearer <gateway_key>`.
    `log` gets one line per request (default: the `dynaspark_sdk.gateway` logger, INFO).

        import uvicorn
        from dynaspark_sdk import AsyncClient
        from dynaspark_sdk.gateway import create_app

        uvicorn.run(create_app(AsyncClient(max_retries=3)), port=8000)
    """
    owned = client is None
    upstream = client if client is not None else AsyncClient()
    gateway = _Gateway(upstream, gateway_key)

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
        Route("/v1/chat/completions", gateway.chat_completions, methods=["POST"]),
        Route("/v1/images/generations", gateway.images, methods=["POST"]),
        Route("/v1/audio/speech", gateway.speech, methods=["POST"]),
    ]
    handlers = {
        GatewayError: _gateway_error,
        DynasparkError: _sdk_error,
        HTTPException: _http_error,
        Exception: _unexpected,
    }
    middleware = [Middleware(_RequestLog, log=log if log is not None else _logger.info)]
    return Starlette(routes=routes, exception_handlers=handlers, middleware=middleware, lifespan=lifespan)
