"""Image URLs fetched for someone else (issue 21, point 2): `private_image_urls=False` on both
clients refuses hosts that are, or resolve to, non-public addresses (in every spelling), checks
every redirect hop (at most 3), connects to the address it checked, and reports failures
without a byte of what came back and without telling a closed port from an open one.

No traffic leaves this machine: the classification of other ranges is tested on the address
check itself, or through a resolver and an httpx transport of the test's own (which answers
without any network, or fails the test on any attempt). The gateway's side, over loopback, is
in test_gateway_ssrf.py.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import BASE_URL, Dual, open_dual, sdk_client_class

from dynaspark_sdk import InvalidRequestError, MediaError
from dynaspark_sdk._addresses import non_public_reason, parse_ip

pytestmark = pytest.mark.anyio

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC")
#: Public addresses a fake resolver hands out (nothing is ever sent to them).
PUBLIC = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


# --------------------------------------------------------------------------- the address check


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.1", "loopback"),
        ("127.0.1", "loopback"),
        ("2130706433", "loopback"),
        ("0x7f000001", "loopback"),
        ("0x7f.1", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("017700000001", "loopback"),
        ("0x7F.0.0.0x1", "loopback"),
        ("127.0.0.1.", "loopback"),
        ("[::1]", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("[::ffff:7f00:1]", "loopback"),
        ("::127.0.0.1", "loopback"),
        ("2002:7f00:1::1", "loopback"),
        ("10.0.0.1", "private"),
        ("012.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("3232235777", "private"),
        ("[::ffff:192.168.1.1]", "private"),
        ("169.254.169.254", "link-local"),
        ("0xa9fea9fe", "link-local"),
        ("[64:ff9b::a9fe:a9fe]", "link-local"),
        ("[fe80::1%25eth0]", "link-local"),
        ("100.64.0.1", "shared"),
        ("[fd00::1]", "unique-local"),
        ("224.0.0.1", "multicast"),
        ("[ff02::1]", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "reserved"),
        ("198.18.0.1", "reserved"),
        ("[2001:db8::1]", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("0", "unspecified"),
        ("[::]", "unspecified"),
    ],
)
def test_every_spelling_of_a_non_public_address_is_recognised(host: str, reason: str) -> None:
    address = parse_ip(host)
    assert address is not None, host
    found = non_public_reason(address)
    assert found is not None and reason in found, (host, found)


@pytest.mark.parametrize("host", [PUBLIC, "1.1.1.1", "8.8.8.8", "[::ffff:8.8.8.8]", f"[{PUBLIC_V6}]", "0x5db8d70e"])
def test_public_addresses_pass(host: str) -> None:
    address = parse_ip(host)
    assert address is not None
    assert non_public_reason(address) is None


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "256.0.0.1", "0x100.1", "1.16777216", "08.1", "1..2"])
def test_names_and_impossible_numbers_are_not_addresses(host: str) -> None:
    assert parse_ip(host) is None


# --------------------------------------------------------------------------- both clients, no network


class Resolver:
    """The test's resolver (in place of the system's): each name's answers, in turn."""

    def __init__(self, answers: dict[str, list[tuple[str, ...]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> tuple[str, ...]:
        self.asked.append(host)
        queue = self.answers.get(host)
        if not queue:
            pytest.fail(f"the resolver was asked for {host!r}, which this test does not expect")
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Resolver]:
    def install(answers: dict[str, list[tuple[str, ...]]]) -> Resolver:
        fake = Resolver(answers)
        monkeypatch.setattr("dynaspark_sdk._pools.resolve_host", fake)
        return fake

    return install


Handler = Callable[[httpx.Request], httpx.Response]


class Transport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers the service's chat endpoint like the service, and every other request with
    `handler` (default: fail the test: nothing may be sent there). No network."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler
        self.sent: list[httpx.Request] = []

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == httpx.URL(BASE_URL).host:
            image = b"with an image" if b"filename=" in request.read() else b"without an image"
            return httpx.Response(200, json={"response": image.decode()})
        self.sent.append(request)
        if self.handler is None:
            pytest.fail(f"a request was sent to {request.url}")
        return self.handler(request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self.answer(request)


def image_message(url: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": "what?"}, {"type": "image_url", "image_url": {"url": url}}],
        }
    ]


async def ask(client_kind: str, transport: Transport, url: str, **options: Any) -> Any:
    async with open_dual(client_kind, transport=transport, max_retries=0, private_image_urls=False, **options) as dual:
        return await dual.call("chat", image_message(url))


async def refusal(client_kind: str, transport: Transport, url: str) -> str:
    with pytest.raises(MediaError) as caught:
        await ask(client_kind, transport, url)
    return caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://0x7f.1:8080/x.png",
        "http://2130706433/x.png",
        "http://[::1]:8000/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd12::1]/x.png",
        "http://10.1.2.3/x.png",
        "https://192.168.0.1/x.png",
        "http://localhost:8000/x.png",
        "http://printer.localhost/x.png",
        "http://0.0.0.0:22/",
    ],
)
async def test_a_non_public_literal_or_local_name_is_refused_without_a_lookup_or_connection(
    client_kind: str, resolver: Any, url: str
) -> None:
    fake = resolver({})
    message = await refusal(client_kind, Transport(), url)
    assert "is refused" in message and "non-public" in message
    assert url.split("/")[2].split(":")[0].strip("[]") in message or "localhost" in message
    assert fake.asked == []


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ([("10.0.0.7",)], "private"),
        ([("169.254.169.254",)], "link-local"),
        ([("127.0.0.1",)], "loopback"),
        ([("fd00::7",)], "unique-local"),
        ([("::ffff:10.0.0.7",)], "private"),
        ([(PUBLIC, "10.0.0.7")], "private"),  # one private address among public ones is enough
    ],
)
async def test_a_name_that_resolves_to_a_non_public_address_is_refused_before_connecting(
    client_kind: str, resolver: Any, answers: list[tuple[str, ...]], reason: str
) -> None:
    fake = resolver({"intranet.example": answers})
    message = await refusal(client_kind, Transport(), "http://intranet.example/cat.png")
    assert f"resolved to a {reason}" in message or f"resolved to an {reason}" in message
    assert fake.asked == ["intranet.example"]


