"""What the sync and async shells share beyond the flows: the state a stream exposes, the
read-only face of a client, and a conversation's bookkeeping. Nothing here does I/O."""

from __future__ import annotations

import enum
import functools
import importlib.util
import os
import sys
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Self

from ._generated import spec_values

if TYPE_CHECKING:
    from ._conversation import History
    from ._flow import ClientState, StreamProgress
    from ._plans import RequestPlan
    from ._rate_limit import RateLimit
    from ._retry import RetryPolicy
    from ._settings import Settings, TimeoutArg
    from ._structured_flow import StructuredStream
    from ._tools import ToolCall

# The sync shell imports this module with `from dynaspark_sdk import Client`, before the core
# is loaded (its first Client loads it): so the core is imported here where it is used.

__all__ = [
    "BaseClient",
    "ConversationState",
    "PendingPlan",
    "StreamState",
    "checked_transport_args",
    "checked_use_aiohttp",
]


class PendingPlan(NamedTuple):
    """A stream's plan whose making blocks (it reads an image file): the stream makes it when
    it starts, the async one in a worker thread. `model` is the model it will ask for."""

    model: str | None
    make: Callable[[], RequestPlan]


@functools.cache
def _stream_core() -> tuple[type[StreamProgress], Callable[..., Generator[Any, Any, None]]]:
    """`StreamProgress` and `stream_flow`, imported by the first stream (not when this module
    is, see above) and kept: an import statement costs close to a microsecond, per stream."""
    from ._flow import StreamProgress, stream_flow

    return StreamProgress, stream_flow


class StreamState:
    """The flow behind a stream and what it has handed over so far."""

    def __init__(
        self,
        plan: RequestPlan | PendingPlan,
        settings: Settings,
        state: ClientState,
        on_complete: Callable[[str], None] | None,
        structured: StructuredStream | None = None,
    ) -> None:
        self._progress = _stream_core()[0]()
        self._structured = structured
        self._settings = settings
        self._state = state
        self._flow: Generator[Any, Any, None] | None = None
        self._pending: Callable[[], RequestPlan] | None = None
        self._outcome: object = None
        self._on_complete = on_complete
        self._planned_model = plan.model
        self.completed = False
        if isinstance(plan, PendingPlan):
            self._pending = plan.make
        else:
            self._begin(plan)

    def _begin(self, plan: RequestPlan) -> None:
        if self._structured is None:
            self._flow = _stream_core()[1](plan, self._settings.flow, self._state, self._progress)
        else:
            from ._structured_flow import structured_stream_flow

            self._flow = structured_stream_flow(plan, self._structured, self._turn_flow)

    def _turn_flow(self, plan: RequestPlan) -> Generator[Any, Any, None]:
        """One turn of a structured stream: `text` and the headers are the newest turn's."""
        progress_type, stream_flow = _stream_core()
        self._progress = progress_type()
        return stream_flow(plan, self._settings.flow, self._state, self._progress)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """With `tools=`: the calls the model made, once the stream is complete (else empty)."""
        final = self._structured.final if self._structured is not None else None
        return final.tool_calls if final is not None else ()

    @property
    def parsed(self) -> Any:
        """With `response_format=`: the validated answer, once the stream is complete (else None)."""
        final = self._structured.final if self._structured is not None else None
        return final.parsed if final is not None else None

    @property
    def model(self) -> str | None:
        """The model: the one the stream's events name, else the one asked for (the model a
        chat alias resolved to; for `stream_text` without one, the default the spec assumes)."""
        return self._progress.model or self._planned_model

    @property
    def text(self) -> str:
        """Everything that has arrived (the whole answer once iteration has finished)."""
        return self._progress.text

    @property
    def headers(self) -> Mapping[str, str]:
        """The answer's headers (empty before it started)."""
        return self._progress.headers

    @property
    def status_code(self) -> int | None:
        """The answer's status (None before it started)."""
        return self._progress.status

    @property
    def rate_limit(self) -> RateLimit:
        """The answer's rate-limit numbers."""
        return self._progress.rate_limit

    def _detach_flow(self) -> None:
        self._pending = None
        flow, self._flow = self._flow, None
        if flow is not None:
            flow.close()

    def _check_not_closed(self) -> None:
        """Called when a stream without a flow is read: one read to its end just stops, one
        closed before its end (by its user or by an error) says so instead of looking empty."""
        if not self.completed:
            from ._errors import StreamClosedError

            raise StreamClosedError(
                f"this {type(self).__name__} was closed before its end ({len(self.text)} characters had arrived,"
                " in .text); start a new stream to ask again"
            )

    def _completed(self) -> None:
        self.completed = True
        if self._on_complete is not None:
            self._on_complete(self.text)

    def __repr__(self) -> str:
        state = "done" if self.completed else ("closed" if self._flow is None and self._pending is None else "open")
        return f"<{type(self).__name__} {state} model={self.model!r} chars={len(self.text)}>"


