"""Turning an answer's body into text chunks, according to its Content-Type. No I/O.

The sync and async clients feed the body's bytes to the decoder that `text_decoder_for` picks
and pass on the chunks it returns; `close()` at the end of the body returns the last chunks or
raises when the answer was not a complete text answer.

    >>> decoder = text_decoder_for("text/event-stream")
    >>> decoder.feed(b'data: {"choices":[{"delta":{"content":"Hel"}}]}\\n\\n')
    ['Hel']
    >>> decoder.feed(b'data: {"choices":[{"delta":{"content":"lo"}}]}\\n\\ndata: [DONE]\\n\\n')
    ['lo']
    >>> decoder.close(), decoder.text, decoder.done
    ([], 'Hello', True)

What each Content-Type gives:

- `application/json`, `text/json` and `*/*+json`: the whole body, at `close()`, must be a JSON
  object with a string "response"; that string is the one chunk (none when it is empty).
- `text/event-stream`: one chunk per event that carries text (see `EventStreamTextDecoder`).
- `text/html` and `application/xhtml+xml`: an HTML page instead of the answer (Render's proxy
  shows one while the service wakes up): `ResponseValidationError`.
- other `text/*`: the text, decoded as it arrives (UTF-8 unless a known charset is given).
- no Content-Type: decided at `close()`: a JSON object with a string "response" gives that
  string, one with only an "error" raises, anything else is taken as plain text.
- anything else (audio, images, octet streams, ...): `ResponseValidationError`, since text was
  expected.

Where each lives: `_json.py` JSON answers and answers without a Content-Type; `_events.py`
event streams; `_plain.py` other text; `_not_text.py` HTML pages and non-text answers, both
refused; `_base.py` what they share.
"""

from __future__ import annotations

from typing import Protocol

from ._base import parse_content_type
from ._events import EventStreamTextDecoder
from ._json import JSONAnswerDecoder, UntypedAnswerDecoder
from ._not_text import HTMLPageDecoder, NonTextDecoder
from ._plain import PlainTextDecoder

__all__ = [
    "EventStreamTextDecoder",
    "HTMLPageDecoder",
    "JSONAnswerDecoder",
    "NonTextDecoder",
    "PlainTextDecoder",
    "TextChunkDecoder",
    "UntypedAnswerDecoder",
    "text_decoder_for",
]


class TextChunkDecoder(Protocol):
    """Turns an answer's body into text chunks. Feed it the body's bytes, then call `close()`."""

    @property
    def text(self) -> str:
        """Every chunk returned so far, concatenated."""
        ...

    @property
    def done(self) -> bool:
        """The body said it is complete: `[DONE]` in an event stream, or a parsed JSON answer."""
        ...

    @property
    def model(self) -> str | None:
        """The model the answer says it came from, when it says so (None otherwise)."""
        ...

    def feed(self, data: bytes) -> list[str]:
        """Decode the next piece of the body; return the chunks it completed (never empty ones)."""
        ...

    def close(self) -> list[str]:
        """End of the body: return the last chunks, or raise if the answer is not whole text."""
        ...


def text_decoder_for(content_type: str | None) -> TextChunkDecoder:
    """The decoder for an answer with this Content-Type header value (None when it had none)."""
    media_type, charset = parse_content_type(content_type)
    if not media_type:
        return UntypedAnswerDecoder()
    if media_type in ("application/json", "text/json") or media_type.endswith("+json"):
        return JSONAnswerDecoder(content_type or "")
    if media_type == "text/event-stream":
        return EventStreamTextDecoder()
    if media_type in ("text/html", "application/xhtml+xml"):
        return HTMLPageDecoder(content_type or "")
    if media_type.startswith("text/"):
        return PlainTextDecoder(charset)
    return NonTextDecoder(content_type or "")
