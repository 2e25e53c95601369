"""The OpenAI-compatible gateway, driven by the real `openai` package (sync and async clients,
streaming and not) over loopback, with the emulator as its upstream over loopback too.

The gateway runs under uvicorn in a background thread; its upstream client has no retries, so
each fault the emulator can inject shows as exactly one OpenAI-shaped error.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import anyio
import httpx
import openai
import pytest
from conftest import Dual, eventually_blocking
from openai_fixtures import CLIENTS, STREAM_CLIENTS, cleared_emulator, failure, invoke, openai_factory, user  # noqa: F401

from dynaspark_sdk import AsyncClient, Client, RetryPolicy
from dynaspark_sdk.integrations.gateway import create_app, serve_forever, serve_in_thread
from dynaspark_sdk.testing import MP3_FRAME_HEADER, Emulator, EmulatorServer, Fault, faults

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("loopback_only")]

FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)
#: The gateway's upstream read timeout, and a delay that overruns it.
SHORT_READ = 0.3
SLOW = 1.0
KEY = "gw-key-0123456789"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC")


class Gateway(NamedTuple):
    url: str
    log: list[str]


@pytest.fixture(scope="module")
def gateway(upstream: EmulatorServer) -> Iterator[Gateway]:
    """The gateway without retries and with a short read timeout: every fault shows."""
    lines: list[str] = []
    client = AsyncClient(
        base_url=upstream.url, max_retries=0, retry_policy=FAST, timeout=httpx.Timeout(10.0, read=SHORT_READ)
    )
    with serve_in_thread(create_app(client, log=lines.append)) as running:
        yield Gateway(running.url, lines)


@pytest.fixture(scope="module")
def keyed_gateway(upstream: EmulatorServer) -> Iterator[str]:
    app = create_app(AsyncClient(base_url=upstream.url), gateway_key=KEY, log=lambda _: None)
    with serve_in_thread(app) as running:
        yield running.url


@pytest.fixture
def oai(make_openai: Callable[..., Dual], gateway: Gateway) -> Dual:
    return make_openai(gateway.url)


def completions(dual: Dual) -> Any:
    return dual.client.chat.completions


async def chat(dual: Dual, **kwargs: Any) -> Any:
    return await dual.resolve(completions(dual).create(**kwargs))


async def stream_chunks(dual: Dual, **kwargs: Any) -> list[Any]:
    return await dual.collect(await dual.resolve(completions(dual).create(stream=True, **kwargs)))


def content_of(chunks: list[Any]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


CONVERSATION: list[Any] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Name a colour."},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": [{"type": "text", "text": "Another "}, {"type": "text", "text": "one?"}]},
]


def folded_by_the_sdk(upstream: EmulatorServer, messages: list[dict[str, Any]], **kwargs: Any) -> dict[str, str]:
    """What the emulator receives when the SDK itself sends `messages` to the chat endpoint."""
    with Client(base_url=upstream.url, max_retries=0) as client:
        client.chat(messages, **kwargs)
    return dict(upstream.emulator.requests[-1].form)


# --------------------------------------------------------------------------- models


@CLIENTS
async def test_models_lists_every_chat_model_and_alias_and_the_text_models(oai: Dual) -> None:
    page = await oai.resolve(oai.client.models.list())
    models = await oai.items(page)
    ids = [model.id for model in models]
    assert ids[:4] == ["gemini-1.5-flash", "gemini-1.5-flash-8b", "gemini-2.0-flash", "gemini-2.0-flash-lite"]
    assert "text/openai" in ids
    assert {model.object for model in models} == {"model"}
    assert (await oai.resolve(oai.client.models.retrieve("text/openai"))).id == "text/openai"
    with pytest.raises(openai.NotFoundError):
        await oai.resolve(oai.client.models.retrieve("gpt-4"))


# --------------------------------------------------------------------------- chat models


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "Just this."}],
        [{"role": "user", "content": "Named.", "name": "alice"}],
        [{"role": "system", "content": "Only a system message."}],
        [{"role": "user", "content": [{"type": "text", "text": "In "}, {"type": "text", "text": "parts."}]}],
        [{"role": "user", "content": "Two"}, {"role": "user", "content": "messages."}],
    ],
    ids=["user", "named", "system", "parts", "two"],
)
@pytest.mark.parametrize("stream", [False, True])
@STREAM_CLIENTS
async def test_one_message_reaches_the_service_as_the_sdk_sends_it(
    oai: Dual, upstream: EmulatorServer, emulator: Emulator, messages: list[dict[str, Any]], stream: bool
) -> None:
    # The gateway hands the SDK a lone user message's text (what the SDK folds it to): the
    # service must see the same request either way, chat models and the text API alike.
    if stream:
        await stream_chunks(oai, model="gemini-2.0-flash", messages=messages)
    else:
        await chat(oai, model="gemini-2.0-flash", messages=messages)
    assert dict(emulator.requests[-1].form) == folded_by_the_sdk(upstream, messages, model="gemini-2.0-flash")
    if messages[0]["role"] == "system":
        return  # the text API takes a system prompt only with a message (a 400 either way)
    if stream:
        await stream_chunks(oai, model="text/mistral", messages=messages)
    else:
        await chat(oai, model="text/mistral", messages=messages)
    through_gateway = emulator.requests[-1].params
    with Client(base_url=upstream.url, max_retries=0) as client:
        if stream:
            client.stream_text(messages, model="mistral").until_done()
        else:
            client.generate_text(messages, model="mistral")
    direct = emulator.requests[-1].params
    assert through_gateway == direct


@CLIENTS
async def test_a_conversation_is_folded_exactly_as_the_sdk_folds_it(
    oai: Dual, upstream: EmulatorServer, emulator: Emulator
) -> None:
    answer = await chat(oai, model="gemini-2.0-flash", messages=CONVERSATION)
    sent = dict(emulator.requests[-1].form)
    assert sent == folded_by_the_sdk(upstream, CONVERSATION, model="gemini-2.0-flash")
    assert sent["ai_model"] == "gemini-2.0-flash-lite"
    assert sent["user_input"].endswith("User: Another one?\nAssistant:")
    assert answer.object == "chat.completion"
    assert answer.model == "gemini-2.0-flash-lite"
    choice = answer.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "[gemini-2.0-flash-lite] You said: Another one?"
    # The chat endpoint counts no tokens: zeros, as an object (llm's OpenAI models read it unchecked).
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (0, 0, 0)


@STREAM_CLIENTS
async def test_a_chat_model_streams_chunks_ending_with_stop(oai: Dual, emulator: Emulator) -> None:
    chunks = await stream_chunks(oai, model="gemini-1.5-flash", messages=user("hello there"))
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1
    # The first chunk carries the role and the first content together: no empty chunk before it.
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == "[gemini-1.5-flash-8b] You said: hello there"
    assert [chunk.choices[0].delta.content for chunk in chunks[1:]] == [None]  # then only the stop
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert content_of(chunks) == "[gemini-1.5-flash-8b] You said: hello there"
    assert len(emulator.requests) == 1


@CLIENTS
@pytest.mark.parametrize("detail", [None, "auto", "high"])
async def test_an_image_part_goes_upstream_as_the_file_with_detail_accepted(
    oai: Dual, emulator: Emulator, detail: str | None
) -> None:
    image: dict[str, str] = {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}
    if detail is not None:
        image["detail"] = detail
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": image}]
    answer = await chat(oai, model="gemini-2.0-flash-lite", messages=[{"role": "user", "content": content}])
    assert answer.choices[0].message.content.endswith("You said: What is this? (with a 69-byte image/png image)")
    (upload,) = emulator.requests[-1].files
    assert upload.data == PNG
    assert upload.content_type == "image/png"


@pytest.fixture(scope="module")
def lan_gateway(upstream: EmulatorServer) -> Iterator[str]:
    """A gateway that fetches image URLs on private addresses too (the emulator's are on loopback)."""
    app = create_app(
        AsyncClient(base_url=upstream.url, max_retries=0), log=lambda _: None, allow_private_image_urls=True
    )
    with serve_in_thread(app) as running:
        yield running.url


@CLIENTS
async def test_an_image_url_is_fetched_and_sent(
    make_openai: Callable[..., Dual], lan_gateway: str, upstream: EmulatorServer, emulator: Emulator
) -> None:
    oai = make_openai(lan_gateway)
    with Client(base_url=upstream.url) as client:
        url = client.generate_image("a red square", width=64, height=64).url
    content = [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": url}}]
    await chat(oai, model="gemini-1.5-flash", messages=[{"role": "user", "content": content}])
    (upload,) = emulator.requests[-1].files
    assert upload.data.startswith(b"\x89PNG")


@CLIENTS
async def test_parameters_at_their_defaults_are_accepted(oai: Dual) -> None:
    answer = await chat(
        oai,
        model="gemini-1.5-flash",
        messages=user("ok"),
        temperature=1,
        top_p=1.0,
        n=1,
        presence_penalty=0,
        frequency_penalty=0.0,
        stop=None,
        tools=[],
        logprobs=False,
        response_format={"type": "text"},
        user="someone",
    )
    assert answer.choices[0].message.content.endswith("You said: ok")


@CLIENTS
async def test_parameters_the_chat_endpoint_cannot_honour_are_a_400_naming_them(oai: Dual, emulator: Emulator) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    error = await failure(
        chat(oai, model="gemini-1.5-flash", messages=user("x"), temperature=0.2, tools=[tool], n=2, logprobs=True)
    )
    assert isinstance(error, openai.BadRequestError)
    assert error.code == "unsupported_parameter"
    for name in ("n", "logprobs"):
        assert name in error.message
    # What only tunes the answer is not what makes it refused; tools are served (prompted, issue 26).
    assert "temperature" not in error.message
    assert "tools" not in error.message
    error = await failure(chat(oai, model="gemini-1.5-flash", messages=user("x"), extra_body={"bogus": 1}))
    assert isinstance(error, openai.BadRequestError)
    assert "bogus" in error.message
    assert emulator.requests == []


@STREAM_CLIENTS
@pytest.mark.parametrize("model", ["gpt-4o", "gemini-9", "text/", "dall-e-3"])
async def test_an_unknown_model_is_404_model_not_found_before_anything_is_sent(
    oai: Dual, emulator: Emulator, model: str
) -> None:
    for call in (
        chat(oai, model=model, messages=user("x")),
        stream_chunks(oai, model=model, messages=user("x")),
    ):
        error = await failure(call)
        assert isinstance(error, openai.NotFoundError)
        assert error.code == "model_not_found"
        assert error.param == "model"
        assert model in error.message
    assert emulator.requests == []


@CLIENTS
async def test_bad_messages_are_a_400_before_anything_is_sent(oai: Dual, emulator: Emulator) -> None:
    two_images = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
    ] * 2
    for messages in ([], [{"role": "user"}], [{"role": "user", "content": two_images}], user("   ")):
        error = await failure(chat(oai, model="gemini-1.5-flash", messages=messages))
        assert isinstance(error, openai.BadRequestError), messages
        assert error.type == "invalid_request_error"
    assert emulator.requests == []


# --------------------------------------------------------------------------- text/<model>


@CLIENTS
async def test_text_models_map_parameters_and_the_system_message(oai: Dual, emulator: Emulator) -> None:
    answer = await chat(
        oai,
        model="text/mistral",
        messages=CONVERSATION,
        temperature=0.5,
        top_p=0.9,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        seed=7,
        response_format={"type": "json_object"},
    )
    params = emulator.requests[-1].params
    assert emulator.requests[-1].path == "/api/generate_response"
    assert params["model"] == "mistral"
    # The reply format joins the system message (tools and structured output are prompted, issue 26).
    assert params["system"].startswith("Be brief.\n\nAnswer with one JSON value that fits this JSON Schema")
    assert params["temperature"] == "0.5" and params["top_p"] == "0.9"
    assert params["presence_penalty"] == "0.5" and params["frequency_penalty"] == "-0.5"
    assert params["seed"] == "7" and params["json"] == "true"
    assert "System:" not in params["user_input"]
    assert json.loads(answer.choices[0].message.content) == {"model": "mistral", "you_said": "Another one?"}
    assert answer.model == "text/mistral"
    assert answer.usage is not None and answer.usage.total_tokens > 0


@STREAM_CLIENTS
async def test_text_models_stream_each_upstream_event_as_a_chunk(oai: Dual, emulator: Emulator) -> None:
    chunks = await stream_chunks(
        oai, model="text/openai", messages=user("w1 w2 w3"), temperature=0.7, stream_options={"include_usage": True}
    )
    assert emulator.requests[-1].params["stream"] == "true"
    assert emulator.requests[-1].params["temperature"] == "0.7"
    pieces = [chunk.choices[0].delta.content for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    # One chunk per upstream event (the emulator sends one per word), not one for the whole text,
    # the first with the role: 6 pieces, the stop and the usage, nothing else.
    assert pieces == ["[openai] ", "You ", "said: ", "w1 ", "w2 ", "w3"]
    assert len(chunks) == 8
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []  # the usage chunk asked for with include_usage
    # The service counts no tokens in a stream: zeros, not null (OpenAI clients read the object).
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 0


@CLIENTS
async def test_text_models_refuse_what_the_text_api_cannot_do(oai: Dual, emulator: Emulator) -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True}}
    error = await failure(chat(oai, model="text/openai", messages=user("x"), response_format={"type": "xml"}))
    assert isinstance(error, openai.BadRequestError) and error.param == "response_format.type"
    # A JSON schema is served (prompted and validated), in the text API's json mode.
    answer = await chat(oai, model="text/openai", messages=user("x"), response_format=schema)
    assert json.loads(answer.choices[0].message.content) == {"model": "openai", "you_said": "x"}
    assert emulator.requests[-1].params["json"] == "true"
    emulator.clear_requests()
    error = await failure(chat(oai, model="text/openai", messages=user("x"), temperature=9))
    assert isinstance(error, openai.BadRequestError) and "temperature" in error.message
    assert emulator.requests == []


