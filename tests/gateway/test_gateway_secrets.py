"""The gateway's start banner never shows the password of its upstream base URL (issue 21,
point 3): `alice:[secure]@`, as httpx's repr of a URL shows it. Nor do its answers, its log or
its errors, over either upstream transport."""

from __future__ import annotations

import socket

import httpx
import pytest
from test_gateway import interrupt, start_gateway

from dynaspark_sdk.testing import EmulatorServer

PASSWORD = "hunter2-secret-pw"


def with_password(url: str, password: str = PASSWORD) -> str:
    return url.replace("http://", f"http://alice:{password}@", 1)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.serial  # gives a subprocess a fixed time to start or to answer a signal
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_the_gateway_never_shows_the_url_password(upstream: EmulatorServer, transport: str) -> None:
    for base in (upstream.url, f"http://127.0.0.1:{closed_port()}"):
        process = start_gateway(with_password(base), "--upstream-transport", transport)
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            with httpx.Client(base_url=banner.split()[3], trust_env=False) as http:
                body = {"model": "text/openai", "messages": [{"role": "user", "content": "ping"}]}
                answer = http.post("/chat/completions", json=body)
        finally:
            out, err = interrupt(process)
        assert banner.startswith("Dynaspark gateway serving http://127.0.0.1:"), banner + err
        assert banner.endswith(f"(upstream {with_password(base, '[secure]')}, over {transport})\n")
        assert PASSWORD not in banner + out + err + answer.text
        if base == upstream.url:
            assert answer.json()["choices"][0]["message"]["content"] == "[openai] You said: ping"
        else:  # the closed port: the service could not be reached
            assert answer.status_code == 502, answer.text
        assert "Traceback" not in err
