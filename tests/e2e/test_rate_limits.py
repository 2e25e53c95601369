"""Rate limits over loopback sockets, for Client, AsyncClient (asyncio and trio) and the provider.

A 429 with a short Retry-After is waited out and retried; one whose wait lies beyond the retry
cap is raised at once, saying the wait; a used-up window (X-RateLimit-Remaining: 0) is waited
for, or refused, before a request is burned. The emulator's request log shows what was sent,
and its small window (two requests a second) means a wait takes about a second.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest
from conftest import Dual

from dynaspark_sdk import (
    AsyncClient,
    AsyncStream,
    Client,
    Dynaspark,
    RateLimit,
    RateLimitError,
    RetryPolicy,
    Stream,
)
from dynaspark_sdk.integrations import gpt4free as provider_module
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve

# Its tests time the waits they cause: the serial pass runs them alone (scripts/test).
pytestmark = [pytest.mark.anyio, pytest.mark.serial]

FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)
#: Only a hang guard: the longest wait here is a window's reset, at most two seconds away.
HANG_GUARD_SECONDS = 20.0
LIMIT = 2
WINDOW_SECONDS = 1.0

# The sync client does not touch the event loop the test runs on, so it runs once; the async
# client runs on both backends (conftest's default would run the sync client twice, and these
# tests wait for real).
CLIENTS = pytest.mark.parametrize(
    ("client_kind", "anyio_backend"),
    [("sync", "asyncio"), ("async", "asyncio"), ("async", "trio")],
    ids=["sync", "async-asyncio", "async-trio"],
)


async def call(client: Client | AsyncClient, method: str, *args: Any) -> Any:
    """`client.method(*args)` under the hang guard (the sync client in a worker thread)."""
    with anyio.fail_after(HANG_GUARD_SECONDS):
        if isinstance(client, Client):
            bound = functools.partial(getattr(client, method), *args)
            return await anyio.to_thread.run_sync(bound, abandon_on_cancel=True)
        return await getattr(client, method)(*args)


async def streamed(client: Client | AsyncClient, prompt: str) -> Stream | AsyncStream:
    """`client.stream_text(prompt)` read to its end, under the hang guard; the stream."""
    with anyio.fail_after(HANG_GUARD_SECONDS):
        if isinstance(client, Client):
            stream = client.stream_text(prompt)
            await anyio.to_thread.run_sync(stream.until_done, abandon_on_cancel=True)
            return stream
        async_stream = client.stream_text(prompt)
        await async_stream.until_done()
        return async_stream


async def attempt(client: Client | AsyncClient, method: str, prompt: str) -> Any:
    """`method` ("chat", "generate_text" or "stream_text") called with `prompt`."""
    if method == "stream_text":
        return await streamed(client, prompt)
    return await call(client, method, prompt)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=LIMIT, window_seconds=WINDOW_SECONDS)) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[Emulator]:
    emulator = server.emulator
    emulator.clear_faults()
    emulator.clear_requests()
    emulator.reset_rate_limits()
    yield emulator
    emulator.clear_faults()


def requests_sent(emulator: Emulator) -> int:
    """How many requests reached the emulator."""
    return len(emulator.requests)


# --------------------------------------------------------------------------- 429 answers


@CLIENTS
async def test_a_429_with_retry_after_1_is_waited_out_then_succeeds(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    client = make_dual(base_url=server.url, retry_policy=FAST, max_retries=1).client
    emulator.inject(faults.status(429, retry_after=1))
    start = time.monotonic()
    answer = await call(client, "chat", "patience")
    waited = time.monotonic() - start
    assert answer.text.endswith("You said: patience")
    assert requests_sent(emulator) == 2
    # A lower bound on a deliberate sleep, not a performance bound: the retry came no earlier
    # than Retry-After asked (the margin covers clocks that wake a hair early).
    assert waited >= 0.95


@CLIENTS
async def test_the_services_own_429_is_waited_out_until_its_window_resets(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    other = make_dual(base_url=server.url, max_retries=0).client
    for prompt in ("one", "two"):
        await call(other, "generate_text", prompt)
    # A client that has not seen the window used up sends, gets 429 with Retry-After: 1, waits,
    # and its one retry succeeds: had it retried before the window reset, it would get 429 again.
    client = make_dual(base_url=server.url, retry_policy=FAST, max_retries=1).client
    answer = await call(client, "generate_text", "three")
    assert answer.text.endswith("You said: three")
    assert requests_sent(emulator) == 4
    assert answer.rate_limit == client.rate_limit
    assert answer.rate_limit.limit == LIMIT and answer.rate_limit.remaining == LIMIT - 1


@CLIENTS
async def test_a_429_whose_wait_is_past_the_cap_is_raised_at_once_saying_the_wait(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    client = make_dual(base_url=server.url, retry_policy=FAST, max_retries=2).client
    for method in ("chat", "generate_text", "stream_text"):
        emulator.clear_requests()
        emulator.inject(faults.status(429, retry_after=120))
        start = time.monotonic()
        with pytest.raises(RateLimitError) as caught:
            await attempt(client, method, "hi")
        # No waiting: far less than the 120 s asked for, or even the 5 s cap (a generous bound).
        assert time.monotonic() - start < FAST.max_wait
        assert caught.value.retry_after == 120
        assert "retry after 120 s" in str(caught.value)
        assert "max_wait=5 s" in str(caught.value)
        assert requests_sent(emulator) == 1


@CLIENTS
async def test_a_real_429s_numbers_are_those_of_the_error_and_the_client(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    other = make_dual(base_url=server.url, max_retries=0).client
    for prompt in ("one", "two"):
        await call(other, "chat", prompt)
    client = make_dual(base_url=server.url, max_retries=0, on_rate_limit="raise").client
    with pytest.raises(RateLimitError) as caught:
        await call(client, "chat", "three")
    error = caught.value
    assert error.status_code == 429
    assert error.rate_limit == client.rate_limit == other.rate_limit
    assert error.rate_limit.limit == LIMIT and error.rate_limit.remaining == 0
    assert error.retry_after is not None and 1 <= error.retry_after <= 2
    assert requests_sent(emulator) == 3
    # The window is known to be used up now: the next call is refused without being sent.
    with pytest.raises(RateLimitError, match="used up"):
        await call(client, "chat", "four")
    assert requests_sent(emulator) == 3


# --------------------------------------------------------------------------- a used-up window


@CLIENTS
async def test_a_used_up_window_is_waited_for_instead_of_burning_a_request(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    # No retries: a request sent before the reset would get a 429 and fail the call.
    client = make_dual(base_url=server.url, max_retries=0, on_rate_limit="wait").client
    first = await call(client, "chat", "one")
    assert first.rate_limit == RateLimit(limit=LIMIT, remaining=1, reset=first.rate_limit.reset)
    second = await call(client, "generate_text", "two")
    assert second.rate_limit.remaining == 0
    assert client.rate_limit == second.rate_limit
    third = await streamed(client, "three")
    assert third.text.endswith("You said: three")
    assert requests_sent(emulator) == 3  # nothing was sent, let alone refused, before the reset
    assert third.rate_limit.remaining == LIMIT - 1
    assert second.rate_limit.reset is not None and third.rate_limit.reset is not None
    assert third.rate_limit.reset > second.rate_limit.reset  # a new window
    assert client.rate_limit == third.rate_limit


@CLIENTS
async def test_a_used_up_window_is_refused_without_sending_when_asked_to_raise(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    client = make_dual(base_url=server.url, max_retries=2, retry_policy=FAST, on_rate_limit="raise").client
    await call(client, "chat", "one")
    second = await call(client, "chat", "two")
    for method in ("chat", "generate_text", "stream_text"):
        with pytest.raises(RateLimitError, match="used up") as caught:
            await attempt(client, method, "three")
        error = caught.value
        assert error.rate_limit == client.rate_limit == second.rate_limit
        assert error.rate_limit.remaining == 0 and error.rate_limit.limit == LIMIT
        assert error.retry_after is not None and 0 < error.retry_after <= 2
        assert f"{error.retry_after:.0f} s" in str(error)
    assert requests_sent(emulator) == 2  # none of the three refusals was sent


async def test_a_used_up_window_whose_reset_is_past_the_cap_is_refused_even_when_waiting(
    make_dual: Callable[..., Dual],
) -> None:
    with serve(Emulator(rate_limit=1, window_seconds=3600)) as hourly:
        client = make_dual(base_url=hourly.url, retry_policy=FAST, on_rate_limit="wait").client
        await call(client, "chat", "the only one")
        start = time.monotonic()
        with pytest.raises(RateLimitError, match="used up") as caught:
            await call(client, "chat", "one too many")
        assert time.monotonic() - start < FAST.max_wait  # not waited for: it is an hour away
        assert caught.value.retry_after is not None and caught.value.retry_after > 3000
        assert len(hourly.emulator.requests) == 1


# --------------------------------------------------------------------------- the provider


@pytest.fixture
def provider_server(server: EmulatorServer, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """The provider pointed at the emulator, with a fresh shared client (its own defaults)."""
    monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
    monkeypatch.setattr(provider_module, "_shared", {})
    return server


async def ask_provider(prompt: str) -> list[str]:
    """What the provider yields for `prompt`, under the hang guard."""
    messages = [{"role": "user", "content": prompt}]
    with anyio.fail_after(HANG_GUARD_SECONDS):
        return [piece async for piece in Dynaspark.create_async_generator("", messages)]


async def test_the_provider_waits_for_a_used_up_window(provider_server: EmulatorServer, emulator: Emulator) -> None:
    answers = [await ask_provider(prompt) for prompt in ("one", "two", "three")]
    assert [pieces[-1].rsplit(" ", 1)[-1] for pieces in answers] == ["one", "two", "three"]
    assert requests_sent(emulator) == 3  # the third waited for the reset instead of getting a 429
    shared = provider_module._shared[(provider_server.url, None)]
    assert shared.rate_limit.remaining == LIMIT - 1


async def test_the_provider_waits_out_a_retry_after_and_raises_past_the_cap(
    provider_server: EmulatorServer, emulator: Emulator
) -> None:
    emulator.inject(faults.status(429, retry_after=1))
    assert (await ask_provider("patience"))[-1].endswith("You said: patience")
    assert requests_sent(emulator) == 2
    emulator.clear_requests()
    emulator.inject(faults.status(429, retry_after=3600))
    start = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await ask_provider("too long")
    assert time.monotonic() - start < 5  # the provider's client caps waits at 60 s: not waited
    assert caught.value.retry_after == 3600
    assert "retry after 3600 s" in str(caught.value)
    assert requests_sent(emulator) == 1
