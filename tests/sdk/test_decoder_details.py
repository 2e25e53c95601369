"""The text decoders' words and edges (`_text_decoders`, no I/O): what a refusal says, and how an
answer holding both a "response" and an "error" is read."""

from __future__ import annotations

import pytest

from dynaspark_sdk import APIStatusError, ResponseValidationError
from dynaspark_sdk._text_decoders import text_decoder_for


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
