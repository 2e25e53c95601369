"""What the sync and async shells share beyond the flows: the state a stream exposes, the
read-only face of a client, and a conversation's bookkeeping. Nothing here does I/O."""

from __future__ import annotations

import enum
import importlib.util
import os
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Self

from ._generated import spec_values
from ._lazy import deferred_imports

if TYPE_CHECKING:
    from ._conversation import History
    from ._errors import ClientClosedError, InvalidRequestError, StreamClosedError
    from ._flow import ClientState, StreamProgress, stream_flow
    from ._plans import RequestPlan
    from ._rate_limit import RateLimit
    from ._retry import RetryPolicy
    from ._settings import Settings, TimeoutArg, override_settings
    from ._transport import check_proxy

#: Loads the names above (the core) on first use: the clients' constructors call it.
load_core = deferred_imports(
    globals(),
    {
        "._conversation": ("History",),
        "._errors": (
            "ClientClosedError",
            "InvalidRequestError",
            "StreamClosedError",
        ),
        "._flow": (
            "ClientState",
            "StreamProgress",
            "stream_flow",
        ),
        "._plans": ("RequestPlan",),
        "._rate_limit": ("RateLimit",),
        "._retry": ("RetryPolicy",),
        "._settings": (
            "Settings",
            "TimeoutArg",
            "override_settings",
        ),
        "._transport": ("check_proxy",),
    },
)

__all__ = [
    "BaseClient",
    "ConversationState",
    "PendingPlan",
    "StreamState",
    "checked_transport_args",
    "checked_use_aiohttp",
    "load_core",
]


class PendingPlan(NamedTuple):
    """A stream's plan whose making blocks (it reads an image file): the stream makes it when
    it starts, the async one in a worker thread. `model` is the model it will ask for."""

    model: str | None
    make: Callable[[], RequestPlan]


class StreamState:
    """The flow behind a stream and what it has handed over so far."""

    def __init__(
        self,
        plan: RequestPlan | PendingPlan,
        settings: Settings,
        state: ClientState,
        on_complete: Callable[[str], None] | None,
    ) -> None:
        self._progress = StreamProgress()
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
        self._flow = stream_flow(plan, self._settings.flow, self._state, self._progress)

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
        }
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
        if self._closed:
            raise ClientClosedError(f"this {type(self).__name__} is closed")
        if pool_closed:
            if self._owns_pool:
                raise ClientClosedError(f"the http_client of this {type(self).__name__} is closed")
            raise ClientClosedError(f"the {type(self).__name__} this one was made from with with_options() is closed")

    def __repr__(self) -> str:
        key = "set" if self._settings.api_key is not None else "none"
        return f"<{type(self).__name__} base_url={self._settings.base_url!r} api_key={key}>"


class ConversationState:
    """A conversation's model and history (see `Conversation`)."""

    def __init__(
        self,
        *,
        model: str | None,
        system: str | None,
        messages: Sequence[Mapping[str, Any]] | None,
        max_prompt_chars: int | None,
    ) -> None:
        self.model = model
        self._history = History(system=system, messages=messages, max_prompt_chars=max_prompt_chars)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history as a plain, JSON-serialisable list."""
        return self._history.messages

    @property
    def last_dropped(self) -> int:
        """How many old messages the last send left out to fit `max_prompt_chars`."""
        return self._history.last_dropped


def checked_transport_args(http_client: object, expected: type, proxy: object, client_name: str) -> str | None:
    """The proxy to build a pool with, after checking it against a user-supplied http client."""
    checked = check_proxy(proxy)
    if http_client is not None and checked is not None:
        raise InvalidRequestError(f"give proxy= to your own http_client, not to {client_name}")
    if http_client is not None and not isinstance(http_client, expected):
        raise TypeError(f"http_client must be an {expected.__module__}.{expected.__qualname__} for {client_name}")
    return checked


def checked_use_aiohttp(use_aiohttp: object, http_client: object, proxy: str | None) -> bool:
    """AsyncClient's `use_aiohttp`, checked: a bool, and True only where the SDK builds the pool
    itself, without a proxy (AiohttpTransport takes none), with aiohttp installed."""
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
    if importlib.util.find_spec("aiohttp") is None:
        raise InvalidRequestError("use_aiohttp=True needs aiohttp: pip install 'dynaspark-sdk[aiohttp]'")
    return True
