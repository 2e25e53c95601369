"""The gateway's calls to the service, shared by `/v1/chat/completions` and `/v1/responses`:
a `ChatPlan` answered whole (`Upstream.answer`) or as a stream of text (`Upstream.open_stream`),
cut at its stop sequences, every wait on the service ended by a shutdown (`InFlight`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Protocol

import anyio
import attrs

from dynaspark_sdk import AsyncClient, AsyncStream, DynasparkError, RateLimitError, ToolCall

from ._shapes.chat_completions import ChatPlan
from ._shapes.errors import GatewayError, error_from_sdk, is_local_rate_limit
from ._shapes.stop import StopCutter, cut

__all__ = ["Answer", "InFlight", "TextStream", "Upstream", "shutting_down"]


def shutting_down() -> GatewayError:
    """The 503 of a request still waiting on the service when the server stops."""
    return GatewayError(503, "the gateway is shutting down; try again later", type="server_error", code="shutting_down")


class _Guard:
    """`InFlight.guard()` off asyncio (trio): an anyio cancel scope, as a plain context manager
    (a generator-based one costs more per call)."""

    __slots__ = ("_scope", "_scopes")

    def __init__(self, scopes: set[Any], ended: bool) -> None:
        self._scopes = scopes
        self._scope = anyio.CancelScope()
        if ended:
            self._scope.cancel()

    def __enter__(self) -> anyio.CancelScope:
        self._scopes.add(self)
        return self._scope.__enter__()

    def __exit__(self, *exc_info: Any) -> bool:
        try:
            return bool(self._scope.__exit__(*exc_info))
        finally:
            self._scopes.discard(self)

    def cancel(self) -> None:
        self._scope.cancel()


class _AsyncioGuard:
    """`InFlight.guard()` on asyncio: the task itself is cancelled by `end_all()`, and that
    cancellation (only that one: `Task.uncancel`, as `asyncio.timeout` does) is caught at the
    end of the block. An anyio cancel scope costs several times as much per call, and every
    call of the gateway passes one or two of these."""

    __slots__ = ("_ending", "_scopes", "_task", "cancelled_caught")

    def __init__(self, scopes: set[Any], ended: bool) -> None:
        self._scopes = scopes
        self._ending = ended
        self.cancelled_caught = False

    def __enter__(self) -> _AsyncioGuard:
        task = asyncio.current_task()
        assert task is not None, "an upstream wait outside a task"
        self._task = task
        self._scopes.add(self)
        if self._ending:
            task.cancel()
        return self

    def cancel(self) -> None:
        if not self._ending:
            self._ending = True
            self._task.cancel()

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> bool:
        self._scopes.discard(self)
        if not self._ending:
            return False
        # Our cancellation is spent (delivered or not); another one still stands.
        if self._task.uncancel() == 0 and exc_type is asyncio.CancelledError:
            self.cancelled_caught = True
            return True
        return False


class _Waiting(Protocol):
    """What a guard's block gives: whether the shutdown ended the wait."""

    @property
    def cancelled_caught(self) -> bool: ...


class _Guarding(Protocol):
    def __enter__(self) -> _Waiting: ...

    def __exit__(self, exc_type: type[BaseException] | None, *rest: Any) -> bool: ...


