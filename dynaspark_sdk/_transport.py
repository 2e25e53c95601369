"""How the shells use httpx: the arguments of the httpx clients the SDK makes (TLS, limits,
the redirect hook that keeps the user's headers home), the proxy check, and how an httpx
exception (or a wait for a request slot) becomes a `Failure` the flows understand. No I/O."""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import ssl
import sys
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx

from ._errors import InvalidRequestError
from ._flow import Failure
from ._secrets import redact

__all__ = [
    "USER_HEADERS_EXTENSION",
    "check_proxy",
    "classify_failure",
    "fast_thread_switching",
    "http_client_args",
    "import_anyio_backend",
    "import_request_builders",
    "origin_of",
    "shared_ssl_context",
    "slot_wait_failure",
    "warm_up",
    "warmed",
    "with_lean_cookies",
]


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One SSL context for every client the SDK builds: loading the CA bundle costs tens of
    milliseconds, and a context can safely serve many clients."""
    return httpx.create_ssl_context()


def import_request_builders() -> None:
    """Import httpcore (httpx imports it with its first client), the generated request
    builders and the models the calls plan with. The sync shell does this on its first call;
    the async shell up front, as it is imported, so that no call (not even a stream made
    without an await) imports anything on the event loop, and a worker thread's imports
    (which hold the GIL) cannot hold up the loop either. Also the thread pool that
    `asyncio.to_thread` loads on first use (the first call's warm-up goes through it)."""
    import concurrent.futures.thread  # noqa: F401

    import httpcore  # noqa: F401

    from ._generated.api.chat import chat  # noqa: F401
    from ._generated.api.public import generate_image, generate_text  # noqa: F401
    from ._generated.api.status import status  # noqa: F401

    # Whether aiohttp is installed (`use_aiohttp=True`): looked up once, now, not on a loop.
    from ._shells import aiohttp_installed

    aiohttp_installed()


_warm_lock = threading.Lock()
_warmed: set[str] = set()
_WARM_UP_SWITCH_INTERVAL = 0.0001
_switching_lock = threading.Lock()
_switching_users = 0
_switch_interval_before = 0.0


def import_anyio_backend(library: str) -> None:
    """Import anyio's backend for `library` ("asyncio" or "trio") and the parts of anyio that
    httpx's transport and the pools use on it. anyio 4.16 and later import these the first
    time they are used, on the event loop (35-60 ms); earlier versions at `import anyio`."""
    import anyio

    with contextlib.suppress(ImportError):  # another anyio layout: it loads what it needs as before
        importlib.import_module(f"anyio._backends._{library}")
    # Names httpcore's anyio backend and the pools look up (lazily loaded submodules).
    for name in ("CancelScope", "Lock", "Semaphore", "connect_tcp", "fail_after", "to_thread"):
        getattr(anyio, name, None)


@contextlib.contextmanager
def fast_thread_switching() -> Iterator[None]:
    """Lower the interpreter's switch interval to 0.1 ms while the block runs (in any thread;
    the blocks may overlap), and put it back after the last.

    Python code holds the GIL, and a thread waiting for it (the event loop's) only gets it
    after the switch interval (5 ms by default) unless the holder lets go sooner: while a worker
    thread starts and does the once-per-process warm-up, the loop would wait that long."""
    global _switching_users, _switch_interval_before
    with _switching_lock:
        if _switching_users == 0:
            _switch_interval_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_interval_before, _WARM_UP_SWITCH_INTERVAL))
        _switching_users += 1
    try:
        yield
    finally:
        with _switching_lock:
            _switching_users -= 1
            if _switching_users == 0:
                sys.setswitchinterval(_switch_interval_before)


def warmed(library: str = "") -> bool:
    """Whether `warm_up(library)` has been done in this process."""
    return "" in _warmed and library in _warmed


def warm_up(library: str = "") -> None:
    """Do, once per process, the slow work a first call would otherwise do on its way: build
    the shared SSL context (the CA bundle) and import what the calls need; and, once per
    event-loop library ("asyncio" or "trio"), import anyio's backend for it.

    `AsyncClient` runs this in a worker thread when it makes its first httpx client, so none
    of it blocks the event loop; `Client` simply pays it on its first call. For the few tens
    of milliseconds this takes, once per process, threads switch fast (`fast_thread_switching`),
    so that the loop's thread gets the GIL back within 0.1 ms.
    """
    if warmed(library):
        return
    with _warm_lock, fast_thread_switching():
        if "" not in _warmed:
            shared_ssl_context()
            import_request_builders()
            # The IDNA codec, which trio's getaddrinfo (and httpx, for a non-ASCII host) loads.
            "localhost".encode("idna")
            _warmed.add("")
        if library and library not in _warmed:
            import_anyio_backend(library)
            _warmed.add(library)