# --------------------------------------------------------------------------- images and speech


@CLIENTS
async def test_images_answer_a_url_or_the_downloaded_bytes(oai: Dual, emulator: Emulator) -> None:
    images = oai.client.images
    result = await oai.resolve(images.generate(prompt="a lighthouse", size="256x128", model="turbo"))
    (item,) = result.data
    assert item.url.startswith("http://127.0.0.1:")
    params = emulator.requests[-1].params
    assert (params["width"], params["height"], params["model"]) == ("256", "128", "turbo")
    result = await oai.resolve(images.generate(prompt="a lighthouse", model="dall-e-3", response_format="b64_json"))
    data = base64.b64decode(result.data[0].b64_json)
    assert data.startswith(b"\x89PNG")
    # dall-e-3 is served by the default model: no model goes upstream, and the image was downloaded.
    assert "model" not in emulator.requests[-2].params
    assert emulator.requests[-1].path.startswith("/images/")


@CLIENTS
async def test_images_refuse_bad_input_before_sending(oai: Dual, emulator: Emulator) -> None:
    images = oai.client.images
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"size": "big"}, 400, "size"),
        ({"size": "4096x4096"}, 400, "4096"),
        ({"n": 2}, 400, "n"),
        ({"model": "midjourney"}, 404, "midjourney"),
        ({"background": "transparent"}, 400, "background"),
    ]
    for kwargs, status, word in cases:
        error = await failure(invoke(oai, images.generate, prompt="x", **kwargs))
        assert isinstance(error, openai.APIStatusError) and error.status_code == status, kwargs
        assert word in error.message
    assert emulator.requests == []


