"""Checking query parameters against the spec's rules (`spec_values.PARAMETERS`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from dynaspark_sdk._generated.spec_values import Rule

__all__ = ["ParameterError", "Value", "validate_parameters"]

Value = str | int | float | bool

_INTEGER = re.compile(r"[+-]?\d+")


class ParameterError(ValueError):
    """A parameter breaks the spec; the message says which and why (sent back as a 400)."""


def validate_parameters(
    rules: Mapping[str, Rule], pairs: Sequence[tuple[str, str]], *, noun: str = "parameter"
) -> dict[str, Value]:
    """The parameters converted to their spec types; ParameterError on the first problem.

    Checked in this order: unknown names (all named at once), repeated names, missing required
    names, then each value's type, length, range and enumeration. `noun` names what is
    checked in the messages ("parameter", "form field").
    """
    unknown = list(dict.fromkeys(name for name, _ in pairs if name not in rules))
    if unknown:
        raise ParameterError(f"unknown {_plural(noun, unknown)}: {', '.join(unknown)}")
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name in seen:
            raise ParameterError(f"{noun} {name} given more than once")
        seen[name] = value
    missing = [name for name, rule in rules.items() if rule.required and name not in seen]
    if missing:
        raise ParameterError(f"missing required {_plural(noun, missing)}: {', '.join(missing)}")
    return {name: _convert(f"{noun} {name}", rules[name], value, name in _SECRET) for name, value in seen.items()}


def _plural(noun: str, names: Sequence[str]) -> str:
    return noun + "s" if len(names) > 1 else noun


_SECRET = frozenset({"api_key"})


def _convert(label: str, rule: Rule, raw: str, secret: bool) -> Value:
    shown = "the value given" if secret else repr(raw)
    value: Value
    if rule.type == "boolean":
        # The spec lists the spellings: true/false, and True/False as Python's str() writes them.
        spellings = rule.enum or ("true", "false")
        if raw not in spellings:
            listed = ", ".join(spellings[:-1]) + " or " + spellings[-1]
            raise ParameterError(f"{label} must be {listed}, not {shown}")
        return raw.lower() == "true"
    if rule.type == "integer":
        if not _INTEGER.fullmatch(raw):
            raise ParameterError(f"{label} must be an integer, not {shown}")
        try:
            value = int(raw)
        except ValueError:  # more digits than Python converts
            raise ParameterError(f"{label} is too long an integer") from None
    elif rule.type == "number":
        try:
            value = float(raw)
        except ValueError:
            raise ParameterError(f"{label} must be a number, not {shown}") from None
        if not math.isfinite(value):
            raise ParameterError(f"{label} must be a finite number, not {shown}")
    else:
        if rule.min_length is not None and len(raw) < rule.min_length:
            raise ParameterError(f"{label} must not be empty")
        if rule.enum is not None and raw not in rule.enum:
            raise ParameterError(f"{label} must be one of {', '.join(rule.enum)}, not {shown}")
        return raw
    if rule.minimum is not None and value < rule.minimum:
        raise ParameterError(f"{label} must be at least {_number(rule.minimum)}, not {shown}")
    if rule.maximum is not None and value > rule.maximum:
        raise ParameterError(f"{label} must be at most {_number(rule.maximum)}, not {shown}")
    return value


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)
