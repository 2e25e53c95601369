"""The emulator (`dynaspark_sdk.testing`), driven with raw httpx: in process and over loopback.

Behaviour that does not depend on the shell runs through both `EmulatorTransport` and a
`serve()` socket (the `mode` fixture); faults and streams also run through the async shells,
on asyncio and trio.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import anyio
import attrs
import httpx
import pytest
from PIL import Image

from dynaspark_sdk._generated import spec_values
from dynaspark_sdk.testing import (
    MP3_FRAME_BYTES,
    MP3_FRAME_HEADER,
    AsyncEmulatorTransport,
    Cut,
    Delay,
    Emulator,
    EmulatorTransport,
    Fault,
    SendBytes,
    default_seed,
    faults,
    parse_fault,
    serve,
)

BASE_URL = "http://dynaspark.test"
TEXT = "/api/generate_response"
IMAGE = "/api/generate_image"
CHAT = "/dsai_fuck_u_spammer"

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(64)
JPEG_BYTES = b"\xff\xd8\xff\xe0" + bytes(64)
GIF_BYTES = b"GIF89a" + bytes(64)
WEBP_BYTES = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(64)

# Loading the CA bundle costs ~40 ms per client; loopback clients share one context (never used: plain http).
TLS = ssl.create_default_context()


@pytest.fixture(params=["in-process", "loopback"])
def mode(request: pytest.FixtureRequest) -> str:
    chosen: str = request.param
    return chosen


@contextlib.contextmanager
def sync_http(emulator: Emulator, mode: str, read_timeout: float = 5.0) -> Iterator[httpx.Client]:
    """A raw httpx client talking to `emulator` in process or through a loopback socket."""
    timeout = _timeouts(read_timeout)
    if mode == "in-process":
        with httpx.Client(transport=EmulatorTransport(emulator), base_url=BASE_URL, timeout=timeout) as http:
            yield http
    else:
        with (
            serve(emulator) as server,
            httpx.Client(base_url=server.url, timeout=timeout, verify=TLS) as http,
        ):
            yield http


@contextlib.asynccontextmanager
async def async_http(emulator: Emulator, mode: str, read_timeout: float = 5.0) -> AsyncIterator[httpx.AsyncClient]:
    """The async twin of `sync_http`."""
    timeout = _timeouts(read_timeout)
    if mode == "in-process":
        transport = AsyncEmulatorTransport(emulator)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=timeout) as http:
            yield http
    else:
        with serve(emulator) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=timeout, verify=TLS) as http:
                yield http


def _timeouts(read_timeout: float) -> httpx.Timeout:
    """`read_timeout` for reading (what the tests are about); connecting and the pool get a
    loopback-safe bound, so that a busy machine's slow connect is not taken for a slow answer."""
    return httpx.Timeout(5.0, read=read_timeout)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sse_contents(body: bytes) -> list[str]:
    """The `data:` payloads of an event stream, in order."""
    return [line[len("data: ") :] for line in body.decode("utf-8").split("\n\n") if line.startswith("data: ")]


def delta_text(payloads: list[str]) -> str:
    return "".join(json.loads(p)["choices"][0]["delta"]["content"] for p in payloads if p != "[DONE]")


def rate_headers(response: httpx.Response) -> tuple[int, int, int]:
    headers = response.headers
    return (
        int(headers["x-ratelimit-limit"]),
        int(headers["x-ratelimit-remaining"]),
        int(headers["x-ratelimit-reset"]),
    )


# -- endpoints -----------------------------------------------------------------------------------


def test_status_answers_ok_with_rate_limit_headers(mode: str) -> None:
    with sync_http(Emulator(), mode) as http:
        response = http.get("/status")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == "ok"
    assert rate_headers(response)[:2] == (100, 100)


def test_chat_url_encoded_answers_with_the_model_and_the_last_line(mode: str) -> None:
    emulator = Emulator()
    with sync_http(emulator, mode) as http:
        response = http.post(CHAT, data={"user_input": "  Tell me a joke  ", "ai_model": "gemini-2.0-flash-lite"})
    assert response.status_code == 200
    assert response.json() == {"response": "[gemini-2.0-flash-lite] You said: Tell me a joke"}
    (record,) = emulator.requests
    assert record.method == "POST"
    assert record.path == CHAT
    assert record.form == (("user_input", "  Tell me a joke  "), ("ai_model", "gemini-2.0-flash-lite"))
    assert record.files == ()


def test_chat_quotes_the_last_turn_of_a_folded_history(mode: str) -> None:
    prompt = "User: hi\nAssistant: hello\nUser: how are you?\nAssistant:"
    with sync_http(Emulator(), mode) as http:
        response = http.post(CHAT, data={"user_input": prompt, "ai_model": "gemini-1.5-flash"})
    assert response.json()["response"] == "[gemini-1.5-flash] You said: how are you?"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(PNG_BYTES, "image/png"), (JPEG_BYTES, "image/jpeg"), (GIF_BYTES, "image/gif"), (WEBP_BYTES, "image/webp")],
)
def test_chat_multipart_with_an_image_mentions_it_and_records_the_file(
    mode: str, data: bytes, content_type: str
) -> None:
    emulator = Emulator()
    with sync_http(emulator, mode) as http:
        response = http.post(
            CHAT,
            data={"user_input": "What is this?", "ai_model": "gemini-1.5-flash-8b"},
            files={"file": ('my "pic".bin', data, content_type)},
        )
    assert response.status_code == 200, response.text
    assert response.json()["response"] == (
        f"[gemini-1.5-flash-8b] You said: What is this? (with a {len(data)}-byte {content_type} image)"
    )
    (record,) = emulator.requests
    assert record.fields == {"user_input": "What is this?", "ai_model": "gemini-1.5-flash-8b"}
    (upload,) = record.files
    assert (upload.field, upload.filename, upload.content_type) == ("file", 'my "pic".bin', content_type)
    assert (upload.size, upload.data) == (len(data), data)


def test_chat_accepts_every_spec_model_and_no_other(mode: str) -> None:
    with sync_http(Emulator(), mode) as http:
        for model in spec_values.CHAT_MODELS:
            response = http.post(CHAT, data={"user_input": "hi", "ai_model": model})
            assert response.json()["response"] == f"[{model}] You said: hi"
        refused = http.post(CHAT, data={"user_input": "hi", "ai_model": "gpt-4o"})
    assert refused.status_code == 400
    assert "ai_model" in refused.json()["error"]
    assert all(model in refused.json()["error"] for model in spec_values.CHAT_MODELS)


