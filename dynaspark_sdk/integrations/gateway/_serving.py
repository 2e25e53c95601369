"""Serving an ASGI app with uvicorn on a socket this module binds (so port 0 works and the URL
is known before the first request), in the foreground or in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["RunningGateway", "bind", "serve_in_thread", "url_of"]


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


class RunningGateway:
    """A server started by `serve_in_thread`: its `url` (ending in `/v1`) and open connections."""

    def __init__(self, url: str, server: Any) -> None:
        self.url = url
        self._server = server

    @property
    def open_connections(self) -> int:
        """How many client connections the server holds now."""
        return len(self._server.server_state.connections)


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> Iterator[RunningGateway]:
    """Serve `app` with uvicorn in a background thread until the block ends (then shut down
    gracefully). For tests and benchmarks:

        with serve_in_thread(create_app(client)) as running:
            openai.OpenAI(base_url=running.url, api_key="unused").models.list()
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
        while not server.started and thread.is_alive():
            time.sleep(0.005)
        if not server.started:
            raise RuntimeError(f"the gateway did not start: {failure[0] if failure else 'no reason given'}")
        yield RunningGateway(url_of(sock), server)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
