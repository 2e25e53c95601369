"""The members gpt4free's clients call on a provider class, without gpt4free (its own client
code drives them in tests/integrations/test_gpt4free.py): the blocking `create_completion`,
the create-function getters, `get_dict` and `get_parent`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import respx
import trio
from conftest import BASE_URL
from wire import PNG, form_of, json_answer, multipart_of

from dynaspark_sdk import BadRequestError, Dynaspark, ModelNotSupportedError
from dynaspark_sdk.integrations import gpt4free as provider_module

CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("DYNASPARK_BASE_URL", BASE_URL)
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def test_the_class_members_gpt4free_reads() -> None:
    assert Dynaspark.get_create_function() == Dynaspark.create_completion
    assert Dynaspark.get_async_create_function() == Dynaspark.create_async_generator
    assert Dynaspark.get_dict() == {"name": "Dynaspark", "url": "https://dynaspark.onrender.com", "label": "Dynaspark"}
    assert Dynaspark.get_parent() == "Dynaspark"
    assert isinstance(Dynaspark.live, int)
    assert Dynaspark.use_stream_timeout is True


def test_create_completion_sends_what_the_async_path_sends(mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "a chart"}))
    pieces = list(
        Dynaspark.create_completion(
            "gemini-2.0-flash",
            [{"role": "user", "content": "what is it?"}, {"role": "assistant", "content": "?"}],
            stream=True,
            media=[(PNG, "chart.png")],
            provider=Dynaspark,  # what gpt4free passes along with its own knobs
            max_tokens=None,
            stream_timeout=30,
        )
    )
    assert pieces == ["a chart"]
    parts = multipart_of(route.calls.last.request)
    assert parts["user_input"]["value"] == b"User: what is it?\nAssistant: ?\nAssistant:"
    assert parts["ai_model"]["value"] == b"gemini-2.0-flash-lite"
    assert parts["file"]["filename"] == "chart.png"

    assert list(Dynaspark.create_completion("gemini-1.5-flash-8b", MESSAGES)) == ["a chart"]
    assert form_of(route.calls.last.request) == {"user_input": "hi", "ai_model": "gemini-1.5-flash-8b"}


def test_create_completion_takes_what_the_async_path_takes(mock: respx.MockRouter) -> None:
    """The sync path honours the same gpt4free keywords as the async one: an empty model goes out
    as `default_model` unresolved, the older `images=` keyword is sent like `media=`."""
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))
    assert list(Dynaspark.create_completion("", MESSAGES)) == ["ok"]
    assert form_of(route.calls.last.request) == {"user_input": "hi", "ai_model": "gemini-1.5-flash"}
    assert list(Dynaspark.create_completion("gemini-2.0-flash", MESSAGES, images=[(PNG, "i.png")])) == ["ok"]
    assert multipart_of(route.calls.last.request)["file"]["filename"] == "i.png"


def test_create_completion_raises_service_errors_and_unknown_models(mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"error": "bad input"}, status=400))
    with pytest.raises(BadRequestError, match="bad input"):
        list(Dynaspark.create_completion("gemini-2.0-flash", MESSAGES))
    assert route.call_count == 1
    with pytest.raises(ModelNotSupportedError, match=r"gemini-1\.5-flash-8b"):
        next(Dynaspark.create_completion("claude", MESSAGES))
    assert route.call_count == 1


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_create_completion_inside_a_running_loop_shares_one_client(mock: respx.MockRouter, backend: str) -> None:
    mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))

    async def main() -> list[str]:
        # A blocking call from async code (a Jupyter cell): no loop of its own is needed.
        return [piece for _ in range(2) for piece in Dynaspark.create_completion("", MESSAGES)]

    assert (asyncio.run(main()) if backend == "asyncio" else trio.run(main)) == ["ok", "ok"]
    client = provider_module._shared_sync[(BASE_URL, None)]
    assert list(Dynaspark.create_completion("", MESSAGES)) == ["ok"]
    assert provider_module._shared_sync[(BASE_URL, None)] is client
