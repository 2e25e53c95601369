"""The server-sent events decoder the clients read streams with, for anyone else reading a
`text/event-stream` body: incremental, I/O-free, the WHATWG rules (a byte-order mark, CR, LF
or CRLF line ends, ids that carry over), and an event without the final blank line kept. An
event over `MAX_EVENT_CHARS` (1 MiB of text) raises `EventTooLargeError` (a ValueError), so a
hostile or broken server cannot grow memory without bound.

    from dynaspark_sdk.sse import SSEDecoder

    decoder = SSEDecoder()
    for chunk in chunks:
        for event in decoder.feed(chunk):
            print(event.event, event.data)
    for event in decoder.flush():  # the end of the body
        print(event.event, event.data)
"""

from __future__ import annotations

from dynaspark_sdk._sse import MAX_EVENT_CHARS, EventTooLargeError, ServerSentEvent, SSEDecoder

__all__ = ["MAX_EVENT_CHARS", "EventTooLargeError", "SSEDecoder", "ServerSentEvent"]
