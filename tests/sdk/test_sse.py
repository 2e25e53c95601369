"""SSEDecoder: the WHATWG event-stream rules, fed whole and in arbitrary pieces."""

from __future__ import annotations

import itertools
import re

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynaspark_sdk._sse import ServerSentEvent, SSEDecoder


def decode(*pieces: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for piece in pieces:
        events += decoder.feed(piece)
    return events + decoder.flush()


def decode_bytewise(body: bytes) -> list[ServerSentEvent]:
    return decode(*(body[i : i + 1] for i in range(len(body))))


def reference_decode(body: bytes) -> list[ServerSentEvent]:
    """The standard's algorithm written as plainly as possible, plus flush()'s documented deviation."""
    text = body.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    *lines, last = re.split(r"\r\n|\r|\n", text)
    if last:
        lines.append(last)
    lines.append("")
    events: list[ServerSentEvent] = []
    data: list[str] = []
    event_type = ""
    last_id: str | None = None
    retry: int | None = None
    for line in lines:
        if line == "":
            if data:
                events.append(ServerSentEvent("\n".join(data), event_type or "message", last_id, retry))
            data, event_type, retry = [], "", None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "data":
            data.append(value)
        elif field == "event":
            event_type = value
        elif field == "id" and "\0" not in value:
            last_id = value
        elif field == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value)
    return events


# --- one event, fields -----------------------------------------------------------------------


def test_one_event_with_defaults() -> None:
    assert decode(b"data: hello\n\n") == [ServerSentEvent(data="hello", event="message", id=None, retry=None)]


def test_event_is_frozen() -> None:
    event = decode(b"data: x\n\n")[0]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.data = "y"  # type: ignore[misc]


def test_several_data_lines_are_joined_with_newline() -> None:
    assert decode(b"data: one\ndata: two\ndata:\ndata: four\n\n") == [ServerSentEvent("one\ntwo\n\nfour")]


@pytest.mark.parametrize(
    ("line", "data"),
    [
        (b"data:x", "x"),
        (b"data: x", "x"),
        (b"data:  x", " x"),
        (b"data: x ", "x "),
        (b"data:", ""),
        (b"data", ""),
        (b"data: a:b: c", "a:b: c"),
    ],
)
def test_one_optional_space_after_the_colon_is_stripped(line: bytes, data: str) -> None:
    assert decode(line + b"\n\n") == [ServerSentEvent(data)]


def test_empty_data_line_is_still_an_event() -> None:
    assert decode(b"data\n\ndata\ndata\n\n") == [ServerSentEvent(""), ServerSentEvent("\n")]


def test_event_type_applies_to_its_own_block_only() -> None:
    assert decode(b"event: delta\ndata: a\n\ndata: b\n\nevent:\ndata: c\n\n") == [
        ServerSentEvent("a", event="delta"),
        ServerSentEvent("b"),
        ServerSentEvent("c"),
    ]


def test_event_type_of_a_block_without_data_does_not_leak_into_the_next() -> None:
    assert decode(b"event: ping\n\ndata: a\n\n") == [ServerSentEvent("a")]


def test_block_without_data_is_not_dispatched() -> None:
    assert decode(b"event: ping\n\nid: 7\n\n: comment\n\nretry: 10\n\nfoo: bar\n\n\n\n") == []


def test_comments_are_ignored() -> None:
    assert decode(b": hello\ndata: a\n:data: b\n:\ndata: c\n\n") == [ServerSentEvent("a\nc")]


def test_unknown_fields_are_ignored() -> None:
    assert decode(b"foo: 1\nDATA: x\ndata : y\ndata: z\nEvent: e\n\n") == [ServerSentEvent("z")]