CHAT_FORM = {"user_input": "hi", "ai_model": "gemini-1.5-flash"}


@pytest.mark.parametrize(
    ("data", "files", "reason"),
    [
        ({"ai_model": "gemini-1.5-flash"}, None, "missing required form field: user_input"),
        ({"user_input": "", "ai_model": "gemini-1.5-flash"}, None, "user_input must not be empty"),
        ({"user_input": "hi"}, None, "missing required form field: ai_model"),
        ({**CHAT_FORM, "temperature": "1"}, None, "unknown form field: temperature"),
        ({**CHAT_FORM, "user_input": ["a", "b"]}, None, "user_input given more than once"),
        ({**CHAT_FORM, "file": "cat.png"}, None, "file must be a file part"),
        (CHAT_FORM, {"file": (None, PNG_BYTES, "image/png")}, "file must have a filename"),
        (CHAT_FORM, {"file": ("a.txt", b"hello", "text/csv")}, "image content type"),
        (CHAT_FORM, {"file": ("a.png", JPEG_BYTES, "image/png")}, "does not match its bytes (image/jpeg)"),
        (CHAT_FORM, {"file": ("a.png", b"not an image at all", "image/png")}, "invalid image format"),
        (CHAT_FORM, {"file": ("a.png", b"", "image/png")}, "file is empty"),
        (CHAT_FORM, {"image": ("a.png", PNG_BYTES, "image/png")}, "unknown form field: image"),
    ],
)
def test_chat_refuses_a_bad_form_with_400(
    mode: str, data: dict[str, Any], files: dict[str, Any] | None, reason: str
) -> None:
    with sync_http(Emulator(), mode) as http:
        response = http.post(CHAT, data=data, files=files)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert reason in response.json()["error"]
    assert "x-ratelimit-remaining" in response.headers


def test_chat_refuses_two_files(mode: str) -> None:
    files = [("file", ("a.png", PNG_BYTES, "image/png")), ("file", ("b.png", PNG_BYTES, "image/png"))]
    with sync_http(Emulator(), mode) as http:
        response = http.post(CHAT, data=CHAT_FORM, files=files)
    assert response.status_code == 400
    assert response.json()["error"] == "at most one file may be sent"


def test_chat_refuses_an_image_over_the_spec_limit() -> None:
    too_big = PNG_BYTES + bytes(spec_values.MAX_IMAGE_BYTES + 1 - len(PNG_BYTES))
    with sync_http(Emulator(), "in-process") as http:
        response = http.post(CHAT, data=CHAT_FORM, files={"file": ("big.png", too_big, "image/png")})
    assert response.status_code == 400
    assert response.json()["error"] == f"file is larger than {spec_values.MAX_IMAGE_BYTES} bytes"


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("application/json", b'{"user_input": "hi"}', "unsupported content type application/json"),
        (None, b"user_input=hi", "unsupported content type none"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken", "multipart"),
        ("multipart/form-data", b"--xyz--\r\n", "without a boundary"),
    ],
)
def test_chat_refuses_a_body_that_is_not_a_form(mode: str, content_type: str | None, body: bytes, reason: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    with sync_http(Emulator(), mode) as http:
        response = http.post(CHAT, content=body, headers=headers)
    assert response.status_code == 400
    assert reason in response.json()["error"]


def test_chat_reads_a_chunked_request_body(mode: str) -> None:
    def body() -> Iterator[bytes]:
        yield b"user_input=chunked%20hello"
        yield b"&ai_model=gemini-2.0-flash"

    emulator = Emulator()
    with sync_http(emulator, mode) as http:
        response = http.post(CHAT, content=body(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.json() == {"response": "[gemini-2.0-flash] You said: chunked hello"}
    assert emulator.requests[0].header("transfer-encoding") == "chunked"


def test_generate_text_answers_json_with_usage(mode: str) -> None:
    with sync_http(Emulator(), mode) as http:
        response = http.get(TEXT, params={"user_input": "one two three", "model": "mistral", "system": "be brief"})
    assert response.status_code == 200
    # prompt: 3 words + 2 of the system prompt; completion: "[mistral] You said: one two three".
    assert response.json() == {
        "response": "[mistral] You said: one two three",
        "model": "mistral",
        "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
    }


def test_generate_text_defaults_the_model_and_answers_json_text_on_request(mode: str) -> None:
    with sync_http(Emulator(), mode) as http:
        plain = http.get(TEXT, params={"user_input": "hi"}).json()
        as_json = http.get(TEXT, params={"user_input": "hi", "json": "true"}).json()
    assert plain["model"] == "openai"
    assert json.loads(as_json["response"]) == {"model": "openai", "you_said": "hi"}


TEXT_RULES = spec_values.PARAMETERS["generate_text"]


def _above(name: str, step: float = 0.5, rules: Mapping[str, spec_values.Rule] = TEXT_RULES) -> str:
    """A value `step` past the spec's maximum for `name`."""
    maximum = rules[name].maximum
    assert maximum is not None
    return str(maximum + step)


def _below(name: str, step: float = 0.5, rules: Mapping[str, spec_values.Rule] = TEXT_RULES) -> str:
    """A value `step` short of the spec's minimum for `name`."""
    minimum = rules[name].minimum
    assert minimum is not None
    return str(minimum - step)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "missing required parameter: user_input"),
        ({"user_input": ""}, "parameter user_input must not be empty"),
        ({"user_input": "hi", "temperature": _above("temperature")}, "temperature must be at most 3"),
        ({"user_input": "hi", "temperature": _below("temperature")}, "temperature must be at least 0"),
        ({"user_input": "hi", "temperature": "warm"}, "temperature must be a number"),
        ({"user_input": "hi", "temperature": "nan"}, "temperature must be a finite number"),
        ({"user_input": "hi", "top_p": _above("top_p")}, "top_p must be at most 1"),
        ({"user_input": "hi", "presence_penalty": _below("presence_penalty")}, "at least -2"),
        ({"user_input": "hi", "frequency_penalty": _above("frequency_penalty")}, "at most 2"),
        ({"user_input": "hi", "json": "TRUE"}, "json must be true, false, True or False"),
        ({"user_input": "hi", "stream": "1"}, "stream must be true, false, True or False"),
        ({"user_input": "hi", "private": "yes"}, "private must be true, false, True or False"),
        ({"user_input": "hi", "seed": "1.5"}, "seed must be an integer"),
        ({"user_input": "hi", "voice": "bob"}, "voice must be one of alloy, echo"),
        ({"user_input": "hi", "model": ""}, "model must not be empty"),
        ({"user_input": "hi", "api_key": ""}, "api_key must not be empty"),
        ({"user_input": "hi", "foo": "1", "bar": "2"}, "unknown parameters: foo, bar"),
        ({"user_input": ["a", "b"]}, "parameter user_input given more than once"),
    ],
)
def test_generate_text_refuses_bad_parameters_with_400(mode: str, params: dict[str, Any], reason: str) -> None:
    with sync_http(Emulator(), mode) as http:
        response = http.get(TEXT, params=params)
    assert response.status_code == 400
    assert reason in response.json()["error"]


