"""`dynaspark probe`: check a running service against the spec, spending at most 10 requests.

    dynaspark probe                                   # the live service
    dynaspark --base-url http://127.0.0.1:8765 probe  # an emulator, or anything else
    dynaspark --json probe

One small request per operation, through the SDK's public `Client` where the SDK has the
call (text, streamed text, image, speech, status) and as plain HTTP where it has none (chat
on each known chat path, the deliberately bad request, the models listings its docs claim).
Every answer is recorded as it came off the wire and checked against the spec that ships
with this package (`_generated/openapi.json`): status, content type, the body against its
schema, the stream's events and `[DONE]`, the rate-limit headers. The result is one `Row` per
operation and check; a row whose verdict is "drift" or "failed" makes the exit status 1.

The ten requests:

1. `GET /status`
2. chat with an image (multipart) on the spec's chat path
3. chat without an image (url-encoded) on the other known chat path: `/dsai_fuck_u_spammer`
   (gpt4free from 0.5.2.3) and `/generate_response` (before) are both tried, one request
   each, and which one answers is reported; the one the spec does not name as the chat
   operation's path not answering is "absent", not drift
4. `GET /api/generate_response` (text; its content type tests the docs' text/plain claim)
5. the same with `stream=true`
6. `GET /api/generate_image` without a model (tests the spec's default model)
7. speech (`model=openai-audio`)
8. a bad request, `GET /api/generate_image` with `width=1`: the error body's shape
9. `GET /text/models` and 10. `GET /image/models` (claims of the docs, never seen on the wire)

Parts of the spec marked ASSUMED are listed at the end, each confirmed, contradicted or not
checked; the docs' unverified claims likewise (confirmed, contradicted or absent). Those rows
inform; what fails the probe is drift in what the answers showed.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import httpx

from dynaspark_sdk import Client, DynasparkError
from dynaspark_sdk.spec import openapi_document

__all__ = ["MAX_REQUESTS", "ProbeReport", "Row", "probe"]

MAX_REQUESTS = 10
"""The most requests a probe sends: a tenth of the free key's hourly limit."""

# The chat paths gpt4free's provider used, newest first: `/dsai_fuck_u_spammer` from 0.5.2.3
# (2025-05-12), `/generate_response` before. The spec's own chat paths are added to these.
KNOWN_CHAT_PATHS = ("/dsai_fuck_u_spammer", "/generate_response")

_FAILING = frozenset({"drift", "failed"})
_PROMPT = "probe: answer with one word"
_DEFAULT_TIMEOUT = httpx.Timeout(90.0, connect=15.0)  # the free instance wakes slowly


@attrs.frozen
class Row:
    """One check of one operation.

    `verdict` is "ok", "drift" (the answer differs from the spec), "failed" (no usable
    answer: a connection error, a 5xx, a rate limit), "confirmed" / "contradicted" (an ASSUMED
    part of the spec or a claim of the service's docs), "absent" (a claimed endpoint, or a chat
    path the service used before, that does not answer) or "not checked".
    """

    path: str
    operation: str
    check: str
    verdict: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """The row as plain JSON data."""
        return attrs.asdict(self)


@attrs.frozen
class ProbeReport:
    """What `probe()` found: the rows, and how many requests it spent."""

    base_url: str
    rows: tuple[Row, ...]
    requests: int
    max_requests: int = MAX_REQUESTS

    @property
    def ok(self) -> bool:
        """True when no row shows drift or a failure."""
        return not any(row.verdict in _FAILING for row in self.rows)

    @property
    def problems(self) -> tuple[Row, ...]:
        """The rows showing drift or a failure."""
        return tuple(row for row in self.rows if row.verdict in _FAILING)

    def summary(self) -> str:
        """One line: requests spent and the outcome."""
        spent = f"{self.requests} of {self.max_requests} requests spent"
        if self.ok:
            return f"{spent}; the service matches the spec"
        drift = sum(row.verdict == "drift" for row in self.rows)
        failed = sum(row.verdict == "failed" for row in self.rows)
        return f"{spent}; {drift} drift, {failed} failed: the service does not match the spec"

    def lines(self) -> list[str]:
        """The report as a table for a terminal, then the summary line."""
        header = Row("PATH", "OPERATION", "CHECK", "VERDICT", "DETAIL")
        table = [header, *self.rows]
        names = ("path", "operation", "check", "verdict")
        widths = [max(len(getattr(row, name)) for row in table) for name in names]
        out = []
        for row in table:
            cells = [str(getattr(row, name)).ljust(width) for name, width in zip(names, widths, strict=True)]
            out.append("  ".join([*cells, row.detail]).rstrip())
        out.append(f"probe of {self.base_url}: {self.summary()}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        return {
            "base_url": self.base_url,
            "ok": self.ok,
            "requests": self.requests,
            "max_requests": self.max_requests,
            "rows": [row.to_dict() for row in self.rows],
        }


