"""The gateway against browsers (issue 21, point 1): cross-site requests, DNS rebinding and CORS,
driven over loopback against the real gateway (`create_app()` under uvicorn, and the
`dynaspark gateway` process), with the emulator upstream. Every refusal must leave the service
untouched; the uses (loopback pages, curl and SDKs without an Origin) must keep working."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai_fixtures import user
from test_gateway import SECRET, interrupt, served_url, start_gateway

from dynaspark_sdk import AsyncClient
from dynaspark_sdk.integrations.gateway import create_app, serve_in_thread
from dynaspark_sdk.testing import Emulator, EmulatorServer

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("loopback_only")]

CHAT = {"model": "gemini-1.5-flash", "messages": user("hi")}
JSON_BODY = httpx.Request("POST", "http://x", json=CHAT).content
ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture
def emulator(upstream: EmulatorServer) -> Emulator:
    upstream.emulator.clear_requests()
    return upstream.emulator


def serve(upstream: EmulatorServer, **options: Any) -> Any:
    client = AsyncClient(base_url=upstream.url, max_retries=0)
    return serve_in_thread(create_app(client, log=lambda _: None, **options))


@contextlib.contextmanager
def http_to(upstream: EmulatorServer, **options: Any) -> Iterator[httpx.Client]:
    """An httpx client for a gateway made with `options`, served while the block runs."""
    with serve(upstream, **options) as running, httpx.Client(base_url=running.url, trust_env=False) as http:
        yield http


@pytest.fixture(scope="module")
def gateway(upstream: EmulatorServer) -> Iterator[str]:
    """The gateway with its defaults: its /v1 URL."""
    with serve(upstream) as running:
        yield running.url


def post(url: str, content: bytes, **headers: str) -> httpx.Response:
    with httpx.Client(trust_env=False) as http:
        return http.post(url + "/chat/completions", content=content, headers=headers)


def refused(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == ERROR_KEYS
    assert error["code"] == code
    return error


# --------------------------------------------------------------------------- JSON bodies only


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
        "application/jsonx",
    ],
)
def test_a_body_that_is_not_declared_json_is_415_before_it_is_read(
    gateway: str, emulator: Emulator, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    error = refused(post(gateway, JSON_BODY, **headers), 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert emulator.requests == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_json_with_any_charset_is_served(gateway: str, emulator: Emulator, content_type: str) -> None:
    answer = post(gateway, JSON_BODY, **{"content-type": content_type})
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "[gemini-1.5-flash-8b] You said: hi"


def test_every_post_endpoint_takes_only_json(gateway: str, emulator: Emulator) -> None:
    with httpx.Client(base_url=gateway, trust_env=False) as http:
        for path in ("/images/generations", "/audio/speech", "/anything/added/later"):
            answer = http.post(path, content=b'{"prompt": "x"}', headers={"content-type": "text/plain"})
            refused(answer, 415, "unsupported_media_type")
    assert emulator.requests == []


# --------------------------------------------------------------------------- the Host check


@pytest.mark.parametrize(
    "host", ["attacker.example:8000", "attacker.example", "rebind.127.0.0.1.nip.io", "localhost.attacker.example"]
)
def test_a_host_the_gateway_does_not_serve_is_403_on_every_path(gateway: str, emulator: Emulator, host: str) -> None:
    with httpx.Client(base_url=gateway, trust_env=False, headers={"host": host}) as http:
        answers = [
            http.post("/chat/completions", json=CHAT),
            http.get("/models"),
            http.get("/nowhere"),
            http.options(
                "/chat/completions", headers={"origin": "http://localhost", "access-control-request-method": "POST"}
            ),
        ]
    for answer in answers:
        error = refused(answer, 403, "host_not_allowed")
        assert "--allowed-host" in error["message"]
    assert emulator.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8000",
        "127.0.0.1",
        "10.1.2.3:8000",
        "[::1]:8000",
        "[::1]",
        "localhost:8000",
        "LOCALHOST",
        "localhost.",
        "app.localhost:3000",
        "printer.local",
        "svc.cluster.internal:80",
        socket.gethostname(),
    ],
)
def test_ip_literals_reserved_names_and_this_machine_are_served(gateway: str, host: str) -> None:
    with httpx.Client(base_url=gateway, trust_env=False, headers={"host": host}) as http:
        answer = http.get("/models")
    assert answer.status_code == 200, answer.text


def test_allowed_hosts_adds_names_and_a_star_turns_the_check_off(upstream: EmulatorServer) -> None:
    with http_to(upstream, allowed_hosts=["Gateway.Example.com"]) as http:
        assert http.get("/models", headers={"host": "gateway.example.com:443"}).status_code == 200
        refused(http.get("/models", headers={"host": "other.example.com"}), 403, "host_not_allowed")
    with http_to(upstream, allowed_hosts=["*"]) as http:
        assert http.get("/models", headers={"host": "anything.example"}).status_code == 200


# --------------------------------------------------------------------------- the Origin check and CORS


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "https://localhost.evil.example", "null", "http://127.0.0.1.evil.example:80"]
)
def test_a_page_of_another_origin_is_403_and_nothing_is_sent(gateway: str, emulator: Emulator, origin: str) -> None:
    answer = post(gateway, JSON_BODY, **{"content-type": "application/json", "origin": origin})
    error = refused(answer, 403, "origin_not_allowed")
    assert "--cors-origin" in error["message"]
    assert "access-control-allow-origin" not in answer.headers
    with httpx.Client(base_url=gateway, trust_env=False) as http:
        refused(http.get("/models", headers={"origin": origin}), 403, "origin_not_allowed")
        preflight = http.options(
            "/chat/completions", headers={"origin": origin, "access-control-request-method": "POST"}
        )
    refused(preflight, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in preflight.headers
    assert emulator.requests == []


@pytest.mark.parametrize(
    "origin", ["http://localhost:5173", "https://127.0.0.1", "http://[::1]:8080", "http://localhost"]
)
def test_a_loopback_page_gets_cors_answers(gateway: str, emulator: Emulator, origin: str) -> None:
    with httpx.Client(base_url=gateway, trust_env=False) as http:
        preflight = http.options(
            "/chat/completions",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type, x-stainless-os",
            },
        )
        answer = http.post("/chat/completions", json=CHAT, headers={"origin": origin})
    assert preflight.status_code == 204
    assert preflight.content == b""
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {name.strip().lower() for name in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-stainless-os"} <= allowed
    assert preflight.headers["vary"] == "Origin"
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == origin
    assert answer.headers["vary"] == "Origin"
    assert "x-should-retry" in answer.headers["access-control-expose-headers"]
    assert len(emulator.requests) == 1  # the preflight sent nothing upstream


def test_an_answer_without_origin_carries_no_cors_headers(gateway: str) -> None:
    answer = post(gateway, JSON_BODY, **{"content-type": "application/json"})
    assert answer.status_code == 200
    assert not any(name.startswith("access-control-") for name in answer.headers)


def test_cors_origins_allows_exact_origins_and_a_star_any(upstream: EmulatorServer) -> None:
    with http_to(upstream, cors_origins=["https://App.Example.com:443/"]) as http:
        answer = http.get("/models", headers={"origin": "https://app.example.com"})
        assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
        refused(http.get("/models", headers={"origin": "https://app.example.com:8443"}), 403, "origin_not_allowed")
        refused(http.get("/models", headers={"origin": "http://app.example.com"}), 403, "origin_not_allowed")
    with http_to(upstream, cors_origins=["*"]) as http:
        answer = http.get("/models", headers={"origin": "https://anyone.example"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://anyone.example"


def test_a_refused_body_from_an_allowed_page_still_carries_cors_headers(gateway: str) -> None:
    """So the page can read why (a 415), instead of a CORS failure."""
    answer = post(gateway, JSON_BODY, **{"content-type": "text/plain", "origin": "http://localhost:3000"})
    refused(answer, 415, "unsupported_media_type")
    assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"allowed_hosts": ["http://example.com"]}, "host"),
        ({"allowed_hosts": ["example.com:8000"]}, "host"),
        ({"cors_origins": ["example.com"]}, "origin"),
        ({"cors_origins": ["https://example.com/app"]}, "origin"),
    ],
)
def test_bad_settings_are_refused_when_the_app_is_made(options: dict[str, Any], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        create_app(AsyncClient(base_url="http://127.0.0.1:9"), **options)
    with pytest.raises(TypeError):
        create_app(AsyncClient(base_url="http://127.0.0.1:9"), allowed_hosts="example.com")


# --------------------------------------------------------------------------- `dynaspark gateway`


@pytest.mark.slow
def test_the_command_checks_host_and_origin_with_its_flags(upstream: EmulatorServer, emulator: Emulator) -> None:
    process = start_gateway(
        upstream.url, "--allowed-host", "gw.example.com", "--cors-origin", "https://app.example.com"
    )
    try:
        url = served_url(process)
        with httpx.Client(base_url=url, trust_env=False) as http:
            rebound = http.post("/chat/completions", json=CHAT, headers={"host": "attacker.example:8000"})
            cross_site = http.post("/chat/completions", json=CHAT, headers={"origin": "http://evil.example"})
            simple = http.post("/chat/completions", content=JSON_BODY, headers={"content-type": "text/plain"})
            named = http.post("/chat/completions", json=CHAT, headers={"host": "gw.example.com"})
            page = http.post("/chat/completions", json=CHAT, headers={"origin": "https://app.example.com"})
            plain = http.post("/chat/completions", json=CHAT)
    finally:
        _, err = interrupt(process)
    refused(rebound, 403, "host_not_allowed")
    refused(cross_site, 403, "origin_not_allowed")
    refused(simple, 415, "unsupported_media_type")
    assert (named.status_code, page.status_code, plain.status_code) == (200, 200, 200)
    assert page.headers["access-control-allow-origin"] == "https://app.example.com"
    assert len(emulator.requests) == 3
    assert "POST /v1/chat/completions 403 " in err and "POST /v1/chat/completions 415 " in err


def test_the_command_refuses_a_bad_cors_origin_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dynaspark_sdk", "--api-key", SECRET, "gateway", "--port", "0", "--cors-origin", "evil"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("dynaspark: error: a CORS origin is scheme://host[:port]")
    assert "Traceback" not in done.stderr


def test_of_a_repeated_header_the_first_counts(upstream: EmulatorServer, emulator: Emulator) -> None:
    # Origin, Content-Type and the gateway's key, each sent twice: the first value decides,
    # as Starlette's `Headers.get` reads it, whatever the second says.
    with http_to(upstream, gateway_key="k1") as http:

        def ask(*headers: tuple[str, str]) -> httpx.Response:
            return http.post("/chat/completions", content=JSON_BODY, headers=list(headers))

        json_type = ("content-type", "application/json")
        key, wrong_key = ("authorization", "Bearer k1"), ("authorization", "Bearer nope")
        foreign_first = ask(json_type, key, ("origin", "http://evil.example"), ("origin", "http://localhost"))
        loopback_first = ask(json_type, key, ("origin", "http://localhost"), ("origin", "http://evil.example"))
        text_first = ask(("content-type", "text/plain"), json_type, key)
        wrong_key_first = ask(json_type, wrong_key, key)
        right_key_first = ask(json_type, key, wrong_key)
    refused(foreign_first, 403, "origin_not_allowed")
    refused(text_first, 415, "unsupported_media_type")
    refused(wrong_key_first, 401, "invalid_api_key")
    assert (loopback_first.status_code, right_key_first.status_code) == (200, 200), loopback_first.text
    assert loopback_first.headers["access-control-allow-origin"] == "http://localhost"
    assert len(emulator.requests) == 2
