"""What `Client` and `AsyncClient` share that does no I/O: their settings, how a plan
becomes httpx arguments, and how an httpx exception becomes a `Failure`."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, Literal, TypeVar

import attrs
import httpx

from . import __version__
from ._defaults import DEFAULT_BASE_URL, DEFAULT_TIMEOUT
from ._errors import InvalidRequestError
from ._flow import Failure, FlowConfig
from ._media import DEFAULT_MAX_BYTES
from ._plans import RequestPlan, check_chat_path
from ._retry import RetryPolicy
from ._secrets import ApiKey, install_log_redaction, redact

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "Settings",
    "check_proxy",
    "classify_failure",
    "import_request_builders",
    "make_settings",
    "override_settings",
    "shared_ssl_context",
    "slot_wait_failure",
    "warm_up",
    "with_lean_cookies",
]


USER_AGENT = f"dynaspark-sdk/{__version__} (python; httpx/{httpx.__version__})"

TimeoutArg = float | httpx.Timeout | None

# The text endpoint answers JSON, an event stream or MP3 depending on its parameters; say
# which one is expected, for servers (and Prism) that choose by Accept.
_ACCEPT: dict[str, dict[str, str]] = {
    "text": {"accept": "text/event-stream, text/plain;q=0.9, application/json;q=0.8"},
    "audio": {"accept": "audio/mpeg"},
    "json": {"accept": "application/json"},
    "image": {"accept": "image/*"},
}


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One SSL context for every client the SDK builds: loading the CA bundle costs tens of
    milliseconds, and a context can safely serve many clients."""
    return httpx.create_ssl_context()


_warm_lock = threading.Lock()
_warmed = threading.Event()
_WARM_UP_SWITCH_INTERVAL = 0.0001


def import_request_builders() -> None:
    """Import httpcore (httpx imports it with its first client), the generated request
    builders and the models the calls plan with. The sync shell does this on its first call;
    the async shell up front, as it is imported, so that no call (not even a stream made
    without an await) imports anything on the event loop, and a worker thread's imports
    (which hold the GIL) cannot hold up the loop either."""
    import httpcore  # noqa: F401

    from ._generated.api.chat import chat  # noqa: F401
    from ._generated.api.public import generate_image, generate_text  # noqa: F401
    from ._generated.api.status import status  # noqa: F401


def warm_up() -> None:
    """Do, once per process, the slow work a first call would otherwise do on its way: build
    the shared SSL context (the CA bundle), import httpcore (httpx imports it with the first
    client) and the generated request builders and models the calls plan with.

    `AsyncClient` runs this in a worker thread when it makes its first httpx client, so none
    of it blocks the event loop; `Client` simply pays it on its first call. Imports run Python code that
    holds the GIL, and a thread waiting for the GIL (the event loop's) only gets it after the
    interpreter's switch interval (5 ms by default): so for the few tens of milliseconds this
    takes, once per process, the interval is lowered to 0.5 ms, and put back after.
    """
    if _warmed.is_set():
        return
    with _warm_lock:
        if _warmed.is_set():
            return
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, _WARM_UP_SWITCH_INTERVAL))
        try:
            shared_ssl_context()
            import_request_builders()
        finally:
            sys.setswitchinterval(interval)
        _warmed.set()


