"""A conversation's history, kept client-side (the service keeps none). No I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import InvalidRequestError
from ._folding import fold_history, normalize_messages
from ._tools import ToolCall

__all__ = ["History"]


class History:
    """The messages of one conversation, and the rule for what of them is sent.

    `messages` is a plain list of {"role", "content"} dicts (JSON-serialisable; pass it back
    as `messages=` to restore). With `max_prompt_chars`, the oldest turns are left out of
    what is sent until the folded prompt fits; the system prompt and the newest user message
    are never left out. `last_dropped` says how many messages the last send left out.
    """

    def __init__(
        self,
        *,
        system: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        max_prompt_chars: int | None = None,
    ) -> None:
        if system is not None and (not isinstance(system, str) or not system.strip()):
            raise InvalidRequestError("system must be a non-empty string")
        if max_prompt_chars is not None and (
            isinstance(max_prompt_chars, bool) or not isinstance(max_prompt_chars, int) or max_prompt_chars < 1
        ):
            raise InvalidRequestError(f"max_prompt_chars must be a positive whole number, not {max_prompt_chars!r}")
        restored = normalize_messages(list(messages)) if messages else []
        if system is not None:
            if restored and restored[0]["role"] == "system":
                raise InvalidRequestError("give the system prompt either as system= or in messages, not both")
            restored.insert(0, {"role": "system", "content": system})
        self.messages: list[dict[str, Any]] = restored
        self.max_prompt_chars = max_prompt_chars
        self.last_dropped = 0

    def outgoing(self, text: str | None) -> tuple[list[dict[str, Any]], int]:
        """The messages to send with a new user `text`, and how many old ones were left out.
        `text` None sends the history as it is, which must end with tool results."""
        if text is None:
            if not self.messages or self.messages[-1]["role"] != "tool":
                raise InvalidRequestError("give the next message (only tool results can be sent without one)")
            candidate = list(self.messages)
        else:
            if not isinstance(text, str):
                raise InvalidRequestError(f"the message must be a string, not {type(text).__name__}")
            if not text.strip():
                raise InvalidRequestError("the message is empty")
            candidate = [*self.messages, {"role": "user", "content": text}]
        if self.max_prompt_chars is None:
            return candidate, 0
        head = candidate[:1] if candidate[0]["role"] == "system" else []
        body = candidate[len(head) :]
        dropped = 0
        while len(fold_history(head + body)) > self.max_prompt_chars and len(body) > 1:
            body = body[1:]
            dropped += 1
        # A lone assistant turn at the front answers nothing that is still there.
        while len(body) > 1 and body[0]["role"] == "assistant":
            body = body[1:]
            dropped += 1
        kept = head + body
        size = len(fold_history(kept))
        if size > self.max_prompt_chars:
            raise InvalidRequestError(
                f"the newest message (with the system prompt) folds to {size} characters, over "
                f"max_prompt_chars={self.max_prompt_chars}; nothing older is left to leave out"
            )
        return kept, dropped

    def record(self, text: str | None, reply: str, dropped: int, tool_calls: Sequence[ToolCall] = ()) -> None:
        """Add a completed exchange; an answer that calls tools is kept as OpenAI keeps it
        (content null, the calls in `tool_calls`)."""
        if text is not None:
            self.messages.append({"role": "user", "content": text})
        if tool_calls:
            calls = [call.to_openai() for call in tool_calls]
            self.messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        else:
            self.messages.append({"role": "assistant", "content": reply})
        self.last_dropped = dropped

    def add_tool_result(self, call: str | Mapping[str, Any], result: object = None) -> None:
        """Add the result of a call the model made: `(call_id, result)` (a string, or anything
        JSON can write), or an OpenAI `{"role": "tool", "tool_call_id", "content"}` message."""
        if isinstance(call, Mapping):
            if result is not None:
                raise InvalidRequestError("give a tool message alone, or a call id and a result")
            message = normalize_messages([call])[0]
            if message["role"] != "tool":
                raise InvalidRequestError('a tool result message has role "tool"')
            call_id, content = message["tool_call_id"], message["content"]
        else:
            call_id = call
            try:
                content = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
            except (TypeError, ValueError) as error:
                raise InvalidRequestError(f"the result of {call_id!r} cannot be written as JSON: {error}") from None
        waiting = self._unanswered_calls()
        if call_id not in waiting:
            listed = ", ".join(waiting) or "none"
            raise InvalidRequestError(f"no call {call_id!r} is waiting for its result (waiting: {listed})")
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})

    def _unanswered_calls(self) -> list[str]:
        """The ids of the last answer's calls that have no result yet."""
        for index in range(len(self.messages) - 1, -1, -1):
            message = self.messages[index]
            if message["role"] == "assistant" and message.get("tool_calls"):
                answered = {m.get("tool_call_id") for m in self.messages[index + 1 :]}
                return [call["id"] for call in message["tool_calls"] if call["id"] not in answered]
            if message["role"] != "tool":
                return []
        return []
