"""Connection pools and their lifetimes: the one piece of the shells that is about resources.

`SyncPool` is the httpx.Client a `Client` and its `with_options()` copies share; it closes
itself when the last of them is garbage-collected, so an unclosed client leaks nothing.

Both survive `os.fork()`: in the child, a pool the SDK made starts afresh (new connections,
new request slots) and leaves the parent's connections alone, untouched and unclosed, since
the parent still uses those sockets. (httpx and openai-python share them: interleaved
requests and hangs.) An `http_client` of the user's own is the user's to renew.

`AsyncPool` keeps one httpx.AsyncClient per event loop. Connections belong to the loop
that opened them, so a client used under `asyncio.run()` twice in a row, or from two
loops, must not hand one loop's connections to another ("Event loop is closed"). Each
loop's pool is closed inside that loop when it finishes: a suspended async generator
is left with the loop, and asyncio.run() and trio.run() finalise such generators at
shutdown. That also covers an AsyncClient that is garbage-collected without `aclose()`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from typing import Any, TypeVar

import anyio
import httpx

from ._defaults import DEFAULT_MAX_CONCURRENCY, DEFAULT_SLOT_TIMEOUT
from ._errors import InvalidRequestError
from ._event_loops import Slots, current_loop, library_of, new_slots, run_in_thread
from ._transport import fast_thread_switching, http_client_args, warm_up, warmed, with_lean_cookies

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_SLOT_TIMEOUT",
    "AsyncPool",
    "SyncPool",
    "check_max_concurrency",
    "check_slot_timeout",
    "current_loop",
]

T = TypeVar("T")


def check_slot_timeout(value: object) -> float | None:
    """`slot_timeout` checked: a positive number of seconds, or None to wait as long as it takes."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or value == float("inf"):
        raise InvalidRequestError(f"slot_timeout must be a positive number of seconds or None, not {value!r}")
    return float(value)


def check_max_concurrency(value: object) -> int | None:
    """`max_concurrency` checked: a positive whole number, or None for no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"max_concurrency must be a positive whole number or None, not {value!r}")
    return value


def resolve_host(host: str, port: int) -> tuple[str, ...]:
    """The addresses the system's resolver gives `host` for a TCP connection to `port`, in its
    order and without repeats; none when the name does not resolve. Blocks (a DNS lookup):
    the pools call it for an image URL checked before it is fetched (`_image_fetch`)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in found))


#: Lookups of image URLs' names under way at once, in threads of their own (see `resolve_within`).
_MAX_LOOKUPS = 16
_lookups = threading.BoundedSemaphore(_MAX_LOOKUPS)


