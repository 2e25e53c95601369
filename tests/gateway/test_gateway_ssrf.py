"""The gateway's callers cannot make it read the machine or its network (issue 21, point 2),
against the real gateway over loopback with the emulator upstream.

The gateway's upstream client sends through a transport of the test that passes loopback
traffic on and fails every attempt to reach anything else (recording it), so that no test, not
even one run before the fix, sends a byte off this machine; names other than the emulator's
resolve through the test's resolver."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest
from test_gateway import interrupt, served_url, start_gateway

from dynaspark_sdk import AsyncClient, Client
from dynaspark_sdk.integrations.gateway import create_app, serve_in_thread
from dynaspark_sdk.testing import Emulator, EmulatorServer

pytestmark = pytest.mark.usefixtures("loopback_only")

PUBLIC = "93.184.215.14"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})
PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"


class LoopbackOnly(httpx.AsyncBaseTransport):
    """Loopback requests go on (to the emulator); any other is recorded and fails, or gets the
    canned answer of `answers` (by host), without any network."""

    def __init__(self) -> None:
        # No keep-alive: nothing stays open when the gateway's event loop ends.
        self.real = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
        self.elsewhere: list[httpx.Request] = []
        self.answers: dict[str, httpx.Response] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in LOOPBACK_HOSTS:
            return await self.real.handle_async_request(request)
        self.elsewhere.append(request)
        canned = self.answers.get(request.url.host)
        if canned is None:
            raise httpx.ConnectError("this test sends nothing off loopback", request=request)
        return canned

    async def aclose(self) -> None:
        await self.real.aclose()


class Gateway(NamedTuple):
    url: str
    transport: LoopbackOnly


@pytest.fixture(scope="module")
def gateway(upstream: EmulatorServer) -> Iterator[Gateway]:
    """The gateway with its defaults, over a loopback-only transport."""
    transport = LoopbackOnly()
    http = httpx.AsyncClient(transport=transport)
    client = AsyncClient(base_url=upstream.url, max_retries=0, http_client=http)
    with serve_in_thread(create_app(client, log=lambda _: None)) as running:
        yield Gateway(running.url, transport)


@pytest.fixture
def emulator(upstream: EmulatorServer, gateway: Gateway) -> Emulator:
    upstream.emulator.clear_requests()
    gateway.transport.elsewhere.clear()
    gateway.transport.answers.clear()
    return upstream.emulator


def ask_with_image(gateway: Gateway, url: str) -> httpx.Response:
    parts = [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": url}}]
    body = {"model": "gemini-1.5-flash", "messages": [{"role": "user", "content": parts}]}
    with httpx.Client(trust_env=False, timeout=30) as http:
        return http.post(gateway.url + "/chat/completions", json=body)


def refusal(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    message: str = error["message"]
    return message


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_internal_answer_is_neither_read_nor_told_from_a_closed_port(
    gateway: Gateway, upstream: EmulatorServer, emulator: Emulator
) -> None:
    port, closed_one = int(upstream.url.rsplit(":", 1)[1]), closed_port()
    open_one = refusal(ask_with_image(gateway, f"http://127.0.0.1:{port}/status"))
    closed = refusal(ask_with_image(gateway, f"http://127.0.0.1:{closed_one}/status"))
    assert "is a loopback address" in open_one
    assert open_one.replace(str(port), "PORT") == closed.replace(str(closed_one), "PORT")
    for message in (open_one, closed):
        assert "7b 22" not in message and "first bytes" not in message and "connection failed" not in message
    assert emulator.requests == []  # neither fetched nor sent upstream


@pytest.mark.parametrize(
    "host",
    ["0x7f.1", "2130706433", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]", "[::1]", "localhost", "app.localhost"],
)
def test_every_spelling_of_loopback_is_refused(
    gateway: Gateway, upstream: EmulatorServer, emulator: Emulator, host: str
) -> None:
    port = upstream.url.rsplit(":", 1)[1]
    message = refusal(ask_with_image(gateway, f"http://{host}:{port}/status"))
    assert "is refused" in message or "is not a valid URL" in message  # (httpx refuses some spellings itself)
    assert emulator.requests == []
    assert gateway.transport.elsewhere == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.1/admin",
        "http://192.168.1.1/",
        "http://100.100.100.200/latest/meta-data/",
    ],
)
def test_cloud_metadata_and_the_local_network_are_refused_without_a_connection(
    gateway: Gateway, emulator: Emulator, url: str
) -> None:
    message = refusal(ask_with_image(gateway, url))
    assert "is refused" in message and "non-public" in message
    assert gateway.transport.elsewhere == []
    assert emulator.requests == []


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The gateway's resolver, for the names this file uses; asking it for any other fails the test."""
    answers: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> tuple[str, ...]:
        if host not in answers:
            pytest.fail(f"the gateway looked up {host!r}")
        return (answers[host].pop(0),) if len(answers[host]) > 1 else tuple(answers[host])

    monkeypatch.setattr("dynaspark_sdk._pools.resolve_host", resolve)
    return answers


