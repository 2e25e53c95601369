"""Conversation rules: checking messages and folding a conversation into one prompt. No I/O.

The service keeps no history and takes one `user_input` string, so a conversation is folded
into it exactly as gpt4free's Dynaspark provider did (its `format_prompt`):

    >>> fold_history([{"role": "user", "content": "Hi"}])
    'Hi'
    >>> fold_history(
    ...     [
    ...         {"role": "system", "content": "Be brief."},
    ...         {"role": "user", "content": "Hi"},
    ...         {"role": "assistant", "content": "  "},
    ...         {"role": "USER", "content": "Still there?"},
    ...     ]
    ... )
    'System: Be brief.\\nUser: Hi\\nUser: Still there?\\nAssistant:'
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import InvalidRequestError

__all__ = ["content_text", "fold_history", "image_urls", "message_text", "normalize_messages", "split_system"]

#: "name" (OpenAI's participant name) is accepted but not sent: the service has nowhere to put it.
_MESSAGE_KEYS = frozenset({"role", "content", "name"})
_SYSTEM_ROLES = frozenset({"system", "developer"})
#: OpenAI's tool turns: an assistant's calls, and a tool's result (folded into the prompt as text).
_TOOL_KEYS = {"assistant": frozenset({"tool_calls"}), "tool": frozenset({"tool_call_id"})}


def normalize_messages(messages: str | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check the messages a user gave and return copies of them.

    A string is one user message. Otherwise a non-empty list (or tuple) of messages, each a
    mapping with the keys "role" (a non-blank string) and "content": a string, or a list of
    OpenAI-style parts, `{"type": "text", "text": str}` or
    `{"type": "image_url", "image_url": str | {"url": str}}`. What openai and gpt4free code
    adds, a message's `"name"` and an image's `"detail"` (strings), is accepted and left out
    of the copies: the service has no place for either. Anything else raises
    `InvalidRequestError` saying what is wrong and where. The input is never changed.

        >>> normalize_messages("Hi")
        [{'role': 'user', 'content': 'Hi'}]
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, list | tuple):
        raise InvalidRequestError(f"messages must be a string or a list of messages, not {type(messages).__name__}")
    if not messages:
        raise InvalidRequestError("messages is empty: give at least one message")
    return [_normalize_message(message, index) for index, message in enumerate(messages)]


def _normalize_message(message: object, index: int) -> dict[str, Any]:
    where = f"messages[{index}]"
    if not isinstance(message, Mapping):
        raise InvalidRequestError(f'{where} must be a mapping with "role" and "content", not {type(message).__name__}')
    for key in ("role", "content"):
        if key not in message:
            raise InvalidRequestError(f'{where} has no "{key}"')
    role = message["role"]
    allowed = _MESSAGE_KEYS | _TOOL_KEYS.get(role, frozenset()) if isinstance(role, str) else _MESSAGE_KEYS
    unknown = [key for key in message if key not in allowed]
    if unknown:
        listed = ", ".join(repr(key) for key in unknown)
        raise InvalidRequestError(
            f'{where} has key(s) the service cannot take: {listed} (only "role", "content" and "name" are allowed'
            ', with "tool_calls" on assistant messages and "tool_call_id" on tool messages)'
        )
    _check_ignored_string(message, "name", where)
    if not isinstance(role, str):
        raise InvalidRequestError(f'{where}["role"] must be a string, not {type(role).__name__}')
    if not role.strip():
        raise InvalidRequestError(f'{where}["role"] is empty')
    if "tool_calls" in message or "tool_call_id" in message:
        return _normalize_tool_turn(message, where)
    content = message["content"]
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list | tuple):
        raise InvalidRequestError(
            f'{where}["content"] must be a string or a list of parts, not {type(content).__name__}'
        )
    parts = [_normalize_part(part, f'{where}["content"][{number}]') for number, part in enumerate(content)]
    return {"role": role, "content": parts}


def _normalize_tool_turn(message: Mapping[str, Any], where: str) -> dict[str, Any]:
    """An assistant message with OpenAI `tool_calls` (its content may be null), or a `role:
    "tool"` message with the `tool_call_id` it answers: copied, calls in OpenAI's shape with
    `arguments` a JSON string."""
    role, content = message["role"], message["content"]
    if content is not None and not isinstance(content, str):
        content = content_text([_normalize_part(part, f'{where}["content"][{n}]') for n, part in enumerate(content)])
    if role == "tool":
        call_id = message["tool_call_id"]
        if not isinstance(call_id, str) or not call_id or content is None:
            raise InvalidRequestError(f'{where} is a tool result: it needs a "tool_call_id" string and a "content"')
        return {"role": "tool", "tool_call_id": call_id, "content": content}
    calls = message["tool_calls"]
    if not isinstance(calls, list | tuple) or not calls:
        raise InvalidRequestError(f'{where}["tool_calls"] must be a non-empty list of calls')
    return {
        "role": role,
        "content": content,
        "tool_calls": [_normalize_call(c, f'{where}["tool_calls"]') for c in calls],
    }


def _normalize_call(call: object, where: str) -> dict[str, Any]:
    body = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(call, Mapping) or not isinstance(body, Mapping) or not isinstance(call.get("id"), str):
        raise InvalidRequestError(f'{where} holds a call that is not {{"id", "type": "function", "function": {{...}}}}')
    name, arguments = body.get("name"), body.get("arguments", "{}")
    if isinstance(arguments, Mapping):
        arguments = json.dumps(arguments, ensure_ascii=False)
    if not isinstance(name, str) or not isinstance(arguments, str):
        raise InvalidRequestError(f"{where}: a call needs a function name and arguments as a JSON string")
    return {"id": call["id"], "type": "function", "function": {"name": name, "arguments": arguments}}


def _normalize_part(part: object, where: str) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        raise InvalidRequestError(f"{where} must be a mapping, not {type(part).__name__}")
    part_type = part.get("type")
    if part_type == "text":
        _refuse_extra_keys(part, {"type", "text"}, where)
        text = part.get("text")
        if not isinstance(text, str):
            found = "no" if "text" not in part else type(text).__name__
            raise InvalidRequestError(f'{where} is a text part with {found} "text"; a string is needed')
        return {"type": "text", "text": text}
    if part_type == "image_url":
        _refuse_extra_keys(part, {"type", "image_url"}, where)
        image = part.get("image_url")
        if isinstance(image, str):
            return {"type": "image_url", "image_url": image}
        if isinstance(image, Mapping) and isinstance(image.get("url"), str):
            _refuse_extra_keys(image, {"url", "detail"}, f'{where}["image_url"]')
            _check_ignored_string(image, "detail", f'{where}["image_url"]')
            return {"type": "image_url", "image_url": {"url": image["url"]}}
        raise InvalidRequestError(
            f'{where}["image_url"] must be a URL string or {{"url": <string>}}, not {_describe(image)}'
        )
    if "type" not in part:
        raise InvalidRequestError(f'{where} has no "type"; it must be "text" or "image_url"')
    raise InvalidRequestError(f'{where} has type {part_type!r}; only "text" and "image_url" parts can be sent')


def _check_ignored_string(mapping: Mapping[Any, Any], key: str, where: str) -> None:
    """An accepted-but-unsent OpenAI field must still be what OpenAI allows: a string."""
    if key in mapping and not isinstance(mapping[key], str):
        raise InvalidRequestError(f'{where}["{key}"] must be a string, not {type(mapping[key]).__name__}')


def _refuse_extra_keys(mapping: Mapping[Any, Any], allowed: set[str], where: str) -> None:
    unknown = [key for key in mapping if key not in allowed]
    if unknown:
        listed = ", ".join(repr(key) for key in unknown)
        raise InvalidRequestError(f"{where} has key(s) the service cannot take: {listed}")


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping with keys " + (", ".join(repr(key) for key in value) or "none")
    return "None" if value is None else type(value).__name__


def _call_names(messages: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {
        call["id"]: call["function"]["name"]
        for message in messages
        for call in message.get("tool_calls") or ()
        if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping)
    }


def message_text(message: Mapping[str, Any], call_names: Mapping[str, str] | None = None) -> str:
    """A message's text as it is folded: its content, and for OpenAI's tool turns the calls
    as the JSON the model is asked to write, or the result with the call it answers.

        >>> message_text({"role": "tool", "tool_call_id": "c1", "content": "21 C"}, {"c1": "weather"})
        'result of weather (call c1): 21 C'
    """
    content = message.get("content")
    text = "" if content is None else content_text(content)
    if message.get("role") == "tool" and "tool_call_id" in message:
        call_id = message["tool_call_id"]
        name = (call_names or {}).get(call_id, "a function")
        return f"result of {name} (call {call_id}): {text}"
    calls = message.get("tool_calls")
    if calls:
        listed = []
        for call in calls:
            try:
                arguments = json.loads(call["function"]["arguments"])
            except ValueError:
                arguments = call["function"]["arguments"]
            listed.append({"id": call["id"], "name": call["function"]["name"], "arguments": arguments})
        folded = json.dumps({"tool_calls": listed}, ensure_ascii=False, separators=(",", ":"))
        return f"{text}\n{folded}" if text.strip() else folded
    return text


def content_text(content: str | Sequence[Mapping[str, Any]]) -> str:
    """The text of a message's content: the string itself, or its text parts concatenated.

    Image parts contribute nothing here (they are sent as media).

        >>> content_text([{"type": "text", "text": "a"}, {"type": "image_url", "image_url": "x"},
        ...               {"type": "text", "text": "b"}])
        'ab'
    """
    if isinstance(content, str):
        return content
    return "".join(part["text"] for part in content if part.get("type") == "text" and isinstance(part.get("text"), str))


def image_urls(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The URLs of all image parts of the messages, in order, as given (data: URIs or http(s) URLs)."""
    urls: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str) or not isinstance(content, Sequence):
            continue
        for part in content:
            if not isinstance(part, Mapping) or part.get("type") != "image_url":
                continue
            image = part.get("image_url")
            if isinstance(image, str):
                urls.append(image)
            elif isinstance(image, Mapping) and isinstance(image.get("url"), str):
                urls.append(image["url"])
    return urls