def test_generate_text_accepts_every_bound_of_the_spec(mode: str) -> None:
    params: dict[str, str] = {"user_input": "hi", "seed": "-7", "private": "false", "referrer": "tests"}
    with sync_http(Emulator(), mode) as http:
        for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
            for bound in (TEXT_RULES[name].minimum, TEXT_RULES[name].maximum):
                assert http.get(TEXT, params={**params, name: str(bound)}).status_code == 200, (name, bound)


@pytest.mark.parametrize(("true", "false"), [("true", "false"), ("True", "False")])
def test_booleans_are_read_in_both_spellings_the_service_takes(mode: str, true: str, false: str) -> None:
    # The service's own Python client sends str(True) == "True"; the service accepts it.
    with sync_http(Emulator(), mode) as http:
        assert http.get(TEXT, params={"user_input": "hi", "json": true}).json()["response"].startswith("{")
        assert not http.get(TEXT, params={"user_input": "hi", "json": false}).json()["response"].startswith("{")
        with http.stream("GET", TEXT, params={"user_input": "a b", "stream": true}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            response.read()
        plain = http.get(TEXT, params={"user_input": "a b", "stream": false})
        assert plain.headers["content-type"].startswith("application/json")
        for value in (true, false):
            assert http.get(TEXT, params={"user_input": "hi", "private": value}).status_code == 200
        with_logo = http.get(IMAGE, params={"user_input": "x", "nologo": false}).json()["image_url"]
        without_logo = http.get(IMAGE, params={"user_input": "x", "nologo": true}).json()["image_url"]
        assert http.get(with_logo).content != http.get(without_logo).content


def test_the_spec_lists_both_boolean_spellings() -> None:
    for operation, name in [("generate_text", "json"), ("generate_text", "stream"), ("generate_text", "private"),
                            ("generate_image", "nologo")]:  # fmt: skip
        rule = spec_values.PARAMETERS[operation][name]
        assert rule.type == "boolean"
        assert rule.enum == ("true", "false", "True", "False")


def test_generate_text_streams_one_event_per_word_then_done(mode: str) -> None:
    with sync_http(Emulator(), mode) as http:
        whole = http.get(TEXT, params={"user_input": "a quick brown fox"}).json()["response"]
        with http.stream("GET", TEXT, params={"user_input": "a quick brown fox", "stream": "true"}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            chunks = list(response.iter_raw())
    payloads = sse_contents(b"".join(chunks))
    assert payloads[-1] == "[DONE]"
    assert len(payloads) == len(whole.split()) + 1
    assert delta_text(payloads) == whole


def test_stream_events_arrive_one_by_one_when_the_emulator_paces_them(mode: str) -> None:
    emulator = Emulator(stream_delay=0.005)
    with (
        sync_http(emulator, mode) as http,
        http.stream("GET", TEXT, params={"user_input": "one two three four", "stream": "true"}) as response,
    ):
        chunks = list(response.iter_raw())
    assert len(chunks) == 8  # "[openai] You said: one two three four" + [DONE]
    assert sse_contents(chunks[0]) == ['{"choices":[{"delta":{"content":"[openai] "}}]}']
    assert sse_contents(chunks[-1]) == ["[DONE]"]


def test_audio_is_mp3_frames_whose_count_follows_the_text(mode: str) -> None:
    params = {"user_input": "say this", "model": spec_values.AUDIO_MODEL, "voice": "nova"}
    with sync_http(Emulator(), mode) as http:
        response = http.get(TEXT, params=params)
        again = http.get(TEXT, params=params)
        longer = http.get(TEXT, params={**params, "user_input": "say this and much more"})
        default_voice = http.get(TEXT, params={"user_input": "say this", "model": spec_values.AUDIO_MODEL})
        bad_voice = http.get(TEXT, params={**params, "voice": "robot"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    audio = response.content
    assert len(audio) % MP3_FRAME_BYTES == 0
    frames = [audio[i : i + MP3_FRAME_BYTES] for i in range(0, len(audio), MP3_FRAME_BYTES)]
    assert all(frame[:4] == bytes.fromhex("fffb9064") == MP3_FRAME_HEADER for frame in frames)
    # Frame sync (11 bits), MPEG-1, Layer III, 128 kbit/s, 44.1 kHz.
    header = int.from_bytes(audio[:4], "big")
    assert header >> 21 == 0x7FF
    assert (header >> 19) & 0b11 == 0b11 and (header >> 17) & 0b11 == 0b01
    assert (header >> 12) & 0xF == 0b1001 and (header >> 10) & 0b11 == 0
    assert len(frames) == len("[openai-audio/nova] You said: say this")
    assert again.content == audio
    assert len(longer.content) > len(audio)
    assert len(default_voice.content) == len("[openai-audio/alloy] You said: say this") * MP3_FRAME_BYTES
    assert bad_voice.status_code == 400
    assert "voice must be one of" in bad_voice.json()["error"]


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind, width, height, depth, colour = struct.unpack(">I4sIIBB", png[8:26])
    assert (length, kind, depth, colour) == (13, b"IHDR", 8, 2)
    return width, height


def test_generate_image_links_a_real_png_of_the_requested_size(mode: str) -> None:
    with sync_http(Emulator(), mode) as http:
        answer = http.get(
            IMAGE, params={"user_input": "a red fox", "width": "200", "height": "64", "wm": "tests", "seed": "9"}
        ).json()
        image = http.get(answer["image_url"])
    assert answer["model"] == spec_values.DEFAULT_IMAGE_MODEL
    assert answer["seed"] == 9
    assert answer["image_url"].startswith(str(http.base_url).rstrip("/") + "/images/")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert _png_size(image.content) == (200, 64)
    picture = Image.open(io.BytesIO(image.content))
    picture.load()
    assert picture.size == (200, 64)
    assert picture.mode == "RGB"
    assert picture.info["Comment"] == "tests"
    assert picture.getpixel((199, 63)) == (255, 255, 255)  # the logo, bottom-right


def test_generate_image_defaults_and_nologo(mode: str) -> None:
    with sync_http(Emulator(), mode) as http:
        first = http.get(IMAGE, params={"user_input": "a cat"}).json()
        second = http.get(IMAGE, params={"user_input": "a cat"}).json()
        other = http.get(IMAGE, params={"user_input": "a dog", "model": "turbo"}).json()
        with_logo = http.get(IMAGE, params={"user_input": "a cat", "width": "64", "height": "64", "seed": "1"})
        without = http.get(
            IMAGE, params={"user_input": "a cat", "width": "64", "height": "64", "seed": "1", "nologo": "true"}
        )
        logo_png = http.get(with_logo.json()["image_url"]).content
        plain_png = http.get(without.json()["image_url"]).content
        default_png = http.get(first["image_url"]).content
    assert first == second
    assert first["seed"] == default_seed("a cat")
    assert other["seed"] == default_seed("a dog") != first["seed"]
    assert other["model"] == "turbo"
    assert _png_size(default_png) == (768, 768)
    logo, plain = Image.open(io.BytesIO(logo_png)), Image.open(io.BytesIO(plain_png))
    assert logo.size == plain.size == (64, 64)
    assert logo.getpixel((63, 63)) == (255, 255, 255)
    assert plain.getpixel((63, 63)) != (255, 255, 255)
    assert logo.getpixel((0, 0)) == plain.getpixel((0, 0))


IMAGE_RULES = spec_values.PARAMETERS["generate_image"]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"width": "100"}, "missing required parameter: user_input"),
        ({"user_input": "x", "width": _below("width", 1, IMAGE_RULES).removesuffix(".0")}, "width must be at least 64"),
        (
            {"user_input": "x", "height": _above("height", 1, IMAGE_RULES).removesuffix(".0")},
            "height must be at most 2048",
        ),
        ({"user_input": "x", "width": "wide"}, "width must be an integer"),
        ({"user_input": "x", "height": "100.0"}, "height must be an integer"),
        ({"user_input": "x", "model": "dall-e"}, "model must be one of flux, turbo, gptimage"),
        ({"user_input": "x", "nologo": "1"}, "nologo must be true, false, True or False"),
        ({"user_input": "x", "seed": "abc"}, "seed must be an integer"),
        ({"user_input": "x", "stream": "true"}, "unknown parameter: stream"),
    ],
)
def test_generate_image_refuses_bad_parameters_with_400(mode: str, params: dict[str, str], reason: str) -> None:
    with sync_http(Emulator(), mode) as http:
        response = http.get(IMAGE, params=params)
    assert response.status_code == 400
    assert reason in response.json()["error"]


