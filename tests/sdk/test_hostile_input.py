"""Hostile input: every argument either makes a well-formed request or fails before anything is sent.

Hypothesis throws arbitrary Python values at every argument of chat(), stream_chat(), generate_text(),
stream_text(), generate_image() and generate_audio(), on both clients (the async one on asyncio and
trio). A reference written here from the contract (the spec's rules in `spec_values`, gpt4free's
folding rule in the service notes, the SDK's documented message and media rules) says whether the
input can be sent:

- it can: exactly one request went out; it decodes back exactly to what was given (query strings,
  url-encoded and multipart bodies split at their real boundary, booleans as true/false, nothing
  dropped or cut); and the emulator, which checks every request against the spec, answered 2xx;
- it cannot: `InvalidRequestError` (a ValueError) was raised and the transport saw nothing.

Any other exception fails. Also here: multipart boundary look-alikes and NUL in prompts, prompts of
several MB (sent byte-exact by chat() over a real socket, refused by the GET endpoints), and an image
file that changes size after it was checked.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from conftest import BASE_URL, Dual, Hook, emulator_transport, open_dual
from hypothesis import HealthCheck, Phase, currently_in_test_context, event, given, note, settings
from hypothesis import strategies as st
from wire import JPEG, PNG, form_of, query_of

from dynaspark_sdk import InvalidRequestError, MediaError, RetryPolicy
from dynaspark_sdk._generated import spec_values
from dynaspark_sdk._generated.spec_values import Rule
from dynaspark_sdk._operations.text import _SET_BY_ARGUMENTS as SET_BY_ARGUMENTS
from dynaspark_sdk._plans import MAX_URL_BYTES
from dynaspark_sdk.testing import (
    MP3_FRAME_BYTES,
    MP3_FRAME_HEADER,
    AsyncEmulatorTransport,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
    echo_line,
    faults,
    serve,
)

pytestmark = pytest.mark.anyio
T = TypeVar("T")

# The fixtures these tests take (client_kind, anyio_backend, server) hold no per-example state.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    # Without the "explain" phase: under the anyio plugin it cannot point at our code, and it is slow.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
TEXT_RULES = spec_values.PARAMETERS["generate_text"]
IMAGE_RULES = spec_values.PARAMETERS["generate_image"]
SYSTEM_ROLES = frozenset({"system", "developer"})
UNLIMITED = 10**9
FAST_RETRY = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)


# --------------------------------------------------------------------------- what was sent


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Keeps every request that reaches it (body read in full), then lets the emulator answer it."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.requests: list[httpx.Request] = []
        self._sync = EmulatorTransport(emulator)
        self._async = AsyncEmulatorTransport(emulator)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self._async.handle_async_request(request)


@dataclass
class Outcome:
    """What one call did: its result (a stream's whole text) or its error, and what was sent."""

    result: Any
    error: Exception | None
    requests: list[httpx.Request]
    emulator: Emulator


STREAMING = frozenset({"stream_chat", "stream_text"})


async def call(
    kind: str,
    method: str,
    *args: Any,
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    **kwargs: Any,
) -> Outcome:
    """Call `method` on a fresh client of `kind` (no retries) over `transport`, by default a
    recording in-process emulator; a stream is read to its end."""
    if currently_in_test_context():
        # The anyio plugin hides Hypothesis's own report of the arguments.
        note(f"{kind} client: {method}(*{args!r}, **{kwargs!r})")
    recorder = RecordingTransport(Emulator(rate_limit=UNLIMITED))
    used = transport if transport is not None else recorder
    result: Any = None
    error: Exception | None = None
    async with open_dual(kind, transport=used, max_retries=0) as dual:
        try:
            result = await _finish(dual, method, args, kwargs)
        except Exception as exc:
            error = exc
    return Outcome(result, error, recorder.requests, recorder.emulator)


async def _finish(dual: Dual, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    result = await dual.call(method, *args, **kwargs)
    return "".join(await dual.collect(result)) if method in STREAMING else result


def assert_refused_before_sending(outcome: Outcome) -> None:
    """InvalidRequestError (a ValueError), and nothing reached the transport."""
    assert isinstance(outcome.error, InvalidRequestError), f"expected InvalidRequestError, got {outcome.error!r}"
    assert isinstance(outcome.error, ValueError)
    assert outcome.requests == [], "a refused call must send nothing"


def assert_sent_once(outcome: Outcome) -> httpx.Request:
    """The call succeeded (so, without retries, the emulator answered 2xx) after one request."""
    assert outcome.error is None, f"a call the contract allows failed: {outcome.error!r}"
    assert len(outcome.requests) == 1
    return outcome.requests[0]


def text_of(result: Any) -> str:
    """The text of a call's result (a whole stream already is one)."""
    return result if isinstance(result, str) else str(result.text)


@dataclass(frozen=True)
class Part:
    """One part of a multipart body, as sent."""

    value: bytes
    filename: str | None = None
    content_type: str | None = None


_DISPOSITION = re.compile(r'form-data; name="([^"]*)"(?:; filename="([^"]*)")?')


def _unescape_form_name(text: str) -> str:
    # httpx (like browsers) escapes these three in names and filenames.
    return text.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


def multipart_parts(request: httpx.Request) -> dict[str, Part]:
    """The parts of a multipart/form-data body, split exactly at its boundary: no lenient parser
    that could hide a prompt which broke the body's framing."""
    media_type, _, parameters = request.headers["content-type"].partition(";")
    assert media_type == "multipart/form-data"
    boundary = parameters.strip().removeprefix("boundary=").strip('"').encode("latin-1")
    assert re.fullmatch(rb"[0-9A-Za-z'()+_,./:=?-]{1,70}", boundary)
    opening, closing, between = b"--" + boundary + b"\r\n", b"\r\n--" + boundary + b"--\r\n", b"\r\n--" + boundary
    body = request.content
    assert body.startswith(opening)
    assert body.endswith(closing)
    parts: dict[str, Part] = {}
    for chunk in body[len(opening) : -len(closing)].split(between + b"\r\n"):
        head, separator, value = chunk.partition(b"\r\n\r\n")
        assert separator, "a part without the blank line after its headers"
        headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        match = _DISPOSITION.fullmatch(headers.pop(b"Content-Disposition").decode("utf-8"))
        assert match is not None
        name = _unescape_form_name(match[1])
        filename = None if match[2] is None else _unescape_form_name(match[2])
        content_type = headers.pop(b"Content-Type", None)
        assert not headers, f"unexpected part headers {headers!r}"
        assert name not in parts, f"part {name!r} sent twice"
        parts[name] = Part(value, filename, None if content_type is None else content_type.decode("latin-1"))
    return parts


def decoded(rule: Rule, raw: str) -> object:
    """A query value read back the way the spec types it (what the emulator does too)."""
    if rule.type == "boolean":
        assert raw in ("true", "false"), f"a boolean sent as {raw!r}"
        return raw == "true"
    if rule.type == "integer":
        assert re.fullmatch(r"-?[0-9]+", raw), f"an integer sent as {raw!r}"
        return int(raw)
    if rule.type == "number":
        return float(raw)
    return raw


def assert_same(sent: object, given: object) -> None:
    """Equal, and for floats also of the same sign (-0.0 must stay -0.0)."""
    assert sent == given
    if isinstance(given, float):
        assert isinstance(sent, float)
        assert math.copysign(1, sent) == math.copysign(1, given)


def assert_query_is(request: httpx.Request, rules: Mapping[str, Rule], expected: Mapping[str, object]) -> None:
    """The query holds exactly `expected`, every value decoding back to what was given."""
    assert request.method == "GET"
    sent = query_of(request)
    assert set(sent) == set(expected)
    for name, value in expected.items():
        assert_same(decoded(rules[name], sent[name]), value)
    assert len(str(request.url).encode()) <= MAX_URL_BYTES


# --------------------------------------------------------------------------- the reference


def encodable(text: str) -> bool:
    """Whether the text can go on the wire as UTF-8 (a lone surrogate cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def sendable_prompt(value: object) -> bool:
    """The SDK's prompt rule: a string with something besides white space, that UTF-8 can carry."""
    return isinstance(value, str) and bool(value.strip()) and encodable(value)


def fits(rule: Rule, value: object) -> bool:
    """Whether a Python value is one the spec's rule allows (the SDK takes no look-alikes:
    no 1 for True, no "0.5" for 0.5, no 2.0 for an integer)."""
    if rule.type == "boolean":
        return isinstance(value, bool)
    if rule.type in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if rule.type == "integer" and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        return (rule.minimum is None or value >= rule.minimum) and (rule.maximum is None or value <= rule.maximum)
    return (
        isinstance(value, str)
        and encodable(value)
        and len(value) >= (rule.min_length or 0)
        and (rule.enum is None or value in rule.enum)
    )


@dataclass(frozen=True)
class Said:
    """One message as the reference reads it."""

    role: str
    text: str
    images: tuple[str, ...] = ()


def reference_messages(messages: object) -> list[Said] | None:
    """The messages, or None when the SDK must refuse them: a string, or a non-empty list or tuple
    of {"role": non-blank str, "content": str | parts} with no other key but a str "name"; parts
    are {"type": "text", "text": str} or {"type": "image_url", "image_url": str | {"url": str}}
    (with a str "detail" allowed beside "url"). "name" and "detail" are not sent."""
    if isinstance(messages, str):
        return [Said("user", messages)]
    if not isinstance(messages, list | tuple) or not messages:
        return None
    said: list[Said] = []
    for message in messages:
        if not isinstance(message, dict) or set(message) - {"name"} != {"role", "content"}:
            return None
        if not isinstance(message.get("name", ""), str):
            return None
        role, content = message["role"], message["content"]
        if not isinstance(role, str) or not role.strip():
            return None
        if isinstance(content, str):
            said.append(Said(role, content))
            continue
        if not isinstance(content, list | tuple):
            return None
        text, images = "", []
        for part in content:
            if not isinstance(part, dict):
                return None
            if part.get("type") == "text" and set(part) == {"type", "text"} and isinstance(part["text"], str):
                text += part["text"]
            elif part.get("type") == "image_url" and set(part) == {"type", "image_url"}:
                url = part["image_url"]
                if isinstance(url, dict) and set(url) - {"detail"} == {"url"}:
                    if not isinstance(url.get("detail", ""), str):
                        return None
                    url = url["url"]
                if not isinstance(url, str):
                    return None
                images.append(url)
            else:
                return None
        said.append(Said(role, text, tuple(images)))
    return said


def reference_fold(said: Sequence[Said]) -> str:
    """gpt4free's format_prompt: one message as it is; otherwise `Role: text` lines for the
    messages that are not blank, joined with newlines, and a last `Assistant:` line."""
    if len(said) == 1:
        return said[0].text
    lines = [f"{message.role.capitalize()}: {message.text}" for message in said if message.text.strip()]
    return "\n".join(lines) + "\nAssistant:"


def reference_chat_model(model: object) -> str | None:
    """The ai_model sent: empty -> the default, then aliases; None when the SDK must refuse."""
    if model is not None and not isinstance(model, str):
        return None
    name = model or spec_values.DEFAULT_CHAT_MODEL
    name = spec_values.CHAT_MODEL_ALIASES.get(name, name)
    return name if name in spec_values.CHAT_MODELS else None


@dataclass(frozen=True)
class Image:
    """An image as it must arrive: its bytes, the filename and the content type its bytes show."""

    data: bytes
    filename: str
    content_type: str


def image(data: bytes, filename: str | None = None) -> Image:
    """The upload the SDK makes of these bytes (a default name from the type when none is given)."""
    content_type, extension = ("image/png", "png") if data.startswith(PNG[:8]) else ("image/jpeg", "jpg")
    return Image(data, filename or f"image.{extension}", content_type)


def data_uri(data: bytes, declared: str = "image/png") -> str:
    """A base64 data: URI (its declared type is ignored by the SDK: the bytes decide)."""
    return f"data:{declared};base64,{base64.b64encode(data).decode()}"


# image_url values -> the image they stand for, or None when the SDK must refuse them. Any other
# string is read as a path that does not exist (generated strings are kept off http(s) URLs,
# which the client would fetch: test_chat covers those).
IMAGE_URLS: dict[str, Image | None] = {
    data_uri(PNG): image(PNG),
    data_uri(JPEG, "image/gif"): image(JPEG),
    "data:image/png;base64,@@@@": None,
    "data:text/plain,hello": None,
    "data:,": None,
    "data:": None,
    "": None,
    "no such picture.png": None,
}

# media= values -> the images they hold, or None when the value itself must be refused.
MEDIA_VALUES: list[tuple[object, list[Image] | None]] = [
    (None, []),
    ([], []),
    ([None], []),
    (PNG, [image(PNG)]),
    (bytearray(JPEG), [image(JPEG)]),
    (memoryview(PNG), [image(PNG)]),
    ((PNG, "cat.png"), [image(PNG, "cat.png")]),
    ((PNG, ""), [image(PNG)]),
    ((JPEG, 'ev"il\r\nname café ☕.jpg'), [image(JPEG, 'ev"il\r\nname café ☕.jpg')]),
    ([(JPEG, None)], [image(JPEG)]),
    ([None, PNG], [image(PNG)]),
    (data_uri(PNG, "application/octet-stream"), [image(PNG)]),
    ([PNG, JPEG], [image(PNG), image(JPEG)]),
    ((PNG, 3), None),  # not a (data, filename) pair: two items, and 3 is no image
    (b"%PDF-1.7 not an image", None),
    (b"", None),
    (PNG[:4], None),
    (42, None),
    (3.5, None),
    ({"data": PNG}, None),
    ((None, "x.png"), None),
    ([[PNG]], None),
    ("no-such-image.png", None),
    ("data:image/png;base64,!!", None),
    (object(), None),
]


def reference_chat(messages: object, model: object, media: list[Image] | None) -> tuple[str, str, Image | None] | None:
    """(user_input, ai_model, the image) a chat call must send, or None when it must be refused."""
    ai_model = reference_chat_model(model)
    said = reference_messages(messages)
    if ai_model is None or said is None or media is None:
        return None
    prompt = reference_fold(said)
    if not sendable_prompt(prompt):
        return None
    from_parts = [IMAGE_URLS.get(url) for message in said for url in message.images]
    images = [*media, *from_parts]
    if len(images) > 1 or None in images:
        return None
    return prompt, ai_model, images[0] if images else None


def reference_text_query(prompt: object, options: Mapping[str, object], stream: bool) -> dict[str, object] | None:
    """The query generate_text/stream_text must send, or None when the call must be refused.

    System (and developer) messages become `system`, after the `system` argument; the rest is the
    prompt (one message as it is, several folded). `json=False` and None arguments send nothing.
    """
    said = reference_messages(prompt)
    if said is None or any(message.images for message in said):
        return None
    system = options.get("system")
    if system is not None and not isinstance(system, str):
        return None
    from_messages = [m.text for m in said if m.role.lower() in SYSTEM_ROLES and m.text.strip()]
    rest = [m for m in said if m.role.lower() not in SYSTEM_ROLES]
    if not rest:
        return None
    user_input = rest[0].text if len(rest) == 1 else reference_fold(rest)
    if not sendable_prompt(user_input):
        return None
    query: dict[str, object] = {"user_input": user_input}
    systems = "\n\n".join(text for text in (system, "\n\n".join(from_messages)) if text)
    if systems:
        if not encodable(systems):
            return None
        query["system"] = systems
    for name in (
        "model",
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "private",
        "referrer",
    ):
        value = options.get(name)
        if value is None:
            continue
        if not fits(TEXT_RULES[name], value):
            return None
        query[name] = value
    if query.get("model") == spec_values.AUDIO_MODEL:
        return None
    wants_json = options.get("json", False)
    if not isinstance(wants_json, bool):
        return None
    if wants_json:
        query["json"] = True
    if stream:
        query["stream"] = True
    return query


def expected_text(query: Mapping[str, object]) -> str:
    """The emulator's answer to a text query (its documented rule), which the SDK must hand back."""
    model = str(query.get("model", "openai"))
    line = echo_line(str(query["user_input"]))
    if query.get("json") is True:
        return json.dumps({"model": model, "you_said": line}, ensure_ascii=False)
    return f"[{model}] You said: {line}"


# --------------------------------------------------------------------------- strategies

FRAGMENTS = [
    "\x00",
    "\r\n",
    "\r",
    "\n\n",
    "\r\n--+++",
    "\r\n--+++--\r\n",
    '\r\nContent-Disposition: form-data; name="ai_model"\r\n\r\nevil',
    "&ai_model=evil&user_input=",
    "%00",
    "%",
    "+",
    "=",
    "#",
    "?",
    "\u2028",
    "\ufeff",
    "\U0001d518",
    "ß",
    "Assistant:",
    " ",
    "\t",
    "\x1c",
]
LONE_SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2)


def mostly(common: st.SearchStrategy[T], rare: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """`common` three times in four, `rare` otherwise (st.one_of would weigh every branch of
    nested one_of's alike). Arguments are checked one after another, so a call with several
    must often have all of them right for a request to be built at all."""
    return st.integers(0, 3).flatmap(lambda pick: common if pick < 3 else rare)


# Text that can go on the wire, with control characters, CR/LF, NUL and look-alikes of wire syntax;
# mostly with something besides white space, since blank prompts are refused.
WIRE_CHARACTERS = st.characters(codec="utf-8")
WIRE_PIECES = st.lists(st.one_of(st.text(WIRE_CHARACTERS, max_size=8), st.sampled_from(FRAGMENTS)), max_size=3).map(
    "".join
)
WIRE_TEXT = mostly(
    st.tuples(WIRE_PIECES, st.text(WIRE_CHARACTERS, min_size=1, max_size=6).filter(str.strip), WIRE_PIECES).map(
        "".join
    ),
    WIRE_PIECES,
)
# ... and, now and then, text that cannot (a lone surrogate somewhere).
HOSTILE_TEXT = mostly(WIRE_TEXT, st.tuples(WIRE_TEXT, LONE_SURROGATES, WIRE_TEXT).map("".join))
ANY_VALUE: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**100, -(10**100)]),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, 3.0000000000000004]),
    HOSTILE_TEXT,
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2).map(tuple),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.decimals(),
    st.fractions(),
    st.complex_numbers(),
    st.builds(object),
)


