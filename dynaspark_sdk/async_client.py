"""`AsyncClient`: the asynchronous shell (asyncio and trio, through anyio). It performs the
flows' actions with an httpx.AsyncClient; everything else lives in the shared core."""

from __future__ import annotations

import functools
import math
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import anyio.to_thread
import httpx

from ._answers import parse_image_bytes
from ._calls import chat_call, image_call, speech_call, status_call, text_call
from ._flow import (
    Answer,
    CallState,
    Discard,
    Emit,
    Failure,
    Opened,
    Read,
    Send,
    Sleep,
    call_flow,
    fetch_plan,
)
from ._generated import spec_values
from ._media import ImageUpload
from ._plans import ImageOptions, MessagesInput, RequestPlan, TextOptions
from ._pools import DEFAULT_MAX_CONCURRENCY, DEFAULT_SLOT_TIMEOUT, AsyncPool
from ._results import AsyncImageResult, AudioResult, ChatResponse, ServiceStatus, TextResponse
from ._retry import RetryPolicy
from ._settings import (
    DEFAULT_TIMEOUT,
    Settings,
    TimeoutArg,
    classify_failure,
    import_request_builders,
    make_settings,
    slot_wait_failure,
)
from ._shells import ClientView, ConversationState, StreamState, checked_transport_args, load_core

# Unlike `Client`, the async shell loads the whole core as it is imported (an application
# imports it at start-up): a client made later, on a running event loop, imports nothing there.
load_core()
import_request_builders()

__all__ = ["AsyncClient", "AsyncConversation", "AsyncStream"]

T = TypeVar("T")
Flow = Generator[Any, Any, T]


async def _finish_generators(chunks: AsyncGenerator[bytes, None]) -> None:
    """Run httpx's chain of body generators to their end once the answer is closed.

    httpx reads a body through nested async generators; closing only the outermost leaves
    the inner ones suspended, and trio warns (ResourceWarning) when they are collected.
    After `response.aclose()` the next read ends or fails at once, which finishes every
    generator in the chain, without reading anything more from the network.
    """
    try:
        async for _ in chunks:
            pass
    except Exception:  # the read on a closed answer fails; that is the point
        pass


class _AsyncRunner:
    """Performs actions with one httpx.AsyncClient; holds at most one open answer."""

    def __init__(self, pool: AsyncPool, settings: Settings, ensure_open: Callable[[], None]) -> None:
        self._ensure_open = ensure_open
        self._pool = pool
        self._settings = settings
        self._response: httpx.Response | None = None
        self._chunks: AsyncGenerator[bytes, None] | None = None

    async def perform(self, action: object) -> object:
        if isinstance(action, Read):
            return await self._read()
        if isinstance(action, Send):
            return await self._send(action)
        if isinstance(action, Sleep):
            await anyio.sleep(action.seconds)
            return None
        if isinstance(action, Discard):
            await self.discard()
            return None
        raise TypeError(f"unknown action {action!r}")

    async def _send(self, action: Send) -> Answer | Opened | Failure:
        await self.discard()
        self._ensure_open()  # a stream made before its client was closed, read after
        slots = None if action.stream else self._pool.slots()  # a stream could hold its slot for minutes
        if slots is None:
            return await self._exchange(action)
        try:
            # A free slot is taken without a checkpoint or a cancel scope (the request yields soon
            # enough): about a tenth of the SDK's own CPU per call on asyncio.
            slots.acquire_nowait()
        except anyio.WouldBlock:
            wait = self._pool.slot_timeout
            with anyio.move_on_after(wait if wait is not None else math.inf) as waiting:
                await slots.acquire()
            if waiting.cancelled_caught:
                return slot_wait_failure(wait, self._pool.max_concurrency)
        try:
            return await self._exchange(action)
        finally:
            slots.release()

    async def _exchange(self, action: Send) -> Answer | Opened | Failure:
        upload = action.plan.upload
        http = await self._pool.http()
        payload = upload.open() if isinstance(upload, ImageUpload) else None
        try:
            request = http.build_request(**self._settings.request_args(action.plan, payload))
            try:
                response = await http.send(request, stream=True)
            except httpx.HTTPError as exc:
                return classify_failure(exc)
        finally:
            if payload is not None:
                payload.close()
        if action.stream:
            self._response = response
            self._chunks = response.aiter_bytes()  # type: ignore[assignment]
            return Opened(response.status_code, response.headers)
        try:
            body = await response.aread()
        except httpx.HTTPError as exc:
            return classify_failure(exc, after_bytes=True)
        finally:
            await response.aclose()
        return Answer(response.status_code, response.headers, body)

    async def _read(self) -> bytes | Failure:
        assert self._chunks is not None, "Read without an open answer"
        try:
            return await anext(self._chunks, b"")
        except httpx.HTTPError as exc:
            return classify_failure(exc, after_bytes=True)

    async def discard(self) -> None:
        if self._response is not None:
            response, chunks = self._response, self._chunks
            self._response = self._chunks = None
            # Closing must finish even when the caller is being cancelled, or the
            # connection would be left half-read in the pool.
            with anyio.CancelScope(shield=True):
                await response.aclose()
                if chunks is not None:
                    await _finish_generators(chunks)

    async def run(self, flow: Flow[T]) -> T:
        """Drive a flow that emits nothing to its result."""
        outcome: object = None
        try:
            while True:
                outcome = await self.perform(flow.send(outcome))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()
            await self.discard()


