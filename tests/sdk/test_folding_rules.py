"""The conversation rules' exact words and edges (`_folding`, no I/O): what a refusal says, and
how the helpers read messages that were never checked (a front-end's raw OpenAI messages)."""

from __future__ import annotations

from typing import Any

import pytest

from dynaspark_sdk import InvalidRequestError
from dynaspark_sdk._folding import content_text, fold_history, image_urls, normalize_messages

EMPTY = "messages is empty: give at least one message"


def refusal(messages: Any) -> str:
    with pytest.raises(InvalidRequestError) as caught:
        normalize_messages(messages)
    return str(caught.value)


def test_no_message_at_all() -> None:
    assert refusal([]) == EMPTY
    with pytest.raises(InvalidRequestError) as caught:
        fold_history([])
    assert str(caught.value) == EMPTY


def test_every_unknown_key_is_named() -> None:
    message: dict[str, Any] = {"role": "user", "content": "hi", "tool_calls": [], "audio": None}
    assert refusal([message]) == (
        "messages[0] has key(s) the service cannot take: 'tool_calls', 'audio'"
        ' (only "role", "content" and "name" are allowed, with "tool_calls" on assistant messages and'
        ' "tool_call_id" on tool messages)'
    )
    part = {"type": "text", "text": "hi", "cache": 1, "x": 2}
    assert refusal([{"role": "user", "content": [part]}]) == (
        "messages[0][\"content\"][0] has key(s) the service cannot take: 'cache', 'x'"
    )


def test_a_text_part_says_what_its_text_was() -> None:
    assert refusal([{"role": "user", "content": [{"type": "text", "text": 5}]}]) == (
        'messages[0]["content"][0] is a text part with int "text"; a string is needed'
    )
    assert refusal([{"role": "user", "content": [{"type": "text"}]}]) == (
        'messages[0]["content"][0] is a text part with no "text"; a string is needed'
    )


@pytest.mark.parametrize(
    ("image", "described"),
    [
        (None, "None"),
        (5, "int"),
        ({}, "a mapping with keys none"),
        ({"href": "x", "alt": 1}, "a mapping with keys 'href', 'alt'"),
    ],
)
def test_a_bad_image_part_is_described(image: object, described: str) -> None:
    assert refusal([{"role": "user", "content": [{"type": "image_url", "image_url": image}]}]) == (
        f'messages[0]["content"][0]["image_url"] must be a URL string or {{"url": <string>}}, not {described}'
    )


def test_content_text_takes_only_the_text_of_text_parts() -> None:
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": "a"},
        {"type": "image_url", "image_url": "https://x.test/i.png", "text": "not this"},
        {"type": "text", "text": None},
        {"type": "text", "text": "b"},
    ]
    assert content_text(parts) == "ab"


def test_image_urls_pass_over_what_is_not_an_image_part() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user"},
        {"role": "user", "content": None},
        {"role": "user", "content": "https://x.test/in-text.png"},
        {
            "role": "user",
            "content": [
                "https://x.test/a-bare-string.png",
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": None},
                {"type": "image_url", "image_url": {"url": 5}},
                {"type": "image_url", "image_url": "https://x.test/1.png"},
                {"type": "image_url", "image_url": {"url": "https://x.test/2.png"}},
            ],
        },
    ]
    assert image_urls(messages) == ["https://x.test/1.png", "https://x.test/2.png"]


# --- OpenAI tool turns: an assistant's calls and a tool's result -----------------------------

TOOL_RESULT_NEEDS = 'messages[0] is a tool result: it needs a "tool_call_id" string and a "content"'
NOT_A_CALL = 'messages[0]["tool_calls"] holds a call that is not {"id", "type": "function", "function": {...}}'
CALL_NEEDS = 'messages[0]["tool_calls"]: a call needs a function name and arguments as a JSON string'


def calling(*calls: Any, content: Any = None) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": list(calls)}


def test_a_tool_result_is_copied_with_its_text() -> None:
    parts = [
        {"type": "text", "text": "21"},
        {"type": "image_url", "image_url": "https://x.test/i.png"},
        {"type": "text", "text": " C"},
    ]
    assert normalize_messages([{"role": "tool", "tool_call_id": "c1", "content": parts}]) == [
        {"role": "tool", "tool_call_id": "c1", "content": "21 C"}
    ]
    assert normalize_messages([{"role": "tool", "tool_call_id": "c1", "content": ""}]) == [
        {"role": "tool", "tool_call_id": "c1", "content": ""}
    ]


@pytest.mark.parametrize(
    "message",
    [
        {"role": "tool", "tool_call_id": "", "content": "3"},
        {"role": "tool", "tool_call_id": 5, "content": "3"},
        {"role": "tool", "tool_call_id": None, "content": "3"},
        {"role": "tool", "tool_call_id": "c1", "content": None},
    ],
)
def test_a_tool_result_needs_an_id_and_content(message: dict[str, Any]) -> None:
    assert refusal([message]) == TOOL_RESULT_NEEDS


def test_an_assistant_s_calls_are_copied_in_openai_s_shape() -> None:
    given = calling(
        {"id": "c1", "function": {"name": "add", "arguments": {"a": 1, "city": "Zürich"}}},
        {"id": "c2", "type": "function", "function": {"name": "now"}},
        {"id": "c3", "function": {"name": "echo", "arguments": "[1]"}},
        content=[{"type": "text", "text": "Let me "}, {"type": "text", "text": "check."}],
    )
    assert normalize_messages((given,)) == [
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "city": "Zürich"}'},
                },
                {"id": "c2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
                {"id": "c3", "type": "function", "function": {"name": "echo", "arguments": "[1]"}},
            ],
        }
    ]
    one_call = {"id": "c", "function": {"name": "f", "arguments": "{}"}}
    assert normalize_messages([{**calling(one_call), "tool_calls": (one_call,)}])[0]["tool_calls"] == [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]
    assert normalize_messages([calling(one_call, content="")])[0]["content"] == ""


