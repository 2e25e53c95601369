"""An incremental, I/O-free decoder of `text/event-stream` bodies.

It follows the WHATWG HTML "server-sent events" parsing rules, with one deliberate deviation:
`SSEDecoder.flush()` (end of input) dispatches a pending event that has data even when the
stream did not end with the blank line that normally dispatches it. The standard discards
such an event, but servers often forget the final blank line, and dropping the last piece
of an answer silently is worse than keeping it.

A hostile or broken server cannot grow memory without bound inside a stream: an event (its
data, and a line still waiting for its end) over `MAX_EVENT_CHARS` (1 MiB of text, as httpx2's
`EventSource` bounds one) raises `EventTooLargeError`, mid-stream too.

Bytes go in, `ServerSentEvent`s come out; the sync and async clients drive it the same way:

    >>> decoder = SSEDecoder()
    >>> decoder.feed(b"data: hel")
    []
    >>> decoder.feed(b"lo\\r\\n\\r\\n")
    [ServerSentEvent(data='hello', event='message', id=None, retry=None)]
    >>> decoder.flush()
    []
"""

from __future__ import annotations

import codecs

import attrs

__all__ = ["MAX_EVENT_CHARS", "EventTooLargeError", "SSEDecoder", "ServerSentEvent"]

#: The most text one event may hold (its data, or a line not yet ended): 1 MiB.
MAX_EVENT_CHARS = 1024 * 1024


class EventTooLargeError(ValueError):
    """One event of the stream is over `MAX_EVENT_CHARS`: the stream cannot be read further."""

    def __init__(self) -> None:
        super().__init__(f"one server-sent event is over the limit of {MAX_EVENT_CHARS:,} characters (1 MiB)")


