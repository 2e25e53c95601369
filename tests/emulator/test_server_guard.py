"""The emulator's server on a network: it answers only the Host names it serves (against DNS
rebinding) and web pages of its own origin or this machine, unless told to allow more; the
SDK, which sends the service's own URL as its Origin, is served as before."""

from __future__ import annotations

import httpx
import pytest

from dynaspark_sdk import Client
from dynaspark_sdk.testing import Emulator, EmulatorServer, serve


def _status(server: EmulatorServer, **headers: str) -> httpx.Response:
    return httpx.get(server.url + "/status", headers=headers, trust_env=False)


def test_a_foreign_host_is_refused_before_the_emulator_sees_the_request() -> None:
    emulator = Emulator()
    with serve(emulator) as server:
        refused = _status(server, host="rebind.example:8765")
        answered = _status(server)
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "this emulator does not serve the host 'rebind.example': start it with --allowed-host NAME"
        " (allowed_hosts=[...]) to serve it"
    }
    assert answered.status_code == 200
    assert [request.path for request in emulator.requests] == ["/status"]


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.1:9", "localhost:9", "LOCALHOST.", "[::1]:9", "api.localhost", "box.local", "10.0.0.5"],
)
def test_hosts_no_one_can_rebind_are_served(host: str) -> None:
    with serve() as server:
        assert _status(server, host=host).status_code == 200


def test_allowed_hosts_opens_a_name_and_star_opens_every_one() -> None:
    with serve(allowed_hosts=["Dynaspark.Example."]) as server:
        assert _status(server, host="dynaspark.example:8765").status_code == 200
        assert _status(server, host="other.example").status_code == 403
    with serve(allowed_hosts=["*"]) as server:
        assert _status(server, host="other.example").status_code == 200
        assert _status(server, origin="https://page.example").status_code == 200


@pytest.mark.parametrize("name", ["", "http://x.example", "x.example:80", "a b", 3])
def test_a_bad_allowed_host_is_an_error_before_anything_listens(name: object) -> None:
    with pytest.raises(ValueError, match="allowed host"):
        EmulatorServer(allowed_hosts=[name])  # type: ignore[list-item]


def test_a_web_page_of_a_foreign_origin_is_refused() -> None:
    emulator = Emulator()
    with serve(emulator) as server:
        foreign = _status(server, origin="https://evil.example")
        null = _status(server, origin="null")
        spoofed = _status(server, origin="http://127.0.0.1.evil.example")
    for answer in (foreign, null, spoofed):
        assert answer.status_code == 403
    assert foreign.json() == {
        "error": "requests from web pages of 'https://evil.example' are not served: start the emulator with"
        " --allowed-host NAME (allowed_hosts=[...]) for a page served from NAME"
    }
    assert emulator.requests == []


def test_pages_of_its_own_origin_this_machine_or_an_allowed_name_are_served() -> None:
    with serve(allowed_hosts=["app.example"]) as server:
        own = _status(server, origin=server.url)
        local = [_status(server, origin=origin) for origin in ("http://localhost:3000", "http://[::1]:5173")]
        allowed = _status(server, origin="https://app.example")
        # Clients written for the service (gpt4free's provider, its own client) send its URL.
        service = _status(server, origin="https://dynaspark.onrender.com")
        # The SDK's Origin is its base URL, user info included when the URL has some.
        with_user = _status(server, origin=server.url.replace("http://", "http://alice:pw@"))
    answers = (own, *local, allowed, service, with_user)
    assert [answer.status_code for answer in answers] == [200] * 6


def test_the_sdk_s_chat_sends_the_service_s_own_origin_and_is_served() -> None:
    with serve() as server, Client(base_url=server.url, max_retries=0) as client:
        answer = client.chat("hello", model="gemini-1.5-flash")
        sent = server.emulator.requests[-1]
    assert answer.text == "[gemini-1.5-flash-8b] You said: hello"
    assert dict(sent.headers)["origin"] == server.url
