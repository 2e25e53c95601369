"""Faults written as text (`status:503x3`), for `dynaspark serve-fake --fault` and for
configuration files: one line names a fault of `faults`, how many requests it serves and on
which path. Pure parsing; the emulator's `inject` queues the result."""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from . import faults
from .faults import Fault

__all__ = ["FAULT_SPEC_SYNTAX", "ScriptedFault", "parse_fault"]

FAULT_SPEC_SYNTAX = (
    "KIND[:ARG[:ARG]][xTIMES][@PATH], KIND one of: status:CODE[:RETRY_AFTER], html-page[:STATUS],"
    " bad-json, missing-response, wrong-content-type[:TYPE], reset, cut-stream[:EVENTS],"
    " slow-first-byte:SECONDS, slow-stream:SECONDS (e.g. status:503x3, status:429:30,"
    " cut-stream:2@/api/generate_response)"
)
"""The syntax `parse_fault` reads, as `serve-fake --help` shows it."""

_SPEC = re.compile(r"(?P<body>[^@]*?)(?:x(?P<times>\d+))?(?:@(?P<path>/\S*))?")


@attrs.frozen
class ScriptedFault:
    """A fault with the `times` and `path` to queue it with (`Emulator.inject`)."""

    fault: Fault
    times: int = 1
    path: str | None = None


def _number(text: str, what: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{what} must be {'a whole number' if kind is int else 'a number'}, not {text!r}") from None
    if value < 0:
        raise ValueError(f"{what} must be >= 0, not {text}")
    return value


def _status(args: list[str]) -> Fault:
    code = int(_number(args[0], "the status code", int))
    if not 100 <= code <= 599:
        raise ValueError(f"the status code must be 100-599, not {code}")
    retry_after = _number(args[1], "the Retry-After seconds", float) if len(args) > 1 else None
    return faults.status(code, retry_after=retry_after)


def _html_page(args: list[str]) -> Fault:
    return faults.html_page(int(_number(args[0], "the status code", int)) if args else 502)


# Each kind: (least arguments, most arguments, builder).
_KINDS: dict[str, tuple[int, int, Callable[[list[str]], Fault]]] = {
    "status": (1, 2, _status),
    "html-page": (0, 1, _html_page),
    "bad-json": (0, 0, lambda _: faults.bad_json()),
    "missing-response": (0, 0, lambda _: faults.missing_response()),
    "wrong-content-type": (0, 1, lambda args: faults.wrong_content_type(*args)),
    "reset": (0, 0, lambda _: faults.reset()),
    "cut-stream": (0, 1, lambda args: faults.cut_stream(*(int(_number(a, "EVENTS", int)) for a in args))),
    "slow-first-byte": (1, 1, lambda args: faults.slow_first_byte(_number(args[0], "SECONDS", float))),
    "slow-stream": (1, 1, lambda args: faults.slow_stream(_number(args[0], "SECONDS", float))),
}


def parse_fault(spec: str) -> ScriptedFault:
    """The fault `spec` names (see `FAULT_SPEC_SYNTAX`); ValueError saying what is wrong.

    >>> parse_fault("status:503x3")
    ScriptedFault(fault=_StatusFault(code=503, error='Service Unavailable', headers=()), times=3, path=None)
    """
    match = _SPEC.fullmatch(spec.strip())
    if match is None or not match["body"]:
        raise ValueError(f"{spec!r} is not a fault: write {FAULT_SPEC_SYNTAX}")
    kind, *args = match["body"].split(":")
    kind = kind.strip().lower().replace("_", "-")
    if kind not in _KINDS:
        raise ValueError(f"unknown fault {kind!r}: write {FAULT_SPEC_SYNTAX}")
    least, most, build = _KINDS[kind]
    if not least <= len(args) <= most:
        wanted = str(least) if least == most else f"{least} to {most}"
        raise ValueError(f"{kind} takes {wanted} argument(s) after ':', got {len(args)} in {spec!r}")
    times = int(match["times"]) if match["times"] is not None else 1
    if times < 1:
        raise ValueError(f"x{times}: a fault serves at least one request")
    return ScriptedFault(fault=build(args), times=times, path=match["path"])
