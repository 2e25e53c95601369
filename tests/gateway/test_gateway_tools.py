"""Tools and structured output through the gateway, driven by the real `openai` package
(sync and async, streamed and not), with the emulator playing the model over loopback: a
tools round trip, `chat.completions.parse` with a pydantic model, streamed tool calls, a wrong
answer the repair fixes and one it cannot, and the checks of the request's fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from conftest import Dual, GatewayStack, gateway_stack
from pydantic import BaseModel

from dynaspark_sdk.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("loopback_only")]

CLIENTS = pytest.mark.parametrize(
    ("client_kind", "anyio_backend"),
    [("sync", "asyncio"), ("async", "asyncio"), ("async", "trio")],
    ids=["sync", "async-asyncio", "async-trio"],
)
# openai's AsyncStream leaves async generators to the garbage collector at [DONE], which trio
# reports as unraisable: streams are read with the async client on asyncio only.
STREAM_CLIENTS = pytest.mark.parametrize(
    ("client_kind", "anyio_backend"), [("sync", "asyncio"), ("async", "asyncio")], ids=["sync", "async-asyncio"]
)

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
CALL = '{"name": "get_weather", "arguments": {"city": "Paris"}}'


class City(BaseModel):
    name: str
    population: int


@pytest.fixture(scope="module")
def stack() -> Iterator[GatewayStack]:
    with gateway_stack() as running:
        yield running


@pytest.fixture
def emulator(stack: GatewayStack) -> Iterator[Emulator]:
    stack.emulator.clear_requests()
    stack.emulator.clear_answers()
    yield stack.emulator
    stack.emulator.clear_answers()


@pytest.fixture
async def oai(client_kind: str, anyio_backend: str, stack: GatewayStack) -> Any:
    kind = openai.OpenAI if client_kind == "sync" else openai.AsyncOpenAI
    dual = Dual(client_kind, kind(base_url=stack.url, api_key="unused", max_retries=0, timeout=20.0))
    yield dual
    await dual.resolve(dual.client.close())


def prompts(emulator: Emulator) -> list[str]:
    return [request.fields.get("user_input") or request.params["user_input"] for request in emulator.requests]


@CLIENTS
async def test_a_tools_round_trip(oai: Dual, emulator: Emulator) -> None:
    emulator.script_answers([f"Let me check.\n```json\n{CALL}\n```", "It is sunny in Paris."])
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    first = await oai.resolve(
        oai.client.chat.completions.create(model="gemini-2.0-flash", messages=messages, tools=[WEATHER])
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert (call.type, call.function.name, json.loads(call.function.arguments)) == (
        "function",
        "get_weather",
        {"city": "Paris"},
    )
    assert call.id.startswith("call_")
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 24 C"},
    ]
    final = await oai.resolve(
        oai.client.chat.completions.create(model="gemini-2.0-flash", messages=messages, tools=[WEATHER])
    )
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "It is sunny in Paris."
    assert final.choices[0].message.tool_calls is None
    last = prompts(emulator)[-1]
    assert f"Tool: result of get_weather (call {call.id}): sunny, 24 C\nAssistant:" in last


@CLIENTS
async def test_a_wrong_call_is_repaired_and_one_it_cannot_fix_is_an_error(oai: Dual, emulator: Emulator) -> None:
    emulator.script_answers(['{"name": "get_weather", "arguments": {"town": "Paris"}}', CALL])
    answer = await oai.resolve(
        oai.client.chat.completions.create(
            model="gemini-2.0-flash", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER]
        )
    )
    assert json.loads(answer.choices[0].message.tool_calls[0].function.arguments) == {"city": "Paris"}
    assert "- arguments of get_weather: $: 'city' is a required property" in prompts(emulator)[1]

    emulator.script_answers(["I cannot.", "I still cannot."])
    with pytest.raises(openai.APIStatusError) as caught:
        await oai.resolve(
            oai.client.chat.completions.create(
                model="gemini-2.0-flash",
                messages=[{"role": "user", "content": "Weather?"}],
                tools=[WEATHER],
                tool_choice="required",
            )
        )
    assert caught.value.status_code == 502
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["code"] == "invalid_model_output"
    assert error["message"].startswith("the model's answer is not a valid tool call after 2 attempts")


@CLIENTS
async def test_parse_with_a_pydantic_model(oai: Dual, emulator: Emulator) -> None:
    emulator.script_answers(
        ['{"name": "Paris", "population": "many"}', 'Sure: {"name": "Paris", "population": 2100000}']
    )
    completion = await oai.resolve(
        oai.client.chat.completions.parse(
            model="gemini-2.0-flash",
            messages=[{"role": "user", "content": "The biggest city of France?"}],
            response_format=City,
        )
    )
    message = completion.choices[0].message
    assert message.parsed == City(name="Paris", population=2100000)
    assert message.content == '{"name": "Paris", "population": 2100000}'
    first = prompts(emulator)[0]
    assert "Answer with one JSON value that fits this JSON Schema" in first and '"title":"City"' in first


@STREAM_CLIENTS
async def test_streamed_tool_calls_in_openai_s_chunk_shape(oai: Dual, emulator: Emulator) -> None:
    emulator.script_answers(["Checking. " + json.dumps({"tool_calls": [json.loads(CALL), json.loads(CALL)]})])
    stream = await oai.resolve(
        oai.client.chat.completions.create(
            model="gemini-2.0-flash", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER], stream=True
        )
    )
    chunks = await oai.items(stream)
    deltas = [chunk.choices[0].delta for chunk in chunks if chunk.choices]
    assert deltas[0].role == "assistant"
    assert "".join(delta.content or "" for delta in deltas) == "Checking. "
    calls = [call for delta in deltas for call in delta.tool_calls or ()]
    assert [(call.index, call.function.name, json.loads(call.function.arguments)) for call in calls] == [
        (0, "get_weather", {"city": "Paris"}),
        (1, "get_weather", {"city": "Paris"}),
    ]
    assert all(call.id and call.id.startswith("call_") and call.type == "function" for call in calls)
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "tool_calls"


def test_openai_s_stream_helper_assembles_the_calls(stack: GatewayStack, emulator: Emulator) -> None:
    with openai.OpenAI(base_url=stack.url, api_key="unused", max_retries=0) as client:
        tool = openai.pydantic_function_tool(City, name="save_city")
        emulator.script_answers(['{"name": "save_city", "arguments": {"name": "Lyon", "population": 520000}}'])
        with client.chat.completions.stream(
            model="gemini-2.0-flash", messages=[{"role": "user", "content": "Save Lyon"}], tools=[tool]
        ) as stream:
            final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    (call,) = calls
    assert call.function.parsed_arguments == City(name="Lyon", population=520000)


@CLIENTS
async def test_json_object_on_a_text_model_uses_the_json_mode(oai: Dual, emulator: Emulator) -> None:
    emulator.script_answers(['{"ok": true}'], endpoint="text")
    answer = await oai.resolve(
        oai.client.chat.completions.create(
            model="text/openai",
            messages=[{"role": "user", "content": "Say ok in JSON"}],
            response_format={"type": "json_object"},
        )
    )
    assert json.loads(answer.choices[0].message.content) == {"ok": True}
    assert emulator.requests[-1].params["json"] == "true"


@pytest.mark.parametrize(
    ("fields", "param", "text"),
    [
        ({"tools": [{"type": "code_interpreter"}]}, "tools[0].type", "only function tools"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function", "needs a name"),
        ({"tools": "get_weather"}, "tools", "must be an array"),
        ({"tool_choice": "required"}, "tool_choice", "only allowed when 'tools' are given"),
        ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice", "supported values"),
        ({"tools": [WEATHER], "parallel_tool_calls": "yes"}, "parallel_tool_calls", "true or false"),
        ({"response_format": {"type": "xml"}}, "response_format.type", "supported values"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": 3}}},
            "response_format",
            "schema",
        ),
        # Checked by the SDK before it sends anything: a broken schema, a function named twice.
        (
            {
                "tools": [
                    {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": 3}}}
                ]
            },
            None,
            "the JSON Schema is not valid",
        ),
        ({"tools": [WEATHER, WEATHER]}, None, "more than one function called 'get_weather'"),
    ],
)
def test_bad_tool_fields_are_refused_before_anything_is_sent(
    stack: GatewayStack, emulator: Emulator, fields: dict[str, Any], param: str | None, text: str
) -> None:
    with (
        openai.OpenAI(base_url=stack.url, api_key="unused", max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(model="gemini-2.0-flash", messages=[{"role": "user", "content": "x"}], **fields)
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["param"] == param and text in body["message"]
    assert emulator.requests == []
