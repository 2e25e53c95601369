"""Conversation rules: message checking, and folding byte for byte as gpt4free's provider did."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynaspark_sdk._errors import InvalidRequestError
from dynaspark_sdk._folding import content_text, fold_history, image_urls, normalize_messages, split_system


def gpt4free_format_prompt(messages: Sequence[Mapping[str, Any]]) -> str:
    """gpt4free 0.5.x `format_prompt` + `to_string` (g4f/providers/helper.py), trimmed to the
    defaults its Dynaspark provider used: the oracle the fold is checked against."""

    def to_string(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return str(value["text"]) if "text" in value else ""
        if isinstance(value, list):
            return "".join([to_string(v) for v in value if v.get("type", "text") == "text"])
        return "" if value is None else str(value)

    if len(messages) <= 1:
        return to_string(messages[0]["content"])
    pairs = [(message["role"], to_string(message["content"])) for message in messages]
    formatted = "\n".join([f"{role.capitalize()}: {content}" for role, content in pairs if content.strip()])
    return f"{formatted}\nAssistant:"


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


# --- fold_history: exact strings -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "folded"),
    [
        ([{"role": "user", "content": "Hello"}], "Hello"),
        # One message is sent unchanged, whatever its role and even when blank.
        ([{"role": "system", "content": "  be nice \n"}], "  be nice \n"),
        ([{"role": "user", "content": "   "}], "   "),
        ([{"role": "user", "content": ""}], ""),
        (
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
            "User: Hi\nAssistant: Hello!\nAssistant:",
        ),
        (
            [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "What is 2+2?"},
            ],
            "System: Be brief.\nUser: Hi\nAssistant: Hello.\nUser: What is 2+2?\nAssistant:",
        ),
        (
            [
                {"role": "USER", "content": "a"},
                {"role": "aSSISTANT", "content": "b"},
                {"role": "developer", "content": "c"},
            ],
            "User: a\nAssistant: b\nDeveloper: c\nAssistant:",
        ),
        (
            [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": " \t\n"},
                {"role": "user", "content": "b"},
            ],
            "User: a\nUser: b\nAssistant:",
        ),
        (
            # Two messages, both blank: none left, but it is still a conversation.
            [{"role": "user", "content": ""}, {"role": "assistant", "content": "\u3000"}],
            "\nAssistant:",
        ),
        (
            [{"role": "user", "content": "line one\nline two"}, {"role": "user", "content": "  padded  "}],
            "User: line one\nline two\nUser:   padded  \nAssistant:",
        ),
        (
            [{"role": "user", "content": [text("Look at "), image("data:image/png;base64,AA=="), text("this")]}],
            "Look at this",
        ),
        (
            [
                {"role": "user", "content": [image("https://example.com/cat.png")]},
                {"role": "user", "content": [text("What is it?")]},
            ],
            "User: What is it?\nAssistant:",
        ),
        (
            [{"role": "user", "content": "Grüße, 世界 🎉"}, {"role": "ärzte", "content": "Ça va?"}],
            "User: Grüße, 世界 🎉\nÄrzte: Ça va?\nAssistant:",
        ),
        (
            # str.capitalize: first character title-cased, the rest lower-cased, whatever they are.
            [{"role": "ǆx", "content": "a"}, {"role": "ΣΑΣ", "content": "b"}, {"role": "tool call", "content": "c"}],
            "ǅx: a\nΣας: b\nTool call: c\nAssistant:",
        ),
    ],
)
def test_fold_history(messages: list[dict[str, Any]], folded: str) -> None:
    assert fold_history(messages) == folded
    assert fold_history(normalize_messages(messages)) == folded
    assert gpt4free_format_prompt(messages) == folded


def test_fold_history_does_not_change_the_messages() -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": [text("a")]}, {"role": "assistant", "content": "b"}]
    before = copy.deepcopy(messages)
    fold_history(messages)
    assert messages == before


def test_fold_history_of_no_messages() -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        fold_history([])


# --- content_text and image_urls -------------------------------------------------------------


def test_content_text() -> None:
    assert content_text("plain") == "plain"
    assert content_text([]) == ""
    assert content_text([text("a"), image("u"), text(""), text("b\n")]) == "ab\n"


def test_image_urls_in_order_as_given() -> None:
    messages = normalize_messages(
        [
            {"role": "user", "content": "no images"},
            {"role": "user", "content": [image("https://a.example/1.png"), text("x")]},
            {"role": "assistant", "content": [{"type": "image_url", "image_url": "data:image/gif;base64,R0lG"}]},
            {"role": "user", "content": [text("y"), image("HTTP://B.example/2.JPG?x=1")]},
        ]
    )
    assert image_urls(messages) == [
        "https://a.example/1.png",
        "data:image/gif;base64,R0lG",
        "HTTP://B.example/2.JPG?x=1",
    ]
    assert image_urls(normalize_messages("text only")) == []


# --- split_system ----------------------------------------------------------------------------


def test_split_system() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "Developer", "content": [text("Answer in "), text("French.")]},
        {"role": "SYSTEM", "content": "  "},
        {"role": "assistant", "content": "Bonjour"},
    ]
    before = copy.deepcopy(messages)
    system, rest = split_system(messages)
    assert system == "Be brief.\n\nAnswer in French."
    assert rest == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Bonjour"}]
    assert messages == before


def test_split_system_without_system_messages() -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": [text("Hi")]}]
    system, rest = split_system(messages)
    assert system is None
    assert rest == messages
    rest[0]["content"][0]["text"] = "changed"
    assert messages[0]["content"][0]["text"] == "Hi"


def test_split_system_of_only_blank_system_messages() -> None:
    assert split_system([{"role": "system", "content": ""}, {"role": "user", "content": "x"}]) == (
        None,
        [{"role": "user", "content": "x"}],
    )


# --- normalize_messages ----------------------------------------------------------------------


def test_a_string_is_one_user_message() -> None:
    assert normalize_messages("Hi there") == [{"role": "user", "content": "Hi there"}]


def test_valid_messages_are_copied() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [text("a"), {"type": "image_url", "image_url": "data:image/png;base64,AA=="}]},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": (image("https://x.example/p.png"),)},
    ]
    before = copy.deepcopy(messages)
    normalized = normalize_messages(messages)
    assert normalized == [
        {"role": "user", "content": [text("a"), {"type": "image_url", "image_url": "data:image/png;base64,AA=="}]},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": [image("https://x.example/p.png")]},
    ]
    normalized[0]["content"][0]["text"] = "changed"
    normalized[2]["content"][0]["image_url"]["url"] = "changed"
    assert messages == before


def test_a_tuple_of_messages_and_empty_parts_list() -> None:
    assert normalize_messages(({"role": "user", "content": []},)) == [{"role": "user", "content": []}]


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        (None, "messages must be a string or a list of messages, not NoneType"),
        ({"role": "user", "content": "x"}, "messages must be a string or a list of messages, not dict"),
        (b"bytes", "messages must be a string or a list of messages, not bytes"),
        (iter([{"role": "user", "content": "x"}]), "not list_iterator"),
        ([], "messages is empty"),
        (
            [{"role": "user", "content": "ok"}, "text"],
            'messages[1] must be a mapping with "role" and "content", not str',
        ),
        ([{"content": "x"}], 'messages[0] has no "role"'),
        ([{"role": "user"}], 'messages[0] has no "content"'),
        (
            [{"role": "user", "content": "x", "tool_call_id": "c1"}],
            "messages[0] has key(s) the service cannot take: 'tool_call_id'",
        ),
        ([{"role": "user", "content": "x", "name": 5}], 'messages[0]["name"] must be a string, not int'),
        ([{"role": 1, "content": "x"}], 'messages[0]["role"] must be a string, not int'),
        ([{"role": "", "content": "x"}], 'messages[0]["role"] is empty'),
        ([{"role": " \n", "content": "x"}], 'messages[0]["role"] is empty'),
        (
            [{"role": "user", "content": None}],
            'messages[0]["content"] must be a string or a list of parts, not NoneType',
        ),
        ([{"role": "user", "content": 5}], 'messages[0]["content"] must be a string or a list of parts, not int'),
        (
            [{"role": "user", "content": {"type": "text", "text": "x"}}],
            'messages[0]["content"] must be a string or a list of parts, not dict',
        ),
        (
            [{"role": "user", "content": "a"}, {"role": "user", "content": [text("ok"), "raw"]}],
            'messages[1]["content"][1] must be a mapping, not str',
        ),
        (
            [{"role": "user", "content": [{"text": "x"}]}],
            'messages[0]["content"][0] has no "type"; it must be "text" or "image_url"',
        ),
        (
            [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],
            'messages[0]["content"][0] has type \'input_audio\'; only "text" and "image_url" parts can be sent',
        ),
        (
            [{"role": "user", "content": [{"type": "text"}]}],
            'messages[0]["content"][0] is a text part with no "text"; a string is needed',
        ),
        (
            [{"role": "user", "content": [{"type": "text", "text": None}]}],
            'messages[0]["content"][0] is a text part with NoneType "text"; a string is needed',
        ),
        (
            [{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {}}]}],
            "messages[0][\"content\"][0] has key(s) the service cannot take: 'cache_control'",
        ),
        (
            [{"role": "user", "content": [{"type": "image_url"}]}],
            'messages[0]["content"][0]["image_url"] must be a URL string or {"url": <string>}, not None',
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": b"\x89PNG"}]}],
            'messages[0]["content"][0]["image_url"] must be a URL string or {"url": <string>}, not bytes',
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"href": "u"}}]}],
            "must be a URL string or {\"url\": <string>}, not a mapping with keys 'href'",
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": None}}]}],
            "must be a URL string or {\"url\": <string>}, not a mapping with keys 'url'",
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u", "detail": None}}]}],
            'messages[0]["content"][0]["image_url"]["detail"] must be a string, not NoneType',
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u", "size": "big"}}]}],
            'messages[0]["content"][0]["image_url"] has key(s) the service cannot take: \'size\'',
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": "u", "text": "caption"}]}],
            "messages[0][\"content\"][0] has key(s) the service cannot take: 'text'",
        ),
    ],
)
def test_invalid_messages(messages: Any, error: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        normalize_messages(messages)
    assert error in caught.value.message
    assert isinstance(caught.value, ValueError)


# --- property: folding valid messages ------------------------------------------------------------

_texts = st.text(max_size=20)
_parts = st.one_of(
    _texts.map(text),
    st.sampled_from(["https://x.example/a.png", "data:image/png;base64,AA=="]).map(image),
)
_messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.one_of(
                st.sampled_from(["user", "assistant", "system", "USER", "Developer"]),
                st.text(min_size=1, max_size=8).filter(str.strip),
            ),
            "content": st.one_of(_texts, st.lists(_parts, max_size=4)),
        }
    ),
    min_size=1,
    max_size=8,
)


@pytest.mark.serial  # hypothesis times every example against its deadline
@given(_messages)
def test_fold_history_property(messages: list[dict[str, Any]]) -> None:
    normalized = normalize_messages(messages)
    folded = fold_history(normalized)
    assert folded == gpt4free_format_prompt(messages)
    texts = [content_text(message["content"]) for message in normalized]
    if len(normalized) == 1:
        assert folded == texts[0]
        return
    assert folded.endswith("\nAssistant:")
    # Every non-blank message's text is there, in order, each after its "Role: ".
    position = 0
    for message, message_text in zip(normalized, texts, strict=True):
        if message_text.strip():
            line = f"{message['role'].capitalize()}: {message_text}"
            found = folded.find(line, position)
            assert found >= position
            position = found + len(line)