def or_anything(*allowed: st.SearchStrategy[Any]) -> st.SearchStrategy[object]:
    """Values the contract allows, mostly, or anything at all."""
    return mostly(st.one_of(*allowed), ANY_VALUE)


def number_argument(rule: Rule) -> st.SearchStrategy[object]:
    """Floats and ints inside the spec's range, or anything."""
    low, high = rule.minimum, rule.maximum
    assert low is not None and high is not None
    return or_anything(st.floats(low, high), st.integers(math.ceil(low), math.floor(high)))


def choice_argument(choices: Sequence[str]) -> st.SearchStrategy[object]:
    """One of the allowed strings, or a near miss, or anything."""
    near = [choice.upper() for choice in choices] + [f" {choices[0]}", ""]
    return or_anything(mostly(st.sampled_from(list(choices)), st.sampled_from(near)))


BOOLEAN_ARGUMENT = or_anything(st.booleans())
TEXT_ARGUMENT = or_anything(HOSTILE_TEXT)

ROLES = or_anything(
    mostly(
        st.sampled_from(["user", "assistant", "system", "developer", "USER", "System", "tool", "ß", "ǆ", "\x00"]),
        st.one_of(st.sampled_from([" ", ""]), HOSTILE_TEXT),
    )
)
IMAGE_URL = st.sampled_from(list(IMAGE_URLS))
IMAGE_URL_VALUE = or_anything(
    IMAGE_URL,
    IMAGE_URL.map(lambda url: {"url": url}),
    st.builds(lambda url, detail: {"url": url, "detail": detail}, IMAGE_URL, st.sampled_from(["low", "high", 5])),
).filter(
    # The client would fetch an http(s) URL: test_chat covers those.
    lambda value: not (isinstance(value, str) and value[:8].lower().startswith(("http:", "https:")))
)
TEXT_PART = st.fixed_dictionaries({"type": st.just("text"), "text": TEXT_ARGUMENT})
ODD_PART = st.one_of(
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": IMAGE_URL_VALUE}),
    st.fixed_dictionaries({"type": st.just("text"), "text": HOSTILE_TEXT, "detail": st.just("high")}),
    st.fixed_dictionaries({"type": st.sampled_from(["input_audio", "Text", ""])}),
    ANY_VALUE,
)
PARTS = st.lists(mostly(TEXT_PART, ODD_PART), max_size=3)
CONTENT = or_anything(HOSTILE_TEXT, PARTS, PARTS.map(tuple))
MESSAGE = mostly(
    st.fixed_dictionaries({"role": ROLES, "content": CONTENT}),
    st.one_of(
        st.fixed_dictionaries({"role": ROLES, "content": CONTENT, "name": or_anything(st.text(max_size=3))}),
        st.fixed_dictionaries({"content": CONTENT}),
        st.fixed_dictionaries({"role": ROLES}),
        ANY_VALUE,
    ),
)
MESSAGES: st.SearchStrategy[object] = or_anything(
    HOSTILE_TEXT, st.lists(MESSAGE, max_size=4), st.lists(MESSAGE, max_size=3).map(tuple)
)
MEDIA = mostly(
    st.sampled_from([(value, images) for value, images in MEDIA_VALUES if images is not None and len(images) < 2]),
    st.sampled_from(MEDIA_VALUES),
)
CHAT_MODEL_ARGUMENT = or_anything(
    mostly(
        st.sampled_from([None, "", *spec_values.CHAT_MODELS]),
        st.sampled_from(["gpt-4o", "GEMINI-1.5-FLASH", " gemini-1.5-flash"]),
    )
)
TEXT_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "model": or_anything(mostly(HOSTILE_TEXT, st.sampled_from(["openai", spec_values.AUDIO_MODEL, "", " "]))),
        "system": TEXT_ARGUMENT,
        "temperature": number_argument(TEXT_RULES["temperature"]),
        "top_p": number_argument(TEXT_RULES["top_p"]),
        "presence_penalty": number_argument(TEXT_RULES["presence_penalty"]),
        "frequency_penalty": number_argument(TEXT_RULES["frequency_penalty"]),
        "seed": or_anything(st.integers()),
        "json": BOOLEAN_ARGUMENT,
        "private": BOOLEAN_ARGUMENT,
        "referrer": TEXT_ARGUMENT,
    },
)
IMAGE_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "width": or_anything(st.integers(64, 2048)),
        "height": or_anything(st.integers(64, 2048)),
        "model": choice_argument(spec_values.IMAGE_MODELS),
        "nologo": BOOLEAN_ARGUMENT,
        "seed": or_anything(st.integers()),
        "watermark": TEXT_ARGUMENT,
    },
)
IMAGE_QUERY_NAMES = {
    "width": "width",
    "height": "height",
    "model": "model",
    "nologo": "nologo",
    "seed": "seed",
    "watermark": "wm",
}


