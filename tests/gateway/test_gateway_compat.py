"""What OpenAI tools send today, through the gateway (real `openai` package over loopback, the
emulator upstream): the parameter policy, `stop`, the model named one way in every answer,
messages checked in OpenAI's terms, `/v1/models`, and the 429 the client's own gate answers."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from conftest import Dual
from openai_fixtures import CLIENTS, STREAM_CLIENTS, cleared_emulator, failure, invoke, openai_factory, user  # noqa: F401

from dynaspark_sdk import AsyncClient
from dynaspark_sdk.integrations.gateway import create_app, serve_in_thread
from dynaspark_sdk.testing import Emulator, EmulatorServer, serve

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("loopback_only")]

IGNORED = "x-dynaspark-ignored-params"


@pytest.fixture(scope="module")
def log() -> list[str]:
    return []


@pytest.fixture(scope="module")
def gateway(upstream: EmulatorServer, log: list[str]) -> Iterator[str]:
    with serve_in_thread(create_app(AsyncClient(base_url=upstream.url, max_retries=0), log=log.append)) as running:
        yield running.url


@pytest.fixture(scope="module")
def strict_gateway(upstream: EmulatorServer) -> Iterator[str]:
    app = create_app(AsyncClient(base_url=upstream.url, max_retries=0), strict_params=True, log=lambda _: None)
    with serve_in_thread(app) as running:
        yield running.url


@pytest.fixture
def oai(make_openai: Callable[[str], Dual], gateway: str) -> Dual:
    return make_openai(gateway)


async def raw_chat(dual: Dual, **kwargs: Any) -> tuple[Any, Any]:
    """The parsed completion and the raw answer's headers."""
    raw = await dual.resolve(dual.client.chat.completions.with_raw_response.create(**kwargs))
    return raw.parse(), raw.headers


async def stream_chunks(dual: Dual, **kwargs: Any) -> list[Any]:
    return await dual.collect(await dual.resolve(dual.client.chat.completions.create(stream=True, **kwargs)))


def contents(chunks: list[Any]) -> list[str]:
    return [chunk.choices[0].delta.content for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]


# --------------------------------------------------------------------------- the parameter policy


@CLIENTS
async def test_what_only_tunes_the_answer_is_accepted_ignored_and_named(
    oai: Dual, emulator: Emulator, log: list[str]
) -> None:
    completion, headers = await raw_chat(
        oai,
        model="gemini-2.0-flash",
        messages=user("hi"),
        max_tokens=100,
        temperature=0.5,
        seed=7,
        metadata={"run": "1"},
        store=True,
        logprobs=False,
        top_logprobs=0,
        modalities=["text"],
        user="someone",
    )
    assert completion.choices[0].message.content == "[gemini-2.0-flash-lite] You said: hi"
    named = {"max_tokens", "temperature", "seed", "metadata", "store", "user"}
    assert set(headers[IGNORED].split(", ")) == named
    # Nothing of it went upstream.
    assert dict(emulator.requests[-1].form) == {"user_input": "hi", "ai_model": "gemini-2.0-flash-lite"}
    assert log[-1].startswith("POST /v1/chat/completions 200 ")
    assert log[-1].endswith(f" ms (ignored: {headers[IGNORED]})")


@CLIENTS
async def test_an_answer_that_ignored_nothing_has_no_such_header(oai: Dual) -> None:
    _, headers = await raw_chat(oai, model="gemini-2.0-flash", messages=user("hi"), temperature=1, n=1)
    assert IGNORED not in headers


@CLIENTS
async def test_strict_params_refuses_them_unless_at_their_defaults(
    make_openai: Callable[[str], Dual], strict_gateway: str, emulator: Emulator
) -> None:
    strict = make_openai(strict_gateway)
    error = await failure(raw_chat(strict, model="gemini-2.0-flash", messages=user("x"), max_tokens=5, temperature=0.2))
    assert isinstance(error, openai.BadRequestError) and error.code == "unsupported_parameter"
    assert "max_tokens, temperature" in error.message
    assert emulator.requests == []
    answer = await strict.resolve(
        strict.client.chat.completions.create(model="gemini-2.0-flash", messages=user("x"), temperature=1, user="u")
    )
    assert answer.choices[0].message.content.endswith("You said: x")


