"""Limits on the JSON Schemas a caller sends (tool parameters, `response_format`, `text.format`).

The SDK checks every answer against such a schema with jsonschema, on the gateway's event
loop, and jsonschema's `pattern` is Python's backtracking `re`: a pattern like `^(a+)+$`
against a few dozen characters of the model's answer takes seconds to minutes, and a regex
match cannot be interrupted (it holds the GIL, so a worker thread would not help). So a
caller's schema is bounded before anything is sent: at most `MAX_SCHEMA_BYTES` of JSON, and
no `pattern` / `patternProperties` regex whose repetition holds another repetition or an
alternation (`(a+)+`, `(a|aa)*`: the shapes of catastrophic backtracking). No I/O.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from typing import Any

from .errors import GatewayError, bad_request

__all__ = ["MAX_SCHEMA_BYTES", "check_schema"]

#: The largest schema (as compact JSON) a caller may send.
MAX_SCHEMA_BYTES = 64 * 1024

#: The parser `re` compiles with (private, untyped: read through `Any`).
_sre_parse: Any = importlib.import_module("re._parser")
_REPEATS = {_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT, getattr(_sre_parse, "POSSESSIVE_REPEAT", None)} - {None}

_GROUPS = {_sre_parse.SUBPATTERN, _sre_parse.ASSERT, _sre_parse.ASSERT_NOT}


def _refused(where: str, text: str) -> GatewayError:
    return bad_request(f"Invalid '{where}': {text}", param=where, code="invalid_value")


def _patterns(schema: object) -> Iterator[str]:
    """Every regex of a schema: `pattern` values and `patternProperties` keys, at any depth."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from (name for name in value if isinstance(name, str))
            yield from _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _patterns(value)


def _risky(parsed: Any, repeated: bool) -> bool:
    """Whether a parsed regex repeats a repetition or an alternation (`repeated`: inside one)."""
    for op, arg in parsed:
        if op in _REPEATS:
            low, high, inner = arg
            if (repeated and high != low) or _risky(inner, repeated or high > 1):
                return True
        elif op is _sre_parse.BRANCH:
            if repeated or any(_risky(branch, repeated) for branch in arg[1]):
                return True
        elif op in _GROUPS and _risky(arg[-1], repeated):
            return True
    return False


def check_schema(schema: object, where: str) -> None:
    """Refuse (a 400 pointing at `where`) a schema too large, or with a regex that could
    backtrack for minutes on the model's answer (see the module's docstring)."""
    size = len(json.dumps(schema, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_SCHEMA_BYTES:
        raise _refused(where, f"the schema is {size} bytes; the gateway takes at most {MAX_SCHEMA_BYTES}")
    for pattern in _patterns(schema):
        try:
            parsed = _sre_parse.parse(pattern)
        except (re.error, RecursionError, OverflowError):
            raise _refused(where, f"the pattern {pattern[:80]!r} is not a regular expression") from None
        if _risky(parsed, False):
            raise _refused(
                where,
                f"the pattern {pattern[:80]!r} repeats a repetition or an alternation, which can take"
                " minutes to check; write it without nested repetition",
            )
