"""Function tools and structured output on the gateway's Responses API (`/v1/responses`),
driven by the real `openai` package with strict response validation and by openai-agents'
`Runner` (which uses the Responses API by default), the emulator playing the model over
loopback: a tool round trip through `previous_response_id`, the same without a store, the
streamed function-call events, `responses.parse(text_format=...)`, a repaired answer and one
the repair cannot fix (an error, or `response.failed` when streamed), and a caller's schema
with a catastrophic regex refused before anything is sent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from conftest import Dual
from openai_fixtures import CLIENTS, STREAM_CLIENTS, cleared_emulator, failure, openai_factory  # noqa: F401
from pydantic import BaseModel

from dynaspark_sdk import AsyncClient
from dynaspark_sdk.integrations.gateway import create_app, serve_in_thread
from dynaspark_sdk.testing import Emulator, EmulatorServer

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("loopback_only")]

WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
CALL = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
MODEL = "gemini-2.0-flash"


class City(BaseModel):
    name: str
    population: int


@pytest.fixture(scope="module")
def gateway(upstream: EmulatorServer) -> Iterator[str]:
    with serve_in_thread(create_app(AsyncClient(base_url=upstream.url, max_retries=0), log=lambda _: None)) as running:
        yield running.url


@pytest.fixture
def scripted(emulator: Emulator) -> Iterator[Emulator]:
    emulator.clear_answers()
    yield emulator
    emulator.clear_answers()


@pytest.fixture
def oai(make_openai: Callable[..., Dual], gateway: str) -> Dual:
    return make_openai(gateway)


async def create(dual: Dual, **kwargs: Any) -> Any:
    return await dual.resolve(dual.client.responses.create(**kwargs))


async def parse(dual: Dual, **kwargs: Any) -> Any:
    return await dual.resolve(dual.client.responses.parse(**kwargs))


def prompts(emulator: Emulator) -> list[str]:
    return [{**request.params, **dict(request.form)}["user_input"] for request in emulator.requests]


@CLIENTS
async def test_a_function_tool_round_trip_through_previous_response_id(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers([f"Let me check.\n```json\n{CALL}\n```", "It is sunny in Paris."])
    first = await create(oai, model=MODEL, input="Weather in Paris?", tools=[WEATHER], tool_choice="auto")
    (call,) = first.output
    assert call.type == "function_call" and call.status == "completed"
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Paris"})
    assert call.call_id.startswith("call_") and call.id.startswith("fc_")
    assert first.tools[0].name == "get_weather" and first.tools[0].strict is True
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 24 C"}
    final = await create(oai, model=MODEL, input=[result], tools=[WEATHER], previous_response_id=first.id)
    assert final.output_text == "It is sunny in Paris."
    last = prompts(scripted)[-1]
    assert "User: Weather in Paris?" in last
    assert f"Tool: result of get_weather (call {call.call_id}): sunny, 24 C\nAssistant:" in last
    items = await oai.resolve(oai.client.responses.input_items.list(final.id))
    (listed,) = items.data
    assert (listed.type, listed.call_id, listed.output) == ("function_call_output", call.call_id, "sunny, 24 C")


@CLIENTS
async def test_calls_and_outputs_sent_back_without_a_store(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers(["Sunny in both."])
    calls = [
        {
            "type": "function_call",
            "call_id": f"call_{city}",
            "name": "get_weather",
            "arguments": json.dumps({"city": city}),
        }
        for city in ("Paris", "Lyon")
    ]
    outputs = [
        {"type": "function_call_output", "call_id": "call_Paris", "output": "sunny"},
        {"type": "function_call_output", "call_id": "call_Lyon", "output": [{"type": "input_text", "text": "sunny"}]},
    ]
    user = {"role": "user", "content": "Weather in Paris and Lyon?"}
    answer = await create(oai, model=MODEL, input=[user, *calls, *outputs], tools=[WEATHER], store=False)
    assert answer.output_text == "Sunny in both."
    prompt = prompts(scripted)[-1]
    assert "Tool: result of get_weather (call call_Paris): sunny" in prompt
    assert "Tool: result of get_weather (call call_Lyon): sunny" in prompt


@STREAM_CLIENTS
async def test_streamed_function_calls_as_openai_sends_them(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers([json.dumps({"tool_calls": [json.loads(CALL), json.loads(CALL)]})])
    stream = await create(oai, model=MODEL, input="Weather?", tools=[WEATHER], stream=True)
    events: list[Any] = await oai.collect(stream)
    per_call = [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    kinds = [event.type for event in events]
    assert kinds == ["response.created", "response.in_progress", *per_call, *per_call, "response.completed"]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    added, delta, done, item_done = events[2:6]
    assert added.item.type == "function_call" and added.item.status == "in_progress" and added.output_index == 0
    assert delta.item_id == added.item.id and json.loads(delta.delta) == {"city": "Paris"}
    assert done.name == "get_weather" and done.arguments == delta.delta
    assert item_done.item.status == "completed" and item_done.item.call_id == added.item.call_id
    assert events[6].output_index == 1
    completed = events[-1].response
    assert [item.type for item in completed.output] == ["function_call", "function_call"]
    assert completed.output[0].call_id != completed.output[1].call_id


@STREAM_CLIENTS
async def test_streamed_text_then_a_call(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers([f"Checking. {CALL}"])
    stream = await create(oai, model=MODEL, input="Weather?", tools=[WEATHER], stream=True)
    events: list[Any] = await oai.collect(stream)
    added = [event for event in events if event.type == "response.output_item.added"]
    assert [(event.output_index, event.item.type) for event in added] == [(0, "message"), (1, "function_call")]
    completed = events[-1].response
    assert [item.type for item in completed.output] == ["message", "function_call"]
    assert completed.output_text == "Checking. "


@STREAM_CLIENTS
async def test_a_streamed_call_is_stored_for_previous_response_id(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers([CALL, "Sunny."])
    stream = await create(oai, model=MODEL, input="Weather in Paris?", tools=[WEATHER], stream=True)
    events: list[Any] = await oai.collect(stream)
    first = events[-1].response
    (call,) = first.output
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    final = await create(oai, model=MODEL, input=[result], tools=[WEATHER], previous_response_id=first.id)
    assert final.output_text == "Sunny."
    assert f"Tool: result of get_weather (call {call.call_id}): sunny" in prompts(scripted)[-1]


@CLIENTS
async def test_json_object_on_a_text_model_uses_the_json_mode(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers(['{"ok": true}'], endpoint="text")
    answer = await create(oai, model="text/openai", input="Say ok in JSON", text={"format": {"type": "json_object"}})
    assert json.loads(answer.output_text) == {"ok": True}
    assert answer.text.format.type == "json_object"
    assert scripted.requests[-1].params["json"] == "true"


@CLIENTS
async def test_parse_with_a_pydantic_text_format_after_a_repair(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers(['{"name": "Paris", "population": "many"}', '{"name": "Paris", "population": 2100000}'])
    parsed = await parse(oai, model=MODEL, input="The biggest city of France?", text_format=City)
    assert parsed.output_parsed == City(name="Paris", population=2100000)
    assert parsed.text.format.type == "json_schema" and parsed.text.format.name == "City"
    first, repair = prompts(scripted)
    assert "Answer with one JSON value that fits this JSON Schema" in first and '"title":"City"' in first
    assert "population" in repair


@CLIENTS
async def test_json_object_format(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers(['Here: {"ok": true}'])
    answer = await create(oai, model=MODEL, input="Say ok in JSON", text={"format": {"type": "json_object"}})
    assert json.loads(answer.output_text) == {"ok": True}


@CLIENTS
async def test_an_answer_the_repair_cannot_fix_is_an_error(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers(["Paris.", "Paris, I said."])
    error = await failure(parse(oai, model=MODEL, input="Biggest city?", text_format=City))
    assert isinstance(error, openai.APIStatusError) and error.status_code == 502
    assert error.code == "invalid_model_output" and "after 2 attempts" in error.message


@STREAM_CLIENTS
async def test_a_streamed_answer_the_repair_cannot_fix_is_response_failed(oai: Dual, scripted: Emulator) -> None:
    scripted.script_answers(["I cannot.", "I still cannot."])
    stream = await create(oai, model=MODEL, input="Weather?", tools=[WEATHER], tool_choice="required", stream=True)
    events: list[Any] = await oai.collect(stream)
    assert [event.type for event in events] == ["response.created", "response.in_progress", "response.failed"]
    failed = events[-1].response
    assert failed.status == "failed" and failed.error is not None
    assert "not a valid tool call after 2 attempts" in failed.error.message


HOSTILE = {"type": "object", "properties": {"name": {"type": "string", "pattern": "^(a+)+$"}}}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [{**WEATHER, "parameters": HOSTILE}]}, "tools[0].parameters"),
        ({"text": {"format": {"type": "json_schema", "name": "n", "schema": HOSTILE}}}, "text.format.schema"),
        (
            {"text": {"format": {"type": "json_schema", "name": "n", "schema": {"enum": ["x" * 70_000]}}}},
            "text.format.schema",
        ),
    ],
)
def test_a_hostile_or_huge_schema_is_refused_before_anything_is_sent(
    gateway: str, scripted: Emulator, fields: dict[str, Any], param: str
) -> None:
    # Unbounded, checking this answer against ^(a+)+$ backtracks for seconds on the event loop.
    scripted.script_answers(['{"name": "' + "a" * 26 + '!"}'] * 2)
    started = time.monotonic()
    with (
        openai.OpenAI(base_url=gateway, api_key="unused", max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.responses.create(model=MODEL, input="x", **fields)
    assert time.monotonic() - started < 2
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == param
    assert scripted.requests == []


def test_chat_completions_refuse_a_hostile_schema_too(gateway: str, scripted: Emulator) -> None:
    tool: Any = {"type": "function", "function": {"name": "f", "parameters": HOSTILE}}
    with (
        openai.OpenAI(base_url=gateway, api_key="unused", max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], tools=[tool])
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "tools[0].function.parameters"
    assert "'^(a+)+$' repeats a repetition" in body["message"]
    assert scripted.requests == []


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [{"type": "function"}]}, "tools[0]"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function"}}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}]}, "input[0].arguments"),
        ({"text": {"format": {"type": "json_schema", "name": "n", "schema": 3}}}, "text.format"),
    ],
)
def test_bad_tool_fields_are_refused(gateway: str, scripted: Emulator, fields: dict[str, Any], param: str) -> None:
    body = {"model": MODEL, "input": "x", **fields}
    with (
        openai.OpenAI(base_url=gateway, api_key="unused", max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.post("/responses", body=body, cast_to=object)
    error = caught.value.body
    assert isinstance(error, dict) and error["param"] == param, error
    assert scripted.requests == []


def forecast(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    return f"sunny in {city}"


def test_openai_agents_over_the_responses_api(gateway: str, scripted: Emulator) -> None:
    import agents  # here, not at the top: a second of imports for every worker that only collects the module

    agents.set_tracing_disabled(True)
    scripted.script_answers(['{"name": "forecast", "arguments": {"city": "Paris"}}', "It is sunny in Paris."])

    async def run() -> Any:
        async with openai.AsyncOpenAI(base_url=gateway, api_key="unused", max_retries=0) as client:
            model = agents.OpenAIResponsesModel(model=MODEL, openai_client=client)
            tools: list[agents.Tool] = [agents.function_tool(forecast)]
            agent = agents.Agent(name="Forecaster", instructions="Answer about the weather.", tools=tools, model=model)
            return await agents.Runner.run(agent, "Weather in Paris?")

    result = asyncio.run(run())
    assert result.final_output == "It is sunny in Paris."
    first, last = prompts(scripted)
    assert first.startswith("System: Answer about the weather.\n\nYou can call functions.")
    assert "): sunny in Paris\nAssistant:" in last
