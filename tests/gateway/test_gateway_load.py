"""Load through the gateway over loopback: 200 concurrent streaming clients (the real `openai`
async client) through one gateway, with the emulator upstream.

Every answer must be complete and be the answer to its own prompt; afterwards no connection is
left open on either side beyond the upstream pool's keep-alive ones, and repeating the load does
not grow the memory Python holds (tracemalloc, measured between rounds). About 10 s of CPU.
"""

from __future__ import annotations

import collections
import gc
import tracemalloc
from collections.abc import Iterator

import anyio
import httpx
import openai
import pytest
from conftest import alive_instances, eventually
from starlette.requests import Request

from dynaspark_sdk import AsyncClient, AsyncStream
from dynaspark_sdk.integrations.gateway import RunningGateway, create_app, serve_in_thread
from dynaspark_sdk.testing import Emulator, EmulatorServer, serve

# It measures memory under load: the serial pass runs it in its load lane (scripts/test).
pytestmark = [pytest.mark.anyio, pytest.mark.serial, pytest.mark.load]

CLIENTS = 200
#: The gateway's objects of one request: none may outlive it.
TRACKED = (AsyncStream, Request, httpx.Response)
#: Only a hang guard.
HANG_GUARD_SECONDS = 120.0
#: What the upstream client may keep open between calls (the SDK's httpx keep-alive limit).
UPSTREAM_KEEPALIVE = 20
#: Growth of Python's traced memory allowed over one more round of 200 streams. Measured: about
#: 60 KB (containers resizing, pools settling). Keeping each stream's state would take some
#: megabytes a round; the count of live streams below catches even a small leak exactly.
MAX_GROWTH_BYTES = 1024 * 1024


@pytest.fixture
def anyio_backend() -> str:
    # openai's AsyncStream leaves its generators to the garbage collector, which trio reports.
    return "asyncio"


@pytest.fixture(scope="module")
def upstream() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=1_000_000, stream_delay=0.001)) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(upstream: EmulatorServer) -> Iterator[RunningGateway]:
    with serve_in_thread(create_app(AsyncClient(base_url=upstream.url), log=lambda _: None)) as running:
        yield running


async def one_round(url: str) -> dict[int, str]:
    """CLIENTS streams at once, each on its own connection: number -> the text that arrived."""
    texts: dict[int, str] = {}

    async def one(oai: openai.AsyncOpenAI, number: int) -> None:
        stream = await oai.chat.completions.create(
            model="text/openai", messages=[{"role": "user", "content": f"p{number} q{number}"}], stream=True
        )
        pieces: list[str] = []
        finished = None
        async with stream:
            async for chunk in stream:
                if chunk.choices:
                    pieces.append(chunk.choices[0].delta.content or "")
                    finished = chunk.choices[0].finish_reason or finished
        assert finished == "stop"
        texts[number] = "".join(pieces)

    async with openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0, timeout=60.0) as oai:
        with anyio.fail_after(HANG_GUARD_SECONDS):
            async with anyio.create_task_group() as group:
                for number in range(CLIENTS):
                    group.start_soon(one, oai, number)
    return texts


def check_answers(texts: dict[int, str]) -> None:
    assert len(texts) == CLIENTS
    for number, text in texts.items():
        assert text == f"[openai] You said: p{number} q{number}"


def traced_now() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def test_200_concurrent_streams_complete_leak_no_connection_and_keep_memory_flat(
    upstream: EmulatorServer, gateway: RunningGateway
) -> None:
    emulator = upstream.emulator
    check_answers(await one_round(gateway.url))  # warms every cache and pool up
    assert len(emulator.requests) == CLIENTS
    await eventually(lambda: gateway.open_connections == 0, "the clients' connections closed", seconds=10.0)
    await eventually(
        lambda: upstream.connections.open <= UPSTREAM_KEEPALIVE, "only keep-alive connections upstream", seconds=10.0
    )

    emulator.clear_requests()
    tracemalloc.start()
    try:
        check_answers(await one_round(gateway.url))
        emulator.clear_requests()
        before = traced_now()
        check_answers(await one_round(gateway.url))
        emulator.clear_requests()
        after = traced_now()
    finally:
        tracemalloc.stop()
    assert after - before < MAX_GROWTH_BYTES, f"traced memory grew by {after - before} bytes"
    # Nothing of a finished request stays alive: no stream, request or answer object.
    alive = collections.Counter(type(o).__name__ for cls in TRACKED for o in alive_instances(cls))
    assert alive["AsyncStream"] == 0 and alive["Request"] == 0, alive
    assert alive["Response"] <= UPSTREAM_KEEPALIVE, alive
    await eventually(lambda: gateway.open_connections == 0, "the clients' connections closed", seconds=10.0)
    await eventually(
        lambda: upstream.connections.open <= UPSTREAM_KEEPALIVE, "only keep-alive connections upstream", seconds=10.0
    )
