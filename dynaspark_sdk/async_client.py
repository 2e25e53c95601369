"""`AsyncClient`: the asynchronous shell (on asyncio and trio). It performs
the flows' actions with an httpx.AsyncClient; everything else (checks, retries, decoding,
errors) lives in the shared core.

This file is the source of both shells: scripts/unasync.py writes `client.py` from it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from . import _event_loops
from ._conversation import History
from ._defaults import DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_REPAIRS, DEFAULT_SLOT_TIMEOUT, DEFAULT_TIMEOUT
from ._flow import Answer, ClientState, Discard, Emit, Failure, Opened, Read, Resolve, Send, Sleep, call_flow
from ._folding import normalize_messages
from ._generated import spec_values
from ._media import ImageUpload, RemoteImage
from ._media_files import prepare_media
from ._operations.chat import ChatDraft, chat_draft
from ._operations.download import download_call
from ._operations.image import ImageOptions, image_call
from ._operations.speech import speech_call
from ._operations.status import status_call
from ._operations.text import TextOptions, text_call
from ._plans import MessagesInput, RequestPlan
from ._pools import AsyncPool
from ._results import AsyncImageResult, AudioResult, ChatResponse, ServiceStatus, TextResponse
from ._retry import RetryPolicy
from ._secrets import install_log_redaction
from ._settings import Settings, TimeoutArg, make_settings
from ._shells import (
    BaseClient,
    ConversationState,
    PendingPlan,
    StreamState,
    checked_transport_args,
    checked_use_aiohttp,
)
from ._structured import StructuredRequest, StructuredTurns, structured_request
from ._structured_flow import StructuredStream, structured_answer
from ._transport import classify_failure, import_request_builders, slot_wait_failure

# The async shell loads the core, httpcore and the request builders as it is imported (an
# application imports it at start-up), so that a client made later, on a running event loop,
# imports nothing there. The sync shell written from this file imports the core with its
# first Client instead (scripts/unasync.py defers the imports above that are not light).
import_request_builders()

__all__ = ["AsyncClient", "AsyncConversation", "AsyncStream"]

T = TypeVar("T")
Flow = Generator[Any, Any, T]


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
            await _event_loops.sleep(action.seconds)
            return None
        if isinstance(action, Discard):
            await self.discard()
            return None
        if isinstance(action, Resolve):
            return await self._pool.resolve(action.host, action.port)
        raise TypeError(f"unknown action {action!r}")

    async def _send(self, action: Send) -> Answer | Opened | Failure:
        if self._response is not None:
            await self.discard()
        self._ensure_open()  # a stream made before its client was closed, read after
        if not action.takes_slot:
            return await self._exchange(action)
        async with self._pool.slot() as held:
            if not held:
                return slot_wait_failure(self._pool.slot_timeout, self._pool.max_concurrency)
            return await self._exchange(action)

    async def _exchange(self, action: Send) -> Answer | Opened | Failure:
        upload = action.plan.upload
        http = await self._pool.http()
        payload = upload.open() if isinstance(upload, ImageUpload) else None
        try:
            request = http.build_request(**self._settings.request_args(action.plan, payload))
            try:
                follow = action.plan.follow_redirects
                if follow is None:
                    response = await http.send(request, stream=True)
                else:
                    response = await http.send(request, stream=True, follow_redirects=follow)
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
        self._ensure_open()  # the client was closed since the stream began: its connection is gone
        try:
            return await anext(self._chunks, b"")
        except httpx.HTTPError as exc:
            self._ensure_open()  # ... or while this read waited, which is why it failed
            return classify_failure(exc, after_bytes=True)

    async def discard(self) -> None:
        if self._response is not None:
            response, chunks = self._response, self._chunks
            self._response = self._chunks = None
            await self._pool.close_answer(response, chunks)

    async def run_blocking(self, function: Callable[[], T]) -> T:
        """Blocking work (reading an image file); the async client runs it in a worker thread."""
        return await self._pool.run_blocking(function)

    async def run(self, flow: Flow[T]) -> T:
        """Drive a flow that emits nothing to its result."""
        outcome: object = None
        try:
            while True:
                action = flow.send(outcome)
                # A request is sent straight from here: one coroutine less on its way, on every
                # resumption while it waits for the network.
                outcome = await (self._send(action) if type(action) is Send else self.perform(action))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()
            if self._response is not None:
                await self.discard()


class _Download:
    """An image result's `fetch`: downloads through its client. It pickles (with the result,
    into a worker process, say) as one without a client, which downloads through a
    short-lived default `AsyncClient`."""

    def __init__(self, client: AsyncClient | None) -> None:
        self._client = client

    async def __call__(self, url: str) -> bytes:
        if self._client is not None:
            return await self._client._download(url)
        async with AsyncClient() as client:
            return await client._download(url)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Download, (None,))


class AsyncStream(StreamState, AsyncIterator[str]):
    """Text as it arrives, for `async for`. An async iterator and an async context manager;
    the connection is released however iteration ends (exhausted, broken off, an error, or
    `aclose()`).

    After iteration, `.text` holds the whole answer. `.headers`, `.status_code` and
    `.rate_limit` describe the answer once it has started. A stream with `tools=` or
    `response_format=` hands over plain text as it comes, holds a tool call or a JSON answer
    until it is complete (then `.tool_calls` or `.parsed` hold it), and repairs a wrong one.

        async with client.stream_text("Tell me a story") as stream:
            async for piece in stream:
                print(piece, end="", flush=True)
        print(stream.text)
    """

    def __init__(
        self,
        runner: _AsyncRunner,
        plan: RequestPlan | PendingPlan,
        settings: Settings,
        state: ClientState,
        on_complete: Callable[[str], None] | None = None,
        structured: StructuredStream | None = None,
    ) -> None:
        super().__init__(plan, settings, state, on_complete, structured)
        self._runner = runner

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        if self._pending is not None:
            make, self._pending = self._pending, None
            self._begin(await self._runner.run_blocking(make))
        flow = self._flow
        if flow is None:
            self._check_not_closed()
            raise StopAsyncIteration
        runner = self._runner
        try:
            action = flow.send(self._outcome)
            while not isinstance(action, Emit):
                # A read or a request is performed straight from here: one coroutine less.
                kind = type(action)
                if kind is Read:
                    self._outcome = await runner._read()
                elif kind is Send:
                    self._outcome = await runner._send(action)
                elif kind is Discard:
                    await runner.discard()
                    self._outcome = None
                else:
                    self._outcome = await runner.perform(action)
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


class AsyncClient(BaseClient):
    """The asynchronous Dynaspark client (on asyncio and trio).

    One connection pool per client, reused by every call; use it as an async context manager
    or call `aclose()`. Settings default to the environment: `DYNASPARK_API_KEY` (no key is
    sent when there is none) and `DYNASPARK_BASE_URL`.

    Chat goes to the endpoint's newest known path; when the service answers 404 or 405 there,
    the client tries the previous path once and keeps using whichever answers (see
    `chat_path`). `chat_path="/generate_response"` (or any path) pins it instead.

    `private_image_urls=False` fetches image URLs (an `image_url` part, or `media=` as a URL)
    only when their host is, and resolves only to, public addresses, checked at every redirect
    (at most 3) and connected to as checked: for a server that fetches what its callers send,
    as the gateway does. By default the client fetches whatever its caller asks for.

    `use_aiohttp=True` sends through aiohttp (`AiohttpTransport`, the `aiohttp` extra) on
    asyncio loops, about half the client CPU per call of httpx's own transport; trio loops
    keep httpx's. It cannot be combined with `proxy` or `http_client`.

        from dynaspark_sdk import AsyncClient

        async with AsyncClient() as client:
            answer = await client.chat("Hello!")
            print(answer.text)
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
        use_aiohttp: bool = False,
        private_image_urls: bool = True,
    ) -> None:
        install_log_redaction()
        settings = make_settings(
            environ=os.environ,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            max_media_bytes=max_media_bytes,
            on_rate_limit=on_rate_limit,
            retry_policy=retry_policy,
            chat_path=chat_path,
            private_image_urls=private_image_urls,
        )
        proxy = checked_transport_args(http_client, httpx.AsyncClient, proxy, "AsyncClient")
        self._pool: AsyncPool = AsyncPool(
            http_client,
            timeout=settings.timeout,
            proxy=proxy,
            max_concurrency=max_concurrency,
            slot_timeout=slot_timeout,
            use_aiohttp=checked_use_aiohttp(use_aiohttp, http_client, proxy),
        )
        self._start(self._pool, settings)

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        """Close the connection pool (when this client made it). Safe to call twice."""
        if not self._closed:
            self._closed = True
            if self._owns_pool:
                await self._pool.aclose()

    async def close(self) -> None:
        """The same as `aclose()`: `await client.close()`, as openai-python's async client spells it."""
        await self.aclose()

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
        runner = self._runner()
        return await runner.run(call_flow(plan, parse, self._settings.flow, self._state))

    def _stream(
        self,
        plan: RequestPlan | PendingPlan,
        on_complete: Callable[[str], None] | None = None,
        structured: StructuredStream | None = None,
    ) -> AsyncStream:
        return AsyncStream(self._runner(), plan, self._settings, self._state, on_complete, structured)

    async def _prepare_media(self, media: object) -> ImageUpload | RemoteImage | None:
        """The image given as `media=`, checked. Reading a path, a file or a stream blocks, so
        the async client does it in a worker thread."""
        if media is None:
            return None
        return await self._pool.run_blocking(prepare_media, media, max_bytes=self._settings.max_media_bytes)

    def _chat_stream(
        self,
        draft: ChatDraft,
        media: object,
        on_complete: Callable[[str], None] | None = None,
        request: StructuredRequest | None = None,
        messages: MessagesInput = "",
    ) -> AsyncStream:
        """A chat stream. An image given as `media=` is prepared when the stream starts (the
        async client reads it in a worker thread), so refusals of it come from iteration.
        With a structured `request`, its turns start from `messages` (see `StructuredStream`)."""
        max_bytes = self._settings.max_media_bytes
        if request is None:
            if media is None:
                return self._stream(draft.plan(None), on_complete)
            pending = PendingPlan(draft.model, lambda: draft.plan(prepare_media(media, max_bytes=max_bytes)))
            return self._stream(pending, on_complete)
        prepared: list[ImageUpload | RemoteImage | None] = []

        def plan_for(turn: list[dict[str, Any]]) -> RequestPlan:
            if not prepared:  # once, by the first turn (in a worker thread when there is an image)
                prepared.append(None if media is None else prepare_media(media, max_bytes=max_bytes))
            return chat_draft(self._settings, turn, model=draft.model, resolve_alias=False).plan(prepared[0])

        structured = StructuredStream(request, normalize_messages(messages), plan_for)
        first: RequestPlan | PendingPlan = PendingPlan(draft.model, lambda: plan_for(structured.turns.messages))
        if media is None:
            first = plan_for(structured.turns.messages)
        return self._stream(first, on_complete, structured)

    # ------------------------------------------------------------------ chat

    async def chat(
        self,
        messages: MessagesInput,
        *,
        model: str | None = None,
        media: object = None,
        resolve_alias: bool = True,
        response_format: object = None,
        tools: Sequence[object] | None = None,
        tool_choice: object = None,
        max_repairs: int = DEFAULT_MAX_REPAIRS,
        parallel_tool_calls: bool = True,
    ) -> ChatResponse:
        """Send a prompt or a conversation to the chat endpoint and return the answer.

        `messages` is a string or a list of {"role", "content"} dicts (content a string or
        OpenAI-style parts; `image_url` parts become the image). `media` is one image: bytes,
        a path, an open binary file, a data: URI, an http(s) URL, a PIL image, or
        (data, filename) pairs as gpt4free takes them. `model` (default: the spec's default)
        goes out as its alias target unless `resolve_alias=False`, which sends a listed
        name exactly as given.

        Tools and structured output (prompted: the service has neither; see the README):
        `tools` is a list of OpenAI function-tool dicts or Python functions, `tool_choice`
        "auto" (default), "none", "required" or a function's name; the answer's `tool_calls`
        holds the calls. `response_format` is a pydantic model class, a dataclass, a TypedDict
        or a JSON Schema dict; the answer's `parsed` holds the validated value. A wrong answer
        gets `max_repairs` repair turns quoting the error, then raises `StructuredOutputError`.
        `parallel_tool_calls=False` asks for one call at most.
        Messages may hold OpenAI's tool turns (an assistant's `tool_calls`, `role: "tool"`
        results): they are folded into the prompt.
        """
        draft = chat_draft(self._settings, messages, model=model, resolve_alias=resolve_alias)
        request = structured_request(
            response_format=response_format,
            tools=tools,
            tool_choice=tool_choice,
            max_repairs=max_repairs,
            parallel_tool_calls=parallel_tool_calls,
        )
        image = await self._prepare_media(media)
        if request is None:
            plan, parse = draft.call(image)
            # As `_run` does, without its coroutine: one layer less on every resumption.
            return await self._runner().run(call_flow(plan, parse, self._settings.flow, self._state))
        turns = StructuredTurns(request, normalize_messages(messages))
        while True:
            plan, parse = chat_draft(self._settings, turns.messages, model=draft.model, resolve_alias=False).call(image)
            answer = await self._run(plan, parse)
            final = turns.take(answer.text)
            if final is not None:
                return structured_answer(answer, final)

    def stream_chat(
        self,
        messages: MessagesInput,
        *,
        model: str | None = None,
        media: object = None,
        resolve_alias: bool = True,
        response_format: object = None,
        tools: Sequence[object] | None = None,
        tool_choice: object = None,
        max_repairs: int = DEFAULT_MAX_REPAIRS,
        parallel_tool_calls: bool = True,
    ) -> AsyncStream:
        """Like `chat()`, as a stream of text (`AsyncStream`); the request starts on iteration.

        The model and the messages are checked here, an image given as `media=` when the
        stream starts (a refused one raises from the first step of iteration).
        `chat_stream()` is the same method under its earlier name. With `tools` or
        `response_format`, a call or a JSON answer is held until complete (see `AsyncStream`).
        """
        draft = chat_draft(self._settings, messages, model=model, resolve_alias=resolve_alias)
        request = structured_request(
            response_format=response_format,
            tools=tools,
            tool_choice=tool_choice,
            max_repairs=max_repairs,
            parallel_tool_calls=parallel_tool_calls,
        )
        return self._chat_stream(draft, media, request=request, messages=messages)

    #: The earlier name of `stream_chat()`, kept as an alias (verb first, like `stream_text()`).
    chat_stream = stream_chat

    def conversation(
        self,
        *,
        model: str | None = None,
        system: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        max_prompt_chars: int | None = None,
    ) -> AsyncConversation:
        """A conversation whose history this client keeps and folds into each prompt."""
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
        response_format: object = None,
        tools: Sequence[object] | None = None,
        tool_choice: object = None,
        max_repairs: int = DEFAULT_MAX_REPAIRS,
        parallel_tool_calls: bool = True,
    ) -> TextResponse:
        """Generate text with the public API (`GET /api/generate_response`).

        System messages in a message list go to `system`; the rest is folded as for chat.
        Every range is checked against the spec before anything is sent. `extra_query` adds
        parameters the spec does not list; one it lists (`model`, `temperature`, ...) is
        refused, given or not, since only its argument is checked.

        `tools`, `tool_choice`, `response_format` and `max_repairs` work as in `chat()`; when
        every acceptable answer is JSON, the request also asks for the API's `json` mode.
        """
        request = structured_request(
            response_format=response_format,
            tools=tools,
            tool_choice=tool_choice,
            max_repairs=max_repairs,
            parallel_tool_calls=parallel_tool_calls,
        )
        options = TextOptions(
            model=model,
            system=system,
            temperature=temperature,
            top_p=top_p,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
            seed=seed,
            json=json or (request is not None and request.wants_json),
            private=private,
            referrer=referrer,
            extra_query=extra_query,
        )
        plan, parse = text_call(self._settings, prompt_or_messages, options, stream=False)
        if request is None:
            # As `_run` does, without its coroutine: one layer less on every resumption.
            return await self._runner().run(call_flow(plan, parse, self._settings.flow, self._state))
        turns = StructuredTurns(request, normalize_messages(prompt_or_messages))
        while True:
            plan, parse = text_call(self._settings, turns.messages, options, stream=False)
            answer = await self._run(plan, parse)
            final = turns.take(answer.text)
            if final is not None:
                return structured_answer(answer, final)

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
        response_format: object = None,
        tools: Sequence[object] | None = None,
        tool_choice: object = None,
        max_repairs: int = DEFAULT_MAX_REPAIRS,
        parallel_tool_calls: bool = True,
    ) -> AsyncStream:
        """Like `generate_text()`, sent with `stream=true`; returns a stream of text (`AsyncStream`)."""
        request = structured_request(
            response_format=response_format,
            tools=tools,
            tool_choice=tool_choice,
            max_repairs=max_repairs,
            parallel_tool_calls=parallel_tool_calls,
        )
        options = TextOptions(
            model=model,
            system=system,
            temperature=temperature,
            top_p=top_p,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
            seed=seed,
            json=json or (request is not None and request.wants_json),
            private=private,
            referrer=referrer,
            extra_query=extra_query,
        )
        plan, _ = text_call(self._settings, prompt_or_messages, options, stream=True)
        if request is None:
            return self._stream(plan)

        def plan_for(turn: list[dict[str, Any]]) -> RequestPlan:
            return text_call(self._settings, turn, options, stream=True)[0]

        structured = StructuredStream(request, normalize_messages(prompt_or_messages), plan_for)
        return self._stream(plan_for(structured.turns.messages), structured=structured)

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
        """Generate an image (`GET /api/generate_image`); the result can download and save it."""
        options = ImageOptions(width=width, height=height, model=model, nologo=nologo, seed=seed, watermark=watermark)
        plan, parse = image_call(self._settings, prompt, options, result=AsyncImageResult, fetch=_Download(self))
        return await self._run(plan, parse)

    async def _download(self, url: str) -> bytes:
        plan, parse = download_call(url)
        return await self._run(plan, parse)

    async def generate_audio(self, text: str, *, voice: str = spec_values.DEFAULT_VOICE) -> AudioResult:
        """Speak `text` (MP3) with one of the spec's voices."""
        plan, parse = speech_call(self._settings, text, voice=voice)
        return await self._run(plan, parse)

    async def status(self) -> ServiceStatus:
        """`GET /status`: whether the service is up."""
        plan, parse = status_call()
        return await self._run(plan, parse)


