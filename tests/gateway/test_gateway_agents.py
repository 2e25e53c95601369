"""Agents and extraction through the gateway with the real packages: LangChain's `bind_tools`,
`with_structured_output` and a tool-calling agent loop (langchain-openai), and openai-agents
with one function tool, against the emulator playing the model over loopback, including a
wrong answer the repair fixes and one it cannot.

openai-agents and LangChain are imported by the tests that use them, not when the module is
collected: every pytest-xdist worker collects every module, and they take seconds to import."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from conftest import GatewayStack, gateway_stack
from pydantic import BaseModel, SecretStr

from dynaspark_sdk.testing import Emulator

if TYPE_CHECKING:
    import agents
    from langchain_core.tools import BaseTool
    from langchain_openai import ChatOpenAI

pytestmark = pytest.mark.usefixtures("loopback_only")


class City(BaseModel):
    """A city and its population."""

    name: str
    population: int


@functools.cache
def weather_tool() -> BaseTool:
    """A LangChain tool: the weather in a city."""
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    return get_weather


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


def chat_openai(stack: GatewayStack) -> ChatOpenAI:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(base_url=stack.url, api_key=SecretStr("unused"), model="gemini-2.0-flash", max_retries=0)


def prompts(emulator: Emulator) -> list[str]:
    return [request.fields["user_input"] for request in emulator.requests]


def test_langchain_bind_tools(stack: GatewayStack, emulator: Emulator) -> None:
    from langchain_core.messages import AIMessage

    emulator.script_answers(['{"name": "get_weather", "arguments": {"city": "Paris"}}'])
    answer = chat_openai(stack).bind_tools([weather_tool()]).invoke("Weather in Paris?")
    assert isinstance(answer, AIMessage)
    [call] = answer.tool_calls
    assert (call["name"], call["args"]) == ("get_weather", {"city": "Paris"})
    assert '"name":"get_weather","description":"The weather in a city."' in prompts(emulator)[0]


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_langchain_with_structured_output_with_a_repair(stack: GatewayStack, emulator: Emulator, method: str) -> None:
    if method == "function_calling":
        wrong, right = (
            '{"name": "City", "arguments": {"name": "Paris"}}',
            '{"name": "City", "arguments": {"name": "Paris", "population": 2100000}}',
        )
    else:
        wrong, right = '{"name": "Paris", "population": "big"}', '{"name": "Paris", "population": 2100000}'
    emulator.script_answers([wrong, right])
    extract = chat_openai(stack).with_structured_output(City, method=method)  # type: ignore[arg-type]
    question = "The biggest city of France? Answer in JSON." if method == "json_mode" else "The biggest city?"
    if method == "json_mode":
        # json_mode checks only that the answer is a JSON object: LangChain validates the fields.
        emulator.script_answers([right])
    assert extract.invoke(question) == City(name="Paris", population=2100000)


def test_langchain_a_tool_calling_agent_loop(stack: GatewayStack, emulator: Emulator) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage

    get_weather = weather_tool()
    emulator.script_answers(
        [
            '{"name": "get_weather", "arguments": {"town": "Paris"}}',  # wrong: repaired
            '{"name": "get_weather", "arguments": {"city": "Paris"}}',
            "It is sunny in Paris.",
        ]
    )
    model = chat_openai(stack).bind_tools([get_weather])
    messages: list[Any] = [HumanMessage("Weather in Paris?")]
    tools = {"get_weather": get_weather}
    for _ in range(3):
        answer = model.invoke(messages)
        messages.append(answer)
        if not answer.tool_calls:
            break
        for call in answer.tool_calls:
            messages.append(ToolMessage(tools[call["name"]].invoke(call["args"]), tool_call_id=call["id"]))
    assert messages[-1].content == "It is sunny in Paris."
    assert len(emulator.requests) == 3
    assert "- arguments of get_weather: $: 'city' is a required property" in prompts(emulator)[1]
    assert "): sunny in Paris\nAssistant:" in prompts(emulator)[2]


def test_langchain_when_the_repair_fails(stack: GatewayStack, emulator: Emulator) -> None:
    import openai

    emulator.script_answers(["Paris.", "Paris, I said."])
    extract = chat_openai(stack).with_structured_output(City, method="json_schema")
    with pytest.raises(openai.APIStatusError, match=r"not a valid JSON answer .* after 2 attempts") as caught:
        extract.invoke("The biggest city?")
    assert (caught.value.status_code, caught.value.code) == (502, "invalid_model_output")


def forecast_tool() -> agents.FunctionTool:
    """An openai-agents function tool: the weather in a city."""
    import agents

    @agents.function_tool
    def forecast(city: str) -> str:
        """The weather in a city.

        Args:
            city: The city's name.
        """
        return f"sunny in {city}"

    return forecast


def test_openai_agents_with_one_function_tool(stack: GatewayStack, emulator: Emulator) -> None:
    import agents
    import openai

    forecast = forecast_tool()
    agents.set_tracing_disabled(True)
    emulator.script_answers(
        [
            '{"name": "forecast", "arguments": {}}',  # wrong: the city is missing, the repair asks again
            'I will check. {"name": "forecast", "arguments": {"city": "Paris"}}',
            "It is sunny in Paris.",
        ]
    )

    async def run() -> Any:
        async with openai.AsyncOpenAI(base_url=stack.url, api_key="unused", max_retries=0) as client:
            model = agents.OpenAIChatCompletionsModel(model="gemini-2.0-flash", openai_client=client)
            tools: list[agents.Tool] = [forecast]
            agent = agents.Agent(name="Forecaster", instructions="Answer about the weather.", tools=tools, model=model)
            return await agents.Runner.run(agent, "Weather in Paris?")

    result = asyncio.run(run())
    assert result.final_output == "It is sunny in Paris."
    first, repair, last = prompts(emulator)
    assert first.startswith("System: Answer about the weather.\n\nYou can call functions.")
    assert "- arguments of forecast: $: 'city' is a required property" in repair
    assert "): sunny in Paris\nAssistant:" in last
