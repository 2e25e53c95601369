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

gpt4free's own clients take the class as it is (it is duck-typed to gpt4free's provider
contract; nothing here imports `g4f`):

    from g4f.client import Client
    from dynaspark_sdk import Dynaspark

    answer = Client(provider=Dynaspark).chat.completions.create(model="gemini-2.0-flash", messages=messages)
    print(answer.choices[0].message.content)

Their sync calls (`create_completion`) run on a shared blocking `Client`, with no event loop
at all, so they work the same from a script and from inside a running loop (Jupyter).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from dynaspark_sdk import AsyncClient, Client, InvalidRequestError, spec
from dynaspark_sdk.frontend import redact

__all__ = ["Dynaspark"]

_lock = threading.Lock()
_C = TypeVar("_C", AsyncClient, Client)
# (base_url, proxy) -> the client every call with those settings shares. An AsyncClient
# keeps one pool per event loop and closes it when that loop ends, so one client serves
# every loop and thread.
_shared: dict[tuple[str, str | None], AsyncClient] = {}
# Whether the shared clients send over aiohttp on asyncio loops (when aiohttp is installed and
# no proxy is given: aiohttp's transport takes none).
_over_aiohttp = True
# Looked up now, as the application starts, not on the event loop during its first call;
# and aiohttp's transport imported now as well (gpt4free has imported aiohttp already): in the
# first call's worker thread its ~0.1 s of imports held the GIL in stretches that stalled the
# loop by several ms (BENCHMARKS.md, target 9).
_aiohttp_installed = importlib.util.find_spec("aiohttp") is not None
if _aiohttp_installed:
    try:
        import dynaspark_sdk.aiohttp_transport  # noqa: F401
    except ImportError:  # found but broken: the shared clients send over httpx's own transport
        _aiohttp_installed = False


def _media_or_images(media: Any, images: Any) -> Any:
    """gpt4free's older `images=` keyword, taken like `media=`; both at once is refused."""
    if images is None or (isinstance(images, list | tuple) and not images):
        return media
    if media is not None and not (isinstance(media, list | tuple) and not media):
        raise InvalidRequestError("give the image as media= or as images=, not both")
    return images


def _shared_in(table: dict[tuple[str, str | None], _C], key: tuple[str, str | None], make: Callable[[], _C]) -> _C:
    """The client `table` holds for `key`, made by `make()` on first use."""
    with _lock:
        client = table.get(key)
        if client is None:
            client = table[key] = make()
        return client


def _new_async_client(base_url: str, proxy: str | None) -> AsyncClient:
    # gpt4free always has aiohttp: on asyncio, httpx over aiohttp costs less than half the
    # client CPU per call of httpx's own transport (BENCHMARKS.md, targets 7 and 10).
    aiohttp = _over_aiohttp and proxy is None and _aiohttp_installed
    return AsyncClient(base_url=base_url, proxy=proxy, use_aiohttp=aiohttp)


def _shared_client(base_url: str, proxy: str | None) -> AsyncClient:
    return _shared_in(_shared, (base_url, proxy), lambda: _new_async_client(base_url, proxy))


# The same for the sync path: one blocking Client per (base_url, proxy); its pool lives as long
# as the process (or until the client is dropped) and no event loop is involved.
_shared_sync: dict[tuple[str, str | None], Client] = {}


def _shared_sync_client(base_url: str, proxy: str | None) -> Client:
    return _shared_in(_shared_sync, (base_url, proxy), lambda: Client(base_url=base_url, proxy=proxy))


def _endpoint_of(client: AsyncClient | Client) -> str:
    # gpt4free shows api_endpoint in its logs and debug output: a password in the base URL
    # must not go with it.
    return redact(f"{client.base_url}{client.chat_path}")


@dataclass(frozen=True)
class _Call:
    """What one provider call takes from gpt4free's arguments, for the async and the sync path alike."""

    model: str
    media: Any
    base_url: str
    proxy: str | None
    overrides: dict[str, Any]

    @classmethod
    def of(cls, provider: type[Dynaspark], model: str, proxy: str | None, media: Any, kwargs: dict[str, Any]) -> _Call:
        # The model is resolved (an unknown one refused) before anything else is looked at.
        resolved = provider.get_model(model)
        media = _media_or_images(media, kwargs.get("images"))
        base_url = os.environ.get("DYNASPARK_BASE_URL") or provider.url
        overrides = {name: kwargs[name] for name in ("api_key", "timeout") if kwargs.get(name)}
        if proxy is not None and not isinstance(proxy, str):
            # It keys the table of shared clients; the client itself checks the URL.
            raise InvalidRequestError(f"proxy must be a URL string, not {type(proxy).__name__}")
        return cls(resolved, media, base_url.rstrip("/"), proxy, overrides)