# --------------------------------------------------------------------------- any input: sent exactly or refused


@FUZZ
@given(
    method=st.sampled_from(["chat", "stream_chat"]),
    messages=MESSAGES,
    model=CHAT_MODEL_ARGUMENT,
    media=MEDIA,
)
async def test_chat_sends_exactly_what_was_given_or_refuses_before_sending(
    client_kind: str,
    anyio_backend: str,
    method: str,
    messages: object,
    model: object,
    media: tuple[object, list[Image] | None],
) -> None:
    media_value, media_images = media
    outcome = await call(client_kind, method, messages, model=model, media=media_value)
    expected = reference_chat(messages, model, media_images)
    event("refused" if expected is None else "sent without an image" if expected[2] is None else "sent with an image")
    if expected is None:
        assert_refused_before_sending(outcome)
        return
    prompt, ai_model, picture = expected
    request = assert_sent_once(outcome)
    assert (request.method, request.url.path) == ("POST", "/dsai_fuck_u_spammer")
    answer = f"[{ai_model}] You said: {echo_line(prompt)}"
    if picture is None:
        assert form_of(request) == {"user_input": prompt, "ai_model": ai_model}
    else:
        assert multipart_parts(request) == {
            "user_input": Part(prompt.encode(), None, "text/plain"),
            "ai_model": Part(ai_model.encode(), None, "text/plain"),
            "file": Part(picture.data, picture.filename, picture.content_type),
        }
        answer += f" (with a {len(picture.data)}-byte {picture.content_type} image)"
    assert text_of(outcome.result) == answer


