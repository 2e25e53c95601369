"""Serving an ASGI app with uvicorn on a socket this module binds (so port 0 works and the URL
is known before the first request), in the foreground (`serve_forever`) or in a background
thread (`serve_in_thread`)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["RunningGateway", "bind", "make_server", "serve_forever", "serve_in_thread", "url_of"]

#: How long requests in flight may go on after a shutdown begins (Ctrl-C, or the end of
#: `serve_in_thread`'s block) before they are cut.
GRACE_SECONDS = 5

# uvicorn's settings unless the caller gives others: quiet (the gateway logs through its own
# `log`), and the graceful shutdown above.
_SERVER_DEFAULTS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "timeout_graceful_shutdown": GRACE_SECONDS,
}

#: How long before the end of the grace period of a shutdown the requests still waiting on the
#: service are answered (503, or an error event in a stream), so their answers get out.
ANSWER_MARGIN_SECONDS = 1.0


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


def make_server(app: Any, **config: Any) -> Any:
    """A uvicorn server for `app` whose shutdown, when `app` is the gateway (`create_app()`),
    answers the requests still waiting on the service shortly before its grace period
    (`timeout_graceful_shutdown`) runs out, instead of letting uvicorn cut their connections."""
    import anyio
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            in_flight = getattr(getattr(app, "state", None), "dynaspark_in_flight", None)
            grace = self.config.timeout_graceful_shutdown
            if in_flight is None or grace is None:
                await super().shutdown(sockets)
                return

            async def answer_in_time() -> None:
                await anyio.sleep(max(grace - min(ANSWER_MARGIN_SECONDS, grace / 2), 0))
                in_flight.end_all()

            async with anyio.create_task_group() as group:
                group.start_soon(answer_in_time)
                await super().shutdown(sockets)
                group.cancel_scope.cancel()

    return Server(uvicorn.Config(app, **config))


def serve_forever(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    on_ready: Callable[[str], None] | None = None,
    **config: Any,
) -> None:
    """Serve `app` with uvicorn in the calling thread until Ctrl-C (what `dynaspark gateway` runs).

    `on_ready` receives the URL (`http://host:port/v1`) once the port is bound, before the first
    request is taken. Ctrl-C shuts down gracefully, as `serve_in_thread` does (requests in
    flight get `timeout_graceful_shutdown`, 5 s, and the gateway's own answer 503 a second
    before that), then raises KeyboardInterrupt to the caller. An address that cannot be bound
    raises OSError before `on_ready`. `config` goes to `uvicorn.Config`:

        try:
            serve_forever(create_app(client), port=8000, on_ready=print)
        except KeyboardInterrupt:
            pass
    """
    sock = bind(host, port)
    try:
        server = make_server(app, **{**_SERVER_DEFAULTS, **config})
        if on_ready is not None:
            # Announce only once uvicorn has started, inside its signal handling: a Ctrl-C
            # pressed right after the announcement then stops the server. Announced before,
            # that Ctrl-C met Python's default handler and could land in a weakref callback,
            # where the KeyboardInterrupt is ignored and the server ran on.
            startup = server.startup

            async def startup_then_announce(sockets: list[socket.socket] | None = None) -> None:
                await startup(sockets=sockets)
                if server.started and not server.should_exit:
                    on_ready(url_of(sock))

            server.startup = startup_then_announce
        server.run(sockets=[sock])
    finally:
        sock.close()


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
    gracefully: requests in flight get `timeout_graceful_shutdown`, 5 s, to finish, and the
    gateway's own answer 503 a second before that). For tests and benchmarks:

        with serve_in_thread(create_app(client)) as running:
            openai.OpenAI(base_url=running.url, api_key="unused").models.list()
    """
    sock = bind(host, port)
    server = make_server(app, **{**_SERVER_DEFAULTS, **config})
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
