"""Tool calls and structured output on a service that has neither: prompted, parsed, checked,
repaired. No I/O: the shells send the messages `StructuredTurns` gives them and hand it the
text that comes back.

The service's models take one prompt and answer in text, so the reply format is described in a
system message (`reply_instructions`), the answer is read strictly (`_reply_parsing`) and
checked (the function's parameter schema, or the `response_format`). An answer that should be
a call or JSON and is not gets a repair turn quoting what is wrong (`max_repairs`, default 1);
still wrong, it is a `StructuredOutputError`. This is prompted, not native: a model can ignore
the format, and then the call fails instead of returning something wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ._defaults import DEFAULT_MAX_REPAIRS
from ._errors import InvalidRequestError, StructuredOutputError
from ._reply_parsing import Malformed, ToolReply, parse_json_reply, parse_tool_reply
from ._schemas import OutputSchema, SchemaMismatch, output_schema, schema_validator
from ._tools import ToolCall, ToolSpec, check_tool_choice, new_call_id, tool_specs

__all__ = [
    "Final",
    "Problem",
    "ReplyGate",
    "StructuredRequest",
    "StructuredTurns",
    "judge_reply",
    "reply_instructions",
    "structured_request",
    "with_instructions",
]


@attrs.frozen
class StructuredRequest:
    """What a call asks of the answer: tools the model may call (`tool_choice`: "auto", "none",
    "required" or a function's name), a `schema` the answer must fit, and how many repair turns
    to try."""

    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = "auto"
    schema: OutputSchema | None = None
    max_repairs: int = DEFAULT_MAX_REPAIRS
    parallel_tool_calls: bool = True
    validators: Mapping[str, Callable[[Any], Any]] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def offers_tools(self) -> bool:
        """Whether the model is told about the tools (not with `tool_choice="none"`)."""
        return bool(self.tools) and self.tool_choice != "none"

    @property
    def must_call(self) -> bool:
        """Whether the answer must be a call (`"required"` or one function named)."""
        return self.offers_tools and self.tool_choice != "auto"

    @property
    def wants_json(self) -> bool:
        """Whether every acceptable answer is JSON (the text API's `json` mode can be asked)."""
        return self.must_call or (self.schema is not None and not self.offers_tools)


def structured_request(
    *,
    response_format: object = None,
    tools: object = None,
    tool_choice: object = None,
    max_repairs: object = DEFAULT_MAX_REPAIRS,
    parallel_tool_calls: object = True,
) -> StructuredRequest | None:
    """The arguments checked (before any request); None when they ask for a plain text answer."""
    if isinstance(max_repairs, bool) or not isinstance(max_repairs, int) or max_repairs < 0:
        raise InvalidRequestError(f"max_repairs must be a whole number >= 0, not {max_repairs!r}")
    if not isinstance(parallel_tool_calls, bool):
        raise InvalidRequestError(f"parallel_tool_calls must be True or False, not {parallel_tool_calls!r}")
    specs = tool_specs(tools) if tools is not None else ()
    choice = check_tool_choice(tool_choice, specs) if tool_choice is not None else "auto"
    schema = output_schema(response_format)
    if schema is None and not (specs and choice != "none"):
        return None
    validators = {spec.name: schema_validator(spec.parameters) for spec in specs}
    return StructuredRequest(
        tools=specs,
        tool_choice=choice,
        schema=schema,
        max_repairs=max_repairs,
        parallel_tool_calls=parallel_tool_calls,
        validators=validators,
    )


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def reply_instructions(request: StructuredRequest) -> str:
    """The system text that tells the model how to answer."""
    lines: list[str] = []
    if request.offers_tools:
        listed = [{"name": s.name, "description": s.description, "parameters": s.parameters} for s in request.tools]
        lines += [
            "You can call functions. They are described here as JSON Schema:",
            _compact(listed),
            "To call functions, answer with this JSON and nothing else:",
            '{"tool_calls": [{"name": "<function name>", "arguments": {<arguments as a JSON object>}}]}',
            "with one entry per call." if request.parallel_tool_calls else "with exactly one call.",
            'The results come back in messages that start with "Tool".',
        ]
        if request.tool_choice == "required":
            lines.append("You must call at least one function now.")
        elif request.tool_choice != "auto":
            lines.append(f"You must call the function {request.tool_choice} now.")
        elif request.schema is None:
            lines.append("When no function is needed, answer in plain text, without JSON.")
    if request.schema is not None:
        intro = "When no function is needed, answer" if request.offers_tools else "Answer"
        lines += [
            f"{intro} with one JSON value that fits this JSON Schema, and nothing else (no prose):",
            _compact(request.schema.schema),
        ]
    return "\n".join(lines)


def with_instructions(messages: Sequence[Mapping[str, Any]], request: StructuredRequest) -> list[dict[str, Any]]:
    """The messages with the reply instructions added to the system message (a new one first
    when there is none, or when the first one's content is not a string)."""
    instructions = reply_instructions(request)
    copied = [dict(message) for message in messages]
    if copied and copied[0].get("role") == "system" and isinstance(copied[0].get("content"), str):
        copied[0]["content"] = f"{copied[0]['content']}\n\n{instructions}"
        return copied
    return [{"role": "system", "content": instructions}, *copied]


@attrs.frozen
class Final:
    """A usable answer: its text, the calls it makes (validated), the parsed schema instance.

    For a JSON answer (`is_json`), `text` is the JSON value alone, as the model wrote it but
    without the prose or code fence around it: what a caller hands on as the answer's content.
    """

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    parsed: Any = None
    is_json: bool = False


@attrs.frozen
class Problem:
    """Why an answer cannot be used, one line per error."""

    errors: tuple[str, ...]


def _checked_calls(request: StructuredRequest, reply: ToolReply) -> tuple[ToolCall, ...] | Problem:
    errors: list[str] = []
    calls: list[ToolCall] = []
    if len(reply.calls) > 1 and not request.parallel_tool_calls:
        errors.append(f"the answer makes {len(reply.calls)} calls; make exactly one")
    known = {spec.name for spec in request.tools}
    for raw in reply.calls:
        if raw.name not in known:
            errors.append(f"there is no function {raw.name!r}; the functions are {', '.join(sorted(known))}")
            continue
        if request.tool_choice not in ("auto", "required") and raw.name != request.tool_choice:
            errors.append(f"the function to call is {request.tool_choice}, not {raw.name}")
            continue
        try:
            request.validators[raw.name](raw.arguments)
        except SchemaMismatch as mismatch:
            errors += [f"arguments of {raw.name}: {error}" for error in mismatch.errors]
            continue
        calls.append(ToolCall(id=raw.id or new_call_id(), name=raw.name, arguments=raw.arguments))
    return Problem(tuple(errors)) if errors else tuple(calls)


def _checked_json(schema: OutputSchema, text: str) -> Final | Problem:
    reply = parse_json_reply(text)
    if isinstance(reply, Malformed):
        return Problem((reply.reason,))
    try:
        parsed = schema.validate(reply.value)
    except SchemaMismatch as mismatch:
        return Problem(tuple(mismatch.errors))
    return Final(text=json.dumps(reply.value, ensure_ascii=False), parsed=parsed, is_json=True)


def judge_reply(request: StructuredRequest, text: str) -> Final | Problem:
    """Whether `text` is an answer the request can use, and what it holds."""
    if request.offers_tools:
        reply = parse_tool_reply(text)
        if isinstance(reply, Malformed):
            return Problem((reply.reason,))
        if isinstance(reply, ToolReply):
            calls = _checked_calls(request, reply)
            return calls if isinstance(calls, Problem) else Final(text=text, tool_calls=calls)
        if request.must_call:
            return Problem(("the answer calls no function; answer with the tool_calls JSON only",))
    if request.schema is not None:
        return _checked_json(request.schema, text)
    return Final(text=text)


def repair_message(problem: Problem) -> str:
    """The user turn that asks the model to answer again, quoting what was wrong."""
    listed = "\n".join(f"- {error}" for error in problem.errors)
    return (
        f"Your answer cannot be used:\n{listed}\nAnswer again, exactly in the format described in the system message."
    )


class StructuredTurns:
    """The turns of one structured call: the messages to send, then each answer judged, with a
    repair turn after a wrong one while `max_repairs` allows.

        turns = StructuredTurns(request, messages)
        while (final := turns.take(send(turns.messages))) is None:
            pass
    """

    def __init__(self, request: StructuredRequest, messages: Sequence[Mapping[str, Any]]) -> None:
        self.request = request
        self.messages = with_instructions(messages, request)
        self.attempts: list[str] = []

    def take(self, text: str) -> Final | None:
        """The final answer, or None when a repair turn is now in `messages`; raises
        `StructuredOutputError` when the answer is wrong and no repair is left."""
        self.attempts.append(text)
        verdict = judge_reply(self.request, text)
        if isinstance(verdict, Final):
            return verdict
        if len(self.attempts) > self.request.max_repairs:
            tries = len(self.attempts)
            raise StructuredOutputError(
                f"the model's answer is not a valid {self._wanted()} after {tries} attempt{'s' * (tries > 1)}: "
                + "; ".join(verdict.errors),
                raw_text=text,
                errors=verdict.errors,
                attempts=tuple(self.attempts),
            )
        self.messages = [
            *self.messages,
            {"role": "assistant", "content": text},
            {"role": "user", "content": repair_message(verdict)},
        ]
        return None

    def _wanted(self) -> str:
        schema = self.request.schema
        if self.request.must_call or schema is None:
            return "tool call"
        return "tool call or JSON answer" if self.request.offers_tools else f"JSON answer ({schema.name})"


class ReplyGate:
    """What a stream hands over while a structured answer arrives: text that is plainly text
    passes through; from the first `{` or code fence on (a call or JSON may be starting) it is
    held until the answer is complete. When every acceptable answer is JSON, all is held."""

    def __init__(self, request: StructuredRequest) -> None:
        self._hold_all = request.schema is not None or request.must_call
        self._held = ""

    def feed(self, chunk: str) -> str:
        """The part of `chunk` (with what was held) to hand over now."""
        text = self._held + chunk
        if self._hold_all:
            self._held = text
            return ""
        marks = [found for found in (text.find("{"), text.find("`"), text.find("~~~")) if found >= 0]
        # Without a mark, a "~" or "~~" at the end may still begin a fence.
        cut = min(marks) if marks else len(text.rstrip("~"))
        self._held = text[cut:]
        return text[:cut]

    def finish(self, final: Final) -> str:
        """What is left to hand over once the answer is complete and usable: nothing after a
        tool call, the JSON alone for a JSON answer, else what was held."""
        held, self._held = self._held, ""
        if final.tool_calls:
            return ""
        return final.text if final.is_json else held

    def restart(self) -> None:
        """Forget what was held (a repair turn starts)."""
        self._held = ""
