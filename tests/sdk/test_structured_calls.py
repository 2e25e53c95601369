"""Tools and structured output through both clients: what goes on the wire (respx), and the
emulator playing a model (scripted answers) for calls, repairs, streams and conversations."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual, emulator_transport, open_dual
from pydantic import BaseModel
from wire import form_of, json_answer

from dynaspark_sdk import ChatResponse, InvalidRequestError, StructuredOutputError, ToolCall
from dynaspark_sdk.testing import Emulator

pytestmark = pytest.mark.anyio
CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"
TEXT = f"{BASE_URL}/api/generate_response"


class City(BaseModel):
    name: str
    population: int


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    return f"sunny in {city}"


CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def answers(*texts: str) -> list[httpx.Response]:
    return [json_answer({"response": text}) for text in texts]


# --- on the wire --------------------------------------------------------------------------------


async def test_tools_are_described_in_the_prompt_and_the_call_comes_back(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(side_effect=answers(f"Let me look.\n```json\n{CALL}\n```"))
    answer = await make_dual().call("chat", "Weather in Paris?", tools=[get_weather])
    (call,) = answer.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert call.id.startswith("call_")
    assert answer.parsed is None
    sent = form_of(route.calls.last.request)["user_input"]
    assert sent.startswith("System: You can call functions. They are described here as JSON Schema:\n")
    assert '"name":"get_weather","description":"The weather in a city."' in sent
    assert sent.endswith(
        "When no function is needed, answer in plain text, without JSON.\nUser: Weather in Paris?\nAssistant:"
    )


async def test_a_text_answer_with_auto_is_a_normal_answer(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(side_effect=answers("It is sunny."))
    answer = await make_dual().call("chat", "Hi", tools=[get_weather])
    assert (answer.text, answer.tool_calls, route.call_count) == ("It is sunny.", (), 1)


async def test_a_wrong_answer_is_repaired_once_quoting_the_error(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(
        side_effect=answers(
            '{"name": "Paris", "population": "big"}', 'Sure!\n```\n{"name": "Paris", "population": 2100000}\n```'
        )
    )
    answer = await make_dual().call("chat", "Biggest French city?", response_format=City)
    assert answer.parsed == City(name="Paris", population=2100000)
    assert answer.text == '{"name": "Paris", "population": 2100000}'
    assert route.call_count == 2
    repair = form_of(route.calls[1].request)["user_input"]
    assert repair.endswith(
        'User: Biggest French city?\nAssistant: {"name": "Paris", "population": "big"}\n'
        "User: Your answer cannot be used:\n"
        "- population: Input should be a valid integer, unable to parse string as an integer\n"
        "Answer again, exactly in the format described in the system message.\nAssistant:"
    )


async def test_a_repair_that_fails_raises_the_typed_error(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(side_effect=answers("I cannot.", "Still no."))
    with pytest.raises(StructuredOutputError) as caught:
        await make_dual().call("chat", "x", tools=[get_weather], tool_choice="required")
    assert caught.value.attempts == ("I cannot.", "Still no.")
    assert caught.value.raw_text == "Still no."
    assert caught.value.errors == ("the answer calls no function; answer with the tool_calls JSON only",)
    assert route.call_count == 2


async def test_max_repairs_zero_sends_one_request(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(side_effect=answers("no JSON"))
    with pytest.raises(StructuredOutputError, match="after 1 attempt:"):
        await make_dual().call("chat", "x", response_format={"type": "json_object"}, max_repairs=0)
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tools": "get_weather"}, "tools must be a list"),
        ({"tool_choice": "auto"}, "needs tools="),
        ({"tools": [get_weather], "tool_choice": "sub"}, "not among the tools"),
        ({"response_format": int}, "response_format must be"),
        ({"response_format": City, "max_repairs": -1}, "max_repairs"),
    ],
)
@pytest.mark.parametrize("method", ["chat", "stream_chat", "generate_text", "stream_text"])
async def test_bad_arguments_are_refused_before_any_request(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, kwargs: dict[str, Any], message: str, method: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        await make_dual().call(method, "x", **kwargs)
    assert not mock.calls


async def test_text_models_also_ask_for_json_mode(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.get(TEXT).mock(return_value=json_answer({"response": '{"name": "Lyon", "population": 500000}'}))
    answer = await make_dual().call("generate_text", "A French city", system="Be exact.", response_format=City)
    assert answer.parsed == City(name="Lyon", population=500000)
    params = dict(route.calls.last.request.url.params)
    assert params["json"] == "true"
    assert params["system"].startswith("Be exact.\n\nAnswer with one JSON value that fits this JSON Schema")
    assert params["user_input"] == "A French city"
    # With tool_choice="auto" a text answer is allowed: no json mode.
    await make_dual().call("generate_text", "Hi", tools=[get_weather])
    assert "json" not in dict(route.calls.last.request.url.params)


async def test_openai_tool_turns_in_messages_are_folded(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(side_effect=answers("It is sunny in Paris."))
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    answer = await make_dual().call("chat", messages, tools=[get_weather])
    assert answer.text == "It is sunny in Paris."
    sent = form_of(route.calls.last.request)["user_input"]
    assert sent.endswith(
        'User: Weather in Paris?\nAssistant: {"tool_calls":[{"id":"call_1","name":"get_weather","arguments":'
        '{"city":"Paris"}}]}\nTool: result of get_weather (call call_1): sunny\nAssistant:'
    )


def test_answers_with_calls_and_parsed_values_pickle_and_dump() -> None:
    answer = ChatResponse(
        text="t", model="m", tool_calls=(ToolCall("c1", "f", {"a": 1}),), parsed=City(name="x", population=1)
    )
    assert pickle.loads(pickle.dumps(answer)) == answer
    dumped = answer.to_dict()
    assert dumped["tool_calls"] == [{"id": "c1", "name": "f", "arguments": {"a": 1}}]
    assert dumped["parsed"] == {"name": "x", "population": 1}
    json.dumps(dumped)
    assert ToolCall("c1", "f", {"a": 1}).to_openai() == {
        "id": "c1",
        "type": "function",
        "function": {"name": "f", "arguments": '{"a": 1}'},
    }


# --- the emulator playing a model ------------------------------------------------------------------


async def test_a_conversation_records_calls_and_takes_results(client_kind: str, anyio_backend: str) -> None:
    emulator = Emulator()
    emulator.script_answers([CALL, "It is sunny in Paris."], endpoint="chat")
    async with open_dual(client_kind, transport=emulator_transport(client_kind, emulator)) as dual:
        chat = dual.client.conversation(system="Be brief.")
        first = await dual.resolve(chat.send("Weather in Paris?", tools=[get_weather]))
        (call,) = first.tool_calls
        result = get_weather(**call.arguments)
        chat.add_tool_result(call.id, result)
        with pytest.raises(InvalidRequestError, match="no call 'call_x' is waiting"):
            chat.add_tool_result("call_x", "late")
        final = await dual.resolve(chat.send(tools=[get_weather]))
        assert final.text == "It is sunny in Paris." and final.tool_calls == ()
        assert chat.messages == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call.to_openai()]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny in Paris"},
            {"role": "assistant", "content": "It is sunny in Paris."},
        ]
        prompt = emulator.requests[-1].fields["user_input"]
        assert f"Tool: result of get_weather (call {call.id}): sunny in Paris\nAssistant:" in prompt
        # The history, saved as JSON and restored, carries on.
        restored = dual.client.conversation(messages=json.loads(json.dumps(chat.messages)))
        assert restored.messages == chat.messages


async def test_a_conversation_takes_an_openai_tool_message(client_kind: str, anyio_backend: str) -> None:
    emulator = Emulator()
    emulator.script_answers([CALL, "Done."])
    async with open_dual(client_kind, transport=emulator_transport(client_kind, emulator)) as dual:
        chat = dual.client.conversation()
        (call,) = (await dual.resolve(chat.send("Weather?", tools=[get_weather]))).tool_calls
        chat.add_tool_result({"role": "tool", "tool_call_id": call.id, "content": "rain"})
        assert chat.messages[-1] == {"role": "tool", "tool_call_id": call.id, "content": "rain"}
        assert (await dual.resolve(chat.send())).text == "Done."
        assert f"Tool: result of get_weather (call {call.id}): rain" in emulator.requests[-1].fields["user_input"]
        with pytest.raises(InvalidRequestError, match="only tool results can be sent without one"):
            await dual.resolve(chat.send())
        with pytest.raises(InvalidRequestError, match='role "tool"'):
            chat.add_tool_result({"role": "user", "content": "x"})


async def test_a_stream_passes_text_and_holds_a_call(client_kind: str, anyio_backend: str) -> None:
    emulator = Emulator()
    emulator.script_answers(["Checking the weather now. " + CALL, "It is warm and sunny."], endpoint="text")
    async with open_dual(client_kind, transport=emulator_transport(client_kind, emulator)) as dual:
        stream = await dual.call("stream_text", "Weather?", tools=[get_weather])
        pieces = await dual.collect(stream)
        assert pieces == ["Checking ", "the ", "weather ", "now. "]
        assert [(c.name, c.arguments) for c in stream.tool_calls] == [("get_weather", {"city": "Paris"})]
        plain = await dual.call("stream_text", "And now?", tools=[get_weather])
        assert await dual.collect(plain) == ["It ", "is ", "warm ", "and ", "sunny."]
        assert plain.tool_calls == ()


async def test_a_stream_holds_json_until_valid_and_repairs_it(client_kind: str, anyio_backend: str) -> None:
    emulator = Emulator()
    good = '{"name": "Nice", "population": 340000}'
    emulator.script_answers(['{"name": "Nice"}', f"Here you are:\n```json\n{good}\n```"], endpoint="text")
    async with open_dual(client_kind, transport=emulator_transport(client_kind, emulator)) as dual:
        stream = await dual.call("stream_text", "A city", response_format=City)
        assert await dual.collect(stream) == [good]  # the JSON alone, once it is valid
        assert stream.parsed == City(name="Nice", population=340000)
        assert len(emulator.requests) == 2
        assert emulator.requests[1].params["json"] == "true"
        emulator.script_answers(["nope", "nope again"], endpoint="text")
        failing = await dual.call("stream_text", "A city", response_format=City)
        with pytest.raises(StructuredOutputError) as caught:
            await dual.collect(failing)
        assert caught.value.attempts == ("nope", "nope again")


async def test_a_streamed_conversation_records_the_call(client_kind: str, anyio_backend: str) -> None:
    emulator = Emulator()
    emulator.script_answers([CALL])
    async with open_dual(client_kind, transport=emulator_transport(client_kind, emulator)) as dual:
        chat = dual.client.conversation()
        stream = chat.stream("Weather?", tools=[get_weather])
        assert await dual.collect(stream) == []
        (call,) = stream.tool_calls
        assert chat.messages[-1] == {"role": "assistant", "content": None, "tool_calls": [call.to_openai()]}


async def test_parallel_tool_calls_false_asks_for_one_call(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    calls = [{"name": "get_weather", "arguments": {"city": city}} for city in "AB"]
    two = json.dumps({"tool_calls": calls})
    route = mock.post(CHAT).mock(side_effect=answers(two, CALL))
    answer = await make_dual().call("chat", "Weather?", tools=[get_weather], parallel_tool_calls=False)
    assert [call.arguments for call in answer.tool_calls] == [{"city": "Paris"}]
    assert "with exactly one call." in form_of(route.calls[0].request)["user_input"]
    assert "- the answer makes 2 calls; make exactly one\n" in form_of(route.calls[1].request)["user_input"]