@FUZZ
@given(method=st.sampled_from(["generate_text", "stream_text"]), prompt=MESSAGES, options=TEXT_OPTIONS)
async def test_text_sends_exactly_what_was_given_or_refuses_before_sending(
    client_kind: str, anyio_backend: str, method: str, prompt: object, options: dict[str, Any]
) -> None:
    outcome = await call(client_kind, method, prompt, **options)
    expected = reference_text_query(prompt, options, stream=method == "stream_text")
    event("refused" if expected is None else f"sent with {len(expected)} parameters")
    if expected is None:
        assert_refused_before_sending(outcome)
        return
    request = assert_sent_once(outcome)
    assert request.url.path == "/api/generate_response"
    assert_query_is(request, TEXT_RULES, expected)
    assert text_of(outcome.result) == expected_text(expected)


@FUZZ
@given(prompt=TEXT_ARGUMENT, options=IMAGE_OPTIONS)
async def test_image_sends_exactly_what_was_given_or_refuses_before_sending(
    client_kind: str, anyio_backend: str, prompt: object, options: dict[str, Any]
) -> None:
    outcome = await call(client_kind, "generate_image", prompt, **options)
    expected: dict[str, object] | None = {"user_input": prompt} if sendable_prompt(prompt) else None
    for name, value in options.items():
        if expected is None or value is None:
            continue
        query_name = IMAGE_QUERY_NAMES[name]
        expected = {**expected, query_name: value} if fits(IMAGE_RULES[query_name], value) else None
    event("refused" if expected is None else f"sent with {len(expected)} parameters")
    if expected is None:
        assert_refused_before_sending(outcome)
        return
    request = assert_sent_once(outcome)
    assert request.url.path == "/api/generate_image"
    assert_query_is(request, IMAGE_RULES, expected)
    assert outcome.result.url.startswith(f"{BASE_URL}/images/")
    assert outcome.result.model == expected.get("model", spec_values.DEFAULT_IMAGE_MODEL)


