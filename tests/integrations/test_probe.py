"""`dynaspark probe` against the emulator over loopback, directly and through a small proxy
that alters the emulator's answers the way a changed service would."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx
import pytest

from dynaspark_sdk.cli import main
from dynaspark_sdk.integrations.probe import MAX_REQUESTS, chat_paths, load_spec, probe, schema_problems
from dynaspark_sdk.testing import Emulator, serve

SECRET = "sk-probe-secret-0123456789"
NEWER_CHAT = "/dsai_fuck_u_spammer"
OLDER_CHAT = "/generate_response"
# The spec's chat path (the probe sends it the image form) and the other one it tries.
PRIMARY, PREVIOUS = chat_paths(load_spec())
WHICH = f"{PRIMARY} or {PREVIOUS}"
_HOP_BY_HOP = {"connection", "content-length", "content-encoding", "transfer-encoding", "keep-alive"}


@pytest.fixture(autouse=True)
def _loopback_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNASPARK_API_KEY", raising=False)  # the tests give the probe its target
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the probe, like the CLI, honours proxy variables
    monkeypatch.delenv("no_proxy", raising=False)


@attrs.define
class Answer:
    """One answer passing through the proxy, which an alteration may change."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()


Alteration = Callable[[str, str, Answer], None]


class AlteringProxy:
    """A loopback HTTP server that forwards every request to `upstream` and lets `alter`
    change the answer (method, path, answer) before it goes back.

    The emulator of this branch serves chat only on /generate_response; the proxy forwards
    the newer chat path there too, so that both paths answer as the spec's chat operation.
    """

    def __init__(self, upstream: str, alter: Alteration | None = None) -> None:
        self.upstream = upstream
        self.alter = alter
        self.requests: list[tuple[str, str]] = []
        self._http = httpx.Client(timeout=30, trust_env=False)  # straight to the emulator, whatever the env says
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy._forward(self)

            def do_POST(self) -> None:
                proxy._forward(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        # A proxy's request names the whole URL (absolute form); a server's only the path.
        target = urlsplit(handler.path)
        path, query = target.path, target.query
        self.requests.append((handler.command, path))
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        upstream_path = OLDER_CHAT if path == NEWER_CHAT else path
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        response = self._http.request(
            handler.command,
            self.upstream + upstream_path + (f"?{query}" if query else ""),
            headers=headers,
            content=body,
        )
        answer = Answer(
            response.status_code,
            {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP},
            response.content,
        )
        if self.alter is not None:
            self.alter(handler.command, path, answer)
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.send_header("content-length", str(len(answer.body)))
        handler.send_header("connection", "close")
        handler.end_headers()
        handler.wfile.write(answer.body)

    def __enter__(self) -> AlteringProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()


@pytest.fixture
def upstream(emulator: Emulator) -> Iterator[str]:
    with serve(emulator) as server:
        yield server.url


@contextlib.contextmanager
def proxied(upstream: str, alter: Alteration | None = None) -> Iterator[AlteringProxy]:
    with AlteringProxy(upstream, alter) as proxy:
        yield proxy


def run_probe(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def row_line(out: str, path: str, operation: str, check: str, verdict: str) -> str:
    """The one table line for this row (asserting there is exactly one)."""
    pattern = re.compile(rf"^{re.escape(path)}\s+{re.escape(operation)}\s+{re.escape(check)}\s+{verdict}\s+(.*)$")
    found = [m.group(1) for line in out.splitlines() if (m := pattern.match(line))]
    assert len(found) == 1, out
    return found[0]


# --------------------------------------------------------------------------- no drift


def test_the_emulator_matches_the_spec(capsys: pytest.CaptureFixture[str], upstream: str, emulator: Emulator) -> None:
    with proxied(upstream) as proxy:
        code, out, err = run_probe(capsys, "--base-url", proxy.url, "probe")
    assert code == 0, out + err
    assert out.splitlines()[-1] == (
        f"probe of {proxy.url}: {MAX_REQUESTS} of {MAX_REQUESTS} requests spent; the service matches the spec"
    )
    assert len(proxy.requests) == MAX_REQUESTS == 10
    assert not re.search(r"\s(drift|failed)\s", out), out
    # Each operation was checked, and both chat paths answered.
    assert row_line(out, PRIMARY, "chat with image", "body", "ok") == 'fits the spec: "response"'
    assert row_line(out, PREVIOUS, "chat", "body", "ok") == 'fits the spec: "response"'
    assert row_line(out, WHICH, "chat", "which path answers", "ok") == f"{PRIMARY}, {PREVIOUS}"
    assert row_line(out, "/api/generate_response", "text streamed", "stream", "ok").endswith("then data: [DONE]")
    assert row_line(out, "/api/generate_response", "speech", "body", "ok").startswith("MP3, ")
    assert row_line(out, "/api/generate_image", "image", "rate-limit headers", "ok").startswith("limit 100, ")
    assert row_line(out, "/status", "status", "content type", "ok") == "application/json"
    # The docs' claims, and the spec's assumptions.
    assert row_line(out, "/text/models", "docs claim", "lists models", "absent") == "404"
    error_claim = row_line(
        out, "/api/generate_image", "docs claim", 'error {"code", "message", "details"}', "contradicted"
    )
    assert error_claim == "the error is a string"
    assert row_line(out, "schemas.ImageModel", "ASSUMED", "flux is the default when no model is given.", "confirmed")
    # The chat with an image carried one on the wire.
    chats = [r for r in emulator.requests if r.path == OLDER_CHAT]
    assert len(chats) == 2
    assert [len(r.files) for r in chats] == [1, 0]


def test_the_emulator_directly(capsys: pytest.CaptureFixture[str], upstream: str) -> None:
    # No proxy: no drift, and the probe finds exactly the chat paths the emulator serves.
    form = {"user_input": "hi", "ai_model": "gemini-1.5-flash"}
    served = [path for path in (PRIMARY, PREVIOUS) if httpx.post(upstream + path, data=form).status_code == 200]
    code, out, err = run_probe(capsys, "--base-url", upstream, "probe")
    assert code == 0, out + err
    assert row_line(out, WHICH, "chat", "which path answers", "ok") == (
        ", ".join(served) + ("" if len(served) == 2 else " only")
    )
    absent = [line.split()[0] for line in out.splitlines() if re.match(r"^/\S+\s+chat\s+status\s+absent\s", line)]
    assert absent == [path for path in (PRIMARY, PREVIOUS) if path not in served]


def test_global_options_apply(capsys: pytest.CaptureFixture[str], emulator: Emulator) -> None:
    # --proxy: every request goes through the proxy to a base URL that does not resolve. The
    # emulator, reached under that name, serves its pages (the chat's Origin) when allowed to.
    with serve(emulator, allowed_hosts=["dynaspark.invalid"]) as server, proxied(server.url) as proxy:
        code, out, err = run_probe(
            capsys, "--base-url", "http://dynaspark.invalid", "--proxy", proxy.url, "--timeout", "20", "probe"
        )
    assert code == 0, out + err
    assert len(proxy.requests) == MAX_REQUESTS
    assert out.splitlines()[-1].startswith("probe of http://dynaspark.invalid: 10 of 10 requests spent")


def test_json_output_and_the_key_stays_hidden(
    capsys: pytest.CaptureFixture[str], upstream: str, emulator: Emulator
) -> None:
    with proxied(upstream) as proxy:
        code, out, err = run_probe(capsys, "--base-url", proxy.url, "--api-key", SECRET, "--json", "probe")
    assert code == 0, out + err
    assert SECRET not in out + err
    report = json.loads(out)
    assert (report["ok"], report["requests"], report["max_requests"], report["base_url"]) == (True, 10, 10, proxy.url)
    assert {"path": "/status", "operation": "status", "check": "status", "verdict": "ok", "detail": "200"} in (
        report["rows"]
    )
    assert all(row["verdict"] not in ("drift", "failed") for row in report["rows"])
    # The key went to the service with the public API's requests.
    keyed = [r for r in emulator.requests if r.path.startswith("/api/")]
    assert keyed
    assert all(r.api_key == SECRET for r in keyed)


# --------------------------------------------------------------------------- drift


def _rename_response(method: str, path: str, answer: Answer) -> None:
    if path == PRIMARY and answer.status == 200:
        body = answer.json()
        answer.set_json({"answer": body.pop("response"), **body})


def _html_image_answer(method: str, path: str, answer: Answer) -> None:
    if path == "/api/generate_image" and answer.status == 200:
        answer.headers["content-type"] = "text/html; charset=utf-8"


def _no_remaining_header(method: str, path: str, answer: Answer) -> None:
    if path == "/status":
        answer.headers = {k: v for k, v in answer.headers.items() if k.lower() != "x-ratelimit-remaining"}


def _stream_without_done(method: str, path: str, answer: Answer) -> None:
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        answer.body = re.sub(rb"data: \[DONE\]\r?\n\r?\n?", b"", answer.body)


def _gone(gone_path: str) -> Alteration:
    def alter(method: str, path: str, answer: Answer) -> None:
        if path == gone_path:
            answer.status = 404
            answer.headers = {"content-type": "application/json"}
            answer.set_json({"error": "not found"})

    return alter


@pytest.mark.parametrize(
    ("alter", "row", "detail"),
    [
        pytest.param(
            _rename_response,
            (PRIMARY, "chat with image", "body"),
            'JSON answer has no "response" (has "answer")',
            id="renamed-field",
        ),
        pytest.param(
            _html_image_answer,
            ("/api/generate_image", "image", "content type"),
            "text/html, the spec says application/json",
            id="wrong-content-type",
        ),
        pytest.param(
            _no_remaining_header,
            ("/status", "status", "rate-limit headers"),
            "no X-RateLimit-Remaining",
            id="missing-rate-limit-header",
        ),
        pytest.param(
            _stream_without_done,
            ("/api/generate_response", "text streamed", "stream"),
            "8 events and no data: [DONE] at the end",
            id="stream-without-done",
        ),
        pytest.param(
            _gone(PRIMARY),
            (PRIMARY, "chat with image", "status"),
            f"404: nothing answers POST {PRIMARY}, the spec says 200",
            id="chat-path-404",
        ),
    ],
)
def test_drift_is_reported_on_its_row(
    capsys: pytest.CaptureFixture[str], upstream: str, alter: Alteration, row: tuple[str, str, str], detail: str
) -> None:
    with proxied(upstream, alter) as proxy:
        code, out, err = run_probe(capsys, "--base-url", proxy.url, "probe")
    assert code == 1, out + err
    assert row_line(out, *row, "drift") == detail
    assert out.splitlines()[-1].endswith(": the service does not match the spec")
    assert len(proxy.requests) <= MAX_REQUESTS


def test_the_chat_path_gone_says_which_answers(capsys: pytest.CaptureFixture[str], upstream: str) -> None:
    with proxied(upstream, _gone(PRIMARY)) as proxy:
        code, out, _ = run_probe(capsys, "--base-url", proxy.url, "--json", "probe")
    assert code == 1
    rows = json.loads(out)["rows"]
    which = [r for r in rows if r["check"] == "which path answers"]
    assert which == [
        {
            "path": WHICH,
            "operation": "chat",
            "check": "which path answers",
            "verdict": "ok",
            "detail": f"{PREVIOUS} only",
        }
    ]


def test_the_previous_chat_path_gone_is_absent_not_drift(capsys: pytest.CaptureFixture[str], upstream: str) -> None:
    with proxied(upstream, _gone(PREVIOUS)) as proxy:
        code, out, err = run_probe(capsys, "--base-url", proxy.url, "probe")
    assert code == 0, out + err
    assert row_line(out, PREVIOUS, "chat", "status", "absent") == f"404: nothing answers POST {PREVIOUS} any more"
    assert row_line(out, WHICH, "chat", "which path answers", "ok") == f"{PRIMARY} only"


def _stream_with_a_byte_order_mark(method: str, path: str, answer: Answer) -> None:
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        answer.body = b"\xef\xbb\xbf" + answer.body


def test_a_stream_starting_with_a_byte_order_mark_keeps_its_first_event(
    capsys: pytest.CaptureFixture[str], upstream: str
) -> None:
    # The event-stream rules drop a leading BOM; the probe reads streams with the SDK's decoder,
    # so it counts the same events as the SDK, the first one included.
    with proxied(upstream) as proxy:
        _, plain, _ = run_probe(capsys, "--base-url", proxy.url, "probe")
    with proxied(upstream, _stream_with_a_byte_order_mark) as proxy:
        code, marked, err = run_probe(capsys, "--base-url", proxy.url, "probe")
    assert code == 0, marked + err
    row = ("/api/generate_response", "text streamed", "stream", "ok")
    assert row_line(marked, *row) == row_line(plain, *row)
    assert row_line(marked, *row).endswith("events (OpenAI-style chunks), then data: [DONE]")


def _stream_with_a_huge_event(method: str, path: str, answer: Answer) -> None:
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        answer.body = b"data: " + b"x" * (2 * 1024 * 1024) + b"\n\n" + answer.body


def test_a_stream_with_an_event_over_1_mib_is_drift_and_fails_the_sdk(
    capsys: pytest.CaptureFixture[str], upstream: str
) -> None:
    """Issue 21: one event is capped at 1 MiB, in the probe's reading as in the SDK's."""
    with proxied(upstream, _stream_with_a_huge_event) as proxy:
        _, out, _ = run_probe(capsys, "--base-url", proxy.url, "probe")
    assert "1 MiB" in row_line(out, "/api/generate_response", "text streamed", "stream", "drift")
    assert row_line(out, "/api/generate_response", "text streamed", "sdk", "failed").startswith(
        "StreamInterruptedError: "
    )


def test_a_stream_without_done_also_fails_the_sdk(capsys: pytest.CaptureFixture[str], upstream: str) -> None:
    with proxied(upstream, _stream_without_done) as proxy:
        _, out, _ = run_probe(capsys, "--base-url", proxy.url, "probe")
    assert row_line(out, "/api/generate_response", "text streamed", "sdk", "failed").startswith(
        "StreamInterruptedError: "
    )
    assert row_line(
        out, "/api/generate_response", "ASSUMED", "each stream event's data is an OpenAI-style...", "contradicted"
    )


# --------------------------------------------------------------------------- failures and usage


def test_no_service_is_a_failure_within_the_budget(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(Emulator()) as server:
        url = server.url  # a port that was just free: nothing listens there once closed
    code, out, _ = run_probe(capsys, "--base-url", url, "probe")
    assert code == 1
    assert row_line(out, "/status", "status", "sdk", "failed").startswith("APIConnectionError: ")
    assert row_line(out, url, "probe", "stopped", "failed") == (
        "the service did not answer; the other checks were not run"
    )
    assert out.splitlines()[-1] == (
        f"probe of {url}: 1 of 10 requests spent; 0 drift, 3 failed: the service does not match the spec"
    )


def test_a_server_error_is_a_failure_not_drift(capsys: pytest.CaptureFixture[str], upstream: str) -> None:
    def waking(method: str, path: str, answer: Answer) -> None:
        if path == "/api/generate_image":
            answer.status, answer.headers, answer.body = 503, {"content-type": "text/html"}, b"<html>waking</html>"

    with proxied(upstream, waking) as proxy:
        code, out, _ = run_probe(capsys, "--base-url", proxy.url, "probe")
    assert code == 1
    assert row_line(out, "/api/generate_image", "image", "status", "failed") == (
        "503, the spec says 200: <html>waking</html>"
    )
    # The bad request went to the same path: its 503 is no verdict on the error shape either.
    assert row_line(out, "/api/generate_image", "bad request", "status", "failed")


def test_retries_count_against_the_budget() -> None:
    sent: list[str] = []

    def busy(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(503, headers={"retry-after": "0"}, json={"error": "busy"})

    report = probe(base_url="http://dynaspark.test", max_retries=4, transport=httpx.MockTransport(busy))
    assert len(sent) == report.requests == MAX_REQUESTS
    assert not report.ok
    assert any(row.verdict == "not checked" and "budget" in row.detail for row in report.rows)


def test_an_answer_that_echoes_the_key_does_not_show_it() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=f"bad request: {request.url}")

    report = probe(base_url="http://dynaspark.test", api_key=SECRET, transport=httpx.MockTransport(echo))
    bad = [row for row in report.rows if row.operation == "bad request" and row.check == "error body"]
    assert bad[0].detail.startswith("not JSON: bad request: http://dynaspark.test/api/generate_image?")
    assert "&api_key=[REDAC" in bad[0].detail  # hidden before the detail was cut short
    assert "sk-probe" not in bad[0].detail
    assert SECRET not in json.dumps(report.to_dict())


def test_the_report_never_shows_a_base_url_password() -> None:
    # A program calling probe() prints lines() or to_dict() itself: the CLI's scrubbing is not there.
    def ok(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": "busy"})

    report = probe(base_url="http://alice:hunter2pw@dynaspark.test", max_retries=0, transport=httpx.MockTransport(ok))
    shown = "\n".join(report.lines()) + json.dumps(report.to_dict())
    assert "hunter2pw" not in shown
    assert "probe of http://alice:[secure]@dynaspark.test" in report.lines()[-1]
    assert report.to_dict()["base_url"] == "http://alice:[secure]@dynaspark.test"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["probe", "extra"], "unrecognized arguments: extra"),
        (["--base-url", "ftp://example.com", "probe"], "base_url must be an http(s) URL"),
        (["probe", "--timeout", "0"], "must be more than 0"),
    ],
)
def test_bad_usage_is_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run_probe(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err
    assert err.startswith("dynaspark: error: ")
    assert "Traceback" not in err


def test_help_lists_probe(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_probe(capsys, "--help")
    assert code == 0
    assert re.search(r"^\s+probe\s+Check the service against the spec", out, re.MULTILINE), out


# --------------------------------------------------------------------------- the schema check


def test_schema_problems_name_fields_in_user_terms() -> None:
    spec = load_spec()
    ref = {"$ref": "#/components/schemas/ImageAnswer"}
    assert schema_problems(spec, {"image_url": "http://x/y.png", "seed": 3}, ref) == []
    assert schema_problems(spec, {"url": "http://x/y.png"}, ref) == ['JSON answer has no "image_url" (has "url")']
    assert schema_problems(spec, {"image_url": "u", "seed": "3"}, ref) == ['"seed" is a string, the spec says integer']
    assert schema_problems(spec, [], ref) == ["JSON answer is an array, the spec says object"]
    either = {"oneOf": [{"type": "string"}, {"type": "object", "required": ["message"]}]}
    assert schema_problems(spec, "busy", either) == []
    assert schema_problems(spec, {"message": "busy"}, either) == []
    assert schema_problems(spec, 3, either) == ["JSON answer is an integer, the spec says string"]
