"""Which model a text result or stream reports, for both clients (respx on the wire)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import respx
from conftest import BASE_URL, Dual
from wire import json_answer, openai_chunk, sse

from dynaspark_sdk import spec

pytestmark = pytest.mark.anyio
TEXT = f"{BASE_URL}/api/generate_response"
EVENTS = {"content-type": "text/event-stream"}


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def _events(*payloads: str) -> respx.MockResponse:
    return respx.MockResponse(200, content=sse(*payloads, "[DONE]"), headers=EVENTS)


async def test_stream_text_without_a_model_reports_the_default_the_spec_assumes(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    mock.get(TEXT).mock(return_value=_events(openai_chunk("one "), openai_chunk("two")))
    dual = make_dual()
    stream = dual.client.stream_text("count")
    assert stream.model == spec.DEFAULT_TEXT_MODEL == "openai"  # known before it starts
    assert await dual.collect(stream) == ["one ", "two"]
    assert stream.model == "openai"
    assert "model" not in str(mock.calls.last.request.url)  # none was sent


async def test_stream_text_reports_the_model_its_events_name(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    chunk = '{"model": "mistral", "choices": [{"delta": {"content": "hi"}}]}'
    mock.get(TEXT).mock(return_value=_events(chunk))
    dual = make_dual()
    stream = dual.client.stream_text("hello")
    assert await dual.collect(stream) == ["hi"]
    assert stream.model == "mistral"
    asked = dual.client.stream_text("hello", model="qwen-coder")
    assert asked.model == "qwen-coder"
    await dual.collect(asked)
    assert asked.model == "mistral"  # what answered, not what was asked


async def test_generate_text_without_a_model_in_the_answer_reports_the_default(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    mock.get(TEXT).mock(side_effect=[json_answer({"response": "hi"}), json_answer({"response": "hi", "model": "m"})])
    dual = make_dual()
    assert (await dual.call("generate_text", "hello")).model == "openai"
    assert (await dual.call("generate_text", "hello", model="openai-large")).model == "m"