async def test_a_name_that_does_not_resolve_says_so(client_kind: str, resolver: Any) -> None:
    resolver({"nowhere.example": [()]})
    message = await refusal(client_kind, Transport(), "http://nowhere.example/cat.png")
    assert "does not resolve" in message


async def test_a_name_that_resolves_too_slowly_is_given_up_at_the_connect_timeout(
    client_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lookup the system's resolver takes long over (a caller of the gateway naming a slow
    host) ends the call at the client's connect timeout, with nothing sent anywhere."""
    release = threading.Event()
    asked: list[str] = []

    def slow(host: str, port: int) -> tuple[str, ...]:
        asked.append(host)
        release.wait(30)
        return (PUBLIC,)

    monkeypatch.setattr("dynaspark_sdk._pools.resolve_host", slow)
    transport = Transport()
    timeout = httpx.Timeout(30.0, connect=0.2)
    http: Any = (
        httpx.Client(transport=transport, timeout=timeout)
        if client_kind == "sync"
        else httpx.AsyncClient(transport=transport, timeout=timeout)
    )
    try:
        started = time.monotonic()
        async with open_dual(client_kind, http_client=http, max_retries=0, private_image_urls=False) as dual:
            with pytest.raises(MediaError) as caught:
                await dual.call("chat", image_message("http://slow.example/cat.png"))
        waited = time.monotonic() - started
    finally:
        release.set()
        await http.aclose() if client_kind == "async" else http.close()
    assert caught.value.message == (
        "cannot fetch the image at URL http://slow.example/cat.png: its host name did not resolve in time"
    )
    assert asked == ["slow.example"]
    assert transport.sent == []
    assert 0.2 <= waited < 10  # the connect timeout, not the 30 s the resolver would take


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_the_connection_goes_to_the_address_that_was_checked(
    client_kind: str, resolver: Any, scheme: str
) -> None:
    """The name resolves to a public address, then (rebinding) to loopback: the request goes to
    the public address, with the name as Host and as the TLS server name; never resolved again."""
    fake = resolver({"cdn.example": [(PUBLIC,), ("127.0.0.1",)]})
    transport = Transport(lambda request: httpx.Response(200, content=PNG, headers={"content-type": "image/png"}))
    answer = await ask(client_kind, transport, f"{scheme}://cdn.example:8443/img/cat.png?size=2")
    assert answer.text == "with an image"
    [request] = transport.sent
    assert request.url.host == PUBLIC
    assert (request.url.scheme, request.url.port, request.url.raw_path) == (scheme, 8443, b"/img/cat.png?size=2")
    assert request.headers["host"] == "cdn.example:8443"
    assert request.extensions.get("sni_hostname") == ("cdn.example" if scheme == "https" else None)
    assert fake.asked == ["cdn.example"]


