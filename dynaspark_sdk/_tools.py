"""Function tools: their specs (from OpenAI's tool dicts or plain Python functions), the
`tool_choice` rule and the calls a model makes. No I/O.

A Python function becomes a tool from its signature and docstring: the name, the first
paragraph of the docstring as the description, one JSON Schema property per parameter (from
its annotation; its description from a Google-style `Args:` section or `:param x:` lines),
and the parameters without a default as `required`.

    >>> def get_weather(city: str, unit: str = "C") -> str:
    ...     '''The weather in a city.
    ...
    ...     Args:
    ...         city: The city's name.
    ...     '''
    >>> spec = tool_spec(get_weather)
    >>> spec.name, spec.parameters["required"], spec.parameters["properties"]["city"]
    ('get_weather', ['city'], {'type': 'string', 'description': "The city's name."})
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ._errors import InvalidRequestError

__all__ = ["ToolCall", "ToolSpec", "check_tool_choice", "new_call_id", "tool_spec", "tool_specs"]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    dict: {"type": "object"},
    list: {"type": "array"},
    Any: {},
}
_CHOICES = ("auto", "none", "required")


@attrs.frozen
class ToolCall:
    """A call the model made: `id` (to send the result back under), the function's `name` and
    its `arguments`, a dict already validated against the function's parameter schema."""

    id: str
    name: str
    arguments: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """`{"id", "name", "arguments"}`, JSON-ready."""
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    def to_openai(self) -> dict[str, Any]:
        """The call in OpenAI's message shape (`arguments` as a JSON string)."""
        arguments = json.dumps(self.arguments, ensure_ascii=False)
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": arguments}}


@attrs.frozen
class ToolSpec:
    """One function the model may call: its name, description and JSON Schema of parameters.
    `function` is the Python function it was read from, if any."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    strict: bool = False
    function: Callable[..., Any] | None = attrs.field(default=None, eq=False, repr=False)


def new_call_id() -> str:
    """A fresh call id in OpenAI's style."""
    return "call_" + uuid.uuid4().hex[:24]


def tool_specs(tools: object) -> tuple[ToolSpec, ...]:
    """`tools=` checked: a list of OpenAI function-tool dicts and/or Python functions, with
    distinct names."""
    if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Sequence):
        raise InvalidRequestError(f"tools must be a list of tools, not {type(tools).__name__}")
    specs = tuple(tool_spec(tool, where=f"tools[{index}]") for index, tool in enumerate(tools))
    names = [spec.name for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidRequestError(f"tools has more than one function called {', '.join(map(repr, repeated))}")
    return specs


def tool_spec(tool: object, *, where: str = "the tool") -> ToolSpec:
    """One tool: `{"type": "function", "function": {"name", "description", "parameters",
    "strict"}}` (chat completions), the same keys flat beside `"type"` (the Responses API), or
    a Python function."""
    if isinstance(tool, Mapping):
        return _spec_from_dict(tool, where)
    if callable(tool):
        return _spec_from_function(tool, where)
    raise InvalidRequestError(f"{where} must be a function-tool dict or a Python function, not {type(tool).__name__}")


def _spec_from_dict(tool: Mapping[str, Any], where: str) -> ToolSpec:
    if tool.get("type", "function") != "function":
        raise InvalidRequestError(f"{where} has type {tool.get('type')!r}; only function tools can be used")
    body = tool.get("function", tool)
    if not isinstance(body, Mapping):
        raise InvalidRequestError(f'{where}["function"] must be an object')
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidRequestError(f"{where} needs a name of 1 to 64 letters, digits, _ or -, not {name!r}")
    description = body.get("description", "")
    if not isinstance(description, str):
        raise InvalidRequestError(f"{where} ({name}): description must be a string")
    parameters = body.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, Mapping) or parameters.get("type", "object") != "object":
        raise InvalidRequestError(f"{where} ({name}): parameters must be a JSON Schema of an object")
    strict = body.get("strict", False)
    if not isinstance(strict, bool) and strict is not None:
        raise InvalidRequestError(f"{where} ({name}): strict must be true or false")
    return ToolSpec(name=name, description=description, parameters=dict(parameters), strict=bool(strict))


