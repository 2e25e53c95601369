"""`Client`: the synchronous shell. It performs the flows' actions with a blocking httpx
client; everything else (checks, retries, decoding, errors) lives in the shared core."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from ._defaults import DEFAULT_MAX_CONCURRENCY, DEFAULT_SLOT_TIMEOUT, DEFAULT_TIMEOUT
from ._generated import spec_values
from ._lazy import deferred_imports
from ._shells import ClientView, ConversationState, StreamState, checked_transport_args, load_core

if TYPE_CHECKING:
    from ._answers import parse_image_bytes
    from ._calls import chat_call, image_call, speech_call, status_call, text_call
    from ._flow import Answer, CallState, Discard, Emit, Failure, Opened, Read, Send, Sleep, call_flow, fetch_plan
    from ._media import ImageUpload
    from ._plans import ImageOptions, MessagesInput, RequestPlan, TextOptions
    from ._pools import SyncPool
    from ._results import AudioResult, ChatResponse, ImageResult, ServiceStatus, TextResponse
    from ._retry import RetryPolicy
    from ._settings import Settings, TimeoutArg, classify_failure, make_settings, slot_wait_failure

# The core loads with the first Client, not with `from dynaspark_sdk import Client` (see `_lazy`).
_load = deferred_imports(
    globals(),
    {
        "._answers": ("parse_image_bytes",),
        "._calls": (
            "chat_call",
            "image_call",
            "speech_call",
            "status_call",
            "text_call",
        ),
        "._flow": (
            "Answer",
            "CallState",
            "Discard",
            "Emit",
            "Failure",
            "Opened",
            "Read",
            "Send",
            "Sleep",
            "call_flow",
            "fetch_plan",
        ),
        "._media": ("ImageUpload",),
        "._plans": (
            "ImageOptions",
            "MessagesInput",
            "RequestPlan",
            "TextOptions",
        ),
        "._pools": ("SyncPool",),
        "._results": (
            "AudioResult",
            "ChatResponse",
            "ImageResult",
            "ServiceStatus",
            "TextResponse",
        ),
        "._retry": ("RetryPolicy",),
        "._settings": (
            "Settings",
            "TimeoutArg",
            "classify_failure",
            "make_settings",
            "slot_wait_failure",
        ),
    },
)

__all__ = ["Client", "Conversation", "Stream"]

T = TypeVar("T")
Flow = Generator[Any, Any, T]


class _Runner:
    """Performs actions with one blocking httpx client; holds at most one open answer."""

    def __init__(self, pool: SyncPool, settings: Settings, ensure_open: Callable[[], None]) -> None:
        self._ensure_open = ensure_open
        self._http = pool.http
        self._slots = pool.slots
        self._max_concurrency = pool.max_concurrency
        self._slot_timeout = pool.slot_timeout
        self._settings = settings
        self._response: httpx.Response | None = None
        self._chunks: Generator[bytes, None, None] | None = None

    def perform(self, action: object) -> object:
        if isinstance(action, Read):
            return self._read()
        if isinstance(action, Send):
            return self._send(action)
        if isinstance(action, Sleep):
            time.sleep(action.seconds)
            return None
        if isinstance(action, Discard):
            self.discard()
            return None
        raise TypeError(f"unknown action {action!r}")

    def _send(self, action: Send) -> Answer | Opened | Failure:
        self.discard()
        self._ensure_open()  # a stream made before its client was closed, read after
        if action.stream or self._slots is None:  # a stream could hold its slot for minutes
            return self._exchange(action)
        wait = self._slot_timeout
        if not self._slots.acquire(timeout=wait):
            return slot_wait_failure(wait, self._max_concurrency)
        try:
            return self._exchange(action)
        finally:
            self._slots.release()

    def _exchange(self, action: Send) -> Answer | Opened | Failure:
        upload = action.plan.upload
        payload = upload.open() if isinstance(upload, ImageUpload) else None
        try:
            request = self._http.build_request(**self._settings.request_args(action.plan, payload))
            try:
                response = self._http.send(request, stream=True)
            except httpx.HTTPError as exc:
                return classify_failure(exc)
        finally:
            if payload is not None:
                payload.close()
        if action.stream:
            self._response = response
            self._chunks = response.iter_bytes()  # type: ignore[assignment]
            return Opened(response.status_code, response.headers)
        try:
            body = response.read()
        except httpx.HTTPError as exc:
            return classify_failure(exc, after_bytes=True)
        finally:
            response.close()
        return Answer(response.status_code, response.headers, body)

    def _read(self) -> bytes | Failure:
        assert self._chunks is not None, "Read without an open answer"
        try:
            return next(self._chunks, b"")
        except httpx.HTTPError as exc:
            return classify_failure(exc, after_bytes=True)

    def discard(self) -> None:
        if self._response is not None:
            response, chunks = self._response, self._chunks
            self._response = self._chunks = None
            if chunks is not None:
                chunks.close()
            response.close()

    def run(self, flow: Flow[T]) -> T:
        """Drive a flow that emits nothing to its result."""
        outcome: object = None
        try:
            while True:
                outcome = self.perform(flow.send(outcome))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()
            self.discard()


class Stream(StreamState, Iterator[str]):
    """Text as it arrives. An iterator and a context manager; the connection is released
    however iteration ends (exhausted, broken off, an error, or `close()`).

    After iteration, `.text` holds the whole answer. `.headers`, `.status_code` and
    `.rate_limit` describe the answer once it has started.

        with client.stream_text("Tell me a story") as stream:
            for piece in stream:
                print(piece, end="", flush=True)
        print(stream.text)
    """

    def __init__(
        self,
        runner: _Runner,
        plan: RequestPlan,
        settings: Settings,
        state: CallState,
        on_complete: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(plan, settings, state, on_complete)
        self._runner = runner

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> str:
        flow = self._flow
        if flow is None:
            raise StopIteration
        try:
            action = flow.send(self._outcome)
            while not isinstance(action, Emit):
                self._outcome = self._runner.perform(action)
                action = flow.send(self._outcome)
        except StopIteration:
            self._finish()
            self._completed()
            raise
        except BaseException:
            self._finish()
            raise
        self._outcome = None
        return action.text

    def _finish(self) -> None:
        self._detach_flow()
        self._runner.discard()

    def close(self) -> None:
        """Stop and release the connection (idempotent)."""
        self._finish()

    def until_done(self) -> str:
        """Read to the end and return the whole text."""
        for _ in self:
            pass
        return self.text

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Client(ClientView):
    """The synchronous Dynaspark client.

    One connection pool per client, reused by every call; use it as a context manager or
    call `close()`. Settings default to the environment: `DYNASPARK_API_KEY` (no key is sent
    when there is none) and `DYNASPARK_BASE_URL`.

    Chat goes to the endpoint's newest known path; when the service answers 404 or 405 there,
    the client tries the previous path once and keeps using whichever answers (see
    `chat_path`). `chat_path="/generate_response"` (or any path) pins it instead.

        from dynaspark_sdk import Client

        with Client() as client:
            print(client.chat("Hello!").text)
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: TimeoutArg = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        proxy: str | None = None,
        http_client: httpx.Client | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_media_bytes: int | None = None,
        on_rate_limit: str = "wait",
        retry_policy: RetryPolicy | None = None,
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        slot_timeout: float | None = DEFAULT_SLOT_TIMEOUT,
        chat_path: str | None = None,
    ) -> None:
        load_core()
        _load()
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
        proxy = checked_transport_args(http_client, httpx.Client, proxy, "Client")
        self._pool: SyncPool = SyncPool(
            http_client,
            timeout=settings.timeout,
            proxy=proxy,
            max_concurrency=max_concurrency,
            slot_timeout=slot_timeout,
        )
        self._start(self._pool, settings)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection pool (when this client made it). Safe to call twice."""
        if not self._closed:
            self._closed = True
            if self._owns_pool:
                self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _runner(self) -> _Runner:
        self._ensure_open()
        return _Runner(self._pool, self._settings, self._ensure_open)

    def _ensure_open(self) -> None:
        self._check_usable(self._pool.closed)

    def _run(self, plan: RequestPlan, parse: Callable[[Answer], T]) -> T:
        runner = self._runner()
        return runner.run(call_flow(plan, parse, self._settings.flow, self._state))

    def _stream(self, plan: RequestPlan, on_complete: Callable[[str], None] | None = None) -> Stream:
        return Stream(self._runner(), plan, self._settings, self._state, on_complete)

    # ------------------------------------------------------------------ chat

    def chat(
        self, messages: MessagesInput, *, model: str | None = None, media: object = None, resolve_alias: bool = True
    ) -> ChatResponse:
        """Send a prompt or a conversation to the chat endpoint and return the answer.

        `messages` is a string or a list of {"role", "content"} dicts (content a string or
        OpenAI-style parts; `image_url` parts become the image). `media` is one image: bytes,
        a path, an open binary file, a data: URI, an http(s) URL, a PIL image, or
        (data, filename) pairs as gpt4free takes them. `model` (default: the spec's default)
        goes out as its alias target unless `resolve_alias=False`, which sends a listed
        name exactly as given.
        """
        plan, parse = chat_call(self._settings, messages, model=model, media=media, resolve_alias=resolve_alias)
        return self._run(plan, parse)

    def chat_stream(
        self, messages: MessagesInput, *, model: str | None = None, media: object = None, resolve_alias: bool = True
    ) -> Stream:
        """Like `chat()`, as a `Stream` of text."""
        plan, _ = chat_call(self._settings, messages, model=model, media=media, resolve_alias=resolve_alias)
        return self._stream(plan)

    def conversation(
        self,
        *,
        model: str | None = None,
        system: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        max_prompt_chars: int | None = None,
    ) -> Conversation:
        """A conversation whose history this client keeps and folds into each prompt."""
        return Conversation(self, model=model, system=system, messages=messages, max_prompt_chars=max_prompt_chars)

    # ------------------------------------------------------------------ public API

    def generate_text(
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
        """Generate text with the public API (`GET /api/generate_response`).

        System messages in a message list go to `system`; the rest is folded as for chat.
        Every range is checked against the spec before anything is sent. `extra_query` adds
        parameters the spec does not list; one it lists (`model`, `temperature`, ...) is
        refused, given or not, since only its argument is checked.
        """
        options = TextOptions(
            model, system, temperature, top_p, presence_penalty, frequency_penalty, seed, json, private, referrer,
            extra_query,
        )  # fmt: skip
        plan, parse = text_call(self._settings, prompt_or_messages, options, stream=False)
        return self._run(plan, parse)

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
    ) -> Stream:
        """Like `generate_text()`, sent with `stream=true`; returns a `Stream` of text."""
        options = TextOptions(
            model, system, temperature, top_p, presence_penalty, frequency_penalty, seed, json, private, referrer,
            extra_query,
        )  # fmt: skip
        plan, _ = text_call(self._settings, prompt_or_messages, options, stream=True)
        return self._stream(plan)

    def generate_image(
        self,
        prompt: str,
        *,
        width: int | None = None,
        height: int | None = None,
        model: str | None = None,
        nologo: bool | None = None,
        seed: int | None = None,
        watermark: str | None = None,
    ) -> ImageResult:
        """Generate an image (`GET /api/generate_image`); the result can download and save it."""
        plan, parse = image_call(self._settings, prompt, ImageOptions(width, height, model, nologo, seed, watermark))
        url, used_model, used_seed, headers, rate_limit = self._run(plan, parse)
        return ImageResult(
            url=url,
            model=used_model,
            seed=used_seed,
            headers=headers,
            rate_limit=rate_limit,
            fetch=self._download,
        )

    def _download(self, url: str) -> bytes:
        return self._run(fetch_plan(url), lambda a: parse_image_bytes(a.status, a.headers, a.body))

    def generate_audio(self, text: str, *, voice: str = spec_values.DEFAULT_VOICE) -> AudioResult:
        """Speak `text` (MP3) with one of the spec's voices."""
        plan, parse = speech_call(self._settings, text, voice=voice)
        return self._run(plan, parse)

    def status(self) -> ServiceStatus:
        """`GET /status`: whether the service is up."""
        plan, parse = status_call()
        return self._run(plan, parse)


class Conversation(ConversationState):
    """A chat whose history the client keeps (the service keeps none).

        chat = client.conversation(system="You are terse.")
        chat.send("Name a colour.")
        chat.send("Another one?")        # the first exchange is folded into this prompt
        saved = json.dumps(chat.messages)

    The assistant's reply joins `messages` only once it is complete; a failed or broken-off
    call leaves the history as it was.
    """

    def __init__(
        self,
        client: Client,
        *,
        model: str | None,
        system: str | None,
        messages: Sequence[Mapping[str, Any]] | None,
        max_prompt_chars: int | None,
    ) -> None:
        super().__init__(model=model, system=system, messages=messages, max_prompt_chars=max_prompt_chars)
        self._client = client

    def send(self, text: str, media: object = None) -> ChatResponse:
        """Send the next user message; returns the answer and records the exchange."""
        outgoing, dropped = self._history.outgoing(text)
        answer = self._client.chat(outgoing, model=self.model, media=media)
        self._history.record(text, answer.text, dropped)
        return answer

    def stream(self, text: str, media: object = None) -> Stream:
        """Like `send()`, as a `Stream`; the exchange is recorded when the stream completes."""
        outgoing, dropped = self._history.outgoing(text)
        plan, _ = chat_call(self._client._settings, outgoing, model=self.model, media=media)
        return self._client._stream(plan, lambda reply: self._history.record(text, reply, dropped))
