"""Tools and structured output in OpenAI's shapes: a request's `tools`, `tool_choice`,
`parallel_tool_calls` and `response_format` (chat completions) or `tools`, `tool_choice` and
`text.format` (the Responses API) checked into the SDK's keyword arguments, and the calls of an
answer written back as OpenAI writes them. No I/O.

The service has neither: the SDK prompts for them, parses the answer strictly, checks it (a
`json_schema` always, so `strict: true` is honoured by validation) and repairs a wrong one once;
an answer still wrong is an OpenAI-shaped error (`StructuredOutputError` -> 502
`invalid_model_output`), never content that breaks the schema. A caller's schemas are bounded
first (`schema_limits`): the answer is checked against them on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dynaspark_sdk import ToolCall

from .errors import GatewayError, bad_request
from .schema_limits import check_schema

__all__ = [
    "STRUCTURED_PARAMETERS",
    "chat_tool_calls",
    "structured_options",
    "tool_call_deltas",
]

#: The request fields read here (the parameter policy leaves them to the endpoint's parser).
STRUCTURED_PARAMETERS = frozenset({"tools", "tool_choice", "parallel_tool_calls", "response_format"})
_CHOICES = ("auto", "none", "required")


def _invalid(where: str, text: str, code: str = "invalid_value") -> GatewayError:
    return bad_request(f"Invalid '{where}': {text}", param=where, code=code)


def _function(tool: object, where: str, *, flat: bool) -> dict[str, Any]:
    """One function tool as the SDK takes it (chat completions' shape)."""
    if not isinstance(tool, dict):
        raise _invalid(where, f"a tool must be an object, not {type(tool).__name__}", code="invalid_type")
    if tool.get("type") != "function":
        shown = repr(tool.get("type")) if "type" in tool else "no type"
        raise _invalid(f"{where}.type", f"{shown}: only function tools can be served (they are prompted)")
    body = tool if flat else tool.get("function")
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        at = where if flat else f"{where}.function"
        raise _invalid(at, "a function tool needs a name")
    if body.get("parameters") is not None:
        check_schema(body["parameters"], f"{where}.parameters" if flat else f"{where}.function.parameters")
    keys = ("name", "description", "parameters", "strict")
    return {"type": "function", "function": {key: body[key] for key in keys if body.get(key) is not None}}


def _tools(value: object, *, flat: bool) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid("tools", "must be an array of tools", code="invalid_type")
    return [_function(tool, f"tools[{index}]", flat=flat) for index, tool in enumerate(value)]


def _tool_choice(value: object, tools: Sequence[Mapping[str, Any]], *, flat: bool) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        if value not in _CHOICES:
            raise _invalid("tool_choice", f"{value!r}; supported values are 'auto', 'none', 'required' or a function")
        chosen: object = value
    elif isinstance(value, dict) and value.get("type") == "function":
        body = value if flat else value.get("function")
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str):
            raise _invalid("tool_choice", "a function choice needs the function's name")
        chosen = {"type": "function", "function": {"name": name}}
    else:
        raise _invalid("tool_choice", "must be 'auto', 'none', 'required' or a function choice")
    if not tools and chosen != "none":
        raise _invalid("tool_choice", "is only allowed when 'tools' are given")
    return chosen


def _response_format(value: object, where: str) -> dict[str, Any] | None:
    """OpenAI's `json_object` / `json_schema` formats as the SDK takes them; None for text."""
    if value is None or value == {"type": "text"}:
        return None
    if not isinstance(value, dict):
        raise _invalid(where, "must be an object", code="invalid_type")
    kind = value.get("type")
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        raise _invalid(f"{where}.type", f"{kind!r}; supported values are 'text', 'json_object' and 'json_schema'")
    # Chat completions nest the schema in "json_schema"; the Responses API's text.format does not.
    body = value.get("json_schema", value)
    if not isinstance(body, dict) or not isinstance(body.get("schema", {}), dict):
        raise _invalid(where, "a json_schema format needs a 'schema' object")
    name = body.get("name", "answer")
    if not isinstance(name, str):
        raise _invalid(where, "the json_schema format's 'name' must be a string")
    check_schema(
        body.get("schema", {}), f"{where}.schema" if "json_schema" not in value else f"{where}.json_schema.schema"
    )
    spec = {"name": name, "schema": body.get("schema", {}), "strict": bool(body.get("strict"))}
    return {"type": "json_schema", "json_schema": spec}


def structured_options(
    tools: object, tool_choice: object, parallel_tool_calls: object, response_format: object, *, flat: bool = False
) -> dict[str, Any]:
    """The SDK's keyword arguments for a request's tools and format (empty when it asks for a
    plain text answer). `flat`: the Responses API's shapes (a function's fields beside its
    `type`; `text.format` holding the schema itself)."""
    options: dict[str, Any] = {}
    listed = _tools(tools, flat=flat)
    choice = _tool_choice(tool_choice, listed, flat=flat)
    if parallel_tool_calls is not None and not isinstance(parallel_tool_calls, bool):
        raise _invalid("parallel_tool_calls", "must be true or false", code="invalid_type")
    if listed and choice != "none":
        options["tools"] = listed
        if choice is not None:
            options["tool_choice"] = choice
        if parallel_tool_calls is False:
            options["parallel_tool_calls"] = False
    fmt = _response_format(response_format, "text.format" if flat else "response_format")
    if fmt is not None:
        options["response_format"] = fmt
    return options


def chat_tool_calls(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """A completion message's `tool_calls`: `{"id", "type": "function", "function": {"name",
    "arguments"}}`, the arguments a JSON string."""
    return [call.to_openai() for call in calls]


def tool_call_deltas(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """A stream's deltas for `calls`, as OpenAI sends them: one chunk per call, with its index,
    id, type, name and the whole arguments (the gateway has them only once they are complete)."""
    return [{"tool_calls": [{"index": index, **call.to_openai()}]} for index, call in enumerate(calls)]
