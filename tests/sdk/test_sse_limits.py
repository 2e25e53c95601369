"""A hostile or broken server cannot grow a stream's memory without bound (issue 21, point 6):
one server-sent event over 1 MiB of text is a typed error, from the decoder itself and, over
loopback against the emulator, mid-stream for both clients (with what had arrived kept)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs
import pytest
from conftest import open_dual

from dynaspark_sdk import StreamInterruptedError
from dynaspark_sdk._sse import MAX_EVENT_CHARS, EventTooLargeError, SSEDecoder
from dynaspark_sdk.testing import Emulator, EmulatorServer
from dynaspark_sdk.testing._plan import ResponsePlan, SendBytes
from dynaspark_sdk.testing.faults import Answer, Fault

PIECE = 64 * 1024


def pieces(body: bytes, size: int = PIECE) -> Iterator[bytes]:
    return (body[i : i + size] for i in range(0, len(body), size))


def feed_all(decoder: SSEDecoder, body: bytes, size: int = PIECE, fed: list[int] | None = None) -> None:
    """Feed `body` in pieces, then flush; `fed` gets the size of each piece as it goes in."""
    for piece in pieces(body, size):
        if fed is not None:
            fed.append(len(piece))
        decoder.feed(piece)
    decoder.flush()


# --------------------------------------------------------------------------- the decoder


@pytest.mark.parametrize("size", [PIECE, 1024 * 1024 + 7, 3 * 1024 * 1024])
def test_an_event_of_exactly_the_limit_is_decoded(size: int) -> None:
    decoder = SSEDecoder()
    body = b"data: " + b"x" * MAX_EVENT_CHARS + b"\n\n"
    events = [event for piece in pieces(body, size) for event in decoder.feed(piece)] + decoder.flush()
    assert [len(event.data) for event in events] == [MAX_EVENT_CHARS]


@pytest.mark.parametrize("size", [PIECE, 3 * 1024 * 1024])
def test_one_line_over_the_limit_raises_before_the_rest_is_read(size: int) -> None:
    body = b"data: " + b"x" * (4 * MAX_EVENT_CHARS)  # no line end: a line still waiting for its end
    with pytest.raises(EventTooLargeError, match="1 MiB"):
        feed_all(SSEDecoder(), body, size)
    fed: list[int] = []
    with pytest.raises(EventTooLargeError):
        feed_all(SSEDecoder(), body, fed=fed)
    assert sum(fed) <= MAX_EVENT_CHARS + 2 * PIECE  # it stopped soon after the limit


def test_many_data_lines_of_one_event_count_together() -> None:
    line = b"data: " + b"y" * 1000 + b"\n"
    body = line * (MAX_EVENT_CHARS // 1000 + 2)  # no blank line: all one event
    with pytest.raises(EventTooLargeError):
        feed_all(SSEDecoder(), body)
    with pytest.raises(EventTooLargeError):
        feed_all(SSEDecoder(), body, size=7)  # pieces much shorter than a line


def test_an_event_over_the_limit_in_one_piece_raises() -> None:
    with pytest.raises(EventTooLargeError):
        SSEDecoder().feed(b"data: ok\n\ndata: " + b"z" * (MAX_EVENT_CHARS + 1) + b"\n\ndata: after\n\n")


def test_the_limit_is_per_event_not_per_stream() -> None:
    decoder = SSEDecoder()
    event = b"data: " + b"w" * (MAX_EVENT_CHARS // 4) + b"\n\n"
    events = [e for piece in pieces(event * 12, 1000) for e in decoder.feed(piece)] + decoder.flush()
    assert len(events) == 12


def test_the_error_says_the_limit() -> None:
    with pytest.raises(EventTooLargeError) as caught:
        SSEDecoder().feed(b"data: " + b"v" * (MAX_EVENT_CHARS + 1) + b"\n\n")
    assert str(caught.value) == "one server-sent event is over the limit of 1,048,576 characters (1 MiB)"


def test_the_newlines_between_data_lines_count() -> None:
    # Empty "data:" lines hold no characters, but the event they make is all newlines.
    body = b"data:\n" * (MAX_EVENT_CHARS + 2) + b"\n"
    with pytest.raises(EventTooLargeError):
        feed_all(SSEDecoder(), body, size=4096)
    exactly = b"data:\n" * (MAX_EVENT_CHARS + 1) + b"\n"
    decoder = SSEDecoder()
    events = [event for piece in pieces(exactly, 4096) for event in decoder.feed(piece)] + decoder.flush()
    assert [event.data for event in events] == ["\n" * MAX_EVENT_CHARS]


def test_what_is_pending_after_an_event_counts_toward_the_next_one() -> None:
    # One piece ends an event and starts a big one; the next piece adds to that one.
    decoder = SSEDecoder()
    assert [e.data for e in decoder.feed(b"data: a\n\ndata: " + b"x" * (MAX_EVENT_CHARS - 2) + b"\n")] == ["a"]
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: yz\n\n")  # "x..." + "\n" + "yz": 1 character over
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\ndata: " + b"x" * (MAX_EVENT_CHARS - 3) + b"\n")
    assert [len(e.data) for e in decoder.feed(b"data: yz\n\n")] == [MAX_EVENT_CHARS]


def test_a_line_under_way_counts_with_the_event_s_data() -> None:
    with pytest.raises(EventTooLargeError):
        SSEDecoder().feed(b"data: " + b"x" * (MAX_EVENT_CHARS - 4) + b"\ndata: yz")
    decoder = SSEDecoder()
    assert decoder.feed(b"data: " + b"x" * (MAX_EVENT_CHARS - 4) + b"\n") == []
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: yz")  # a piece with no line end
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") != []
    # After an event, nothing is pending: a line of exactly the limit may follow.
    assert decoder.feed(b"data: " + b"x" * (MAX_EVENT_CHARS - 6)) == []
    assert [len(e.data) for e in decoder.feed(b"\n\n")] == [MAX_EVENT_CHARS - 6]
    decoder.feed(b"data: a\n\n")
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: " + b"x" * (MAX_EVENT_CHARS - 5))
    decoder = SSEDecoder()
    assert decoder.feed(b": a comment, no data\nevent: e\n") == []
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: " + b"x" * (MAX_EVENT_CHARS - 5))


def test_data_and_a_line_under_way_are_counted_to_the_character() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: " + b"x" * MAX_EVENT_CHARS + b"\n") == []
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"d")
    # The same after an event was dispatched in the same piece.
    decoder = SSEDecoder()
    assert [e.data for e in decoder.feed(b"data: a\n\ndata: " + b"x" * (MAX_EVENT_CHARS - 1) + b"\n")] == ["a"]
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"da")
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\ndata: " + b"x" * (MAX_EVENT_CHARS - 2) + b"\n")
    assert decoder.feed(b"da") == []
    assert [len(e.data) for e in decoder.feed(b"ta:\n\n")] == [MAX_EVENT_CHARS - 1]


# --------------------------------------------------------------------------- both clients, over loopback


@attrs.frozen
class HugeEvent(Fault):
    """The real stream's first `after_events` events, then one event 4 MiB long."""

    after_events: int

    def apply(self, answer: Answer, service_headers: Sequence[tuple[str, str]]) -> ResponsePlan:
        plan = answer()
        kept = [step for step in plan.body if isinstance(step, SendBytes)][: self.after_events]
        huge = [SendBytes(b"data: "), *[SendBytes(b"x" * PIECE)] * (4 * MAX_EVENT_CHARS // PIECE)]
        return attrs.evolve(plan, body=(*kept, *huge, SendBytes(b"\n\ndata: [DONE]\n\n")))


@pytest.fixture
def emulator(upstream: EmulatorServer) -> Iterator[Emulator]:
    emulator = upstream.emulator
    emulator.clear_faults()
    yield emulator
    emulator.clear_faults()


@pytest.mark.anyio
@pytest.mark.usefixtures("loopback_only")
@pytest.mark.parametrize("after_events", [2, 0], ids=["mid-stream", "first-event"])
async def test_both_clients_break_off_a_stream_with_a_huge_event(
    client_kind: str, upstream: EmulatorServer, emulator: Emulator, after_events: int
) -> None:
    emulator.inject(HugeEvent(after_events), path="/api/generate_response")
    received: list[str] = []
    async with open_dual(client_kind, base_url=upstream.url, max_retries=0) as dual:
        with pytest.raises(StreamInterruptedError, match="1 MiB") as caught:
            await dual.read_into(dual.client.stream_text("w1 w2 w3"), received)
        # The client is fine afterwards.
        assert await dual.collect(dual.client.stream_text("again")) == ["[openai] ", "You ", "said: ", "again"]
    assert received == ["[openai] ", "You "][:after_events]
    assert caught.value.partial_text == "".join(received)
