"""Event streams: one text chunk per event that carries text."""

from __future__ import annotations

import json
from typing import Any

from dynaspark_sdk._errors import StreamInterruptedError
from dynaspark_sdk._sse import EventTooLargeError, ServerSentEvent, SSEDecoder

from ._base import ChunkAccumulator, error_text

_JSON_STARTS = frozenset('{"')


class EventStreamTextDecoder(ChunkAccumulator):
    """`text/event-stream`: one chunk per event that carries text.

    Per event's data:
    - `[DONE]`: the stream is complete (`done`); everything after it is ignored;
    - a JSON object: an OpenAI chunk (`choices[0].delta.content`, or `choices[0].text`, or
      `choices[0].message.content`; a null or missing content gives no chunk; choices other
      than index 0 are skipped) or `{"response": "..."}`; `{"error": ...}` raises
      `StreamInterruptedError`;
    - a JSON string: that string;
    - anything else (not JSON, or JSON of another shape): the data itself, as plain text.
    An event of type `error` raises `StreamInterruptedError` with the error's text.

    At `close()`, a stream that sent OpenAI or "response" objects must have ended with
    `[DONE]`, and an empty stream (no event at all) is refused too: both raise
    `StreamInterruptedError` rather than give a silently short answer. A stream of plain-text
    payloads may end without `[DONE]`.

    When `feed()` raises, `partial_text` holds all the text decoded so far, including chunks of
    the same `feed()` call that had not been returned yet.
    """

    def __init__(self) -> None:
        super().__init__()
        self._events = SSEDecoder()
        self._saw_event = False
        # An OpenAI or "response" object arrived: such a stream must end with [DONE].
        self._saw_structured = False

    def feed(self, data: bytes) -> list[str]:
        """Decode the next piece of the stream; return the text of the events it completed."""
        if self.done:
            return []
        try:
            events = self._events.feed(data)
        except EventTooLargeError as too_large:
            raise self._broken_off(too_large) from None
        return self._chunks_of(events)

    def close(self) -> list[str]:
        """End of the stream: return the text of a last event, or raise if the stream broke off."""
        try:
            events = [] if self.done else self._events.flush()
        except EventTooLargeError as too_large:
            raise self._broken_off(too_large) from None
        chunks = self._chunks_of(events)
        if not self.done:
            if self._saw_structured:
                raise StreamInterruptedError("the stream ended before [DONE]", partial_text=self.text)
            if not self._saw_event:
                raise StreamInterruptedError("the stream ended before any event arrived", partial_text=self.text)
        return chunks

    def _chunks_of(self, events: list[ServerSentEvent]) -> list[str]:
        # Runs once per event of a possibly huge stream: the common shapes are tested first.
        chunks: list[str] = []
        if not events:
            return chunks
        pieces = self._pieces
        self._saw_event = True
        for event in events:
            data = event.data
            if event.event == "error":
                raise self._interrupted(_error_event_text(data))
            if data == "[DONE]":
                self.done = True
                break
            chunk = data
            start = data[:1]
            if start.isspace():
                start = data.lstrip()[:1]
            if start in _JSON_STARTS:
                try:
                    value = json.loads(data)
                except (ValueError, RecursionError):
                    value = None
                if isinstance(value, dict):
                    recognised = self._text_of_object(value)
                    if recognised is not None:
                        chunk = recognised
                elif isinstance(value, str):
                    chunk = value
            elif start == "[" and data.strip() == "[DONE]":
                self.done = True
                break
            if chunk:
                chunks.append(chunk)
                pieces.append(chunk)
        return chunks

    def _text_of_object(self, value: dict[str, Any]) -> str | None:
        """The text of a JSON object event ("" for none), or None when it is not a known shape."""
        error = value.get("error")
        if error:
            raise self._interrupted(error_text(error))
        model = value.get("model")
        if isinstance(model, str) and model:
            self.model = model  # OpenAI chunks name the model that answered
        choices = value.get("choices")
        if isinstance(choices, list):
            text = _openai_choice_text(choices)
            if text is not None:
                self._saw_structured = True
            return text
        response = value.get("response")
        if isinstance(response, str):
            self._saw_structured = True
            return response
        return None

    def _broken_off(self, too_large: EventTooLargeError) -> StreamInterruptedError:
        """A stream whose next event would hold more text than the SDK keeps for one event."""
        return StreamInterruptedError(f"the stream was broken off: {too_large}", partial_text=self.text)

    def _interrupted(self, error_text: str) -> StreamInterruptedError:
        return StreamInterruptedError(
            f"the service reported an error in the stream: {error_text}", partial_text=self.text
        )


def _openai_choice_text(choices: list[Any]) -> str | None:
    """The text an OpenAI chunk's choices carry ("" for none), or None when they are not that shape."""
    if not choices:
        # OpenAI's last chunk (usage only) has no choices.
        return ""
    choice = choices[0]
    if not isinstance(choice, dict):
        return None
    if choice.get("index", 0) != 0:
        # Only one answer is asked for; another choice's text is not part of it.
        return ""
    delta = choice.get("delta")
    if isinstance(delta, dict):
        content = delta.get("content")
        if content is not None:
            return content if isinstance(content, str) else None
    text = choice.get("text")
    if text is not None:
        return text if isinstance(text, str) else None
    message = choice.get("message")
    if isinstance(message, dict):
        content = message.get("content")
        if content is not None:
            return content if isinstance(content, str) else None
    return ""


def _error_event_text(data: str) -> str:
    """The error text of an `event: error`: its JSON "error"/"message", or its data as it is."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return data or "no details given"
    if isinstance(value, dict):
        if value.get("error") is not None:
            return error_text(value["error"])
        if isinstance(value.get("message"), str):
            message: str = value["message"]
            return message
    if isinstance(value, str):
        return value
    return data
