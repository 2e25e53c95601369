"""The fault matrix: every fault the emulator can commit, over real loopback sockets.

For Client, AsyncClient (asyncio and trio) and the Dynaspark provider, each fault is either
recovered by a retry (when it is worth one) or raised as its own typed error; nothing hangs
(every call runs under a hang guard), no httpx exception reaches the caller, not even in an
error's `__cause__`/`__context__` chain, and a thousand failures in a row leave the connection
pool as it was.
"""

from __future__ import annotations

import collections
import functools
import importlib.util
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import anyio
import anyio.to_thread
import httpx
import pytest
from conftest import Dual, eventually

from dynaspark_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    Client,
    Dynaspark,
    DynasparkError,
    InternalServerError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    StreamInterruptedError,
)
from dynaspark_sdk.integrations import gpt4free as provider_module
from dynaspark_sdk.testing import Emulator, EmulatorServer, Fault, faults, serve

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)
#: Only a hang guard: every call here takes milliseconds, or a fraction of a second when a
#: timeout is the point.
HANG_GUARD_SECONDS = 20.0
#: The read timeout of the cases about timeouts, and the delays that overrun it.
SHORT_READ = 0.2
SLOW = 1.0
TIMEOUT = httpx.Timeout(10.0)
SHORT_TIMEOUT = httpx.Timeout(10.0, read=SHORT_READ)
PROMPT = "w1 w2 w3 w4 w5"
OPERATIONS = ("chat", "generate_text", "stream_text", "stream_chat")
STREAMS = frozenset({"stream_text", "stream_chat"})

# The sync client does not touch the event loop the test runs on, so it runs once; the async
# client runs on both backends. (conftest's default would run the sync client twice.)
CLIENTS = pytest.mark.parametrize(
    ("client_kind", "anyio_backend"),
    [("sync", "asyncio"), ("async", "asyncio"), ("async", "trio")],
    ids=["sync", "async-asyncio", "async-trio"],
)


def full_answer(operation: str, prompt: str = PROMPT) -> str:
    """What the emulator answers `operation` with when nothing goes wrong."""
    model = "gemini-1.5-flash-8b" if operation in ("chat", "stream_chat") else "openai"
    return f"[{model}] You said: {prompt}"


# --------------------------------------------------------------------------- running a call


def _perform_sync(client: Client, operation: str, prompt: str, pieces: list[str]) -> str:
    if operation in STREAMS:
        with getattr(client, operation)(prompt) as stream:
            for piece in stream:
                pieces.append(piece)
            text: str = stream.text
            return text
    answer: str = getattr(client, operation)(prompt).text
    return answer


async def _perform_async(client: AsyncClient, operation: str, prompt: str, pieces: list[str]) -> str:
    if operation in STREAMS:
        async with getattr(client, operation)(prompt) as stream:
            async for piece in stream:
                pieces.append(piece)
            text: str = stream.text
            return text
    answer: str = (await getattr(client, operation)(prompt)).text
    return answer


async def perform(
    client: Client | AsyncClient, operation: str, prompt: str = PROMPT, pieces: list[str] | None = None
) -> str:
    """Run `operation` to its end under the hang guard and return the answer's text; a stream's
    pieces are appended to `pieces` as they arrive. The sync client runs in a worker thread, so
    that the guard can give up on it."""
    received = pieces if pieces is not None else []
    with anyio.fail_after(HANG_GUARD_SECONDS):
        if isinstance(client, Client):
            call = functools.partial(_perform_sync, client, operation, prompt, received)
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        return await _perform_async(client, operation, prompt, received)


def assert_no_transport_exception(error: BaseException) -> None:
    """Neither `error` nor anything in its `__cause__`/`__context__` chains comes from httpx,
    httpcore or h11: the caller sees the SDK's errors only."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        package = type(current).__module__.split(".")[0]
        assert package not in ("httpx", "httpcore", "h11"), f"{current!r} is in the chain of {error!r}"
        pending += [current.__cause__, current.__context__]


async def failure_of(
    client: Client | AsyncClient, operation: str, prompt: str = PROMPT, pieces: list[str] | None = None
) -> DynasparkError:
    """The SDK error `operation` raises (a test failure if it succeeds or raises anything else)."""
    with pytest.raises(DynasparkError) as caught:
        await perform(client, operation, prompt, pieces)
    assert_no_transport_exception(caught.value)
    return caught.value


def pooled_connections(client: Client | AsyncClient) -> int:
    """How many connections the client's httpx pools hold, as httpcore counts them."""
    https: list[httpx.Client] | list[httpx.AsyncClient]
    https = client._pool.pools()
    total = 0
    for http in https:
        transport: Any = http._transport
        total += len(transport._pool.connections)
    return total