class AsyncStream(StreamState, AsyncIterator[str]):
    """Text as it arrives, for `async for`. Also an async context manager; the connection
    is released however iteration ends. After iteration `.text` holds the whole answer.

        async with client.stream_text("Tell me a story") as stream:
            async for piece in stream:
                print(piece, end="", flush=True)
    """

    def __init__(
        self,
        runner: _AsyncRunner,
        plan: RequestPlan,
        settings: Settings,
        state: CallState,
        on_complete: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(plan, settings, state, on_complete)
        self._runner = runner

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        flow = self._flow
        if flow is None:
            raise StopAsyncIteration
        try:
            action = flow.send(self._outcome)
            while not isinstance(action, Emit):
                self._outcome = await self._runner.perform(action)
                action = flow.send(self._outcome)
        except StopIteration:
            await self._finish()
            self._completed()
            raise StopAsyncIteration from None
        except BaseException:
            await self._finish()
            raise
        self._outcome = None
        return action.text

    async def _finish(self) -> None:
        self._detach_flow()
        await self._runner.discard()

    async def aclose(self) -> None:
        """Stop and release the connection (idempotent)."""
        await self._finish()

    async def until_done(self) -> str:
        """Read to the end and return the whole text."""
        async for _ in self:
            pass
        return self.text

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class AsyncClient(ClientView):
    """The asynchronous Dynaspark client, for asyncio and trio.

    One connection pool per client, reused by every call; use `async with` or
    `await client.aclose()`. Settings are those of `Client`.

        async with AsyncClient() as client:
            answer = await client.chat("Hello!")
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: TimeoutArg = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        proxy: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_media_bytes: int | None = None,
        on_rate_limit: str = "wait",
        retry_policy: RetryPolicy | None = None,
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        slot_timeout: float | None = DEFAULT_SLOT_TIMEOUT,
        chat_path: str | None = None,
    ) -> None:
        settings = make_settings(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            max_media_bytes=max_media_bytes,
            on_rate_limit=on_rate_limit,
            retry_policy=retry_policy,
            chat_path=chat_path,
        )
        proxy = checked_transport_args(http_client, httpx.AsyncClient, proxy, "AsyncClient")
        self._pool: AsyncPool = AsyncPool(
            http_client,
            timeout=settings.timeout,
            proxy=proxy,
            max_concurrency=max_concurrency,
            slot_timeout=slot_timeout,
        )
        self._start(self._pool, settings)

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        """Close the connection pool (when this client made it). Safe to call twice."""
        if not self._closed:
            self._closed = True
            if self._owns_pool:
                await self._pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _runner(self) -> _AsyncRunner:
        self._ensure_open()
        return _AsyncRunner(self._pool, self._settings, self._ensure_open)

    def _ensure_open(self) -> None:
        self._check_usable(self._pool.closed)

    async def _run(self, plan: RequestPlan, parse: Callable[[Answer], T]) -> T:
        return await self._runner().run(call_flow(plan, parse, self._settings.flow, self._state))

    def _stream(self, plan: RequestPlan, on_complete: Callable[[str], None] | None = None) -> AsyncStream:
        return AsyncStream(self._runner(), plan, self._settings, self._state, on_complete)

    # ------------------------------------------------------------------ chat

    async def chat(
        self, messages: MessagesInput, *, model: str | None = None, media: object = None, resolve_alias: bool = True
    ) -> ChatResponse:
        """Send a prompt or a conversation to the chat endpoint (see `Client.chat`)."""
        plan_chat = functools.partial(
            chat_call, self._settings, messages, model=model, media=media, resolve_alias=resolve_alias
        )
        if media is None or isinstance(media, bytes | bytearray | memoryview):
            plan, parse = plan_chat()
        else:
            # A path, a stream or a PIL image is opened, read or encoded to be checked: that
            # blocks, so it happens in a worker thread, not on the event loop.
            plan, parse = await anyio.to_thread.run_sync(plan_chat)
        return await self._run(plan, parse)

    def chat_stream(
        self, messages: MessagesInput, *, model: str | None = None, media: object = None, resolve_alias: bool = True
    ) -> AsyncStream:
        """Like `chat()`, as an `AsyncStream` of text (no await: the request starts on iteration)."""
        plan, _ = chat_call(self._settings, messages, model=model, media=media, resolve_alias=resolve_alias)
        return self._stream(plan)

    def conversation(
        self,
        *,
        model: str | None = None,
        system: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        max_prompt_chars: int | None = None,
    ) -> AsyncConversation:
        """A conversation whose history this client keeps (see `Client.conversation`)."""
        return AsyncConversation(self, model=model, system=system, messages=messages, max_prompt_chars=max_prompt_chars)

    # ------------------------------------------------------------------ public API

    async def generate_text(
        self,
        prompt_or_messages: MessagesInput,
        *,
        model: str | None = None,
        system: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        seed: int | None = None,
        json: bool = False,
        private: bool | None = None,
        referrer: str | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> TextResponse:
        """Generate text with the public API (see `Client.generate_text`)."""
        options = TextOptions(
            model, system, temperature, top_p, presence_penalty, frequency_penalty, seed, json, private, referrer,
            extra_query,
        )  # fmt: skip
        plan, parse = text_call(self._settings, prompt_or_messages, options, stream=False)
        return await self._run(plan, parse)

    def stream_text(
        self,
        prompt_or_messages: MessagesInput,
        *,
        model: str | None = None,
        system: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        seed: int | None = None,
        json: bool = False,
        private: bool | None = None,
        referrer: str | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> AsyncStream:
        """Like `generate_text()` with `stream=true`; an `AsyncStream` of text."""
        options = TextOptions(
            model, system, temperature, top_p, presence_penalty, frequency_penalty, seed, json, private, referrer,
            extra_query,
        )  # fmt: skip
        plan, _ = text_call(self._settings, prompt_or_messages, options, stream=True)
        return self._stream(plan)

    async def generate_image(
        self,
        prompt: str,
        *,
        width: int | None = None,
        height: int | None = None,
        model: str | None = None,
        nologo: bool | None = None,
        seed: int | None = None,
        watermark: str | None = None,
    ) -> AsyncImageResult:
        """Generate an image; `await result.download()` / `await result.save(path)`."""
        plan, parse = image_call(self._settings, prompt, ImageOptions(width, height, model, nologo, seed, watermark))
        url, used_model, used_seed, headers, rate_limit = await self._run(plan, parse)
        return AsyncImageResult(
            url=url,
            model=used_model,
            seed=used_seed,
            headers=headers,
            rate_limit=rate_limit,
            fetch=self._download,
        )

    async def _download(self, url: str) -> bytes:
        return await self._run(fetch_plan(url), lambda a: parse_image_bytes(a.status, a.headers, a.body))

    async def generate_audio(self, text: str, *, voice: str = spec_values.DEFAULT_VOICE) -> AudioResult:
        """Speak `text` (MP3) with one of the spec's voices."""
        plan, parse = speech_call(self._settings, text, voice=voice)
        return await self._run(plan, parse)

    async def status(self) -> ServiceStatus:
        """`GET /status`: whether the service is up."""
        plan, parse = status_call()
        return await self._run(plan, parse)


class AsyncConversation(ConversationState):
    """`Conversation` for `AsyncClient`: `await chat.send(...)`, `async for` over `chat.stream(...)`."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        model: str | None,
        system: str | None,
        messages: Sequence[Mapping[str, Any]] | None,
        max_prompt_chars: int | None,
    ) -> None:
        super().__init__(model=model, system=system, messages=messages, max_prompt_chars=max_prompt_chars)
        self._client = client

    async def send(self, text: str, media: object = None) -> ChatResponse:
        """Send the next user message; returns the answer and records the exchange."""
        outgoing, dropped = self._history.outgoing(text)
        answer = await self._client.chat(outgoing, model=self.model, media=media)
        self._history.record(text, answer.text, dropped)
        return answer

    def stream(self, text: str, media: object = None) -> AsyncStream:
        """Like `send()`, as an `AsyncStream`; the exchange is recorded when it completes."""
        outgoing, dropped = self._history.outgoing(text)
        plan, _ = chat_call(self._client._settings, outgoing, model=self.model, media=media)
        return self._client._stream(plan, lambda reply: self._history.record(text, reply, dropped))
