"""A structured call's turns as the flows the shells drive (see `_flow`). No I/O.

A stream with tools or a schema hands over plain text as it comes and holds a call or a JSON
answer until it is complete (`ReplyGate`); a wrong answer starts a repair turn, streamed and
held the same way, and the stream goes on with it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from ._flow import Emit
from ._plans import RequestPlan
from ._structured import Final, ReplyGate, StructuredRequest, StructuredTurns

__all__ = ["StructuredStream", "structured_answer", "structured_stream_flow"]

T = TypeVar("T")


class StructuredStream:
    """A streamed structured call: its turns, what its stream holds back, and (once done) its
    `final` answer. `plan_for(messages)` plans the next turn's request."""

    def __init__(
        self,
        request: StructuredRequest,
        messages: Sequence[Mapping[str, Any]],
        plan_for: Callable[[list[dict[str, Any]]], RequestPlan],
    ) -> None:
        self.turns = StructuredTurns(request, messages)
        self.gate = ReplyGate(request)
        self.plan_for = plan_for
        self.final: Final | None = None


def structured_stream_flow(
    first: RequestPlan,
    structured: StructuredStream,
    start: Callable[[RequestPlan], Generator[Any, Any, None]],
) -> Generator[Any, Any, None]:
    """The turns of a streamed structured call, each one `start(plan)` (a stream flow), its
    text passed through `structured.gate`; ends with `structured.final` set, or raises
    `StructuredOutputError` when no repair is left."""
    plan = first
    while True:
        parts: list[str] = []
        flow = start(plan)
        outcome: object = None
        try:
            while True:
                try:
                    action = flow.send(outcome)
                except StopIteration:
                    break
                if isinstance(action, Emit):
                    parts.append(action.text)
                    piece = structured.gate.feed(action.text)
                    outcome = (yield Emit(piece)) if piece else None
                else:
                    outcome = yield action
        finally:
            flow.close()
        final = structured.turns.take("".join(parts))
        if final is not None:
            structured.final = final
            rest = structured.gate.finish(final)
            if rest:
                yield Emit(rest)
            return
        structured.gate.restart()
        plan = structured.plan_for(structured.turns.messages)


def structured_answer(answer: T, final: Final) -> T:
    """A result (`ChatResponse`, `TextResponse`) with the calls and the parsed value of `final`
    (and, for a JSON answer, the JSON alone as its text)."""
    return attrs.evolve(answer, text=final.text, tool_calls=final.tool_calls, parsed=final.parsed)  # type: ignore[misc]