class AsyncConversation(ConversationState):
    """A chat whose history the client keeps (the service keeps none).

        chat = client.conversation(system="You are terse.")
        await chat.send("Name a colour.")
        await chat.send("Another one?")  # the first exchange is folded into this prompt
        saved = json.dumps(chat.messages)

    The assistant's reply joins `messages` only once it is complete; a failed or broken-off
    call leaves the history as it was.
    """

    def __init__(
        self,
        client: AsyncClient,
        *,
        model: str | None,
        system: str | None,
        messages: Sequence[Mapping[str, Any]] | None,
        max_prompt_chars: int | None,
    ) -> None:
        super().__init__(model, History(system=system, messages=messages, max_prompt_chars=max_prompt_chars))
        self._client = client

    async def send(
        self,
        text: str | None = None,
        media: object = None,
        *,
        response_format: object = None,
        tools: Sequence[object] | None = None,
        tool_choice: object = None,
        max_repairs: int = DEFAULT_MAX_REPAIRS,
    ) -> ChatResponse:
        """Send the next user message; returns the answer and records the exchange.

        `tools`, `tool_choice`, `response_format` and `max_repairs` work as in `chat()`. An
        answer with `tool_calls` is recorded as OpenAI records it; give each call's result with
        `add_tool_result()`, then `send()` without a message for the model's next answer.
        """
        outgoing, dropped = self._history.outgoing(text)
        answer = await self._client.chat(
            outgoing,
            model=self.model,
            media=media,
            response_format=response_format,
            tools=tools,
            tool_choice=tool_choice,
            max_repairs=max_repairs,
        )
        self._history.record(text, answer.text, dropped, answer.tool_calls)
        return answer

    def stream(
        self,
        text: str | None = None,
        media: object = None,
        *,
        response_format: object = None,
        tools: Sequence[object] | None = None,
        tool_choice: object = None,
        max_repairs: int = DEFAULT_MAX_REPAIRS,
    ) -> AsyncStream:
        """Like `send()`, as a stream (`AsyncStream`); the exchange is recorded when it completes."""
        outgoing, dropped = self._history.outgoing(text)
        draft = chat_draft(self._client._settings, outgoing, model=self.model)
        request = structured_request(
            response_format=response_format, tools=tools, tool_choice=tool_choice, max_repairs=max_repairs
        )

        def record(reply: str) -> None:
            self._history.record(text, reply, dropped, stream.tool_calls)

        stream = self._client._chat_stream(draft, media, record, request=request, messages=outgoing)
        return stream
