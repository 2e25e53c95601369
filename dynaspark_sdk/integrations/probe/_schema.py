"""The spec as the probe reads it: paths, operations and answers of the OpenAPI document, and
the small subset of JSON Schema its checks need (types, required and known fields, enums)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from dynaspark_sdk.spec import openapi_document

# The chat paths gpt4free's provider used, newest first: `/dsai_fuck_u_spammer` from 0.5.2.3
# (2025-05-12), `/generate_response` before. The spec's own chat paths are added to these.
KNOWN_CHAT_PATHS = ("/dsai_fuck_u_spammer", "/generate_response")


def load_spec() -> dict[str, Any]:
    """The OpenAPI document this package was generated from, as JSON data."""
    return openapi_document()


def resolve(spec: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        cursor: Any = spec
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            cursor = cursor[part.replace("~1", "/").replace("~0", "~")]
        node = cursor
    return node


def chat_paths(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The chat paths to try: the spec's chat operation's path first, then the paths it had
    before (its `x-previous-paths`, other chat operations such as `chat_previous`, and those
    gpt4free used that the spec does not list)."""
    primary: list[str] = []
    previous: list[str] = []
    for path, item in spec.get("paths", {}).items():
        operation = item.get("post") or {}
        operation_id = str(operation.get("operationId", ""))
        if operation_id == "chat":
            primary.append(path)
            previous.extend(operation.get("x-previous-paths", []))
        elif operation_id.startswith("chat"):
            previous.append(path)
    return tuple(dict.fromkeys([*primary, *previous, *KNOWN_CHAT_PATHS]))


def spec_operation(spec: Mapping[str, Any], path: str, method: str) -> Mapping[str, Any]:
    paths = spec.get("paths", {})
    if path not in paths:
        # A known chat path the spec does not list is checked as the spec's chat operation.
        path = next((p for p in paths if p in KNOWN_CHAT_PATHS), path)
    result: Mapping[str, Any] = resolve(spec, paths.get(path, {}).get(method, {}))
    return result


def spec_response(spec: Mapping[str, Any], operation: Mapping[str, Any], status: int) -> Mapping[str, Any] | None:
    responses = operation.get("responses", {})
    found = responses.get(str(status))
    result: Mapping[str, Any] | None = resolve(spec, found) if found is not None else None
    return result


def schema_problems(spec: Mapping[str, Any], value: Any, schema: Any, where: str = "JSON answer") -> list[str]:
    """What is wrong with `value` under `schema`, in words; empty when it fits.

    Covers what the spec uses: `$ref`, `type`, `required`, `properties`,
    `additionalProperties: false`, `enum`, `minimum`/`maximum`, `items`, `oneOf`/`anyOf`.
    A missing field is reported with the fields the spec does not know, so a rename reads as
    one: `JSON answer has no "response" (has "answer")`.
    """
    schema = resolve(spec, schema)
    if not isinstance(schema, Mapping):
        return []
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [schema_problems(spec, value, branch, where) for branch in schema[key]]
            if not any(not problems for problems in branches):
                return min(branches, key=len)
    expected = schema.get("type")
    if expected is not None and not _is_type(value, expected):
        return [f"{where} is {kind_of(value)}, the spec says {expected}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} is {value!r}, not one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where} is {value}, below the spec's minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where} is {value}, above the spec's maximum {schema['maximum']}")
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        unknown = [name for name in value if name not in properties]
        for name in schema.get("required", []):
            if name not in value:
                has = f" (has {', '.join(json.dumps(u) for u in unknown)})" if unknown else ""
                problems.append(f"{where} has no {json.dumps(name)}{has}")
        if schema.get("additionalProperties") is False and unknown:
            problems.append(f"{where} has fields the spec does not allow: {', '.join(map(json.dumps, unknown))}")
        for name, member in properties.items():
            if name in value:
                problems.extend(schema_problems(spec, value[name], member, f"{json.dumps(name)}"))
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems.extend(schema_problems(spec, item, schema["items"], f"{where}[{index}]"))
    return problems


def new_fields(spec: Mapping[str, Any], value: Any, schema: Any) -> list[str]:
    """Top-level fields of a JSON object that its schema does not name."""
    schema = resolve(spec, schema)
    if not isinstance(value, dict) or not isinstance(schema, Mapping):
        return []
    known = schema.get("properties", {})
    if schema.get("additionalProperties") is True:
        return []
    return [name for name in value if name not in known]


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _is_type(value: Any, expected: Any) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    return any(_TYPES.get(str(name), lambda _: True)(value) for name in names)


def kind_of(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _TYPES[name](value):
            return "a boolean" if name == "boolean" else f"{'an' if name[0] in 'aeio' else 'a'} {name}"
    return type(value).__name__


def assumed_markers(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every paragraph of the spec marked ASSUMED, with its JSON pointer (the document's own
    description, which only explains the marker, left out)."""
    found: list[tuple[str, str]] = []

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{pointer}/{index}")
        elif isinstance(node, str) and "ASSUMED" in node and not pointer.startswith("/info"):
            for paragraph in re.split(r"\n\s*\n", node):
                if "ASSUMED" in paragraph:
                    found.append((pointer, " ".join(paragraph.split())))

    walk(spec, "")
    return found


def spec_default_chat_model(spec: Mapping[str, Any]) -> str:
    """The spec's default chat model."""
    chat_model = resolve(spec, spec.get("components", {}).get("schemas", {}).get("ChatModel", {}))
    return str(chat_model.get("default") or (chat_model.get("enum") or ["gemini-1.5-flash"])[0])