def test_id_carries_over_to_later_events() -> None:
    events = decode(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid\ndata: d\n\n")
    assert [(event.data, event.id) for event in events] == [("a", "1"), ("b", "1"), ("c", "2"), ("d", "")]


def test_id_with_nul_is_ignored() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [event.id for event in events] == ["1", "1"]
    assert decoder.last_event_id == "1"


def test_retry_digits_only() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(
        b"retry: 1500\ndata: a\n\n"
        b"data: b\n\n"
        b"retry: 15a\ndata: c\n\n"
        b"retry: -1\ndata: d\n\n"
        b"retry: \xef\xbc\x93\ndata: e\n\n"  # a full-width digit: str.isdigit() would take it
        b"retry:\ndata: f\n\n"
        b"retry: 20\n\n"
    )
    assert [(event.data, event.retry) for event in events] == [
        ("a", 1500),
        ("b", None),
        ("c", None),
        ("d", None),
        ("e", None),
        ("f", None),
    ]
    assert decoder.reconnection_time == 20


# --- line ends ---------------------------------------------------------------------------------


@pytest.mark.parametrize("line_end", [b"\n", b"\r", b"\r\n"])
def test_every_line_end(line_end: bytes) -> None:
    body = line_end.join([b"event: e", b"data: a", b"data: b", b"", b"data: c", b"", b""])
    expected = [ServerSentEvent("a\nb", event="e"), ServerSentEvent("c")]
    assert decode(body) == expected
    assert decode_bytewise(body) == expected


def test_mixed_line_ends() -> None:
    assert decode(b"data: a\rdata: b\r\ndata: c\n\r\n\rdata: d\r\r") == [
        ServerSentEvent("a\nb\nc"),
        ServerSentEvent("d"),
    ]


def test_crlf_split_across_pieces_is_one_line_end() -> None:
    # Were the CR and the LF taken as two line ends, the empty line between them would
    # dispatch "a" on its own.
    assert decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [ServerSentEvent("a\nb")]


def test_cr_at_the_end_of_a_piece_followed_by_text() -> None:
    assert decode(b"data: a\r", b"data: b\r", b"\r") == [ServerSentEvent("a\nb")]


def test_cr_piece_then_lf_only_piece() -> None:
    assert decode(b"data: a\r", b"\n", b"\r", b"\n") == [ServerSentEvent("a")]


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_only_cr_and_lf_end_lines(separator: str) -> None:
    body = f"data: a{separator}b\n\n".encode()
    assert decode(body) == [ServerSentEvent(f"a{separator}b")]


# --- text decoding ---------------------------------------------------------------------------


def test_multibyte_utf8_split_across_pieces() -> None:
    body = "data: héllo → 世界 🎉\n\n".encode()
    assert decode_bytewise(body) == [ServerSentEvent("héllo → 世界 🎉")]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert decode(b"data: a\xffb\xc3\n\n") == [ServerSentEvent("a\ufffdb\ufffd")]


def test_truncated_utf8_at_end_of_stream_becomes_replacement_character() -> None:
    assert decode(b"data: a\xe4\xb8") == [ServerSentEvent("a\ufffd")]


def test_leading_bom_is_skipped_even_when_split() -> None:
    assert decode(b"\xef", b"\xbb", b"\xbfdata: a\n\n") == [ServerSentEvent("a")]


def test_only_one_leading_bom_is_skipped() -> None:
    # The second BOM is part of the first line's field name, which then is no known field.
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [ServerSentEvent("b")]


def test_bom_later_in_the_stream_is_kept() -> None:
    assert decode(b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: \xef\xbb\xbfc\n\n") == [
        ServerSentEvent("a"),
        ServerSentEvent("\ufeffc"),
    ]


# --- flush -----------------------------------------------------------------------------------


def test_flush_dispatches_an_event_without_the_final_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: b\ndata: c\n") == [ServerSentEvent("a")]
    assert decoder.flush() == [ServerSentEvent("b\nc")]


def test_flush_counts_a_last_line_without_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: e\ndata: tail") == []
    assert decoder.flush() == [ServerSentEvent("tail", event="e")]


def test_flush_does_not_dispatch_a_block_without_data() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\nevent: e\nid: 3")
    assert decoder.flush() == []


def test_flush_with_nothing_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.flush() == []
    assert decoder.feed(b"data: a\n\n") == [ServerSentEvent("a")]
    assert decoder.flush() == []


def test_flush_resets_for_a_new_stream() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"\xef\xbb\xbfid: 5\nretry: 9\nevent: e\ndata: a\r")
    assert decoder.flush() == [ServerSentEvent("a", event="e", id="5", retry=9)]
    assert (decoder.last_event_id, decoder.reconnection_time) == (None, None)
    # A new stream may start with a BOM again.
    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\n") == [ServerSentEvent("b")]


