"""The emulator on a real socket: HTTP/1.1 with asyncio streams and h11, in a daemon thread.

Keep-alive connections; request bodies with Content-Length or chunked; answers of known
length with Content-Length, streams chunked with each event flushed as its own chunk
(TCP_NODELAY). Plans are carried out for real: a reset is a TCP RST (SO_LINGER 0, then
close), a cut closes the socket in the middle of the body, a first-byte delay sleeps before
the status line. Log lines name the method and path only, never the query string (it may
hold the API key).
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import socket
import struct
import threading
import urllib.parse
import weakref
from collections.abc import Callable, Iterable, Iterator

import h11

from dynaspark_sdk._host_check import HostNames
from dynaspark_sdk.spec import DEFAULT_BASE_URL

from ._emulator import Emulator
from ._plan import Cut, Delay, Reset, ResponsePlan, SendBytes, json_plan

__all__ = ["ConnectionCount", "EmulatorServer", "run_forever", "serve"]

#: The origin of the service's web pages, which the emulator stands in for.
_SERVICE_ORIGIN = DEFAULT_BASE_URL.rstrip("/").lower()

logger = logging.getLogger("dynaspark_sdk.testing")

_READ_BYTES = 65536
_BACKLOG = 1024


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # Linger 0 makes close() send RST instead of FIN: the client sees ECONNRESET.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _reason(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


class ConnectionCount:
    """How many client connections a server holds open, the most it held at once, and how many it
    accepted. Thread-safe: the server's loop counts, tests read from their own threads.

    A connection counts as open from its accept until the server has finished with it: for a
    keep-alive connection, until the client closes it (or the server stops).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._peak = 0
        self._accepted = 0

    def opened(self) -> None:
        """A connection was accepted."""
        with self._lock:
            self._open += 1
            self._accepted += 1
            self._peak = max(self._peak, self._open)

    def closed(self) -> None:
        """The server finished with a connection."""
        with self._lock:
            self._open -= 1

    @property
    def open(self) -> int:
        """Connections open now."""
        with self._lock:
            return self._open

    @property
    def peak(self) -> int:
        """The most connections open at once since the start or the last `reset_peak()`."""
        with self._lock:
            return self._peak

    @property
    def accepted(self) -> int:
        """Connections accepted since the start."""
        with self._lock:
            return self._accepted

    def reset_peak(self) -> None:
        """Start measuring the peak afresh, from the connections open now."""
        with self._lock:
            self._peak = self._open


