"""`AiohttpTransport`: an httpx transport that sends requests with aiohttp (asyncio only).

httpx's async client spends most of its per-request CPU time below the client, in httpcore's
connection pool and anyio streams. This transport keeps httpx's client (and therefore the
SDK's request building, retries and error mapping) and swaps that lower layer for an
`aiohttp.ClientSession`, whose connection handling is mostly C. Install the extra and pass it
in through your own httpx client. The SDK never closes a client you give it, so close the
httpx client yourself (its `aclose()` closes the transport's aiohttp session)::

    pip install "dynaspark-sdk[aiohttp]"

    import httpx
    from dynaspark_sdk import AsyncClient
    from dynaspark_sdk.aiohttp_transport import AiohttpTransport

    async with (
        httpx.AsyncClient(transport=AiohttpTransport()) as http,
        AsyncClient(http_client=http) as client,
    ):
        print((await client.chat("Hello!")).text)

It runs on asyncio only: aiohttp has no trio support, so a request made under trio raises
RuntimeError. aiohttp failures become the httpx exceptions httpx's own transport would raise
(`httpx.ConnectError`, `httpx.ReadTimeout`, `httpx.RemoteProtocolError`, ...), also in the
middle of a streamed body, so the SDK maps them to its own errors as usual. Response bodies
are streamed and left compressed for httpx to decode. aiohttp has no write timeout, so
`httpx.Timeout.write` is not applied; the connect and pool timeouts together bound the time
to get a connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
import yarl
from multidict import CIMultiDict

__all__ = ["AiohttpTransport"]

# httpx's client writes these itself; aiohttp must neither add its own nor a second copy.
_SKIP_AUTO_HEADERS = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})


# aiohttp raises this one instance whenever a body closed early is read again. Each raise sets
# its traceback and context: left so, it would keep the last failed call's frames (its
# stream, its answer) alive as long as the process.
_CONNECTION_CLOSED: object = getattr(getattr(aiohttp, "client_reqrep", None), "_CONNECTION_CLOSED_EXCEPTION", None)


@contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    """Re-raise aiohttp's exceptions as the httpx ones its own transport raises for the same failure."""
    try:
        try:
            yield
        except aiohttp.ClientConnectionError as exc:
            if exc is not _CONNECTION_CLOSED:
                raise
            exc.__traceback__ = exc.__context__ = exc.__cause__ = None
            raise httpx.TransportError(str(exc), request=request) from None
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "timed out while connecting", request=request) from exc
    except aiohttp.ServerTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out while reading", request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError("Server disconnected without a response.", request=request) from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.RemoteProtocolError(str(exc) or "incomplete response body", request=request) from exc
    except aiohttp.ClientResponseError as exc:
        # Raised while reading the status line and headers: the server spoke bad HTTP.
        raise httpx.RemoteProtocolError(exc.message or str(exc), request=request) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx.LocalProtocolError(f"invalid URL: {exc}", request=request) from exc
    except aiohttp.ClientOSError as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
    except aiohttp.ClientError as exc:
        raise httpx.TransportError(str(exc) or type(exc).__name__, request=request) from exc
    except TimeoutError as exc:
        # aiohttp's `connect` deadline (pool wait plus connecting) expiring outside a socket read.
        raise httpx.PoolTimeout("timed out waiting for a connection", request=request) from exc


class _AiohttpResponseStream(httpx.AsyncByteStream):
    """An aiohttp response body as httpx reads it: chunks as they arrive, errors as httpx's."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()
        else:
            # A body read only in part leaves the connection unusable for the next request.
            self._response.close()


async def _request_body(stream: httpx.AsyncByteStream) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk


def _request_headers(request: httpx.Request) -> CIMultiDict[str]:
    headers = CIMultiDict(request.headers.multi_items())
    # aiohttp frames a body of unknown length as chunked itself, and refuses the header.
    headers.popall("transfer-encoding", None)
    return headers


def _client_timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
    connect, pool = timeouts.get("connect"), timeouts.get("pool")
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=timeouts.get("read"),
    )


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` over one reused `aiohttp.ClientSession` (asyncio only).

    `verify`: True (the default CA bundle), False, or an `ssl.SSLContext`. `max_connections`
    caps the open connections (0 for no cap), `keepalive_expiry` is how long an idle one is
    kept. Or give your own `session` (then its settings apply and closing the transport
    leaves it open). The session is made on the first request, on that request's event loop,
    and is tied to that loop as every aiohttp session is: use one transport (and the httpx
    client around it) within one event loop. `aclose()` (done by `httpx.AsyncClient.aclose()`)
    closes it.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 100,
        keepalive_expiry: float = 5.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._verify = verify
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session = session
        self._owns_session = session is None

    def __repr__(self) -> str:
        return f"<AiohttpTransport max_connections={self._max_connections}>"

    def _session_for_request(self) -> aiohttp.ClientSession:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("AiohttpTransport runs on asyncio only (aiohttp has no trio)") from None
        session = self._session
        if session is None or (self._owns_session and session.closed):
            # aiohttp's True is its own default context, as httpx's verify=True is httpx's.
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry,
                ssl=self._verify,
            )
            # httpx keeps cookies and decodes Content-Encoding itself; aiohttp must do neither.
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=_SKIP_AUTO_HEADERS,
            )
            # aiohttp silently re-sends an idempotent request once when the connection drops
            # before the answer; the SDK's retry policy (max_retries, backoff) decides that,
            # so a hidden extra attempt would break its count. No public switch exists.
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            self._session = session
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` with aiohttp; the body of the answer is streamed."""
        session = self._session_for_request()
        assert isinstance(request.stream, httpx.AsyncByteStream)
        try:
            body: bytes | AsyncIterator[bytes] | None = request.content or None
        except httpx.RequestNotRead:
            # A streamed body (an uploaded file): sent as it is read, never held whole.
            body = _request_body(request.stream)
        # httpx's "sni_hostname": the name a certificate must carry when the URL holds an
        # address (a URL checked and pinned by `private_image_urls=False`).
        server_name = request.extensions.get("sni_hostname")
        named = {} if server_name is None else {"server_hostname": server_name}
        url = yarl.URL(str(request.url), encoded=True)
        if url.user is not None:
            # A base URL's user and password: httpx made them the Authorization header already,
            # and aiohttp refuses both (ValueError); httpx's transport sends the header alone too.
            url = url.with_user(None)
        with _httpx_errors(request):
            response = await session.request(
                request.method,
                url,
                headers=_request_headers(request),
                data=body,
                allow_redirects=False,
                timeout=_client_timeout(request),
                compress=None,
                **named,
            )
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_AiohttpResponseStream(response, request),
            extensions={
                "http_version": f"HTTP/{response.version.major}.{response.version.minor}".encode()
                if response.version is not None
                else b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        """Close the session this transport made (a session given to it stays open)."""
        session = self._session
        if session is not None and self._owns_session and not session.closed:
            self._session = None
            await session.close()
            # Lets the connector's transports finish closing before the loop may end.
            await asyncio.sleep(0)