@attrs.frozen
class ServerSentEvent:
    """One dispatched event.

    `data` is the event's `data:` lines joined with "\\n"; `event` its type ("message" unless the
    stream named one); `id` the stream's last event id when the event was dispatched (ids carry
    over from event to event, as the standard says; None until the stream sent one); `retry` the
    reconnection time in milliseconds that the event's own block set, if any.
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


# The decoder makes one event per few dozen bytes, and attrs' frozen __init__ (one
# object.__setattr__ call per field) costs about twice as much as the rest of the work for a
# short event. Filling the slots directly is equivalent here (no validators or converters).
_new_instance = object.__new__
_set_data = vars(ServerSentEvent)["data"].__set__
_set_event = vars(ServerSentEvent)["event"].__set__
_set_id = vars(ServerSentEvent)["id"].__set__
_set_retry = vars(ServerSentEvent)["retry"].__set__


def _make_event(data: str, event: str, id: str | None, retry: int | None) -> ServerSentEvent:
    made: ServerSentEvent = _new_instance(ServerSentEvent)
    _set_data(made, data)
    _set_event(made, event)
    _set_id(made, id)
    _set_retry(made, retry)
    return made


class SSEDecoder:
    """Incremental decoder of a text/event-stream body (WHATWG HTML "server-sent events" rules).

    Feed it the body's bytes as they arrive, in pieces of any size, and call `flush()` at the end
    of the body. Lines may end in CR, LF or CRLF (a CRLF split across two pieces is still one line
    end); UTF-8 sequences may be split across pieces; bytes that are not UTF-8 become U+FFFD; a
    leading byte order mark is skipped.
    """

    __slots__ = (
        "_after_cr",
        "_block_retry",
        "_data",
        "_data_chars",
        "_event_type",
        "_last_event_id",
        "_partial_chars",
        "_partial_line",
        "_reconnection_time",
        "_utf8",
    )

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # utf-8-sig drops one leading BOM, even when its three bytes arrive in separate pieces.
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")("replace")
        # The previous piece ended in CR: an LF at the start of the next one ends no new line.
        self._after_cr = False
        # Text after the last line end, waiting for the rest of its line.
        self._partial_line: list[str] = []
        self._partial_chars = 0
        self._data: list[str] = []
        # The length of `_data` joined (the event under way), kept up to date by `_process_lines`.
        self._data_chars = 0
        self._event_type = ""
        self._block_retry: int | None = None
        self._last_event_id: str | None = None
        self._reconnection_time: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The last `id` the stream set (the value a reconnection sends as Last-Event-ID)."""
        return self._last_event_id

    @property
    def reconnection_time(self) -> int | None:
        """The last `retry` value (milliseconds) the stream set, whether or not an event followed."""
        return self._reconnection_time

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode the next piece of the body; return the events it completed, in order.

        Raises `EventTooLargeError` when an event grows past `MAX_EVENT_CHARS`."""
        text = self._utf8.decode(chunk)
        if not text:
            return []
        return self._feed_text(text)

    def flush(self) -> list[ServerSentEvent]:
        """End of input: return the events still pending and reset the decoder for a new stream.

        A last line without a line end still counts, and a pending event that has data is
        dispatched even without the final blank line (a deviation from the standard, which
        would discard it: servers often forget that blank line).
        """
        events: list[ServerSentEvent] = []
        text = self._utf8.decode(b"", True)
        if text:
            events = self._feed_text(text)
        last_line = "".join(self._partial_line)
        events += self._process_lines([last_line, ""] if last_line else [""])
        self._reset()
        return events

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if self._after_cr:
            self._after_cr = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            self._after_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        end = text.rfind("\n")
        if end < 0:
            self._partial_line.append(text)
            self._partial_chars += len(text)
            if self._partial_chars + self._data_chars > MAX_EVENT_CHARS:
                raise EventTooLargeError()
            return []
        if self._partial_line:
            self._partial_line.append(text[:end])
            complete = "".join(self._partial_line)
        else:
            complete = text[:end]
        rest = text[end + 1 :]
        self._partial_line = [rest] if rest else []
        self._partial_chars = len(rest)
        pending_before = self._data_chars
        events = self._process_blocks(complete)
        # An event dispatched here holds at most these characters: only a long piece of text
        # needs its events measured one by one.
        if len(complete) + pending_before > MAX_EVENT_CHARS and any(
            len(event.data) > MAX_EVENT_CHARS for event in events
        ):
            raise EventTooLargeError()
        if self._partial_chars + self._data_chars > MAX_EVENT_CHARS:
            raise EventTooLargeError()
        return events

    def _process_blocks(self, complete: str) -> list[ServerSentEvent]:
        # `complete` is whole lines joined by "\n" (CR already gone); str.split, not splitlines(),
        # because only CR, LF and CRLF end an SSE line. Most streams are one-line blocks,
        # "data: ...\n\n": those are turned into events a block at a time (see
        # _process_data_blocks); other streams go line by line.
        block_end = complete.find("\n\n")
        if block_end >= 0:
            second_block = block_end + 2
            line_end = complete.find("\n", second_block)
            if complete.startswith("data:", second_block) and (line_end < 0 or complete.startswith("\n\n", line_end)):
                return self._process_data_blocks(complete.split("\n\n"))
        return self._process_lines(complete.split("\n"))

    def _process_data_blocks(self, blocks: list[str]) -> list[ServerSentEvent]:
        # There is a blank line (a dispatch) after every block but the last, so every block after
        # the first starts with fresh event state: a one-line "data:" block is an event of type
        # "message" with no retry. Other blocks are gathered and go line by line, in order.
        events: list[ServerSentEvent] = []
        last = len(blocks) - 1
        pending = blocks[0].split("\n")
        pending.append("")
        for index in range(1, last):
            block = blocks[index]
            if block.startswith("data:") and "\n" not in block:
                if pending:
                    events += self._process_lines(pending)
                    pending = []
                events.append(
                    _make_event(block[6:] if block[5:6] == " " else block[5:], "message", self._last_event_id, None)
                )
            else:
                pending += block.split("\n")
                pending.append("")
        pending += blocks[last].split("\n")
        events += self._process_lines(pending)
        return events

    def _process_lines(self, lines: list[str]) -> list[ServerSentEvent]:
        # The hot loop of every stream: state lives in locals while it runs, and the common
        # "data:" line is tested first.
        events: list[ServerSentEvent] = []
        data = self._data
        known = len(data)
        event_type = self._event_type
        block_retry = self._block_retry
        for line in lines:
            if line.startswith("data:"):
                data.append(line[6:] if line[5:6] == " " else line[5:])
            elif not line:
                if data:
                    events.append(
                        _make_event(
                            data[0] if len(data) == 1 else "\n".join(data),
                            event_type or "message",
                            self._last_event_id,
                            block_retry,
                        )
                    )
                    data = []
                event_type = ""
                block_retry = None
            elif line[0] != ":":
                field, colon, value = line.partition(":")
                if colon and value[:1] == " ":
                    value = value[1:]
                if field == "event":
                    event_type = value
                elif field == "data":
                    data.append(value)
                elif field == "id":
                    if "\0" not in value:
                        self._last_event_id = value
                elif field == "retry" and value.isascii() and value.isdigit():
                    block_retry = self._reconnection_time = int(value)
                # Any other field is ignored, as the standard says.
        # `_data_chars` is the length of the event's data as it will be joined: the "\n" between
        # two data lines counts too (else a flood of empty "data:" lines would pass the limit).
        if data is self._data:  # no event dispatched: the same event, grown by data[known:]
            if len(data) > known:
                self._data_chars += sum(map(len, data[known:])) + len(data) - max(known, 1)
        else:
            self._data = data
            self._data_chars = sum(map(len, data)) + len(data) - 1 if data else 0
        self._event_type = event_type
        self._block_retry = block_retry
        return events