# --------------------------------------------------------------------------- the matrix


class FaultCase(NamedTuple):
    """One fault, and what each operation makes of it."""

    name: str
    make: Callable[[], Fault]
    #: The error each operation raises when the fault is not retried (or every retry hits it).
    errors: Mapping[str, type[DynasparkError]]
    #: The operations in which one retry gets past the fault.
    recovered: frozenset[str]
    status: int | None = None
    timeout: httpx.Timeout = TIMEOUT
    operations: tuple[str, ...] = OPERATIONS


def every(error: type[DynasparkError]) -> dict[str, type[DynasparkError]]:
    """The same error for every operation."""
    return dict.fromkeys(OPERATIONS, error)


ALL = frozenset(OPERATIONS)
NONE: frozenset[str] = frozenset()

CASES = [
    FaultCase("408", lambda: faults.status(408), every(APIStatusError), ALL, status=408),
    FaultCase("429 Retry-After 0", lambda: faults.status(429, retry_after=0), every(RateLimitError), ALL, 429),
    # No Retry-After: the wait is the window's reset, an hour away, past max_wait.
    FaultCase("429 reset in an hour", lambda: faults.status(429), every(RateLimitError), NONE, status=429),
    FaultCase("500", lambda: faults.status(500), every(InternalServerError), ALL, status=500),
    FaultCase("502", lambda: faults.status(502), every(InternalServerError), ALL, status=502),
    FaultCase("503", lambda: faults.status(503), every(InternalServerError), ALL, status=503),
    FaultCase("504", lambda: faults.status(504), every(InternalServerError), ALL, status=504),
    FaultCase("HTML page 502", lambda: faults.html_page(502), every(InternalServerError), ALL, status=502),
    FaultCase("HTML page 200", lambda: faults.html_page(200), every(ResponseValidationError), ALL),
    FaultCase("bad JSON", faults.bad_json, every(ResponseValidationError), NONE),
    FaultCase("JSON without response", faults.missing_response, every(ResponseValidationError), NONE),
    FaultCase("wrong content type", faults.wrong_content_type, every(ResponseValidationError), NONE),
    FaultCase("reset before the answer", faults.reset, every(APIConnectionError), ALL),
    FaultCase(
        "cut midway",
        faults.cut_stream,
        {
            "chat": APIConnectionError,
            "generate_text": APIConnectionError,
            # Text had reached the caller: never retried, never silently short.
            "stream_text": StreamInterruptedError,
            # A JSON answer gives its text only whole: nothing reached the caller, so it is retried.
            "stream_chat": StreamInterruptedError,
        },
        frozenset({"chat", "generate_text", "stream_chat"}),
    ),
    FaultCase(
        "slow first byte",
        lambda: faults.slow_first_byte(SLOW),
        every(APITimeoutError),
        ALL,
        timeout=SHORT_TIMEOUT,
        operations=("chat", "stream_text"),
    ),
    FaultCase(
        "slow stream",
        lambda: faults.slow_stream(SLOW),
        {
            "chat": APITimeoutError,
            "generate_text": APITimeoutError,
            "stream_text": StreamInterruptedError,
            "stream_chat": StreamInterruptedError,
        },
        NONE,
        timeout=SHORT_TIMEOUT,
        operations=("generate_text", "stream_text", "stream_chat"),
    ),
]
CASE_IDS = [case.name for case in CASES]


def check_error(error: DynasparkError, case: FaultCase, operation: str) -> None:
    """`error` is exactly the case's error for `operation`, and says what happened."""
    expected = case.errors[operation]
    assert type(error) is expected, f"{case.name} / {operation}: {error!r}"
    if isinstance(error, APIStatusError):
        assert error.status_code == case.status
        assert str(case.status) in str(error)
    if isinstance(error, RateLimitError) and case.recovered == NONE:
        assert error.retry_after is not None and error.retry_after > FAST.max_wait
        assert f"retry after {error.retry_after:.0f} s" in str(error)
        assert "max_wait" in str(error)
    if case.name.startswith("HTML page"):
        assert "HTML page" in str(error)
    if isinstance(error, ResponseValidationError):
        assert error.status_code == 200
    if isinstance(error, StreamInterruptedError):
        assert full_answer(operation).startswith(error.partial_text)
        assert len(error.partial_text) < len(full_answer(operation))


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    # Faults that alter an answer count against the limit; a thousand of them must not hit it.
    with serve(Emulator(rate_limit=1_000_000)) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[Emulator]:
    emulator = server.emulator
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator
    emulator.clear_faults()