def fold_history(messages: Sequence[Mapping[str, Any]]) -> str:
    """The conversation as the one prompt string the service takes (gpt4free's rule).

    Exactly one message: its text, unchanged. Otherwise one line per message,
    `f"{role.capitalize()}: {text}"`, leaving out messages whose text is empty or only white
    space, joined with "\\n", and "\\nAssistant:" appended. Raises `InvalidRequestError` when
    there is no message.
    """
    if not messages:
        raise InvalidRequestError("messages is empty: give at least one message")
    names = _call_names(messages)
    if len(messages) == 1:
        return message_text(messages[0], names)
    lines = []
    for message in messages:
        text = message_text(message, names)
        if text.strip():
            lines.append(f"{message['role'].capitalize()}: {text}")
    return "\n".join(lines) + "\nAssistant:"


def split_system(messages: Sequence[Mapping[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """Take the system (and developer) messages out of a conversation.

    Returns (system prompt, the other messages). The system prompt is the texts of the messages
    whose role is "system" or "developer" (in any case), joined with "\\n\\n", leaving out blank
    ones; None when there is none. Only their text goes into the prompt: `image_urls` of the
    whole conversation still finds images in them. The other messages are copies.

        >>> split_system([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
        ('Be brief.', [{'role': 'user', 'content': 'Hi'}])
    """
    system_texts: list[str] = []
    rest: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if isinstance(role, str) and role.lower() in _SYSTEM_ROLES:
            text = content_text(message["content"])
            if text.strip():
                system_texts.append(text)
        else:
            rest.append(_copy_message(message))
    return ("\n\n".join(system_texts) if system_texts else None), rest


def _copy_message(message: Mapping[str, Any]) -> dict[str, Any]:
    # A deep copy: the caller's messages (and their parts) stay untouched whatever is done to it.
    return copy.deepcopy(dict(message))