class _Keep(enum.Enum):
    """with_options()'s default: the setting is kept (None is a value there: no key, no timeout)."""

    KEEP = "KEEP"

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep.KEEP


class BaseClient:
    """What both clients share apart from I/O: settings, state, their pool's ownership."""

    _settings: Settings
    # The rate-limit state of each API key (by fingerprint, "" for none) that this client and its
    # with_options() copies use: one key's used-up window says nothing about another key's.
    _states: dict[str, ClientState]
    _state: ClientState
    # Which path of a moved endpoint answers (see `ClientState`): shared by every key's state, as
    # the service answers at the same path whichever key asks.
    _paths: dict[tuple[str, str], str]
    _closed: bool
    _owns_pool: bool
    _pool: object

    def _start(
        self,
        pool: object,
        settings: Settings,
        states: dict[str, ClientState] | None = None,
        paths: dict[tuple[str, str], str] | None = None,
    ) -> None:
        from ._flow import ClientState

        self._pool = pool
        self._owns_pool = True
        self._settings = settings
        self._states = states if states is not None else {}
        self._paths = paths if paths is not None else {}
        key = settings.api_key.fingerprint() if settings.api_key is not None else ""
        # atomic: copies may be made in threads
        self._state = self._states.setdefault(key, ClientState(self._paths))
        self._closed = False

    def with_options(
        self,
        *,
        api_key: str | _Keep | None = KEEP,
        base_url: str | _Keep | None = KEEP,
        timeout: TimeoutArg | _Keep = KEEP,
        max_retries: int | _Keep = KEEP,
        default_headers: Mapping[str, str] | _Keep | None = KEEP,
        max_media_bytes: int | _Keep | None = KEEP,
        on_rate_limit: str | _Keep = KEEP,
        retry_policy: RetryPolicy | _Keep | None = KEEP,
        chat_path: str | _Keep | None = KEEP,
        private_image_urls: bool | _Keep = KEEP,
    ) -> Self:
        """A client with some settings changed, sharing this one's connection pool and rate-limit
        state (the state of its own API key: another key starts with a fresh window).

        Takes the constructor's arguments except those of the pool (`proxy`, `http_client`,
        `max_concurrency`, `slot_timeout`, and `AsyncClient`'s `use_aiohttp`), which the copy
        shares; an argument not given keeps this client's setting, and
        `api_key=None` removes the key. Closing the new client does not close the pool;
        closing this one does.
        """
        given = {
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "default_headers": default_headers,
            "max_media_bytes": max_media_bytes,
            "on_rate_limit": on_rate_limit,
            "retry_policy": retry_policy,
            "chat_path": chat_path,
            "private_image_urls": private_image_urls,
        }
        from ._settings import override_settings

        overrides = {name: value for name, value in given.items() if value is not KEEP}
        clone = type(self).__new__(type(self))
        clone._start(self._pool, override_settings(self._settings, overrides, os.environ), self._states, self._paths)
        clone._owns_pool = False
        return clone

    @property
    def base_url(self) -> str:
        """The service's base URL."""
        return self._settings.base_url

    @property
    def rate_limit(self) -> RateLimit:
        """The last `X-RateLimit-*` numbers the service sent for this client's API key (all
        None before any answer)."""
        return self._state.rate_limit

    @property
    def chat_paths(self) -> tuple[str, ...]:
        """Every path the chat endpoint is known at, newest first (from the spec). `chat_path`
        is the one in use; `with_options(chat_path=p)` sends chat to one of them only."""
        return spec_values.CHAT_PATHS

    @property
    def chat_path(self) -> str:
        """The path chat goes to next: the pinned one (the `chat_path` option), else the one that
        last answered, else the newest known (`spec_values.CHAT_PATHS[0]`)."""
        settings = self._settings
        if settings.chat_path is not None:
            return settings.chat_path
        return self._state.answering_path(settings.base_url, "chat") or spec_values.CHAT_PATHS[0]

    @property
    def models(self) -> tuple[str, ...]:
        """The chat models the spec lists."""
        return spec_values.CHAT_MODELS

    @property
    def image_models(self) -> tuple[str, ...]:
        """The image models the spec lists (`generate_image(model=...)`)."""
        return spec_values.IMAGE_MODELS

    @property
    def voices(self) -> tuple[str, ...]:
        """The voices the spec lists (`generate_audio(voice=...)`)."""
        return spec_values.VOICES

    def _check_usable(self, pool_closed: bool) -> None:
        if not (self._closed or pool_closed):
            return
        from ._errors import ClientClosedError

        if self._closed:
            raise ClientClosedError(f"this {type(self).__name__} is closed")
        if pool_closed:
            if self._owns_pool:
                raise ClientClosedError(f"the http_client of this {type(self).__name__} is closed")
            raise ClientClosedError(f"the {type(self).__name__} this one was made from with with_options() is closed")

    def __repr__(self) -> str:
        from ._secrets import scrub_url

        key = "set" if self._settings.api_key is not None else "none"
        return f"<{type(self).__name__} base_url={scrub_url(self._settings.base_url)!r} api_key={key}>"


