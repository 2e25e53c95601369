"""httpcore's network layer for the async httpx clients the SDK makes: on asyncio, its own
streams over anyio's sockets, cheaper per call than httpcore's, with the same errors.

- The socket is looked up once. Each time httpcore's pool hands out a connection (a request
  begins, an answer is closed), it asks every idle connection whether the server has closed it
  (`has_expired`: is its socket readable?). httpcore's anyio stream asks anyio for the raw
  socket, and anyio builds a dict of all the stream's attributes for that, calling
  `getpeername()` and running an import statement, every time: with tens of calls in flight,
  about a tenth of the CPU of a call through the gateway.
- Each read and write is timed by `asyncio.timeout` and its errors mapped by `except`
  clauses, where httpcore's stream enters an anyio cancel scope (`fail_after`) and a
  generator-based context manager: about 200 bytecodes less per read or write, six or more a
  call. The errors are httpcore's as its stream raises them: `ReadTimeout` and `WriteTimeout`
  at the deadline, `ReadError` and `WriteError` for a broken or closed stream, `b""` at its end.

`LeanBackend` connects as httpcore's automatic backend does (anyio on asyncio, trio on trio)
and makes asyncio's streams lean; TLS is started by httpcore's code, then made lean too.
`with_lean_streams` installs it on a client whose layout is httpcore's as known (httpx's
`AsyncHTTPTransport` over a plain `AsyncConnectionPool` with httpcore's automatic backend);
any other client, a proxy's included, is left as it is.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

import anyio
import anyio.abc
import httpcore
import httpx
from httpcore._backends.anyio import AnyIOStream
from httpcore._backends.auto import AutoBackend
from httpcore._backends.base import SOCKET_OPTION
from httpcore._utils import is_socket_readable

__all__ = ["LeanBackend", "with_lean_streams"]


class _LeanStream(AnyIOStream):
    """httpcore's anyio stream (asyncio only), its raw socket found once and its reads and
    writes timed by asyncio (see the module's docstring); the same errors as httpcore's."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        super().__init__(stream)
        self._socket: socket.socket | None = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 (httpcore's interface)
        try:
            async with asyncio.timeout(timeout):
                return await self._stream.receive(max_bytes)
        except anyio.EndOfStream:
            return b""
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(exc) from exc
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise httpcore.ReadError(exc) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109 (httpcore's interface)
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._stream.send(buffer)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(exc) from exc
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise httpcore.WriteError(exc) from exc

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return is_socket_readable(self._socket)
        if info == "socket":
            return self._socket
        return super().get_extra_info(info)

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        return _lean(await super().start_tls(ssl_context, server_hostname, timeout))


def _lean(stream: httpcore.AsyncNetworkStream) -> httpcore.AsyncNetworkStream:
    """`stream` as a `_LeanStream` when it is httpcore's anyio stream (asyncio); trio's stream
    reads its socket from an attribute already, and is kept."""
    if type(stream) is AnyIOStream:
        return _LeanStream(stream._stream)
    return stream


class LeanBackend(httpcore.AsyncNetworkBackend):
    """httpcore's automatic backend (anyio on asyncio, trio on trio), its streams lean."""

    def __init__(self) -> None:
        self._auto = AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._auto.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _lean(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _lean(await self._auto.connect_unix_socket(path, timeout=timeout, socket_options=socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._auto.sleep(seconds)


def with_lean_streams(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """An async httpx client the SDK made, its connections opened by `LeanBackend` if its
    transport is laid out as known; any other layout is left alone."""
    transport = getattr(http, "_transport", None)
    pool = getattr(transport, "_pool", None)
    if (
        type(transport) is httpx.AsyncHTTPTransport
        and type(pool) is httpcore.AsyncConnectionPool
        and type(getattr(pool, "_network_backend", None)) is AutoBackend
    ):
        pool._network_backend = LeanBackend()
    return http
