"""`Dynaspark`: a drop-in for gpt4free's Dynaspark provider, built on `AsyncClient`.

The seed document's example runs unchanged apart from its import line:

    from dynaspark_sdk import Dynaspark

    async def main():
        provider = Dynaspark()
        messages = [{"role": "user", "content": "Привет! Как дела?"}]
        async for response in provider.create_async_generator(model="gemini-1.5-flash-8b", messages=messages):
            print(f"Ответ модели: {response}")

Unlike gpt4free's provider (a new aiohttp session per call), calls share one `AsyncClient`
per event loop and proxy, so connections are reused; the shared clients are closed when
their event loop finishes (`asyncio.run()` / `trio.run()` finalise them).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, ClassVar

import sniffio

from ._generated import spec_values
from ._plans import resolve_chat_model
from ._settings import DEFAULT_BASE_URL
from .async_client import AsyncClient

__all__ = ["Dynaspark"]

_lock = threading.Lock()
# event loop (asyncio) or root task (trio) -> {(base_url, proxy): client}
_shared: weakref.WeakKeyDictionary[object, dict[tuple[str, str | None], AsyncClient]] = weakref.WeakKeyDictionary()
# Keeps each loop's closer generator alive until the loop finalises it.
_closers: weakref.WeakKeyDictionary[object, AsyncGenerator[None, None]] = weakref.WeakKeyDictionary()


def _loop_identity() -> object:
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.current_root_task()
    import asyncio

    return asyncio.get_running_loop()


async def _close_at_loop_end(
    clients: dict[tuple[str, str | None], AsyncClient],
) -> AsyncGenerator[None, None]:
    """Suspended for the life of the loop; the loop's async-generator finaliser (run by
    asyncio.run and trio.run at shutdown) closes it, and with it the loop's clients."""
    try:
        yield
    finally:
        for client in list(clients.values()):
            await client.aclose()
        clients.clear()


async def _shared_client(base_url: str, proxy: str | None) -> AsyncClient:
    loop = _loop_identity()
    with _lock:
        clients = _shared.get(loop)
        fresh = clients is None
        if clients is None:
            clients = _shared[loop] = {}
        client = clients.get((base_url, proxy))
        if client is None:
            client = clients[(base_url, proxy)] = AsyncClient(base_url=base_url, proxy=proxy)
    if fresh:
        closer = _close_at_loop_end(clients)
        await anext(closer)
        _closers[loop] = closer
    return client


class Dynaspark:
    """gpt4free-compatible provider for the Dynaspark chat endpoint."""

    url: ClassVar[str] = DEFAULT_BASE_URL
    login_url: ClassVar[str | None] = None
    api_endpoint: ClassVar[str] = f"{DEFAULT_BASE_URL}/generate_response"
    working: ClassVar[bool] = True
    needs_auth: ClassVar[bool] = False
    use_nodriver: ClassVar[bool] = False
    supports_stream: ClassVar[bool] = True
    supports_system_message: ClassVar[bool] = False
    supports_message_history: ClassVar[bool] = False
    default_model: ClassVar[str] = spec_values.DEFAULT_CHAT_MODEL
    default_vision_model: ClassVar[str] = spec_values.DEFAULT_CHAT_MODEL
    vision_models: ClassVar[list[str]] = list(spec_values.VISION_MODELS)
    models: ClassVar[list[str]] = list(spec_values.CHAT_MODELS)
    model_aliases: ClassVar[dict[str, str]] = dict(spec_values.CHAT_MODEL_ALIASES)

    @classmethod
    def get_model(cls, model: str | None = None, **kwargs: Any) -> str:
        """gpt4free's model resolution: default, then aliases, then an error naming the models."""
        return resolve_chat_model(model)

    @classmethod
    def get_models(cls, **kwargs: Any) -> list[str]:
        """The models this provider serves."""
        return list(cls.models)

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: list[dict[str, Any]],
        proxy: str | None = None,
        media: Any = None,
        **kwargs: Any,
    ) -> AsyncIterator[str]:
        """Ask the chat endpoint and yield the answer's text as it arrives.

        `messages` are folded into one prompt as gpt4free did; `media` takes gpt4free's
        list of (data, filename) pairs (one image per request). Other keyword arguments
        that gpt4free's framework passes (stream, timeout, ...) are accepted; only
        `api_key` and `timeout` are used.
        """
        resolved = cls.get_model(model)
        base_url = os.environ.get("DYNASPARK_BASE_URL") or cls.url
        client = await _shared_client(base_url.rstrip("/"), proxy)
        overrides: dict[str, Any] = {}
        if kwargs.get("api_key"):
            overrides["api_key"] = kwargs["api_key"]
        if kwargs.get("timeout"):
            overrides["timeout"] = kwargs["timeout"]
        if overrides:
            client = client.with_options(**overrides)
        async with client.chat_stream(messages, model=resolved, media=media) as stream:
            async for piece in stream:
                yield piece