class ConversationState:
    """A conversation's model and history (see `Conversation`)."""

    def __init__(self, model: str | None, history: History) -> None:
        self.model = model
        self._history = history

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history as a plain, JSON-serialisable list."""
        return self._history.messages

    @property
    def last_dropped(self) -> int:
        """How many old messages the last send left out to fit `max_prompt_chars`."""
        return self._history.last_dropped

    def add_tool_result(self, call: str | Mapping[str, Any], result: object = None) -> None:
        """Give back the result of a call the last answer made: `add_tool_result(call_id,
        result)` (a string, or anything JSON can write) or an OpenAI tool message
        `add_tool_result({"role": "tool", "tool_call_id": ..., "content": ...})`. Then
        `send()` without a message lets the model answer with the results."""
        self._history.add_tool_result(call, result)


def checked_transport_args(http_client: object, expected: type, proxy: object, client_name: str) -> str | None:
    """The proxy to build a pool with, after checking it against a user-supplied http client."""
    from ._errors import InvalidRequestError
    from ._transport import check_proxy

    checked = check_proxy(proxy)
    if http_client is not None and checked is not None:
        raise InvalidRequestError(f"give proxy= to your own http_client, not to {client_name}")
    if http_client is not None and not isinstance(http_client, expected):
        raise TypeError(f"http_client must be an {expected.__module__}.{expected.__qualname__} for {client_name}")
    return checked


def aiohttp_installed() -> bool:
    """Whether aiohttp can be imported: loaded already, or found on the import path. The
    search is done once (a client is often made on a running event loop: the drop-in
    provider's first call)."""
    if "aiohttp" in sys.modules:
        return sys.modules["aiohttp"] is not None
    return _aiohttp_on_path()


@functools.cache
def _aiohttp_on_path() -> bool:
    return importlib.util.find_spec("aiohttp") is not None


def checked_use_aiohttp(use_aiohttp: object, http_client: object, proxy: str | None) -> bool:
    """AsyncClient's `use_aiohttp`, checked: a bool, and True only where the SDK builds the pool
    itself, without a proxy (AiohttpTransport takes none), with aiohttp installed."""
    from ._errors import InvalidRequestError

    if not isinstance(use_aiohttp, bool):
        raise InvalidRequestError(f"use_aiohttp must be True or False, not {type(use_aiohttp).__name__}")
    if not use_aiohttp:
        return False
    if http_client is not None:
        raise InvalidRequestError(
            "use_aiohttp=True chooses the transport of the SDK's own pool; with your own http_client,"
            " give that client the transport (httpx.AsyncClient(transport=AiohttpTransport()))"
        )
    if proxy is not None:
        raise InvalidRequestError("use_aiohttp=True sends without a proxy (AiohttpTransport takes none): drop one")
    if not aiohttp_installed():
        raise InvalidRequestError("use_aiohttp=True needs aiohttp: pip install 'dynaspark-sdk[aiohttp]'")
    return True