@pytest.mark.parametrize("calls", [[], (), None, "c1", {"id": "c1"}])
def test_tool_calls_must_be_a_non_empty_list(calls: Any) -> None:
    message = {"role": "assistant", "content": None, "tool_calls": calls}
    assert refusal([message]) == 'messages[0]["tool_calls"] must be a non-empty list of calls'


@pytest.mark.parametrize(
    "call",
    [
        "c1",
        None,
        {"id": "c1"},
        {"id": "c1", "function": "add"},
        {"id": 1, "function": {"name": "add", "arguments": "{}"}},
        {"function": {"name": "add", "arguments": "{}"}},
    ],
)
def test_a_call_of_the_wrong_shape_is_refused(call: Any) -> None:
    assert refusal([calling(call)]) == NOT_A_CALL


@pytest.mark.parametrize(
    "function",
    [
        {"arguments": "{}"},
        {"name": 5, "arguments": "{}"},
        {"name": "add", "arguments": 5},
        {"name": "add", "arguments": None},
        {"name": "add", "arguments": ["a"]},
    ],
)
def test_a_call_needs_a_name_and_string_arguments(function: dict[str, Any]) -> None:
    good = {"id": "c0", "function": {"name": "ok", "arguments": "{}"}}
    assert refusal([calling(good, {"id": "c1", "function": function})]) == CALL_NEEDS


def test_tool_keys_belong_to_their_roles_only() -> None:
    assert refusal([{"role": "tool", "content": "x", "tool_calls": []}]) == (
        "messages[0] has key(s) the service cannot take: 'tool_calls'"
        ' (only "role", "content" and "name" are allowed, with "tool_calls" on assistant messages and'
        ' "tool_call_id" on tool messages)'
    )
    assert refusal([{"role": 5, "content": "x", "tool_call_id": "c"}]).startswith(
        "messages[0] has key(s) the service cannot take: 'tool_call_id' (only"
    )


def test_folded_tool_turns_read_as_the_model_is_asked_to_write() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "où", "arguments": '{"ville": "Zürich"}'}}
    broken = {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "not json"}}
    assert fold_history([calling(call, broken, content="  ")]) == (
        '{"tool_calls":[{"id":"c1","name":"où","arguments":{"ville":"Zürich"}},'
        '{"id":"c2","name":"f","arguments":"not json"}]}'
    )
    assert fold_history([calling(call, content="Checking.")]) == (
        'Checking.\n{"tool_calls":[{"id":"c1","name":"où","arguments":{"ville":"Zürich"}}]}'
    )
    assert fold_history([{"role": "tool", "tool_call_id": "c1", "content": "sunny"}]) == (
        "result of a function (call c1): sunny"
    )
    assert fold_history([calling(call), {"role": "tool", "tool_call_id": "c1", "content": None}]) == (
        'Assistant: {"tool_calls":[{"id":"c1","name":"où","arguments":{"ville":"Zürich"}}]}\n'
        "Tool: result of où (call c1): \nAssistant:"
    )


def test_a_result_without_its_call_names_no_function() -> None:
    raw: list[dict[str, Any]] = [
        {"role": "assistant", "content": "a", "tool_calls": None},
        {"role": "tool", "tool_call_id": "c8", "content": "x"},
        {"role": "tool", "tool_call_id": "c9", "content": "y"},
    ]
    assert fold_history(raw[1:]) == (
        "Tool: result of a function (call c8): x\nTool: result of a function (call c9): y\nAssistant:"
    )
    assert fold_history([raw[0], raw[1]]) == "Assistant: a\nTool: result of a function (call c8): x\nAssistant:"


def test_a_role_that_is_not_a_string_is_refused_as_such() -> None:
    assert refusal([{"role": ["tool"], "content": "x"}]) == 'messages[0]["role"] must be a string, not list'


def test_raw_messages_are_folded_by_their_role_and_keys() -> None:
    # fold_history also reads messages nobody checked (a front-end's raw OpenAI messages).
    odd_calls = [{"id": "c8", "function": "f"}, {"id": "c9", "function": {"name": "g", "arguments": "{}"}}]
    assert fold_history([{"role": "tool", "tool_call_id": "c9", "content": "x", "tool_calls": odd_calls}]) == (
        "result of g (call c9): x"
    )
    assert fold_history([{"role": "tool", "tool_call_id": "c8", "content": "x", "tool_calls": odd_calls}]) == (
        "result of a function (call c8): x"
    )
    assert fold_history([{"role": "user", "content": "hi", "tool_call_id": "c1"}]) == "hi"
    assert fold_history([{"role": "tool", "content": "hi"}, {"role": "user", "content": "ok"}]) == (
        "Tool: hi\nUser: ok\nAssistant:"
    )


def test_a_tool_turn_s_bad_part_is_named_by_its_place() -> None:
    assert refusal([{"role": "tool", "tool_call_id": "c1", "content": [5]}]) == (
        'messages[0]["content"][0] must be a mapping, not int'
    )
    good = {"id": "c", "function": {"name": "f", "arguments": "{}"}}
    assert refusal([{"role": "user", "content": "hi"}, calling(good, content=[{"type": "text"}, 5])]) == (
        'messages[1]["content"][0] is a text part with no "text"; a string is needed'
    )
