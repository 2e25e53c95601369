"""A fetch pinned to a checked address still verifies TLS against the URL's name (issue 21,
point 2): the request goes to the address with the name as `Host` and as httpx's
`sni_hostname`, which both transports (httpx's own, and `AiohttpTransport`) must use as the
name the certificate is checked against. A real HTTPS server on loopback, with a self-signed
certificate for `images.example` made by openssl for the test."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.usefixtures("loopback_only"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate"),
]

NAME = "images.example"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # AiohttpTransport runs on asyncio only


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={NAME}"]
    subprocess.run(
        [*request, "-addext", f"subjectAltName=DNS:{NAME}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


class _Image(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("x-seen-host", self.headers.get("host", ""))
        self.send_header("content-length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def https_url(certificate: tuple[Path, Path]) -> Iterator[str]:
    """An HTTPS server on loopback whose certificate names images.example (not 127.0.0.1)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Image)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/cat.png"
    finally:
        server.shutdown()
        server.server_close()


def transports(certificate: tuple[Path, Path]) -> dict[str, httpx.AsyncBaseTransport]:
    from dynaspark_sdk.aiohttp_transport import AiohttpTransport

    trust = ssl.create_default_context(cafile=str(certificate[0]))
    return {"httpx": httpx.AsyncHTTPTransport(verify=trust), "aiohttp": AiohttpTransport(verify=trust)}


@pytest.mark.parametrize("kind", ["httpx", "aiohttp"])
async def test_the_certificate_is_checked_against_the_name_not_the_address(
    certificate: tuple[Path, Path], https_url: str, kind: str
) -> None:
    pytest.importorskip("aiohttp")
    async with httpx.AsyncClient(transport=transports(certificate)[kind]) as http:
        pinned = await http.get(https_url, headers={"host": NAME}, extensions={"sni_hostname": NAME})
        with pytest.raises(httpx.ConnectError, match=r"(?i)certificate"):
            await http.get(https_url, headers={"host": NAME})  # checked against 127.0.0.1: refused
    assert pinned.status_code == 200
    assert pinned.content == PNG
    assert pinned.headers["x-seen-host"] == NAME


async def test_the_sdks_own_network_streams_speak_tls_and_check_the_name(
    certificate: tuple[Path, Path], https_url: str
) -> None:
    # The async client's lean streams (dynaspark_sdk._network) start TLS through httpcore's code
    # and keep reading and writing on the encrypted stream; the server closes each connection.
    from dynaspark_sdk._network import LeanBackend, with_lean_streams

    trust = ssl.create_default_context(cafile=str(certificate[0]))
    async with with_lean_streams(httpx.AsyncClient(verify=trust)) as http:
        assert type(http._transport._pool._network_backend) is LeanBackend  # type: ignore[attr-defined]
        pinned = [
            await http.get(https_url, headers={"host": NAME}, extensions={"sni_hostname": NAME}) for _ in range(3)
        ]
        with pytest.raises(httpx.ConnectError, match=r"(?i)certificate"):
            await http.get(https_url, headers={"host": NAME})  # checked against 127.0.0.1: refused
    assert [(answer.status_code, answer.content) for answer in pinned] == [(200, PNG)] * 3
