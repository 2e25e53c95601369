"""Contract test: every kind of request the SDK sends passes Stoplight Prism's validation.

Prism (`openapi/prism`, installed by `scripts/_prism.sh`) serves `openapi/dynaspark.yaml` as a
mock on 127.0.0.1 and validates each request against it. Both clients (the async one on
asyncio and on trio) send every kind of request through a recording httpx client: each
endpoint, both chat body encodings, every optional parameter, numbers at their range edges,
every voice, every image model, a watermark, PNG uploads with a filename. A request passes
when Prism answered it 200 without an `sl-violations` header and logged no violation for it.

Prism checks neither the content type nor the filename of a multipart file part, so this
test checks those itself, against the spec's `encoding` for the part.

Prism's answers are its own fabrications from the spec (a JSON example, or the word `string`
as an event stream or as MP3). Where the spec lets Prism choose such a body the SDK may refuse
it with a `DynasparkError`; a JSON answer the spec allows must be accepted.

The test cannot pass by accident: `test_prism_reports_a_deliberately_bad_request` sends
requests the spec forbids and checks that the same checks flag them. Nothing here skips: a
missing Node.js, npm or Prism fails the tests.
"""

from __future__ import annotations

import base64
import email.message
import email.parser
import email.policy
import functools
import inspect
import json
import os
import signal
import socket
import struct
import subprocess
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import yaml

from dynaspark_sdk import AsyncClient, Client, DynasparkError
from dynaspark_sdk._generated import spec_values

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "dynaspark.yaml"
INSTALLER = ROOT / "scripts" / "_prism.sh"
PRISM = ROOT / "openapi" / "prism" / "node_modules" / ".bin" / "prism"

STARTUP_SECONDS = 30.0
LOG_WAIT_SECONDS = 10.0
API_KEY = "contract-test-key"
MARKER_PATH = "/__contract-marker/"

# What each SDK method must send: its HTTP method and path.
ROUTES: Mapping[str, tuple[str, str]] = {
    "chat": ("POST", "/dsai_fuck_u_spammer"),
    "stream_chat": ("POST", "/dsai_fuck_u_spammer"),
    "generate_text": ("GET", "/api/generate_response"),
    "stream_text": ("GET", "/api/generate_response"),
    "generate_audio": ("GET", "/api/generate_response"),
    "generate_image": ("GET", "/api/generate_image"),
    "status": ("GET", "/status"),
}
STREAMING_METHODS = frozenset({"stream_chat", "stream_text"})
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


# --------------------------------------------------------------------------- the spec


@functools.cache
def load_spec() -> dict[str, Any]:
    """The spec as plain data (read once; treat it as read-only)."""
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