def test_a_redirect_into_the_machine_is_refused(
    gateway: Gateway, upstream: EmulatorServer, emulator: Emulator, resolver: dict[str, list[str]]
) -> None:
    resolver["cdn.example"] = [PUBLIC]
    gateway.transport.answers[PUBLIC] = httpx.Response(302, headers={"location": f"{upstream.url}/status"})
    message = refusal(ask_with_image(gateway, "http://cdn.example/cat.png"))
    assert "redirected to" in message and "loopback" in message
    [hop] = gateway.transport.elsewhere
    assert (hop.url.host, hop.headers["host"]) == (PUBLIC, "cdn.example")
    assert emulator.requests == []


def test_a_name_rebound_to_loopback_after_the_check_still_goes_where_it_was_checked(
    gateway: Gateway, emulator: Emulator, resolver: dict[str, list[str]]
) -> None:
    resolver["rebind.example"] = [PUBLIC, "127.0.0.1"]
    message = refusal(ask_with_image(gateway, "http://rebind.example/status"))
    assert "no image came back" in message
    assert [request.url.host for request in gateway.transport.elsewhere] == [PUBLIC]
    assert emulator.requests == []


def test_a_name_resolving_to_the_machine_is_refused(
    gateway: Gateway, emulator: Emulator, resolver: dict[str, list[str]]
) -> None:
    resolver["sneaky.example"] = ["127.0.0.1"]
    message = refusal(ask_with_image(gateway, "http://sneaky.example/status"))
    assert "resolved to a loopback address" in message
    assert gateway.transport.elsewhere == []
    assert emulator.requests == []


def test_a_public_image_is_fetched_and_sent(
    gateway: Gateway, emulator: Emulator, resolver: dict[str, list[str]]
) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"
    )
    resolver["images.example"] = [PUBLIC]
    gateway.transport.answers[PUBLIC] = httpx.Response(200, content=png, headers={"content-type": "image/png"})
    answer = ask_with_image(gateway, "https://images.example/cat.png")
    assert answer.status_code == 200, answer.text
    (upload,) = emulator.requests[-1].files
    assert upload.data == png
    [fetch] = gateway.transport.elsewhere
    assert fetch.extensions["sni_hostname"] == "images.example"


# --------------------------------------------------------------------------- the command


@pytest.mark.slow
def test_the_command_refuses_loopback_images_unless_allowed(upstream: EmulatorServer, emulator: Emulator) -> None:
    with Client(base_url=upstream.url) as client:
        image = client.generate_image("a red square", width=64, height=64).url
    parts = [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": image}}]
    body = {"model": "gemini-1.5-flash", "messages": [{"role": "user", "content": parts}]}
    answers = []
    for options in ((), ("--allow-private-image-urls",)):
        emulator.clear_requests()
        process = start_gateway(upstream.url, *options)
        try:
            url = served_url(process)
            with httpx.Client(trust_env=False, timeout=30) as http:
                answers.append(http.post(url + "/chat/completions", json=body))
        finally:
            interrupt(process)
        if not options:
            assert emulator.requests == []
    refused, allowed = answers
    assert "is a loopback address" in refusal(refused)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["choices"][0]["message"]["content"].endswith("image/png image)")