@CLIENTS
async def test_what_would_change_the_answer_s_shape_is_still_refused(oai: Dual, emulator: Emulator) -> None:
    cases: list[dict[str, Any]] = [
        {"n": 2},
        {"logprobs": True},
        {"top_logprobs": 3},
        {"modalities": ["text", "audio"]},
        {"audio": {"voice": "alloy", "format": "mp3"}},
        {"extra_body": {"bogus": 1}},
    ]
    for extra in cases:
        error = await failure(raw_chat(oai, model="gemini-2.0-flash", messages=user("x"), **extra))
        name = next(iter(extra.get("extra_body", extra)))
        assert isinstance(error, openai.BadRequestError), extra
        assert error.code == "unsupported_parameter" and name in error.message, extra
    assert emulator.requests == []


@CLIENTS
async def test_the_text_api_still_gets_its_own_parameters(oai: Dual, emulator: Emulator) -> None:
    _, headers = await raw_chat(
        oai, model="text/openai", messages=user("hi"), temperature=0.5, seed=3, max_completion_tokens=10
    )
    assert headers[IGNORED] == "max_completion_tokens"
    params = emulator.requests[-1].params
    assert (params["temperature"], params["seed"]) == ("0.5", "3")
    assert "max_completion_tokens" not in params


@CLIENTS
async def test_images_ignore_quality_and_style(oai: Dual, emulator: Emulator) -> None:
    raw = await oai.resolve(oai.client.images.with_raw_response.generate(prompt="a cat", quality="hd", style="natural"))
    assert raw.parse().data[0].url
    assert raw.headers[IGNORED] == "quality, style"
    assert "quality" not in emulator.requests[-1].params


# --------------------------------------------------------------------------- stop


@CLIENTS
async def test_stop_cuts_a_whole_answer_before_the_first_stop_sequence(oai: Dual) -> None:
    completion, _ = await raw_chat(oai, model="gemini-2.0-flash", messages=user("one two"), stop=["two", "said"])
    assert completion.choices[0].message.content == "[gemini-2.0-flash-lite] You "
    assert completion.choices[0].finish_reason == "stop"
    completion, _ = await raw_chat(oai, model="text/openai", messages=user("one two"), stop="one")
    assert completion.choices[0].message.content == "[openai] You said: "


@STREAM_CLIENTS
async def test_a_stream_holds_back_only_what_could_begin_a_stop_sequence(oai: Dual, emulator: Emulator) -> None:
    # The text API streams "[openai] ", "You ", "said: ", "one ", "two": the stop spans two pieces.
    chunks = await stream_chunks(oai, model="text/openai", messages=user("one two"), stop=["d: on", "zzz"])
    assert contents(chunks) == ["[openai] ", "You ", "sai"]
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    # Without a match, what was held back comes out in the end.
    chunks = await stream_chunks(oai, model="text/openai", messages=user("one two"), stop="two!")
    assert "".join(contents(chunks)) == "[openai] You said: one two"


@CLIENTS
async def test_bad_stop_sequences_are_a_400(oai: Dual, emulator: Emulator) -> None:
    for stop in (["a", "b", "c", "d", "e"], [""], 5):
        error = await failure(raw_chat(oai, model="gemini-2.0-flash", messages=user("x"), stop=stop))
        assert isinstance(error, openai.BadRequestError) and "'stop'" in error.message
    assert emulator.requests == []


# --------------------------------------------------------------------------- one model name


@STREAM_CLIENTS
@pytest.mark.parametrize(
    ("asked", "named"), [("gemini-2.0-flash", "gemini-2.0-flash-lite"), ("text/openai", "text/openai")]
)
async def test_plain_and_streamed_answers_name_the_same_model(oai: Dual, asked: str, named: str) -> None:
    completion, _ = await raw_chat(oai, model=asked, messages=user("hi"))
    chunks = await stream_chunks(oai, model=asked, messages=user("hi"))
    assert completion.model == named
    assert {chunk.model for chunk in chunks} == {named}


# --------------------------------------------------------------------------- messages