@CLIENTS
@pytest.mark.parametrize("model", ["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "openai-audio"])
async def test_speech_answers_mp3_bytes(oai: Dual, emulator: Emulator, model: str) -> None:
    answer = await oai.resolve(oai.client.audio.speech.create(model=model, voice="nova", input="Hello there"))
    assert answer.response.headers["content-type"] == "audio/mpeg"
    assert answer.content.startswith(MP3_FRAME_HEADER)
    params = emulator.requests[-1].params
    assert (params["model"], params["voice"], params["user_input"]) == ("openai-audio", "nova", "Hello there")


@CLIENTS
async def test_speech_refuses_bad_input_before_sending(oai: Dual, emulator: Emulator) -> None:
    speech = oai.client.audio.speech
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"model": "tts-2", "voice": "nova"}, 404, "tts-2"),
        ({"model": "tts-1", "voice": "coral"}, 400, "coral"),
        ({"model": "tts-1", "voice": "nova", "response_format": "wav"}, 400, "response_format"),
        ({"model": "tts-1", "voice": "nova", "speed": 2.0}, 400, "speed"),
    ]
    for kwargs, status, word in cases:
        error = await failure(invoke(oai, speech.create, input="hi", **kwargs))
        assert isinstance(error, openai.APIStatusError) and error.status_code == status, kwargs
        assert word in error.message
    assert emulator.requests == []