NOT_GIVEN = object()


@FUZZ
@given(text=TEXT_ARGUMENT, voice=mostly(choice_argument(spec_values.VOICES), st.just(NOT_GIVEN)))
async def test_audio_sends_exactly_what_was_given_or_refuses_before_sending(
    client_kind: str, anyio_backend: str, text: object, voice: object
) -> None:
    kwargs: dict[str, Any] = {} if voice is NOT_GIVEN else {"voice": voice}
    outcome = await call(client_kind, "generate_audio", text, **kwargs)
    chosen = spec_values.DEFAULT_VOICE if voice is NOT_GIVEN else voice
    allowed = sendable_prompt(text) and fits(TEXT_RULES["voice"], chosen)
    event("sent" if allowed else "refused")
    if not allowed:
        assert_refused_before_sending(outcome)
        return
    request = assert_sent_once(outcome)
    assert request.url.path == "/api/generate_response"
    assert_query_is(request, TEXT_RULES, {"user_input": text, "model": spec_values.AUDIO_MODEL, "voice": chosen})
    spoken = f"[{spec_values.AUDIO_MODEL}/{chosen}] You said: {echo_line(str(text))}"
    assert outcome.result.data.startswith(MP3_FRAME_HEADER)
    assert len(outcome.result.data) == MP3_FRAME_BYTES * len(spoken)
    assert outcome.result.voice == chosen


EXTRA_NAMES = or_anything(
    mostly(HOSTILE_TEXT, st.sampled_from(["user_input", "api_key", "model", "temperature", "stream", "x", ""]))
)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