@CLIENTS
async def test_message_errors_point_into_the_request_as_openai_s_do(oai: Dual, emulator: Emulator) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    cases: list[tuple[str, list[Any], str, str]] = [
        ("gemini-2.0-flash", [*user("a"), {"role": "wizard", "content": "b"}], "messages[1].role", "'wizard'"),
        ("gemini-2.0-flash", [{"role": "user", "content": None}], "messages[0].content", "not null"),
        ("gemini-2.0-flash", [{"role": "function", "content": "x", "name": "f"}], "messages[0].role", "use tools"),
        ("gemini-2.0-flash", [{"role": "tool", "content": "x"}], "messages[0].tool_call_id", "id of the call"),
        (
            "gemini-2.0-flash",
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": {}}}],
                }
            ],
            "messages[0].tool_calls[0].function",
            "arguments' as a JSON string",
        ),
        (
            "gemini-2.0-flash",
            [{"role": "user", "content": [{"type": "input_audio"}]}],
            "messages[0].content[0]",
            "'text' and 'image_url'",
        ),
        (
            "text/openai",
            [{"role": "user", "content": [{"type": "text", "text": "x"}, image]}],
            "messages[0].content[1].image_url",
            "takes no images",
        ),
    ]
    for model, messages, param, words in cases:
        error = await failure(raw_chat(oai, model=model, messages=messages))
        assert isinstance(error, openai.BadRequestError), param
        assert error.param == param and f"Invalid '{param}'" in error.message and words in error.message, error.message
        assert "NoneType" not in error.message and "chat()" not in error.message
    assert emulator.requests == []


@CLIENTS
async def test_text_parts_of_one_message_are_joined_a_line_apart(oai: Dual, emulator: Emulator) -> None:
    parts = [{"type": "text", "text": "part1"}, {"type": "text", "text": "part2"}]
    await raw_chat(oai, model="gemini-2.0-flash", messages=[{"role": "user", "content": parts}])
    assert dict(emulator.requests[-1].form)["user_input"] == "part1\npart2"
    # An assistant's null content (as clients send it) is an empty turn.
    messages = [*user("a"), {"role": "assistant", "content": None}, *user("b")]
    await raw_chat(oai, model="gemini-2.0-flash", messages=messages)
    assert dict(emulator.requests[-1].form)["user_input"] == "User: a\nUser: b\nAssistant:"


# --------------------------------------------------------------------------- /v1/models


@CLIENTS
async def test_models_have_a_real_created_and_include_the_image_and_speech_models(oai: Dual) -> None:
    page = await oai.resolve(oai.client.models.list())
    models = {model.id: model for model in await oai.items(page)}
    for name in ("gemini-2.0-flash", "text/openai", "flux", "turbo", "gptimage", "dall-e-3", "tts-1", "openai-audio"):
        assert name in models, name
    assert {model.created for model in models.values()} != {0}
    assert all(abs(model.created - time.time()) < 24 * 3600 for model in models.values())
    assert (await oai.resolve(oai.client.models.retrieve("tts-1"))).created == models["tts-1"].created


# --------------------------------------------------------------------------- the local 429


async def test_a_429_counted_by_the_gateway_says_so_and_when_the_service_last_confirmed_it() -> None:
    with serve(Emulator(rate_limit=1)) as limited:
        client = AsyncClient(base_url=limited.url, max_retries=0, on_rate_limit="raise")
        with serve_in_thread(create_app(client, log=lambda _: None)) as running:
            async with openai.AsyncOpenAI(
                base_url=running.url, api_key="unused", max_retries=0, _strict_response_validation=True
            ) as oai:
                await oai.chat.completions.create(model="gemini-2.0-flash", messages=user("first"))
                confirmed = time.strftime("%H:%M", time.gmtime())
                limited.emulator.reset_rate_limits()  # the service restarts; the gateway does not know
                with pytest.raises(openai.RateLimitError) as caught:
                    await oai.chat.completions.create(model="gemini-2.0-flash", messages=user("second"))
        message = caught.value.message
        assert "counted by the gateway" in message
        assert re.search(rf"last confirmed the window used up at {confirmed}:\d\d UTC \(\d+ s ago\)", message), message
        assert caught.value.response.headers["retry-after"]
        assert len(limited.emulator.requests) == 1
