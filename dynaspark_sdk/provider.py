"""`Dynaspark`: a drop-in for gpt4free's Dynaspark provider, built on `AsyncClient`.

The seed document's example runs unchanged apart from its import line:

    from dynaspark_sdk import Dynaspark

    async def main():
        provider = Dynaspark()
        messages = [{"role": "user", "content": "Привет! Как дела?"}]
        async for response in provider.create_async_generator(model="gemini-1.5-flash-8b", messages=messages):
            print(f"Ответ модели: {response}")

Unlike gpt4free's provider (a new aiohttp session per call), calls share one `AsyncClient`
per base URL and proxy, so connections are reused; each event loop's connections are closed
when that loop finishes (`asyncio.run()` / `trio.run()` finalise them).
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from ._errors import InvalidRequestError
from ._generated import spec_values
from ._plans import resolve_chat_model
from ._settings import DEFAULT_BASE_URL, check_proxy
from .async_client import AsyncClient

__all__ = ["Dynaspark"]

_lock = threading.Lock()
# (base_url, proxy) -> the client every call with those settings shares. An AsyncClient
# keeps one pool per event loop and closes it when that loop ends, so one client serves
# every loop and thread.
_shared: dict[tuple[str, str | None], AsyncClient] = {}


def _media_or_images(media: Any, images: Any) -> Any:
    """gpt4free's older `images=` keyword, taken like `media=`; both at once is refused."""
    if images is None or (isinstance(images, list | tuple) and not images):
        return media
    if media is not None and not (isinstance(media, list | tuple) and not media):
        raise InvalidRequestError("give the image as media= or as images=, not both")
    return images


def _shared_client(base_url: str, proxy: str | None) -> AsyncClient:
    with _lock:
        client = _shared.get((base_url, proxy))
        if client is None:
            client = _shared[(base_url, proxy)] = AsyncClient(base_url=base_url, proxy=proxy)
        return client


class Dynaspark:
    """gpt4free-compatible provider for the Dynaspark chat endpoint."""

    url: ClassVar[str] = DEFAULT_BASE_URL
    login_url: ClassVar[str | None] = None
    # The chat URL in use: the newest known path until a call learns which one answers.
    api_endpoint: ClassVar[str] = f"{DEFAULT_BASE_URL}{spec_values.CHAT_PATHS[0]}"
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
        """gpt4free's model resolution: an empty name is `default_model` as it stands (no alias
        lookup, as gpt4free did it); a name is looked up in the aliases; an unknown name is an
        error naming the models."""
        if not model:
            return cls.default_model
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
        list of (data, filename) pairs (one image per request), and so does `images`, the
        name older gpt4free releases pass it under. Other keyword arguments that gpt4free's
        framework passes (stream, timeout, ...) are accepted; only `api_key` and `timeout`
        are used.
        """
        resolved = cls.get_model(model)
        media = _media_or_images(media, kwargs.get("images"))
        proxy = check_proxy(proxy)
        base_url = os.environ.get("DYNASPARK_BASE_URL") or cls.url
        client = _shared_client(base_url.rstrip("/"), proxy)
        overrides: dict[str, Any] = {}
        if kwargs.get("api_key"):
            overrides["api_key"] = kwargs["api_key"]
        if kwargs.get("timeout"):
            overrides["timeout"] = kwargs["timeout"]
        if overrides:
            client = client.with_options(**overrides)
        # `resolved` is what goes on the wire: an empty name sends the default unresolved.
        try:
            async with client.chat_stream(messages, model=resolved, media=media, resolve_alias=False) as stream:
                async for piece in stream:
                    yield piece
        finally:
            cls.api_endpoint = f"{client.base_url}{client.chat_path}"
