"""A client's settings: checked constructor arguments, `with_options()` overrides, and how a
plan becomes the arguments of an httpx request. (How httpx is set up and how its failures
are told apart is in `_transport.py`.)"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, Literal

import attrs
import httpx

from . import __version__
from ._defaults import DEFAULT_BASE_URL, DEFAULT_TIMEOUT
from ._errors import InvalidRequestError
from ._flow import FlowConfig
from ._generated import spec_values
from ._media import DEFAULT_MAX_BYTES
from ._plans import ACCEPT_HEADERS, RequestPlan, _repr, check_utf8
from ._retry import RetryPolicy
from ._secrets import ApiKey, remember_url_password, scrub_url
from ._transport import USER_HEADERS_EXTENSION, origin_of

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "Settings",
    "make_settings",
    "override_settings",
]


USER_AGENT = f"dynaspark-sdk/{__version__} (python; httpx/{httpx.__version__})"

TimeoutArg = float | httpx.Timeout | None


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
    private_image_urls: bool = True

    # Derived once (the settings never change): what every call would otherwise rebuild.
    _flow: FlowConfig = attrs.field(init=False, repr=False, eq=False)
    _service_home: tuple[str, tuple[str, ...]] | None = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        flow = FlowConfig(
            retry=self.retry,
            on_rate_limit=self.on_rate_limit,
            max_media_bytes=self.max_media_bytes,
            clock=self.clock,
            base_url=self.base_url,
            private_image_urls=self.private_image_urls,
        )
        object.__setattr__(self, "_flow", flow)
        # The user's own headers (an Authorization, an org id) and where they may go.
        user_headers = tuple(name for name in self.default_headers if name not in ("user-agent", "accept"))
        home = (origin_of(httpx.URL(self.base_url)), user_headers) if user_headers else None
        object.__setattr__(self, "_service_home", home)

    @property
    def flow(self) -> FlowConfig:
        """The part the flows need."""
        return self._flow

    @property
    def base_url_bytes(self) -> int:
        """Length of the base URL, for the URL-length check of GET requests."""
        return len(self.base_url.encode())

    def request_args(self, plan: RequestPlan, payload: BinaryIO | None) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.build_request` for one attempt of `plan`."""
        kwargs = dict(plan.kwargs(payload))  # plans hand out the same dict on every attempt
        url: str = kwargs.pop("url")
        home = None
        if url.startswith(("http://", "https://")):
            # An absolute URL is not the service (an image to download or to send): the user's
            # headers (an Authorization, an org id) stay with the service.
            base_headers: Mapping[str, str] = {"user-agent": USER_AGENT}
        else:
            url = self.base_url + url
            base_headers = self.default_headers
            home = self._service_home
        headers = {**base_headers, **ACCEPT_HEADERS.get(plan.expect, {}), **kwargs.pop("headers", {})}
        args = {**kwargs, "url": url, "headers": headers, "timeout": self.timeout}
        if home is not None:
            args["extensions"] = {**args.get("extensions", {}), USER_HEADERS_EXTENSION: home}
        return args


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


def _base_url(value: str | None, environ: Mapping[str, str]) -> str:
    url = value or environ.get("DYNASPARK_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        shown = scrub_url(url) if isinstance(url, str) else url
        raise InvalidRequestError(f"base_url must be an http(s) URL, not {shown!r}")
    if "?" in url or "#" in url:
        raise InvalidRequestError("base_url must not carry a query string or fragment")
    remember_url_password(url)
    return url.rstrip("/")


def check_chat_path(value: object) -> str | None:
    """A `chat_path` client option checked: None (follow the service), or a path such as
    "/generate_response" to pin the chat endpoint to."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"chat_path must be a path string or None, not {type(value).__name__}")
    if not value.startswith("/") or value.startswith("//") or any(c in value for c in "?#\\ \t\r\n"):
        raise InvalidRequestError(
            f"chat_path must be a path on the service such as {spec_values.CHAT_PATHS[-1]!r}, not {_repr(value)}"
        )
    check_utf8("chat_path", value)
    return value


def make_settings(
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: TimeoutArg,
    max_retries: int | None,
    default_headers: Mapping[str, str] | None,
    max_media_bytes: int | None,
    on_rate_limit: str,
    environ: Mapping[str, str],
    retry_policy: RetryPolicy | None = None,
    clock: Callable[[], float] | None = None,
    chat_path: str | None = None,
    private_image_urls: bool = True,
) -> Settings:
    """Resolve constructor arguments into Settings; bad values raise. `environ` (the shells
    give `os.environ`) supplies DYNASPARK_API_KEY, DYNASPARK_BASE_URL and DYNASPARK_CHAT_PATH
    for the arguments left out."""
    key = api_key if api_key is not None else environ.get("DYNASPARK_API_KEY")
    if key is not None and not isinstance(key, str):
        raise InvalidRequestError(f"api_key must be a string, not {type(key).__name__}")
    if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
        raise InvalidRequestError(f"retry_policy must be a RetryPolicy, not {type(retry_policy).__name__}")
    policy = retry_policy or RetryPolicy()
    # An explicit max_retries= wins over the policy's; without one, the policy's stands.
    retries = policy.max_retries if max_retries is None else max_retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidRequestError(f"max_retries must be a whole number >= 0, not {retries!r}")
    if not isinstance(private_image_urls, bool):
        raise InvalidRequestError(f"private_image_urls must be True or False, not {private_image_urls!r}")
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
        base_url=_base_url(base_url, environ),
        timeout=_timeout(timeout),
        retry=policy,
        default_headers=headers,
        max_media_bytes=media_cap,
        on_rate_limit=on_rate_limit,  # type: ignore[arg-type]
        clock=clock or time.time,
        chat_path=check_chat_path(chat_path if chat_path is not None else environ.get("DYNASPARK_CHAT_PATH") or None),
        private_image_urls=private_image_urls,
    )


def override_settings(settings: Settings, overrides: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """Settings with some constructor arguments changed (for `with_options()`)."""
    allowed = {
        "api_key", "base_url", "timeout", "max_retries", "default_headers", "max_media_bytes", "on_rate_limit",
        "retry_policy", "chat_path", "private_image_urls",
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
        "private_image_urls": settings.private_image_urls,
    }
    current.update(overrides)
    if "retry_policy" in overrides and "max_retries" not in overrides:
        current["max_retries"] = None  # the new policy's own max_retries, not the old one's
    if current["api_key"] is None and "api_key" in overrides:
        current["api_key"] = ""  # an explicit None removes the key, not falls back to the environment
    return make_settings(**current, environ=environ, clock=settings.clock)