@FUZZ
@given(
    extra_query=or_anything(
        st.dictionaries(
            EXTRA_NAMES.filter(_hashable), or_anything(HOSTILE_TEXT, st.integers(), st.floats()), max_size=3
        )
    )
)
async def test_extra_query_is_sent_exactly_or_refused_before_sending(
    client_kind: str, anyio_backend: str, extra_query: object
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"response": "ok"})

    outcome = await call(
        client_kind, "generate_text", "hi", extra_query=extra_query, transport=httpx.MockTransport(answer)
    )
    allowed = extra_query is None or (
        isinstance(extra_query, dict)
        and all(
            isinstance(name, str)
            and name != ""
            and name not in spec_values.PARAMETERS["generate_text"]  # checked parameters are not overridden
            and encodable(name)
            and isinstance(value, str | int | float)  # bool is an int
            and (not isinstance(value, str) or encodable(value))
            for name, value in extra_query.items()
        )
    )
    event("sent" if allowed else "refused")
    if not allowed:
        assert isinstance(outcome.error, InvalidRequestError), f"expected InvalidRequestError, got {outcome.error!r}"
        assert seen == []
        return
    assert outcome.error is None, f"a call the contract allows failed: {outcome.error!r}"
    assert len(seen) == 1
    given: dict[Any, object] = extra_query if isinstance(extra_query, dict) else {}
    sent = query_of(seen[0])
    assert set(sent) == {"user_input", *given}
    for name, value in given.items():
        raw = sent[name]
        if isinstance(value, bool):
            assert raw == ("true" if value else "false")
        elif isinstance(value, int):
            assert int(raw) == value
        elif isinstance(value, float):
            assert (math.isnan(value) and math.isnan(float(raw))) or (
                float(raw) == value and math.copysign(1, float(raw)) == math.copysign(1, value)
            )
        else:
            assert raw == value


# --------------------------------------------------------------------------- inputs the fuzzing may find rarely


LONE_SURROGATE = "a\ud800b"

SURROGATE_CALLS: list[tuple[str, tuple[object, ...], dict[str, object]]] = [
    ("chat", (LONE_SURROGATE,), {}),
    ("chat", (LONE_SURROGATE,), {"media": PNG}),
    ("chat", ("hi",), {"media": (PNG, "picture\udc80.png")}),
    ("chat", ([{"role": "user\udfff", "content": "x"}, {"role": "assistant", "content": "y"}],), {}),
    ("chat", ([{"role": "user", "content": [{"type": "text", "text": LONE_SURROGATE}]}],), {}),
    ("stream_chat", (LONE_SURROGATE,), {}),
    ("generate_text", (LONE_SURROGATE,), {}),
    ("generate_text", ("hi",), {"system": LONE_SURROGATE}),
    ("generate_text", ([{"role": "system", "content": LONE_SURROGATE}, {"role": "user", "content": "hi"}],), {}),
    ("generate_text", ("hi",), {"model": LONE_SURROGATE}),
    ("generate_text", ("hi",), {"referrer": LONE_SURROGATE}),
    ("generate_text", ("hi",), {"extra_query": {"x": LONE_SURROGATE}}),
    ("generate_text", ("hi",), {"extra_query": {LONE_SURROGATE: "x"}}),
    ("stream_text", (LONE_SURROGATE,), {}),
    ("generate_image", (LONE_SURROGATE,), {}),
    ("generate_image", ("hi",), {"watermark": LONE_SURROGATE}),
    ("generate_audio", (LONE_SURROGATE,), {}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), SURROGATE_CALLS)
async def test_a_lone_surrogate_anywhere_is_refused_before_sending(
    client_kind: str, anyio_backend: str, method: str, args: tuple[object, ...], kwargs: dict[str, Any]
) -> None:
    # UTF-8 cannot carry a lone surrogate; the SDK must say so, not leak UnicodeEncodeError.
    assert_refused_before_sending(await call(client_kind, method, *args, **kwargs))


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("generate_text", {"seed": 10**5000}),
        ("generate_text", {"seed": -(10**5000)}),
        ("generate_text", {"temperature": 10**5000}),
        ("generate_text", {"frequency_penalty": -(10**5000)}),
        ("generate_image", {"seed": 10**5000}),
        ("generate_image", {"width": 10**5000}),
    ],
)
async def test_integers_python_cannot_print_are_refused_before_sending(
    client_kind: str, anyio_backend: str, method: str, kwargs: dict[str, Any]
) -> None:
    # Past 4300 digits int -> str raises ValueError in Python itself: the SDK must answer with its own error.
    assert_refused_before_sending(await call(client_kind, method, "hi", **kwargs))


async def test_a_seed_of_4300_digits_is_sent_exactly_or_refused_as_the_spec_says(
    client_kind: str, anyio_backend: str
) -> None:
    seed = 10**4299  # as long as Python prints an int by default
    outcome = await call(client_kind, "generate_text", "hi", seed=seed)
    if fits(TEXT_RULES["seed"], seed):
        assert_query_is(assert_sent_once(outcome), TEXT_RULES, {"user_input": "hi", "seed": seed})
    else:
        assert_refused_before_sending(outcome)


@pytest.mark.parametrize("name", sorted(SET_BY_ARGUMENTS))
@pytest.mark.parametrize("method", ["generate_text", "stream_text"])
async def test_extra_query_never_sets_a_parameter_the_sdk_checks(
    client_kind: str, anyio_backend: str, method: str, name: str
) -> None:
    # Given or not as an argument: `model` from extra_query would skip the model's checks.
    outcome = await call(client_kind, method, "hi", extra_query={name: "3"})
    assert_refused_before_sending(outcome)
    assert f"extra_query cannot set {name!r}" in str(outcome.error)
    # A name the spec does not list goes out (the emulator, holding to the spec, refuses it).
    [sent] = (await call(client_kind, method, "hi", extra_query={"unlisted": "3"})).requests
    assert query_of(sent)["unlisted"] == "3"


