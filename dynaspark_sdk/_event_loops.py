"""The running event loop's own primitives, asyncio's or trio's: which loop runs, sleeping,
worker threads and request slots. No I/O.

`AsyncClient` runs on asyncio and on trio. It used anyio's primitives for these, but anyio
(4.16 and later) imports its backend for a library the first time one is used, on the event
loop: 35-60 ms (more on a loaded machine) during a new client's first call in a plain asyncio
program. These few are what the SDK needs before its first request is sent, and each library
has them natively; anyio's backend itself (which httpx's transport needs on asyncio) is
imported by the warm-up in a worker thread (`_transport.warm_up`).
"""

from __future__ import annotations

import collections
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    import asyncio

__all__ = ["Slots", "current_loop", "library_of", "new_slots", "run_in_thread", "sleep"]

T = TypeVar("T")


def current_loop() -> object:
    """The running event loop (asyncio) or the run's root task (trio): what a pool belongs to."""
    asyncio = sys.modules.get("asyncio")  # no asyncio loop can run before asyncio is imported
    if asyncio is not None:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            pass
    # The only other library the SDK runs on is trio.
    import trio

    return trio.lowlevel.current_root_task()


def library_of(loop: object) -> str:
    """ "asyncio" or "trio": the library `loop` (from `current_loop()`) belongs to."""
    asyncio = sys.modules.get("asyncio")
    return "asyncio" if asyncio is not None and isinstance(loop, asyncio.AbstractEventLoop) else "trio"


def _on_asyncio() -> bool:
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def sleep(seconds: float) -> None:
    """Sleep on the running loop."""
    if _on_asyncio():
        import asyncio

        await asyncio.sleep(seconds)
    else:
        import trio

        await trio.sleep(seconds)


async def run_in_thread(function: Callable[[], T]) -> T:
    """`function()` in a worker thread, awaited on the running loop.

    On trio the wait cannot be cancelled (as anyio's `to_thread.run_sync`): the call ends with
    the thread. On asyncio (`asyncio.to_thread`) a cancelled caller stops waiting and the
    thread finishes on its own; what the SDK runs there (building an httpx client, reading an
    image file) holds nothing the caller would have to release.
    """
    if _on_asyncio():
        import asyncio

        return await asyncio.to_thread(function)
    import trio

    return await trio.to_thread.run_sync(function)


class Slots(Protocol):
    """A loop's request slots: a semaphore whose free slot is taken without a checkpoint."""

    async def acquire(self, wait: float | None) -> bool:
        """Take a slot, waiting up to `wait` seconds (None: as long as it takes); False
        when none came free in time."""

    def release(self) -> None:
        """Give a slot back."""


class _AsyncioSlots:
    """asyncio's slots: a free one is taken at once; otherwise the caller waits in line and
    `release()` hands its slot straight to the first live waiter. The waits' deadlines share
    one timer (`asyncio.timeout` would arm and cancel one per waiter, and most waits end with a
    slot long before their deadline): it fires at the earliest deadline and ends those due."""

    # A wait may end this much before its deadline (the loop's timers are that coarse).
    _EARLY = 0.001

    def __init__(self, count: int) -> None:
        import asyncio

        self._asyncio = asyncio
        self._free = count
        self._waiters: collections.deque[tuple[asyncio.Future[bool], float]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, deadline
        if deadline != math.inf:
            self._timer = loop.call_at(deadline, self._expire, loop)

    async def acquire(self, wait: float | None) -> bool:
        if self._free and not self._waiters:
            # At once, without suspending: no timer for the common case.
            self._free -= 1
            return True
        loop = self._asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        deadline = math.inf if wait is None else loop.time() + wait
        self._waiters.append((waiter, deadline))
        if deadline < self._timer_at:  # none armed, or for a later deadline (a longer wait)
            self._arm(loop, deadline)
        try:
            return await waiter
        except self._asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.release()  # a slot came as the caller was cancelled: the next one gets it
            raise

    def release(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter, _ = waiters.popleft()
            if not waiter.done():  # not cancelled, not timed out
                waiter.set_result(True)
                return
        self._free += 1

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """End the waits whose deadline has come (False); rearm for the earliest left."""
        self._timer, self._timer_at = None, math.inf
        due = loop.time() + self._EARLY
        left: collections.deque[tuple[asyncio.Future[bool], float]] = collections.deque()
        earliest = math.inf
        for waiter, deadline in self._waiters:
            if waiter.done():
                continue
            if deadline <= due:
                waiter.set_result(False)
            else:
                left.append((waiter, deadline))
                earliest = min(earliest, deadline)
        self._waiters = left
        self._arm(loop, earliest)


class _TrioSlots:
    def __init__(self, count: int) -> None:
        import trio

        self._trio = trio
        self._semaphore = trio.Semaphore(count)

    async def acquire(self, wait: float | None) -> bool:
        try:
            self._semaphore.acquire_nowait()
            return True
        except self._trio.WouldBlock:
            pass
        with self._trio.move_on_after(wait if wait is not None else math.inf):
            await self._semaphore.acquire()
            return True
        return False

    def release(self) -> None:
        self._semaphore.release()


def new_slots(count: int, loop: object) -> Slots:
    """`count` request slots for `loop` (from `current_loop()`), in its library's own semaphore."""
    return _AsyncioSlots(count) if library_of(loop) == "asyncio" else _TrioSlots(count)
