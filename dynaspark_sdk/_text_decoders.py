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
"""

from __future__ import annotations

import codecs
import json
import time
from typing import Any, Protocol

from ._errors import APIStatusError, ResponseValidationError, StreamInterruptedError, excerpt
from ._service_errors import error_in_answer, read_service_error
from ._sse import EventTooLargeError, ServerSentEvent, SSEDecoder

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

_JSON_TYPE_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
# Enough of an HTML page for a useful excerpt; the rest is not kept.
_HTML_KEPT_BYTES = 4096
_JSON_STARTS = frozenset('{"')


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
    media_type, charset = _parse_content_type(content_type)
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


def _parse_content_type(content_type: str | None) -> tuple[str, str | None]:
    """(lower-case media type, charset parameter or None)."""
    if not content_type:
        return "", None
    media_type, _, parameters = content_type.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').strip() or None
    return media_type.strip().lower(), charset


class _ChunkAccumulator:
    """`text` without the quadratic cost of `self.text += chunk` over a long stream."""

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self.done = False
        self.model: str | None = None

    @property
    def text(self) -> str:
        """Every chunk returned so far, concatenated (joined when read, then kept joined)."""
        pieces = self._pieces
        if not pieces:
            return ""
        if len(pieces) > 1:
            pieces[:] = ["".join(pieces)]
        return pieces[0]


class _WholeBodyDecoder(_ChunkAccumulator):
    """A decoder that can say nothing before the whole body is there: `feed` keeps the bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._body: list[bytes] = []

    def feed(self, data: bytes) -> list[str]:
        """Keep the bytes; what they say is only known at `close()`."""
        if data:
            self._body.append(data)
        return []

    def _take_body(self) -> bytes:
        """The whole body, handed over once."""
        body = b"".join(self._body)
        self._body = []
        return body


class JSONAnswerDecoder(_WholeBodyDecoder):
    """`application/json`: the whole body is `{"response": "<text>"}`; parsed at `close()`."""

    def __init__(self, content_type: str = "application/json") -> None:
        super().__init__()
        self._content_type = content_type

    def close(self) -> list[str]:
        """Parse the body; return its "response" as one chunk (none when it is empty).

        Raises `ResponseValidationError` when the body is not JSON, not an object, has no string
        "response", or is the service's `{"error": ...}`.
        """
        body = self._take_body()
        answer = _answer_from_json(body, self._content_type)
        self.done = True
        if not answer:
            return []
        self._pieces.append(answer)
        return [answer]


def _answer_from_json(body: bytes, content_type: str) -> str:
    """The "response" string of a JSON answer body, or a ResponseValidationError."""

    def invalid(message: str) -> ResponseValidationError:
        return ResponseValidationError(message, content_type=content_type, body_excerpt=excerpt(body))

    if not body.strip():
        raise invalid('the answer is empty where a JSON object with a string "response" was expected')
    try:
        value = json.loads(body)
    except UnicodeDecodeError as exc:
        raise invalid(f"the answer is not valid JSON: it is not UTF-8 ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise invalid(f"the answer is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise invalid("the answer is not valid JSON: it is nested too deeply") from None
    if not isinstance(value, dict):
        raise invalid(
            f'the answer is JSON {_json_type_name(value)} where an object with a string "response" was expected'
        )
    response = value.get("response")
    if isinstance(response, str):
        return response
    error = value.get("error")
    if error is not None:
        raise _refusal(error, content_type, body)
    if "response" not in value:
        keys = ", ".join(repr(key) for key in list(value)[:10]) or "none"
        raise invalid(f'the answer\'s JSON object has no "response" (its keys: {keys})')
    raise invalid(f'the answer\'s "response" is {_json_type_name(response)} where a string was expected')


def _json_type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), "a number")


def _refusal(error: object, content_type: str, body: bytes) -> APIStatusError:
    # A text answer is decoded only when its status was not an error, so this is a 2xx (the
    # decoders are not told which one; 200 is by far the likeliest).
    headers = {"content-type": content_type} if content_type else {}
    return error_in_answer(read_service_error(error), status=200, headers=headers, body=body, now=time.time())


def _error_text(error: object) -> str:
    """The service's error text from an `"error"` value: a string, or an object with a message."""
    if isinstance(error, str):
        return error
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        message: str = error["message"]
        return message
    return json.dumps(error, ensure_ascii=False)


