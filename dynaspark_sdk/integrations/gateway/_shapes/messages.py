"""Messages in OpenAI's chat shape, checked the way OpenAI checks them and made ready for the SDK.

Both `/v1/chat/completions` (`messages`) and `/v1/responses` (`input`, `instructions`, a stored
conversation) end here, so one set of rules and errors applies to both: roles as OpenAI names
them, errors that point into the request as OpenAI does (`messages[1].content`), text parts of
one message joined with a new line, and every image part through `image_part`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import GatewayError, bad_request

__all__ = ["PART_SEPARATOR", "ROLES", "check_messages", "image_part", "join_text", "message"]

#: The roles of plain messages; a chat completion's `tool` results (and an assistant's
#: `tool_calls`) are tool turns, folded into the prompt (tools are prompted: `tools.py`).
ROLES = ("system", "developer", "user", "assistant")
_TOOL_ROLES = ("function",)
#: Between two text parts of one message that no white space separates.
PART_SEPARATOR = "\n"
#: Keys an assistant message may carry when they ask for nothing (OpenAI sends them as null).
_EMPTY_ASSISTANT_KEYS = ("tool_calls", "function_call", "audio", "refusal")


def _invalid(where: str, message: str, code: str = "invalid_value") -> GatewayError:
    return bad_request(f"Invalid '{where}': {message}", param=where, code=code)


def image_part(url: object, detail: object, where: str, images: bool, target: str) -> dict[str, Any]:
    """An image part for the SDK: `url` a data URI or an http(s) URL (the SDK reads and checks
    the image itself). `images` False: the target takes none, and says so."""
    if not images:
        raise _invalid(where, f"{target} takes no images; send them to a chat model (gemini-...)")
    if not isinstance(url, str) or not url.strip():
        raise _invalid(where, "an image needs a URL: a data: URI or an http(s) URL")
    scheme = url[:8].lower()
    if not scheme.startswith(("data:", "http://", "https://")):
        raise _invalid(where, "the image URL must be a data: URI or an http(s) URL")
    if detail is not None and not isinstance(detail, str):
        raise _invalid(where, "'detail' must be a string ('auto', 'low' or 'high')")
    return {"type": "image_url", "image_url": {"url": url}}


def join_text(texts: Sequence[str]) -> str:
    """The text parts of one message as one text: each part on a line of its own, unless white
    space already separates two parts (then they are joined as they are).

        >>> join_text(["part1", "part2"]), join_text(["Another ", "one?"])
        ('part1\\npart2', 'Another one?')
    """
    if len(texts) == 1:
        return texts[0]
    joined = ""
    for text in texts:
        if joined and text and not joined[-1].isspace() and not text[0].isspace():
            joined += PART_SEPARATOR
        joined += text
    return joined


def message(role: str, texts: Sequence[str], images: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A message for the SDK: its text parts joined, its images after them."""
    text = join_text(texts) if texts else ""
    if not images:
        return {"role": role, "content": text}
    return {"role": role, "content": [{"type": "text", "text": text}, *images]}


def _parts(content: list[Any], where: str, images: bool, target: str) -> tuple[list[str], list[dict[str, Any]]]:
    texts: list[str] = []
    found: list[dict[str, Any]] = []
    for index, part in enumerate(content):
        at = f"{where}[{index}]"
        if not isinstance(part, dict):
            raise _invalid(at, f"a content part must be an object, not {type(part).__name__}")
        kind = part.get("type")
        if kind in ("text", "refusal"):
            text = part.get(kind)
            if not isinstance(text, str):
                raise _invalid(f"{at}.{kind}", "must be a string")
            texts.append(text)
        elif kind == "image_url":
            image = part.get("image_url")
            if isinstance(image, dict):
                found.append(image_part(image.get("url"), image.get("detail"), f"{at}.image_url", images, target))
            else:
                found.append(image_part(image, None, f"{at}.image_url", images, target))
        else:
            shown = f"type {kind!r}" if isinstance(kind, str) else "no 'type'"
            raise _invalid(at, f"a part with {shown} cannot be sent; the gateway takes 'text' and 'image_url' parts")
    return texts, found


#: What an assistant message with tool calls may also carry when it asks for nothing.
_EMPTY_KEYS = ("refusal", "audio", "function_call")


