"""The emulator's core: a pure, thread-safe function from a request to a `ResponsePlan`.

How it answers (deterministic: no randomness, nothing but the request and the clock):

*Echo line.* Every text answer quotes the prompt's last line that is neither blank nor just
``Assistant:`` (the trailer gpt4free-style history folding appends), trimmed, without the
``User: `` label folding puts before it when the prompt has several such lines, and cut to
200 characters; the whole prompt trimmed if there is no such line.

``POST /dsai_fuck_u_spammer`` and ``POST /generate_response`` (the chat endpoint)
    Served at every path of ``chat_paths`` (default ``spec_values.CHAT_PATHS``: the newer
    path and the one it replaced); a chat path left out answers 404 like any unknown path,
    which is how the service looks when it has moved. Form (url-encoded or multipart):
    ``user_input`` (non-empty), ``ai_model`` (one of ``spec_values.CHAT_MODELS``), optionally
    one ``file`` part with a filename, an image content type that its first bytes confirm
    (jpeg, png, gif, webp), at most ``spec_values.MAX_IMAGE_BYTES``. Other fields are refused. Answer:
    ``{"response": "[<ai_model>] You said: <echo line>"}``, plus
    ``" (with a <n>-byte <type> image)"`` when a file came.

``GET /api/generate_response``
    Every query parameter is checked against ``spec_values.PARAMETERS["generate_text"]``
    (unknown, repeated or missing names, types, ranges, enumerations). The text is
    ``"[<model>] You said: <echo line>"`` (``model`` defaults to ``"openai"``, an assumption:
    the spec names no text model); with ``json=true`` it is the JSON text
    ``{"model": <model>, "you_said": <echo line>}``. Answer:
    ``{"response": text, "model": model, "usage": {...}}`` where tokens are whitespace
    separated words: prompt tokens of ``user_input`` plus ``system``, completion tokens of
    the text. With ``stream=true``: ``text/event-stream``, one event per word (each word
    with the white space after it, so the contents join back into the text), each
    ``data: {"choices":[{"delta":{"content":"<word>"}}]}``, then ``data: [DONE]``,
    ``stream_delay`` seconds between events. With ``model=openai-audio`` (``stream`` is
    then ignored): ``audio/mpeg``, one silent MPEG-1 Layer III frame (417 bytes, header
    ``FF FB 90 64``) per character of ``"[openai-audio/<voice>] You said: <echo line>"``.

``GET /api/generate_image``
    Checked against ``spec_values.PARAMETERS["generate_image"]``. ``seed`` defaults to the
    first four bytes of the prompt's SHA-256 (big-endian, top bit cleared). Answer:
    ``{"image_url": "<scheme>://<Host header>/images/<id>.png", "model": ..., "seed": ...}``
    where ``<id>`` is a digest of every parameter. That URL serves a real PNG of exactly
    the requested size (not capped: even 2048 x 2048 takes about 0.1 s, and is cached): a
    vertical gradient between two colours picked by the seed, a white square in the
    bottom-right corner unless ``nologo=true``, and ``wm`` as the PNG's ``Comment`` text.
    Like a static file server, it answers ``GET`` and ``HEAD`` (the same status and headers,
    ``Content-Length`` included, without the body), with an ``ETag``.

``GET /status``
    ``{"status": "ok", "emulator": true}``.

*An operation the spec describes that has no rules here yet* (one just added to
``openapi/dynaspark.yaml``): its parameters are checked against the spec, and it answers 200
with the spec's ``example`` of its JSON answer, else the smallest value its schema allows
(uncounted), instead of a 404, until the emulator learns it.

*Scripted answers* (`Emulator.script_answers`) replace the echo text of the chat and text
endpoints (streamed, JSON-mode and token counts as above) while they last, so a test can play
a model that answers with tool calls, JSON, or mistakes.

Anything else: 404 ``{"error": ...}``; a known path with another method: 405 with ``Allow``.

*Keys and limits.* ``api_key`` is read from the query string of any request; no key counts as
one anonymous key. A key in ``rejected_keys`` gets 401. Each key has a fixed window that opens
at its first counted request and lasts ``window_seconds``; the three generation endpoints
count (the 401s and 429s excepted), ``/status``, image downloads and errors of routing
do not. Past ``rate_limit`` requests in a window: 429 with ``Retry-After`` (whole seconds to
the reset, at least 1); ``rate_limit=None`` sets no limit (and sends no ``X-RateLimit-*``
headers). Otherwise every answer of the service carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (the window's end as a Unix time,
rounded up); answers of Render's proxy (``faults.html_page``) and resets carry none. Checks
run in this order: a queued fault (see `faults`), route (404/405), key (401), limit (429),
parameters (400).

The key is never written to a log line nor echoed in an answer; `RecordedRequest` keeps it
(tests need it) but hides it from its repr.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import attrs

from dynaspark_sdk._generated import spec_values

from ._forms import FormError, UploadedFile, parse_form
from ._media import mp3_silence, picture_png, sniff_image_type
from ._plan import ResponsePlan, bytes_plan, event_stream_plan, json_plan
from ._scripts import ENDPOINTS, AnswerScript, Responder
from ._spec_answers import spec_example_answer
from ._validation import ParameterError, Value, validate_parameters
from .faults import Fault

__all__ = ["DEFAULT_TEXT_MODEL", "Emulator", "RecordedRequest"]

logger = logging.getLogger("dynaspark_sdk.testing")

DEFAULT_TEXT_MODEL = spec_values.DEFAULT_TEXT_MODEL
"""The model the emulator reports when `GET /api/generate_response` names none (the spec's
assumption, `x-default-model`)."""

ECHO_CHARS = 200

Pairs = tuple[tuple[str, str], ...]


def _redacted_query(query: Pairs) -> Pairs:
    return tuple((name, "***" if name == "api_key" else value) for name, value in query)


@attrs.frozen(repr=False)
class RecordedRequest:
    """One request as the emulator received it.

    Header names are lower-cased. `form` and `files` are filled for form bodies that could be
    read. The API key is kept (see `api_key`) but never shown by `repr`.
    """

    method: str
    path: str
    query: Pairs
    headers: Pairs
    body: bytes
    form: Pairs = ()
    files: tuple[UploadedFile, ...] = ()

    def header(self, name: str) -> str | None:
        """The first header called `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    @property
    def params(self) -> dict[str, str]:
        """The query parameters as a dict (the first value wins when a name repeats)."""
        params: dict[str, str] = {}
        for name, value in self.query:
            params.setdefault(name, value)
        return params

    @property
    def fields(self) -> dict[str, str]:
        """The form fields as a dict (the first value wins when a name repeats)."""
        fields: dict[str, str] = {}
        for name, value in self.form:
            fields.setdefault(name, value)
        return fields

    @property
    def api_key(self) -> str | None:
        """The `api_key` query parameter, or None when the request carried none."""
        return self.params.get("api_key")

    def __repr__(self) -> str:
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, "
            f"query={_redacted_query(self.query)!r}, form={self.form!r}, files={self.files!r})"
        )


@attrs.define
class _Window:
    start: float
    used: int


@attrs.define
class _QueuedFault:
    fault: Fault
    remaining: int
    path: str | None


@attrs.frozen
class _ImageSpec:
    width: int
    height: int
    seed: int
    logo: bool
    watermark: str | None


_ROUTES: dict[str, str] = {
    "/api/generate_response": "GET",
    "/api/generate_image": "GET",
    "/status": "GET",
}
_COUNTED = frozenset({"/api/generate_response", "/api/generate_image"})
#: Operations the spec describes that the emulator has no rules for (one just added to the spec):
#: path -> (method, operationId). They answer from the spec (`spec_example_answer`), uncounted.
_SPEC_ONLY: dict[str, tuple[str, str]] = {
    path: (method, operation)
    for operation, (method, path) in spec_values.OPERATIONS.items()
    if path not in _ROUTES and path not in spec_values.CHAT_PATHS
}
_IMAGE_PATH = re.compile(r"/images/([0-9a-f]{24})\.png")
_WORD = re.compile(r"\S+\s*")
_CHAT_FIELDS = spec_values.PARAMETERS["chat"]


def echo_line(prompt: str) -> str:
    """The part of a prompt the emulator's answers quote (see the module's docstring)."""
    lines = [line.strip() for line in prompt.splitlines()]
    candidates = [line for line in lines if line and line != "Assistant:"]
    line = candidates[-1] if candidates else prompt.strip()
    if len(candidates) > 1 and line.startswith("User: "):
        # A folded conversation: quote what the user said, not the role label gpt4free added.
        line = line.removeprefix("User: ").strip() or line
    return line if len(line) <= ECHO_CHARS else line[: ECHO_CHARS - 1] + "…"


def _words(text: str) -> int:
    return len(text.split())


class Emulator:
    """The whole Dynaspark service, in memory, for offline tests.

    Thread-safe: one lock guards the state, so one emulator can serve several clients and
    threads at once. Drive it through `EmulatorTransport`, `AsyncEmulatorTransport` or
    `serve()`; or call `handle` directly::

        emulator = Emulator(rate_limit=5)
        with httpx.Client(transport=EmulatorTransport(emulator), base_url="http://dynaspark.test") as http:
            http.get("/api/generate_response", params={"user_input": "hi"}).json()["response"]
            # '[openai] You said: hi'
    """

    def __init__(
        self,
        *,
        rate_limit: int | None = 100,
        window_seconds: float = 3600,
        rejected_keys: Iterable[str] = frozenset(),
        clock: Callable[[], float] = time.time,
        stream_delay: float = 0.0,
        chat_paths: Iterable[str] = spec_values.CHAT_PATHS,
    ) -> None:
        if rate_limit is not None and rate_limit < 0:
            raise ValueError("rate_limit must be >= 0 (None for no limit)")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be > 0")
        self.rate_limit = rate_limit
        self.window_seconds = window_seconds
        self.rejected_keys = frozenset(rejected_keys)
        self.clock = clock
        self.stream_delay = stream_delay
        """Seconds between a stream's events; change it at any time."""
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: collections.deque[_QueuedFault] = collections.deque()
        self._windows: dict[str | None, _Window] = {}
        self._images: dict[str, _ImageSpec] = {}
        self._scripts: dict[str, AnswerScript] = {}
        self.chat_paths = chat_paths

    @property
    def chat_paths(self) -> tuple[str, ...]:
        """The paths chat is served at (default: all of `spec_values.CHAT_PATHS`, the newer
        path and the one it replaced). Give one to play a service that answers only there,
        none for one whose chat endpoint is gone; change it at any time::

            emulator = Emulator(chat_paths=["/generate_response"])  # the service before the move
            emulator.chat_paths = ["/dsai_fuck_u_spammer"]           # ... and after it
        """
        return self._chat_paths

    @chat_paths.setter
    def chat_paths(self, paths: Iterable[str]) -> None:
        if isinstance(paths, str):
            raise TypeError("chat_paths must be a list of paths, not one string")
        checked = tuple(paths)
        for path in checked:
            if not isinstance(path, str) or not path.startswith("/") or "?" in path:
                raise ValueError(f"a chat path must be a string starting with '/', not {path!r}")
            if path in _ROUTES or _IMAGE_PATH.fullmatch(path):
                raise ValueError(f"{path} already serves another endpoint")
        with self._lock:
            self._chat_paths = checked

    def __repr__(self) -> str:
        return f"Emulator(rate_limit={self.rate_limit}, window_seconds={self.window_seconds})"

    # -- scripting -----------------------------------------------------------------------------

    def inject(self, fault: Fault, *, times: int = 1, path: str | None = None) -> None:
        """Queue `fault` for the next `times` requests to `path` (any path when None)."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(_QueuedFault(fault=fault, remaining=times, path=path))

    def script_answers(self, answers: Iterable[str] | Responder, *, endpoint: str | None = None) -> None:
        """Play a model: answer the chat endpoint (`endpoint="chat"`), the text endpoint
        (`"text"`) or both (None, one queue they share) with scripted texts instead of the echo.

        `answers` is a list of texts, handed out one per answered request (then the echo again),
        or a function `(prompt, model) -> text` asked for every one. Faults, rate limits and
        refused parameters come first, as always, and take no answer from the queue::

            emulator.script_answers(['{"name": "add", "arguments": {"a": 1, "b": 2}}', "It is 3."])
            emulator.script_answers(lambda prompt, model: "Paris" if "France" in prompt else "?", endpoint="chat")
        """
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)} or None, not {endpoint!r}")
        script = AnswerScript(answers)
        with self._lock:
            for name in ENDPOINTS if endpoint is None else (endpoint,):
                self._scripts[name] = script

    def clear_answers(self) -> None:
        """Drop the scripted answers: the echo answers again."""
        with self._lock:
            self._scripts.clear()

    def remaining_answers(self, endpoint: str = "chat") -> int | None:
        """How many scripted answers `endpoint` has left (0 without a script, None for a function)."""
        with self._lock:
            script = self._scripts.get(endpoint)
            return 0 if script is None else script.remaining

    def _scripted(self, endpoint: str, prompt: str, model: str) -> str | None:
        script = self._scripts.get(endpoint)
        return None if script is None else script.next_answer(prompt, model)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        """How many more requests queued faults will still hit."""
        with self._lock:
            return sum(queued.remaining for queued in self._faults)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def reset_rate_limits(self) -> None:
        """Close every key's window: the next request of each key opens a fresh one."""
        with self._lock:
            self._windows.clear()

    # -- the core ------------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]] = (),
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        scheme: str = "http",
    ) -> ResponsePlan:
        """Answer one request: `path` without its query string, `query` as decoded pairs."""
        method = method.upper()
        with self._lock:
            record, form_error = self._record(method, path, query, headers, body)
            fault = self._take_fault(path)
            key = record.api_key
            if fault is None:
                plan = self._answer(record, form_error, key, scheme)
            else:

                def answer() -> ResponsePlan:
                    return self._answer(record, form_error, key, scheme)

                plan = fault.apply(answer, self._rate_headers(key, counted=False))
        if method == "HEAD":  # the status and headers a GET gets, without its body
            plan = attrs.evolve(plan, body=())
        logger.debug("%s %s -> %s", method, path, "reset" if plan.reset_before_head else plan.status)
        return plan

    def _record(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> tuple[RecordedRequest, str | None]:
        lowered = tuple((name.lower(), value) for name, value in headers)
        form: Pairs = ()
        files: tuple[UploadedFile, ...] = ()
        form_error = None
        if method == "POST":
            content_type = next((value for name, value in lowered if name == "content-type"), None)
            try:
                fields, uploads = parse_form(content_type, body)
            except FormError as error:
                form_error = str(error)
            else:
                form, files = tuple(fields), tuple(uploads)
        record = RecordedRequest(
            method=method, path=path, query=tuple(query), headers=lowered, body=body, form=form, files=files
        )
        self._requests.append(record)
        return record, form_error

    def _take_fault(self, path: str) -> Fault | None:
        for queued in self._faults:
            if queued.path is None or queued.path == path:
                queued.remaining -= 1
                if queued.remaining == 0:
                    self._faults.remove(queued)
                return queued.fault
        return None

    def _window(self, key: str | None, now: float) -> _Window | None:
        window = self._windows.get(key)
        if window is not None and now >= window.start + self.window_seconds:
            return None
        return window

    def _rate_headers(self, key: str | None, *, counted: bool, retry_after: bool = False) -> Pairs:
        if self.rate_limit is None:
            return ()  # no limit, so no numbers to tell
        now = self.clock()
        window = self._window(key, now)
        if counted and window is None:
            window = self._windows[key] = _Window(start=now, used=0)
        if counted and window is not None:
            window.used += 1
        used = window.used if window is not None else 0
        end = (window.start if window is not None else now) + self.window_seconds
        headers = [
            ("x-ratelimit-limit", str(self.rate_limit)),
            ("x-ratelimit-remaining", str(max(0, self.rate_limit - used))),
            ("x-ratelimit-reset", str(math.ceil(end))),
        ]
        if retry_after:
            headers.append(("retry-after", str(max(1, math.ceil(end - now)))))
        return tuple(headers)

    def _limit_reached(self, key: str | None) -> bool:
        if self.rate_limit is None:
            return False
        window = self._window(key, self.clock())
        return window is not None and window.used >= self.rate_limit

    def _answer(self, record: RecordedRequest, form_error: str | None, key: str | None, scheme: str) -> ResponsePlan:
        path, method = record.path, record.method
        image = _IMAGE_PATH.fullmatch(path)
        chat = path in self._chat_paths
        spec_only = None if chat else _SPEC_ONLY.get(path)
        allowed = "GET, HEAD" if image else "POST" if chat else _ROUTES.get(path) or (spec_only and spec_only[0])
        if allowed is None:
            return json_plan(404, {"error": "not found"}, self._rate_headers(key, counted=False))
        if method not in allowed.split(", "):
            headers = (*self._rate_headers(key, counted=False), ("allow", allowed))
            return json_plan(405, {"error": f"method {method} not allowed; use {allowed}"}, headers)
        if key is not None and key in self.rejected_keys:
            return json_plan(401, {"error": "invalid API key"}, self._rate_headers(key, counted=False))
        counted = chat or path in _COUNTED
        if counted and self._limit_reached(key):
            headers = self._rate_headers(key, counted=False, retry_after=True)
            return json_plan(429, {"error": "rate limit exceeded; try again later"}, headers)
        service_headers = self._rate_headers(key, counted=counted)
        try:
            if image:
                return self._image_file(image.group(1), service_headers)
            if spec_only is not None:
                return self._spec_only(spec_only[1], record, service_headers)
            if path == "/status":
                return json_plan(200, {"status": "ok", "emulator": True}, service_headers)
            if chat:
                return self._chat(record, form_error, service_headers)
            if path == "/api/generate_image":
                return self._generate_image(record, scheme, service_headers)
            return self._generate_text(record, service_headers)
        except ParameterError as error:
            return json_plan(400, {"error": str(error)}, service_headers)

    # -- endpoints -----------------------------------------------------------------------------

    def _chat(self, record: RecordedRequest, form_error: str | None, headers: Pairs) -> ResponsePlan:
        if form_error is not None:
            raise ParameterError(form_error)
        if any(name == "file" for name, _ in record.form):
            raise ParameterError("form field file must be a file part with a filename and an image content type")
        others = [upload.field for upload in record.files if upload.field != "file"]
        if others:
            raise ParameterError(f"unknown form field{'s' if len(others) > 1 else ''}: {', '.join(others)}")
        fields = validate_parameters(_CHAT_FIELDS, record.form, noun="form field")
        model = str(fields["ai_model"])
        if model not in spec_values.CHAT_MODELS:  # the rule's enumeration already says so; kept explicit
            raise ParameterError(f"unknown model {model}")
        text = f"[{model}] You said: {echo_line(str(fields['user_input']))}"
        if len(record.files) > 1:
            raise ParameterError("at most one file may be sent")
        if record.files:
            upload = record.files[0]
            _check_image(upload)
            text += f" (with a {upload.size}-byte {upload.content_type} image)"
        scripted = self._scripted("chat", str(fields["user_input"]), model)
        return json_plan(200, {"response": text if scripted is None else scripted}, headers)

    def _generate_text(self, record: RecordedRequest, headers: Pairs) -> ResponsePlan:
        params = validate_parameters(spec_values.PARAMETERS["generate_text"], record.query)
        prompt = str(params["user_input"])
        model = str(params.get("model", DEFAULT_TEXT_MODEL))
        line = echo_line(prompt)
        if model == spec_values.AUDIO_MODEL:
            voice = str(params.get("voice", spec_values.DEFAULT_VOICE))
            spoken = f"[{model}/{voice}] You said: {line}"
            return bytes_plan(200, "audio/mpeg", mp3_silence(len(spoken)), headers)
        scripted = self._scripted("text", prompt, model)
        if scripted is not None:
            text = scripted
        elif params.get("json") is True:
            text = json.dumps({"model": model, "you_said": line}, ensure_ascii=False)
        else:
            text = f"[{model}] You said: {line}"
        if params.get("stream") is True:
            events = [
                b"data: " + _compact({"choices": [{"delta": {"content": word}}]}) + b"\n\n"
                for word in _WORD.findall(text)
            ]
            events.append(b"data: [DONE]\n\n")
            return event_stream_plan(events, self.stream_delay, headers)
        prompt_tokens = _words(prompt) + _words(str(params.get("system", "")))
        completion_tokens = _words(text)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return json_plan(200, {"response": text, "model": model, "usage": usage}, headers)

    def _generate_image(self, record: RecordedRequest, scheme: str, headers: Pairs) -> ResponsePlan:
        params = validate_parameters(spec_values.PARAMETERS["generate_image"], record.query)
        prompt = str(params["user_input"])
        seed = _int(params.get("seed"), default_seed(prompt))
        model = str(params.get("model", spec_values.DEFAULT_IMAGE_MODEL))
        spec = _ImageSpec(
            width=_int(params.get("width"), 768),
            height=_int(params.get("height"), 768),
            seed=seed,
            logo=params.get("nologo") is not True,
            watermark=None if params.get("wm") is None else str(params["wm"]),
        )
        identity = _compact([prompt, model, attrs.asdict(spec)])
        image_id = hashlib.sha256(identity).hexdigest()[:24]
        self._images[image_id] = spec
        host = record.header("host") or "dynaspark.test"
        answer = {"image_url": f"{scheme}://{host}/images/{image_id}.png", "model": model, "seed": seed}
        return json_plan(200, answer, headers)

    def _spec_only(self, operation: str, record: RecordedRequest, headers: Pairs) -> ResponsePlan:
        validate_parameters(spec_values.PARAMETERS[operation], record.form if record.method == "POST" else record.query)
        return json_plan(200, spec_example_answer(operation), headers)

    def _image_file(self, image_id: str, headers: Pairs) -> ResponsePlan:
        spec = self._images.get(image_id)
        if spec is None:
            return json_plan(404, {"error": "no such image"}, headers)
        png = picture_png(spec.width, spec.height, spec.seed, spec.logo, spec.watermark)
        # What a static file server adds: the file never changes, so it has a fixed validator.
        static = (("etag", f'"{image_id}"'), ("cache-control", "public, max-age=86400"))
        return bytes_plan(200, "image/png", png, (*static, *headers))


def default_seed(prompt: str) -> int:
    """The seed an image gets when the request names none: from the prompt's SHA-256."""
    return int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF


def _int(value: Value | None, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _compact(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _check_image(upload: UploadedFile) -> None:
    if not upload.filename:
        raise ParameterError("file must have a filename")
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    if declared not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
        raise ParameterError(f"file must have an image content type (jpeg, png, gif, webp), not {declared or 'none'}")
    if not upload.data:
        raise ParameterError("file is empty")
    if upload.size > spec_values.MAX_IMAGE_BYTES:
        raise ParameterError(f"file is larger than {spec_values.MAX_IMAGE_BYTES} bytes")
    sniffed = sniff_image_type(upload.data)
    if sniffed is None:
        raise ParameterError("invalid image format: file is not a jpeg, png, gif or webp image")
    if sniffed != declared:
        raise ParameterError(f"file content type {declared} does not match its bytes ({sniffed})")
