"""The spec and the emulator agree: Schemathesis drives the emulator with requests made from
openapi/dynaspark.yaml and checks every answer against the spec.

The emulator runs on a loopback socket (`serve()`), with a rate limit too high to interfere.
Schemathesis generates valid and invalid requests (its examples, coverage and fuzzing phases, in
positive and negative mode) and runs all its built-in checks on each answer, the default ones
(not_a_server_error, status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance) among them, plus
positive_data_acceptance (a request the spec allows gets a 2xx) and negative_data_rejection (one it
forbids gets a 4xx). Answers a fuzzer rarely reaches (event streams, MP3 audio, 401, 429, a seed
of 4301 digits) are asked for explicitly and checked the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from wire import JPEG, PNG

from dynaspark_sdk._generated import spec_values
from dynaspark_sdk.testing import MP3_FRAME_BYTES, MP3_FRAME_HEADER, Emulator, EmulatorServer, serve

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "dynaspark.yaml"
REJECTED_KEY = "rejected-key"

# The spec's `file` part is "one image ... sent with its image content type": a part declared
# image/png carries PNG bytes. JSON Schema cannot say so, so Schemathesis is told what each of the
# four content types of the part's `encoding` looks like (its documented way for media types).
IMAGE_SIGNATURES = {
    "image/png": PNG[:16],
    "image/jpeg": JPEG[:4],
    "image/gif": b"GIF89a",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
}


def image_bytes(signature: bytes) -> st.SearchStrategy[bytes]:
    """Bytes that start as an image of one type does."""
    return st.binary(max_size=64).map(lambda tail: signature + tail)


for _content_type, _signature in IMAGE_SIGNATURES.items():
    schemathesis.openapi.media_type(_content_type, image_bytes(_signature))

schema = schemathesis.openapi.from_path(
    SPEC,
    config=schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": 100},
            "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
        }
    ),
)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=10**9, rejected_keys={REJECTED_KEY})) as running:
        yield running


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.trust_env = False  # loopback only: no proxy from the environment
        yield http


def _breaks_the_chat_form(case: schemathesis.Case[Any]) -> bool:
    """Whether a chat body lacks a valid user_input or ai_model, which the spec requires."""
    body = case.body
    if case.operation.path not in spec_values.CHAT_PATHS or not isinstance(body, dict):
        return False
    prompt, model = body.get("user_input"), body.get("ai_model")
    return not (isinstance(prompt, str) and prompt and model in spec_values.CHAT_MODELS)


def _violation_a_form_cannot_carry(case: schemathesis.Case[Any]) -> bool:
    """Whether a negative chat case breaks the spec only by a user_input that is no string (null,
    a number, a boolean). A form has no types: such a value goes out as its text ("null", "5"),
    which is a valid prompt, so the service is right to answer it."""
    body = case.body
    if case.operation.path not in spec_values.CHAT_PATHS or not isinstance(body, dict):
        return False
    prompt = body.get("user_input")
    # Bytes from the media-type strategies above (despite the JSON typing), or the spec's own
    # example wrapped in Schemathesis's Binary (the examples phase).
    image: object = body.get("file")
    image = getattr(image, "data", image)
    return (
        "user_input" in body
        and set(body) <= {"user_input", "ai_model", "file"}
        and (prompt is None or isinstance(prompt, int | float | bool))
        and body.get("ai_model") in spec_values.CHAT_MODELS
        and (image is None or (isinstance(image, bytes) and image.startswith(tuple(IMAGE_SIGNATURES.values()))))
    )


@schema.parametrize()
def test_every_answer_of_the_emulator_conforms_to_the_spec(
    case: schemathesis.Case[Any], server: EmulatorServer, session: requests.Session
) -> None:
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive and _breaks_the_chat_form(case):
        # Schemathesis 4.32's coverage phase fills the required fields next to a custom-typed file
        # part with empty strings and still labels the case positive. It is a negative case, and is
        # checked as one: every other check, and the 400 the spec promises for bad parameters.
        response = case.call(base_url=server.url, session=session)
        case.validate_response(
            response,
            excluded_checks=[positive_data_acceptance],
            transport_kwargs={"base_url": server.url, "session": session},
        )
        assert response.status_code == 400
        return
    if meta is not None and not meta.generation.mode.is_positive and _violation_a_form_cannot_carry(case):
        response = case.call(base_url=server.url, session=session)
        case.validate_response(
            response,
            excluded_checks=[negative_data_rejection],
            transport_kwargs={"base_url": server.url, "session": session},
        )
        # Schemathesis sends such a value as its text ("null", "5"), a prompt like any other, or
        # leaves a null out; the image part may carry another fault (a mislabelled example). So
        # the answer is a 200 for a form that carried a prompt, or a 400 for a real fault.
        sent = response.request.body
        assert isinstance(sent, bytes)
        assert response.status_code in (200, 400)
        if b'name="user_input"' not in sent:
            assert response.status_code == 400
        return
    case.call_and_validate(base_url=server.url, session=session)


# --------------------------------------------------------------------------- answers a fuzzer rarely reaches


def call_and_validate(
    server: EmulatorServer, session: requests.Session, path: str, method: str, **parts: Any
) -> schemathesis.Response:
    """One explicit request, with every check Schemathesis has."""
    return schema[path][method].Case(**parts).call_and_validate(base_url=server.url, session=session)


def header(response: schemathesis.Response, name: str) -> str:
    """The first value of a header of the answer."""
    return response.headers[name.lower()][0]


def sse_payloads(body: bytes) -> list[str]:
    """The `data` of each event of a text/event-stream body."""
    events = body.decode("utf-8").replace("\r\n", "\n").split("\n\n")
    return [line.removeprefix("data: ") for event in events for line in event.split("\n") if line.startswith("data:")]


@pytest.mark.parametrize(
    "query",
    [
        {"user_input": "one two three", "stream": "true"},
        {"user_input": "one two three", "stream": "true", "json": "true", "model": "m", "seed": "7"},
        {"user_input": "\x00 ☃ \r\n", "stream": "true", "system": "s", "temperature": "3", "top_p": "0"},
    ],
)
def test_event_streams_conform_to_the_spec(
    server: EmulatorServer, session: requests.Session, query: dict[str, str]
) -> None:
    response = call_and_validate(server, session, "/api/generate_response", "GET", query=query)
    assert response.status_code == 200
    assert header(response, "content-type").startswith("text/event-stream")
    payloads = sse_payloads(response.content)
    assert len(payloads) > 1
    assert payloads[-1] == "[DONE]"


@pytest.mark.parametrize("voice", [None, *spec_values.VOICES])
@pytest.mark.parametrize("stream", [None, "true"])
def test_audio_answers_conform_to_the_spec(
    server: EmulatorServer, session: requests.Session, voice: str | None, stream: str | None
) -> None:
    query = {"user_input": "hello", "model": spec_values.AUDIO_MODEL}
    if voice is not None:
        query["voice"] = voice
    if stream is not None:
        query["stream"] = stream  # speech ignores it
    response = call_and_validate(server, session, "/api/generate_response", "GET", query=query)
    assert response.status_code == 200
    assert header(response, "content-type") == "audio/mpeg"
    spoken = f"[{spec_values.AUDIO_MODEL}/{voice or spec_values.DEFAULT_VOICE}] You said: hello"
    assert response.content.startswith(MP3_FRAME_HEADER)
    assert len(response.content) == MP3_FRAME_BYTES * len(spoken)


@pytest.mark.parametrize("path", spec_values.CHAT_PATHS)
@pytest.mark.parametrize(
    ("content_type", "data"), [(content_type, head + bytes(8)) for content_type, head in IMAGE_SIGNATURES.items()]
)
def test_chat_with_each_image_type_conforms_to_the_spec(
    server: EmulatorServer, session: requests.Session, content_type: str, data: bytes, path: str
) -> None:
    response = call_and_validate(
        server,
        session,
        path,
        "POST",
        body={"user_input": "what is this?", "ai_model": "gemini-2.0-flash", "file": data},
        media_type="multipart/form-data",
        multipart_content_types={"file": content_type},
    )
    assert response.status_code == 200
    assert response.json()["response"].endswith(f"(with a {len(data)}-byte {content_type} image)")


def test_a_rejected_key_gets_a_401_as_the_spec_says(server: EmulatorServer, session: requests.Session) -> None:
    for path in ("/api/generate_response", "/api/generate_image"):
        query = {"user_input": "hi", "api_key": REJECTED_KEY}
        assert call_and_validate(server, session, path, "GET", query=query).status_code == 401


def test_a_rate_limited_answer_conforms_to_the_spec(session: requests.Session) -> None:
    with serve(Emulator(rate_limit=1)) as limited:
        query = {"user_input": "hi"}
        assert call_and_validate(limited, session, "/api/generate_image", "GET", query=query).status_code == 200
        refused = call_and_validate(limited, session, "/api/generate_image", "GET", query=query)
    assert refused.status_code == 429
    assert int(header(refused, "retry-after")) >= 1
    assert header(refused, "x-ratelimit-remaining") == "0"


@pytest.mark.parametrize("operation", ["generate_text", "generate_image"])
@pytest.mark.parametrize("digits", [4300, 4301])
def test_a_seed_of_any_length_is_answered_as_the_spec_says(
    server: EmulatorServer, session: requests.Session, operation: str, digits: int
) -> None:
    # 4301 digits is past what Python's int() reads by default. The answer must still be the
    # spec's: a 2xx while the seed is within the spec's bounds (today it has none), else a 400.
    seed = 10**digits - 1
    rule = spec_values.PARAMETERS[operation]["seed"]
    allowed = (rule.minimum is None or seed >= rule.minimum) and (rule.maximum is None or seed <= rule.maximum)
    path = {"generate_text": "/api/generate_response", "generate_image": "/api/generate_image"}[operation]
    query = {"user_input": "hi", "seed": "9" * digits}
    assert call_and_validate(server, session, path, "GET", query=query).status_code == (200 if allowed else 400)
