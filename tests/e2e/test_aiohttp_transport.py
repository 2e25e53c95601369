"""`AiohttpTransport` under the SDK's AsyncClient, against the emulator on a real loopback socket.

asyncio only: aiohttp has no trio support (the last test checks that trio is refused clearly).
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from conftest import alive_instances

pytest.importorskip("aiohttp")

from dynaspark_sdk import (
    APIConnectionError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    RetryPolicy,
    StreamInterruptedError,
)
from dynaspark_sdk.aiohttp_transport import AiohttpTransport
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
Server = EmulatorServer


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only, so this module overrides the asyncio+trio parametrization."""
    return "asyncio"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator()) as running:
        yield running


@pytest.fixture
async def client(server: EmulatorServer) -> AsyncIterator[AsyncClient]:
    async with (
        httpx.AsyncClient(transport=AiohttpTransport()) as http,
        AsyncClient(base_url=server.url, http_client=http, max_retries=0) as sdk,
    ):
        yield sdk


@pytest.mark.anyio
async def test_chat_sends_the_form_and_returns_the_answer(client: AsyncClient, server: Server) -> None:
    answer = await client.chat("What is on this picture?", model="gemini-2.0-flash-lite", media=PNG)

    expected = "[gemini-2.0-flash-lite] You said: What is on this picture? (with a 72-byte image/png image)"
    assert answer.text == expected
    assert answer.rate_limit.limit == 100
    request = server.emulator.requests[-1]
    assert request.fields == {"user_input": "What is on this picture?", "ai_model": "gemini-2.0-flash-lite"}
    assert [(f.filename, f.content_type, f.data) for f in request.files] == [("image.png", "image/png", PNG)]


@pytest.mark.anyio
async def test_a_base_url_s_user_and_password_are_sent_as_httpx_sends_them(server: Server) -> None:
    # httpx turns them into the Authorization header; aiohttp refused the URL that still held
    # them (ValueError, no SDK error). Now the same request as over httpx's own transport.
    base = server.url.replace("http://", "http://alice:pw%40x@", 1)
    sent = []
    for transport in (AiohttpTransport(), None):
        async with (
            httpx.AsyncClient(transport=transport) as http,
            AsyncClient(base_url=base, http_client=http, max_retries=0) as sdk,
        ):
            assert (await sdk.chat("hi")).text.endswith("You said: hi")
        request = server.emulator.requests[-1]
        sent.append((request.header("authorization"), request.header("host"), request.path))
    assert sent[0] == sent[1] == ("Basic YWxpY2U6cHdAeA==", server.url.removeprefix("http://"), sent[1][2])


@pytest.mark.anyio
async def test_stream_text_yields_each_event(client: AsyncClient) -> None:
    async with client.stream_text("one two three") as stream:
        pieces = [piece async for piece in stream]

    assert pieces == ["[openai] ", "You ", "said: ", "one ", "two ", "three"]
    assert stream.text == "[openai] You said: one two three"


@pytest.mark.anyio
async def test_a_stream_left_early_does_not_spoil_the_next_call(client: AsyncClient) -> None:
    async with client.stream_text("one two three four five") as stream:
        first = await anext(stream)

    assert first == "[openai] "
    assert (await client.generate_text("next")).text == "[openai] You said: next"


@pytest.mark.anyio
async def test_error_status_becomes_the_sdk_error(client: AsyncClient, server: EmulatorServer) -> None:
    server.emulator.inject(faults.status(401, error="invalid API key"))

    with pytest.raises(AuthenticationError, match="invalid API key") as raised:
        await client.generate_text("hello")
    assert raised.value.status_code == 401


@pytest.mark.anyio
async def test_a_bad_parameter_is_a_bad_request(client: AsyncClient) -> None:
    with pytest.raises(BadRequestError) as raised:
        await client.generate_text("hello", extra_query={"surprise": "yes"})
    assert raised.value.status_code == 400


