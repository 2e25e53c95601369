"""Load over real loopback sockets: many streams through one client, and one client in many threads.

Every answer must be complete and be the answer to its own prompt; the server's count of open
connections shows that the pool limits hold and that nothing is left open afterwards.

httpcore's pool gets slow with hundreds of requests queued on a hundred connections (its
assignment of requests to connections is quadratic), so the 500 streams share a pool of ten
connections given as `http_client`; the SDK's own limits (100 connections) are checked with
150 streams, enough to queue some.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from conftest import eventually, eventually_blocking

from dynaspark_sdk import AsyncClient, Client, Dynaspark
from dynaspark_sdk.integrations import gpt4free as provider_module
from dynaspark_sdk.testing import Emulator, EmulatorServer, serve

# Load tests: the serial pass runs them in its load lane (scripts/test), not beside other tests.
pytestmark = [pytest.mark.serial, pytest.mark.load]

#: Only a hang guard.
HANG_GUARD_SECONDS = 60.0
SDK_MAX_CONNECTIONS = 100  # the SDK's own httpx limits
SDK_MAX_KEEPALIVE = 20


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=1_000_000, stream_delay=0.001)) as running:
        yield running


@pytest.fixture
def fresh_server(server: EmulatorServer) -> EmulatorServer:
    """The server once no connection is open, its peak measured from now on."""
    eventually_blocking(lambda: server.connections.open == 0, "no connection left from an earlier test")
    server.emulator.clear_requests()
    server.connections.reset_peak()
    return server


def prompt_of(number: int) -> str:
    """The prompt of stream number `number` (short: the answer streams one event per word)."""
    return f"p{number}"


async def stream_all(client: AsyncClient, count: int) -> dict[int, str]:
    """`count` streams at once through `client`: number -> the text that arrived."""
    texts: dict[int, str] = {}

    async def one(number: int) -> None:
        async with client.stream_text(prompt_of(number)) as stream:
            texts[number] = await stream.until_done()

    with anyio.fail_after(HANG_GUARD_SECONDS):
        async with anyio.create_task_group() as group:
            for number in range(count):
                group.start_soon(one, number)
    return texts


def assert_each_answers_its_own_prompt(texts: dict[int, str], count: int) -> None:
    """Every stream arrived whole, with the answer to its own prompt."""
    assert sorted(texts) == list(range(count))
    wrong = {number: text for number, text in texts.items() if text != f"[openai] You said: {prompt_of(number)}"}
    assert not wrong


@pytest.mark.anyio
async def test_500_concurrent_streams_through_one_async_client(fresh_server: EmulatorServer) -> None:
    limit = 10
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    accepted_before = fresh_server.connections.accepted
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        client = AsyncClient(base_url=fresh_server.url, http_client=http, max_retries=0)
        texts = await stream_all(client, 500)
        await client.aclose()
        assert_each_answers_its_own_prompt(texts, 500)
        assert len(fresh_server.emulator.requests) == 500
        # All ten were busy at once, never one more, and each was reused fifty times.
        assert fresh_server.connections.peak == limit
        assert fresh_server.connections.accepted - accepted_before == limit
    await eventually(lambda: fresh_server.connections.open == 0, "every connection closed")


@pytest.mark.anyio
async def test_the_sdks_own_pool_holds_to_its_limit(fresh_server: EmulatorServer) -> None:
    client = AsyncClient(base_url=fresh_server.url, max_retries=0)
    texts = await stream_all(client, 150)
    assert_each_answers_its_own_prompt(texts, 150)
    assert 1 < fresh_server.connections.peak <= SDK_MAX_CONNECTIONS
    transports: list[Any] = [pool._transport for pool in client._pool.pools()]
    idle = sum(len(transport._pool.connections) for transport in transports)
    assert idle <= SDK_MAX_KEEPALIVE
    await client.aclose()
    await eventually(lambda: fresh_server.connections.open == 0, "every connection closed")


@pytest.mark.anyio
async def test_many_provider_calls_at_once_share_one_bounded_pool(
    fresh_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNASPARK_BASE_URL", fresh_server.url)
    monkeypatch.setattr(provider_module, "_shared", {})
    answers: dict[int, list[str]] = {}

    async def one(number: int) -> None:
        messages = [{"role": "user", "content": prompt_of(number)}]
        answers[number] = [piece async for piece in Dynaspark.create_async_generator("", messages)]

    with anyio.fail_after(HANG_GUARD_SECONDS):
        async with anyio.create_task_group() as group:
            for number in range(150):
                group.start_soon(one, number)
    # The empty model name goes out as gpt4free sent it: the default, unresolved.
    assert answers == {number: [f"[gemini-1.5-flash] You said: {prompt_of(number)}"] for number in range(150)}
    assert 1 < fresh_server.connections.peak <= SDK_MAX_CONNECTIONS
    (shared,) = provider_module._shared.values()
    await shared.aclose()
    await eventually(lambda: fresh_server.connections.open == 0, "every connection closed")


def test_one_sync_client_shared_by_16_threads(fresh_server: EmulatorServer) -> None:
    threads_count, calls_per_thread = 16, 15
    client = Client(base_url=fresh_server.url, max_retries=0, timeout=30)
    answers: dict[tuple[int, int], str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)

    def worker(thread_number: int) -> None:
        try:
            start.wait()
            for call in range(calls_per_thread):
                prompt = f"thread {thread_number} call {call}"
                kind = call % 3
                if kind == 0:
                    text = client.chat(prompt).text
                elif kind == 1:
                    text = client.generate_text(prompt).text
                else:
                    with client.stream_text(prompt) as stream:
                        text = stream.until_done()
                answers[(thread_number, call)] = text
        except BaseException as error:  # reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(number,), daemon=True) for number in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert errors == []
    crossed: dict[tuple[int, int], Any] = {
        key: text for key, text in answers.items() if not text.endswith(f"You said: thread {key[0]} call {key[1]}")
    }
    assert crossed == {}
    assert len(answers) == threads_count * calls_per_thread
    assert 1 < fresh_server.connections.peak <= threads_count
    client.close()
    eventually_blocking(lambda: fresh_server.connections.open == 0, "every connection closed")