def _spec_from_function(function: Callable[..., Any], where: str) -> ToolSpec:
    name = getattr(function, "__name__", "")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidRequestError(f"{where}: a function tool needs a plain name, not {name!r}")
    try:
        signature = inspect.signature(function)
        hints = typing.get_type_hints(function)
    except (TypeError, ValueError, NameError) as error:
        raise InvalidRequestError(f"{where} ({name}): its signature cannot be read: {error}") from None
    summary, documented = _read_docstring(inspect.getdoc(function) or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise InvalidRequestError(f"{where} ({name}): *args and **kwargs cannot be described to the model")
        schema = dict(annotation_schema(hints.get(parameter.name, Any)))
        if parameter.name in documented:
            schema["description"] = documented[parameter.name]
        properties[parameter.name] = schema
        if parameter.default is parameter.empty:
            required.append(parameter.name)
    parameters = {"type": "object", "properties": properties, "required": required}
    return ToolSpec(name=name, description=summary, parameters=parameters, function=function)


def annotation_schema(annotation: Any) -> dict[str, Any]:
    """A JSON Schema for a parameter's annotation: the built-in types, `list[X]`, `dict[str, X]`,
    `X | None`, `Literal[...]` and enums here; anything else through pydantic when installed."""
    if annotation in _SCALARS:
        return dict(_SCALARS[annotation])
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return {"enum": list(arguments)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [annotation_schema(argument) for argument in arguments]}
    if origin in (list, Sequence, tuple, set, frozenset) and len(arguments) == 1:
        return {"type": "array", "items": annotation_schema(arguments[0])}
    if origin in (dict, Mapping) and len(arguments) == 2:
        return {"type": "object", "additionalProperties": annotation_schema(arguments[1])}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [member.value for member in annotation]}
    try:
        from pydantic import TypeAdapter
    except ImportError:
        raise InvalidRequestError(
            f"the annotation {annotation!r} needs pydantic to be described: pip install 'dynaspark-sdk[structured]'"
        ) from None
    try:
        return TypeAdapter(annotation).json_schema()
    except Exception as error:  # pydantic raises several kinds for types it cannot describe
        raise InvalidRequestError(
            f"the annotation {annotation!r} cannot be described as JSON Schema: {error}"
        ) from None


def _read_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph, {parameter: description}) from Google-style `Args:` or `:param x:` lines."""
    summary = " ".join(doc.split("\n\n", 1)[0].split())
    documented: dict[str, str] = {}
    for match in re.finditer(r"^\s*:param\s+(?:[^:]*\s)?(\w+):\s*(.+)$", doc, re.MULTILINE):
        documented[match.group(1)] = match.group(2).strip()
    section = re.search(r"^(?:Args|Arguments|Parameters):\s*\n((?:[ \t]+.*\n?)+)", doc, re.MULTILINE)
    if section:
        for match in re.finditer(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.+)$", section.group(1), re.MULTILINE):
            documented.setdefault(match.group(1), match.group(2).strip())
    return summary, documented


def check_tool_choice(choice: object, specs: Sequence[ToolSpec]) -> str:
    """`tool_choice=` checked: "auto", "none", "required", a function's name, or OpenAI's
    `{"type": "function", "function": {"name": ...}}` (or `{"type": "function", "name": ...}`).
    Returns one of the three words or the function's name."""
    name: object = choice
    if isinstance(choice, Mapping):
        body = choice.get("function", choice)
        name = body.get("name") if isinstance(body, Mapping) and choice.get("type") == "function" else None
        if not isinstance(name, str):
            raise InvalidRequestError(
                f'tool_choice must name a function as {{"type": "function", ...}}, not {choice!r}'
            )
    if not isinstance(name, str):
        raise InvalidRequestError(f"tool_choice must be a string or a function choice, not {type(choice).__name__}")
    if not specs and name != "none":
        raise InvalidRequestError(f"tool_choice={name!r} needs tools=")
    if name in _CHOICES:
        return name
    if name not in {spec.name for spec in specs}:
        known = ", ".join(spec.name for spec in specs)
        raise InvalidRequestError(f"tool_choice names {name!r}, which is not among the tools ({known})")
    return name
