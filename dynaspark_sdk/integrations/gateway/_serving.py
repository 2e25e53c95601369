"""Serving an ASGI app with uvicorn on a socket this module binds (so port 0 works and the URL
is known before the first request), in the foreground or in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["bind", "serve_in_thread", "url_of"]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    """`http://host:port/v1` for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> Iterator[str]:
    """Serve `app` with uvicorn in a background thread; yields its `/v1` URL, stops on exit.

    For tests and benchmarks:

        with serve_in_thread(create_app(client)) as url:
            openai.OpenAI(base_url=url, api_key="unused").models.list()
    """
    import uvicorn

    sock = bind(host, port)
    options: dict[str, Any] = {"log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 5}
    server = uvicorn.Server(uvicorn.Config(app, **{**options, **config}))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller, not lost in the thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="dynaspark-gateway", daemon=True)
    thread.start()
    try:
        started = threading.Event()
        while not server.started and thread.is_alive():
            started.wait(0.005)
        if not server.started:
            raise RuntimeError(f"the gateway did not start: {failure[0] if failure else 'no reason given'}")
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