class InFlight:
    """The upstream waits of the requests in flight. A server that stops (`dynaspark gateway`
    on Ctrl-C, `serve_in_thread` at the end of its block) calls `end_all()` shortly before its
    grace period runs out: a request still waiting then answers 503 (a stream under way ends
    with an error event and `[DONE]`) instead of having its connection cut."""

    def __init__(self) -> None:
        self._scopes: set[Any] = set()
        self.ended = False

    def guard(self) -> _Guarding:
        """A cancel scope around one upstream wait (never around a `yield` to Starlette), ended
        by `end_all()`: check its `cancelled_caught` afterwards."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not asyncio's loop: trio's
            return _Guard(self._scopes, self.ended)
        return _AsyncioGuard(self._scopes, self.ended)

    def end_all(self) -> None:
        """End every upstream wait, now and from now on (on the server's event loop)."""
        self.ended = True
        for scope in list(self._scopes):
            scope.cancel()


@attrs.define  # not frozen: a frozen class's __init__ costs three times as much, on every call
class Answer:
    """A whole answer: its text (cut at the stop sequences) and the service's token counts
    (None where it counts none: the chat endpoint)."""

    text: str
    usage: Mapping[str, int] | None = None
    tool_calls: tuple[ToolCall, ...] = ()


def _prompt(messages: list[Any]) -> str | list[Any]:
    """What the SDK is handed for `messages` (checked already): the text of a lone user
    message, which is what the SDK would fold that message to after checking it again (most
    requests are one user message), else the messages."""
    if len(messages) == 1:
        only = messages[0]
        content = only["content"]
        if only["role"] == "user" and type(content) is str and len(only) == 2:
            return content
    return messages


def _answered_whole(content_type: str | None) -> bool:
    """Whether an answer of this Content-Type is one JSON document, whose text the SDK's
    stream hands over whole once the body has ended (an event stream's, or plain text's, it
    hands over piece by piece as they arrive)."""
    media = (content_type or "").partition(";")[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


class TextStream:
    """An answer under way, its first piece already in: `next()` gives each piece of text (cut
    at the stop sequences; never an empty one), then None. Raises the SDK's errors, or the 503
    of a shutdown; `aclose()` ends the upstream stream.

    `whole`: the service answered at once (a JSON answer, and no repair turn can follow: no
    tools, no response format), so every piece is in once the first is and `next()` never
    waits on it: the stream's events can go out in one write without holding any back."""

    def __init__(
        self, stream: AsyncStream, first: str | None, upstream: Upstream, stop: tuple[str, ...], whole: bool = False
    ) -> None:
        self.whole = whole
        self._stream = stream
        self._first = first
        self._upstream = upstream
        self._cutter = StopCutter(stop) if stop else None
        self._started = False
        self._done = first is None

    async def next(self) -> str | None:
        """The next piece of text, or None at the end."""
        while True:
            if not self._started:
                self._started = True
                piece = self._first
            elif self._done:
                return None
            elif self.whole:  # nothing to wait for: no cancel scope for a shutdown to end
                piece = await anext(self._stream, None)
            else:
                with self._upstream.in_flight.guard() as waiting:
                    piece = await anext(self._stream, None)
                if waiting.cancelled_caught:
                    raise shutting_down()
            if piece is None:
                self._done = True
                rest = self._cutter.finish() if self._cutter is not None else ""
                return rest or None
            if self._cutter is not None:
                piece = self._cutter.feed(piece)
                if self._cutter.stopped:
                    self._done = True
                    await self._stream.aclose()
                    return piece or None
            if piece:
                return piece

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The calls the model made (once the text has ended; a call is held until complete)."""
        return self._stream.tool_calls

    async def aclose(self) -> None:
        """End the upstream stream (idempotent)."""
        await self._stream.aclose()


class Upstream:
    """The one `AsyncClient` every request shares, with what the gateway learns from it: the
    last time the service confirmed the rate-limit window used up (for the 429s the client's
    own gate answers)."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.in_flight = InFlight()
        self.confirmed_at: float | None = None

    def error(self, error: DynasparkError | GatewayError) -> GatewayError:
        """The OpenAI-shaped answer for an SDK error (see `error_from_sdk`), or the gateway's own."""
        if isinstance(error, GatewayError):
            return error
        if isinstance(error, RateLimitError) and not is_local_rate_limit(error):
            self.confirmed_at = time.time()
        return error_from_sdk(error, self.confirmed_at)

    def _seen(self, remaining: int | None) -> None:
        if remaining == 0:
            self.confirmed_at = time.time()

    async def answer(self, plan: ChatPlan) -> Answer:
        """The whole answer to `plan` (a 503 when the server stops while it is awaited)."""
        answer: Answer | None = None
        with self.in_flight.guard() as waiting:
            if plan.text_model is None:
                chat = await self.client.chat(_prompt(plan.messages), model=plan.model, **plan.structured)
                self._seen(chat.rate_limit.remaining)
                answer = Answer(cut(chat.text, plan.stop) if plan.stop else chat.text, tool_calls=chat.tool_calls)
            else:
                result = await self.client.generate_text(
                    _prompt(plan.messages), model=plan.text_model, **plan.text_options, **plan.structured
                )
                self._seen(result.rate_limit.remaining)
                usage = result.usage
                counts = None
                if usage is not None:
                    counts = {
                        "prompt_tokens": usage.prompt_tokens,
                        "completion_tokens": usage.completion_tokens,
                        "total_tokens": usage.total_tokens,
                    }
                answer = Answer(cut(result.text, plan.stop) if plan.stop else result.text, counts, result.tool_calls)
        if waiting.cancelled_caught or answer is None:
            raise shutting_down()
        return answer

    async def open_stream(self, plan: ChatPlan) -> TextStream:
        """The answer to `plan` as a stream, once its first piece is in: until then a failure
        is still an error status (429, 502, 504); after it, the stream is under way."""
        stream: AsyncStream
        if plan.text_model is None:
            stream = self.client.stream_chat(_prompt(plan.messages), model=plan.model, **plan.structured)
        else:
            stream = self.client.stream_text(
                _prompt(plan.messages), model=plan.text_model, **plan.text_options, **plan.structured
            )
        try:
            with self.in_flight.guard() as waiting:
                first = await anext(stream, None)
        except BaseException:
            await stream.aclose()
            raise
        if waiting.cancelled_caught:
            await stream.aclose()
            raise shutting_down()
        self._seen(stream.rate_limit.remaining)
        whole = not plan.structured and _answered_whole(stream.headers.get("content-type"))
        return TextStream(stream, first, self, plan.stop, whole)
