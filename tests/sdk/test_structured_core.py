"""The I/O-free core of tools and structured output: the reply parser (every shape the issue
lists, and hypothesis over arbitrary text), tool specs from dicts and functions, schemas,
instructions, the repair turn and its typed failure."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import sys
import typing
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from typing_extensions import TypedDict

from dynaspark_sdk import InvalidRequestError, StructuredOutputError, ToolCall
from dynaspark_sdk._folding import fold_history, normalize_messages
from dynaspark_sdk._reply_parsing import JsonReply, Malformed, RawCall, ToolReply, parse_json_reply, parse_tool_reply
from dynaspark_sdk._structured import (
    Final,
    Problem,
    ReplyGate,
    StructuredTurns,
    judge_reply,
    reply_instructions,
    structured_request,
)
from dynaspark_sdk._tools import check_tool_choice, tool_spec, tool_specs

ADD: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two numbers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    },
}


def wrappings(body: str) -> list[str]:
    """`body` bare, fenced (with and without a json tag), and with prose before and after."""
    return [
        body,
        f"  {body}\n",
        f"```json\n{body}\n```",
        f"```\n{body}\n```",
        f"Sure, here it is:\n```json\n{body}\n```\nAnything else?",
        f"I will call it now. {body}",
        f"{body}\nThat is my answer.",
        f"Calling: {body} -- done.",
    ]


# --- the parser: tool calls --------------------------------------------------------------------

CALL_SHAPES = [
    '{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}',
    '{"name": "add", "arguments": {"a": 1, "b": 2}}',
    '{"name": "add", "arguments": "{\\"a\\": 1, \\"b\\": 2}"}',
    '{"tool_calls": [{"name": "add", "arguments": "{\\"a\\": 1, \\"b\\": 2}"}]}',
]


@pytest.mark.parametrize("body", CALL_SHAPES)
def test_every_call_shape_in_every_wrapping_is_read(body: str) -> None:
    for text in wrappings(body):
        assert parse_tool_reply(text) == ToolReply((RawCall("add", {"a": 1, "b": 2}),)), text


def test_fences_inside_arguments_and_a_fence_closed_on_the_json_s_line() -> None:
    """Found by the hypothesis test below: backticks in an argument closed the fence early."""
    body = json.dumps({"name": "f", "arguments": {"code": "```py\nprint(1)\n```"}})
    for text in wrappings(body):
        assert parse_tool_reply(text) == ToolReply((RawCall("f", {"code": "```py\nprint(1)\n```"}),)), text
    assert parse_tool_reply('```json\n{"name": "f", "arguments": {}}```') == ToolReply((RawCall("f", {}),))


def test_several_calls_and_ids_are_kept_in_order() -> None:
    text = '{"tool_calls": [{"id": "c1", "name": "a", "arguments": {}}, {"name": "b", "arguments": "{}"}]}'
    assert parse_tool_reply(text) == ToolReply((RawCall("a", {}, "c1"), RawCall("b", {})))
    fenced = '```json\n{"name": "a", "arguments": {}}\n```\nand\n```json\n{"name": "b", "arguments": {}}\n```'
    assert parse_tool_reply(fenced) == ToolReply((RawCall("a", {}), RawCall("b", {})))


@pytest.mark.parametrize(
    "text",
    [
        "It is sunny in Paris.",
        "Use {braces} like this.",
        "```python\nprint({'name': 1})\n```",
        '{"answer": 42}',
        '{"name": "add"}',  # a name without arguments is no call
        "[1, 2, 3]",
        "",
    ],
)
def test_anything_else_is_plain_text(text: str) -> None:
    assert parse_tool_reply(text) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"name": "add", "arguments": {"a": 1', "not valid JSON"),
        ('```json\n{"tool_calls": [{"name": "add", "arguments": {}\n```', "fenced block is not valid JSON"),
        ('{"name": "add", "arguments": "{a: 1}"}', "string that is not valid JSON"),
        ('{"name": "add", "arguments": [1, 2]}', "must be a JSON object"),
        ('{"name": "", "arguments": {}}', "no function name"),
        ('{"tool_calls": []}', "non-empty list"),
        ('{"tool_calls": [{"name": "a", "arguments": {}}], "content": "x"}', "no other key"),
        ('{"name": "a", "arguments": {}, "extra": 1}', "unknown key"),
    ],
)
def test_a_broken_call_is_malformed_with_a_reason(text: str, reason: str) -> None:
    result = parse_tool_reply(text)
    assert isinstance(result, Malformed)
    assert reason in result.reason


# --- the parser: JSON answers ------------------------------------------------------------------


@pytest.mark.parametrize("text", wrappings('{"name": "Ann", "age": 30}'))
def test_a_json_object_is_read_bare_fenced_or_with_prose(text: str) -> None:
    assert parse_json_reply(text) == JsonReply({"name": "Ann", "age": 30})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("No JSON here.", "holds no JSON value"),
        ('{"a": 1', "not valid JSON"),
        ('```json\n{"a": 1,}\n```', "fenced block is not valid JSON"),
        ('{"a": 1} or maybe {"a": 2}', "holds 2 JSON values"),
    ],
)
def test_a_reply_without_exactly_one_json_value_is_malformed(text: str, reason: str) -> None:
    result = parse_json_reply(text)
    assert isinstance(result, Malformed)
    assert reason in result.reason


# --- the parser under hypothesis ---------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
arguments = st.dictionaries(st.text(max_size=10), json_values, max_size=5)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,20}", fullmatch=True)
prose = st.text(alphabet=st.characters(blacklist_characters="{}[]`~\"'\\"), max_size=40)


@settings(deadline=None)  # the machine is shared: no timing in a test of behaviour
@given(names, arguments, st.booleans(), st.booleans(), st.sampled_from(range(8)))
def test_any_call_in_any_wrapping_reads_back_exactly(
    name: str, args: dict[str, Any], listed: bool, as_string: bool, wrapping: int
) -> None:
    call = {"name": name, "arguments": json.dumps(args) if as_string else args}
    body = json.dumps({"tool_calls": [call]} if listed else call)
    assert parse_tool_reply(wrappings(body)[wrapping]) == ToolReply((RawCall(name, args),))


@settings(deadline=None)  # the machine is shared: no timing in a test of behaviour
@given(st.dictionaries(st.text(max_size=8), json_values, min_size=1, max_size=5), prose, prose)
def test_any_object_with_prose_around_reads_back(value: dict[str, Any], before: str, after: str) -> None:
    assert parse_json_reply(f"{before}{json.dumps(value)}{after}") == JsonReply(value)


@settings(deadline=None)  # the machine is shared: no timing in a test of behaviour
@given(st.text(max_size=300))
def test_the_parsers_never_raise_and_answer_in_their_types(text: str) -> None:
    assert parse_tool_reply(text) is None or isinstance(parse_tool_reply(text), ToolReply | Malformed)
    assert isinstance(parse_json_reply(text), JsonReply | Malformed)


@settings(deadline=None)  # the machine is shared: no timing in a test of behaviour
@given(prose)
def test_prose_without_json_is_never_a_call(text: str) -> None:
    assert parse_tool_reply(text) is None


# --- tool specs --------------------------------------------------------------------------------


def get_weather(city: str, unit: Literal["C", "F"] = "C", days: list[int] | None = None) -> str:
    """The weather in a city.

    More words that are not the summary.

    Args:
        city: The city's name.
        unit (str): Celsius or Fahrenheit.
    """
    return city


def sphinx_style(query: str, limit: int = 3) -> list[str]:
    """Search the index.

    :param query: what to look for
    :param int limit: how many results
    """
    return [query] * limit


def test_a_function_becomes_a_tool_from_its_signature_and_docstring() -> None:
    spec = tool_spec(get_weather)
    assert spec.name == "get_weather"
    assert spec.description == "The weather in a city."
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name."},
            "unit": {"enum": ["C", "F"], "description": "Celsius or Fahrenheit."},
            "days": {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]},
        },
        "required": ["city"],
    }
    assert spec.function is get_weather
    sphinx = tool_spec(sphinx_style).parameters["properties"]
    assert sphinx["query"]["description"] == "what to look for"
    assert sphinx["limit"] == {"type": "integer", "description": "how many results"}


class Point(BaseModel):
    x: int


def move(to: Point) -> None:
    """Move."""


def test_a_pydantic_annotation_is_described_through_pydantic() -> None:
    assert tool_spec(move).parameters["properties"]["to"]["properties"] == {"x": {"title": "X", "type": "integer"}}


def test_openai_dicts_in_both_shapes_are_read() -> None:
    chat = tool_spec(ADD)
    flat = tool_spec({"type": "function", **ADD["function"]})  # the Responses API's shape
    assert chat == flat
    assert chat.name == "add" and chat.parameters["required"] == ["a", "b"]


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        ("add", "tools must be a list"),
        ([{"type": "retrieval"}], "only function tools"),
        ([{"type": "function", "function": {"name": "bad name"}}], "needs a name"),
        (
            [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}],
            "JSON Schema of an object",
        ),
        ([ADD, ADD], "more than one function called 'add'"),
        ([42], "must be a function-tool dict or a Python function"),
        ([lambda *args: None], "plain name"),
    ],
)
def test_bad_tools_are_refused_before_anything_is_sent(tools: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        tool_specs(tools)


def test_star_args_cannot_be_described() -> None:
    def spread(*values: int) -> None:
        """Spread."""

    with pytest.raises(InvalidRequestError, match=r"\*args and \*\*kwargs"):
        tool_spec(spread)


def test_tool_choice_forms() -> None:
    specs = tool_specs([ADD])
    assert [check_tool_choice(c, specs) for c in ("auto", "none", "required", "add")] == [
        "auto",
        "none",
        "required",
        "add",
    ]
    assert check_tool_choice({"type": "function", "function": {"name": "add"}}, specs) == "add"
    assert check_tool_choice({"type": "function", "name": "add"}, specs) == "add"
    with pytest.raises(InvalidRequestError, match="not among the tools"):
        check_tool_choice("sub", specs)
    with pytest.raises(InvalidRequestError, match="needs tools="):
        check_tool_choice("required", ())
    with pytest.raises(InvalidRequestError, match="must be a string"):
        check_tool_choice(3, specs)


# --- schemas and judging -----------------------------------------------------------------------


class Person(BaseModel):
    name: str
    age: int


@dataclasses.dataclass
class PersonData:
    name: str
    age: int


class PersonDict(TypedDict):
    name: str
    age: int


PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


@pytest.mark.parametrize(
    ("response_format", "parsed"),
    [
        (Person, Person(name="Ann", age=30)),
        (PersonData, PersonData(name="Ann", age=30)),
        (PersonDict, {"name": "Ann", "age": 30}),
        (PERSON_SCHEMA, {"name": "Ann", "age": 30}),
        (
            {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON_SCHEMA, "strict": True}},
            {"name": "Ann", "age": 30},
        ),
        ({"type": "json_object"}, {"name": "Ann", "age": 30}),
    ],
)
def test_every_response_format_parses_and_refuses(response_format: Any, parsed: Any) -> None:
    request = structured_request(response_format=response_format)
    assert request is not None
    # The text of a JSON answer is the JSON alone, without the prose and the fence.
    assert judge_reply(request, 'Here:\n```json\n{"name": "Ann", "age": 30}\n```') == Final(
        text='{"name": "Ann", "age": 30}', parsed=parsed, is_json=True
    )
    wrong = judge_reply(request, '{"name": "Ann"}' if response_format != {"type": "json_object"} else "[1]")
    assert isinstance(wrong, Problem)
    assert any("age" in error or "object" in error for error in wrong.errors), wrong


def test_validation_errors_say_where() -> None:
    request = structured_request(response_format=PERSON_SCHEMA)
    assert request is not None
    assert judge_reply(request, '{"name": 1, "age": "x"}') == Problem(
        ("$.age: 'x' is not of type 'integer'", "$.name: 1 is not of type 'string'")
    )
    model = structured_request(response_format=Person)
    assert model is not None
    assert judge_reply(model, '{"name": "a", "age": "x"}') == Problem(
        ("age: Input should be a valid integer, unable to parse string as an integer",)
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="pydantic takes typing.TypedDict from Python 3.12")
def test_a_typeddict_pydantic_cannot_use_is_refused_clearly() -> None:
    class Old(typing.TypedDict):
        name: str

    with pytest.raises(InvalidRequestError, match=r"Old cannot be used: .*typing_extensions\.TypedDict"):
        structured_request(response_format=Old)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"response_format": str}, "response_format must be"),
        ({"response_format": {"type": "object", "properties": 3}}, "JSON Schema is not valid"),
        ({"response_format": {"type": "json_schema"}}, "not in OpenAI's shape"),
        ({"tools": [ADD], "max_repairs": -1}, "max_repairs"),
        ({"tools": [ADD], "max_repairs": True}, "max_repairs"),
        ({"tool_choice": "required"}, "needs tools="),
    ],
)
def test_bad_structured_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        structured_request(**kwargs)


def test_plain_requests_are_not_structured() -> None:
    assert structured_request() is None
    assert structured_request(tools=[ADD], tool_choice="none") is None


def test_calls_are_checked_against_the_tools() -> None:
    request = structured_request(tools=[ADD])
    assert request is not None
    final = judge_reply(request, '{"name": "add", "arguments": {"a": 1, "b": 2}}')
    assert isinstance(final, Final)
    (call,) = final.tool_calls
    assert (call.name, call.arguments) == ("add", {"a": 1, "b": 2})
    assert call.id.startswith("call_") and len(call.id) == 29
    assert judge_reply(request, '{"name": "sub", "arguments": {}}') == Problem(
        ("there is no function 'sub'; the functions are add",)
    )
    assert judge_reply(request, '{"name": "add", "arguments": {"a": 1, "c": 2}}') == Problem(
        (
            "arguments of add: $: 'b' is a required property",
            "arguments of add: $: Additional properties are not allowed ('c' was unexpected)",
        )
    )
    assert judge_reply(request, "Just text.") == Final(text="Just text.")


def test_required_and_named_choices_insist_on_a_call() -> None:
    def sub(a: int, b: int) -> int:
        """Subtract."""
        return a - b

    required = structured_request(tools=[ADD, sub], tool_choice="required")
    named = structured_request(tools=[ADD, sub], tool_choice="sub")
    single = structured_request(tools=[ADD, sub])
    assert required is not None and named is not None and single is not None
    assert judge_reply(required, "no") == Problem(
        ("the answer calls no function; answer with the tool_calls JSON only",)
    )
    assert judge_reply(named, '{"name": "add", "arguments": {"a": 1, "b": 2}}') == Problem(
        ("the function to call is sub, not add",)
    )
    assert "You must call the function sub now." in reply_instructions(named)
    assert "You must call at least one function now." in reply_instructions(required)
    assert required.wants_json and named.wants_json and not single.wants_json


def test_the_instructions_describe_tools_and_schema() -> None:
    request = structured_request(tools=[ADD], response_format=Person)
    assert request is not None
    text = reply_instructions(request)
    assert '"name":"add"' in text and '"required":["a","b"]' in text
    assert "When no function is needed, answer with one JSON value that fits this JSON Schema" in text
    assert '"title":"Person"' in text


# --- turns, repair, the typed failure -------------------------------------------------------------


def test_a_wrong_answer_gets_one_repair_turn_quoting_the_error_then_a_typed_error() -> None:
    request = structured_request(response_format=Person)
    assert request is not None
    turns = StructuredTurns(request, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who?"}])
    assert turns.messages[0]["content"].startswith("Be brief.\n\nAnswer with one JSON value")
    assert turns.take('{"name": "Ann", "age": "old"}') is None
    assert turns.messages[-2:] == [
        {"role": "assistant", "content": '{"name": "Ann", "age": "old"}'},
        {
            "role": "user",
            "content": "Your answer cannot be used:\n- age: Input should be a valid integer, unable to parse string as"
            " an integer\nAnswer again, exactly in the format described in the system message.",
        },
    ]
    with pytest.raises(StructuredOutputError) as caught:
        turns.take("I do not know.")
    error = caught.value
    assert error.raw_text == "I do not know."
    assert error.errors == ("the answer holds no JSON value",)
    assert error.attempts == ('{"name": "Ann", "age": "old"}', "I do not know.")
    assert "not a valid JSON answer (Person) after 2 attempts" in str(error)
    for copied in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(copied) is StructuredOutputError
        assert (copied.raw_text, copied.errors, copied.attempts, str(copied)) == (
            error.raw_text,
            error.errors,
            error.attempts,
            str(error),
        )


def test_max_repairs_zero_fails_at_once_and_a_good_repair_succeeds() -> None:
    none_left = structured_request(tools=[ADD], tool_choice="required", max_repairs=0)
    assert none_left is not None
    with pytest.raises(StructuredOutputError, match="after 1 attempt:"):
        StructuredTurns(none_left, [{"role": "user", "content": "x"}]).take("no")
    two = structured_request(tools=[ADD], tool_choice="required", max_repairs=2)
    assert two is not None
    turns = StructuredTurns(two, [{"role": "user", "content": "x"}])
    assert turns.take("no") is None
    assert turns.take('{"name": "add", "arguments": {"a": 1}}') is None
    final = turns.take('{"name": "add", "arguments": {"a": 1, "b": 2}}')
    assert final is not None and final.tool_calls[0].arguments == {"a": 1, "b": 2}


def test_the_gate_passes_text_and_holds_what_may_be_a_call() -> None:
    auto = structured_request(tools=[ADD])
    assert auto is not None
    gate = ReplyGate(auto)
    assert [gate.feed(piece) for piece in ["It is ", "sunny ", "today."]] == ["It is ", "sunny ", "today."]
    assert gate.feed("Let me check: ") == "Let me check: "
    assert gate.feed('{"name": "add", ') == ""
    assert gate.feed('"arguments": {}}') == ""
    assert gate.finish(Final(text="", tool_calls=(ToolCall("c", "add", {}),))) == ""
    assert gate.feed("a ~") == "a "  # a fence may be starting
    assert gate.feed("~ b") == "~~ b"  # it was not
    assert gate.feed("~~") == ""
    assert gate.feed("~\ncode") == ""
    assert gate.finish(Final(text="")) == "~~~\ncode"
    schema = structured_request(response_format=Person)
    assert schema is not None
    held = ReplyGate(schema)
    assert held.feed("Sure: ") == ""
    assert held.feed('```json\n{"age": 1}\n```') == ""
    assert held.finish(Final(text='{"age": 1}', parsed=1, is_json=True)) == '{"age": 1}'
    auto_schema = structured_request(tools=[ADD], response_format=Person)
    assert auto_schema is not None
    assert ReplyGate(auto_schema).feed("words") == ""  # every answer must be a call or JSON


# --- tool turns folded into the prompt ---------------------------------------------------------


def test_openai_tool_turns_are_folded_into_the_prompt() -> None:
    messages = normalize_messages(
        [
            {"role": "user", "content": "1+2?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a":1,"b":2}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "3"},
        ]
    )
    assert fold_history(messages) == (
        "User: 1+2?\n"
        'Assistant: {"tool_calls":[{"id":"c1","name":"add","arguments":{"a":1,"b":2}}]}\n'
        "Tool: result of add (call c1): 3\nAssistant:"
    )


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"role": "tool", "content": "3", "tool_call_id": 5}, "tool_call_id"),
        ({"role": "assistant", "content": None, "tool_calls": []}, "non-empty list"),
        ({"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}, "is not"),
        ({"role": "user", "content": "x", "tool_calls": []}, "cannot take: 'tool_calls'"),
    ],
)
def test_broken_tool_turns_are_refused(message: dict[str, Any], error: str) -> None:
    with pytest.raises(InvalidRequestError, match=error):
        normalize_messages([message])