class _Cookies(httpx.Cookies):
    """httpx's cookie store, minus the work of extracting cookies from an answer that sets none.

    httpx wraps every answer and its request in urllib adapters for the cookie jar (about a
    tenth of a plain call's client CPU); the jar then finds no Set-Cookie header and does
    nothing. Answers that do set cookies are handled exactly as before.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


HttpClient = TypeVar("HttpClient", httpx.Client, httpx.AsyncClient)


def with_lean_cookies(http: HttpClient) -> HttpClient:
    """An httpx client the SDK made, given `_Cookies` (the same jar) if httpx still keeps its
    store where it did; any other layout is left alone."""
    cookies = getattr(http, "_cookies", None)
    if type(cookies) is httpx.Cookies:
        http._cookies = _Cookies(cookies.jar)
    return http


# A request extension: the service's origin and the names of the user's headers, which a
# redirect to another origin must not carry (httpx itself drops only Authorization).
USER_HEADERS_EXTENSION = "dynaspark_user_headers"


def origin_of(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port if url.port is not None else default_port


def keep_user_headers_home(request: httpx.Request) -> None:
    """Request hook: a redirect away from the service's origin drops the user's headers."""
    home = request.extensions.get(USER_HEADERS_EXTENSION)
    if home is None:
        return
    origin, names = home
    if origin_of(request.url) != origin:
        for name in names:
            request.headers.pop(name, None)


async def keep_user_headers_home_async(request: httpx.Request) -> None:
    """`keep_user_headers_home` for an httpx.AsyncClient."""
    keep_user_headers_home(request)


def classify_failure(exc: httpx.HTTPError, *, after_bytes: bool = False) -> Failure:
    """An httpx exception as a `Failure`, described without URL or key."""
    detail = redact(str(exc)) or type(exc).__name__
    message = f"{type(exc).__name__}: {detail}" if detail != type(exc).__name__ else detail
    if isinstance(exc, httpx.TimeoutException):
        return Failure("timeout", message, after_bytes)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return Failure("fatal", message, after_bytes)
    return Failure("connection", message, after_bytes)


def http_client_args(timeout: httpx.Timeout, proxy: str | None, *, asynchronous: bool = False) -> dict[str, Any]:
    """Arguments for the httpx client a Client builds for itself."""
    hook = keep_user_headers_home_async if asynchronous else keep_user_headers_home
    return {
        "event_hooks": {"request": [hook]},
        "timeout": timeout,
        "proxy": proxy,
        "verify": shared_ssl_context(),
        "limits": httpx.Limits(max_connections=100, max_keepalive_connections=20),
        "follow_redirects": True,
        "trust_env": True,
    }


def slot_wait_failure(waited: float | None, max_concurrency: int | None) -> Failure:
    """The failure of a request that found no free slot within `slot_timeout`."""
    return Failure(
        "timeout",
        f"waited {waited or 0:.0f} s (slot_timeout) for one of the {max_concurrency} request slots (max_concurrency)",
    )


def check_proxy(proxy: object) -> str | None:
    """`proxy` checked: None, or an http(s):// or socks5(h):// URL (socks needs httpx[socks])."""
    if proxy is None:
        return None
    if not isinstance(proxy, str):
        raise InvalidRequestError(f"proxy must be a URL string, not {type(proxy).__name__}")
    scheme = proxy.split("://", 1)[0].lower() if "://" in proxy else ""
    if scheme not in ("http", "https", "socks5", "socks5h"):
        raise InvalidRequestError("proxy must be an http://, https:// or socks5:// URL")
    if scheme.startswith("socks") and importlib.util.find_spec("socksio") is None:
        raise InvalidRequestError("a socks5 proxy needs httpx's socks support: pip install 'httpx[socks]'")
    try:
        httpx.URL(proxy)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise InvalidRequestError("proxy is not a valid URL") from None
    return proxy
