"""Answers for operations the spec describes but the emulator has no rules for yet (one just
added to `openapi/dynaspark.yaml`): the 200 answer's `example` when the spec gives one, else
the smallest value its JSON schema allows. So a new operation answers something that fits its
spec instead of a 404 until the emulator learns it. Pure: no I/O beyond reading the spec."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from dynaspark_sdk._generated import spec_values

__all__ = ["spec_example_answer"]


@functools.cache
def _document() -> Mapping[str, Any]:
    from dynaspark_sdk.spec import openapi_document

    return openapi_document()


def _resolve(node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        cursor: Any = _document()
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            cursor = cursor[part]
        node = cursor
    return node


def _smallest(schema: Any) -> object:
    """The smallest value `schema` allows (its example, default or first enum value if given)."""
    schema = _resolve(schema)
    if not isinstance(schema, Mapping):
        return None
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return _smallest(schema[key][0])
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        return {name: _smallest(properties.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return [_smallest(schema.get("items", {})) for _ in range(int(schema.get("minItems", 0)))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "string":
        return "x" * int(schema.get("minLength", 0))
    return None


def spec_example_answer(operation: str) -> object:
    """The JSON value the emulator answers `operation` with (see the module's docstring)."""
    method, path = spec_values.OPERATIONS[operation]
    described = _document()["paths"][path][method.lower()]
    ok = _resolve((described.get("responses") or {}).get("200") or {})
    media = (ok.get("content") or {}).get("application/json") or {}
    if "example" in media:
        return media["example"]
    return _smallest(media.get("schema", {}))