@CLIENTS
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
async def test_without_retries_each_fault_raises_its_typed_error(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator, case: FaultCase
) -> None:
    client = make_dual(base_url=server.url, max_retries=0, retry_policy=FAST, timeout=case.timeout).client
    for operation in case.operations:
        emulator.clear_requests()
        emulator.inject(case.make())
        check_error(await failure_of(client, operation), case, operation)
        assert len(emulator.requests) == 1
    # The connection that failed was released: the next call succeeds on the same client.
    assert await perform(client, "generate_text") == full_answer("generate_text")


@CLIENTS
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
async def test_with_retries_each_fault_is_recovered_or_raised_at_once(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator, case: FaultCase
) -> None:
    client = make_dual(base_url=server.url, max_retries=2, retry_policy=FAST, timeout=case.timeout).client
    for operation in case.operations:
        emulator.clear_requests()
        emulator.inject(case.make())
        if operation in case.recovered:
            assert await perform(client, operation) == full_answer(operation)
            assert len(emulator.requests) == 2
        else:
            check_error(await failure_of(client, operation), case, operation)
            assert len(emulator.requests) == 1  # not worth a retry: raised at once


@CLIENTS
async def test_a_slow_stream_within_the_timeout_completes(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    client = make_dual(base_url=server.url, max_retries=0, timeout=httpx.Timeout(10.0, read=2.0)).client
    for operation in ("stream_text", "stream_chat", "generate_text"):
        emulator.inject(faults.slow_stream(0.05))
        pieces: list[str] = []
        assert await perform(client, operation, pieces=pieces) == full_answer(operation)
        if operation == "stream_text":
            assert len(pieces) == len(full_answer(operation).split())


# --------------------------------------------------------------------------- streams cut midway

# The emulator streams one event per word: "[openai] ", "You ", "said: ", "w1 ", ... then [DONE].
STREAM_WORDS = full_answer("stream_text").split(" ")


@CLIENTS
@pytest.mark.parametrize("after_events", range(len(STREAM_WORDS) + 1))
async def test_stream_text_cut_anywhere_raises_with_exactly_the_text_that_arrived(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator, after_events: int
) -> None:
    client = make_dual(base_url=server.url, max_retries=2, retry_policy=FAST, timeout=TIMEOUT).client
    # Three times: a cut before any text is retried, and every attempt must meet it.
    emulator.inject(faults.cut_stream(after_events=after_events), times=3)
    pieces: list[str] = []
    error = await failure_of(client, "stream_text", pieces=pieces)
    assert type(error) is StreamInterruptedError
    expected = "".join(word + " " for word in STREAM_WORDS[:after_events])
    if after_events == len(STREAM_WORDS):
        expected = expected[:-1]  # the last word has no space after it; only [DONE] was missing
    assert error.partial_text == "".join(pieces) == expected
    assert len(emulator.requests) == (1 if pieces else 3)


@CLIENTS
async def test_a_stream_cut_after_done_is_complete(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    client = make_dual(base_url=server.url, max_retries=0, timeout=TIMEOUT).client
    # Every event, [DONE] included, then the connection closes without ending the chunked body.
    emulator.inject(faults.cut_stream(after_events=len(STREAM_WORDS) + 1))
    pieces: list[str] = []
    assert await perform(client, "stream_text", pieces=pieces) == full_answer("stream_text")
    assert len(pieces) == len(STREAM_WORDS)


@CLIENTS
async def test_chat_stream_cut_midway_is_retried_then_raises_never_a_short_answer(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    client = make_dual(base_url=server.url, max_retries=2, retry_policy=FAST, timeout=TIMEOUT).client
    emulator.inject(faults.cut_stream(), times=3)
    pieces: list[str] = []
    error = await failure_of(client, "stream_chat", pieces=pieces)
    assert type(error) is StreamInterruptedError
    assert error.partial_text == "" and pieces == []
    assert len(emulator.requests) == 3


# --------------------------------------------------------------------------- the pool


# Failures that each leave a connection in a different state: reused after an error status,
# reset by the server, cut midway, abandoned by the client mid-body, or timed out.
ROTATION: list[tuple[Callable[[], Fault], str]] = [
    (lambda: faults.status(500), "chat"),
    (faults.reset, "generate_text"),
    (lambda: faults.cut_stream(after_events=1), "stream_text"),
    (lambda: faults.html_page(502), "stream_text"),
    (faults.bad_json, "stream_chat"),
    (faults.cut_stream, "chat"),
    (lambda: faults.status(503), "generate_text"),
    (lambda: faults.html_page(200), "stream_chat"),
    (lambda: faults.wrong_content_type("image/png"), "stream_text"),
    (faults.missing_response, "generate_text"),
]
FAILURES = 1000


@pytest.mark.slow
@CLIENTS
async def test_a_thousand_failures_in_a_row_do_not_exhaust_the_pool(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    client = make_dual(base_url=server.url, max_retries=0, timeout=TIMEOUT).client
    impatient = client.with_options(timeout=httpx.Timeout(10.0, read=0.1))  # shares the pool
    assert await perform(client, "chat") == full_answer("chat")
    await eventually(lambda: server.connections.open == 1, "one keep-alive connection")
    server.connections.reset_peak()
    kinds: collections.Counter[str] = collections.Counter()
    for number in range(FAILURES):
        if number % 250 == 249:
            emulator.inject(faults.slow_first_byte(0.5))
            error = await failure_of(impatient, "chat")
        else:
            make_fault, operation = ROTATION[number % len(ROTATION)]
            emulator.inject(make_fault())
            error = await failure_of(client, operation)
        kinds[type(error).__name__] += 1
        if number % 50 == 0:
            # One call at a time: one connection in use, perhaps one closed and not yet pruned.
            assert pooled_connections(client) <= 2
    assert sum(kinds.values()) == FAILURES
    assert set(kinds) == {
        "InternalServerError",
        "APIConnectionError",
        "StreamInterruptedError",
        "ResponseValidationError",
        "APITimeoutError",
    }
    assert emulator.pending_faults == 0
    # Sequential calls need one connection at a time; a few more may be closing on the server's
    # side (a timed-out request is still being slept on there). Far below a leak of 1000.
    assert server.connections.peak <= 5
    await eventually(lambda: server.connections.open <= 1, "back to the keep-alive connection")
    assert pooled_connections(client) <= 1
    # Not exhausted: a normal call still goes through at once.
    assert await perform(client, "stream_text") == full_answer("stream_text")
    assert await perform(client, "chat") == full_answer("chat")
    if isinstance(client, Client):
        client.close()
    else:
        await client.aclose()
    await eventually(lambda: server.connections.open == 0, "every connection closed")


# --------------------------------------------------------------------------- the provider


@pytest.fixture
def provider_server(server: EmulatorServer, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """The provider pointed at the emulator through DYNASPARK_BASE_URL, its shared client with
    a fast retry policy (its own waits half a second before a retry). Like the provider's own
    shared clients, it sends over aiohttp on asyncio (and over httpx's transport on trio)."""
    monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
    aiohttp = importlib.util.find_spec("aiohttp") is not None
    fast = AsyncClient(base_url=server.url, retry_policy=FAST, max_retries=2, timeout=TIMEOUT, use_aiohttp=aiohttp)
    monkeypatch.setattr(provider_module, "_shared", {(server.url, None): fast})
    return server


# gpt4free sends an empty model name as its default_model, unresolved (no alias lookup).
PROVIDER_ANSWER = f"[gemini-1.5-flash] You said: {PROMPT}"


async def provider_pieces(http_timeout: httpx.Timeout = TIMEOUT) -> list[str]:
    """What the provider yields for PROMPT, under the hang guard."""
    messages = [{"role": "user", "content": PROMPT}]
    with anyio.fail_after(HANG_GUARD_SECONDS):
        return [piece async for piece in Dynaspark.create_async_generator("", messages, timeout=http_timeout)]


async def provider_failure(http_timeout: httpx.Timeout = TIMEOUT) -> DynasparkError:
    """The SDK error the provider raises for PROMPT."""
    with pytest.raises(DynasparkError) as caught:
        await provider_pieces(http_timeout)
    assert_no_transport_exception(caught.value)
    return caught.value


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
async def test_the_provider_recovers_or_raises_typed_errors(
    provider_server: EmulatorServer, emulator: Emulator, case: FaultCase
) -> None:
    emulator.inject(case.make())
    if "stream_chat" in case.recovered:
        assert await provider_pieces(case.timeout) == [PROVIDER_ANSWER]
        assert len(emulator.requests) == 2
        emulator.clear_requests()
        emulator.inject(case.make(), times=3)
        check_error(await provider_failure(case.timeout), case, "stream_chat")
        assert len(emulator.requests) == 3
    else:
        check_error(await provider_failure(case.timeout), case, "stream_chat")
        assert len(emulator.requests) == 1
    assert await provider_pieces() == [PROVIDER_ANSWER]


async def test_the_provider_with_its_own_client_recovers_and_raises(
    server: EmulatorServer, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
    monkeypatch.setattr(provider_module, "_shared", {})
    emulator.inject(faults.reset())
    assert await provider_pieces() == [PROVIDER_ANSWER]
    assert len(emulator.requests) == 2
    emulator.inject(faults.missing_response())
    error = await provider_failure()
    assert type(error) is ResponseValidationError
    assert "response" in str(error)
