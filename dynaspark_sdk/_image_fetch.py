"""Fetching an image URL for someone else (`private_image_urls=False`), as a flow. No I/O.

The client fetches the URL only when its host is, or resolves only to, public addresses
(`_addresses`). It follows at most `MAX_REDIRECTS` redirects itself, checking every hop the
same way, and each request goes to the address that was checked (the URL's host becomes the
`Host` header and the TLS server name), so a name that resolves to something else between the
check and the connection cannot slip through. Refusals name the URL and the reason; a failed
fetch says only that no image came back: never a byte of what did, nor whether a port was
closed or open.

The flow yields `Resolve` (the shells answer with the addresses a name resolves to) and runs
each GET through `fetch`, the caller's flow for one plain request.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any, NamedTuple

import attrs
import httpx

from ._addresses import IPAddress, name_reason, non_public_reason, parse_ip
from ._errors import APIConnectionError, APIStatusError, MediaError, ResponseValidationError
from ._media import detect_image_type, redact_url
from ._plans import RequestPlan

__all__ = ["MAX_REDIRECTS", "Resolve", "fetch_public_image"]

#: Redirects followed for one image URL; each hop is checked like the URL itself.
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@attrs.frozen
class Resolve:
    """Resolve `host` (for a TCP connection to `port`): the shell answers with the addresses,
    as strings, in the resolver's order; an empty tuple when the name does not resolve; None
    when it did not within the client's connect timeout."""

    host: str
    port: int


class FetchedAnswer(NamedTuple):
    """What one GET of the flow gave (any status under 400)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


Fetch = Callable[[RequestPlan], Generator[Any, Any, FetchedAnswer]]


def _target(url: str, shown: str) -> httpx.URL:
    """`url` parsed, when it is an http(s) URL with a host; else a refusal."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise MediaError(f"cannot fetch the image at URL {shown}: it is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise MediaError(f"cannot fetch the image at URL {shown}: only http(s) URLs with a host are fetched")
    return parsed


def _refused(shown: str, host: str, reason: str) -> MediaError:
    return MediaError(
        f"the image URL {shown} is refused: its host {host!r} is {reason}; image URLs on loopback, private,"
        " link-local and other non-public addresses are not fetched"
    )


def _public_address(found: tuple[str, ...], shown: str, host: str) -> IPAddress:
    """The address to connect to among those `host` resolved to: every one must be public
    (a name with one private address among public ones is refused: a resolver may pick it)."""
    addresses = [address for address in map(parse_ip, found) if address is not None]
    if not addresses:
        raise MediaError(f"cannot fetch the image at URL {shown}: its host name does not resolve")
    for address in addresses:
        reason = non_public_reason(address)
        if reason is not None:
            raise _refused(shown, host, f"resolved to {reason} ({address})")
    return addresses[0]


def _pinned_plan(url: httpx.URL, address: IPAddress) -> RequestPlan:
    """A GET of `url` sent to `address`: the URL's host goes in the Host header and, for
    https, is the name the certificate must carry."""
    pinned = str(url.copy_with(host=str(address)))
    authority = url.netloc.decode("ascii").rpartition("@")[2]
    request = {"method": "GET", "url": pinned, "headers": {"host": authority}}
    if url.scheme == "https":
        request["extensions"] = {"sni_hostname": url.host}
    return RequestPlan(
        operation="fetch",
        expect="image",
        model=None,
        make=lambda _payload, _image: request,
        follow_redirects=False,
    )


def fetch_public_image(url: str, fetch: Fetch, *, max_bytes: int) -> Generator[Any, Any, bytes]:
    """The bytes of the image at `url`, fetched from public addresses only; MediaError when
    the URL (or a redirect) is refused or no image comes back."""
    shown = redact_url(url)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        target = _target(current, shown)
        host = target.host
        address = parse_ip(host)
        reason = name_reason(host) if address is None else non_public_reason(address)
        if reason is not None:
            raise _refused(shown if current == url else f"{shown} (redirected to {redact_url(current)})", host, reason)
        if address is None:
            found = yield Resolve(host, target.port or (443 if target.scheme == "https" else 80))
            if found is None:
                raise MediaError(f"cannot fetch the image at URL {shown}: its host name did not resolve in time")
            address = _public_address(found, shown, host)
        try:
            answer = yield from fetch(_pinned_plan(target, address))
        except (APIStatusError, APIConnectionError, ResponseValidationError):
            raise _no_image(shown) from None
        location = answer.headers.get("location")
        if answer.status not in _REDIRECTS or not location:
            return _checked_image(answer, shown, max_bytes)
        try:
            current = str(target.join(location))
        except (httpx.InvalidURL, ValueError, TypeError):
            raise _no_image(shown) from None
    raise MediaError(f"cannot fetch the image at URL {shown}: it redirected more than {MAX_REDIRECTS} times")


def _no_image(shown: str) -> MediaError:
    return MediaError(
        f"cannot fetch the image at URL {shown}: no image came back (the host did not answer, answered an error,"
        " or sent something that is not a JPEG, PNG, GIF or WebP image)"
    )


def _checked_image(answer: FetchedAnswer, shown: str, max_bytes: int) -> bytes:
    body = answer.body
    if len(body) > max_bytes:
        raise MediaError(f"the image at URL {shown} is over the {max_bytes:,}-byte limit")
    if answer.status != 200 or detect_image_type(body[:16]) is None:
        raise _no_image(shown)
    return body