# --------------------------------------------------------------------------- the spec


def load_spec() -> dict[str, Any]:
    """The OpenAPI document this package was generated from, as JSON data."""
    return openapi_document()


def _resolve(spec: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        cursor: Any = spec
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            cursor = cursor[part.replace("~1", "/").replace("~0", "~")]
        node = cursor
    return node


def chat_paths(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The chat paths to try: the spec's chat operation's path first, then the paths it had
    before (its `x-previous-paths`, other chat operations such as `chat_previous`, and those
    gpt4free used that the spec does not list)."""
    primary: list[str] = []
    previous: list[str] = []
    for path, item in spec.get("paths", {}).items():
        operation = item.get("post") or {}
        operation_id = str(operation.get("operationId", ""))
        if operation_id == "chat":
            primary.append(path)
            previous.extend(operation.get("x-previous-paths", []))
        elif operation_id.startswith("chat"):
            previous.append(path)
    return tuple(dict.fromkeys([*primary, *previous, *KNOWN_CHAT_PATHS]))


def _operation(spec: Mapping[str, Any], path: str, method: str) -> Mapping[str, Any]:
    paths = spec.get("paths", {})
    if path not in paths:
        # A known chat path the spec does not list is checked as the spec's chat operation.
        path = next((p for p in paths if p in KNOWN_CHAT_PATHS), path)
    result: Mapping[str, Any] = _resolve(spec, paths.get(path, {}).get(method, {}))
    return result


def _response(spec: Mapping[str, Any], operation: Mapping[str, Any], status: int) -> Mapping[str, Any] | None:
    responses = operation.get("responses", {})
    found = responses.get(str(status))
    result: Mapping[str, Any] | None = _resolve(spec, found) if found is not None else None
    return result


def schema_problems(spec: Mapping[str, Any], value: Any, schema: Any, where: str = "JSON answer") -> list[str]:
    """What is wrong with `value` under `schema`, in words; empty when it fits.

    Covers what the spec uses: `$ref`, `type`, `required`, `properties`,
    `additionalProperties: false`, `enum`, `minimum`/`maximum`, `items`, `oneOf`/`anyOf`.
    A missing field is reported with the fields the spec does not know, so a rename reads as
    one: `JSON answer has no "response" (has "answer")`.
    """
    schema = _resolve(spec, schema)
    if not isinstance(schema, Mapping):
        return []
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [schema_problems(spec, value, branch, where) for branch in schema[key]]
            if not any(not problems for problems in branches):
                return min(branches, key=len)
    expected = schema.get("type")
    if expected is not None and not _is_type(value, expected):
        return [f"{where} is {_kind(value)}, the spec says {expected}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} is {value!r}, not one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where} is {value}, below the spec's minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where} is {value}, above the spec's maximum {schema['maximum']}")
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        unknown = [name for name in value if name not in properties]
        for name in schema.get("required", []):
            if name not in value:
                has = f" (has {', '.join(json.dumps(u) for u in unknown)})" if unknown else ""
                problems.append(f"{where} has no {json.dumps(name)}{has}")
        if schema.get("additionalProperties") is False and unknown:
            problems.append(f"{where} has fields the spec does not allow: {', '.join(map(json.dumps, unknown))}")
        for name, member in properties.items():
            if name in value:
                problems.extend(schema_problems(spec, value[name], member, f"{json.dumps(name)}"))
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems.extend(schema_problems(spec, item, schema["items"], f"{where}[{index}]"))
    return problems


def new_fields(spec: Mapping[str, Any], value: Any, schema: Any) -> list[str]:
    """Top-level fields of a JSON object that its schema does not name."""
    schema = _resolve(spec, schema)
    if not isinstance(value, dict) or not isinstance(schema, Mapping):
        return []
    known = schema.get("properties", {})
    if schema.get("additionalProperties") is True:
        return []
    return [name for name in value if name not in known]


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _is_type(value: Any, expected: Any) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    return any(_TYPES.get(str(name), lambda _: True)(value) for name in names)


def _kind(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _TYPES[name](value):
            return "a boolean" if name == "boolean" else f"{'an' if name[0] in 'aeio' else 'a'} {name}"
    return type(value).__name__


def assumed_markers(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every paragraph of the spec marked ASSUMED, with its JSON pointer (the document's own
    description, which only explains the marker, left out)."""
    found: list[tuple[str, str]] = []

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{pointer}/{index}")
        elif isinstance(node, str) and "ASSUMED" in node and not pointer.startswith("/info"):
            for paragraph in re.split(r"\n\s*\n", node):
                if "ASSUMED" in paragraph:
                    found.append((pointer, " ".join(paragraph.split())))

    walk(spec, "")
    return found


# --------------------------------------------------------------------------- recording


class BudgetSpentError(Exception):
    """A request past the probe's budget was refused before it was sent."""


@attrs.define
class Exchange:
    """One request as sent and its answer as received (the whole body)."""

    method: str
    path: str
    status: int | None = None
    headers: httpx.Headers = attrs.field(factory=httpx.Headers)
    body: bytes = b""
    error: str | None = None
    secret: str | None = attrs.field(default=None, repr=False)

    @property
    def content_type(self) -> str:
        """The answer's media type, without parameters, lower-cased."""
        value: str = self.headers.get("content-type", "")
        return value.split(";")[0].strip().lower()


class _Recorder:
    """httpx event hooks that count, cap and record every request, reading each answer whole
    (the SDK then reads it from memory, streams included)."""

    def __init__(self, budget: int, secret: str | None) -> None:
        self.budget = budget
        self._secret = secret
        self.exchanges: list[Exchange] = []

    def on_request(self, request: httpx.Request) -> None:
        if len(self.exchanges) >= self.budget:
            raise BudgetSpentError(f"the probe's budget of {self.budget} requests is spent")
        self.exchanges.append(Exchange(request.method, request.url.path, secret=self._secret))

    def on_response(self, response: httpx.Response) -> None:
        exchange = self.exchanges[-1]
        exchange.status, exchange.headers = response.status_code, response.headers
        try:
            exchange.body = response.read()
        except httpx.HTTPError as exc:
            exchange.status, exchange.error = None, _error_text(exc)
            raise

    def failed(self, before: int, error: str) -> None:
        """Note why the request sent after `before` others got no answer."""
        if len(self.exchanges) > before and self.exchanges[-1].status is None:
            self.exchanges[-1].error = self.exchanges[-1].error or error


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# --------------------------------------------------------------------------- checks


@attrs.define
class _Checker:
    spec: Mapping[str, Any]
    rows: list[Row] = attrs.field(factory=list)

    def add(self, path: str, operation: str, check: str, verdict: str, detail: str = "") -> Row:
        row = Row(path, operation, check, verdict, detail)
        self.rows.append(row)
        return row

    def answer(
        self,
        exchange: Exchange | None,
        operation: str,
        *,
        method: str,
        path: str,
        body: str,
        content_types: Sequence[str] | None = None,
        may_be_absent: bool = False,
    ) -> bool:
        """Rows for one answer that the spec says should be a 200; True when it was one.

        `body` is "json", "stream" or "audio": how the body is checked. With `may_be_absent`
        (a chat path the service used before) a 404 or 405 is "absent", not drift.
        """
        if exchange is None or exchange.status is None:
            detail = exchange.error if exchange is not None and exchange.error else "no answer"
            self.add(path, operation, "status", "failed", detail)
            return False
        spec_op = _operation(self.spec, path, method)
        if exchange.status != 200:
            # A rate limit or a server error (Render's 502/503 while it wakes) says nothing of drift.
            verdict = "failed" if exchange.status == 429 or exchange.status >= 500 else "drift"
            if exchange.status in (404, 405) and may_be_absent:
                verdict, detail = "absent", f"{exchange.status}: nothing answers {method.upper()} {path} any more"
            elif exchange.status in (404, 405):
                detail = f"{exchange.status}: nothing answers {method.upper()} {path}, the spec says 200"
            else:
                detail = f"{exchange.status}, the spec says 200: {_snippet(exchange)}"
            self.add(path, operation, "status", verdict, detail)
            return False
        self.add(path, operation, "status", "ok", "200")
        response = _response(self.spec, spec_op, 200) or {}
        content: Mapping[str, Any] = response.get("content", {})
        allowed = list(content_types or content)
        if exchange.content_type in allowed:
            self.add(path, operation, "content type", "ok", exchange.content_type)
        else:
            shown = exchange.content_type or "none"
            self.add(path, operation, "content type", "drift", f"{shown}, the spec says {' or '.join(allowed)}")
        if body == "json":
            self._json_body(exchange, operation, path, content)
        elif body == "stream":
            self._stream_body(exchange, operation, path)
        else:
            self._audio_body(exchange, operation, path)
        self._rate_limit_headers(exchange, operation, path, response)
        return True

    def _json_body(self, exchange: Exchange, operation: str, path: str, content: Mapping[str, Any]) -> None:
        media: Mapping[str, Any] = content.get("application/json") or next(iter(content.values()), {})
        schema = media.get("schema", {})
        if exchange.content_type == "text/plain" and "text/plain" in content:
            self.add(path, operation, "body", "ok", f"plain text, {len(exchange.body)} bytes")
            return
        try:
            value = json.loads(exchange.body)
        except ValueError:
            self.add(path, operation, "body", "drift", f"not JSON: {_snippet(exchange)}")
            return
        problems = schema_problems(self.spec, value, schema)
        if problems:
            self.add(path, operation, "body", "drift", "; ".join(problems))
            return
        extra = new_fields(self.spec, value, schema)
        note = f" (also fields the spec does not name: {', '.join(map(json.dumps, extra))})" if extra else ""
        fields = ", ".join(json.dumps(name) for name in value) if isinstance(value, dict) else _kind(value)
        self.add(path, operation, "body", "ok", f"fits the spec: {fields}{note}")

    def _stream_body(self, exchange: Exchange, operation: str, path: str) -> None:
        events = parse_events(exchange.body)
        if not events:
            self.add(path, operation, "stream", "drift", "no events in the stream")
            return
        done = [i for i, data in enumerate(events) if data.strip() == "[DONE]"]
        kinds = {_payload_kind(data) for data in events if data.strip() != "[DONE]"}
        if not done:
            self.add(path, operation, "stream", "drift", f"{len(events)} events and no data: [DONE] at the end")
        elif done[0] != len(events) - 1:
            self.add(path, operation, "stream", "drift", f"events after data: [DONE] ({len(events)} events)")
        elif "other JSON" in kinds:
            self.add(
                path, operation, "stream", "drift", "events whose JSON is neither an OpenAI-style chunk nor a response"
            )
        else:
            shown = ", ".join(sorted(kinds)) or "no content"
            self.add(path, operation, "stream", "ok", f"{len(events) - 1} events ({shown}), then data: [DONE]")

    def _audio_body(self, exchange: Exchange, operation: str, path: str) -> None:
        data = exchange.body
        if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
            self.add(path, operation, "body", "ok", f"MP3, {len(data)} bytes")
        else:
            self.add(path, operation, "body", "drift", f"not MP3 ({len(data)} bytes, starting {data[:8]!r})")

    def _rate_limit_headers(self, exchange: Exchange, operation: str, path: str, response: Mapping[str, Any]) -> None:
        names = list(response.get("headers", {}))
        if not names:
            return
        missing = [name for name in names if name.lower() not in exchange.headers]
        bad = [
            name
            for name in names
            if name.lower() in exchange.headers and not exchange.headers[name.lower()].strip().isdigit()
        ]
        if missing or bad:
            parts = [f"no {name}" for name in missing] + [f"{name} is not a whole number" for name in bad]
            self.add(path, operation, "rate-limit headers", "drift", "; ".join(parts))
        else:
            shown = ", ".join(f"{name.split('-')[-1].lower()} {exchange.headers[name.lower()]}" for name in names)
            self.add(path, operation, "rate-limit headers", "ok", shown)


def parse_events(body: bytes) -> list[str]:
    """The `data` of each server-sent event in a whole stream body."""
    text = body.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    events: list[str] = []
    for block in re.split(r"\n\n+", text):
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if data:
            events.append("\n".join(data))
    return events


def _payload_kind(data: str) -> str:
    try:
        value = json.loads(data)
    except ValueError:
        return "plain text"
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        return "OpenAI-style chunks"
    if isinstance(value, dict) and "response" in value:
        return "response objects"
    return "other JSON"


def _snippet(exchange: Exchange) -> str:
    text = exchange.body[:400].decode("utf-8", errors="replace")
    # An answer may quote the request, key included: hide it before cutting the text short.
    text = _API_KEY_VALUE.sub(r"\1[REDACTED]", text)
    if exchange.secret:
        text = text.replace(exchange.secret, "[REDACTED]")
    text = " ".join(text.split())
    return (text if len(text) <= 120 else text[:117] + "...") or "(empty body)"


_API_KEY_VALUE = re.compile(r"(api_key(?:=|%3D|\"\s*:\s*\"))[^&\s\"]*", re.IGNORECASE)


def _model_names(value: Any) -> list[str] | None:
    """Model names from a listing: a list of names or of objects with a name/id, or an object
    holding such a list under `models` or `data`."""
    if isinstance(value, dict):
        for key in ("models", "data"):
            if isinstance(value.get(key), list):
                return _model_names(value[key])
        return None
    if not isinstance(value, list):
        return None
    names: list[str] = []
    for item in value:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name") or item.get("id"), str):
            names.append(str(item.get("name") or item.get("id")))
        else:
            return None
    return names


# --------------------------------------------------------------------------- the probe


def _tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = chunk(b"IHDR", bytes([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


def probe(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    proxy: str | None = None,
    timeout: float | httpx.Timeout | None = None,
    max_retries: int = 0,
    transport: httpx.BaseTransport | None = None,
) -> ProbeReport:
    """Check the service at `base_url` (default: `$DYNASPARK_BASE_URL`, else the live service)
    against the spec, spending at most `MAX_REQUESTS` requests (retries included: the default
    is none).

        report = probe(base_url="http://127.0.0.1:8765")
        print("\\n".join(report.lines()))
        assert report.ok, report.problems
    """
    spec = load_spec()
    key = api_key if api_key is not None else os.environ.get("DYNASPARK_API_KEY") or None
    limits = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout) if timeout else _DEFAULT_TIMEOUT
    recorder = _Recorder(MAX_REQUESTS, key)
    checker = _Checker(spec)
    http = httpx.Client(
        transport=transport,
        proxy=None if transport is not None else proxy,
        timeout=limits,
        event_hooks={"request": [recorder.on_request], "response": [recorder.on_response]},
    )
    try:
        client = Client(
            base_url=base_url,
            api_key=key,
            timeout=limits,
            max_retries=max_retries,
            on_rate_limit="raise",
            http_client=http,
        )
        with client:
            _run(client, http, recorder, checker, spec, key)
        rows = tuple(checker.rows)
        if key:  # an answer that echoes the request (an error page quoting the URL) must not show the key
            rows = tuple(attrs.evolve(row, detail=row.detail.replace(key, "[REDACTED]")) for row in rows)
        return ProbeReport(client.base_url, rows, len(recorder.exchanges))
    finally:
        http.close()


def _run(
    client: Client,
    http: httpx.Client,
    recorder: _Recorder,
    checker: _Checker,
    spec: Mapping[str, Any],
    key: str | None,
) -> None:
    base = client.base_url
    key_params = {"api_key": key} if key else {}

    def sdk_call(path: str, operation: str, call: Callable[[], object]) -> Exchange | None:
        """Run an SDK call; a row for what the SDK made of the answer; the exchange it sent."""
        before = len(recorder.exchanges)
        try:
            result = call()
        except BudgetSpentError as exc:
            checker.add(path, operation, "sdk", "not checked", str(exc))
            return None
        except DynasparkError as exc:
            recorder.failed(before, _error_text(exc))
            checker.add(path, operation, "sdk", "failed", _error_text(exc))
        else:
            checker.add(path, operation, "sdk", "ok", _describe(result))
        return recorder.exchanges[-1] if len(recorder.exchanges) > before else None

    def raw(method: str, path: str, **kwargs: Any) -> Exchange | None:
        before = len(recorder.exchanges)
        try:
            http.request(method, base + path, **kwargs)
        except BudgetSpentError:
            return None
        except httpx.HTTPError as exc:
            recorder.failed(before, _error_text(exc))
        return recorder.exchanges[-1] if len(recorder.exchanges) > before else None

    # 1. status
    exchange = sdk_call("/status", "status", client.status)
    checker.answer(exchange, "status", method="get", path="/status", body="json")
    if exchange is not None and exchange.status is None:
        # Nothing answered at all (refused, unreachable, timed out): the other nine would only
        # wait out the same fate, up to a timeout each.
        checker.add(base, "probe", "stopped", "failed", "the service did not answer; the other checks were not run")
        return

    # 2-3. chat: one request on each known path, the image form on the spec's.
    chat_model = spec_default_chat_model(spec)
    answering: list[str] = []
    paths = chat_paths(spec)
    for index, path in enumerate(paths):
        form = {"user_input": _PROMPT, "ai_model": chat_model}
        headers = {"origin": base, "referer": base + "/", "x-requested-with": "XMLHttpRequest"}
        if index == 0:
            files = {"file": ("probe.png", _tiny_png(), "image/png")}
            exchange = raw("POST", path, data=form, files=files, headers=headers)
            operation = "chat with image"
        else:
            exchange = raw("POST", path, data=form, headers=headers)
            operation = "chat"
        if exchange is None:
            checker.add(path, operation, "status", "not checked", "the probe's request budget is spent")
        elif checker.answer(exchange, operation, method="post", path=path, body="json", may_be_absent=index > 0):
            answering.append(path)
    checker.add(
        " or ".join(paths),
        "chat",
        "which path answers",
        "ok" if answering else "failed",
        ", ".join(answering) + (" only" if len(answering) < len(paths) and answering else "") or "none of them",
    )

    # 4. text, and the docs' claim that it is plain text unless json=true
    text_path = "/api/generate_response"
    exchange = sdk_call(text_path, "text", lambda: client.generate_text(_PROMPT))
    content = _response(spec, _operation(spec, text_path, "get"), 200) or {}
    json_types = [t for t in content.get("content", {}) if t not in ("text/event-stream", "audio/mpeg")]
    checker.answer(exchange, "text", method="get", path=text_path, body="json", content_types=json_types)
    text_type = exchange.content_type if exchange is not None and exchange.status == 200 else None
    checker.add(
        text_path,
        "docs claim",
        "text/plain unless json=true",
        "not checked" if text_type is None else "confirmed" if text_type == "text/plain" else "contradicted",
        "no text answer" if text_type is None else f"answered {text_type or 'no content type'}",
    )

    # 5. streamed text
    exchange = sdk_call(text_path, "text streamed", lambda: client.stream_text(_PROMPT).until_done())
    checker.answer(
        exchange, "text streamed", method="get", path=text_path, body="stream", content_types=["text/event-stream"]
    )

    # 6. image, without a model: the answer says which model the service defaults to
    image_path = "/api/generate_image"
    exchange = sdk_call(image_path, "image", lambda: client.generate_image(_PROMPT, width=64, height=64))
    checker.answer(exchange, "image", method="get", path=image_path, body="json")
    image_model = _json_member(exchange, "model")

    # 7. speech
    exchange = sdk_call(text_path, "speech", lambda: client.generate_audio("probe"))
    checker.answer(exchange, "speech", method="get", path=text_path, body="audio", content_types=["audio/mpeg"])

    # 8. a bad request: the error body's shape
    exchange = raw("GET", image_path, params={"user_input": _PROMPT, "width": "1", **key_params})
    _check_error_shape(checker, spec, exchange, image_path)

    # 9-10. the models listings the docs claim
    _check_listing(checker, raw("GET", "/text/models"), "/text/models", None)
    image_enum = _resolve(spec, spec.get("components", {}).get("schemas", {}).get("ImageModel", {})).get("enum")
    _check_listing(checker, raw("GET", "/image/models"), "/image/models", image_enum)

    _assumptions(checker, spec, image_model)


def spec_default_chat_model(spec: Mapping[str, Any]) -> str:
    """The spec's default chat model."""
    chat_model = _resolve(spec, spec.get("components", {}).get("schemas", {}).get("ChatModel", {}))
    return str(chat_model.get("default") or (chat_model.get("enum") or ["gemini-1.5-flash"])[0])


def _describe(result: object) -> str:
    for name in ("text", "status", "url"):
        value = getattr(result, name, None)
        if isinstance(value, str):
            return f"{type(result).__name__}.{name} = {value[:60]!r}"
    data = getattr(result, "data", None)
    if isinstance(data, bytes):
        return f"{type(result).__name__} with {len(data)} bytes"
    if isinstance(result, str):
        return f"stream text = {result[:60]!r}"
    return type(result).__name__


def _json_member(exchange: Exchange | None, name: str) -> Any:
    if exchange is None or exchange.status != 200:
        return None
    try:
        value = json.loads(exchange.body)
    except ValueError:
        return None
    return value.get(name) if isinstance(value, dict) else None


_ERROR_CLAIM = 'error {"code", "message", "details"}'


def _check_error_shape(checker: _Checker, spec: Mapping[str, Any], exchange: Exchange | None, path: str) -> None:
    operation = "bad request"
    if exchange is None or exchange.status is None:
        checker.add(path, operation, "status", "failed", exchange.error if exchange and exchange.error else "no answer")
        return
    if exchange.status != 400:
        verdict = "failed" if exchange.status == 429 or exchange.status >= 500 else "drift"
        checker.add(path, operation, "status", verdict, f"{exchange.status} for width=1, the spec says 400")
        checker.add(path, "docs claim", _ERROR_CLAIM, "not checked", "no 400 answer")
        return
    checker.add(path, operation, "status", "ok", "400 for width=1")
    response = _response(spec, _operation(spec, path, "get"), exchange.status)
    schema = (response or {}).get("content", {}).get("application/json", {}).get("schema")
    nested: bool | None = None
    try:
        value = json.loads(exchange.body)
    except ValueError:
        checker.add(path, operation, "error body", "drift", f"not JSON: {_snippet(exchange)}")
    else:
        problems = schema_problems(spec, value, schema) if schema is not None else []
        if problems:
            checker.add(path, operation, "error body", "drift", "; ".join(problems))
        else:
            checker.add(path, operation, "error body", "ok", f"fits the spec: {_snippet(exchange)}")
        if isinstance(value, dict) and "error" in value:
            nested = isinstance(value["error"], dict)
    checker.add(
        path,
        "docs claim",
        _ERROR_CLAIM,
        "not checked" if nested is None else "confirmed" if nested else "contradicted",
        "no error object"
        if nested is None
        else "the error is an object"
        if nested
        else f"the error is {_kind(value['error'])}",
    )


def _check_listing(checker: _Checker, exchange: Exchange | None, path: str, spec_enum: Sequence[str] | None) -> None:
    check = "lists models"
    if exchange is None or exchange.status is None:
        detail = exchange.error if exchange is not None and exchange.error else "not sent: the request budget is spent"
        checker.add(path, "docs claim", check, "not checked", detail)
        return
    if exchange.status in (404, 405):
        checker.add(path, "docs claim", check, "absent", f"{exchange.status}")
        return
    names: list[str] | None = None
    if exchange.status == 200:
        try:
            names = _model_names(json.loads(exchange.body))
        except ValueError:
            names = None
    if names is None:
        checker.add(
            path, "docs claim", check, "contradicted", f"{exchange.status}, no list of models: {_snippet(exchange)}"
        )
        return
    detail = ", ".join(names) or "an empty list"
    if spec_enum is not None:
        extra = [n for n in names if n not in spec_enum]
        lacking = [n for n in spec_enum if n not in names]
        if extra or lacking:
            detail += (
                f" (the spec lacks {', '.join(extra) or 'none'}; the service lacks {', '.join(lacking) or 'none'})"
            )
        else:
            detail += " (the same as the spec)"
    else:
        detail += " (the spec lists no text models)"
    checker.add(path, "docs claim", check, "confirmed", detail)


def _assumptions(checker: _Checker, spec: Mapping[str, Any], image_model: Any) -> None:
    """A row for each ASSUMED paragraph of the spec: what the checks above made of it."""

    def verdict_of(path: str, operation: str, check: str) -> tuple[str, str] | None:
        for row in checker.rows:
            if row.path == path and row.operation == operation and row.check == check:
                if row.verdict == "ok":
                    return "confirmed", row.detail
                if row.verdict in ("drift", "absent"):
                    return "contradicted", row.detail
                return None
        return None

    for pointer, paragraph in assumed_markers(spec):
        location = _location(pointer)
        found: tuple[str, str] | None = None
        claim: Row | None
        lower = paragraph.lower()
        if pointer.startswith("/paths/~1api~1generate_response/get/responses/200") and "stream" in lower:
            found = verdict_of("/api/generate_response", "text streamed", "stream")
        elif pointer.startswith("/paths/~1api~1generate_response/get/responses/200") and "text/plain" in lower:
            claim = next((r for r in checker.rows if r.operation == "text" and r.check == "content type"), None)
            if claim is not None:
                found = ("confirmed" if claim.detail == "text/plain" else "contradicted", f"answered {claim.detail}")
        elif pointer.startswith("/paths/~1status/"):
            found = verdict_of("/status", "status", "body")
        elif pointer.startswith("/components/schemas/ImageModel") and image_model is not None:
            default = _resolve(spec, spec["components"]["schemas"]["ImageModel"]).get("default")
            found = ("confirmed" if image_model == default else "contradicted", f"the service chose {image_model}")
        elif pointer.startswith("/paths/") and pointer.endswith("/post/description"):
            path = location.split(" ")[0]
            status_row = verdict_of(path, "chat" if path != chat_paths(spec)[0] else "chat with image", "status")
            if status_row is not None:
                found = status_row[0], f"{path} answers" if status_row[0] == "confirmed" else status_row[1]
        elif pointer.startswith("/components/schemas/") and "Error" in pointer.split("/")[3] and "reset" not in lower:
            # The error body's shape (the reset time inside it is not something one bad request shows).
            claim = next((r for r in checker.rows if r.check == _ERROR_CLAIM), None)
            if claim is not None and claim.verdict in ("confirmed", "contradicted"):
                found = claim.verdict, claim.detail
        verdict, detail = found or ("not checked", "the probe has no request that shows it")
        checker.add(location, "ASSUMED", _first_words(paragraph), verdict, detail)


def _location(pointer: str) -> str:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
    if parts and parts[0] == "paths" and len(parts) > 1:
        return parts[1]
    if len(parts) > 2 and parts[0] == "components":
        return f"{parts[1]}.{parts[2]}"
    return pointer


def _first_words(paragraph: str) -> str:
    """The assumption in a few words: the sentence that holds the marker, without it."""
    sentences = re.split(r"(?<=\.)\s+", paragraph)
    sentence = next(s for s in sentences if "ASSUMED" in s)
    head, _, tail = sentence.partition("ASSUMED")
    if head.strip(" (") == "":
        text = re.sub(r"^\s*(\([^)]*\))?\s*:?\s*", "", tail)
    else:
        text = re.sub(r"\s*\(ASSUMED[^)]*\)", "", sentence).replace("ASSUMED:", "").replace("ASSUMED", "")
    text = re.sub(r"[`\"]", "", " ".join(text.split()))
    return text if len(text) <= 48 else text[:45].rsplit(" ", 1)[0] + "..."
