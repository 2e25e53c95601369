"""Who may talk to the gateway, checked in front of every endpoint: the `Host` check (against
DNS rebinding), the `Origin` check with its CORS answers (against web pages spending the
gateway's key), and JSON-only request bodies (against the requests a browser sends without
asking first). No I/O, no Starlette: `RequestGuard` is built once, by `create_app`, and each
request costs one pass over its headers and a few dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from starlette.types import Scope

from dynaspark_sdk.frontend import HostNames, check_host_name

__all__ = ["ANY", "HEADERS_SCOPE_KEY", "Admission", "RequestGuard", "check_cors_origin", "check_host_name"]

#: In `allowed_hosts` or `cors_origins`: let every value through (that check is off).
ANY = "*"

#: The hosts of the origins allowed without `--cors-origin`: pages served from this machine.
_LOOPBACK_ORIGIN_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
#: Methods whose request has a body, which must be JSON (browsers send text/plain, form and
#: multipart bodies cross-site without a preflight).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_ALLOW_METHODS = b"GET, POST, OPTIONS"
_ALWAYS_ALLOWED_HEADERS = "authorization, content-type"
#: What a page may read of an answer: OpenAI's SDKs read these for retries and rate limits.
_EXPOSE_HEADERS = (
    b"retry-after, x-should-retry, x-ratelimit-limit-requests, x-ratelimit-remaining-requests,"
    b" x-ratelimit-reset-requests"
)
_PREFLIGHT_MAX_AGE = b"600"
#: Where `RequestGuard.admit` leaves the request's headers by name (lower-case bytes; the
#: first of a repeated one), in the ASGI scope.
HEADERS_SCOPE_KEY = "dynaspark.headers"
#: Host and Origin values remembered with their verdict (clients send the same few again and again).
_CACHE_LIMIT = 256


class Admission(NamedTuple):
    """What the guard decided for one request.

    `status` 0: let it through, adding `headers` (CORS ones, for an allowed origin) to its
    answer. 204: a CORS preflight, answered here with `headers`. 403 or 415: refused, with
    `message` and `code` for the OpenAI-shaped error (and `headers` on it).
    """

    status: int
    headers: list[tuple[bytes, bytes]]
    message: str = ""
    code: str = ""


_PASS = Admission(0, [])


def check_cors_origin(origin: object) -> str:
    """One `cors_origins` entry as browsers write an origin (`scheme://host[:port]`, lower
    case, no default port, no path); ValueError if it is not one (`*` allows every origin)."""
    if not isinstance(origin, str) or not origin.strip():
        raise ValueError(f"a CORS origin must be a non-empty origin such as https://app.example.com, not {origin!r}")
    text = origin.strip()
    if text == ANY:
        return ANY
    scheme, separator, rest = text.partition("://")
    rest = rest.rstrip("/")
    scheme = scheme.lower()
    if not separator or scheme not in ("http", "https") or not rest or any(c in rest for c in "/?#@ "):
        raise ValueError(f"a CORS origin is scheme://host[:port] such as https://app.example.com, not {origin!r}")
    rest = rest.lower()
    default_port = ":80" if scheme == "http" else ":443"
    if rest.endswith(default_port):
        rest = rest.removesuffix(default_port)
    return f"{scheme}://{rest}"


def _is_loopback_origin(origin: str) -> bool:
    scheme, separator, rest = origin.partition("://")
    if not separator or scheme not in ("http", "https"):
        return False
    if rest.startswith("["):
        end = rest.find("]")
        host, after = rest[: end + 1], rest[end + 1 :]
        if end < 0 or (after and not after.startswith(":")):
            return False
        port = after[1:]
    else:
        host, _, port = rest.partition(":")
    return host in _LOOPBACK_ORIGIN_HOSTS and (not port or port.isdigit())


class RequestGuard:
    """The checks of `create_app(allowed_hosts=..., cors_origins=...)`, with the allowed sets
    computed once.

    `allowed_hosts`: host names accepted in `Host` besides IP literals, `localhost`,
    `*.localhost`, `*.local`, `*.internal` and this machine's name (`*`: every host).
    `cors_origins`: origins allowed besides the loopback ones (`*`: every origin).
    """

    def __init__(
        self, allowed_hosts: Iterable[str] = (), cors_origins: Iterable[str] = (), *, hostname: str | None = None
    ) -> None:
        self._hosts = HostNames(allowed_hosts, hostname=hostname)
        origins = {check_cors_origin(origin) for origin in cors_origins}
        self.any_host = self._hosts.any
        self.any_origin = ANY in origins
        self._origins = frozenset(origins - {ANY})
        self._origin_verdicts: dict[str, bool] = {}

    def host_allowed(self, value: str) -> bool:
        """Whether a `Host` header value (with or without port) names this gateway."""
        return self._hosts.allows(value)

    def origin_allowed(self, origin: str) -> bool:
        """Whether a page of `origin` may call the gateway."""
        known = self._origin_verdicts.get(origin)
        if known is not None:
            return known
        allowed = self.any_origin or origin in self._origins or _is_loopback_origin(origin)
        if len(self._origin_verdicts) < _CACHE_LIMIT:
            self._origin_verdicts[origin] = allowed
        return allowed

    def admit(self, scope: Scope) -> Admission:
        """The verdict for one HTTP request (see `Admission`). The request's headers by name
        are left in the scope for the endpoints (`HEADERS_SCOPE_KEY`)."""
        headers = scope["headers"]
        # Every header by name, the first of a repeated one winning (as a scan finds it): one
        # call in C, where a loop over an OpenAI client's dozen or so headers is not.
        wanted: dict[bytes, bytes] = dict(reversed(headers if isinstance(headers, list | tuple) else list(headers)))
        scope[HEADERS_SCOPE_KEY] = wanted
        host = wanted.get(b"host")
        origin = wanted.get(b"origin")
        content_type = wanted.get(b"content-type")
        requested_method = wanted.get(b"access-control-request-method")
        requested_headers = wanted.get(b"access-control-request-headers")
        if host is not None and not self.any_host:
            shown = host.decode("latin-1")
            if not self.host_allowed(shown):
                named = _quoted(HostNames.host_of(shown))
                return Admission(
                    403,
                    [],
                    f"this gateway does not serve the host {named}: start it with --allowed-host"
                    " NAME (create_app(allowed_hosts=[...])) to serve it",
                    "host_not_allowed",
                )
        cors: list[tuple[bytes, bytes]] = []
        if origin is not None:
            shown = origin.decode("latin-1")
            if not self.origin_allowed(shown):
                return Admission(
                    403,
                    [],
                    f"requests from web pages of {_quoted(shown)} are not allowed: start the gateway with"
                    " --cors-origin ORIGIN (create_app(cors_origins=[...])) to allow them",
                    "origin_not_allowed",
                )
            allow = [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
            if scope["method"] == "OPTIONS" and requested_method is not None:
                return Admission(204, [*allow, *_preflight_headers(requested_headers)])
            cors = [*allow, (b"access-control-expose-headers", _EXPOSE_HEADERS)]
        if scope["method"] in _BODY_METHODS:
            media_type = (content_type or b"").partition(b";")[0].strip().lower()
            if media_type != b"application/json":
                given = _quoted(content_type.decode("latin-1")) if content_type else "none"
                return Admission(
                    415,
                    cors,
                    f"the request body must be JSON sent with Content-Type: application/json (got {given})",
                    "unsupported_media_type",
                )
        return Admission(0, cors) if cors else _PASS


def _preflight_headers(requested: bytes | None) -> list[tuple[bytes, bytes]]:
    """A preflight's answer: the methods, and the headers asked for (the origin is allowed, so
    whatever a page's OpenAI SDK sends) plus Authorization and Content-Type."""
    allowed = _ALWAYS_ALLOWED_HEADERS
    if requested:
        asked = requested.decode("latin-1")
        if asked.isprintable():
            allowed = f"{allowed}, {asked}"
    return [
        (b"access-control-allow-methods", _ALLOW_METHODS),
        (b"access-control-allow-headers", allowed.encode("latin-1")),
        (b"access-control-max-age", _PREFLIGHT_MAX_AGE),
    ]


def _quoted(value: str, limit: int = 100) -> str:
    """A header value as an error message shows it: quoted, printable, short."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
