"""max_concurrency: at most that many plain requests in flight per client (streams are exempt)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import anyio
import pytest

from dynaspark_sdk import AsyncClient, Client, InvalidRequestError
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
