"""Shared fixtures: every async test runs on asyncio and on trio."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture(autouse=True)
def provider_over_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gpt4free provider sends over aiohttp on asyncio when aiohttp is installed; respx
    intercepts httpx's own transport only, so tests keep the provider's shared clients on
    httpx's transport (fresh ones, for each test). A test of the aiohttp path sets
    `_over_aiohttp` back to True, or gives its client's pool `over_aiohttp = True`."""
    from dynaspark_sdk import provider

    monkeypatch.setattr(provider, "_over_aiohttp", False)
    monkeypatch.setattr(provider, "_shared", {})


class Dual:
    """One test body for both clients: `await dual.call("chat", ...)` runs the sync
    client's method directly, or awaits the async client's; `await dual.collect(stream)`
    reads a Stream or an AsyncStream to the end."""

    def __init__(self, kind: str, client: Any) -> None:
        self.kind = kind
        self.client = client

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result

    async def collect(self, stream: Any) -> list[str]:
        if hasattr(stream, "__aiter__"):
            async with stream:
                return [piece async for piece in stream]
        with stream:
            return list(stream)

    async def resolve(self, value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    async def close(self) -> None:
        await self.resolve(self.client.aclose() if self.kind == "async" else self.client.close())


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def make_dual(client_kind: str, anyio_backend: str) -> AsyncIterator[Callable[..., Dual]]:
    """Build a Dual of the parametrized kind; closes what it built."""
    from dynaspark_sdk import AsyncClient, Client

    made: list[Any] = []

    def build(**kwargs: Any) -> Dual:
        kwargs.setdefault("base_url", BASE_URL)
        client = Client(**kwargs) if client_kind == "sync" else AsyncClient(**kwargs)
        made.append(client)
        return Dual(client_kind, client)

    yield build
    for client in made:
        if client_kind == "sync":
            client.close()
        else:
            await client.aclose()


BASE_URL = "https://dynaspark.test"