def test_unknown_paths_image_ids_and_methods(mode: str) -> None:
    with sync_http(Emulator(), mode) as http:
        missing = http.get("/api/nothing")
        no_image = http.get("/images/" + "0" * 24 + ".png")
        wrong_method = http.get(CHAT)
        wrong_method_too = http.post(TEXT, data={"user_input": "hi"})
    assert missing.status_code == 404 and "error" in missing.json()
    assert no_image.status_code == 404 and no_image.json() == {"error": "no such image"}
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert "error" in wrong_method.json()
    assert wrong_method_too.status_code == 405 and wrong_method_too.headers["allow"] == "GET"
    for response in (missing, no_image, wrong_method):
        assert "x-ratelimit-limit" in response.headers


def test_rate_limit_none_sets_no_limit(mode: str) -> None:
    with sync_http(Emulator(rate_limit=None, window_seconds=60), mode) as http:
        answers = [http.get(TEXT, params={"user_input": f"hi {n}"}) for n in range(120)]
    assert {answer.status_code for answer in answers} == {200}
    assert not any(name.startswith("x-ratelimit-") for name in answers[-1].headers)
    with pytest.raises(ValueError, match="None for no limit"):
        Emulator(rate_limit=-1)


@pytest.mark.parametrize(
    ("spec", "expected", "times", "path"),
    [
        ("status:503x3", faults.status(503), 3, None),
        ("status:429:30", faults.status(429, retry_after=30), 1, None),
        ("html-page", faults.html_page(502), 1, None),
        ("HTML_PAGE:200x2@/status", faults.html_page(200), 2, "/status"),
        ("bad-json", faults.bad_json(), 1, None),
        ("missing-response", faults.missing_response(), 1, None),
        ("wrong-content-type:image/png", faults.wrong_content_type("image/png"), 1, None),
        ("reset", faults.reset(), 1, None),
        ("cut-stream:2@/api/generate_response", faults.cut_stream(2), 1, "/api/generate_response"),
        ("cut-stream", faults.cut_stream(), 1, None),
        ("slow-first-byte:1.5", faults.slow_first_byte(1.5), 1, None),
        ("slow-stream:0.2x10", faults.slow_stream(0.2), 10, None),
    ],
)
def test_a_fault_written_as_text(spec: str, expected: Fault, times: int, path: str | None) -> None:
    scripted = parse_fault(spec)
    assert (scripted.fault, scripted.times, scripted.path) == (expected, times, path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bogus:1", "unknown fault 'bogus': write KIND[:ARG"),
        ("", "'' is not a fault"),
        ("status", "status takes 1 to 2 argument(s) after ':', got 0"),
        ("reset:1", "reset takes 0 argument(s) after ':', got 1"),
        ("status:abc", "the status code must be a whole number, not 'abc'"),
        ("status:999", "the status code must be 100-599, not 999"),
        ("slow-stream:-1", "SECONDS must be >= 0, not -1"),
        ("status:503x0", "x0: a fault serves at least one request"),
        ("status:503@status", "is not a fault"),
    ],
)
def test_a_fault_written_wrong_says_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_fault(spec)


def test_a_parsed_fault_is_injected_as_written(mode: str) -> None:
    emulator = Emulator()
    scripted = parse_fault("status:503x2@/status")
    emulator.inject(scripted.fault, times=scripted.times, path=scripted.path)
    with sync_http(emulator, mode) as http:
        text = http.get(TEXT, params={"user_input": "hi"})
        statuses = [http.get("/status").status_code for _ in range(3)]
    assert text.status_code == 200
    assert statuses == [503, 503, 200]