def _resolve(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = spec
    for step in str(ref).removeprefix("#/").split("/"):
        target = target[step]
    resolved: Mapping[str, Any] = target
    return resolved


def spec_query_names(spec: Mapping[str, Any], path: str) -> set[str]:
    """The query parameters the spec declares for GET `path`."""
    parameters = spec["paths"][path]["get"].get("parameters", [])
    return {str(_resolve(spec, p)["name"]) for p in parameters if _resolve(spec, p)["in"] == "query"}


def spec_chat_body(spec: Mapping[str, Any], media_type: str) -> Mapping[str, Any]:
    """The chat request body's media-type object (`schema`, `encoding`) for `media_type`."""
    content: Mapping[str, Any] = spec["paths"]["/dsai_fuck_u_spammer"]["post"]["requestBody"]["content"]
    body: Mapping[str, Any] = content[media_type]
    return body


def spec_form_fields(spec: Mapping[str, Any], media_type: str) -> set[str]:
    """The fields the spec declares for the chat body in `media_type`."""
    schema = _resolve(spec, spec_chat_body(spec, media_type)["schema"])
    return set(schema["properties"])


def spec_file_content_types(spec: Mapping[str, Any]) -> set[str]:
    """The content types the spec allows for the multipart `file` part."""
    listed = str(spec_chat_body(spec, MULTIPART)["encoding"]["file"]["contentType"])
    return {item.strip() for item in listed.split(",")}


# --------------------------------------------------------------------------- Prism


@dataclass
class PrismServer:
    """A running `prism mock` of the spec, and its log."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log_text(self) -> str:
        """Everything Prism has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def mark(self) -> str:
        """Send a request no route matches, so that Prism logs a line naming a fresh token."""
        token = uuid.uuid4().hex
        response = httpx.get(f"{self.base_url}{MARKER_PATH}{token}", timeout=10)
        assert response.status_code == 404, response.text
        return token

    def log_since(self, start_token: str) -> list[str]:
        """Prism's log lines after the marker `start_token`, up to a marker sent now.

        Prism logs a request's violations while it handles that request, so once the end
        marker is in the log, so is everything about the requests sent before it.
        """
        end_token = self.mark()
        deadline = time.monotonic() + LOG_WAIT_SECONDS
        while end_token not in (text := self.log_text()):
            if time.monotonic() > deadline:
                pytest.fail(f"Prism never logged the marker request {end_token}:\n{text[-4000:]}")
            time.sleep(0.05)
        lines = text.splitlines()
        start = next(i for i, line in enumerate(lines) if start_token in line)
        end = next(i for i, line in enumerate(lines) if end_token in line)
        return [line for line in lines[start:end] if start_token not in line]


def violation_lines(log_lines: Sequence[str]) -> list[str]:
    """Prism's log lines where its validator complained (as an error or a warning)."""
    return [
        line for line in log_lines if "Violation:" in line or ("[VALIDATOR]" in line and ("✖" in line or "⚠" in line))
    ]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _install_prism() -> None:
    # The test command runs the installer beside the tests: this call waits on its lock, then
    # costs a file-date check. It also lets this file run on its own.
    done = subprocess.run([str(INSTALLER)], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        pytest.fail(f"scripts/_prism.sh failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    # Prism runs in a session of its own: signalling the group ends node and anything it forked.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismServer]:
    """Prism mocking the spec on a free loopback port, stopped (with its process group) after."""
    _install_prism()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("prism") / "prism.log"
    command = [str(PRISM), "mock", str(SPEC_PATH), "--host", "127.0.0.1", "--port", str(port), "--errors"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    try:
        server = PrismServer(process, f"http://127.0.0.1:{port}", log_path)
        deadline = time.monotonic() + STARTUP_SECONDS
        while "Prism is listening on" not in server.log_text():
            if process.poll() is not None:
                pytest.fail(f"Prism exited with {process.returncode} while starting:\n{server.log_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"Prism did not start within {STARTUP_SECONDS:.0f} s:\n{server.log_text()}")
            time.sleep(0.1)
        # Prism checks the document as it loads it; a complaint would be a warning or an error.
        complaints = [line for line in server.log_text().splitlines() if "✖" in line or "⚠" in line]
        assert not complaints, server.log_text()
        yield server
    finally:
        _stop(process)


# --------------------------------------------------------------------------- the wire


@dataclass
class Exchange:
    """One request as it went out and the status and headers Prism answered with."""

    method: str
    path: str
    query: list[tuple[str, str]]
    content_type: str
    body: bytes
    status: int
    headers: httpx.Headers
    answer_excerpt: str = ""


class _TeeStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A request body that keeps a copy of the bytes as httpx sends them."""

    def __init__(self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, sink: bytearray) -> None:
        self._inner = inner
        self._sink = sink

    def __iter__(self) -> Iterator[bytes]:
        assert isinstance(self._inner, httpx.SyncByteStream)
        self._sink.clear()
        for chunk in self._inner:
            self._sink.extend(chunk)
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        assert isinstance(self._inner, httpx.AsyncByteStream)
        self._sink.clear()
        async for chunk in self._inner:
            self._sink.extend(chunk)
            yield chunk

    def close(self) -> None:
        if isinstance(self._inner, httpx.SyncByteStream):
            self._inner.close()

    async def aclose(self) -> None:
        if isinstance(self._inner, httpx.AsyncByteStream):
            await self._inner.aclose()


@dataclass
class WireRecorder:
    """httpx event hooks that record every exchange of the clients they are installed on."""

    exchanges: list[Exchange] = field(default_factory=list)
    _bodies: dict[int, bytearray] = field(default_factory=dict)

    def on_request(self, request: httpx.Request) -> None:
        """Copy the body as it is sent."""
        sink = bytearray()
        self._bodies[id(request)] = sink
        request.stream = _TeeStream(request.stream, sink)

    def on_response(self, response: httpx.Response, excerpt: str = "") -> None:
        """Record the request with Prism's status and headers (the SDK reads the body)."""
        request = response.request
        url = urlsplit(str(request.url))
        self.exchanges.append(
            Exchange(
                method=request.method,
                path=url.path,
                query=parse_qsl(url.query, keep_blank_values=True),
                content_type=request.headers.get("content-type", ""),
                body=bytes(self._bodies.pop(id(request), b"")),
                status=response.status_code,
                headers=response.headers,
                answer_excerpt=excerpt,
            )
        )

    def on_sync_response(self, response: httpx.Response) -> None:
        """Record; a refusal's body is read here so that the failure message can quote it."""
        self.on_response(
            response, response.read()[:600].decode(errors="replace") if response.status_code >= 400 else ""
        )

    async def on_request_async(self, request: httpx.Request) -> None:
        """`on_request` for httpx.AsyncClient."""
        self.on_request(request)

    async def on_response_async(self, response: httpx.Response) -> None:
        """`on_sync_response` for httpx.AsyncClient."""
        excerpt = (await response.aread())[:600].decode(errors="replace") if response.status_code >= 400 else ""
        self.on_response(response, excerpt)

    def sync_http(self) -> httpx.Client:
        """A recording httpx.Client for `Client(http_client=...)`."""
        hooks: dict[str, list[Callable[..., Any]]] = {"request": [self.on_request], "response": [self.on_sync_response]}
        return httpx.Client(event_hooks=hooks, timeout=15)

    def async_http(self) -> httpx.AsyncClient:
        """A recording httpx.AsyncClient for `AsyncClient(http_client=...)`."""
        hooks: dict[str, list[Callable[..., Any]]] = {
            "request": [self.on_request_async],
            "response": [self.on_response_async],
        }
        return httpx.AsyncClient(event_hooks=hooks, timeout=15)


def multipart_parts(exchange: Exchange) -> list[email.message.EmailMessage]:
    """The parts of a multipart/form-data request body."""
    head = f"Content-Type: {exchange.content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + exchange.body)
    assert isinstance(message, email.message.EmailMessage)
    return list(message.iter_parts())  # type: ignore[arg-type]


def form_fields(exchange: Exchange) -> dict[str, str | None]:
    """Field name -> filename (None for a plain field) of a chat request's body."""
    if exchange.content_type.startswith(MULTIPART):
        fields: dict[str, str | None] = {}
        for part in multipart_parts(exchange):
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = part.get_filename()
        return fields
    return dict.fromkeys(name for name, _ in parse_qsl(exchange.body.decode(), keep_blank_values=True))


def prism_cannot_mock_an_event_stream(exchange: Exchange) -> bool:
    """The spec describes one server-sent event as an object (as OpenAPI tools read an event
    stream's schema before 3.2's itemSchema); Prism validates the request (with --errors a
    violation would be a 422) and then cannot serialise an object example as text, and says so
    with a 500 of its own. That answer is about Prism's mocking, not about the request."""
    return (
        exchange.status == 500
        and ("stream", "true") in exchange.query
        and "NO_COMPLEX_OBJECT_TEXT" in exchange.answer_excerpt
        and not exchange.headers.get("sl-violations")
    )


def violations_in(exchange: Exchange) -> list[str]:
    """Why Prism (or this test, for what Prism does not check) says the request broke the spec."""
    found: list[str] = []
    if exchange.status != 200 and not prism_cannot_mock_an_event_stream(exchange):
        found.append(f"Prism answered {exchange.status}: {exchange.answer_excerpt}")
    reported = exchange.headers.get("sl-violations")
    if reported:
        found.extend(f"{'.'.join(v['location'])}: {v['message']}" for v in json.loads(reported))
    if exchange.content_type.startswith(MULTIPART):
        allowed = spec_file_content_types(load_spec())
        for part in multipart_parts(exchange):
            if part.get_param("name", header="content-disposition") != "file":
                continue
            if part.get_content_type() not in allowed:
                found.append(f"file part sent as {part.get_content_type()}, the spec allows {sorted(allowed)}")
            if not part.get_filename():
                found.append("file part sent without a filename")
    return found


# --------------------------------------------------------------------------- what the SDK sends


def tiny_png() -> bytes:
    """A valid 1x1 RGBA PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@dataclass(frozen=True)
class SdkCall:
    """One SDK method call and what it must put on the wire."""

    label: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    # False where Prism's fabricated answer is one the SDK may refuse: JSON instead of MP3,
    # an image_url that is the word "string" (while the spec gives image_url no URL format),
    # or an event stream whose body is an example string with no event in it.
    must_accept_answer: bool = True
    api_key: str | None = API_KEY
    # Whether an image goes with it (as multipart), and the filename its part must carry.
    with_image: bool = False
    filename: str | None = None


def sdk_calls(png_path: Path) -> list[SdkCall]:
    """Every kind of request the SDK sends, each optional parameter at least once."""
    text_rules = spec_values.PARAMETERS["generate_text"]
    image_rules = spec_values.PARAMETERS["generate_image"]

    def edges(end: str) -> dict[str, Any]:
        names = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
        return {name: float(getattr(text_rules[name], end)) for name in names}

    conversation = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Teal."},
        {"role": "user", "content": [{"type": "text", "text": "Another?"}]},
    ]
    png = tiny_png()
    # Prism's example for a plain string is "string", which the SDK rightly refuses as an
    # image URL; with `format: uri` in the spec, Prism answers with an http URL instead.
    image_url_schema = load_spec()["components"]["schemas"]["ImageAnswer"]["properties"]["image_url"]
    image_answer_parses = image_url_schema.get("format") == "uri"
    text_all_low = {**edges("minimum"), "model": "openai", "system": "Be brief.", "seed": 0, "json": True}
    text_all_high = {**edges("maximum"), "seed": 2**31 - 1, "private": True, "referrer": "contract-test"}
    calls = [
        SdkCall("status", "status"),
        SdkCall("chat, a prompt (url-encoded)", "chat", ("Hello?",)),
        SdkCall("chat, a conversation, alias model", "chat", (conversation,), {"model": "gemini-2.0-flash"}),
        SdkCall(
            "chat, PNG with a filename (multipart)",
            "chat",
            ("What is this?",),
            {"media": [(png, "dot.png")]},
            with_image=True,
            filename="dot.png",
        ),
        SdkCall(
            "chat, PNG from a path",
            "chat",
            ("And this?",),
            {"media": png_path},
            with_image=True,
            filename=png_path.name,
        ),
        SdkCall("chat, image as an image_url part", "chat", (_image_part_messages(png),), with_image=True),
        SdkCall("stream_chat (url-encoded)", "stream_chat", ("Stream, please.",)),
        SdkCall(
            "stream_chat with a PNG",
            "stream_chat",
            ("Describe.",),
            {"media": [(png, "dot.png")]},
            with_image=True,
            filename="dot.png",
        ),
        SdkCall("generate_text, prompt only, no key", "generate_text", ("Hi",), api_key=None),
        SdkCall("generate_text, every option at its low edge", "generate_text", ("Hi",), text_all_low),
        SdkCall("generate_text, every option at its high edge", "generate_text", ("Hi",), text_all_high),
        SdkCall(
            "generate_text, mid-range floats, private=False",
            "generate_text",
            ("Hi",),
            {
                "temperature": 0.7,
                "top_p": 0.25,
                "presence_penalty": -0.5,
                "frequency_penalty": 1.5,
                "private": False,
                "seed": -7,
            },
        ),
        SdkCall("generate_text, messages with a system prompt", "generate_text", (conversation,), {"system": "Extra."}),
        SdkCall("generate_text, prompt full of URL specials", "generate_text", ("a&b=c?d#e%f+g ü 😀",)),
        SdkCall("stream_text, defaults", "stream_text", ("Count.",), must_accept_answer=False),
        SdkCall(
            "stream_text, every option",
            "stream_text",
            ("Count.",),
            {**text_all_low, **text_all_high},
            must_accept_answer=False,
        ),
        SdkCall(
            "generate_image, prompt only, no key",
            "generate_image",
            ("A red fox",),
            must_accept_answer=image_answer_parses,
            api_key=None,
        ),
        SdkCall(
            "generate_image, every option, low width/high height",
            "generate_image",
            ("A fox",),
            {
                "width": int(image_rules["width"].minimum or 0),
                "height": int(image_rules["height"].maximum or 0),
                "model": "gptimage",
                "nologo": True,
                "seed": 42,
                "watermark": "contract test",
            },
            must_accept_answer=image_answer_parses,
        ),
        SdkCall(
            "generate_image, high width/low height, nologo=False",
            "generate_image",
            ("A fox",),
            {
                "width": int(image_rules["width"].maximum or 0),
                "height": int(image_rules["height"].minimum or 0),
                "nologo": False,
                "seed": 0,
            },
            must_accept_answer=image_answer_parses,
        ),
        *(
            SdkCall(
                f"generate_image, model {m}",
                "generate_image",
                ("A fox",),
                {"model": m},
                must_accept_answer=image_answer_parses,
            )
            for m in spec_values.IMAGE_MODELS
        ),
        SdkCall("generate_audio, default voice", "generate_audio", ("Hello",), must_accept_answer=False),
        *(
            SdkCall(
                f"generate_audio, voice {voice}",
                "generate_audio",
                ("Hello",),
                {"voice": voice},
                must_accept_answer=False,
            )
            for voice in spec_values.VOICES
        ),
    ]
    calls += [SdkCall(f"chat, model {m}", "chat", ("Hi",), {"model": m}) for m in spec_values.CHAT_MODELS]
    return calls


def _image_part_messages(png: bytes) -> list[dict[str, Any]]:
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": "What?"}, {"type": "image_url", "image_url": {"url": uri}}],
        }
    ]


# --------------------------------------------------------------------------- checking a run


@dataclass
class CallReport:
    """What one SDK call put on the wire and what came of it."""

    call: SdkCall
    exchanges: list[Exchange]
    error: DynasparkError | None


def problems_with(report: CallReport) -> list[str]:
    """Everything wrong with one call's requests, as lines for a failure message."""
    call, found = report.call, []
    if len(report.exchanges) != 1:
        found.append(f"sent {len(report.exchanges)} requests, expected exactly 1")
    for exchange in report.exchanges:
        expected_route = ROUTES[call.method]
        if (exchange.method, exchange.path) != expected_route:
            found.append(f"went to {exchange.method} {exchange.path}, expected {' '.join(expected_route)}")
        found.extend(violations_in(exchange))
        # The spec's api_key: "when none is given, none is sent"; the chat form has no key.
        sent_keys = [value for name, value in exchange.query if name == "api_key"]
        wanted_keys = [call.api_key] if call.api_key is not None and exchange.path.startswith("/api/") else []
        if sent_keys != wanted_keys:
            found.append(f"sent api_key {sent_keys}, expected {wanted_keys}")
        if call.method in ("chat", "stream_chat"):
            wanted = MULTIPART if call.with_image else FORM
            if not exchange.content_type.startswith(wanted):
                found.append(f"body sent as {exchange.content_type!r}, expected {wanted}")
            if call.filename is not None and form_fields(exchange).get("file") != call.filename:
                found.append(f"file part named {form_fields(exchange).get('file')!r}, expected {call.filename!r}")
    answered = all(exchange.status == 200 for exchange in report.exchanges)
    if report.error is not None and call.must_accept_answer and answered:
        found.append(f"the SDK refused Prism's spec-conforming answer: {report.error!r}")
    return [f"{call.label}: {problem}" for problem in found]


def assert_contract_kept(reports: Sequence[CallReport], log_lines: Sequence[str]) -> None:
    """Zero violations, in the answers and in Prism's log, and every parameter of the spec sent."""
    problems = [problem for report in reports for problem in problems_with(report)]
    problems += [f"Prism logged: {line}" for line in violation_lines(log_lines)]
    assert not problems, "requests that break openapi/dynaspark.yaml:\n" + "\n".join(problems)

    spec = load_spec()
    exchanges = [exchange for report in reports for exchange in report.exchanges]
    for path in ("/api/generate_response", "/api/generate_image"):
        sent = {name for e in exchanges if e.path == path for name, _ in e.query}
        declared = spec_query_names(spec, path)
        assert sent == declared, f"{path}: never sent {declared - sent}, not in the spec {sent - declared}"
    for media_type in (FORM, MULTIPART):
        chats = [e for e in exchanges if e.path == ROUTES["chat"][1] and e.content_type.startswith(media_type)]
        assert chats, f"no chat request sent as {media_type}"
        sent_fields = {name for e in chats for name in form_fields(e)}
        declared = spec_form_fields(spec, media_type)
        assert sent_fields == declared, (
            f"{media_type}: never sent {declared - sent_fields}, extra {sent_fields - declared}"
        )


@pytest.fixture
def png_path(tmp_path: Path) -> Path:
    """A PNG file on disk, for the path form of `media`."""
    path = tmp_path / "pixel.png"
    path.write_bytes(tiny_png())
    return path


# --------------------------------------------------------------------------- the tests


def test_every_request_of_the_sync_client_passes_prism(prism: PrismServer, png_path: Path) -> None:
    """Client: every kind of request, zero violations."""
    recorder = WireRecorder()
    start = prism.mark()
    reports: list[CallReport] = []
    with recorder.sync_http() as http:
        clients = {
            key: Client(base_url=prism.base_url, api_key=key or "", http_client=http, max_retries=0)
            for key in (API_KEY, None)
        }
        for call in sdk_calls(png_path):
            before = len(recorder.exchanges)
            error: DynasparkError | None = None
            try:
                result = getattr(clients[call.api_key], call.method)(*call.args, **call.kwargs)
                if call.method in STREAMING_METHODS:
                    with result:
                        list(result)
            except DynasparkError as exc:
                error = exc
            reports.append(CallReport(call, recorder.exchanges[before:], error))
    assert_contract_kept(reports, prism.log_since(start))


@pytest.mark.anyio
async def test_every_request_of_the_async_client_passes_prism(prism: PrismServer, png_path: Path) -> None:
    """AsyncClient (on asyncio and on trio): every kind of request, zero violations."""
    recorder = WireRecorder()
    start = prism.mark()
    reports: list[CallReport] = []
    async with recorder.async_http() as http:
        clients = {
            key: AsyncClient(base_url=prism.base_url, api_key=key or "", http_client=http, max_retries=0)
            for key in (API_KEY, None)
        }
        for call in sdk_calls(png_path):
            before = len(recorder.exchanges)
            error: DynasparkError | None = None
            try:
                result = getattr(clients[call.api_key], call.method)(*call.args, **call.kwargs)
                if inspect.isawaitable(result):
                    await result
                else:
                    async with result:
                        [piece async for piece in result]
            except DynasparkError as exc:
                error = exc
            reports.append(CallReport(call, recorder.exchanges[before:], error))
    assert_contract_kept(reports, prism.log_since(start))


BAD_REQUESTS = [
    pytest.param(
        "GET",
        "/api/generate_response",
        {"params": {"user_input": "Hi", "temperature": "9"}},
        "request.query.temperature",
        id="temperature-above-range",
    ),
    pytest.param(
        "GET",
        "/api/generate_image",
        {"params": {"user_input": "A fox", "model": "dall-e"}},
        "request.query.model",
        id="image-model-not-in-enum",
    ),
    pytest.param(
        "POST",
        "/dsai_fuck_u_spammer",
        {"data": {"user_input": "Hi", "ai_model": "gpt-5"}},
        "request.body.ai_model",
        id="chat-model-not-in-enum",
    ),
    pytest.param(
        "POST",
        "/generate_response",
        {"data": {"user_input": "", "ai_model": "gemini-2.0-flash-lite"}, "files": {"file": ("a.png", b"x")}},
        "request.body.user_input",
        id="empty-prompt-multipart",
    ),
    pytest.param(
        "GET",
        "/api/generate_response",
        {"params": {"user_input": "Hi", "private": "TRUE"}},
        "request.query.private",
        id="boolean-spelled-otherwise",
    ),
]


@pytest.mark.parametrize(("method", "path", "request_args", "location"), BAD_REQUESTS)
def test_prism_reports_a_deliberately_bad_request(
    prism: PrismServer, method: str, path: str, request_args: dict[str, Any], location: str
) -> None:
    """The checks above are live: a request the spec forbids is flagged by each of them."""
    recorder = WireRecorder()
    start = prism.mark()
    with recorder.sync_http() as http:
        http.request(method, prism.base_url + path, **request_args)
    [exchange] = recorder.exchanges
    log_lines = prism.log_since(start)

    assert any(problem.startswith(f"{location}: ") for problem in violations_in(exchange)), violations_in(exchange)
    assert exchange.status in (400, 422)
    assert any(location in line for line in violation_lines(log_lines)), log_lines
    report = CallReport(SdkCall("raw httpx", "status"), [exchange], None)
    with pytest.raises(AssertionError, match=location.replace(".", r"\.")):
        assert_contract_kept([report], log_lines)


@pytest.mark.parametrize("spelling", ["true", "false", "True", "False"])
def test_the_spec_takes_booleans_as_the_services_own_client_spells_them(prism: PrismServer, spelling: str) -> None:
    """`dynaspark` 1.2.2.3 sends str(True): the spec must accept `True`/`False` too."""
    recorder = WireRecorder()
    start = prism.mark()
    with recorder.sync_http() as http:
        http.get(prism.base_url + "/api/generate_response", params={"user_input": "Hi", "json": spelling})
        http.get(prism.base_url + "/api/generate_response", params={"user_input": "Hi", "private": spelling})
        http.get(prism.base_url + "/api/generate_image", params={"user_input": "A fox", "nologo": spelling})
    log_lines = prism.log_since(start)
    for exchange in recorder.exchanges:
        assert exchange.status == 200, exchange
        assert violations_in(exchange) == []
    assert violation_lines(log_lines) == []


def test_a_multipart_file_part_breaking_the_encoding_is_flagged(prism: PrismServer) -> None:
    """Prism accepts any file part; `violations_in` checks its content type and filename."""
    recorder = WireRecorder()
    with recorder.sync_http() as http:
        fields = {"user_input": "Hi", "ai_model": "gemini-2.0-flash-lite"}
        http.post(
            prism.base_url + "/generate_response", data=fields, files={"file": ("notes.txt", b"hi", "text/plain")}
        )
        http.post(prism.base_url + "/generate_response", data=fields, files={"file": ("", tiny_png(), "image/png")})
    wrong_type, no_name = recorder.exchanges

    assert wrong_type.status == 200
    assert violations_in(wrong_type) == [
        f"file part sent as text/plain, the spec allows {sorted(spec_file_content_types(load_spec()))}"
    ]
    assert violations_in(no_name) == ["file part sent without a filename"]
