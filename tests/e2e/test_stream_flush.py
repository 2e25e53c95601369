"""No buffering: the first piece of a stream reaches the caller as soon as the server flushes it.

A one-shot loopback server sends the first event, then holds the rest back until the test
has received that event. A client that buffered would wait for more and never get it:
the server gives up after a while and the test fails.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from conftest import Dual
from wire import openai_chunk, sse

pytestmark = pytest.mark.anyio


class HoldingServer:
    """Answers one request with a chunked event stream, holding back all but the first event."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held_back_in_vain = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            connection.sendall(head + _chunk(sse(openai_chunk("first "))))
            if not self.release.wait(timeout=10):
                self.held_back_in_vain = True
            connection.sendall(_chunk(sse(openai_chunk("second"), "[DONE]")) + b"0\r\n\r\n")

    def close(self) -> None:
        self.release.set()
        self._thread.join(timeout=15)
        self._listener.close()


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.fixture
def holding_server() -> Iterator[HoldingServer]:
    server = HoldingServer()
    yield server
    server.close()


async def test_first_piece_arrives_before_the_rest_is_sent(
    make_dual: Callable[..., Dual], holding_server: HoldingServer
) -> None:
    dual = make_dual(base_url=holding_server.url, max_retries=0, timeout=30)
    stream = dual.client.stream_text("hello")
    first = await dual.next_piece(stream)
    holding_server.release.set()
    rest = await dual.collect(stream)
    assert first == "first "
    assert rest == ["second"]
    assert not holding_server.held_back_in_vain
