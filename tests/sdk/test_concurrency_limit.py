"""max_concurrency: at most that many plain requests in flight per client (streams are exempt)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import anyio
import pytest

from dynaspark_sdk import APITimeoutError, AsyncClient, Client, InvalidRequestError
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=10_000)) as running:
        yield running


def slow_everything(server: EmulatorServer, count: int) -> None:
    # Each answer waits before its first byte, so requests overlap as much as the client lets them.
    server.emulator.inject(faults.slow_first_byte(0.15), times=count)


@pytest.mark.anyio
@pytest.mark.parametrize("limit", [3, None])
async def test_async_client_keeps_at_most_max_concurrency_requests_in_flight(
    server: EmulatorServer, anyio_backend: str, limit: int | None
) -> None:
    slow_everything(server, 12)
    server.connections.reset_peak()
    async with AsyncClient(base_url=server.url, max_concurrency=limit, max_retries=0) as client:
        texts: list[str] = []

        async def ask(n: int) -> None:
            texts.append((await client.generate_text(f"question {n}")).text)

        async with anyio.create_task_group() as group:
            for n in range(12):
                group.start_soon(ask, n)
    assert len(texts) == 12
    if limit is None:
        assert server.connections.peak > 3  # the control: without a limit they do overlap
    else:
        assert 2 <= server.connections.peak <= limit


@pytest.mark.parametrize("limit", [3, None])
def test_sync_client_shared_by_threads_keeps_the_limit(server: EmulatorServer, limit: int | None) -> None:
    slow_everything(server, 12)
    server.connections.reset_peak()
    errors: list[BaseException] = []
    with Client(base_url=server.url, max_concurrency=limit, max_retries=0) as client:

        def ask(n: int) -> None:
            try:
                assert client.generate_text(f"question {n}").text.endswith(f"question {n}")
            except BaseException as error:  # reported below, with the thread's own failure
                errors.append(error)

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert not [thread for thread in threads if thread.is_alive()], "a call hung"
    assert errors == []
    if limit is None:
        assert server.connections.peak > 3  # the control: without a limit they do overlap
    else:
        assert 2 <= server.connections.peak <= limit


@pytest.mark.anyio
async def test_streams_do_not_take_slots(server: EmulatorServer, anyio_backend: str) -> None:
    server.emulator.stream_delay = 0.01
    async with AsyncClient(base_url=server.url, max_concurrency=1) as client:
        first = client.stream_text("a b c d e f")
        second = client.stream_text("g h i j k l")
        async with first, second:
            # Both open at once, read in turns: with a slot per stream this would wait forever.
            one, two = await first.__anext__(), await second.__anext__()
            assert one and two
            assert await first.until_done()
            assert await second.until_done()


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_max_concurrency_is_checked(bad: object) -> None:
    with pytest.raises(InvalidRequestError, match="max_concurrency"):
        Client(max_concurrency=bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- waiting for a slot

# Fifty calls answered in 0.3 s each through ten slots take five rounds, about 1.5 s: longer than
# the one-second timeout, which bounds each request, not the wait for a slot.
BATCH = 50
ANSWER_SECONDS = 0.3


@pytest.mark.anyio
async def test_async_batch_longer_than_the_timeout_finishes(server: EmulatorServer, anyio_backend: str) -> None:
    server.emulator.inject(faults.slow_first_byte(ANSWER_SECONDS), times=BATCH)
    server.connections.reset_peak()
    async with AsyncClient(base_url=server.url, timeout=1.0, max_retries=0) as client:
        texts: dict[int, str] = {}

        async def ask(n: int) -> None:
            texts[n] = (await client.generate_text(f"question {n}")).text

        async with anyio.create_task_group() as group:
            for n in range(BATCH):
                group.start_soon(ask, n)
    assert sorted(texts) == list(range(BATCH))
    assert all(texts[n].endswith(f"question {n}") for n in range(BATCH))
    assert server.connections.peak <= 10  # the limit held


def test_sync_batch_longer_than_the_timeout_finishes(server: EmulatorServer) -> None:
    server.emulator.inject(faults.slow_first_byte(ANSWER_SECONDS), times=BATCH)
    errors: list[BaseException] = []
    done: list[int] = []
    with Client(base_url=server.url, timeout=1.0, max_retries=0) as client:

        def ask(n: int) -> None:
            try:
                assert client.generate_text(f"question {n}").text.endswith(f"question {n}")
                done.append(n)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(BATCH)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not [thread for thread in threads if thread.is_alive()], "a call hung"
    assert errors == []
    assert sorted(done) == list(range(BATCH))


@pytest.mark.anyio
async def test_slot_timeout_bounds_the_wait(server: EmulatorServer, anyio_backend: str) -> None:
    server.emulator.inject(faults.slow_first_byte(1.0), times=1)
    async with AsyncClient(base_url=server.url, max_concurrency=1, slot_timeout=0.1, max_retries=0) as client:
        results: list[object] = []

        async def ask(n: int) -> None:
            try:
                results.append(await client.generate_text(f"question {n}"))
            except APITimeoutError as error:
                results.append(error)

        async with anyio.create_task_group() as group:
            group.start_soon(ask, 0)
            await anyio.sleep(0.05)  # the first call holds the one slot
            group.start_soon(ask, 1)
    errors = [result for result in results if isinstance(result, APITimeoutError)]
    assert len(errors) == 1
    assert "(slot_timeout) for one of the 1 request slots" in str(errors[0])


def test_sync_slot_timeout_bounds_the_wait(server: EmulatorServer) -> None:
    server.emulator.inject(faults.slow_first_byte(1.0), times=1)
    with Client(base_url=server.url, max_concurrency=1, slot_timeout=0.1, max_retries=0) as client:
        first = threading.Thread(target=client.generate_text, args=("slow",))
        first.start()
        try:
            while not server.emulator.requests:  # the first call holds the one slot
                threading.Event().wait(0.01)
            with pytest.raises(APITimeoutError, match=r"\(slot_timeout\) for one of the 1 request slots"):
                client.generate_text("second")
        finally:
            first.join(timeout=30)
        assert not first.is_alive(), "the first call hung"


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), True, "10"])
def test_slot_timeout_is_checked(bad: object) -> None:
    with pytest.raises(InvalidRequestError, match="slot_timeout"):
        Client(slot_timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="slot_timeout"):
        AsyncClient(slot_timeout=bad)  # type: ignore[arg-type]