def resolve_within(host: str, port: int, seconds: float | None) -> tuple[str, ...] | None:
    """`resolve_host(host, port)`, waited for at most `seconds` (None: as long as the system's
    resolver takes); None when it took longer, or when `_MAX_LOOKUPS` lookups were already under
    way for that long. Blocks the caller that long at most: the lookup runs in a daemon thread of
    its own, which a slow name keeps only until the system's resolver gives up (a caller of the
    gateway naming slow hosts ties up neither the caller nor a shared pool of threads)."""
    if seconds is None:
        return resolve_host(host, port)
    deadline = time.monotonic() + seconds
    lookups = _lookups  # released to the one acquired (a forked child makes itself a new one)
    if not lookups.acquire(timeout=seconds):
        return None
    found: list[tuple[str, ...]] = []

    def look_up() -> None:
        try:
            found.append(resolve_host(host, port))
        finally:
            lookups.release()

    thread = threading.Thread(target=look_up, name="dynaspark-resolve", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    return found[0] if found else None


class SyncPool:
    """The blocking httpx client behind a Client and its copies, and its request slots.

    At most `max_concurrency` plain (non-streamed) requests are in flight at once: the
    service serves 10 at a time, and httpcore's pool spends its time scanning connections
    when hundreds of requests queue in it, so waiting here is faster than waiting there.
    A request waits up to `slot_timeout` seconds for a slot (see DEFAULT_SLOT_TIMEOUT).
    """

    def __init__(
        self,
        http: httpx.Client | None,
        *,
        timeout: httpx.Timeout,
        proxy: str | None,
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        slot_timeout: float | None = DEFAULT_SLOT_TIMEOUT,
    ) -> None:
        self.slot_timeout = check_slot_timeout(slot_timeout)
        self.owned = http is None
        self._args = http_client_args(timeout, proxy)
        self._http = http if http is not None else with_lean_cookies(httpx.Client(**self._args))
        self._finalizer = weakref.finalize(self, self._http.close) if self.owned else None
        limit = check_max_concurrency(max_concurrency)
        self._slots = threading.BoundedSemaphore(limit) if limit is not None else None
        self.max_concurrency = limit
        _live_pools.add(self)

    def _renew_in_child(self) -> None:
        """After a fork: fresh slots (a parent's thread may have held some) and, for a pool the
        SDK made and not yet closed, a fresh httpx client."""
        if self.max_concurrency is not None:
            self._slots = threading.BoundedSemaphore(self.max_concurrency)
        if not self.owned or self._http.is_closed:
            return
        assert self._finalizer is not None
        self._finalizer.detach()
        _inherited.append(self._http)
        self._http = with_lean_cookies(httpx.Client(**self._args))
        self._finalizer = weakref.finalize(self, self._http.close)

    def http(self) -> httpx.Client:
        """The httpx client (the same for every thread)."""
        return self._http

    def pools(self) -> list[httpx.Client]:
        """The live httpx clients (for tests and diagnostics): this pool's one, unless closed."""
        return [] if self._http.is_closed else [self._http]

    @contextlib.contextmanager
    def slot(self) -> Iterator[bool]:
        """Hold one request slot while the block runs; yields False when none came free
        within `slot_timeout` (the caller answers that as a timeout), True otherwise."""
        slots = self._slots
        if slots is None:
            yield True
            return
        if not slots.acquire(timeout=self.slot_timeout):
            yield False
            return
        try:
            yield True
        finally:
            slots.release()

    @staticmethod
    def run_blocking(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking work (reading an image file to send): here, in the caller's thread."""
        return function(*args, **kwargs)

    def resolve(self, host: str, port: int) -> tuple[str, ...] | None:
        """The addresses `host` resolves to, None when that took longer than the connect
        timeout (see `resolve_within`)."""
        return resolve_within(host, port, self._http.timeout.connect)

    @staticmethod
    def close_answer(response: httpx.Response, chunks: Generator[bytes, None, None] | None) -> None:
        """Close an answer whose body was being read, and the generator reading it."""
        if chunks is not None:
            chunks.close()
        response.close()

    @property
    def closed(self) -> bool:
        """Whether the pool was closed (only pools the SDK made are closed by it)."""
        return self._http.is_closed

    def close(self) -> None:
        """Close the pool if the SDK made it; idempotent."""
        if self._finalizer is not None:
            self._finalizer()


async def _close_when_loop_ends(http: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await http.aclose()


# Keeps each loop's closers alive exactly as long as the loop itself.
_closers: weakref.WeakKeyDictionary[object, list[AsyncGenerator[None, None]]] = weakref.WeakKeyDictionary()
_closers_lock = threading.Lock()


class AsyncPool:
    """httpx.AsyncClient per event loop behind an AsyncClient and its copies, and the
    request slots of each loop (see `SyncPool` for why there are slots)."""

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        *,
        timeout: httpx.Timeout,
        proxy: str | None,
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        slot_timeout: float | None = DEFAULT_SLOT_TIMEOUT,
        use_aiohttp: bool = False,
    ) -> None:
        self.slot_timeout = check_slot_timeout(slot_timeout)
        self._given = http
        # The httpx clients are built in a worker thread on first use (see `http()`).
        self._timeout, self._proxy = timeout, proxy
        self._by_loop: weakref.WeakKeyDictionary[object, httpx.AsyncClient] = weakref.WeakKeyDictionary()
        self._slots_by_loop: weakref.WeakKeyDictionary[object, Slots] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.max_concurrency = check_max_concurrency(max_concurrency)
        self._closed = False
        # Send over aiohttp (`AiohttpTransport`) on asyncio loops; trio loops keep httpx's own
        # transport. AsyncClient checked it (aiohttp installed, no proxy, no http client given).
        self._use_aiohttp = use_aiohttp
        _live_pools.add(self)

    def _renew_in_child(self) -> None:
        """After a fork: forget the parent's per-loop clients and slots (kept, never closed)."""
        self._lock = threading.Lock()
        _inherited.extend(self._by_loop.values())
        self._by_loop = weakref.WeakKeyDictionary()
        self._slots_by_loop = weakref.WeakKeyDictionary()

    @property
    def closed(self) -> bool:
        """Whether the pool was closed (or the user's own http client it wraps)."""
        return self._closed or (self._given is not None and self._given.is_closed)

    def slots(self) -> Slots | None:
        """The running loop's request slots (None without a limit), in the loop's own semaphore
        (see `_event_loops`)."""
        if self.max_concurrency is None:
            return None
        loop = current_loop()
        slots = self._slots_by_loop.get(loop)
        if slots is not None:
            return slots
        with self._lock:
            slots = self._slots_by_loop.get(loop)
            if slots is None:
                slots = self._slots_by_loop[loop] = new_slots(self.max_concurrency, loop)
            return slots

    @property
    def owned(self) -> bool:
        """Whether the SDK made (and so closes) the pools."""
        return self._given is None

    def slot(self) -> _HeldSlot:
        """Hold one of the running loop's request slots while the `async with` block runs; it
        gives False when none came free within `slot_timeout`, True otherwise (see
        `SyncPool.slot`)."""
        return _HeldSlot(self.slots(), self.slot_timeout)

    @staticmethod
    async def run_blocking(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking work (reading an image file to send) in a worker thread, off the loop."""
        return await run_in_thread(functools.partial(function, *args, **kwargs))

    async def resolve(self, host: str, port: int) -> tuple[str, ...] | None:
        """The addresses `host` resolves to, None when that took longer than the connect
        timeout (see `resolve_within`), waited for in a worker thread."""
        seconds = (self._given.timeout if self._given is not None else self._timeout).connect
        return await run_in_thread(functools.partial(resolve_within, host, port, seconds))

    @staticmethod
    async def close_answer(response: httpx.Response, chunks: AsyncGenerator[bytes, None] | None) -> None:
        """Close an answer whose body was being read, and the generators reading it."""
        if response.is_closed and (chunks is None or getattr(chunks, "ag_frame", True) is None):
            return  # read to its end (httpx closed it; the generators are done): nothing to do
        # Closing must finish even when the caller is being cancelled, or the
        # connection would be left half-read in the pool.
        with anyio.CancelScope(shield=True):
            await response.aclose()
            if chunks is not None:
                await _finish_generators(chunks)

    def _build(self, library: str) -> httpx.AsyncClient:
        warm_up(library)
        args = http_client_args(self._timeout, self._proxy, asynchronous=True)
        if self._use_aiohttp and library == "asyncio":
            from .aiohttp_transport import AiohttpTransport

            limits: httpx.Limits = args.pop("limits")
            args["transport"] = AiohttpTransport(
                verify=args["verify"],
                max_connections=limits.max_connections or 0,
                keepalive_expiry=limits.keepalive_expiry or 5.0,
            )
        client = with_lean_cookies(httpx.AsyncClient(**args))
        try:
            from ._network import with_lean_streams  # (in the worker thread that builds the client)
        except ImportError:  # an httpcore laid out otherwise keeps its own streams
            return client
        return with_lean_streams(client)

    async def http(self) -> httpx.AsyncClient:
        """The httpx client for the running event loop.

        A loop's first call builds it in a worker thread: an httpx client loads its SSL
        context (the CA bundle) as it is made, tens of milliseconds that would otherwise
        freeze the event loop.
        """
        if self._given is not None:
            return self._given
        loop = current_loop()
        with self._lock:
            client = self._by_loop.get(loop)
        if client is not None and not client.is_closed:
            return client
        library = library_of(loop)
        if warmed(library):
            built = await run_in_thread(functools.partial(self._build, library))
        else:
            # The worker thread starts, then warms up (`warm_up`), while this thread waits for the
            # GIL: at the default switch interval, up to 5 ms a time with the loop stalled.
            with fast_thread_switching():
                built = await run_in_thread(functools.partial(self._build, library))
        with self._lock:
            client = self._by_loop.get(loop)
            fresh = client is None or client.is_closed
            if fresh:
                # Another task of this loop may have built one meanwhile; then `built`, which
                # never opened a connection, is dropped.
                client = self._by_loop[loop] = built
        assert client is not None
        if fresh:
            closer = _close_when_loop_ends(client)
            await anext(closer)
            with _closers_lock:
                _closers.setdefault(loop, []).append(closer)
        return client

    def pools(self) -> list[httpx.AsyncClient]:
        """The live per-loop clients (for tests and diagnostics)."""
        with self._lock:
            return [client for client in self._by_loop.values() if not client.is_closed]

    async def aclose(self) -> None:
        """Close the running loop's pool (others close when their loops end); idempotent."""
        self._closed = True
        if self._given is not None:
            return
        with self._lock:
            client = self._by_loop.pop(current_loop(), None)
        if client is not None:
            await client.aclose()


class _HeldSlot:
    """`AsyncPool.slot()`: one request slot held for an `async with` block (a plain class: an
    `asynccontextmanager` costs a generator and its frames on every call)."""

    __slots__ = ("_held", "_slots", "_wait")

    def __init__(self, slots: Slots | None, wait: float | None) -> None:
        self._slots, self._wait, self._held = slots, wait, False

    async def __aenter__(self) -> bool:
        if self._slots is None:
            return True
        # A free slot is taken without a checkpoint or a cancel scope (the request yields soon
        # enough): about a tenth of the SDK's own CPU per call on asyncio.
        self._held = await self._slots.acquire(self._wait)
        return self._held

    async def __aexit__(self, *exc_info: object) -> None:
        if self._held:
            self._held = False
            assert self._slots is not None
            self._slots.release()


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


# Every pool alive in this process, to renew in a forked child.
_live_pools: weakref.WeakSet[SyncPool | AsyncPool] = weakref.WeakSet()
# The parent's httpx clients, as a child inherited them. Kept referenced so that nothing in the
# child closes them (or warns about them): their sockets are the parent's too.
_inherited: list[httpx.Client | httpx.AsyncClient] = []


def _renew_pools_in_child() -> None:
    global _closers_lock, _lookups
    _closers_lock = threading.Lock()
    _lookups = threading.BoundedSemaphore(_MAX_LOOKUPS)  # the parent's lookups are not the child's
    for pool in list(_live_pools):
        pool._renew_in_child()


if hasattr(os, "register_at_fork"):  # not on Windows, which cannot fork
    os.register_at_fork(after_in_child=_renew_pools_in_child)
