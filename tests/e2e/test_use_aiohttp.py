"""`AsyncClient(use_aiohttp=True)`: the public way to send over aiohttp on asyncio loops.

Against the emulator on a real loopback socket, on asyncio (aiohttp's transport) and trio
(httpx's own, as aiohttp cannot run there); the refusals come before anything is sent.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest
import respx

from dynaspark_sdk import AsyncClient, Client, Dynaspark, InvalidRequestError
from dynaspark_sdk.integrations import gpt4free as provider_module
from dynaspark_sdk.testing import Emulator, EmulatorServer, serve

pytest.importorskip("aiohttp")

from dynaspark_sdk.aiohttp_transport import AiohttpTransport

pytestmark = pytest.mark.anyio


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator()) as running:
        yield running


def transports_of(client: AsyncClient) -> list[str]:
    """Which transport each of the client's per-loop httpx clients sends through."""
    return ["aiohttp" if isinstance(http._transport, AiohttpTransport) else "httpx" for http in client._pool.pools()]


async def test_it_sends_over_aiohttp_on_asyncio_and_over_httpx_on_trio(
    anyio_backend: str, server: EmulatorServer
) -> None:
    async with AsyncClient(base_url=server.url, use_aiohttp=True, max_retries=0) as client:
        answer = await client.chat("hello", model="gemini-2.0-flash")
        async with client.stream_text("one two") as stream:
            pieces = [piece async for piece in stream]
        # A copy shares the pool, and so the transport.
        copy = client.with_options(timeout=5)
        again = await copy.chat("again")
        assert transports_of(client) == ["aiohttp" if anyio_backend == "asyncio" else "httpx"]
    assert answer.text == "[gemini-2.0-flash-lite] You said: hello"
    assert "".join(pieces).strip()
    assert again.text.endswith("You said: again")


async def test_the_default_is_httpx_s_own_transport(anyio_backend: str, server: EmulatorServer) -> None:
    async with AsyncClient(base_url=server.url, max_retries=0) as client:
        await client.chat("hello")
        assert transports_of(client) == ["httpx"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"proxy": "http://proxy.example:3128"}, "takes none"),
        ({"use_aiohttp": "yes"}, "must be True or False, not str"),
    ],
)
async def test_combinations_it_cannot_honour_are_refused(
    anyio_backend: str, kwargs: dict[str, object], message: str
) -> None:
    kwargs.setdefault("use_aiohttp", True)
    with pytest.raises(InvalidRequestError, match=message):
        AsyncClient(**kwargs)  # type: ignore[arg-type]


async def test_with_your_own_http_client_it_is_refused(anyio_backend: str) -> None:
    async with httpx.AsyncClient() as own:
        with pytest.raises(InvalidRequestError, match="give that client the transport"):
            AsyncClient(http_client=own, use_aiohttp=True)


async def test_without_aiohttp_installed_it_is_refused(anyio_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # what importlib sees when it is not installed
    with pytest.raises(InvalidRequestError, match=r"needs aiohttp: pip install 'dynaspark-sdk\[aiohttp\]'"):
        AsyncClient(use_aiohttp=True)
    AsyncClient(use_aiohttp=False)  # and the default still works without it


def test_the_sync_client_has_no_such_option() -> None:
    with pytest.raises(TypeError, match="use_aiohttp"):
        Client(use_aiohttp=True)  # type: ignore[call-arg]


async def test_the_provider_with_a_proxy_keeps_httpx_s_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """gpt4free passes the user's proxy: aiohttp's transport takes none, so that client stays
    on httpx's (which respx intercepts here) instead of refusing the call."""
    monkeypatch.setattr(provider_module, "_over_aiohttp", True)  # as outside the tests (see conftest)
    messages = [{"role": "user", "content": "hi"}]
    with respx.mock(base_url=Dynaspark.url, assert_all_called=False) as router:
        router.post(path__regex=r"^/").respond(200, json={"response": "through the proxy"})
        proxy = "http://proxy.example:3128"
        pieces = [piece async for piece in Dynaspark.create_async_generator("", messages, proxy=proxy)]
        assert len(router.calls) == 1  # respx forgets its calls on leaving the block
    assert pieces == ["through the proxy"]