# --------------------------------------------------------------------------- the gateway key


@CLIENTS
async def test_with_a_gateway_key_every_request_needs_it(
    make_openai: Callable[..., Dual], keyed_gateway: str, emulator: Emulator
) -> None:
    for wrong in ("unused", KEY + "x"):
        dual = make_openai(keyed_gateway, api_key=wrong)
        error = await failure(chat(dual, model="gemini-1.5-flash", messages=user("x")))
        assert isinstance(error, openai.AuthenticationError)
        assert error.code == "invalid_api_key"
        assert KEY not in error.message
        with pytest.raises(openai.AuthenticationError):
            await dual.resolve(dual.client.models.list())
    assert emulator.requests == []
    dual = make_openai(keyed_gateway, api_key=KEY)
    assert (await chat(dual, model="gemini-1.5-flash", messages=user("x"))).choices[0].message.content


# --------------------------------------------------------------------------- upstream faults


class FaultCase(NamedTuple):
    """A fault, and the status the gateway answers for each call."""

    name: str
    make: Callable[[], Fault]
    #: call -> the gateway's status, or "event" when a stream that had begun ends with an error event.
    outcome: dict[str, int | str]


CALLS = ("chat", "chat-stream", "text", "text-stream")


def each(status: int) -> dict[str, int | str]:
    return dict.fromkeys(CALLS, status)


FAULTS = [
    FaultCase("408", lambda: faults.status(408), each(502)),
    FaultCase("429 Retry-After 3", lambda: faults.status(429, retry_after=3), each(429)),
    FaultCase("429 without Retry-After", lambda: faults.status(429), each(429)),
    FaultCase("400", lambda: faults.status(400, error="no such thing"), each(400)),
    FaultCase("401", lambda: faults.status(401), each(502)),
    FaultCase("500", lambda: faults.status(500), each(502)),
    FaultCase("502", lambda: faults.status(502), each(502)),
    FaultCase("503", lambda: faults.status(503), each(502)),
    FaultCase("504", lambda: faults.status(504), each(502)),
    FaultCase("HTML page 502", lambda: faults.html_page(502), each(502)),
    FaultCase("HTML page 200", lambda: faults.html_page(200), each(502)),
    FaultCase("bad JSON", faults.bad_json, each(502)),
    FaultCase("JSON without response", faults.missing_response, each(502)),
    FaultCase("wrong content type", faults.wrong_content_type, each(502)),
    FaultCase("reset", faults.reset, each(502)),
    FaultCase("cut midway", faults.cut_stream, {**each(502), "text-stream": "event"}),
    FaultCase("slow first byte", lambda: faults.slow_first_byte(SLOW), each(504)),
    FaultCase(
        "slow stream", lambda: faults.slow_stream(SLOW), {**each(504), "chat-stream": 502, "text-stream": "event"}
    ),
]


async def read_into(dual: Dual, stream: Any, chunks: list[Any]) -> None:
    """Read a stream of either client, keeping each chunk as it arrives."""
    await dual.read_into(stream, chunks)


async def run_call(dual: Dual, call: str) -> list[Any]:
    model = "gemini-1.5-flash" if call.startswith("chat") else "text/openai"
    messages = user("w1 w2 w3 w4")
    if call.endswith("stream"):
        return await stream_chunks(dual, model=model, messages=messages)
    return [await chat(dual, model=model, messages=messages)]


@STREAM_CLIENTS
@pytest.mark.parametrize("case", FAULTS, ids=[case.name for case in FAULTS])
async def test_each_upstream_fault_is_an_openai_error(oai: Dual, emulator: Emulator, case: FaultCase) -> None:
    for call in CALLS:
        emulator.inject(case.make())
        expected = case.outcome[call]
        if expected == "event":
            # The stream had begun: text arrived, then an error event (and [DONE]).
            chunks: list[Any] = []
            stream = await oai.resolve(
                completions(oai).create(model="text/openai", messages=user("w1 w2 w3 w4"), stream=True)
            )
            with pytest.raises(openai.APIError) as caught:
                await read_into(oai, stream, chunks)
            assert content_of(chunks) and "[openai] You said: w1 w2 w3 w4".startswith(content_of(chunks))
            assert content_of(chunks) != "[openai] You said: w1 w2 w3 w4"
            body = caught.value.body
            assert isinstance(body, dict) and body["type"] == "upstream_error"
            assert "Traceback" not in caught.value.message
            continue
        error = await failure(run_call(oai, call))
        assert isinstance(error, openai.APIStatusError), f"{case.name} / {call}: {error!r}"
        assert error.status_code == expected, f"{case.name} / {call}: {error!r}"
        body = error.body
        assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
        assert "Traceback" not in error.message
        if expected == 429:
            retry_after = error.response.headers["retry-after"]
            if case.name == "429 Retry-After 3":
                assert retry_after == "3"
            else:  # the window's reset, an hour away: the service gives it in whole seconds,
                # rounded up, so a window begun less than a second ago is up to 3601 s away
                assert 3000 < int(retry_after) <= 3601
    # Nothing left behind: the next call goes through.
    assert (await chat(oai, model="gemini-1.5-flash", messages=user("fine"))).choices[0].message.content