@pytest.mark.parametrize("method", ["generate_text", "stream_text"])
async def test_extra_query_sends_a_spec_parameter_that_has_no_argument_yet_checked(
    client_kind: str, anyio_backend: str, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a spec edit adds an optional parameter and `scripts/generate`, before the clients
    get an argument for it: extra_query sends it, checked as an argument would be."""
    grown = {**spec_values.PARAMETERS["generate_text"], "max_tokens": Rule(type="integer", minimum=1, maximum=8192)}
    monkeypatch.setattr(spec_values, "PARAMETERS", {**spec_values.PARAMETERS, "generate_text": grown})
    [sent] = (await call(client_kind, method, "hi", extra_query={"max_tokens": 5})).requests
    assert query_of(sent)["max_tokens"] == "5"
    for wrong, message in ((0, "max_tokens must be between 1 and 8192, not 0"), ("5", "must be a number, not str")):
        outcome = await call(client_kind, method, "hi", extra_query={"max_tokens": wrong})
        assert_refused_before_sending(outcome)
        assert message in str(outcome.error)


@pytest.mark.parametrize("extra_query", [["x"], "x=1", 7, ("x", "1")])
async def test_extra_query_that_is_not_a_mapping_is_refused_before_sending(
    client_kind: str, anyio_backend: str, extra_query: object
) -> None:
    assert_refused_before_sending(await call(client_kind, "generate_text", "hi", extra_query=extra_query))


# --------------------------------------------------------------------------- multipart boundary look-alikes and NUL

BOUNDARY_LOOKALIKE = st.builds(
    lambda token, field, value: f'\r\n--{token}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{value}',
    token=st.text(string.ascii_letters + string.digits + "'()+_,-./:=?", max_size=70),
    field=st.sampled_from(["ai_model", "user_input", "file"]),
    value=st.sampled_from(["evil", "gemini-2.0-flash-lite", "", "\x00"]),
)
LOOKALIKE_PIECES = st.lists(
    st.one_of(
        BOUNDARY_LOOKALIKE,
        st.sampled_from(["\r\n--+++", "\r\n--+++--\r\n", "--", "\r\n\r\n", "\x00", "\x00\x00"]),
        st.text(WIRE_CHARACTERS, max_size=10),
    ),
    max_size=4,
).map("".join)
# Never blank (blank prompts are refused): a look-alike part header always stands in the middle.
PROMPT_WITH_LOOKALIKES = st.tuples(LOOKALIKE_PIECES, BOUNDARY_LOOKALIKE, LOOKALIKE_PIECES).map("".join)


@FUZZ
@given(
    prompt=PROMPT_WITH_LOOKALIKES,
    picture=st.sampled_from([image(PNG, "p.png"), image(JPEG, "--+++.jpg")]),
    model=st.sampled_from(list(spec_values.CHAT_MODELS)),
)
async def test_boundary_lookalikes_and_nul_in_a_prompt_with_an_image_arrive_exactly(
    client_kind: str, anyio_backend: str, prompt: str, picture: Image, model: str
) -> None:
    outcome = await call(client_kind, "chat", prompt, model=model, media=(picture.data, picture.filename))
    request = assert_sent_once(outcome)
    ai_model = spec_values.CHAT_MODEL_ALIASES.get(model, model)
    assert multipart_parts(request)["user_input"] == Part(prompt.encode(), None, "text/plain")
    # What the service sees: the emulator's own multipart reading.
    received = outcome.emulator.requests[-1]
    assert dict(received.form) == {"user_input": prompt, "ai_model": ai_model}
    assert [(f.field, f.filename, f.content_type, f.data) for f in received.files] == [
        ("file", picture.filename, picture.content_type, picture.data)
    ]


@FUZZ
@given(prompt=PROMPT_WITH_LOOKALIKES, system=PROMPT_WITH_LOOKALIKES, referrer=PROMPT_WITH_LOOKALIKES)
async def test_boundary_lookalikes_and_nul_arrive_exactly_in_forms_and_queries(
    client_kind: str, anyio_backend: str, prompt: str, system: str, referrer: str
) -> None:
    chat = await call(client_kind, "chat", prompt)
    assert form_of(assert_sent_once(chat)) == {"user_input": prompt, "ai_model": "gemini-1.5-flash-8b"}
    assert chat.emulator.requests[-1].fields == {"user_input": prompt, "ai_model": "gemini-1.5-flash-8b"}
    text = await call(client_kind, "generate_text", prompt, system=system, referrer=referrer)
    expected = {"user_input": prompt, "system": system, "referrer": referrer}
    assert_query_is(assert_sent_once(text), TEXT_RULES, expected)
    assert text.emulator.requests[-1].params == expected


# --------------------------------------------------------------------------- prompts of several MB


def several_mb_prompt() -> str:
    """About 3.5 MB of UTF-8 (more once percent-encoded) with NUL, boundary look-alikes, CR/LF and
    characters of every UTF-8 length."""
    line = "ascii, é, ☃, 𝔘, NUL \x00, tab \t, cr \r, crlf \r\n--+++\r\nContent-Disposition: form-data\r\n"
    prompt = (line * (3_500_000 // len(line.encode()) + 1)) + "the end"
    assert len(prompt.encode()) > 3_000_000
    return prompt


@pytest.fixture(scope="module")
def big_prompt() -> str:
    return several_mb_prompt()


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=UNLIMITED)) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[Emulator]:
    emu = server.emulator
    emu.clear_faults()
    emu.clear_requests()
    yield emu
    emu.clear_faults()


@pytest.mark.parametrize("with_image", [False, True], ids=["url-encoded", "multipart"])
async def test_a_prompt_of_several_mb_reaches_the_service_byte_exact_through_chat(
    client_kind: str,
    anyio_backend: str,
    server: EmulatorServer,
    emulator: Emulator,
    big_prompt: str,
    with_image: bool,
) -> None:
    async with open_dual(client_kind, base_url=server.url, max_retries=0, timeout=60) as dual:
        answer = await dual.call("chat", big_prompt, media=PNG if with_image else None)
    assert answer.text.startswith("[gemini-1.5-flash-8b] You said: the end")
    [received] = emulator.requests
    assert received.fields == {"user_input": big_prompt, "ai_model": "gemini-1.5-flash-8b"}
    assert [f.data for f in received.files] == ([PNG] if with_image else [])


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("generate_text", {}),
        ("generate_text", {"system": "x"}),
        ("stream_text", {}),
        ("generate_image", {}),
        ("generate_audio", {}),
    ],
)
async def test_a_prompt_of_several_mb_is_refused_clearly_by_the_get_endpoints(
    client_kind: str, anyio_backend: str, big_prompt: str, method: str, kwargs: dict[str, Any]
) -> None:
    outcome = await call(client_kind, method, big_prompt, **kwargs)
    assert_refused_before_sending(outcome)
    message = str(outcome.error)
    assert str(MAX_URL_BYTES) in message
    # chat() takes long prompts, but makes neither images nor speech.
    assert ("chat() sends long prompts" in message) == (method in ("generate_text", "stream_text"))
    assert len(message) < 500  # says what is wrong without quoting megabytes of prompt


async def test_a_system_prompt_of_several_mb_is_refused_clearly(
    client_kind: str, anyio_backend: str, big_prompt: str
) -> None:
    outcome = await call(client_kind, "generate_text", "hi", system=big_prompt)
    assert_refused_before_sending(outcome)
    assert str(MAX_URL_BYTES) in str(outcome.error)


# --------------------------------------------------------------------------- an image file that changes size

PICTURE = PNG + bytes(range(256)) * 1024  # a PNG of about 256 KiB: sent in several chunks


def change_size(path: Path, change: str) -> None:
    """Grow the file by a few bytes or cut it to half, through another handle."""
    if change == "grow":
        with path.open("ab") as handle:
            handle.write(b"appended")
    else:
        os.truncate(path, path.stat().st_size // 2)


async def send_image_that_changes(
    kind: str,
    picture: Path,
    source: str,
    *,
    url: str,
    transport: Any = None,
    on_request: Hook = lambda request: None,
    on_response: Hook = lambda response: None,
    max_retries: int = 0,
) -> Exception | None:
    """chat() with the picture (a path or an open file object); the error it raised, if any."""
    hooks = {"request": [on_request], "response": [on_response]}
    options: dict[str, Any] = {"base_url": url, "max_retries": max_retries, "retry_policy": FAST_RETRY}
    async with open_dual(kind, transport=transport, hooks=hooks, **options) as dual:
        try:
            with picture.open("rb") as handle:
                await dual.call("chat", "what is this?", media=picture if source == "path" else handle)
        except Exception as exc:
            return exc
    return None


CHANGES = pytest.mark.parametrize("change", ["grow", "shrink"])
SOURCES = pytest.mark.parametrize("source", ["path", "file object"])


@CHANGES
@SOURCES
async def test_an_image_that_changes_size_while_being_sent_is_refused_in_process(
    client_kind: str, anyio_backend: str, tmp_path: Path, change: str, source: str
) -> None:
    picture = tmp_path / "picture.png"
    picture.write_bytes(PICTURE)
    emulator = Emulator(rate_limit=UNLIMITED)
    transport = emulator_transport(client_kind, emulator)
    # The request hook runs after the upload was opened (and its size checked), before its body is read.
    error = await send_image_that_changes(
        client_kind,
        picture,
        source,
        url=BASE_URL,
        transport=transport,
        on_request=lambda request: change_size(picture, change),
    )
    assert isinstance(error, MediaError), f"expected MediaError, got {error!r}"
    assert isinstance(error, ValueError)
    assert "changed" in str(error)
    assert emulator.requests == []


@CHANGES
@SOURCES
async def test_an_image_that_changes_size_while_being_sent_is_refused_over_a_socket(
    client_kind: str,
    anyio_backend: str,
    server: EmulatorServer,
    emulator: Emulator,
    tmp_path: Path,
    change: str,
    source: str,
) -> None:
    picture = tmp_path / "picture.png"
    picture.write_bytes(PICTURE)
    error = await send_image_that_changes(
        client_kind, picture, source, url=server.url, on_request=lambda request: change_size(picture, change)
    )
    assert isinstance(error, MediaError), f"expected MediaError, got {error!r}"
    # The aborted upload was never taken as a request: the next one is the only one the service saw.
    picture.write_bytes(PNG)
    assert await send_image_that_changes(client_kind, picture, "path", url=server.url) is None
    assert [[f.data for f in request.files] for request in emulator.requests] == [[PNG]]


@CHANGES
@SOURCES
async def test_an_image_that_changes_size_between_two_attempts_is_refused_on_the_retry(
    client_kind: str,
    anyio_backend: str,
    server: EmulatorServer,
    emulator: Emulator,
    tmp_path: Path,
    change: str,
    source: str,
) -> None:
    picture = tmp_path / "picture.png"
    picture.write_bytes(PICTURE)
    emulator.inject(faults.status(503))
    error = await send_image_that_changes(
        client_kind,
        picture,
        source,
        url=server.url,
        max_retries=1,
        on_response=lambda response: change_size(picture, change),
    )
    assert isinstance(error, MediaError), f"expected MediaError, got {error!r}"
    # Only the first attempt, whole and as checked, reached the service.
    assert [[f.data for f in request.files] for request in emulator.requests] == [[PICTURE]]
