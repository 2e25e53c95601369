"""Shared fixtures: every async test runs on asyncio and on trio; a test body driving both
clients (`Dual`) runs the sync client once, in a worker thread under a hang guard."""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import anyio
import anyio.to_thread
import pytest

if TYPE_CHECKING:
    from dynaspark_sdk.testing import Emulator

T = TypeVar("T")

#: How long a sync call may block its worker thread before the test fails as hung. Not a
#: timing: only a call that never returns comes near it.
HANG_GUARD_SECONDS = 60.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The sync client does not touch the event loop the test body runs on, so running it
    under trio as well as asyncio only repeats it: keep its asyncio run. The tests marked `slow`
    go first, the longest first (`slow(seconds)`, a rough figure), so that pytest-xdist starts
    them early instead of ending the run waiting on one."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        repeat = params.get("client_kind") == "sync" and params.get("anyio_backend") == "trio"
        (dropped if repeat else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    kept.sort(key=_slowness)  # stable: the order stays otherwise
    items[:] = kept


def _slowness(item: pytest.Item) -> float:
    """The sort key of `item`: minus its `slow` marker's seconds (5 without a figure), else 0."""
    marker = item.get_closest_marker("slow")
    if marker is None:
        return 0.0
    return -float(marker.args[0]) if marker.args else -5.0


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported (pytest, hypothesis, openai, LangChain... hundreds of thousands
    of objects) lives as long as the process: moved out of the garbage collector's sight, each
    later collection walks only what the tests make, not all of it again."""
    gc.freeze()


def alive_instances(cls: type[T]) -> list[T]:
    """Every object of class `cls` (or a subclass) still alive after a full collection.

    Matched on the class's MRO rather than with isinstance(): for an ABC, isinstance() consults
    the subclass hooks and caches once per class it meets, which over a test process's objects
    takes seconds."""
    gc.collect()
    return [obj for obj in gc.get_objects() if cls in type(obj).__mro__]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture(autouse=True)
def provider_over_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gpt4free provider sends over aiohttp on asyncio when aiohttp is installed; respx
    intercepts httpx's own transport only, so tests keep the provider's shared clients on
    httpx's transport (fresh ones, for each test). A test of the aiohttp path sets
    `_over_aiohttp` back to True, or puts a client made with `use_aiohttp=True` in `_shared`."""
    from dynaspark_sdk.integrations import gpt4free as provider

    monkeypatch.setattr(provider, "_over_aiohttp", False)
    monkeypatch.setattr(provider, "_shared", {})


async def eventually(condition: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    """Wait until `condition()` holds (a server notices a closed connection a moment later)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await anyio.sleep(0.01)
    pytest.fail(f"still not so after {seconds} s: {what}")


def eventually_blocking(condition: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    """`eventually`, for a test without an event loop."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(f"still not so after {seconds} s: {what}")


class Dual:
    """One test body for both clients: `await dual.call("chat", ...)` runs the sync client's
    method in a worker thread (under the hang guard), or awaits the async client's;
    `await dual.collect(stream)` reads a Stream or an AsyncStream to the end."""

    def __init__(self, kind: str, client: Any) -> None:
        self.kind = kind
        self.client = client

    async def _blocking(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with anyio.fail_after(HANG_GUARD_SECONDS):
            return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs), abandon_on_cancel=True)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.kind == "sync":
            return await self._blocking(getattr(self.client, method), *args, **kwargs)
        return await self.resolve(getattr(self.client, method)(*args, **kwargs))  # a stream is not awaited

    async def collect(self, stream: Any) -> list[str]:
        if hasattr(stream, "__aiter__"):
            async with stream:
                return [piece async for piece in stream]

        def read() -> list[str]:
            with stream:
                return list(stream)

        result: list[str] = await self._blocking(read)
        return result

    async def next_piece(self, stream: Any) -> str:
        """The stream's next piece (StopIteration / StopAsyncIteration at its end)."""
        if hasattr(stream, "__anext__"):
            piece: str = await stream.__anext__()
            return piece
        piece = await self._blocking(next, stream)
        return piece

    async def read_into(self, stream: Any, received: list[Any]) -> None:
        """Read the stream to its end (closing it however that ends), appending each piece to
        `received` as it arrives."""
        if hasattr(stream, "__aiter__"):
            async with stream:
                async for piece in stream:
                    received.append(piece)
            return

        def read() -> None:
            with stream:
                for piece in stream:
                    received.append(piece)

        await self._blocking(read)

    async def items(self, iterable: Any) -> list[Any]:
        """Everything an iterable or async iterable yields (a sync one read in a worker thread)."""
        if hasattr(iterable, "__aiter__"):
            return [item async for item in iterable]
        result: list[Any] = await self._blocking(list, iterable)
        return result

    async def close_stream(self, stream: Any) -> None:
        await self.resolve(stream.aclose() if hasattr(stream, "aclose") else stream.close())

    async def resolve(self, value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    async def close(self) -> None:
        await self.resolve(self.client.aclose() if self.kind == "async" else self.client.close())


Hook = Callable[..., Any]


def sdk_client_class(kind: str) -> Any:
    """`Client` for "sync", `AsyncClient` for "async"."""
    from dynaspark_sdk import AsyncClient, Client

    return Client if kind == "sync" else AsyncClient


def emulator_transport(kind: str, emulator: Any) -> Any:
    """An in-process transport to `emulator` for an httpx client of `kind`."""
    from dynaspark_sdk.testing import AsyncEmulatorTransport, EmulatorTransport

    return EmulatorTransport(emulator) if kind == "sync" else AsyncEmulatorTransport(emulator)


def _async_hook(hook: Hook) -> Hook:
    async def run(message: Any) -> None:
        hook(message)

    return run


@contextlib.asynccontextmanager
async def own_http_client(
    kind: str, *, transport: Any = None, hooks: Mapping[str, list[Hook]] | None = None
) -> AsyncIterator[Any]:
    """An httpx client for the SDK client of `kind` (httpx.Client or httpx.AsyncClient), with
    `transport` and event `hooks` (plain functions, also for the async one); closed on leaving."""
    import httpx

    options: dict[str, Any] = {} if transport is None else {"transport": transport}
    if kind == "sync":
        with httpx.Client(event_hooks=dict(hooks or {}), **options) as http:
            yield http
        return
    async_hooks = {event: [_async_hook(hook) for hook in listed] for event, listed in (hooks or {}).items()}
    async with httpx.AsyncClient(event_hooks=async_hooks, **options) as ahttp:
        yield ahttp


@contextlib.asynccontextmanager
async def open_dual(
    kind: str, *, transport: Any = None, hooks: Mapping[str, list[Hook]] | None = None, **kwargs: Any
) -> AsyncIterator[Dual]:
    """A Dual of `kind` ("sync" or "async"), closed on leaving the block; with `transport` or
    event `hooks`, the client runs over an httpx client of its kind with them (closed too)."""
    kwargs.setdefault("base_url", BASE_URL)
    async with contextlib.AsyncExitStack() as stack:
        if transport is not None or hooks:
            kwargs["http_client"] = await stack.enter_async_context(
                own_http_client(kind, transport=transport, hooks=hooks)
            )
        dual = Dual(kind, sdk_client_class(kind)(**kwargs))
        stack.push_async_callback(dual.close)
        yield dual


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def make_dual(client_kind: str, anyio_backend: str) -> AsyncIterator[Callable[..., Dual]]:
    """Build a Dual of the parametrized kind; closes what it built."""
    made: list[Dual] = []

    def build(**kwargs: Any) -> Dual:
        kwargs.setdefault("base_url", BASE_URL)
        made.append(Dual(client_kind, sdk_client_class(client_kind)(**kwargs)))
        return made[-1]

    yield build
    for dual in made:
        await dual.close()


#: Settings the clients under test would read from the environment (see `loopback_only`).
CLIENT_SETTINGS = (
    "DYNASPARK_API_KEY",
    "DYNASPARK_BASE_URL",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING_V2",
)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback traffic bypasses any proxy of the environment, and the settings of whoever runs
    the tests (keys, base URLs, tracing) stay out of the clients under test."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    for name in CLIENT_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Any]:
    """The emulator on a loopback socket, with a rate limit no test reaches: the gateway's
    upstream in its tests."""
    from dynaspark_sdk.testing import Emulator, serve

    with serve(Emulator(rate_limit=1_000_000)) as running:
        yield running


class GatewayStack(NamedTuple):
    """A gateway serving in a thread, and the emulator it calls."""

    url: str
    emulator: Emulator


@contextlib.contextmanager
def gateway_stack() -> Iterator[GatewayStack]:
    """The gateway (no upstream retries, no log) in front of an emulator of its own with a
    rate limit no test reaches, both on loopback sockets: a module-scoped fixture's stack."""
    from dynaspark_sdk import AsyncClient
    from dynaspark_sdk.gateway import create_app, serve_in_thread
    from dynaspark_sdk.testing import Emulator, serve

    emulator = Emulator(rate_limit=1_000_000)
    with serve(emulator) as upstream:
        app = create_app(AsyncClient(base_url=upstream.url, max_retries=0), log=lambda _: None)
        with serve_in_thread(app) as gateway:
            yield GatewayStack(gateway.url, emulator)


BASE_URL = "https://dynaspark.test"
