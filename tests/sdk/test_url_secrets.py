"""Passwords in base URLs and the API key under httpx2 (issue 21, points 3 and 4): a base URL
`http://alice:PASSWORD@host` shows as `alice:[secure]@` in reprs, errors and `dynaspark --debug`
lines, as httpx's own repr shows it (the gateway's banner: tests/gateway/test_gateway_secrets.py);
the loggers of httpx2 and httpcore2 (which `httpx2.alias_httpx()` makes `import httpx` load) are
redacted like httpx's. Traffic to the loopback emulator only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest
from conftest import open_dual, sdk_client_class

from dynaspark_sdk import APIConnectionError, InvalidRequestError
from dynaspark_sdk.testing import EmulatorServer

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("loopback_only")]

PASSWORD = "hunter2-secret-pw"
KEY = "sk-httpx2-secret-key-0123456789"


def with_password(url: str, password: str = PASSWORD) -> str:
    return url.replace("http://", f"http://alice:{password}@", 1)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DYNASPARK_", "OPENAI_"))}
    return {**env, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "PYTHONIOENCODING": "utf-8"}


# --------------------------------------------------------------------------- point 3


@pytest.mark.parametrize("client_kind", ["sync", "async"])
async def test_the_repr_and_errors_of_a_client_never_show_the_url_password(client_kind: str) -> None:
    url = with_password(f"http://127.0.0.1:{closed_port()}")
    async with open_dual(client_kind, base_url=url, max_retries=0) as dual:
        shown = repr(dual.client)
        assert "alice:[secure]@127.0.0.1" in shown
        with pytest.raises(APIConnectionError) as caught:
            await dual.call("generate_text", "hi")
    for text in (shown, str(caught.value), repr(caught.value)):
        assert PASSWORD not in text
    with pytest.raises(InvalidRequestError) as refused:
        sdk_client_class(client_kind)(base_url=f"ftp://alice:{PASSWORD}@files.example")
    assert "alice:[secure]@files.example" in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_debug_lines_never_show_the_url_password(upstream: EmulatorServer) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dynaspark_sdk", "--debug", "--base-url", with_password(upstream.url), "status"],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "HTTP Request: GET http://alice:[secure]@127.0.0.1:" in done.stderr  # httpx's line, scrubbed
    assert PASSWORD not in done.stdout + done.stderr


def test_a_short_password_is_scrubbed_in_urls_too() -> None:
    from dynaspark_sdk import Client

    assert "alice:[secure]@host" in repr(Client(base_url="http://alice:pw@host"))


# --------------------------------------------------------------------------- point 4

ALIASED = textwrap.dedent(
    """
    import httpx2

    httpx2.alias_httpx()  # before anything imports httpx: `import httpx` now loads httpx2

    import asyncio, io, logging, sys

    import httpx

    assert httpx.__name__ == "httpx2", httpx.__name__
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)

    from dynaspark_sdk import AsyncClient, Client

    url, key = sys.argv[1], sys.argv[2]
    with Client(base_url=url, api_key=key, max_retries=0) as client:
        print(client.generate_text("sync").text)

    async def main():
        async with AsyncClient(base_url=url, api_key=key, max_retries=0) as client:
            print((await client.generate_text("async")).text)

    asyncio.run(main())
    print(lines.getvalue())
    """
)


def test_under_httpx2_s_alias_the_key_and_password_never_reach_a_log_line(upstream: EmulatorServer) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ALIASED, with_password(upstream.url), KEY],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout
    assert "[openai] You said: sync" in output and "[openai] You said: async" in output
    requests = [line for line in output.splitlines() if line.startswith("httpx2 HTTP Request:")]
    assert len(requests) == 2, output  # httpx2 logged both requests (the records this is about)
    assert all("api_key=[REDACTED]" in line and "alice:[secure]@" in line for line in requests)
    assert any(line.startswith("httpcore2.") for line in output.splitlines())
    assert KEY not in output + done.stderr
    assert PASSWORD not in output + done.stderr
