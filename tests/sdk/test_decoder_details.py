"""The text decoders' words and edges (`_text_decoders`, no I/O): what a refusal says, and how an
answer holding both a "response" and an "error" is read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dynaspark_sdk import APIStatusError, RateLimitError, ResponseValidationError, StreamInterruptedError
from dynaspark_sdk._text_decoders import HTMLPageDecoder, JSONAnswerDecoder, text_decoder_for
from dynaspark_sdk._text_decoders._base import parse_content_type


def decoded(content_type: str | None, body: bytes) -> list[str]:
    decoder = text_decoder_for(content_type)
    return decoder.feed(body) + decoder.close()


def test_an_html_page_says_what_it_likely_is() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        decoded("text/html", b"<html>hi</html>")
    assert str(caught.value) == (
        "an HTML page arrived instead of the answer (Render's proxy shows one while the service"
        " wakes up or is down); try again in a minute"
    )


def test_an_empty_json_answer_says_what_was_expected() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        decoded("application/json", b"")
    assert str(caught.value) == 'the answer is empty where a JSON object with a string "response" was expected'


def test_an_answer_with_a_response_is_the_response_even_beside_an_error() -> None:
    assert decoded(None, b'{"response": "hi", "error": "x"}') == ["hi"]


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_an_error_in_a_2xx_answer_is_the_services_error(content_type: str | None) -> None:
    with pytest.raises(APIStatusError) as caught:
        decoded(content_type, b'{"error": "quota"}')
    assert (caught.value.status_code, caught.value.error) == (200, "quota")
    expected = {"content-type": content_type} if content_type else {}
    assert caught.value.headers == expected


# --- what issue 28's re-run left alive ---------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ['text/plain; charset="latin-1"', "text/plain;charset=latin-1;format=flowed", "text/plain;charset=LATIN-1 "],
)
def test_a_charset_is_read_quoted_or_among_other_parameters(content_type: str) -> None:
    assert decoded(content_type, b"caf\xe9") == ["café"]


def test_a_charset_value_may_hold_an_equals_sign() -> None:
    assert parse_content_type('Text/Plain; charset="a=b"') == ("text/plain", "a=b")


def test_a_two_byte_charset_is_used() -> None:
    assert decoded("text/plain; charset=utf-16", b"\xff\xfeh\x00i\x00") == ["hi"]


@pytest.mark.parametrize("content_type", ["text/plain", "text/html", "image/png", "text/event-stream", None])
def test_no_model_is_named_before_the_answer_names_one(content_type: str | None) -> None:
    assert text_decoder_for(content_type).model is None


def test_json_nested_too_deeply_is_refused_in_words() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        decoded("application/json", b"[" * 100_000)
    assert str(caught.value) == "the answer is not valid JSON: it is nested too deeply"


def test_an_object_without_a_response_names_its_first_ten_keys() -> None:
    body = "{" + ",".join(f'"k{i}": 1' for i in range(12)) + "}"
    with pytest.raises(ResponseValidationError) as caught:
        decoded("application/json", body.encode())
    keys = ", ".join(f"'k{i}'" for i in range(10))
    assert str(caught.value) == f'the answer\'s JSON object has no "response" (its keys: {keys})'


def test_an_untyped_answer_with_a_null_response_is_its_text_not_an_error() -> None:
    assert decoded(None, b'{"response": null, "error": "x"}') == ['{"response": null, "error": "x"}']


def test_an_openai_chunk_with_text_that_is_no_string_is_passed_on_as_it_came() -> None:
    body = b'data: {"choices": [{"text": 5}]}\n\ndata: [DONE]\n\n'
    assert decoded("text/event-stream", body) == ['{"choices": [{"text": 5}]}']


def test_an_error_event_s_object_is_quoted_as_written() -> None:
    decoder = text_decoder_for("text/event-stream")
    with pytest.raises(StreamInterruptedError) as caught:
        decoder.feed('event: error\ndata: {"error": {"code": "trop de requêtes"}}\n\n'.encode())
    assert "trop de requêtes" in str(caught.value)


def test_the_decoders_made_without_a_content_type_say_their_own() -> None:
    json_decoder = JSONAnswerDecoder()
    with pytest.raises(ResponseValidationError) as caught:
        json_decoder.close()
    assert caught.value.content_type == "application/json"
    html_decoder = HTMLPageDecoder()
    with pytest.raises(ResponseValidationError) as caught:
        html_decoder.close()
    assert caught.value.content_type == "text/html"


def test_a_rate_limit_in_a_2xx_answer_says_when_to_retry() -> None:
    reset = datetime.now(UTC) + timedelta(seconds=120)
    body = json.dumps(
        {"error": {"code": "rate_limit_exceeded", "message": "slow down", "details": {"reset_time": reset.isoformat()}}}
    )
    with pytest.raises(RateLimitError) as caught:
        decoded("application/json", body.encode())
    assert caught.value.retry_after is not None and 110 < caught.value.retry_after <= 120
    assert str(caught.value).startswith(
        "the service answered with an error: rate_limit_exceeded: slow down (retry after"
    )
