"""Reading a tool call or a JSON answer out of a model's text reply. No I/O.

The service's models answer in free text; they were asked (`_structured.reply_instructions`)
to answer in JSON. What they send back is read strictly, in these shapes only:

* a tool call: `{"tool_calls": [{"name": ..., "arguments": ...}, ...]}` or a single
  `{"name": ..., "arguments": ...}` (an `"id"` key is allowed too), `arguments` a JSON object
  or a string holding one;
* for a schema: one JSON value;

each of them either the whole reply, inside a fenced code block (with or without a `json`
tag), or with prose before or after. Anything else is plain text: the parser never guesses
at half a call. When the reply plainly tried a shape and got it wrong (JSON that does not
decode, a call without a name), the result is `Malformed`, which the caller repairs.

    >>> parse_tool_reply('Sure. {"name": "add", "arguments": {"a": 1}}')
    ToolReply(calls=(RawCall(name='add', arguments={'a': 1}, id=None),))
    >>> parse_tool_reply("It is sunny.") is None
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import attrs

__all__ = ["JsonReply", "Malformed", "RawCall", "ToolReply", "parse_json_reply", "parse_tool_reply"]

#: A fenced code block: ``` or ~~~, an optional language tag, the body, the closing fence at
#: the start of a line (so backticks inside a JSON string, which holds no raw newline, never
#: close it; a block closed on its last line is read as JSON inside prose instead).
_FENCE = re.compile(r"(```|~~~)[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)\r?\n[ \t]*\1", re.DOTALL)
_JSON_TAGS = frozenset({"", "json", "jsonc", "json5"})
_CALL_KEYS = frozenset({"name", "arguments", "id", "type"})
_DECODER = json.JSONDecoder()


@attrs.frozen
class RawCall:
    """One tool call as the model wrote it: `arguments` decoded to a dict (not yet validated)."""

    name: str
    arguments: dict[str, Any]
    id: str | None = None


@attrs.frozen
class ToolReply:
    """The reply is one or more tool calls."""

    calls: tuple[RawCall, ...]


@attrs.frozen
class JsonReply:
    """The reply is a JSON value (not yet validated)."""

    value: Any


@attrs.frozen
class Malformed:
    """The reply tried to be a tool call or JSON and failed; `reason` says how (for the repair turn)."""

    reason: str


def _decode_whole(text: str) -> tuple[bool, Any, str | None]:
    """(decoded, value, error) for `text` as exactly one JSON value."""
    try:
        return True, json.loads(text), None
    except ValueError as error:
        return False, None, str(error)


def _fenced_bodies(text: str) -> Iterator[str]:
    for match in _FENCE.finditer(text):
        if match.group(2).lower() in _JSON_TAGS:
            yield match.group(3).strip()


def _embedded_values(text: str) -> Iterator[tuple[int, Any]]:
    """JSON objects and arrays inside prose: each decodes from a `{` or `[` to its end."""
    position = 0
    while True:
        starts = [found for found in (text.find("{", position), text.find("[", position)) if found >= 0]
        if not starts:
            return
        start = min(starts)
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        yield start, value
        position = end


def _candidates(text: str) -> Iterator[tuple[str, Any]]:
    """Every JSON value the reply offers, as (where, value), best placed first: the whole reply,
    then fenced blocks, then values embedded in prose. Undecodable ones come as
    ("error: <where>: <reason>", None)."""
    stripped = text.strip()
    decoded, value, error = _decode_whole(stripped)
    if decoded:
        yield "whole", value
        return
    fenced = list(_fenced_bodies(text))
    for body in fenced:
        decoded, value, error = _decode_whole(body)
        yield ("fenced", value) if decoded else (f"error: the fenced block is not valid JSON ({error})", None)
    if fenced:
        return
    found = False
    for _, value in _embedded_values(text):
        found = True
        yield "embedded", value
    if not found and stripped[:1] in ("{", "["):
        yield f"error: the answer is not valid JSON ({error})", None


def _looks_like_call(text: str) -> bool:
    return '"tool_calls"' in text or ('"name"' in text and '"arguments"' in text)


def _read_call(value: object, where: str) -> RawCall | str:
    """A call object checked, or the reason it is not one."""
    if not isinstance(value, dict):
        return f"{where} is not an object"
    unknown = sorted(set(value) - _CALL_KEYS)
    if unknown:
        return f"{where} has unknown key(s) {', '.join(map(repr, unknown))} (a call has only name and arguments)"
    name = value.get("name")
    if not isinstance(name, str) or not name:
        return f"{where} has no function name (a non-empty string in name)"
    if "arguments" not in value:
        return f"{where} ({name}) has no arguments (give {{}} for none)"
    arguments = value["arguments"]
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError as error:
            return f"the arguments of {where} ({name}) are a string that is not valid JSON ({error})"
    if not isinstance(arguments, dict):
        return f"the arguments of {where} ({name}) must be a JSON object, not {type(arguments).__name__}"
    call_id = value.get("id")
    return RawCall(name=name, arguments=arguments, id=call_id if isinstance(call_id, str) and call_id else None)


def _read_calls(value: object) -> tuple[RawCall, ...] | str | None:
    """The calls a decoded value holds, the reason it is a broken call, or None (not a call)."""
    if not isinstance(value, dict):
        return None
    if "tool_calls" in value:
        if set(value) != {"tool_calls"}:
            return 'an answer with "tool_calls" must have no other key'
        listed = value["tool_calls"]
        if not isinstance(listed, list) or not listed:
            return '"tool_calls" must be a non-empty list of calls'
        calls = []
        for index, item in enumerate(listed):
            call = _read_call(item, f"tool_calls[{index}]")
            if isinstance(call, str):
                return call
            calls.append(call)
        return tuple(calls)
    if "name" in value and "arguments" in value:
        call = _read_call(value, "the call")
        return call if isinstance(call, str) else (call,)
    return None


def parse_tool_reply(text: str) -> ToolReply | Malformed | None:
    """The tool calls in a reply, `Malformed` when it tried to call and failed, else None
    (plain text). Calls in several fenced blocks are read together, in order."""
    calls: list[RawCall] = []
    for where, value in _candidates(text):
        if where.startswith("error: "):
            if _looks_like_call(text):
                return Malformed(where.removeprefix("error: "))
            continue
        found = _read_calls(value)
        if isinstance(found, str):
            return Malformed(found)
        if found is not None:
            calls.extend(found)
    return ToolReply(tuple(calls)) if calls else None


def parse_json_reply(text: str) -> JsonReply | Malformed:
    """The JSON value a reply holds, or `Malformed` (no JSON, or more than one candidate value
    in separate places: the parser will not pick one)."""
    values: list[Any] = []
    for where, value in _candidates(text):
        if where.startswith("error: "):
            return Malformed(where.removeprefix("error: "))
        values.append(value)
    if not values:
        return Malformed("the answer holds no JSON value")
    if len(values) > 1:
        return Malformed(f"the answer holds {len(values)} JSON values; give exactly one")
    return JsonReply(values[0])
