"""Which `Host` names a server of this package answers, and which page origins it trusts: the
checks against DNS rebinding (a public name made to resolve to this machine, so that a web page
can reach a server on it) shared by the gateway and the emulator's server. No I/O past the
machine's name, no framework.

A server answers `Host` values that are IP literals (a rebinding domain is a name), `localhost`,
`*.localhost`, `*.local`, `*.internal` (names nobody can register publicly), this machine's
name, and the names it is told to (`*`: any).
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from collections.abc import Iterable

__all__ = ["ANY", "HostNames", "check_host_name", "is_ip_literal"]

#: In a list of allowed names: let every value through (that check is off).
ANY = "*"
#: Names nobody can register publicly, so no rebinding domain ends in them (RFC 6761, 6762, ICANN).
_RESERVED_SUFFIXES = (".localhost", ".local", ".internal")
#: The loopback addresses a page of this machine may be served from (`localhost` is a name).
_LOOPBACK_LITERALS = frozenset({"127.0.0.1", "[::1]"})
#: Host and Origin values remembered with their verdict (clients send the same few again and again).
_CACHE_LIMIT = 256


def check_host_name(name: object) -> str:
    """One allowed host name, normalised (lower case, no trailing dot); ValueError if it is
    not a host name (`*` allows every host)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"an allowed host must be a non-empty host name, not {name!r}")
    cleaned = name.strip().lower().rstrip(".")
    if cleaned == ANY:
        return ANY
    if any(c in cleaned for c in "/@?# ") or (":" in cleaned and not is_ip_literal(cleaned)):
        raise ValueError(
            f"an allowed host is a host name without scheme or port, such as gateway.example.com, not {name!r}"
        )
    return cleaned


def is_ip_literal(name: str) -> bool:
    """An IPv4 address in dotted form, or an IPv6 one (bracketed or not)."""
    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") and name.endswith("]") else name)
    except ValueError:
        return False
    return True


def _host_of(value: str) -> str:
    """The host part of a Host header value (no port), lower case, without a trailing dot."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


class HostNames:
    """The `Host` names a server answers, computed once: IP literals, `localhost`,
    `*.localhost`, `*.local`, `*.internal`, this machine's name, and `allowed` (`*`: every one).
    A check against DNS rebinding (a public name made to resolve to this machine, so that a web
    page can reach a server on it). `hostname` stands in for the machine's name (tests)."""

    def __init__(self, allowed: Iterable[str] = (), *, hostname: str | None = None) -> None:
        names = {check_host_name(name) for name in allowed}
        self.any = ANY in names
        machine = (hostname if hostname is not None else socket.gethostname()).lower().rstrip(".")
        self._names = frozenset(names | {"localhost", machine, machine.partition(".")[0]} - {"", ANY})
        self._verdicts: dict[str, bool] = {}

    #: The host part of a Host header value (no port), lower case, without a trailing dot.
    host_of = staticmethod(_host_of)

    def allows(self, value: str) -> bool:
        """Whether a `Host` header value (with or without port) names this server."""
        known = self._verdicts.get(value)
        if known is not None:
            return known
        host = _host_of(value)
        allowed = self.any or host in self._names or host.endswith(_RESERVED_SUFFIXES) or is_ip_literal(host)
        if len(self._verdicts) < _CACHE_LIMIT:
            self._verdicts[value] = allowed
        return allowed

    def trusts_origin(self, origin: str, host: str | None) -> bool:
        """Whether a web page of `origin` (an Origin header value) may call this server, whose
        request named `host` (its Host header value): a page of the same origin (the SDK sends
        the service's own URL), of this machine (loopback, `localhost`, its name), or of an
        allowed name; never `null` or a scheme other than http and https."""
        if self.any:
            return True
        try:
            parts = urllib.parse.urlsplit(origin.strip())
        except ValueError:  # e.g. an unclosed [ of an IPv6 address
            return False
        # Browsers send no user info; the SDK's Origin is its base URL, which may carry some.
        page = parts.netloc.rpartition("@")[2].lower()
        if parts.scheme.lower() not in ("http", "https") or not page:
            return False
        if host is not None and page == host.strip().lower():
            return True
        name = _host_of(page)
        return name in self._names or name in _LOOPBACK_LITERALS
