"""Rate-limit state belongs to one API key: a copy of a client with another key (through
`with_options(api_key=...)` or the provider's per-call `api_key`) is not refused because the
first key used up its window."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual
from wire import json_answer, query_of

from dynaspark_sdk import Dynaspark, RateLimitError
from dynaspark_sdk.integrations import gpt4free as provider_module

pytestmark = pytest.mark.anyio
CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"
TEXT = f"{BASE_URL}/api/generate_response"


def window(remaining: int) -> dict[str, str]:
    reset = str(int(time.time() + 3600))
    return {"x-ratelimit-limit": "100", "x-ratelimit-remaining": str(remaining), "x-ratelimit-reset": reset}


def by_key(request: httpx.Request) -> httpx.Response:
    """Key A's window is used up; every other key has plenty left."""
    key = query_of(request).get("api_key")
    return json_answer({"response": f"hello {key}"}, headers=window(0 if key == "A" else 99))


@pytest.fixture
def text() -> Iterator[respx.Route]:
    with respx.mock(assert_all_mocked=True) as router:
        yield router.get(TEXT).mock(side_effect=by_key)


async def test_another_key_is_not_refused_for_the_first_keys_window(
    make_dual: Callable[..., Dual], text: respx.Route
) -> None:
    a = make_dual(api_key="A", on_rate_limit="raise")
    assert (await a.call("generate_text", "hi")).text == "hello A"
    with pytest.raises(RateLimitError, match="rate limit is used up"):
        await a.call("generate_text", "again")
    assert text.call_count == 1

    b = Dual(a.kind, a.client.with_options(api_key="B"))
    assert (await b.call("generate_text", "hi")).text == "hello B"
    assert text.call_count == 2
    assert b.client.rate_limit.remaining == 99
    assert a.client.rate_limit.remaining == 0

    # Key A is still used up, in the original and in any copy with key A.
    same = Dual(a.kind, b.client.with_options(api_key="A"))
    for dual in (a, same):
        with pytest.raises(RateLimitError):
            await dual.call("generate_text", "again")
    assert text.call_count == 2
    # A copy with key A changing something else shares A's state too.
    with pytest.raises(RateLimitError):
        await Dual(a.kind, a.client.with_options(timeout=5)).call("generate_text", "again")


async def test_a_copy_without_a_key_has_its_own_window(make_dual: Callable[..., Dual], text: respx.Route) -> None:
    a = make_dual(api_key="A", on_rate_limit="raise")
    await a.call("generate_text", "hi")
    keyless = Dual(a.kind, a.client.with_options(api_key=None))
    assert (await keyless.call("generate_text", "hi")).text == "hello None"
    assert "api_key" not in query_of(text.calls.last.request)


@pytest.fixture
def provider_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.Route]:
    monkeypatch.setenv("DYNASPARK_BASE_URL", BASE_URL)
    monkeypatch.setattr(provider_module, "_shared", {})
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append("x")
        # The first call (key A) uses its window up.
        return json_answer({"response": f"answer {len(calls)}"}, headers=window(0 if len(calls) == 1 else 50))

    with respx.mock(assert_all_mocked=True) as router:
        yield router.post(CHAT).mock(side_effect=answer)


async def ask(api_key: str) -> str:
    messages = [{"role": "user", "content": "hi"}]
    return "".join([piece async for piece in Dynaspark.create_async_generator("", messages, api_key=api_key)])


async def test_the_providers_per_call_key_has_its_own_window(provider_mock: respx.Route) -> None:
    assert await ask("A") == "answer 1"
    # Key A's window resets in an hour, past the wait cap: refused without sending.
    with pytest.raises(RateLimitError):
        await ask("A")
    assert provider_mock.call_count == 1
    assert await ask("B") == "answer 2"
    assert provider_mock.call_count == 2
