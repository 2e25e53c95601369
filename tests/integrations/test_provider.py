"""The gpt4free drop-in: the seed's example unchanged, the class surface, shared clients."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import respx
import trio
from conftest import BASE_URL
from wire import PNG, form_of, json_answer, multipart_of

from dynaspark_sdk import AsyncClient, Dynaspark, ModelNotSupportedError, spec
from dynaspark_sdk.integrations import gpt4free as provider_module
from dynaspark_sdk.testing import Emulator, serve

CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("DYNASPARK_BASE_URL", BASE_URL)
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def test_class_surface_matches_gpt4free() -> None:
    assert Dynaspark.url == "https://dynaspark.onrender.com"
    # The chat URL in use (the newest path until a call learns otherwise; see test_chat_paths.py).
    assert Dynaspark.api_endpoint.endswith(spec.CHAT_PATHS)
    assert Dynaspark.working is True
    assert Dynaspark.needs_auth is False
    assert Dynaspark.supports_stream is True
    assert Dynaspark.supports_system_message is False
    assert Dynaspark.supports_message_history is False
    assert Dynaspark.default_model == "gemini-1.5-flash"
    assert Dynaspark.default_vision_model == "gemini-1.5-flash"
    assert Dynaspark.models == ["gemini-1.5-flash", "gemini-1.5-flash-8b", "gemini-2.0-flash", "gemini-2.0-flash-lite"]
    assert Dynaspark.vision_models == Dynaspark.models
    assert Dynaspark.model_aliases == {
        "gemini-1.5-flash": "gemini-1.5-flash-8b",
        "gemini-2.0-flash": "gemini-2.0-flash-lite",
    }


def test_get_model() -> None:
    # gpt4free returns default_model for an empty name without the alias lookup.
    assert Dynaspark.get_model("") == "gemini-1.5-flash"
    assert Dynaspark.get_model(None) == "gemini-1.5-flash"
    assert Dynaspark.get_model("gemini-1.5-flash") == "gemini-1.5-flash-8b"
    assert Dynaspark.get_model("gemini-2.0-flash") == "gemini-2.0-flash-lite"
    assert Dynaspark().get_model("gemini-2.0-flash-lite") == "gemini-2.0-flash-lite"
    with pytest.raises(ModelNotSupportedError, match=r"gemini-1\.5-flash-8b"):
        Dynaspark.get_model("claude")


def test_the_seed_example_runs_unchanged(mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "Всё отлично!"}))

    # --- the seed document's example, with only its import line changed ---
    from dynaspark_sdk import Dynaspark

    async def main():  # type: ignore[no-untyped-def]
        provider = Dynaspark()
        messages = [
            {"role": "user", "content": "Привет! Как дела?"},
        ]
        async for response in provider.create_async_generator(model="gemini-1.5-flash-8b", messages=messages):
            print(f"Ответ модели: {response}")

    asyncio.run(main())  # type: ignore[no-untyped-call]
    # --- end of the seed's example ---

    assert capsys.readouterr().out == "Ответ модели: Всё отлично!\n"
    assert form_of(route.calls.last.request) == {"user_input": "Привет! Как дела?", "ai_model": "gemini-1.5-flash-8b"}


@pytest.mark.parametrize(
    ("model", "sent"),
    [
        ("", "gemini-1.5-flash"),  # gpt4free: the default as it stands, no alias lookup
        (None, "gemini-1.5-flash"),
        ("gemini-1.5-flash", "gemini-1.5-flash-8b"),  # a named alias goes out as its target
        ("gemini-2.0-flash", "gemini-2.0-flash-lite"),
        ("gemini-2.0-flash-lite", "gemini-2.0-flash-lite"),
    ],
)
def test_the_model_goes_on_the_wire_as_gpt4free_sent_it(mock: respx.MockRouter, model: str | None, sent: str) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))

    async def main() -> list[str]:
        messages = [{"role": "user", "content": "hi"}]
        return [piece async for piece in Dynaspark.create_async_generator(model, messages)]  # type: ignore[arg-type]

    assert asyncio.run(main()) == ["ok"]
    assert form_of(route.calls.last.request) == {"user_input": "hi", "ai_model": sent}


def test_media_as_gpt4free_passes_it(mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "a chart"}))

    async def main() -> list[str]:
        messages = [{"role": "user", "content": "what is it?"}, {"role": "assistant", "content": "?"}]
        return [
            piece
            async for piece in Dynaspark.create_async_generator(
                "gemini-2.0-flash", messages, proxy=None, media=[(PNG, "chart.png")]
            )
        ]

    assert asyncio.run(main()) == ["a chart"]
    parts = multipart_of(route.calls.last.request)
    assert parts["user_input"]["value"] == b"User: what is it?\nAssistant: ?\nAssistant:"
    assert parts["ai_model"]["value"] == b"gemini-2.0-flash-lite"
    assert parts["file"]["filename"] == "chart.png"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_calls_share_one_client_whose_pool_closes_with_the_loop(mock: respx.MockRouter, backend: str) -> None:
    mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))
    seen: list[AsyncClient] = []

    async def main() -> None:
        for _ in range(3):
            async for _piece in Dynaspark.create_async_generator("", [{"role": "user", "content": "hi"}]):
                pass
        client = provider_module._shared[(BASE_URL, None)]
        seen.append(client)
        assert len(client._pool.pools()) == 1  # one pool for this loop, reused by the three calls

    for _ in range(2):  # two loops in a row: each gets its own pool, closed at its end
        if backend == "asyncio":
            asyncio.run(main())
        else:
            trio.run(main)
        assert seen[-1]._pool.pools() == []
    assert seen[0] is seen[1]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_provider_sends_over_aiohttp_on_asyncio(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """gpt4free always has aiohttp: on asyncio the shared client sends through it (cheaper per
    call), on trio (which aiohttp cannot run on) through httpx's own transport; same answers."""
    pytest.importorskip("aiohttp")
    from dynaspark_sdk.aiohttp_transport import AiohttpTransport

    monkeypatch.setattr(provider_module, "_over_aiohttp", True)  # as outside the tests (see conftest)
    messages = [{"role": "user", "content": "hello"}]
    with serve(Emulator()) as server:
        monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
        transports: list[bool] = []

        async def main() -> list[str]:
            pieces = [piece async for piece in Dynaspark.create_async_generator("gemini-2.0-flash", messages)]
            (client,) = provider_module._shared.values()
            transports.extend(isinstance(http._transport, AiohttpTransport) for http in client._pool.pools())
            return pieces

        pieces = asyncio.run(main()) if backend == "asyncio" else trio.run(main)
    assert pieces == ["[gemini-2.0-flash-lite] You said: hello"]
    assert transports == [backend == "asyncio"]
