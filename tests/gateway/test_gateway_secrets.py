"""The gateway's start banner never shows the password of its upstream base URL (issue 21,
point 3): `alice:[secure]@`, as httpx's repr of a URL shows it."""

from __future__ import annotations

import pytest
from test_gateway import interrupt, start_gateway

from dynaspark_sdk.testing import EmulatorServer

PASSWORD = "hunter2-secret-pw"


def with_password(url: str, password: str = PASSWORD) -> str:
    return url.replace("http://", f"http://alice:{password}@", 1)


@pytest.mark.serial  # gives a subprocess a fixed time to start or to answer a signal
def test_the_gateway_banner_never_shows_the_url_password(upstream: EmulatorServer) -> None:
    process = start_gateway(with_password(upstream.url))
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
    finally:
        out, err = interrupt(process)
    assert banner.startswith("Dynaspark gateway serving http://127.0.0.1:"), banner + err
    assert banner.endswith(f"(upstream {with_password(upstream.url, '[secure]')})\n")
    assert PASSWORD not in banner + out + err