@pytest.mark.anyio
async def test_connection_refused_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with (
        httpx.AsyncClient(transport=AiohttpTransport()) as http,
        AsyncClient(base_url=f"http://127.0.0.1:{closed_port}", http_client=http, max_retries=0) as client,
    ):
        with pytest.raises(APIConnectionError, match="connection failed"):
            await client.generate_text("hello")


@pytest.mark.anyio
async def test_a_stream_cut_midway_is_interrupted_with_its_text(client: AsyncClient, server: Server) -> None:
    server.emulator.inject(faults.cut_stream(after_events=2))

    async def read_to_the_end() -> None:
        async with client.stream_text("one two three") as stream:
            async for _ in stream:
                pass

    with pytest.raises(StreamInterruptedError) as raised:
        await read_to_the_end()
    assert raised.value.partial_text == "[openai] You "


@pytest.mark.anyio
async def test_a_reset_is_retried_by_the_sdk_only(client: AsyncClient, server: EmulatorServer) -> None:
    server.emulator.inject(faults.reset())

    # max_retries=0: aiohttp must not quietly send the request a second time.
    with pytest.raises(APIConnectionError):
        await client.generate_text("hello")
    assert len(server.emulator.requests) == 1

    server.emulator.inject(faults.reset())
    quick = RetryPolicy(initial_delay=0.01)
    answer = await client.with_options(max_retries=1, retry_policy=quick).generate_text("again")
    assert answer.text == "[openai] You said: again"
    assert len(server.emulator.requests) == 3


@pytest.mark.anyio
async def test_a_failed_stream_leaves_nothing_alive(client: AsyncClient, server: Server) -> None:
    """A stream that fails mid-answer (here: the wrong content type) is closed early; nothing of
    it stays alive afterwards (aiohttp's shared "Connection closed" error must not hold it)."""
    from dynaspark_sdk import AsyncStream, ResponseValidationError

    async def read_to_the_end() -> None:
        async with client.stream_chat("hello") as stream:
            async for _ in stream:
                pass

    server.emulator.inject(faults.wrong_content_type())
    with pytest.raises(ResponseValidationError):
        await read_to_the_end()
    assert alive_instances(AsyncStream) == []


@pytest.mark.anyio
async def test_raw_httpx_errors_are_httpx_exceptions(server: EmulatorServer) -> None:
    server.emulator.inject(faults.cut_stream())
    async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(server.url + "/api/generate_response", params={"user_input": "hi there"})
        answer = await http.get(server.url + "/status")
    assert answer.json() == {"status": "ok", "emulator": True}


def test_trio_is_refused_clearly(server: EmulatorServer) -> None:
    async def call() -> None:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
            await http.get(server.url + "/status")

    with pytest.raises(RuntimeError, match="asyncio only"):
        anyio.run(call, backend="trio")


def test_the_module_docstring_example_closes_what_it_opens(server: EmulatorServer, tmp_path: Path) -> None:
    """The example users copy runs, and leaves no aiohttp session or connection unclosed."""
    import dynaspark_sdk.aiohttp_transport as module

    assert module.__doc__ is not None
    # The indented block after "::", up to the next unindented line, less the pip command.
    block = module.__doc__.split("::\n", 1)[1]
    lines = itertools.takewhile(lambda line: not line or line.startswith("    "), block.splitlines())
    example = "\n".join(line for line in lines if "pip install" not in line)
    assert "AiohttpTransport()" in example
    script = tmp_path / "example.py"
    script.write_text(
        "import asyncio, gc\n"
        "async def main() -> None:\n"
        + textwrap.indent(textwrap.dedent(example), "    ")
        + "\nasyncio.run(main())\ngc.collect()\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYNASPARK_")}
    env.update(DYNASPARK_BASE_URL=server.url, NO_PROXY="127.0.0.1,localhost", PYTHONWARNINGS="always::ResourceWarning")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[gemini-1.5-flash-8b] You said: Hello!\n"
    assert done.stderr == ""  # no "Unclosed client session", no ResourceWarning
