"""What a structured answer must be, and checking it. No I/O.

`response_format=` may be a pydantic model class, a dataclass or a TypedDict (validated with
pydantic's `TypeAdapter`: the `structured` extra), a JSON Schema dict (validated with
`jsonschema`: the same extra), or OpenAI's `{"type": "json_schema", "json_schema": {...}}` /
`{"type": "json_object"}`. A failed check gives the list of what is wrong, one line per error,
for the repair turn and for `StructuredOutputError`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

try:  # it knows typing's TypedDicts and its own (which pydantic needs before Python 3.12)
    from typing_extensions import is_typeddict
except ImportError:  # pragma: no cover - typing_extensions comes with pydantic and anyio
    from typing import is_typeddict

import attrs

from ._errors import InvalidRequestError

__all__ = ["OutputSchema", "SchemaMismatch", "output_schema", "schema_validator", "to_jsonable"]

_EXTRA = "pip install 'dynaspark-sdk[structured]'"


class SchemaMismatch(Exception):
    """A value failed its schema; `errors` lists why."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@attrs.frozen
class OutputSchema:
    """The answer's required shape: `schema` (JSON Schema, shown to the model) and `validate`
    (returns the parsed value, or raises `SchemaMismatch`). `kind` is "model" (a Python type),
    "schema" (a JSON Schema) or "object" (any JSON object)."""

    name: str
    schema: Mapping[str, Any]
    validate: Callable[[Any], Any] = attrs.field(eq=False, repr=False)
    kind: str = "schema"
    strict: bool = False


def output_schema(response_format: object) -> OutputSchema | None:
    """`response_format=` checked (None: a plain text answer)."""
    if response_format is None:
        return None
    if isinstance(response_format, Mapping):
        return _from_mapping(response_format)
    if isinstance(response_format, type) and (
        _is_pydantic_model(response_format)
        or dataclasses.is_dataclass(response_format)
        or is_typeddict(response_format)
    ):
        return _from_type(response_format)
    raise InvalidRequestError(
        "response_format must be a pydantic model class, a dataclass, a TypedDict or a JSON Schema dict, "
        f"not {response_format!r}"
    )


def _is_pydantic_model(cls: type) -> bool:
    return any(base.__module__.startswith("pydantic") and base.__name__ == "BaseModel" for base in cls.__mro__)


def _from_type(cls: type) -> OutputSchema:
    try:
        from pydantic import TypeAdapter, ValidationError
    except ImportError:
        raise InvalidRequestError(f"response_format={cls.__name__} needs pydantic: {_EXTRA}") from None
    try:
        adapter: Any = TypeAdapter(cls)
        schema = adapter.json_schema()
    except Exception as error:  # pydantic's several errors for types it cannot build
        raise InvalidRequestError(f"response_format={cls.__name__} cannot be used: {error}") from None

    def validate(value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError as error:
            raise SchemaMismatch(
                [f"{'.'.join(map(str, item['loc'])) or '(the object)'}: {item['msg']}" for item in error.errors()]
            ) from None

    return OutputSchema(name=cls.__name__, schema=schema, validate=validate, kind="model")


def _from_mapping(response_format: Mapping[str, Any]) -> OutputSchema:
    kind = response_format.get("type")
    if kind == "json_object" and set(response_format) == {"type"}:
        return OutputSchema(name="object", schema={"type": "object"}, validate=_any_object, kind="object")
    if kind == "json_schema" and isinstance(response_format.get("json_schema"), Mapping):
        body = response_format["json_schema"]
        name, schema, strict = body.get("name", "answer"), body.get("schema", {}), body.get("strict", False)
        if not isinstance(name, str) or not isinstance(schema, Mapping) or not isinstance(strict, bool | None):
            raise InvalidRequestError('response_format["json_schema"] needs a name string and a schema object')
        return OutputSchema(name=name, schema=dict(schema), validate=schema_validator(schema), strict=bool(strict))
    if kind in ("json_object", "json_schema", "text"):
        raise InvalidRequestError(f"response_format of type {kind!r} is not in OpenAI's shape")
    return OutputSchema(name="answer", schema=dict(response_format), validate=schema_validator(response_format))


def _any_object(value: Any) -> Any:
    if not isinstance(value, dict):
        raise SchemaMismatch([f"the answer must be a JSON object, not {type(value).__name__}"])
    return value


def schema_validator(schema: Mapping[str, Any]) -> Callable[[Any], Any]:
    """A validator for a JSON Schema dict (checked here, so a broken schema fails before any
    request); it returns the value itself when valid."""
    try:
        import jsonschema  # type: ignore[import-untyped]  # no stubs; used through two calls
        from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
    except ImportError:
        raise InvalidRequestError(f"a JSON Schema needs the jsonschema package to be checked: {_EXTRA}") from None
    try:
        checker_class = jsonschema.validators.validator_for(schema)
        checker_class.check_schema(schema)
    except SchemaError as error:
        raise InvalidRequestError(f"the JSON Schema is not valid: {error.message}") from None
    checker = checker_class(dict(schema))

    def validate(value: Any) -> Any:
        errors = sorted(checker.iter_errors(value), key=lambda error: (error.json_path, error.message))
        if errors:
            raise SchemaMismatch([f"{error.json_path}: {error.message}" for error in errors])
        return value

    return validate


def to_jsonable(value: Any) -> Any:
    """A parsed answer as plain JSON data (a pydantic model dumped, a dataclass as a dict)."""
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return value