class EventStreamTextDecoder(_ChunkAccumulator):
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
            raise self._interrupted(_error_text(error))
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
            return _error_text(value["error"])
        if isinstance(value.get("message"), str):
            message: str = value["message"]
            return message
    if isinstance(value, str):
        return value
    return data


class PlainTextDecoder(_ChunkAccumulator):
    """`text/*` (but HTML): the body is the answer, returned as soon as its bytes arrive.

    Decoded as UTF-8 unless the Content-Type names another charset Python knows; bytes that do
    not decode become U+FFFD.
    """

    def __init__(self, charset: str | None = None) -> None:
        super().__init__()
        encoding = charset if charset and _is_text_encoding(charset) else "utf-8"
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")

    def feed(self, data: bytes) -> list[str]:
        """The text these bytes complete (a character split across pieces waits for the rest)."""
        text = self._decoder.decode(data)
        if not text:
            return []
        self._pieces.append(text)
        return [text]

    def close(self) -> list[str]:
        """The text of bytes held back at the end (an incomplete character becomes U+FFFD)."""
        text = self._decoder.decode(b"", True)
        if not text:
            return []
        self._pieces.append(text)
        return [text]


def _is_text_encoding(name: str) -> bool:
    # codecs also knows bytes-to-bytes codecs such as "base64"; bytes.decode refuses those (but
    # only when there is something to decode), and "idna" refuses the "replace" error handler.
    try:
        b"a".decode(name, "replace")
    except (LookupError, ValueError):
        return False
    return True


class HTMLPageDecoder(_ChunkAccumulator):
    """`text/html`: an HTML page came instead of the answer (Render shows one while waking up).

    Raises `ResponseValidationError`, with an excerpt of the page, as soon as 4 KiB of it have
    arrived, or at `close()` if the page is shorter: there is no point in reading a long page to
    its end, and the excerpt only needs its beginning.
    """

    def __init__(self, content_type: str = "text/html") -> None:
        super().__init__()
        self._content_type = content_type
        self._start = bytearray()

    def feed(self, data: bytes) -> list[str]:
        """Keep the page's beginning; raise once there is enough of it for the excerpt."""
        self._start += data[: _HTML_KEPT_BYTES - len(self._start)]
        if len(self._start) >= _HTML_KEPT_BYTES:
            raise self._error()
        return []

    def close(self) -> list[str]:
        """Raise: an HTML page is never the answer."""
        raise self._error()

    def _error(self) -> ResponseValidationError:
        return ResponseValidationError(
            "an HTML page arrived instead of the answer (Render's proxy shows one while the service"
            " wakes up or is down); try again in a minute",
            content_type=self._content_type,
            body_excerpt=excerpt(bytes(self._start)),
        )


class NonTextDecoder(_ChunkAccumulator):
    """A body that is not text (audio, image, octet stream, ...) where a text answer was expected.

    Raises `ResponseValidationError` naming the type at the first byte, or at `close()` if the
    body is empty: such a body may be large, and none of it would be of use.
    """

    def __init__(self, content_type: str) -> None:
        super().__init__()
        self._content_type = content_type

    def feed(self, data: bytes) -> list[str]:
        """Raise as soon as the body has a byte."""
        if data:
            raise self._error()
        return []

    def close(self) -> list[str]:
        """Raise: the answer is not text."""
        raise self._error()

    def _error(self) -> ResponseValidationError:
        media_type = _parse_content_type(self._content_type)[0]
        return ResponseValidationError(
            f"a text answer was expected, but the answer is {media_type!r}", content_type=self._content_type
        )


class UntypedAnswerDecoder(_WholeBodyDecoder):
    """No Content-Type: decided at `close()`, once the whole body is there.

    A JSON object with a string "response" gives that string (like `application/json`); a JSON
    object with an "error" and no "response" raises `ResponseValidationError` (an error must not
    pass for the answer); anything else is plain UTF-8 text.
    """

    def close(self) -> list[str]:
        """The answer: the JSON "response" if the body is such an object, else the body's text."""
        body = self._take_body()
        answer = self._json_answer(body)
        if answer is None:
            answer = body.decode("utf-8", "replace")
        else:
            self.done = True
        if not answer:
            return []
        self._pieces.append(answer)
        return [answer]

    def _json_answer(self, body: bytes) -> str | None:
        if body.lstrip()[:1] != b"{":
            return None
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(value, dict):
            return None
        response = value.get("response")
        if isinstance(response, str):
            return response
        if "response" not in value and value.get("error") is not None:
            raise _refusal(value["error"], "", body)
        return None
