"""Scripted answers: the emulator playing a model. No I/O but reading an answers file.

A script is, per endpoint ("chat", "text", or both), a queue of texts handed out one per
request (then the echo answers again), or a function from the prompt and the model to the
text. The emulator asks the script only once a request has passed its faults, rate limit and
checks, so a refused request takes no answer from the queue.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

__all__ = ["ENDPOINTS", "AnswerScript", "Responder", "load_answers"]

ENDPOINTS = ("chat", "text")
Responder = Callable[[str, str], str]
"""A function from (the prompt the endpoint received, the model) to the answer's text."""


class AnswerScript:
    """The scripted answers of one endpoint: a queue of texts, or a responder function."""

    def __init__(self, answers: Iterable[str] | Responder) -> None:
        self._responder: Responder | None = None
        self._queue: collections.deque[str] = collections.deque()
        if callable(answers):
            self._responder = answers
            return
        if isinstance(answers, str | bytes):
            raise TypeError("answers must be a list of texts or a function, not one string")
        for answer in answers:
            if not isinstance(answer, str):
                raise TypeError(f"each scripted answer must be a string, not {type(answer).__name__}")
            self._queue.append(answer)

    def next_answer(self, prompt: str, model: str) -> str | None:
        """The text for this request, or None (the script is used up: the echo answers)."""
        if self._responder is not None:
            text = self._responder(prompt, model)
            if not isinstance(text, str):
                raise TypeError(f"the responder must return a string, not {type(text).__name__}")
            return text
        return self._queue.popleft() if self._queue else None

    @property
    def remaining(self) -> int | None:
        """How many queued answers are left (None for a responder)."""
        return None if self._responder is not None else len(self._queue)


def load_answers(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """An answers file for `serve-fake --answers`: JSON, either a list of texts (one queue both
    endpoints share) or `{"chat": [...], "text": [...]}`. Returns {endpoint or "any": texts}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the answers file {os.fspath(path)!r}: {error}") from None
    if isinstance(data, list):
        data = {"any": data}
    if not isinstance(data, Mapping) or not data:
        raise ValueError('the answers file must hold a list of texts or {"chat": [...], "text": [...]}')
    loaded: dict[str, list[str]] = {}
    for key, texts in data.items():
        if key not in (*ENDPOINTS, "any"):
            raise ValueError(f"unknown endpoint {key!r} in the answers file (use chat, text, or a plain list)")
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise ValueError(f"the answers for {key!r} must be a list of strings")
        loaded[key] = texts
    return loaded
