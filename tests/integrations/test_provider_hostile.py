"""The provider under hostile input: every call yields the answer to an exact request, or raises
a ValueError subclass (the SDK's InvalidRequestError family) before anything is sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from wire import PNG, form_of, multipart_of

from dynaspark_sdk import Dynaspark, InvalidRequestError

BASE = "http://dynaspark.test"

texts = st.text(max_size=40)
anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts, st.binary(max_size=20),
    st.lists(st.integers(), max_size=2), st.dictionaries(texts, st.integers(), max_size=2),
)  # fmt: skip
parts = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.one_of(texts, anything)}),
    st.fixed_dictionaries({"type": st.sampled_from(["image_url", "audio", "text"]), "image_url": anything}),
    anything,
)
message = st.one_of(
    st.fixed_dictionaries(
        {"role": st.one_of(st.sampled_from(["user", "assistant", "system", "USER"]), anything),
         "content": st.one_of(texts, st.lists(parts, max_size=3), anything)}
    ),
    st.dictionaries(st.sampled_from(["role", "content", "name", "extra"]), st.one_of(texts, anything), max_size=3),
    anything,
)  # fmt: skip
good_message = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": texts})
messages = st.one_of(st.lists(good_message, min_size=1, max_size=3), st.lists(message, max_size=4), anything)
valid_models = st.sampled_from(["", "gemini-1.5-flash", "gemini-2.0-flash", "gemini-2.0-flash-lite"])
models = st.one_of(valid_models, valid_models, valid_models, anything)
media = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.just([(PNG, "a.png")]),
    st.just([(PNG, "a.png"), (PNG, "b.png")]),
    st.lists(st.tuples(st.one_of(st.binary(max_size=16), anything), st.one_of(texts, st.none())), max_size=2),
    anything,
)
proxies = st.one_of(
    st.none(), st.none(), st.none(), st.none(), st.sampled_from(["ftp://x", "not a url", "socks5://h:1"]), anything
)


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("DYNASPARK_BASE_URL", BASE)
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{BASE}/dsai_fuck_u_spammer").mock(return_value=httpx.Response(200, json={"response": "ok"}))
        yield mock


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=models, messages=messages, media=media, proxy=proxies)
def test_the_provider_sends_an_exact_request_or_refuses_before_sending(
    router: respx.MockRouter, backend: str, model: Any, messages: Any, media: Any, proxy: Any
) -> None:
    router.reset()

    async def main() -> list[str]:
        return [piece async for piece in Dynaspark.create_async_generator(model, messages, proxy=proxy, media=media)]

    try:
        pieces = anyio.run(main, backend=backend)
    except ValueError:
        event("refused")
        assert not router.calls, "refused, but only after sending"
        return
    event("sent")
    assert pieces == ["ok"]
    assert len(router.calls) == 1
    request = router.calls.last.request
    if request.headers["content-type"].startswith("multipart/"):
        sent = {name: part["value"].decode() for name, part in multipart_of(request).items() if name != "file"}
    else:
        sent = form_of(request)
    assert sent["ai_model"] == Dynaspark.get_model(model)
    assert sent["user_input"].strip()


def test_a_bad_proxy_is_refused_before_sending(router: respx.MockRouter) -> None:
    async def main() -> None:
        async for _ in Dynaspark.create_async_generator("", [{"role": "user", "content": "hi"}], proxy="ftp://x"):
            pass

    with pytest.raises(InvalidRequestError, match="proxy"):
        anyio.run(main)
    assert not router.calls


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model=valid_models,
    messages=st.lists(good_message, min_size=1, max_size=3),
    media=st.sampled_from([None, [(PNG, "a.png")]]),
)
def test_plausible_provider_calls_send_the_folded_prompt(
    router: respx.MockRouter, backend: str, model: str, messages: list[dict[str, str]], media: Any
) -> None:
    router.reset()

    async def main() -> list[str]:
        return [piece async for piece in Dynaspark.create_async_generator(model, messages, media=media)]

    texts_given = [m["content"] for m in messages]
    try:
        pieces = anyio.run(main, backend=backend)
    except InvalidRequestError:
        # Only a single blank message folds to a blank prompt (gpt4free's rule keeps the
        # "Assistant:" trailer otherwise); then nothing was sent.
        assert len(messages) == 1
        assert not texts_given[0].strip()
        assert not router.calls
        return
    assert pieces == ["ok"]
    request = router.calls.last.request
    sent = form_of(request)["user_input"] if media is None else multipart_of(request)["user_input"]["value"].decode()
    if len(messages) == 1:
        assert sent == texts_given[0]
    else:
        assert sent.endswith("\nAssistant:")
        for text in texts_given:
            if text.strip():
                assert text in sent