def test_image_urls_answer_head_and_get_like_static_files(mode: str) -> None:
    """llm's `-a <url>` asks HEAD first for the content type; a 405 there failed it."""
    emulator = Emulator()
    with sync_http(emulator, mode) as http:
        url = http.get(IMAGE, params={"user_input": "a fox", "width": "64", "height": "80"}).json()["image_url"]
        path = httpx.URL(url).path
        got = http.get(path)
        head = http.head(path)
        again = http.get(path, headers={"if-none-match": got.headers["etag"]})
        missing = http.head("/images/" + "0" * 24 + ".png")
        wrong = http.post(path)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "cache-control"):
        assert head.headers[name] == got.headers[name], name
    assert head.headers["content-type"] == "image/png"
    assert int(head.headers["content-length"]) == len(got.content) > 0
    assert again.content == got.content  # a validator, not a conditional server: always the file
    assert (missing.status_code, missing.content) == (404, b"")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD"
    assert [request.method for request in emulator.requests] == ["GET", "GET", "HEAD", "GET", "HEAD", "POST"]


@pytest.mark.parametrize(
    ("chat_paths", "answering"),
    [
        (None, {"/dsai_fuck_u_spammer", "/generate_response"}),
        (["/generate_response"], {"/generate_response"}),
        (["/dsai_fuck_u_spammer"], {"/dsai_fuck_u_spammer"}),
        ([], set()),
        (["/chat/v3"], {"/chat/v3"}),  # a move nobody has seen yet
    ],
)
def test_chat_is_served_at_the_chosen_paths_only(mode: str, chat_paths: list[str] | None, answering: set[str]) -> None:
    emulator = Emulator() if chat_paths is None else Emulator(chat_paths=chat_paths)
    assert emulator.chat_paths == (spec_values.CHAT_PATHS if chat_paths is None else tuple(chat_paths))
    fields = {"user_input": "hi", "ai_model": "gemini-2.0-flash-lite"}
    with sync_http(emulator, mode) as http:
        answers = {path: http.post(path, data=fields) for path in {*spec_values.CHAT_PATHS, "/chat/v3"}}
    for path, answer in answers.items():
        if path in answering:
            assert answer.status_code == 200
            assert answer.json() == {"response": "[gemini-2.0-flash-lite] You said: hi"}
        else:
            assert answer.status_code == 404
            assert answer.json() == {"error": "not found"}
    assert [r.path for r in emulator.requests] == list(answers)


