"""A conversation's history, kept client-side (the service keeps none). No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import InvalidRequestError
from ._folding import fold_history, normalize_messages

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

    def outgoing(self, text: str) -> tuple[list[dict[str, Any]], int]:
        """The messages to send with a new user `text`, and how many old ones were left out."""
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

    def record(self, text: str, reply: str, dropped: int) -> None:
        """Add a completed exchange."""
        self.messages.append({"role": "user", "content": text})
        self.messages.append({"role": "assistant", "content": reply})
        self.last_dropped = dropped
