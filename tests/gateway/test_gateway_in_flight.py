"""`InFlight`, what a stopping server ends the gateway's upstream waits with: on asyncio a
cancellation of the waiting task that only the guard catches, elsewhere an anyio cancel
scope. (The 503s and error events it leads to are in test_gateway.py's shutdown tests.)"""

from __future__ import annotations

import asyncio

import anyio
import anyio.lowlevel
import pytest

from dynaspark_sdk.integrations.gateway._upstream import InFlight

pytestmark = pytest.mark.anyio


async def test_end_all_ends_a_wait_under_way_and_the_guard_says_so() -> None:
    in_flight = InFlight()
    reached: list[str] = []
    inside, done = anyio.Event(), anyio.Event()
    outcome: list[bool] = []

    async def wait() -> None:
        with in_flight.guard() as waiting:
            reached.append("waiting")
            inside.set()
            await anyio.sleep(30)
            reached.append("slept")  # never: the wait is ended
        outcome.append(waiting.cancelled_caught)
        done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(wait)
        await inside.wait()
        with anyio.fail_after(5):
            in_flight.end_all()
            await done.wait()
    assert outcome == [True]
    assert reached == ["waiting"]


async def test_after_end_all_a_new_wait_ends_at_once() -> None:
    in_flight = InFlight()
    in_flight.end_all()
    began = anyio.current_time()
    with anyio.move_on_after(10) as limit:
        with in_flight.guard() as waiting:
            await anyio.sleep(30)
    assert waiting.cancelled_caught
    assert not limit.cancelled_caught
    assert anyio.current_time() - began < 5  # not waited out


async def test_a_wait_that_ends_on_its_own_is_not_marked_and_leaves_no_cancellation() -> None:
    in_flight = InFlight()
    with in_flight.guard() as waiting:
        await anyio.lowlevel.checkpoint()
    assert not waiting.cancelled_caught
    await anyio.lowlevel.checkpoint()  # a cancellation left behind would be raised here
    in_flight.end_all()  # nothing is waiting any more: nothing to end
    await anyio.lowlevel.checkpoint()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_on_asyncio_a_cancellation_from_elsewhere_goes_through_the_guard(anyio_backend: str) -> None:
    in_flight = InFlight()
    inside = asyncio.Event()

    async def wait() -> None:
        with in_flight.guard():
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.ensure_future(wait())
    await inside.wait()
    task.cancel()  # a client gone, a server's own shutdown: not the guard's to swallow
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_on_asyncio_end_all_and_a_cancellation_from_elsewhere_both_stand(anyio_backend: str) -> None:
    in_flight = InFlight()
    inside = asyncio.Event()
    caught: list[bool] = []

    async def wait() -> None:
        with in_flight.guard() as waiting:
            inside.set()
            try:
                await asyncio.sleep(30)
            finally:
                caught.append(True)
        caught.append(waiting.cancelled_caught)  # never: the other cancellation goes on

    task = asyncio.ensure_future(wait())
    await inside.wait()
    in_flight.end_all()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert caught == [True]