def test_feed_empty_bytes() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == [ServerSentEvent("a")]


# --- the block-at-a-time path and the line-by-line path agree -------------------------------


def test_id_set_in_a_full_block_is_seen_by_the_following_data_blocks() -> None:
    body = b"data: a\n\nid: 9\ndata: b\n\ndata: c\n\ndata: d\n\n"
    assert [(event.data, event.id) for event in decode(body)] == [
        ("a", None),
        ("b", "9"),
        ("c", "9"),
        ("d", "9"),
    ]


def test_long_stream_of_one_line_events() -> None:
    body = b"".join(b"data: %d\n\n" % index for index in range(1000))
    expected = [ServerSentEvent(str(index)) for index in range(1000)]
    assert decode(body) == expected
    assert decode(*(body[i : i + 7] for i in range(0, len(body), 7))) == expected


def test_pending_event_from_previous_piece_then_data_blocks() -> None:
    assert decode(b"event: e\ndata: a", b"\ndata: b\n\ndata: c\n\ndata: d\n\n") == [
        ServerSentEvent("a\nb", event="e"),
        ServerSentEvent("c"),
        ServerSentEvent("d"),
    ]


def test_extra_blank_lines_between_events() -> None:
    assert decode(b"data: a\n\n\n\ndata: b\n\n\n\n\ndata: c\n\n") == [
        ServerSentEvent("a"),
        ServerSentEvent("b"),
        ServerSentEvent("c"),
    ]


# --- property: any split gives the same events, and they are the standard's ------------------

_line_texts = st.one_of(
    st.sampled_from(
        [
            'data: {"choices":[{"delta":{"content":"hé"}}]}',
            "data: [DONE]",
            "data",
            "data:",
            "data:  two spaces",
            ": comment",
            ":",
            "event: delta",
            "event",
            "id: 42",
            "id: a\x00b",
            "id",
            "retry: 3000",
            "retry: 3x",
            "unknown: x",
            "\ufeffdata: bom",
        ]
    ),
    st.builds(
        lambda field, text: f"{field}{text}",
        st.sampled_from(["data: ", "data:", "event: ", "id: ", ": ", "retry: "]),
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12),
    ),
)
_line_ends = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def sse_bodies(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_line_texts, _line_ends, st.booleans()), max_size=25))
    text = "".join(line + end + (end if blank else "") for line, end, blank in lines)
    if draw(st.booleans()):
        text = "\ufeff" + text
    if draw(st.booleans()):
        text += draw(_line_texts)
    body = text.encode()
    if draw(st.booleans()):
        # Bytes that are not UTF-8, somewhere.
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xe4\xb8", b"\x80\x80"])) + body[at:]
    return body


@st.composite
def split_points(draw: st.DrawFn, body: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    bounds = [0, *cuts, len(body)]
    return [body[start:end] for start, end in itertools.pairwise(bounds)]


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(st.data())
def test_any_split_gives_the_events_of_the_standard(data: st.DataObject) -> None:
    body = data.draw(sse_bodies())
    pieces = data.draw(split_points(body))
    expected = reference_decode(body)
    assert decode(body) == expected
    assert decode(*pieces) == expected


@settings(max_examples=100, deadline=None)
@given(sse_bodies())
def test_byte_by_byte_gives_the_same_events(body: bytes) -> None:
    assert decode_bytewise(body) == decode(body)