class _Http11Server:
    """Serves one emulator over HTTP/1.1 on the running event loop."""

    def __init__(self, emulator: Emulator, hosts: HostNames, connections: ConnectionCount | None = None) -> None:
        self.emulator = emulator
        self.hosts = hosts
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Transports stay referenced by the loop until their socket is closed, so this set holds
        # every connection not yet closed, including those closing gracefully.
        self._transports: weakref.WeakSet[asyncio.WriteTransport] = weakref.WeakSet()
        self._closing = False
        self.connections = connections if connections is not None else ConnectionCount()

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._connection, host, port, backlog=_BACKLOG)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def close(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for transport in list(self._transports):
            transport.abort()
        if self._server is not None:
            await self._server.wait_closed()
        # Aborted transports close their sockets on the loop's next iterations.
        for _ in range(3):
            await asyncio.sleep(0)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._transports.add(writer.transport)
        self.connections.opened()
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = h11.Connection(h11.SERVER)
        try:
            await self._serve_connection(connection, reader, writer)
        except (ConnectionError, OSError, h11.ProtocolError) as error:
            logger.debug("connection ended: %s", type(error).__name__)
        except asyncio.CancelledError:
            # Only close() cancels these tasks. Ending normally spares asyncio (3.11) from
            # logging the cancellation as an error of the connection callback.
            pass
        except Exception:
            logger.exception("emulator server: unexpected error on a connection")
        finally:
            self.connections.closed()
            if task is not None:
                self._tasks.discard(task)
            if self._closing:
                writer.transport.abort()
            elif not writer.is_closing():
                writer.close()

    async def _serve_connection(
        self, connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                received = await self._receive(connection, reader, writer)
            except h11.RemoteProtocolError as error:
                await self._refuse(connection, writer, error)
                return
            if received is None:
                return
            request, body = received
            plan = self._refusal(request) or self._plan(request, body)
            if request.method == b"HEAD":
                plan = ResponsePlan(status=plan.status, headers=plan.headers)
            if not await self._send(connection, writer, plan):
                return
            if connection.our_state is h11.MUST_CLOSE or connection.their_state is h11.MUST_CLOSE:
                return
            connection.start_next_cycle()

    async def _receive(
        self, connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[h11.Request, bytes] | None:
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                if connection.they_are_waiting_for_100_continue:
                    writer.write(connection.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
                connection.receive_data(await reader.read(_READ_BYTES))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                return request, bytes(body)
            else:
                return None

    async def _refuse(self, connection: h11.Connection, writer: asyncio.StreamWriter, error: Exception) -> None:
        if connection.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        # h11's message may quote the request's bytes (and so a key): log its type only.
        logger.debug("malformed request: %s", type(error).__name__)
        plan = json_plan(400, {"error": "malformed HTTP request"}, [("connection", "close")])
        with contextlib.suppress(h11.ProtocolError):
            await self._send(connection, writer, plan)

    def _refusal(self, request: h11.Request) -> ResponsePlan | None:
        """The 403 for a request whose Host this server does not answer (against DNS
        rebinding), or from a web page of a foreign origin; None for every other request."""
        host: str | None = None
        origin: str | None = None
        for name, value in request.headers:  # (h11 gives names in lower case; the first counts)
            if name == b"host" and host is None:
                host = value.decode("latin-1")
            elif name == b"origin" and origin is None:
                origin = value.decode("latin-1")
        if host is not None and not self.hosts.allows(host):
            shown = HostNames.host_of(host)[:100]
            message = (
                f"this emulator does not serve the host {shown!r}: start it with --allowed-host NAME"
                " (allowed_hosts=[...]) to serve it"
            )
            return json_plan(403, {"error": message})
        if origin is not None and not self._trusted_origin(origin, host):
            message = (
                f"requests from web pages of {origin[:100]!r} are not served: start the emulator with"
                " --allowed-host NAME (allowed_hosts=[...]) for a page served from NAME"
            )
            return json_plan(403, {"error": message})
        return None

    def _trusted_origin(self, origin: str, host: str | None) -> bool:
        # The service's own site is this server's too: clients written for the service
        # (gpt4free's provider, the service's own client) send its URL as their Origin.
        return origin.strip().rstrip("/").lower() == _SERVICE_ORIGIN or self.hosts.trusts_origin(origin, host)

    def _plan(self, request: h11.Request, body: bytes) -> ResponsePlan:
        target = urllib.parse.urlsplit(request.target.decode("latin-1"))
        path = urllib.parse.unquote(target.path)
        query = urllib.parse.parse_qsl(target.query, keep_blank_values=True)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers]
        try:
            return self.emulator.handle(request.method.decode("ascii"), path, query, headers, body)
        except Exception:
            logger.exception("emulator error answering %s %s", request.method.decode("ascii"), path)
            return json_plan(500, {"error": "emulator error"})

    async def _send(self, connection: h11.Connection, writer: asyncio.StreamWriter, plan: ResponsePlan) -> bool:
        """Carry out `plan`; whether the connection may serve another request."""
        if plan.first_byte_delay > 0:
            await asyncio.sleep(plan.first_byte_delay)
        if plan.reset_before_head:
            _reset(writer)
            return False
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in plan.headers]
        head = h11.Response(status_code=plan.status, headers=headers, reason=_reason(plan.status))
        writer.write(connection.send(head) or b"")
        await writer.drain()
        for step in plan.body:
            if isinstance(step, SendBytes):
                if step.data:
                    writer.write(connection.send(h11.Data(data=step.data)) or b"")
                    await writer.drain()
            elif isinstance(step, Delay):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Reset):
                _reset(writer)
                return False
            elif isinstance(step, Cut):
                writer.close()
                return False
        writer.write(connection.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        return True


class EmulatorServer:
    """An emulator served on a loopback socket from a daemon thread; see `serve()`.

    `url` is where it listens (e.g. ``"http://127.0.0.1:54321"``), `port` the bound port,
    `emulator` the `Emulator` answering. Usable as a context manager (`start`/`stop`).

    Safe on a network by default, as a server must be: it answers a request only when its
    `Host` is an IP address, `localhost`, `*.localhost`, `*.local`, `*.internal`, this
    machine's name or one of `allowed_hosts` (`"*"`: any), against DNS rebinding; and a web
    page's request (one with an `Origin`) only from its own origin, this machine or one of
    `allowed_hosts`. Others get a 403.
    """

    def __init__(
        self,
        emulator: Emulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.emulator = emulator if emulator is not None else Emulator()
        self.host = host
        self.port = port
        self._hosts = HostNames(allowed_hosts)  # (a bad name is an error here, not in the server's thread)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.connections = ConnectionCount()
        """Open, peak and accepted client connections (see `ConnectionCount`)."""

    @property
    def url(self) -> str:
        """The server's base URL, ``http://host:port``."""
        return _url(self.host, self.port)

    def __repr__(self) -> str:
        return f"EmulatorServer(url={self.url!r})"

    def start(self) -> None:
        """Start listening; returns once the port is bound (raises OSError if it cannot be)."""
        if self._thread is not None:
            raise RuntimeError("the server is already started")
        self._thread = threading.Thread(target=self._run, name="dynaspark-emulator", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error

    def stop(self) -> None:
        """Close every connection, stop the event loop and join the thread."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        thread.join()
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to start(), which re-raises it
            if not self._ready.is_set():
                self._startup_error = error
                self._ready.set()
            else:
                logger.exception("emulator server stopped on an error")

    async def _main(self) -> None:
        server = _Http11Server(self.emulator, self._hosts, self.connections)
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.port = await server.start(self.host, self.port)
        except BaseException:
            await server.close()
            raise
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.close()


@contextlib.contextmanager
def serve(
    emulator: Emulator | None = None, *, host: str = "127.0.0.1", port: int = 0, allowed_hosts: Iterable[str] = ()
) -> Iterator[EmulatorServer]:
    """Serve `emulator` (a fresh one when None) on a loopback port for the `with` block.

    Port 0 picks a free port. On exit every connection is closed and the thread joined::

        with serve() as server, httpx.Client(base_url=server.url) as http:
            http.get("/status").json()  # {'status': 'ok', 'emulator': True}
    """
    server = EmulatorServer(emulator, host=host, port=port, allowed_hosts=allowed_hosts)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_forever(
    host: str = "127.0.0.1",
    port: int = 8000,
    emulator: Emulator | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
    allowed_hosts: Iterable[str] = (),
) -> None:
    """Serve an emulator in the calling thread until interrupted (for ``dynaspark serve-fake``).

    `on_ready` receives the URL once the port is bound. Ctrl-C closes every connection, then
    raises KeyboardInterrupt to the caller. `allowed_hosts`: see `EmulatorServer`.
    """
    hosts = HostNames(allowed_hosts)  # (a bad name is an error before the port is bound)

    async def main() -> None:
        server = _Http11Server(emulator if emulator is not None else Emulator(), hosts)
        try:
            bound = await server.start(host, port)
            if on_ready is not None:
                on_ready(_url(host, bound))
            await asyncio.Event().wait()
        finally:
            await server.close()

    asyncio.run(main())