async def test_a_stream_cut_after_it_began_ends_with_an_error_event_then_done(
    gateway: Gateway, emulator: Emulator
) -> None:
    emulator.inject(faults.cut_stream(after_events=3))
    body = {"model": "text/openai", "messages": user("w1 w2 w3 w4"), "stream": True}
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(gateway.url + "/chat/completions", json=body)
    assert answer.status_code == 200
    events = [line.removeprefix("data: ") for line in answer.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert error["type"] == "upstream_error"
    assert "broke off" in error["message"] or "interrupted" in error["message"].lower()
    texts = [json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-2]]
    assert "".join(texts) == "[openai] You said: "


async def test_retries_of_the_upstream_client_recover_before_the_client_sees_anything(
    upstream: EmulatorServer, emulator: Emulator
) -> None:
    client = AsyncClient(base_url=upstream.url, max_retries=2, retry_policy=FAST)
    with serve_in_thread(create_app(client, log=lambda _: None)) as running:
        emulator.inject(faults.status(503))
        emulator.inject(faults.reset())
        async with openai.AsyncOpenAI(
            base_url=running.url, api_key="unused", max_retries=0, _strict_response_validation=True
        ) as oai:
            answer = await oai.chat.completions.create(model="gemini-1.5-flash", messages=user("again"))
    assert answer.choices[0].message.content == "[gemini-1.5-flash-8b] You said: again"
    assert len(emulator.requests) == 3


# --------------------------------------------------------------------------- HTTP details


async def test_http_errors_are_in_openais_shape(gateway: Gateway, emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, trust_env=False) as http:
        cases = [
            (
                await http.post(
                    "/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
                ),
                400,
            ),
            (await http.post("/chat/completions", json=["a list"]), 400),
            (await http.post("/chat/completions", json={"messages": user("x")}), 400),
            (await http.get("/chat/completions"), 405),
            (await http.get("/nowhere"), 404),
            (
                await http.post(
                    "/chat/completions", json={"model": "gemini-1.5-flash", "messages": user("x"), "stream": "yes"}
                ),
                400,
            ),
        ]
    for answer, status in cases:
        assert answer.status_code == status, answer.text
        assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert emulator.requests == []


async def test_mounted_under_a_prefix_it_serves_the_same_api(upstream: EmulatorServer, emulator: Emulator) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    lines: list[str] = []
    async with AsyncClient(base_url=upstream.url, max_retries=0) as client:
        outer = Starlette(routes=[Mount("/gw", app=create_app(client, log=lines.append))])
        transport = httpx.ASGITransport(app=outer)
        async with httpx.AsyncClient(transport=transport, base_url="http://host.localhost") as http:
            answer = await http.post(
                "/gw/v1/chat/completions", json={"model": "gemini-1.5-flash", "messages": user("hi")}
            )
            refused = await http.post("/gw/v1/chat/completions", json={"model": "nope", "messages": user("hi")})
            wrong_method = await http.get("/gw/v1/chat/completions")
            models = await http.get("/gw/v1/models")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["choices"][0]["message"]["content"] == "[gemini-1.5-flash-8b] You said: hi"
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"
    assert wrong_method.status_code == 405 and set(wrong_method.json()["error"]) == {"message", "type", "param", "code"}
    assert models.status_code == 200 and "text/openai" in [entry["id"] for entry in models.json()["data"]]
    assert len(emulator.requests) == 1
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "POST /gw/v1/chat/completions 200",
        "POST /gw/v1/chat/completions 404",
        "GET /gw/v1/chat/completions 405",
        "GET /gw/v1/models 200",
    ]


async def test_one_log_line_per_request_without_any_key(upstream: EmulatorServer, emulator: Emulator) -> None:
    lines: list[str] = []
    secret = "sk-upstream-secret-42"
    client = AsyncClient(base_url=upstream.url, api_key=secret, max_retries=0)
    with serve_in_thread(create_app(client, gateway_key=KEY, log=lines.append)) as running:
        async with openai.AsyncOpenAI(
            base_url=running.url, api_key=KEY, max_retries=0, _strict_response_validation=True
        ) as oai:
            await oai.chat.completions.create(model="text/openai", messages=user("hi"))
            with pytest.raises(openai.NotFoundError):
                await oai.chat.completions.create(model="nope", messages=user("hi"))
    assert emulator.requests[-1].api_key == secret
    assert len(lines) == 2
    assert lines[0].startswith("POST /v1/chat/completions 200 ") and lines[0].endswith(" ms")
    assert lines[1].startswith("POST /v1/chat/completions 404 ")
    assert not any(secret in line or KEY in line for line in lines)


