"""text_decoder_for: an answer's body to text chunks, per Content-Type, and every way it can fail."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynaspark_sdk._errors import APIStatusError, ResponseValidationError, StreamInterruptedError
from dynaspark_sdk._text_decoders import TextChunkDecoder, text_decoder_for


def run(content_type: str | None, *pieces: bytes) -> tuple[list[str], TextChunkDecoder]:
    """Feed the pieces, then close; every chunk returned along the way, and the decoder."""
    decoder = text_decoder_for(content_type)
    chunks: list[str] = []
    for piece in pieces:
        chunks += decoder.feed(piece)
    chunks += decoder.close()
    return chunks, decoder


def sse(*payloads: str) -> bytes:
    return "".join(f"data: {payload}\n\n" for payload in payloads).encode()


def openai(content: str | None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": content}}]})


# --- application/json --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;Charset=UTF-8",
        "application/problem+json",
        "application/vnd.dynaspark+json",
        "text/json",
    ],
)
def test_json_answer_is_one_chunk(content_type: str) -> None:
    chunks, decoder = run(content_type, b'{"response": "Hi ', b"th\xc3", b'\xa9re", "model": "x"}')
    assert chunks == ["Hi thére"]
    assert decoder.text == "Hi thére"
    assert decoder.done is True


def test_json_answer_returns_nothing_before_close() -> None:
    decoder = text_decoder_for("application/json")
    assert decoder.feed(b'{"response": "Hi"}') == []
    assert decoder.text == ""
    assert decoder.done is False
    assert decoder.close() == ["Hi"]


def test_json_empty_response_gives_no_chunk_but_is_valid() -> None:
    chunks, decoder = run("application/json", b'{"response": ""}')
    assert chunks == []
    assert decoder.text == ""
    assert decoder.done is True


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b'{"response": "Hi"', "not valid JSON"),
        (b"Internal Server Error", "not valid JSON"),
        (b'{"response": "\xff"}', "not UTF-8"),
        (b"[" * 100_000, "not valid JSON"),
        (b'["Hi"]', "JSON an array"),
        (b'"Hi"', "JSON a string"),
        (b"42", "JSON a number"),
        (b"null", "JSON null"),
        (b'{"answer": "Hi"}', "no \"response\" (its keys: 'answer')"),
        (b"{}", 'no "response" (its keys: none)'),
        (b'{"response": null}', '"response" is null where a string was expected'),
        (b'{"response": ["Hi"]}', '"response" is an array where a string was expected'),
        (b'{"response": 3}', '"response" is a number where a string was expected'),
    ],
)
def test_json_that_is_not_an_answer(body: bytes, fragment: str) -> None:
    decoder = text_decoder_for("application/json; charset=utf-8")
    assert decoder.feed(body) == []
    with pytest.raises(ResponseValidationError) as caught:
        decoder.close()
    assert fragment in caught.value.message
    assert caught.value.content_type == "application/json; charset=utf-8"
    assert caught.value.body_excerpt == " ".join(body.decode("utf-8", "replace").split())[:199] + (
        "…" if len(body.strip()) > 200 else ""
    )
    assert decoder.done is False


@pytest.mark.parametrize(
    ("body", "error_text"),
    [
        (b'{"error": "Invalid API key"}', "Invalid API key"),
        (b'{"error": {"message": "quota used up", "code": 429}}', "quota used up"),
        (b'{"error": ["a", "b"]}', '["a", "b"]'),
    ],
)
def test_json_error_object_says_the_services_error(body: bytes, error_text: str) -> None:
    # A 2xx answer holding "error" is the service refusing, as its own client treats it.
    with pytest.raises(APIStatusError) as caught:
        run("application/json", body)
    assert caught.value.message == f"the service answered with an error: {error_text}"
    assert caught.value.body_excerpt == body.decode()


def test_json_with_string_response_and_an_error_key_is_the_answer() -> None:
    assert run("application/json", b'{"response": "Hi", "error": null}')[0] == ["Hi"]


# --- text/event-stream -------------------------------------------------------------------------


def test_openai_stream() -> None:
    body = sse(openai("Hel"), openai("lo"), openai(None), "[DONE]")
    chunks, decoder = run("text/event-stream", body)
    assert chunks == ["Hel", "lo"]
    assert decoder.text == "Hello"
    assert decoder.done is True


def test_stream_chunks_come_as_events_complete() -> None:
    decoder = text_decoder_for("text/event-stream; charset=utf-8")
    body = sse(openai("Hel"), openai("lo"), "[DONE]")
    first_end = body.index(b"\n\n") + 2
    assert decoder.feed(body[: first_end - 1]) == []
    assert decoder.feed(body[first_end - 1 : first_end + 5]) == ["Hel"]
    assert decoder.feed(body[first_end + 5 :]) == ["lo"]
    assert decoder.done is True
    assert decoder.close() == []


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        ({"choices": [{"delta": {"role": "assistant"}}]}, ""),
        ({"choices": [{"delta": {}, "finish_reason": "stop"}]}, ""),
        ({"choices": [], "usage": {"total_tokens": 3}}, ""),
        ({"choices": [{"index": 1, "delta": {"content": "other answer"}}]}, ""),
        ({"choices": [{"text": "legacy"}]}, "legacy"),
        ({"choices": [{"message": {"role": "assistant", "content": "whole"}}]}, "whole"),
        ({"choices": [{"message": {"content": None}}]}, ""),
        ({"response": "plain"}, "plain"),
        ({"response": ""}, ""),
    ],
)
def test_json_shapes_in_a_stream(payload: object, text: str) -> None:
    chunks, decoder = run("text/event-stream", sse(json.dumps(payload), "[DONE]"))
    assert chunks == ([text] if text else [])
    assert decoder.text == text


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ('"a JSON string"', "a JSON string"),
        ('"line\\nbreak"', "line\nbreak"),
        ("plain words", "plain words"),
        ("42", "42"),
        ("[1, 2]", "[1, 2]"),
        ('{"other": "shape"}', '{"other": "shape"}'),
        ('{"choices": "not a list"}', '{"choices": "not a list"}'),
        ('{"choices": ["not a dict"]}', '{"choices": ["not a dict"]}'),
        ('{"choices": [{"delta": {"content": ["parts"]}}]}', '{"choices": [{"delta": {"content": ["parts"]}}]}'),
        ('{"response": 7}', '{"response": 7}'),
        ("{not json", "{not json"),
        ('{"error": null}', '{"error": null}'),
    ],
)
def test_other_payloads_are_plain_text(data: str, text: str) -> None:
    # Without [DONE]: none of these is an OpenAI or "response" object, so none requires it.
    chunks, decoder = run("text/event-stream", sse(data))
    assert chunks == [text]
    assert decoder.done is False


def test_multi_line_plain_text_event() -> None:
    chunks, _ = run("text/event-stream", b"data: line one\ndata: line two\n\ndata:\n\ndata: end\n\n")
    assert chunks == ["line one\nline two", "end"]


def test_plain_text_stream_may_end_without_done() -> None:
    chunks, decoder = run("text/event-stream", b"data: Hel\n\ndata: lo")
    assert chunks == ["Hel", "lo"]
    assert decoder.text == "Hello"
    assert decoder.done is False


def test_done_inside_whitespace() -> None:
    chunks, decoder = run("text/event-stream", sse(openai("a")) + b"data:  [DONE] \n\n")
    assert chunks == ["a"]
    assert decoder.done is True


def test_everything_after_done_is_ignored() -> None:
    decoder = text_decoder_for("text/event-stream")
    assert decoder.feed(sse(openai("a"), "[DONE]", openai("b"))) == ["a"]
    assert decoder.feed(sse(openai("c")) + b'event: error\ndata: {"error": "late"}\n\n\xff') == []
    assert decoder.close() == []
    assert decoder.text == "a"


def test_done_in_a_last_event_without_blank_line() -> None:
    chunks, decoder = run("text/event-stream", sse(openai("a")) + b"data: [DONE]")
    assert chunks == ["a"]
    assert decoder.done is True


def test_last_event_without_blank_line_is_kept() -> None:
    decoder = text_decoder_for("text/event-stream")
    assert decoder.feed(b"data: Hel\n\ndata: lo\n") == ["Hel"]
    assert decoder.close() == ["lo"]


def test_structured_stream_without_done_is_interrupted() -> None:
    decoder = text_decoder_for("text/event-stream")
    assert decoder.feed(sse(openai("Hel"), openai("lo"))) == ["Hel", "lo"]
    with pytest.raises(StreamInterruptedError) as caught:
        decoder.close()
    assert caught.value.message == "the stream ended before [DONE]"
    assert caught.value.partial_text == "Hello"


def test_response_stream_without_done_is_interrupted() -> None:
    with pytest.raises(StreamInterruptedError) as caught:
        run("text/event-stream", sse(json.dumps({"response": "Hi"}), "plain"))
    assert caught.value.partial_text == "Hiplain"


def test_empty_stream_is_interrupted() -> None:
    with pytest.raises(StreamInterruptedError) as caught:
        run("text/event-stream", b": just a comment\n\nevent: ping\n\n")
    assert caught.value.message == "the stream ended before any event arrived"
    assert caught.value.partial_text == ""


@pytest.mark.parametrize(
    ("error_event", "error_text"),
    [
        (b'data: {"error": "model overloaded"}\n\n', "model overloaded"),
        (b'data: {"error": {"message": "quota", "type": "rate"}}\n\n', "quota"),
        (b'data: {"error": 503}\n\n', "503"),
        (b"event: error\ndata: upstream timed out\n\n", "upstream timed out"),
        (b'event: error\ndata: {"error": "bad gateway"}\n\n', "bad gateway"),
        (b'event: error\ndata: {"message": "went away"}\n\n', "went away"),
        (b'event: error\ndata: "quoted"\n\n', "quoted"),
        (b"event: error\ndata: [1]\n\n", "[1]"),
        (b"event: error\ndata:\n\n", "no details given"),
    ],
)
def test_error_in_stream_interrupts_with_partial_text(error_event: bytes, error_text: str) -> None:
    decoder = text_decoder_for("text/event-stream")
    assert decoder.feed(sse(openai("Hel"))) == ["Hel"]
    # The chunk before the error in the same piece is not returned, but is in partial_text.
    with pytest.raises(StreamInterruptedError) as caught:
        decoder.feed(sse(openai("lo")) + error_event + sse(openai("!")))
    assert caught.value.message == f"the service reported an error in the stream: {error_text}"
    assert caught.value.partial_text == "Hello"


def test_error_event_as_the_last_event_without_blank_line() -> None:
    decoder = text_decoder_for("text/event-stream")
    decoder.feed(sse(openai("a")) + b"event: error\ndata: cut")
    with pytest.raises(StreamInterruptedError) as caught:
        decoder.close()
    assert caught.value.message == "the service reported an error in the stream: cut"
    assert caught.value.partial_text == "a"


def test_no_empty_chunks() -> None:
    body = sse(openai(""), '""', openai("x"), json.dumps({"response": ""}), "[DONE]") + b"data:\n\n"
    chunks, _ = run("text/event-stream", b"data:\n\n" + body)
    assert chunks == ["x"]


def test_long_stream_text() -> None:
    body = sse(*(openai(f"{index},") for index in range(2000)), "[DONE]")
    pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    chunks, decoder = run("text/event-stream", *pieces)
    assert chunks == [f"{index}," for index in range(2000)]
    assert decoder.text == "".join(f"{index}," for index in range(2000))


# --- text/plain and other text -----------------------------------------------------------------


def test_plain_text_comes_as_it_arrives() -> None:
    decoder = text_decoder_for("text/plain; charset=utf-8")
    assert decoder.feed(b"Hel") == ["Hel"]
    assert decoder.feed(b"lo w\xc3") == ["lo w"]
    assert decoder.feed(b"\xb6rld") == ["\xf6rld"]
    assert decoder.close() == []
    assert decoder.text == "Hello w\xf6rld"
    assert decoder.done is False


@pytest.mark.parametrize("content_type", ["text/plain", "text/markdown", "text/csv", "TEXT/PLAIN"])
def test_other_text_types_are_plain_text(content_type: str) -> None:
    assert run(content_type, b"# Title\n", b"body")[0] == ["# Title\n", "body"]


def test_plain_text_honours_a_known_charset() -> None:
    assert run('text/plain; charset="ISO-8859-1"', b"caf\xe9")[0] == ["café"]


@pytest.mark.parametrize("charset", ["no-such-charset", "base64", "rot13", "idna"])
def test_plain_text_falls_back_to_utf8(charset: str) -> None:
    assert run(f"text/plain; charset={charset}", "café".encode())[0] == ["café"]


def test_plain_text_bad_bytes_become_replacement_characters() -> None:
    chunks, decoder = run("text/plain", b"a\xffb", b"c\xe4\xb8")
    assert chunks == ["a\ufffdb", "c", "\ufffd"]
    assert decoder.text == "a\ufffdbc\ufffd"


def test_empty_plain_text_is_an_empty_answer() -> None:
    chunks, decoder = run("text/plain", b"")
    assert chunks == []
    assert decoder.text == ""


# --- text/html and non-text ----------------------------------------------------------------------

WAKE_UP_PAGE = b"<!DOCTYPE html>\n<html>\n  <head><title>Service waking up</title></head>\n<body>Hold on</body></html>"


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/xhtml+xml"])
def test_html_page_is_refused_at_close(content_type: str) -> None:
    decoder = text_decoder_for(content_type)
    assert decoder.feed(WAKE_UP_PAGE[:20]) == []
    assert decoder.feed(WAKE_UP_PAGE[20:]) == []
    with pytest.raises(ResponseValidationError) as caught:
        decoder.close()
    assert "HTML page arrived instead of the answer" in caught.value.message
    assert caught.value.content_type == content_type
    assert caught.value.body_excerpt == " ".join(WAKE_UP_PAGE.decode().split())


def test_long_html_page_is_refused_without_reading_it_all() -> None:
    decoder = text_decoder_for("text/html")
    assert decoder.feed(b"<html>" + b"x" * 4000) == []
    with pytest.raises(ResponseValidationError) as caught:
        decoder.feed(b"y" * 100)
    assert caught.value.body_excerpt.startswith("<html>xxx")
    assert len(caught.value.body_excerpt) == 200


@pytest.mark.parametrize(
    "content_type", ["audio/mpeg", "image/png", "application/octet-stream", "application/xml", "video/mp4"]
)
def test_non_text_is_refused_at_the_first_byte(content_type: str) -> None:
    decoder = text_decoder_for(content_type + "; foo=bar")
    with pytest.raises(ResponseValidationError) as caught:
        decoder.feed(b"ID3\x04\x00")
    assert caught.value.message == f"a text answer was expected, but the answer is {content_type!r}"
    assert caught.value.content_type == content_type + "; foo=bar"


def test_empty_non_text_body_is_refused_at_close() -> None:
    decoder = text_decoder_for("audio/mpeg")
    assert decoder.feed(b"") == []
    with pytest.raises(ResponseValidationError, match="'audio/mpeg'"):
        decoder.close()


# --- no Content-Type -----------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "", " ", ";charset=utf-8"])
def test_untyped_json_answer(content_type: str | None) -> None:
    decoder = text_decoder_for(content_type)
    assert decoder.feed(b' {"response": "Hi",') == []
    assert decoder.feed(b' "model": "m"}') == []
    assert decoder.close() == ["Hi"]
    assert decoder.text == "Hi"
    assert decoder.done is True


@pytest.mark.parametrize(
    "body",
    [b"Just text", b'{"answer": 1}', b'["Hi"]', b'{"response": null}', b"{broken", b"", b'"a JSON string"'],
)
def test_untyped_other_body_is_plain_text(body: bytes) -> None:
    chunks, decoder = run(None, body)
    assert chunks == ([body.decode()] if body else [])
    assert decoder.done is False


def test_untyped_error_object_is_refused() -> None:
    with pytest.raises(APIStatusError) as caught:
        run(None, b'{"error": "Invalid API key"}')
    assert caught.value.message == "the service answered with an error: Invalid API key"
    assert caught.value.body_excerpt == '{"error": "Invalid API key"}'


def test_untyped_bad_utf8_text() -> None:
    assert run(None, b"caf\xe9")[0] == ["caf\ufffd"]


# --- property: where the body is split does not matter ------------------------------------------

_stream_payloads = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=10).map(openai),
    st.sampled_from(["plain é", '"str → ing"', "[DONE]", '{"response": "r"}', "42", '{"choices": []}']),
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=10),
)


def _pieces(data: st.DataObject, body: bytes) -> list[bytes]:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=10)))
    return [body[start:end] for start, end in itertools.pairwise([0, *cuts, len(body)])]


def _outcome(content_type: str | None, pieces: list[bytes]) -> tuple[str, object]:
    """("ok", (chunks, text, done)) or ("error", (class, message, partial text)); empty pieces skipped
    because the clients use b"" only for the end of the body."""
    try:
        chunks, decoder = run(content_type, *(piece for piece in pieces if piece))
    except StreamInterruptedError as error:
        return "error", (type(error), error.message, error.partial_text)
    except ResponseValidationError as error:
        return "error", (type(error), error.message, error.body_excerpt)
    return "ok", (chunks, decoder.text, decoder.done)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_event_stream_split_anywhere_gives_the_same_chunks(data: st.DataObject) -> None:
    payloads = data.draw(st.lists(_stream_payloads, max_size=8))
    line_end = data.draw(st.sampled_from(["\n", "\r", "\r\n"]))
    body = "".join(f"data: {payload}{line_end}{line_end}" for payload in payloads).encode()
    assert _outcome("text/event-stream", _pieces(data, body)) == _outcome("text/event-stream", [body])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_plain_text_split_anywhere_gives_the_same_text(data: st.DataObject) -> None:
    body = data.draw(st.text(max_size=40)).encode() + data.draw(st.binary(max_size=4))
    whole_chunks, whole = run("text/plain", body)
    split_chunks, split = run("text/plain", *_pieces(data, body))
    assert "".join(split_chunks) == split.text == "".join(whole_chunks) == whole.text
    assert whole.text == body.decode("utf-8", "replace")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_json_split_anywhere_gives_the_same_answer(data: st.DataObject) -> None:
    content_type = data.draw(st.sampled_from(["application/json", None]))
    answer = data.draw(st.text(max_size=30))
    ensure_ascii = data.draw(st.booleans())
    body = json.dumps({"response": answer, "model": "m"}, ensure_ascii=ensure_ascii).encode()
    whole = _outcome(content_type, [body])
    assert whole == ("ok", ([answer] if answer else [], answer, True))
    assert _outcome(content_type, _pieces(data, body)) == whole
