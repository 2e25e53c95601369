"""Each operation's request and answer, to the letter (`_operations`, no I/O): the Accept header
and method each one sends, the key on a speech request, and how each parser reads odd answers
(status words, audio that is not MP3, image fields, downloads, mislabelled text answers)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from wire import PNG

from dynaspark_sdk import APIStatusError, InvalidRequestError, ResponseValidationError
from dynaspark_sdk._flow import Answer
from dynaspark_sdk._operations.chat import chat_draft
from dynaspark_sdk._operations.download import fetch_plan, parse_image_bytes
from dynaspark_sdk._operations.image import ImageOptions, parse_image_fields, plan_image
from dynaspark_sdk._operations.speech import parse_audio, plan_speech, speech_call
from dynaspark_sdk._operations.status import plan_status, status_call
from dynaspark_sdk._operations.text import parse_text_fields, text_prompt
from dynaspark_sdk._secrets import ApiKey
from dynaspark_sdk._settings import make_settings

BASE = "https://dynaspark.test"
SETTINGS = make_settings(
    api_key="sk-test-1",
    base_url=BASE,
    timeout=5.0,
    max_retries=None,
    default_headers=None,
    max_media_bytes=None,
    on_rate_limit="wait",
    environ={},
)
MP3 = b"\xff\xfb\x90\x00" + bytes(60)


def request_of(plan: Any) -> httpx.Request:
    with httpx.Client() as http:
        return http.build_request(**SETTINGS.request_args(plan, None))


# --------------------------------------------------------------------------- requests


def test_each_operation_asks_for_its_kind_of_answer() -> None:
    assert request_of(plan_status()).headers["accept"] == "application/json"
    speech = request_of(plan_speech("hi", voice="nova", api_key=ApiKey("sk-test-1"), base_url_bytes=len(BASE)))
    assert speech.headers["accept"] == "audio/mpeg"
    image = request_of(plan_image("a cat", ImageOptions(), api_key=None, base_url_bytes=len(BASE)))
    assert image.headers["accept"] == "application/json"
    fetch = request_of(fetch_plan("https://images.test/cat.png"))
    assert (fetch.method, fetch.headers["accept"]) == ("GET", "image/*")


def test_a_speech_request_carries_the_key_and_the_voice() -> None:
    speech = request_of(plan_speech("hi", voice="nova", api_key=ApiKey("sk-test-1"), base_url_bytes=len(BASE)))
    assert speech.url.params["api_key"] == "sk-test-1"
    assert speech.url.params["voice"] == "nova"
    keyless = request_of(plan_speech("hi", voice="nova", api_key=None, base_url_bytes=len(BASE)))
    assert "api_key" not in keyless.url.params


def test_a_chat_model_alias_is_resolved_by_default() -> None:
    assert chat_draft(SETTINGS, "hi", model="gemini-2.0-flash").model == "gemini-2.0-flash-lite"
    assert chat_draft(SETTINGS, "hi", model="gemini-2.0-flash", resolve_alias=False).model == "gemini-2.0-flash"


# --------------------------------------------------------------------------- /status


def status_of(headers: dict[str, str], body: bytes, status: int = 200) -> Any:
    _plan, parse = status_call()
    return parse(Answer(status, httpx.Headers(headers), body))


def test_status_words_and_details() -> None:
    assert status_of({"content-type": "application/json"}, b'{"status": "ok", "v": 2}').details == {
        "status": "ok",
        "v": 2,
    }
    # JSON without its content type is still read as JSON.
    unlabelled = status_of({"content-type": "text/plain"}, b'  {"status": "up"}')
    assert (unlabelled.status, unlabelled.details) == ("up", {"status": "up"})
    # A plain word is the status word; a long one is cut at 100 characters; an empty one is None.
    plain = status_of({"content-type": "text/plain"}, b"  running \n")
    assert (plain.status, plain.details) == ("running", {})
    assert status_of({}, b"x" * 150).status == "x" * 100
    assert status_of({}, b"  ").status is None
    assert status_of({}, "d\u00e9j\u00e0".encode()).status == "d\u00e9j\u00e0"
    assert status_of({}, b"ok \xff").status == "ok \ufffd"
    # The answer's rate-limit numbers come along.
    limited = status_of({"content-type": "application/json", "x-ratelimit-remaining": "7"}, b'{"status": "ok"}')
    assert limited.rate_limit.remaining == 7


def test_status_json_that_is_broken_says_its_status() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        status_of({"content-type": "application/json"}, b"{broken", status=203)
    assert caught.value.status_code == 203
    with pytest.raises(ResponseValidationError, match="HTML page"):
        status_of({"content-type": "text/html"}, b"<html>down</html>")


# --------------------------------------------------------------------------- speech


@pytest.mark.parametrize(
    "body",
    [b"ID3\x04" + bytes(20), b"\xff\xfb", b"\xff\xe0rest"],
)
def test_what_passes_for_mp3(body: bytes) -> None:
    assert parse_audio(200, {"content-type": "audio/mpeg"}, body) == (body, "audio/mpeg")


@pytest.mark.parametrize(
    "body",
    [b"id3\x04" + bytes(20), b"\xff", b"\xfe\xfb\x90", b"\x00\xff\xe0", b"\xff\x1f\x00", b""],
)
def test_what_does_not_pass_for_mp3(body: bytes) -> None:
    with pytest.raises(ResponseValidationError, match=r"^expected MP3 audio, got audio/mpeg"):
        parse_audio(200, {"content-type": "audio/mpeg"}, body)


def test_other_audio_is_taken_as_it_is() -> None:
    assert parse_audio(200, {"content-type": "audio/wav"}, b"RIFF....WAVE") == (b"RIFF....WAVE", "audio/wav")
    with pytest.raises(ResponseValidationError, match="got audio/wav"):
        parse_audio(200, {"content-type": "audio/wav"}, b"")


@pytest.mark.parametrize("kind", ["application/json", "text/plain"])
def test_an_error_instead_of_audio_is_the_services_error(kind: str) -> None:
    with pytest.raises(APIStatusError) as caught:
        parse_audio(201, {"content-type": kind}, b'{"error": "voice unavailable"}')
    assert caught.value.error == "voice unavailable"
    assert caught.value.status_code == 201
    with pytest.raises(ResponseValidationError, match="got text/html"):
        parse_audio(200, {"content-type": "text/html"}, b'{"error": "voice unavailable"}')


# --------------------------------------------------------------------------- images


def test_image_fields() -> None:
    body = b'{"image_url": "HTTPS://img.test/a.png", "model": "flux", "seed": 7}'
    assert parse_image_fields(200, {"content-type": "application/json"}, body) == ("HTTPS://img.test/a.png", "flux", 7)
    odd = b'{"image_url": "http://img.test/a.png", "model": 5, "seed": "7"}'
    assert parse_image_fields(200, {"content-type": "application/json"}, odd) == ("http://img.test/a.png", None, None)


def test_an_image_url_that_is_not_http_is_refused() -> None:
    body = b'{"image_url": "file:///etc/passwd"}'
    with pytest.raises(ResponseValidationError) as caught:
        parse_image_fields(202, {"content-type": "application/json"}, body)
    assert str(caught.value) == "the image URL is not http(s): file:///etc/passwd"
    assert (caught.value.status_code, caught.value.content_type) == (202, "application/json")


def test_an_image_answer_without_its_url_says_the_status() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        parse_image_fields(203, {"content-type": "application/json"}, b'{"image": "x"}')
    assert caught.value.status_code == 203
    assert caught.value.content_type == "application/json"
    with pytest.raises(ResponseValidationError) as broken:
        parse_image_fields(206, {"content-type": "application/json"}, b"{")
    assert broken.value.status_code == 206


def test_a_download_must_be_an_image() -> None:
    assert parse_image_bytes(200, {"content-type": "image/png"}, PNG) == PNG
    # Sixteen bytes are enough to know (a WebP needs twelve).
    webp = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(8)
    assert parse_image_bytes(200, {}, webp) == webp
    with pytest.raises(ResponseValidationError) as caught:
        parse_image_bytes(200, {"content-type": "Text/HTML; charset=utf-8"}, b"<html>not found</html>")
    assert str(caught.value).startswith("the image URL gave no image (status 200, content type text/html, 22 bytes)")
    assert caught.value.content_type == "text/html"
    with pytest.raises(ResponseValidationError, match=r"content type none, 3 bytes"):
        parse_image_bytes(200, {}, b"abc")


# --------------------------------------------------------------------------- text


def test_a_text_answer_labelled_plain_but_holding_an_answer_object() -> None:
    headers = {"content-type": "text/plain"}
    assert parse_text_fields(200, headers, b'\n {"response": "hi", "model": "m"}')[:2] == ("hi", "m")
    with pytest.raises(APIStatusError) as caught:
        parse_text_fields(200, headers, b'{"error": "quota"}')
    assert caught.value.error == "quota"
    # Other JSON, or text that only ends like an object, is the text itself.
    assert parse_text_fields(200, headers, b'{"answer": 1}')[0] == '{"answer": 1}'
    assert parse_text_fields(200, headers, b"see {")[0] == "see {"


def test_a_plain_text_answer_is_read_in_its_charset() -> None:
    headers = httpx.Headers({"Content-Type": "text/plain; charset=latin-1"})
    assert parse_text_fields(200, headers, "caf\u00e9".encode("latin-1"))[0] == "caf\u00e9"


def test_a_speech_answer_carries_its_voice_and_numbers() -> None:
    _plan, parse = speech_call(SETTINGS, "hi", voice="nova")
    headers = httpx.Headers({"content-type": "audio/mpeg", "x-ratelimit-remaining": "3"})
    result = parse(Answer(200, headers, MP3))
    assert (result.data, result.voice, result.content_type, result.rate_limit.remaining) == (
        MP3,
        "nova",
        "audio/mpeg",
        3,
    )
    with pytest.raises(APIStatusError) as caught:
        parse(Answer(201, httpx.Headers({"content-type": "application/json"}), b'{"error": "busy"}'))
    assert caught.value.status_code == 201


def test_a_text_answer_that_is_not_one_says_its_status_and_type() -> None:
    with pytest.raises(ResponseValidationError) as broken:
        parse_text_fields(203, {"content-type": "application/json"}, b"{cut")
    assert broken.value.status_code == 203
    with pytest.raises(ResponseValidationError) as missing:
        parse_text_fields(200, {"content-type": "application/json"}, b'{"answer": "x"}')
    assert (missing.value.status_code, missing.value.content_type) == (200, "application/json")


def test_audio_that_is_not_says_what_it_was() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        parse_audio(200, {"content-type": "audio/mpeg"}, b"junk")
    assert caught.value.content_type == "audio/mpeg"
    with pytest.raises(ResponseValidationError, match=r"^expected MP3 audio, got no content type \(4 bytes\)"):
        parse_audio(200, {}, b"junk")


def test_status_labelled_json_must_be_a_json_object() -> None:
    with pytest.raises(ResponseValidationError, match="not an object"):
        status_of({"content-type": "application/json"}, b'"ok"')


def test_text_prompt_refusals_word_for_word() -> None:
    def refusal(*args: Any) -> str:
        with pytest.raises(InvalidRequestError) as caught:
            text_prompt(*args)
        return str(caught.value)

    image = [{"role": "user", "content": [{"type": "image_url", "image_url": "https://x.test/a.png"}]}]
    assert refusal(image, None) == "generate_text takes no images; send images with chat()"
    assert refusal(image, None, "stream_text") == "stream_text takes no images; send images with chat()"
    assert refusal("hi", 5) == "system must be a string, not int"
    only_system = [{"role": "system", "content": "be brief"}]
    assert refusal(only_system, None) == "the messages hold no user or assistant message, only a system prompt"
