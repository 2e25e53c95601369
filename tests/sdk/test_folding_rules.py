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