def test_chat_paths_can_change_while_serving() -> None:
    emulator = Emulator(chat_paths=["/generate_response"])
    fields = {"user_input": "hi", "ai_model": "gemini-2.0-flash-lite"}
    with serve(emulator) as server, httpx.Client(base_url=server.url, trust_env=False) as http:
        assert http.post("/dsai_fuck_u_spammer", data=fields).status_code == 404
        emulator.chat_paths = ["/dsai_fuck_u_spammer"]
        assert http.post("/dsai_fuck_u_spammer", data=fields).status_code == 200
        assert http.post("/generate_response", data=fields).status_code == 404
        # A GET to a chat path is a known path with another method.
        assert http.get("/dsai_fuck_u_spammer").headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("paths", "error"),
    [
        ("/generate_response", TypeError),
        (["generate_response"], ValueError),
        (["/chat?x=1"], ValueError),
        (["/api/generate_response"], ValueError),
        (["/status"], ValueError),
        ([42], ValueError),
    ],
)
def test_chat_paths_are_checked(paths: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        Emulator(chat_paths=paths)
    emulator = Emulator()
    with pytest.raises(error):
        emulator.chat_paths = paths
    assert emulator.chat_paths == spec_values.CHAT_PATHS


# -- keys and limits -----------------------------------------------------------------------------


def test_rate_limit_counts_per_key_and_answers_429_past_it(mode: str) -> None:
    clock = FakeClock(1_000_000.25)
    emulator = Emulator(rate_limit=3, window_seconds=60, clock=clock)
    with sync_http(emulator, mode) as http:
        seen = [rate_headers(http.get(TEXT, params={"user_input": "hi", "api_key": "alpha"})) for _ in range(3)]
        assert seen == [(3, 2, 1_000_061), (3, 1, 1_000_061), (3, 0, 1_000_061)]

        clock.now += 20
        refused = http.get(TEXT, params={"user_input": "hi", "api_key": "alpha"})
        assert refused.status_code == 429
        assert "error" in refused.json()
        assert refused.headers["retry-after"] == "40"  # 1_000_060.25 - 1_000_020.25
        assert rate_headers(refused) == (3, 0, 1_000_061)

        # Other keys, and no key at all, have windows of their own.
        beta = http.get(IMAGE, params={"user_input": "hi", "api_key": "beta"})
        anonymous = http.post(CHAT, data=CHAT_FORM)
        assert (beta.status_code, rate_headers(beta)[1]) == (200, 2)
        assert (anonymous.status_code, rate_headers(anonymous)[1]) == (200, 2)

        # /status and refused requests do not count; 400s do.
        assert rate_headers(http.get("/status", params={"api_key": "beta"}))[1] == 2
        assert http.get(TEXT, params={"api_key": "beta"}).status_code == 400
        assert rate_headers(http.get("/status", params={"api_key": "beta"}))[1] == 1

        clock.now = 1_000_060.0  # a quarter second before the reset
        assert http.get(TEXT, params={"user_input": "hi", "api_key": "alpha"}).headers["retry-after"] == "1"

        clock.now = 1_000_061.0  # the window is over: a new one opens
        renewed = http.get(TEXT, params={"user_input": "hi", "api_key": "alpha"})
        assert renewed.status_code == 200
        assert rate_headers(renewed) == (3, 2, 1_000_121)


def test_rejected_key_gets_401_without_counting(mode: str) -> None:
    emulator = Emulator(rate_limit=5, rejected_keys={"revoked-key"})
    with sync_http(emulator, mode) as http:
        refused = http.get(TEXT, params={"user_input": "hi", "api_key": "revoked-key"})
        status = http.get("/status", params={"api_key": "revoked-key"})
        accepted = http.get(TEXT, params={"user_input": "hi", "api_key": "good-key"})
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid API key"}
    assert rate_headers(refused)[1] == 5
    assert status.status_code == 401
    assert accepted.status_code == 200


def test_the_api_key_never_reaches_an_answer_or_a_log_line(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dynaspark_sdk.testing")
    secret, revoked = "sk-SECRET-0123456789", "sk-REVOKED-987654321"
    emulator = Emulator(rate_limit=4, rejected_keys={revoked})
    answers: list[httpx.Response] = []
    with sync_http(emulator, mode) as http:
        answers.append(http.get(TEXT, params={"user_input": "hi", "api_key": secret}))
        answers.append(http.get(TEXT, params={"user_input": "hi", "api_key": secret, "temperature": "9"}))
        answers.append(http.get(TEXT, params=[("user_input", "hi"), ("api_key", secret), ("api_key", secret)]))
        answers.append(http.get(IMAGE, params={"user_input": "hi", "api_key": secret}))
        answers.append(http.get(TEXT, params={"user_input": "hi", "api_key": secret}))
        answers.append(http.get(TEXT, params={"user_input": "hi", "api_key": revoked}))
        answers.append(http.get("/nowhere", params={"api_key": secret}))
    assert [a.status_code for a in answers] == [200, 400, 400, 200, 429, 401, 404]
    for answer in answers:
        shown = answer.content.decode() + repr(answer.headers.multi_items())
        assert secret not in shown and revoked not in shown
    assert caplog.records  # the emulator does log each request
    assert secret not in caplog.text and revoked not in caplog.text
    assert emulator.requests[0].api_key == secret
    assert secret not in repr(emulator.requests[0])


def test_rate_limit_is_exact_under_concurrent_threads() -> None:
    emulator = Emulator(rate_limit=100)
    statuses: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(40):
            status = emulator.handle("GET", TEXT, [("user_input", "hi")]).status
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 100
    assert statuses.count(429) == 220
    assert len(emulator.requests) == 320


def test_requests_record_what_went_on_the_wire(mode: str) -> None:
    emulator = Emulator()
    with sync_http(emulator, mode) as http:
        http.get(TEXT, params=[("user_input", "é & ="), ("api_key", "k1")], headers={"X-Trace": "abc"})
    (record,) = emulator.requests
    assert (record.method, record.path) == ("GET", TEXT)
    assert record.query == (("user_input", "é & ="), ("api_key", "k1"))
    assert record.params == {"user_input": "é & =", "api_key": "k1"}
    assert record.header("x-trace") == "abc"
    assert record.header("X-TRACE") == "abc"
    assert record.body == b""
    emulator.clear_requests()
    assert emulator.requests == []


# -- faults, sync and async ----------------------------------------------------------------------


@attrs.frozen
class Outcome:
    status: int
    headers: httpx.Headers
    body: bytes


@attrs.frozen
class FaultCase:
    fault: Fault
    path: str
    params: dict[str, str]
    check: Callable[[Outcome], None]


def _is_503_with_retry_after(outcome: Outcome) -> None:
    assert outcome.status == 503
    assert json.loads(outcome.body) == {"error": "try later"}
    assert outcome.headers["retry-after"] == "7"
    assert outcome.headers["x-extra"] == "1"
    assert "x-ratelimit-remaining" in outcome.headers


def _is_default_500(outcome: Outcome) -> None:
    assert outcome.status == 500
    assert json.loads(outcome.body) == {"error": "Internal Server Error"}


def _is_waking_page(status: int) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        assert outcome.status == status
        assert outcome.headers["content-type"].startswith("text/html")
        assert b"Service waking up" in outcome.body
        assert "x-ratelimit-limit" not in outcome.headers  # Render's proxy answered

    return check


def _is_broken_json(outcome: Outcome) -> None:
    assert outcome.status == 200
    assert outcome.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(outcome.body)


def _lacks_response(outcome: Outcome) -> None:
    assert outcome.status == 200
    body = json.loads(outcome.body)
    assert isinstance(body, dict) and "response" not in body


def _is_xml(outcome: Outcome) -> None:
    assert outcome.status == 200
    assert outcome.headers["content-type"] == "application/xml"
    assert outcome.body.startswith(b"<?xml")


def _is_png(outcome: Outcome) -> None:
    assert outcome.status == 200
    assert outcome.headers["content-type"] == "image/png"
    assert _png_size(outcome.body) == (1, 1)


def _is_slow_but_whole_stream(outcome: Outcome) -> None:
    assert outcome.status == 200
    payloads = sse_contents(outcome.body)
    assert delta_text(payloads) == "[openai] You said: a b c"
    assert payloads[-1] == "[DONE]"


def _is_normal_text(outcome: Outcome) -> None:
    assert outcome.status == 200
    assert json.loads(outcome.body)["response"] == "[openai] You said: a b c"


STREAM = {"user_input": "a b c", "stream": "true"}
PROMPT = {"user_input": "a b c"}

FAULT_CASES = {
    "status": FaultCase(
        faults.status(503, error="try later", headers={"X-Extra": "1"}, retry_after=7),
        TEXT,
        PROMPT,
        _is_503_with_retry_after,
    ),
    "status-default-error": FaultCase(faults.status(500), "/status", {}, _is_default_500),
    "html-502": FaultCase(faults.html_page(), TEXT, PROMPT, _is_waking_page(502)),
    "html-200": FaultCase(faults.html_page(status=200), "/status", {}, _is_waking_page(200)),
    "bad-json": FaultCase(faults.bad_json(), TEXT, PROMPT, _is_broken_json),
    "missing-response": FaultCase(faults.missing_response(), TEXT, PROMPT, _lacks_response),
    "xml": FaultCase(faults.wrong_content_type(), TEXT, PROMPT, _is_xml),
    "png": FaultCase(faults.wrong_content_type("image/png"), TEXT, PROMPT, _is_png),
    "slow-first-byte": FaultCase(faults.slow_first_byte(0.01), TEXT, PROMPT, _is_normal_text),
    "slow-stream": FaultCase(faults.slow_stream(0.005), TEXT, STREAM, _is_slow_but_whole_stream),
}


@pytest.mark.parametrize("case", FAULT_CASES.values(), ids=FAULT_CASES.keys())
def test_each_fault_once_then_normal_sync(mode: str, case: FaultCase) -> None:
    emulator = Emulator()
    emulator.inject(case.fault)
    with sync_http(emulator, mode) as http:
        with http.stream("GET", case.path, params=case.params) as response:
            outcome = Outcome(response.status_code, response.headers, response.read())
        after = http.get(TEXT, params=PROMPT)
    case.check(outcome)
    _is_normal_text(Outcome(after.status_code, after.headers, after.content))
    assert emulator.pending_faults == 0


@pytest.mark.anyio
@pytest.mark.parametrize("case", FAULT_CASES.values(), ids=FAULT_CASES.keys())
async def test_each_fault_once_then_normal_async(mode: str, case: FaultCase) -> None:
    emulator = Emulator()
    emulator.inject(case.fault)
    async with async_http(emulator, mode) as http:
        async with http.stream("GET", case.path, params=case.params) as response:
            outcome = Outcome(response.status_code, response.headers, await response.aread())
        after = await http.get(TEXT, params=PROMPT)
    case.check(outcome)
    _is_normal_text(Outcome(after.status_code, after.headers, after.content))


def test_reset_raises_read_error_then_the_client_recovers_sync(mode: str) -> None:
    emulator = Emulator()
    emulator.inject(faults.reset())
    with sync_http(emulator, mode) as http:
        with pytest.raises(httpx.ReadError):
            http.get(TEXT, params=PROMPT)
        assert http.get(TEXT, params=PROMPT).status_code == 200
    assert len(emulator.requests) == 2  # the reset request did arrive


@pytest.mark.anyio
async def test_reset_raises_read_error_then_the_client_recovers_async(mode: str) -> None:
    emulator = Emulator()
    emulator.inject(faults.reset())
    async with async_http(emulator, mode) as http:
        with pytest.raises(httpx.ReadError):
            await http.get(TEXT, params=PROMPT)
        assert (await http.get(TEXT, params=PROMPT)).status_code == 200


def _received_then_error_sync(http: httpx.Client, params: dict[str, str]) -> tuple[bytes, Exception]:
    received = b""
    try:
        with http.stream("GET", TEXT, params=params) as response:
            for chunk in response.iter_raw():
                received += chunk
    except httpx.HTTPError as error:
        return received, error
    raise AssertionError("the body was complete")


async def _received_then_error_async(http: httpx.AsyncClient, params: dict[str, str]) -> tuple[bytes, Exception]:
    received = b""
    try:
        async with http.stream("GET", TEXT, params=params) as response:
            async for chunk in response.aiter_raw():
                received += chunk
    except httpx.HTTPError as error:
        return received, error
    raise AssertionError("the body was complete")


def test_cut_stream_ends_the_body_early_sync(mode: str) -> None:
    emulator = Emulator()
    emulator.inject(faults.cut_stream(after_events=2))
    emulator.inject(faults.cut_stream())
    with sync_http(emulator, mode) as http:
        stream_received, stream_error = _received_then_error_sync(http, STREAM)
        json_received, json_error = _received_then_error_sync(http, PROMPT)
        whole = http.get(TEXT, params=PROMPT).content
    assert isinstance(stream_error, httpx.RemoteProtocolError)
    assert sse_contents(stream_received) == [
        '{"choices":[{"delta":{"content":"[openai] "}}]}',
        '{"choices":[{"delta":{"content":"You "}}]}',
    ]
    assert isinstance(json_error, httpx.RemoteProtocolError)
    assert json_received == whole[: len(whole) // 2]


@pytest.mark.anyio
async def test_cut_stream_ends_the_body_early_async(mode: str) -> None:
    emulator = Emulator()
    emulator.inject(faults.cut_stream(after_events=1))
    emulator.inject(faults.cut_stream())
    async with async_http(emulator, mode) as http:
        stream_received, stream_error = await _received_then_error_async(http, STREAM)
        json_received, json_error = await _received_then_error_async(http, PROMPT)
        whole = (await http.get(TEXT, params=PROMPT)).content
    assert isinstance(stream_error, httpx.RemoteProtocolError)
    assert sse_contents(stream_received) == ['{"choices":[{"delta":{"content":"[openai] "}}]}']
    assert isinstance(json_error, httpx.RemoteProtocolError)
    assert json_received == whole[: len(whole) // 2]


def test_slow_answers_trip_the_clients_read_timeout_sync(mode: str) -> None:
    emulator = Emulator()
    emulator.inject(faults.slow_first_byte(30))
    emulator.inject(faults.slow_stream(30))
    with sync_http(emulator, mode, read_timeout=0.05) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.get(TEXT, params=PROMPT)
        received, error = _received_then_error_sync(http, STREAM)
    assert isinstance(error, httpx.ReadTimeout)
    assert sse_contents(received) == ['{"choices":[{"delta":{"content":"[openai] "}}]}']


@pytest.mark.anyio
async def test_slow_answers_trip_the_clients_read_timeout_async(mode: str) -> None:
    emulator = Emulator()
    emulator.inject(faults.slow_first_byte(30))
    emulator.inject(faults.slow_stream(30))
    async with async_http(emulator, mode, read_timeout=0.05) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(TEXT, params=PROMPT)
        received, error = await _received_then_error_async(http, STREAM)
    assert isinstance(error, httpx.ReadTimeout)
    assert sse_contents(received) == ['{"choices":[{"delta":{"content":"[openai] "}}]}']


@pytest.mark.anyio
async def test_stream_events_arrive_one_by_one_async(mode: str) -> None:
    emulator = Emulator(stream_delay=0.005)
    async with async_http(emulator, mode) as http:
        async with http.stream("GET", TEXT, params={"user_input": "one two three four", "stream": "true"}) as r:
            chunks = [chunk async for chunk in r.aiter_raw()]
        whole = (await http.get(TEXT, params={"user_input": "one two three four"})).json()["response"]
    assert len(chunks) == 8
    assert sse_contents(chunks[0]) == ['{"choices":[{"delta":{"content":"[openai] "}}]}']
    assert sse_contents(chunks[-1]) == ["[DONE]"]
    assert delta_text(sse_contents(b"".join(chunks))) == whole


def test_faults_apply_in_order_to_matching_paths_and_can_be_cleared() -> None:
    emulator = Emulator()
    emulator.inject(faults.status(500), path=TEXT)
    emulator.inject(faults.status(503), times=2)
    emulator.inject(faults.status(418))
    assert emulator.pending_faults == 4
    with sync_http(emulator, "in-process") as http:
        assert http.get("/status").status_code == 503  # the TEXT-only fault waits for its path
        assert http.get(TEXT, params=PROMPT).status_code == 500
        assert http.get(TEXT, params=PROMPT).status_code == 503
        assert emulator.pending_faults == 1
        emulator.clear_faults()
        assert emulator.pending_faults == 0
        assert http.get("/status").status_code == 200


def test_replacing_faults_do_not_count_but_altering_faults_do() -> None:
    emulator = Emulator(rate_limit=10)
    emulator.inject(faults.status(502))
    emulator.inject(faults.html_page())
    emulator.inject(faults.slow_first_byte(0))
    with sync_http(emulator, "in-process") as http:
        assert rate_headers(http.get(TEXT, params=PROMPT))[1] == 10
        assert http.get(TEXT, params=PROMPT).status_code == 502
        assert rate_headers(http.get(TEXT, params=PROMPT))[1] == 9


def test_fault_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="times"):
        Emulator().inject(faults.reset(), times=0)
    with pytest.raises(ValueError, match="after_events"):
        faults.cut_stream(after_events=-1)
    with pytest.raises(ValueError, match="seconds"):
        faults.slow_first_byte(-1)
    with pytest.raises(ValueError, match="gap_seconds"):
        faults.slow_stream(-0.5)


# -- the core's plans ----------------------------------------------------------------------------


def test_stream_plan_sends_each_event_with_the_delay_between() -> None:
    emulator = Emulator(stream_delay=0.25)
    plan = emulator.handle("GET", TEXT, [("user_input", "x y"), ("stream", "true")])
    assert plan.streaming
    assert plan.header("content-length") is None
    sends = [step for step in plan.body if isinstance(step, SendBytes)]
    assert [step for step in plan.body if not isinstance(step, SendBytes)] == [Delay(0.25)] * (len(sends) - 1)
    assert plan.body[0] == sends[0] and plan.body[1] == Delay(0.25)
    assert sends[-1] == SendBytes(b"data: [DONE]\n\n")

    emulator.inject(faults.slow_stream(2.0))
    slowed = emulator.handle("GET", TEXT, [("user_input", "x y"), ("stream", "true")])
    assert [step for step in slowed.body if isinstance(step, SendBytes)] == sends
    assert {step for step in slowed.body if isinstance(step, Delay)} == {Delay(2.0)}

    emulator.inject(faults.cut_stream(after_events=3))
    cut = emulator.handle("GET", TEXT, [("user_input", "x y"), ("stream", "true")])
    assert cut.body == (sends[0], Delay(0.25), sends[1], Delay(0.25), sends[2], Cut())


def test_non_stream_plans_keep_their_length_when_cut_or_delayed() -> None:
    emulator = Emulator()
    whole = emulator.handle("GET", "/status")
    emulator.inject(faults.cut_stream())
    cut = emulator.handle("GET", "/status")
    assert cut.header("content-length") == str(len(whole.content()))
    assert cut.body == (SendBytes(whole.content()[: len(whole.content()) // 2]), Cut())
    emulator.inject(faults.slow_first_byte(1.5))
    assert emulator.handle("GET", "/status").first_byte_delay == 1.5
    emulator.inject(faults.reset())
    assert emulator.handle("GET", "/status").reset_before_head


# -- the loopback server itself ------------------------------------------------------------------


def test_server_keeps_connections_alive() -> None:
    with serve() as server, httpx.Client(base_url=server.url, verify=TLS) as http:
        first = http.get("/status")
        second = http.get(TEXT, params=PROMPT)
        ports = {r.extensions["network_stream"].get_extra_info("client_addr")[1] for r in (first, second)}
    assert len(ports) == 1
    assert first.headers["content-length"] == str(len(first.content))
    assert "transfer-encoding" not in first.headers


def test_server_streams_chunked() -> None:
    with serve() as server, httpx.Client(base_url=server.url, verify=TLS) as http:
        response = http.get(TEXT, params=STREAM)
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers


def test_server_answers_400_to_a_malformed_request() -> None:
    with serve() as server, socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"malformed HTTP request" in answer


def test_server_stops_cleanly_and_frees_its_port() -> None:
    emulator = Emulator()
    with httpx.Client(timeout=5, verify=TLS) as http:
        with serve(emulator) as server:
            assert server.emulator is emulator
            assert server.url == f"http://127.0.0.1:{server.port}"
            assert http.get(server.url + "/status").status_code == 200  # leaves an idle keep-alive connection
            url = server.url
        assert not [t for t in threading.enumerate() if t.name == "dynaspark-emulator"]
        with pytest.raises(httpx.TransportError):
            http.get(url + "/status")


def test_serve_refuses_a_port_in_use() -> None:
    with serve() as server, pytest.raises(OSError, match=r"(?i)address already in use"), serve(port=server.port):
        pass


@pytest.mark.anyio
async def test_server_serves_many_concurrent_streams() -> None:
    # Spread over several clients: one httpx pool with hundreds of connections is slow on its own
    # (its bookkeeping is quadratic), which would measure httpx rather than the server.
    emulator = Emulator(rate_limit=1000, stream_delay=0.002)
    texts: list[str] = []
    with serve(emulator) as server:

        async def one_client(first: int) -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=10, verify=TLS) as http:

                async def one_stream(index: int) -> None:
                    params = {"user_input": f"stream number {index}", "stream": "true"}
                    async with http.stream("GET", TEXT, params=params) as response:
                        texts.append(delta_text(sse_contents(await response.aread())))

                async with anyio.create_task_group() as group:
                    for index in range(first, first + 25):
                        group.start_soon(one_stream, index)

        async with anyio.create_task_group() as group:
            for first in range(0, 100, 25):
                group.start_soon(one_client, first)
    assert sorted(texts) == sorted(f"[openai] You said: stream number {i}" for i in range(100))


@pytest.mark.serial  # gives a subprocess a fixed time to start or to answer a signal
def test_run_forever_serves_until_interrupted() -> None:
    script = (
        "import sys\n"
        "from dynaspark_sdk.testing import run_forever\n"
        "try:\n"
        "    run_forever('127.0.0.1', 0, on_ready=lambda url: print(url, flush=True))\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped', flush=True)\n"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        try:
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            with httpx.Client(base_url=url, timeout=5, verify=TLS) as http:
                assert http.get(TEXT, params=PROMPT).json()["response"] == "[openai] You said: a b c"
            process.send_signal(signal.SIGINT)
            rest, _ = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert rest.strip() == "stopped"
    assert process.returncode == 0