class Dynaspark:
    """gpt4free-compatible provider for the Dynaspark chat endpoint."""

    url: ClassVar[str] = spec.DEFAULT_BASE_URL
    login_url: ClassVar[str | None] = None
    # The chat URL in use: the newest known path until a call learns which one answers.
    api_endpoint: ClassVar[str] = f"{spec.DEFAULT_BASE_URL}{spec.CHAT_PATHS[0]}"
    working: ClassVar[bool] = True
    needs_auth: ClassVar[bool] = False
    use_nodriver: ClassVar[bool] = False
    supports_stream: ClassVar[bool] = True
    supports_system_message: ClassVar[bool] = False
    supports_message_history: ClassVar[bool] = False
    default_model: ClassVar[str] = spec.DEFAULT_CHAT_MODEL
    default_vision_model: ClassVar[str] = spec.DEFAULT_CHAT_MODEL
    vision_models: ClassVar[list[str]] = list(spec.VISION_MODELS)
    models: ClassVar[list[str]] = list(spec.CHAT_MODELS)
    model_aliases: ClassVar[dict[str, str]] = dict(spec.CHAT_MODEL_ALIASES)
    # What gpt4free's clients read or update on a provider class besides the above.
    label: ClassVar[str] = "Dynaspark"
    parent: ClassVar[str] = "Dynaspark"
    live: ClassVar[int] = 0
    # gpt4free applies its `stream_timeout` between pieces; `timeout` reaches the client.
    use_stream_timeout: ClassVar[bool] = True

    @classmethod
    def get_model(cls, model: str | None = None, **kwargs: Any) -> str:
        """gpt4free's model resolution: an empty name is `default_model` as it stands (no alias
        lookup, as gpt4free did it); a name is looked up in the aliases; an unknown name is an
        error naming the models."""
        if not model:
            return cls.default_model
        return spec.resolve_chat_model(model)

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
        call = _Call.of(cls, model, proxy, media, kwargs)
        client = _shared_client(call.base_url, call.proxy)
        if call.overrides:
            client = client.with_options(**call.overrides)
        # `call.model` is what goes on the wire: an empty name sends the default unresolved.
        try:
            async with client.stream_chat(messages, model=call.model, media=call.media, resolve_alias=False) as stream:
                async for piece in stream:
                    yield piece
        finally:
            cls.api_endpoint = _endpoint_of(client)

    @classmethod
    def create_completion(
        cls,
        model: str,
        messages: list[dict[str, Any]],
        stream: bool = False,
        proxy: str | None = None,
        media: Any = None,
        **kwargs: Any,
    ) -> Iterator[str]:
        """The blocking twin of `create_async_generator`: what gpt4free's sync clients call.

        Runs on a shared sync `Client`, without an event loop, so it works from a script
        and from code already inside a running loop. The model is resolved (and an unknown
        one refused) before anything is sent; service failures are raised, never yielded.
        """
        call = _Call.of(cls, model, proxy, media, kwargs)
        client = _shared_sync_client(call.base_url, call.proxy)
        if call.overrides:
            client = client.with_options(**call.overrides)
        try:
            with client.stream_chat(messages, model=call.model, media=call.media, resolve_alias=False) as answer:
                yield from answer
        finally:
            cls.api_endpoint = _endpoint_of(client)

    @classmethod
    def get_create_function(cls) -> Callable[..., Iterator[str]]:
        """gpt4free's sync entry point: `create_completion`."""
        return cls.create_completion

    @classmethod
    def get_async_create_function(cls) -> Callable[..., AsyncIterator[str]]:
        """gpt4free's async entry point: `create_async_generator`."""
        return cls.create_async_generator

    @classmethod
    def get_dict(cls) -> dict[str, str]:
        """The provider as gpt4free describes one (name, url, label)."""
        return {"name": cls.__name__, "url": cls.url, "label": cls.label}

    @classmethod
    def get_parent(cls) -> str:
        """The name gpt4free files the provider's key under (`DYNASPARK_API_KEY`)."""
        return cls.parent
