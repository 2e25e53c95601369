"""What openai and gpt4free code passes is accepted: a message's `name`, an image part's
`detail` (neither sent: the service has no place for them), and the provider's older
`images=[(data, name)]` keyword, taken like `media`."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx
from conftest import BASE_URL, Dual
from wire import PNG, json_answer, multipart_of, query_of

from dynaspark_sdk import Dynaspark, InvalidRequestError
from dynaspark_sdk.integrations import gpt4free as provider_module

pytestmark = pytest.mark.anyio
CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"
TEXT = f"{BASE_URL}/api/generate_response"
DATA_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def conversation(openai_extras: bool) -> list[dict[str, Any]]:
    image: dict[str, Any] = {"url": DATA_URI, "detail": "high"} if openai_extras else {"url": DATA_URI}
    name: dict[str, Any] = {"name": "alice"} if openai_extras else {}
    return [
        {"role": "system", "content": "Be brief.", **name},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": image}],
            **name,
        },
        {"role": "assistant", "content": "A pixel.", **({"name": "bot"} if openai_extras else {})},
        {"role": "user", "content": "Sure?", **name},
    ]


async def test_name_and_detail_are_accepted_and_not_sent_by_chat(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "yes"}))
    dual = make_dual()
    given = conversation(openai_extras=True)
    assert (await dual.call("chat", given)).text == "yes"
    await dual.call("chat", conversation(openai_extras=False))
    with_extras, without = (multipart_of(call.request) for call in route.calls)
    assert with_extras == without
    assert (
        with_extras["user_input"]["value"]
        == b"System: Be brief.\nUser: What is it?\nAssistant: A pixel.\nUser: Sure?\nAssistant:"
    )
    assert with_extras["file"]["value"] == PNG
    raw = route.calls[0].request.content
    assert b"alice" not in raw
    assert b"high" not in raw
    assert given == conversation(openai_extras=True)  # the caller's messages are untouched


async def test_name_and_detail_are_accepted_and_not_sent_by_generate_text(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.get(TEXT).mock(return_value=json_answer({"response": "ok"}))
    dual = make_dual()
    messages = [
        {"role": "system", "content": "Be brief.", "name": "rules"},
        {"role": "user", "content": "Hi", "name": "alice"},
    ]
    await dual.call("generate_text", messages)
    query = query_of(route.calls.last.request)
    assert query["user_input"] == "Hi"
    assert query["system"] == "Be brief."
    assert "name" not in query
    assert "alice" not in str(route.calls.last.request.url)


async def test_a_name_that_is_no_string_is_refused_before_sending(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT)
    with pytest.raises(InvalidRequestError, match=r'messages\[0\]\["name"\] must be a string, not int'):
        await make_dual().call("chat", [{"role": "user", "content": "x", "name": 7}])
    assert not route.called


# --------------------------------------------------------------------------- the provider


@pytest.fixture
def provider_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.Route]:
    monkeypatch.setenv("DYNASPARK_BASE_URL", BASE_URL)
    monkeypatch.setattr(provider_module, "_shared", {})
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router.post(CHAT).mock(return_value=httpx.Response(200, json={"response": "a pixel"}))


async def provider_answer(**kwargs: Any) -> str:
    messages = [{"role": "user", "content": "What is it?", "name": "alice"}]
    with anyio.fail_after(20):
        return "".join([piece async for piece in Dynaspark.create_async_generator("", messages, **kwargs)])


async def test_the_providers_images_keyword_is_sent_like_media(provider_mock: respx.Route) -> None:
    assert await provider_answer(images=[(PNG, "pixel.png")]) == "a pixel"
    sent = multipart_of(provider_mock.calls.last.request)
    assert sent["file"]["value"] == PNG
    assert sent["file"]["filename"] == "pixel.png"
    assert sent["user_input"]["value"] == b"What is it?"
    # An empty images= leaves media= as it is, and the other way round.
    await provider_answer(images=[], media=[(PNG, "m.png")])
    assert multipart_of(provider_mock.calls.last.request)["file"]["filename"] == "m.png"
    await provider_answer(images=[(PNG, "i.png")], media=None)
    assert multipart_of(provider_mock.calls.last.request)["file"]["filename"] == "i.png"


async def test_the_provider_refuses_media_and_images_together(provider_mock: respx.Route) -> None:
    with pytest.raises(InvalidRequestError, match="media= or as images=, not both"):
        await provider_answer(images=[(PNG, "a.png")], media=[(PNG, "b.png")])
    assert not provider_mock.called