def test_importing_the_sdk_or_its_cli_help_loads_no_starlette_or_uvicorn() -> None:
    code = (
        "import sys, contextlib, io\n"
        "import dynaspark_sdk\n"
        "from dynaspark_sdk.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['--help']) == 0\n"
        "    assert main(['gateway', '--help']) == 0\n"
        "assert 'gateway' in out.getvalue()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'openai')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------- `dynaspark gateway`

SECRET = "sk-upstream-very-secret-0123456789"


def start_gateway(upstream_url: str, *options: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DYNASPARK_", "OPENAI_"))}
    environment.update({"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    environment["PYTHONIOENCODING"] = "utf-8"
    environment.update(env or {})
    argv = [sys.executable, "-m", "dynaspark_sdk", "--base-url", upstream_url, "--api-key", SECRET, "--retries", "0"]
    return subprocess.Popen(
        [*argv, "gateway", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def served_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("Dynaspark gateway serving http://"), first
    return first.split()[3]


def interrupt(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C, then what the process wrote (it must end by itself)."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_the_command_serves_logs_a_line_per_request_and_exits_0_on_ctrl_c(
    upstream: EmulatorServer, emulator: Emulator
) -> None:
    process = start_gateway(upstream.url)
    try:
        url = served_url(process)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        with openai.OpenAI(base_url=url, api_key="anything", max_retries=0, _strict_response_validation=True) as oai:
            answer = oai.chat.completions.create(model="text/openai", messages=user("ping"))
            with pytest.raises(openai.NotFoundError):
                oai.chat.completions.create(model="gpt-4o", messages=user("ping"))
    finally:
        out, err = interrupt(process)
    assert process.returncode == 0, err
    assert answer.choices[0].message.content == "[openai] You said: ping"
    assert emulator.requests[-1].api_key == SECRET  # the global options configure the upstream client
    lines = err.splitlines()
    assert any(line.startswith("POST /v1/chat/completions 200 ") and line.endswith(" ms") for line in lines)
    assert any(line.startswith("POST /v1/chat/completions 404 ") for line in lines)
    assert "stopped after 2 requests" in err
    assert "warning" not in err
    assert SECRET not in out + err
    assert "Traceback" not in err


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_the_command_sends_over_the_transport_it_names(
    upstream: EmulatorServer, emulator: Emulator, transport: str
) -> None:
    # `--upstream-transport`: aiohttp (the default, installed here) or httpx's own. The same
    # answers, streams, errors and cut streams either way; the banner says which.
    process = start_gateway(upstream.url, *(() if transport == "aiohttp" else ("--upstream-transport", "httpx")))
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.endswith(f" (upstream {upstream.url}, over {transport})\n"), banner
        with openai.OpenAI(
            base_url=banner.split()[3], api_key="anything", max_retries=0, _strict_response_validation=True
        ) as oai:
            answer = oai.chat.completions.create(model="text/openai", messages=user("ping"))
            chunks = list(oai.chat.completions.create(model="text/openai", messages=user("w1 w2"), stream=True))
            events: list[Any] = list(oai.responses.create(model="text/openai", input="w1 w2", stream=True))
            emulator.inject(faults.status(429, retry_after=3))
            with pytest.raises(openai.RateLimitError) as limited:
                oai.chat.completions.create(model="text/openai", messages=user("ping"))
            emulator.inject(faults.cut_stream(after_events=3))
            cut: list[Any] = list(oai.responses.create(model="text/openai", input="w1 w2 w3 w4", stream=True))
    finally:
        _, err = interrupt(process)
    assert process.returncode == 0, err
    assert answer.choices[0].message.content == "[openai] You said: ping"
    assert content_of(chunks) == "[openai] You said: w1 w2"
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "[openai] You said: w1 w2"
    assert limited.value.response.headers["retry-after"] == "3"
    assert (cut[-1].type, cut[-1].response.output_text) == ("response.failed", "[openai] You said: ")
    assert {request.api_key for request in emulator.requests} == {SECRET}
    assert "Traceback" not in err


def test_the_aiohttp_transport_takes_no_proxy_and_needs_aiohttp() -> None:
    argv = [sys.executable, "-m", "dynaspark_sdk", "--proxy", "http://127.0.0.1:9", "gateway", "--port", "0"]
    done = subprocess.run([*argv, "--upstream-transport", "aiohttp"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (2, "")
    assert "--upstream-transport aiohttp sends without a proxy" in done.stderr, done.stderr
    code = "import sys\nsys.modules['aiohttp'] = None\nfrom dynaspark_sdk.cli import main\n"
    code += "sys.exit(main(['gateway', '--port', '0', '--upstream-transport', 'aiohttp']))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == (
        "dynaspark: error: --upstream-transport aiohttp needs aiohttp: pip install 'dynaspark-sdk[aiohttp]'\n"
    )


def test_ctrl_c_lets_a_stream_in_flight_finish(upstream: EmulatorServer, emulator: Emulator) -> None:
    process = start_gateway(upstream.url)
    try:
        url = served_url(process)
        emulator.inject(faults.slow_stream(0.2))
        with openai.OpenAI(base_url=url, api_key="anything", max_retries=0, _strict_response_validation=True) as oai:
            stream = oai.chat.completions.create(model="text/openai", messages=user("w1 w2"), stream=True)
            with stream:
                chunks = [next(stream)]
                process.send_signal(signal.SIGINT)  # while the stream is under way
                chunks.extend(stream)
    finally:
        _, err = interrupt(process)
    assert process.returncode == 0, err
    assert content_of(chunks) == "[openai] You said: w1 w2"
    assert chunks[-1].choices[0].finish_reason == "stop"


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run `work` in a thread; the list gets what it returned or raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("aiohttp", [False, True], ids=["httpx", "aiohttp"])
def test_a_shutdown_answers_a_request_still_waiting_with_a_503(
    upstream: EmulatorServer, emulator: Emulator, aiohttp: bool
) -> None:
    """Instead of a connection cut when the grace period ends, a clear 503 just before it
    (over either upstream transport)."""
    emulator.inject(faults.slow_first_byte(4))
    lines: list[str] = []
    app = create_app(AsyncClient(base_url=upstream.url, max_retries=0, use_aiohttp=aiohttp), log=lines.append)
    with (
        openai.OpenAI(
            base_url="http://unused.invalid", api_key="unused", max_retries=0, _strict_response_validation=True
        ) as oai,
        serve_in_thread(app, timeout_graceful_shutdown=1.0) as running,
    ):
        ask = oai.with_options(base_url=running.url).chat.completions.create
        thread, outcome = in_thread(lambda: ask(model="text/openai", messages=user("slow")))
        eventually_blocking(lambda: len(emulator.requests) == 1, "the request to reach the service", seconds=10.0)
    thread.join(30)
    assert not thread.is_alive(), "the request hung"
    [error] = outcome
    assert isinstance(error, openai.InternalServerError), error
    assert error.status_code == 503
    assert error.code == "shutting_down"
    assert "shutting down" in error.message
    assert [line.split()[:3] for line in lines] == [["POST", "/v1/chat/completions", "503"]]


@pytest.mark.parametrize("aiohttp", [False, True], ids=["httpx", "aiohttp"])
def test_a_shutdown_ends_a_stream_still_waiting_with_an_error_event(
    upstream: EmulatorServer, emulator: Emulator, aiohttp: bool
) -> None:
    emulator.inject(faults.slow_stream(4.0))
    app = create_app(AsyncClient(base_url=upstream.url, max_retries=0, use_aiohttp=aiohttp), log=lambda _: None)
    received: list[Any] = []
    first_piece = threading.Event()

    def read(url: str) -> None:
        with openai.OpenAI(base_url=url, api_key="unused", max_retries=0, _strict_response_validation=True) as oai:
            stream = oai.chat.completions.create(model="text/openai", messages=user("w1 w2"), stream=True)
            with stream:
                for chunk in stream:
                    received.append(chunk)
                    if content_of(received):
                        first_piece.set()

    with serve_in_thread(app, timeout_graceful_shutdown=1.0) as running:
        thread, outcome = in_thread(lambda: read(running.url))
        assert first_piece.wait(10), "no first piece"
    thread.join(30)
    assert not thread.is_alive(), "the stream hung"
    [error] = outcome
    assert isinstance(error, openai.APIError) and not isinstance(error, openai.APIStatusError), error
    assert "shutting down" in error.message
    assert content_of(received) == "[openai] "  # what had arrived, and nothing after it


@pytest.mark.slow
def test_ctrl_c_answers_a_request_still_waiting_before_the_grace_period_ends(
    upstream: EmulatorServer, emulator: Emulator
) -> None:
    emulator.inject(faults.slow_first_byte(10))
    process = start_gateway(upstream.url)
    try:
        url = served_url(process)
        with openai.OpenAI(base_url=url, api_key="unused", max_retries=0, _strict_response_validation=True) as oai:
            ask = oai.chat.completions.create
            thread, outcome = in_thread(lambda: ask(model="text/openai", messages=user("slow")))
            eventually_blocking(lambda: len(emulator.requests) == 1, "the request to reach the service", seconds=10.0)
            _, err = interrupt(process)
            thread.join(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    [error] = outcome
    assert isinstance(error, openai.InternalServerError) and error.status_code == 503, error
    assert "POST /v1/chat/completions 503 " in err
    assert "Traceback" not in err


@pytest.mark.serial  # gives a subprocess a fixed time to start or to answer a signal
def test_a_public_bind_without_a_gateway_key_warns(upstream: EmulatorServer) -> None:
    process = start_gateway(upstream.url, "--host", "0.0.0.0")
    try:
        served_url(process)
    finally:
        _, err = interrupt(process)
    assert process.returncode == 0
    assert "warning: listening on 0.0.0.0 without --gateway-key" in err


def test_a_gateway_key_from_the_environment_is_required_and_never_shown(upstream: EmulatorServer) -> None:
    process = start_gateway(upstream.url, "--host", "0.0.0.0", env={"DYNASPARK_GATEWAY_KEY": KEY})
    try:
        url = served_url(process).replace("0.0.0.0", "127.0.0.1")
        with (
            openai.OpenAI(base_url=url, api_key="wrong", max_retries=0, _strict_response_validation=True) as oai,
            pytest.raises(openai.AuthenticationError),
        ):
            oai.models.list()
        with openai.OpenAI(base_url=url, api_key=KEY, max_retries=0, _strict_response_validation=True) as oai:
            assert oai.models.list().data
    finally:
        out, err = interrupt(process)
    assert process.returncode == 0
    assert "warning" not in err
    assert "GET /v1/models 401 " in err and "GET /v1/models 200 " in err
    assert KEY not in out + err


def test_a_port_in_use_is_one_error_line(upstream: EmulatorServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_gateway(upstream.url)
        process.kill()
        process.communicate()
        done = subprocess.run(
            [sys.executable, "-m", "dynaspark_sdk", "gateway", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"dynaspark: error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in done.stderr


def test_serve_forever_raises_for_a_port_in_use_before_it_says_it_is_ready() -> None:
    ready: list[str] = []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"):
            serve_forever(create_app(AsyncClient(base_url="http://127.0.0.1:9")), port=port, on_ready=ready.append)
    assert ready == []


async def test_an_unexpected_failure_is_a_500_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(AsyncClient):
        async def generate_text(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals at /srv/app.py line 3")

        async def generate_audio(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals at /srv/app.py line 4")

    lines: list[str] = []
    app = create_app(Broken(base_url="http://127.0.0.1:9"), log=lines.append)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.localhost") as http:
        # The chat endpoint is reached directly (past Starlette's router), speech through it.
        answer = await http.post("/v1/chat/completions", json={"model": "text/openai", "messages": user("x")})
        spoken = await http.post("/v1/audio/speech", json={"model": "tts-1", "input": "x", "voice": "alloy"})
    for failed in (answer, spoken):
        assert failed.status_code == 500
        assert failed.json()["error"]["message"] == "internal error in the gateway"
        assert "secret internals" not in failed.text and "Traceback" not in failed.text
        assert failed.headers["x-should-retry"] == "false"  # as on every 5xx of the gateway
    assert "line 3" in caplog.text and "line 4" in caplog.text  # the operator's log has them
    assert [line.rsplit(" ", 2)[0] for line in lines] == ["POST /v1/chat/completions 500", "POST /v1/audio/speech 500"]


async def test_streams_on_any_asgi_server_loop(upstream: EmulatorServer, emulator: Emulator) -> None:
    """On trio (hypercorn's, here httpx's ASGI transport) a stream goes out through
    Starlette's StreamingResponse; on asyncio straight to `send`: the same events."""
    lines: list[str] = []
    async with AsyncClient(base_url=upstream.url, max_retries=0) as client:
        app = create_app(client, log=lines.append)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.localhost") as http:
            answers = [
                await http.post(
                    "/v1/chat/completions", json={"model": model, "messages": user("w1 w2"), "stream": True}
                )
                for model in ("gemini-1.5-flash", "text/openai")
            ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert answer.text.endswith("data: [DONE]\n\n")
    events = [json.loads(line[6:]) for line in answers[1].text.splitlines() if line.startswith("data: {")]
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(event["choices"][0]["delta"].get("content") or "" for event in events) == "[openai] You said: w1 w2"
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert [line.rsplit(" ", 2)[0] for line in lines] == ["POST /v1/chat/completions 200"] * 2


async def _stream_body_pieces(app: Any, model: str, path: str = "/v1/chat/completions") -> list[bytes]:
    """The pieces of the body the app hands its ASGI server for a stream: a chat completion's,
    or (`path` /v1/responses) a response's."""
    if path == "/v1/responses":
        request: dict[str, Any] = {"model": model, "input": "w1 w2", "stream": True}
    else:
        request = {"model": model, "messages": user("w1 w2"), "stream": True}
    body = json.dumps(request).encode()
    requests = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await anyio.sleep_forever()  # the client stays
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 200
    return [message["body"] for message in sent[1:] if message.get("body")]


async def test_an_answer_the_service_gave_at_once_goes_out_in_one_write(
    upstream: EmulatorServer, emulator: Emulator
) -> None:
    """A chat model's answer (one JSON document from the service) is all in once its first
    piece is: its events go out as one piece of the body, one write; a text model's event
    stream goes out as it comes, a piece per upstream event, none held back. The same for
    the Responses API's stream."""
    async with AsyncClient(base_url=upstream.url, max_retries=0) as client:
        app = create_app(client, log=lambda _: None)
        chat = await _stream_body_pieces(app, "gemini-1.5-flash")
        text = await _stream_body_pieces(app, "text/openai")
        response = await _stream_body_pieces(app, "gemini-1.5-flash", "/v1/responses")
    assert len(chat) == 1
    events = chat[0].split(b"\n\n")
    assert [event[:14] for event in events] == [b'data: {"id":"c', b'data: {"id":"c', b"data: [DONE]", b""]
    assert json.loads(events[0][6:])["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "[gemini-1.5-flash-8b] You said: w1 w2",
    }
    assert json.loads(events[1][6:])["choices"][0]["finish_reason"] == "stop"
    # A piece per upstream event, none held back for the next: the stop and [DONE] come after.
    deltas = [json.loads(piece[6:].split(b"\n\n")[0])["choices"][0]["delta"] for piece in text]
    assert [delta.get("content") for delta in deltas] == ["[openai] ", "You ", "said: ", "w1 ", "w2", None]
    assert text[-1].endswith(b'"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')
    # The Responses API's stream of a chat model: the opening events to response.completed, at once.
    assert len(response) == 1
    kinds = [line[7:] for line in response[0].split(b"\n") if line.startswith(b"event: ")]
    assert kinds[0] == b"response.created"
    assert kinds.count(b"response.output_text.delta") == 1
    assert kinds[-1] == b"response.completed"


def test_without_the_extra_the_import_error_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['starlette'] = None\n"
        "try:\n"
        "    import dynaspark_sdk.gateway\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'dynaspark-sdk[gateway]'" in done.stdout
    code = (
        "import sys\nsys.modules['uvicorn'] = None\nfrom dynaspark_sdk.cli import main\nsys.exit(main(['gateway']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == "dynaspark: error: dynaspark gateway needs uvicorn: pip install 'dynaspark-sdk[gateway]'\n"


@pytest.mark.parametrize("aiohttp", [False, True], ids=["httpx", "aiohttp"])
def test_a_client_leaving_a_stream_ends_it_and_its_upstream_answer(
    upstream: EmulatorServer, emulator: Emulator, aiohttp: bool
) -> None:
    """A client that closes its connection mid-stream ends the stream at its next piece: the
    gateway stops reading the upstream answer (its request is logged as done) instead of
    reading it to the end."""
    import time

    import httpx

    lines: list[str] = []
    words = " ".join(f"w{index}" for index in range(40))
    emulator.stream_delay = 0.1  # 40-odd events: about 4 s to read them all
    try:
        client = AsyncClient(base_url=upstream.url, max_retries=0, use_aiohttp=aiohttp)
        with serve_in_thread(create_app(client, log=lines.append)) as running:
            body = {"model": "text/openai", "messages": [{"role": "user", "content": words}], "stream": True}
            with (
                httpx.Client(base_url=running.url, timeout=10) as http,
                http.stream("POST", "/chat/completions", json=body) as answer,
            ):
                assert next(answer.iter_lines()).startswith("data: {")
                left = time.monotonic()
            while not lines and time.monotonic() - left < 10:
                time.sleep(0.01)
            ended = time.monotonic() - left
    finally:
        emulator.stream_delay = 0.0
    assert lines and lines[0].startswith("POST /v1/chat/completions 200 ")
    assert ended < 2.0, f"the stream went on {ended:.1f} s after the client left"