async def test_ipv6_answers_are_connected_to_in_brackets(client_kind: str, resolver: Any) -> None:
    resolver({"v6.example": [(PUBLIC_V6,)]})
    transport = Transport(lambda request: httpx.Response(200, content=PNG))
    await ask(client_kind, transport, "http://v6.example/cat.png")
    [request] = transport.sent
    assert request.url.host == PUBLIC_V6
    assert request.headers["host"] == "v6.example"


def redirect_to(location: str) -> Handler:
    return lambda request: httpx.Response(302, headers={"location": location})


@pytest.mark.parametrize(
    "location",
    ["http://127.0.0.1:6379/", "http://[::1]/", "http://0x7f.1/", "http://localhost/", "//169.254.169.254/latest/"],
)
async def test_every_redirect_hop_is_checked(client_kind: str, resolver: Any, location: str) -> None:
    resolver({"cdn.example": [(PUBLIC,)]})
    transport = Transport(redirect_to(location))
    message = await refusal(client_kind, transport, "http://cdn.example/cat.png")
    assert "redirected to" in message and "is refused" in message
    assert len(transport.sent) == 1  # the first hop only; nothing after the redirect


async def test_a_redirect_to_a_name_that_resolves_privately_is_refused(client_kind: str, resolver: Any) -> None:
    fake = resolver({"cdn.example": [(PUBLIC,)], "internal.example": [("192.168.1.10",)]})
    transport = Transport(redirect_to("http://internal.example/admin"))
    message = await refusal(client_kind, transport, "http://cdn.example/cat.png")
    assert "resolved to a private address" in message
    assert fake.asked == ["cdn.example", "internal.example"]
    assert len(transport.sent) == 1


async def test_three_redirects_are_followed_and_a_fourth_is_refused(client_kind: str, resolver: Any) -> None:
    resolver({"cdn.example": [(PUBLIC,)]})

    def hops(limit: int) -> Handler:
        def handle(request: httpx.Request) -> httpx.Response:
            hop = int(request.url.path.strip("/") or 0)
            if hop < limit:
                return httpx.Response(307, headers={"location": f"/{hop + 1}"})
            return httpx.Response(200, content=PNG)

        return handle

    transport = Transport(hops(3))
    assert (await ask(client_kind, transport, "http://cdn.example/")).text == "with an image"
    assert [request.url.path for request in transport.sent] == ["/", "/1", "/2", "/3"]
    transport = Transport(hops(4))
    message = await refusal(client_kind, transport, "http://cdn.example/")
    assert "redirected more than 3 times" in message
    assert len(transport.sent) == 4