def _text_of(content: object, where: str, target: str) -> str | None:
    """The text of a tool turn's content (a string, text parts, or null)."""
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _invalid(where, "must be a string or an array of text parts")
    texts, _ = _parts(content, where, False, target)
    return join_text(texts)


def _tool_turn(item: dict[str, Any], role: str, where: str, target: str) -> dict[str, Any]:
    """A `role: "tool"` result, or an assistant message with `tool_calls` (content may be
    null), for the SDK to fold into the prompt."""
    allowed = (
        ("role", "content", "name", "tool_call_id")
        if role == "tool"
        else ("role", "content", "name", "tool_calls", "refusal", "audio", "function_call")
    )
    for key in item:
        if key not in allowed or (key in _EMPTY_KEYS and item[key]):
            raise _invalid(f"{where}.{key}", f"{target} cannot honour it", code="unsupported_parameter")
    text = _text_of(item.get("content"), f"{where}.content", target)
    if role == "tool":
        call_id = item.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise _invalid(f"{where}.tool_call_id", "a tool message needs the id of the call it answers")
        if text is None:
            raise _invalid(f"{where}.content", "a tool message needs content")
        return {"role": "tool", "tool_call_id": call_id, "content": text}
    calls = item["tool_calls"]
    if not isinstance(calls, list):
        raise _invalid(f"{where}.tool_calls", "must be an array of calls")
    checked = []
    for index, call in enumerate(calls):
        at = f"{where}.tool_calls[{index}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not isinstance(call.get("id"), str) or not isinstance(function, dict):
            raise _invalid(at, "a call needs an 'id' and a 'function'")
        if not isinstance(function.get("name"), str) or not isinstance(function.get("arguments", ""), str):
            raise _invalid(f"{at}.function", "needs a 'name' and 'arguments' as a JSON string")
        arguments = function.get("arguments") or "{}"
        checked.append(
            {"id": call["id"], "type": "function", "function": {"name": function["name"], "arguments": arguments}}
        )
    return {"role": "assistant", "content": text, "tool_calls": checked}


def _check_message(item: object, where: str, images: bool, target: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _invalid(where, f"a message must be an object, not {type(item).__name__}")
    role = item.get("role")
    if role == "tool" or (role == "assistant" and item.get("tool_calls")):
        return _tool_turn(item, role, where, target)
    if role not in ROLES:
        if role in _TOOL_ROLES:
            raise _invalid(f"{where}.role", f"{role!r} messages (legacy function calling) cannot be sent; use tools")
        shown = "missing" if role is None else repr(role)
        raise _invalid(f"{where}.role", f"{shown}; supported values are: {', '.join(map(repr, ROLES))}")
    for key in item:
        if key in ("role", "content", "name"):
            continue
        if role == "assistant" and key in _EMPTY_ASSISTANT_KEYS and not item[key]:
            continue
        raise _invalid(f"{where}.{key}", f"{target} cannot honour it", code="unsupported_parameter")
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise _invalid(f"{where}.name", "must be a string")
    content = item.get("content")
    if isinstance(content, str):
        # The common case, checked: the SDK copies what it is given, so no copy here.
        return item if len(item) == 2 else {"role": role, "content": content}
    if content is None and role == "assistant":
        return {"role": role, "content": ""}
    if not isinstance(content, list):
        shown = "missing" if "content" not in item else ("null" if content is None else type(content).__name__)
        raise _invalid(f"{where}.content", f"must be a string or an array of content parts, not {shown}")
    texts, found = _parts(content, f"{where}.content", images, target)
    return message(role, texts, found)


def check_messages(messages: object, *, images: bool, target: str, where: str = "messages") -> list[dict[str, Any]]:
    """The messages checked as OpenAI checks them, ready for the SDK's `chat()` or
    `generate_text()`: each `{"role", "content"}`, content a string or one text part and the
    image parts. `images` False (the text API): an image part is refused. `target` names
    what answers in errors (`the chat models`, `the text API`)."""
    if not isinstance(messages, list) or not messages:
        raise _invalid(where, "must be a non-empty array of messages", code="invalid_type")
    return [_check_message(item, f"{where}[{index}]", images, target) for index, item in enumerate(messages)]