@attrs.frozen
class Settings:
    """A client's settings, resolved (environment read, values checked)."""

    api_key: ApiKey | None = attrs.field(repr=False)
    base_url: str
    timeout: httpx.Timeout
    retry: RetryPolicy
    default_headers: Mapping[str, str] = attrs.field(repr=False)
    max_media_bytes: int
    on_rate_limit: Literal["wait", "raise"]
    clock: Callable[[], float] = attrs.field(default=time.time, repr=False)
    chat_path: str | None = None

    @property
    def flow(self) -> FlowConfig:
        """The part the flows need."""
        return FlowConfig(
            retry=self.retry,
            on_rate_limit=self.on_rate_limit,
            max_media_bytes=self.max_media_bytes,
            clock=self.clock,
            base_url=self.base_url,
        )

    @property
    def base_url_bytes(self) -> int:
        """Length of the base URL, for the URL-length check of GET requests."""
        return len(self.base_url.encode())

    def request_args(self, plan: RequestPlan, payload: BinaryIO | None) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.build_request` for one attempt of `plan`."""
        kwargs = dict(plan.kwargs(payload))  # plans hand out the same dict on every attempt
        url: str = kwargs.pop("url")
        if url.startswith(("http://", "https://")):
            # An absolute URL is not the service (an image to download or to send): the user's
            # headers (an Authorization, an org id) stay with the service.
            base_headers: Mapping[str, str] = {"user-agent": USER_AGENT}
        else:
            url = self.base_url + url
            base_headers = self.default_headers
        headers = {**base_headers, **_ACCEPT.get(plan.expect, {}), **kwargs.pop("headers", {})}
        args = {**kwargs, "url": url, "headers": headers, "timeout": self.timeout}
        user_headers = tuple(name for name in base_headers if name not in ("user-agent", "accept"))
        if user_headers:
            args["extensions"] = {_STAY_HOME: (_origin(httpx.URL(self.base_url)), user_headers)}
        return args


# A request extension: the service's origin and the names of the user's headers, which a
# redirect to another origin must not carry (httpx itself drops only Authorization).
_STAY_HOME = "dynaspark_user_headers"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port if url.port is not None else default_port


def keep_user_headers_home(request: httpx.Request) -> None:
    """Request hook: a redirect away from the service's origin drops the user's headers."""
    home = request.extensions.get(_STAY_HOME)
    if home is None:
        return
    origin, names = home
    if _origin(request.url) != origin:
        for name in names:
            request.headers.pop(name, None)


async def keep_user_headers_home_async(request: httpx.Request) -> None:
    """`keep_user_headers_home` for an httpx.AsyncClient."""
    keep_user_headers_home(request)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")


def _check_header(name: str, value: str) -> None:
    """A header HTTP/1.1 can carry: a token for a name, printable ASCII (and tabs) for a value.

    httpx would otherwise fail at send time, with a UnicodeEncodeError or h11's
    LocalProtocolError; a CR or LF could also smuggle a header of its own.
    """
    if not _TOKEN.fullmatch(name):
        raise InvalidRequestError(f"default_headers: {name!r} is not a valid header name")
    if not _FIELD_VALUE.fullmatch(value):
        bad = next(char for char in value if not _FIELD_VALUE.fullmatch(char))
        what = "a line break" if bad in "\r\n" else f"U+{ord(bad):04X}"
        # The value itself is not shown: it may well be a token.
        raise InvalidRequestError(
            f"default_headers: the value of {name!r} holds {what}; header values must be printable ASCII"
        )


def _timeout(value: TimeoutArg) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        return httpx.Timeout(None)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidRequestError(f"timeout must be a positive number of seconds or httpx.Timeout, not {value!r}")
    return httpx.Timeout(float(value))


def _base_url(value: str | None) -> str:
    url = value or os.environ.get("DYNASPARK_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise InvalidRequestError(f"base_url must be an http(s) URL, not {url!r}")
    if "?" in url or "#" in url:
        raise InvalidRequestError("base_url must not carry a query string or fragment")
    return url.rstrip("/")


def _env_chat_path() -> str | None:
    return os.environ.get("DYNASPARK_CHAT_PATH") or None


def make_settings(
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: TimeoutArg,
    max_retries: int | None,
    default_headers: Mapping[str, str] | None,
    max_media_bytes: int | None,
    on_rate_limit: str,
    retry_policy: RetryPolicy | None = None,
    clock: Callable[[], float] | None = None,
    chat_path: str | None = None,
) -> Settings:
    """Resolve constructor arguments (and the environment) into Settings; bad values raise."""
    install_log_redaction()
    key = api_key if api_key is not None else os.environ.get("DYNASPARK_API_KEY")
    if key is not None and not isinstance(key, str):
        raise InvalidRequestError(f"api_key must be a string, not {type(key).__name__}")
    if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
        raise InvalidRequestError(f"retry_policy must be a RetryPolicy, not {type(retry_policy).__name__}")
    policy = retry_policy or RetryPolicy()
    # An explicit max_retries= wins over the policy's; without one, the policy's stands.
    retries = policy.max_retries if max_retries is None else max_retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidRequestError(f"max_retries must be a whole number >= 0, not {retries!r}")
    if on_rate_limit not in ("wait", "raise"):
        raise InvalidRequestError(f"on_rate_limit must be 'wait' or 'raise', not {on_rate_limit!r}")
    media_cap = DEFAULT_MAX_BYTES if max_media_bytes is None else max_media_bytes
    if isinstance(media_cap, bool) or not isinstance(media_cap, int) or media_cap <= 0:
        raise InvalidRequestError(f"max_media_bytes must be a positive whole number, not {media_cap!r}")
    headers = {"user-agent": USER_AGENT, "accept": "*/*"}
    for name, value in (default_headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidRequestError("default_headers must map strings to strings")
        _check_header(name, value)
        headers[name.lower()] = value
    policy = attrs.evolve(policy, max_retries=retries)
    return Settings(
        api_key=ApiKey(key) if key else None,
        base_url=_base_url(base_url),
        timeout=_timeout(timeout),
        retry=policy,
        default_headers=headers,
        max_media_bytes=media_cap,
        on_rate_limit=on_rate_limit,  # type: ignore[arg-type]
        clock=clock or time.time,
        chat_path=check_chat_path(chat_path if chat_path is not None else _env_chat_path()),
    )


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


def override_settings(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """Settings with some constructor arguments changed (for `with_options()`)."""
    allowed = {
        "api_key", "base_url", "timeout", "max_retries", "default_headers", "max_media_bytes", "on_rate_limit",
        "retry_policy", "chat_path",
    }  # fmt: skip
    unknown = set(overrides) - allowed
    if unknown:
        raise TypeError(f"with_options() cannot change {', '.join(sorted(unknown))}")
    current: dict[str, Any] = {
        "api_key": settings.api_key.reveal() if settings.api_key is not None else None,
        "base_url": settings.base_url,
        "timeout": settings.timeout,
        "max_retries": settings.retry.max_retries,
        "default_headers": {k: v for k, v in settings.default_headers.items() if k not in ("user-agent", "accept")},
        "max_media_bytes": settings.max_media_bytes,
        "on_rate_limit": settings.on_rate_limit,
        "retry_policy": settings.retry,
        "chat_path": settings.chat_path,
    }
    current.update(overrides)
    if "retry_policy" in overrides and "max_retries" not in overrides:
        current["max_retries"] = None  # the new policy's own max_retries, not the old one's
    if current["api_key"] is None and "api_key" in overrides:
        current["api_key"] = ""  # an explicit None removes the key, not falls back to the environment
    return make_settings(**current, clock=settings.clock)


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
