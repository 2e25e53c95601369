"""What the gateway's tests share: the real `openai` clients (sync or async, with strict
response validation, so a shape that drifts from OpenAI's types fails), the emulator upstream
cleared for each test, and small helpers. A test module imports the fixtures it uses
(`cleared_emulator` is the fixture `emulator`, `openai_factory` is `make_openai`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from conftest import Dual

from dynaspark_sdk.testing import Emulator, EmulatorServer

__all__ = ["CLIENTS", "STREAM_CLIENTS", "cleared_emulator", "failure", "invoke", "openai_factory", "user"]

# The sync client does not use the test's event loop, so it runs once; the async client runs
# on both backends.
CLIENTS = pytest.mark.parametrize(
    ("client_kind", "anyio_backend"),
    [("sync", "asyncio"), ("async", "asyncio"), ("async", "trio")],
    ids=["sync", "async-asyncio", "async-trio"],
)
# openai's AsyncStream leaves its async generators for the garbage collector when it stops at
# [DONE], which trio reports as unraisable errors (asyncio finalises them quietly): streams are
# read with the async client on asyncio only.
STREAM_CLIENTS = pytest.mark.parametrize(
    ("client_kind", "anyio_backend"), [("sync", "asyncio"), ("async", "asyncio")], ids=["sync", "async-asyncio"]
)


@pytest.fixture(name="emulator")
def cleared_emulator(upstream: EmulatorServer) -> Iterator[Emulator]:
    """The shared upstream emulator, its faults and recorded requests cleared."""
    emulator = upstream.emulator
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator
    emulator.clear_faults()


@pytest.fixture(name="make_openai")
async def openai_factory(client_kind: str, anyio_backend: str) -> Any:
    """Build an openai client (sync or async, as parametrized) for a URL; closes what it built."""
    made: list[Dual] = []

    def build(url: str, api_key: str = "unused") -> Dual:
        kind = openai.OpenAI if client_kind == "sync" else openai.AsyncOpenAI
        client = kind(base_url=url, api_key=api_key, max_retries=0, timeout=20.0, _strict_response_validation=True)
        made.append(Dual(client_kind, client))
        return made[-1]

    yield build
    for dual in made:
        await dual.resolve(dual.client.close())


async def invoke(dual: Dual, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call `method` (of either client) when awaited, and resolve its result."""
    return await dual.resolve(method(*args, **kwargs))


async def failure(call: Any) -> openai.APIError:
    """The openai error `call` raises."""
    with pytest.raises(openai.APIError) as caught:
        await call
    return caught.value


def user(text: str) -> list[Any]:
    """One user message."""
    return [{"role": "user", "content": text}]