def failing_with(exception: type[httpx.TransportError]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        raise exception("boom", request=request)

    return handle


ANSWERS: dict[str, Handler] = {
    "closed port": failing_with(httpx.ConnectError),
    "timeout": failing_with(httpx.ConnectTimeout),
    "404": lambda request: httpx.Response(404, text="no such thing"),
    "500": lambda request: httpx.Response(500, text="stack trace here"),
    "internal JSON": lambda request: httpx.Response(200, json={"status": "ok", "secret": "s3"}),
    "HTML page": lambda request: httpx.Response(200, text="<html><title>Admin</title></html>"),
    "empty": lambda request: httpx.Response(200, content=b""),
}


async def test_failures_are_one_message_that_echoes_nothing(client_kind: str, resolver: Any) -> None:
    messages: dict[str, str] = {}
    for name, handler in ANSWERS.items():
        resolver({"cdn.example": [(PUBLIC,)]})
        messages[name] = await refusal(client_kind, Transport(handler), "http://cdn.example/cat.png?key=1")
    assert len(set(messages.values())) == 1, messages
    [message] = set(messages.values())
    assert message.startswith("cannot fetch the image at URL http://cdn.example/cat.png: no image came back")
    for word in ("7b 22", "status", "secret", "Admin", "html", "boom", "404", "500", "stack", "key=1"):
        assert word not in message


async def test_by_default_a_client_fetches_what_its_caller_asks_for(client_kind: str, resolver: Any) -> None:
    """Without the option the client is its caller's: no check, no lookup of its own."""
    fake = resolver({})
    transport = Transport(lambda request: httpx.Response(200, content=PNG))
    async with open_dual(client_kind, transport=transport, max_retries=0) as dual:
        answer = await dual.call("chat", image_message("http://10.0.0.9/cat.png"))
        guarded = Dual(client_kind, dual.client.with_options(private_image_urls=False))
        with pytest.raises(MediaError, match="private address"):
            await guarded.call("chat", image_message("http://10.0.0.9/cat.png"))
    assert answer.text == "with an image"
    assert [request.url.host for request in transport.sent] == ["10.0.0.9"]
    assert fake.asked == []


async def test_the_option_is_checked(client_kind: str) -> None:
    with pytest.raises(InvalidRequestError, match="private_image_urls"):
        sdk_client_class(client_kind)(base_url=BASE_URL, private_image_urls="no")


class Endless(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that never ends until it is closed (a PNG header, then zeros), like a network
    stream whose reads fail once it is closed; counts the chunks read from it."""

    def __init__(self) -> None:
        self.chunks = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed:
            self.chunks += 1
            yield PNG if self.chunks == 1 else bytes(4096)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


async def test_an_endless_answer_is_read_no_further_than_the_size_limit(client_kind: str, resolver: Any) -> None:
    resolver({"cdn.example": [(PUBLIC,)]})
    body = Endless()
    transport = Transport(lambda request: httpx.Response(200, stream=body))
    with pytest.raises(MediaError, match="over the 100,000-byte limit"):
        await ask(client_kind, transport, "http://cdn.example/cat.png", max_media_bytes=100_000)
    assert body.chunks <= 100_000 // 4096 + 3


def test_at_most_sixteen_lookups_hang_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names that never resolve hold a lookup thread each until the system's resolver gives up:
    past sixteen of them, a lookup is not started at all (it gives up like a slow one)."""
    from dynaspark_sdk import _pools

    release = threading.Event()
    asked: list[str] = []

    def hanging(host: str, port: int) -> tuple[str, ...]:
        asked.append(host)
        release.wait(30)
        return ()

    monkeypatch.setattr(_pools, "resolve_host", hanging)
    monkeypatch.setattr(_pools, "_lookups", threading.BoundedSemaphore(_pools._MAX_LOOKUPS))
    try:
        given_up = [_pools.resolve_within(f"slow{index}.example", 80, 0.02) for index in range(17)]
    finally:
        release.set()
    assert given_up == [None] * 17
    assert asked == [f"slow{index}.example" for index in range(16)]
