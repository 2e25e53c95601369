"""The probe itself: ten requests, each answer recorded and checked."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import httpx

from dynaspark_sdk import Client, DynasparkError

from ._checks import Checker, check_assumptions, check_error_shape, check_listing, describe, json_member
from ._report import MAX_REQUESTS, ProbeReport
from ._schema import chat_paths, load_spec, resolve, spec_default_chat_model, spec_operation, spec_response
from ._wire import BudgetSpentError, Exchange, Recorder, error_text

_PROMPT = "probe: answer with one word"
_DEFAULT_TIMEOUT = httpx.Timeout(90.0, connect=15.0)  # the free instance wakes slowly


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
    recorder = Recorder(MAX_REQUESTS, key)
    checker = Checker(spec)
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
    recorder: Recorder,
    checker: Checker,
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
            recorder.failed(before, error_text(exc))
            checker.add(path, operation, "sdk", "failed", error_text(exc))
        else:
            checker.add(path, operation, "sdk", "ok", describe(result))
        return recorder.exchanges[-1] if len(recorder.exchanges) > before else None

    def raw(method: str, path: str, **kwargs: Any) -> Exchange | None:
        before = len(recorder.exchanges)
        try:
            http.request(method, base + path, **kwargs)
        except BudgetSpentError:
            return None
        except httpx.HTTPError as exc:
            recorder.failed(before, error_text(exc))
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
    content = spec_response(spec, spec_operation(spec, text_path, "get"), 200) or {}
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
    image_model = json_member(exchange, "model")

    # 7. speech
    exchange = sdk_call(text_path, "speech", lambda: client.generate_audio("probe"))
    checker.answer(exchange, "speech", method="get", path=text_path, body="audio", content_types=["audio/mpeg"])

    # 8. a bad request: the error body's shape
    exchange = raw("GET", image_path, params={"user_input": _PROMPT, "width": "1", **key_params})
    check_error_shape(checker, spec, exchange, image_path)

    # 9-10. the models listings the docs claim
    check_listing(checker, raw("GET", "/text/models"), "/text/models", None)
    image_enum = resolve(spec, spec.get("components", {}).get("schemas", {}).get("ImageModel", {})).get("enum")
    check_listing(checker, raw("GET", "/image/models"), "/image/models", image_enum)

    check_assumptions(checker, spec, image_model)
