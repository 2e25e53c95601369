"""The request slots of an event loop (`_event_loops.new_slots`), on asyncio and trio: who
gets a slot and when, the `slot_timeout` waits, and cancelled waiters that never leak one.
(The client's use of them: test_concurrency_limit.py.)"""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from dynaspark_sdk._event_loops import current_loop, new_slots

pytestmark = pytest.mark.anyio


async def test_waiters_get_freed_slots_in_the_order_they_came() -> None:
    slots = new_slots(2, current_loop())
    assert await slots.acquire(None) and await slots.acquire(None)
    order: list[int] = []

    async def wait(n: int) -> None:
        assert await slots.acquire(None)
        order.append(n)

    async with anyio.create_task_group() as group:
        for n in range(3):
            group.start_soon(wait, n)
            await anyio.wait_all_tasks_blocked()
        assert order == []
        for _ in range(3):
            slots.release()
            await anyio.wait_all_tasks_blocked()
    assert order == [0, 1, 2]


async def test_a_wait_ends_at_its_timeout_and_the_others_keep_waiting() -> None:
    slots = new_slots(1, current_loop())
    assert await slots.acquire(None)
    outcomes: dict[str, bool] = {}
    timed_out = anyio.Event()

    async def wait(name: str, seconds: float | None) -> None:
        outcomes[name] = await slots.acquire(seconds)
        if not outcomes[name]:
            timed_out.set()

    async with anyio.create_task_group() as group:
        began = anyio.current_time()
        # In this order: a shorter wait after a longer one still ends on time.
        for name, seconds in (("long", 30.0), ("short", 0.05), ("forever", None)):
            group.start_soon(wait, name, seconds)
            await anyio.wait_all_tasks_blocked()
        with anyio.fail_after(5):
            await timed_out.wait()
        assert anyio.current_time() - began < 5
        assert outcomes == {"short": False}
        slots.release()  # to the first in line still waiting
        await anyio.wait_all_tasks_blocked()
        assert outcomes == {"short": False, "long": True}
        slots.release()
    assert outcomes == {"short": False, "long": True, "forever": True}


async def test_a_cancelled_waiter_takes_no_slot() -> None:
    slots = new_slots(1, current_loop())
    assert await slots.acquire(None)
    with anyio.move_on_after(0.05) as gave_up:
        await slots.acquire(None)
    assert gave_up.cancelled_caught
    slots.release()  # nobody waits now: the slot is free again
    with anyio.fail_after(5):
        assert await slots.acquire(0.01)


async def test_waiters_cancelled_in_line_are_skipped() -> None:
    slots = new_slots(1, current_loop())
    assert await slots.acquire(None)
    got: list[str] = []

    async def wait(name: str) -> None:
        assert await slots.acquire(10.0)
        got.append(name)

    gone = anyio.CancelScope()

    async def leave() -> None:
        with gone:
            await wait("gone")

    async with anyio.create_task_group() as group:
        group.start_soon(leave)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(wait, "stays")
        await anyio.wait_all_tasks_blocked()
        gone.cancel()  # the first in line leaves it
        await anyio.wait_all_tasks_blocked()
        slots.release()
    assert got == ["stays"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_slot_handed_to_a_waiter_cancelled_before_it_ran_goes_back(anyio_backend: str) -> None:
    import asyncio

    slots = new_slots(1, current_loop())
    assert await slots.acquire(None)
    waiter = asyncio.ensure_future(slots.acquire(None))
    await anyio.wait_all_tasks_blocked()
    slots.release()  # handed to the waiter...
    waiter.cancel()  # ...which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await waiter
    with anyio.fail_after(5):
        assert await slots.acquire(0.5)  # the slot came back
