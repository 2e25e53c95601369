"""The service's public endpoints (generate_text, stream_text, generate_image, generate_audio,
status), not the SDK's public API: the wire and the results."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual
from wire import PNG, json_answer, openai_chunk, query_of, sse

from dynaspark_sdk import InvalidRequestError, ResponseValidationError
from dynaspark_sdk._generated import spec_values

pytestmark = pytest.mark.anyio
TEXT = f"{BASE_URL}/api/generate_response"
IMAGE = f"{BASE_URL}/api/generate_image"
LIMITS = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "42", "X-RateLimit-Reset": "1700000000"}
MP3 = b"\xff\xfb\x90\x64" + bytes(413)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def text_answer(**extra: Any) -> httpx.Response:
    usage = {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
    body: dict[str, Any] = {"response": "Paris.", "model": "openai", "usage": usage}
    body.update(extra)
    return httpx.Response(200, json=body, headers=LIMITS)


async def test_generate_text_sends_only_what_was_given(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.get(TEXT).mock(return_value=text_answer())
    result = await make_dual(api_key=None).call("generate_text", "Capital of France?")
    assert query_of(route.calls.last.request) == {"user_input": "Capital of France?"}
    assert result.text == "Paris."
    assert result.model == "openai"
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (5, 1, 6)
    assert (result.rate_limit.limit, result.rate_limit.remaining, result.rate_limit.reset) == (100, 42, 1700000000)


async def test_generate_text_every_parameter_on_the_wire(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.get(TEXT).mock(return_value=text_answer())
    await make_dual(api_key="sk-secret-123").call(
        "generate_text",
        "Hi",
        model="openai-large",
        system="Be brief",
        temperature=0.5,
        top_p=1,
        presence_penalty=-2,
        frequency_penalty=2.0,
        seed=7,
        json=True,
        private=False,
        referrer="my-app",
        extra_query={"foo": "bar"},
    )
    assert query_of(route.calls.last.request) == {
        "user_input": "Hi",
        "api_key": "sk-secret-123",
        "model": "openai-large",
        "system": "Be brief",
        "temperature": "0.5",
        "top_p": "1",
        "presence_penalty": "-2",
        "frequency_penalty": "2.0",
        "seed": "7",
        "json": "true",
        "private": "false",
        "referrer": "my-app",
        "foo": "bar",
    }


async def test_system_messages_go_to_the_system_parameter(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.get(TEXT).mock(return_value=text_answer())
    messages = [
        {"role": "system", "content": "You are a poet."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "A rhyme?"},
    ]
    await make_dual().call("generate_text", messages)
    sent = query_of(route.calls.last.request)
    assert sent["system"] == "You are a poet."
    assert sent["user_input"] == "User: Hi\nAssistant: Hello\nUser: A rhyme?\nAssistant:"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("temperature", -0.01),
        ("temperature", 3.5),
        ("temperature", math.nan),
        ("temperature", "hot"),
        ("top_p", 1.01),
        ("presence_penalty", -2.5),
        ("frequency_penalty", 2.01),
        ("seed", 1.5),
        ("seed", True),
        ("private", "yes"),
        ("model", ""),
        ("json", 1),
    ],
)
async def test_out_of_range_parameters_fail_before_sending(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, name: str, value: object
) -> None:
    route = mock.get(TEXT)
    with pytest.raises(InvalidRequestError) as caught:
        await make_dual().call("generate_text", "hi", **{name: value})
    assert isinstance(caught.value, ValueError)
    assert not route.called


async def test_ranges_come_from_the_spec(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.get(TEXT).mock(return_value=text_answer())
    rule = spec_values.PARAMETERS["generate_text"]["temperature"]
    assert rule.maximum is not None
    await make_dual().call("generate_text", "hi", temperature=rule.maximum)
    assert query_of(route.calls.last.request)["temperature"] == str(rule.maximum)
    with pytest.raises(InvalidRequestError, match=f"between 0 and {rule.maximum:g}"):
        await make_dual().call("generate_text", "hi", temperature=rule.maximum + 0.001)


async def test_a_prompt_too_long_for_a_url_is_refused_clearly(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.get(TEXT)
    with pytest.raises(InvalidRequestError, match="bytes, over the"):
        await make_dual().call("generate_text", "x" * 3_000_000)
    assert not route.called


async def test_stream_text_yields_events_as_they_come(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    body = sse(openai_chunk("Hel"), openai_chunk("lo"), openai_chunk(" world"), "[DONE]")
    route = mock.get(TEXT).mock(
        return_value=httpx.Response(200, content=body, headers={"content-type": "text/event-stream", **LIMITS})
    )
    dual = make_dual()
    stream = dual.client.stream_text("Say hello", temperature=1)
    assert await dual.collect(stream) == ["Hel", "lo", " world"]
    assert stream.text == "Hello world"
    assert stream.rate_limit.remaining == 42
    assert query_of(route.calls.last.request) == {"user_input": "Say hello", "temperature": "1", "stream": "true"}


async def test_generate_image_and_download(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, tmp_path: Path
) -> None:
    url = "https://cdn.example/img/1.png"
    route = mock.get(IMAGE).mock(
        return_value=json_answer({"image_url": url, "model": "flux", "seed": 42}, headers=LIMITS)
    )
    mock.get(url).mock(return_value=httpx.Response(200, content=PNG, headers={"content-type": "image/png"}))
    dual = make_dual()
    result = await dual.call(
        "generate_image", "a red fox", width=512, height=1024, model="turbo", nologo=True, seed=42, watermark="me"
    )
    assert query_of(route.calls.last.request) == {
        "user_input": "a red fox",
        "width": "512",
        "height": "1024",
        "model": "turbo",
        "nologo": "true",
        "seed": "42",
        "wm": "me",
    }
    assert (result.url, result.model, result.seed) == (url, "flux", 42)
    assert result.rate_limit.remaining == 42
    assert await dual.resolve(result.download()) == PNG
    saved = await dual.resolve(result.save(tmp_path / "fox.png"))
    assert saved.read_bytes() == PNG


async def test_image_defaults_are_not_sent(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.get(IMAGE).mock(return_value=json_answer({"image_url": "https://x.example/i.png"}))
    await make_dual().call("generate_image", "a fox")
    assert query_of(route.calls.last.request) == {"user_input": "a fox"}


@pytest.mark.parametrize(
    "kwargs",
    [{"width": 63}, {"height": 2049}, {"width": 100.5}, {"model": "dall-e"}, {"nologo": "true"}, {"watermark": 3}],
)
async def test_image_arguments_are_checked_before_sending(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, kwargs: dict[str, Any]
) -> None:
    route = mock.get(IMAGE)
    with pytest.raises(InvalidRequestError):
        await make_dual().call("generate_image", "a fox", **kwargs)
    assert not route.called


async def test_a_download_that_is_no_image_raises(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    url = "https://cdn.example/expired.png"
    mock.get(IMAGE).mock(return_value=json_answer({"image_url": url}))
    mock.get(url).mock(
        return_value=httpx.Response(200, text="<html>expired</html>", headers={"content-type": "text/html"})
    )
    dual = make_dual(max_retries=0)
    result = await dual.call("generate_image", "a fox")
    with pytest.raises(ResponseValidationError, match="gave no image"):
        await dual.resolve(result.download())


async def test_generate_audio(make_dual: Callable[..., Dual], mock: respx.MockRouter, tmp_path: Path) -> None:
    route = mock.get(TEXT).mock(return_value=httpx.Response(200, content=MP3, headers={"content-type": "audio/mpeg"}))
    dual = make_dual()
    audio = await dual.call("generate_audio", "Hello", voice="nova")
    assert query_of(route.calls.last.request) == {"user_input": "Hello", "model": "openai-audio", "voice": "nova"}
    assert audio.data == MP3
    assert audio.content_type == "audio/mpeg"
    assert audio.save(tmp_path / "hello.mp3").read_bytes() == MP3
    await dual.call("generate_audio", "Hello")
    assert query_of(route.calls.last.request)["voice"] == spec_values.DEFAULT_VOICE


async def test_audio_voice_is_checked_and_junk_is_refused(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.get(TEXT)
    with pytest.raises(InvalidRequestError, match="alloy"):
        await make_dual().call("generate_audio", "Hello", voice="robot")
    assert not route.called
    route.mock(return_value=httpx.Response(200, json={"response": "not audio"}))
    with pytest.raises(ResponseValidationError, match="expected MP3 audio"):
        await make_dual().call("generate_audio", "Hello")


async def test_status(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    mock.get(f"{BASE_URL}/status").mock(return_value=json_answer({"status": "ok", "version": "1"}, headers=LIMITS))
    dual = make_dual()
    status = await dual.call("status")
    assert status.ok
    assert status.details == {"status": "ok", "version": "1"}
    assert dual.client.rate_limit.remaining == 42
