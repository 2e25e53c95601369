"""Which addresses a URL given by someone else may make the SDK connect to. No I/O.

A gateway fetches the image URLs its callers send; left alone, a caller could make it read
the machine's own services, the local network or a cloud's metadata address. With
`private_image_urls=False` the client fetches an image URL only when its host is, and
resolves only to, public addresses: this module says what a host spells and whether an
address is public, in every spelling a resolver accepts (the shells resolve names).

    >>> parse_ip("0x7f.1"), parse_ip("2130706433"), parse_ip("[::ffff:7f00:1]")
    (IPv4Address('127.0.0.1'), IPv4Address('127.0.0.1'), IPv6Address('::ffff:7f00:1'))
    >>> non_public_reason(parse_ip("0177.0.0.1")), non_public_reason(parse_ip("169.254.169.254"))
    ('a loopback address', 'a link-local address')
    >>> non_public_reason(parse_ip("93.184.215.14")) is None
    True
"""

from __future__ import annotations

import ipaddress
from typing import Final

__all__ = ["IPAddress", "name_reason", "non_public_reason", "parse_ip"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

#: The special-purpose ranges (IANA's registries), each with what a refusal calls it.
_RANGES: Final[tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]] = (
    (_V4("0.0.0.0/8"), "an unspecified address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.0.0.0/24"), "a reserved address"),
    (_V4("192.0.2.0/24"), "a reserved (documentation) address"),
    (_V4("192.88.99.0/24"), "a reserved address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("198.18.0.0/15"), "a reserved (benchmarking) address"),
    (_V4("198.51.100.0/24"), "a reserved (documentation) address"),
    (_V4("203.0.113.0/24"), "a reserved (documentation) address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
    (_V6("::/128"), "an unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("100::/64"), "a reserved address"),
    (_V6("64:ff9b:1::/48"), "a reserved address"),
    (_V6("2001::/23"), "a reserved address"),
    (_V6("2001:db8::/32"), "a reserved (documentation) address"),
    (_V6("fc00::/7"), "a unique-local address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a private (site-local) address"),
    (_V6("ff00::/8"), "a multicast address"),
)
#: IPv6 ranges that carry an IPv4 address in their last 32 bits (NAT64, IPv4-compatible).
_EMBEDDING_V4: Final = (_V6("64:ff9b::/96"), _V6("::/96"))
#: Host names that always mean this machine (RFC 6761), refused without asking a resolver.
_LOOPBACK_NAMES: Final = ("localhost", ".localhost")


def _ipv4_part(text: str) -> int | None:
    """One part of an IPv4 address as inet_aton and browsers read it: 0x hex, 0 octal, decimal."""
    if text[:2].lower() == "0x":
        digits, base = text[2:], 16
        if not digits:
            return 0
    elif len(text) > 1 and text[0] == "0":
        digits, base = text[1:], 8
    else:
        digits, base = text, 10
    if not digits or not digits.isascii() or not digits.isalnum():
        return None
    try:
        return int(digits, base)
    except ValueError:
        return None


def _parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any of its spellings: 127.0.0.1, 127.1, 2130706433, 0x7f.1, 0177.0.0.1
    (with one trailing dot allowed, as in a fully qualified name)."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_part(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    *leading, last = [number for number in numbers if number is not None]
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def parse_ip(host: str) -> IPAddress | None:
    """The IP address a URL's host spells (brackets, a zone and odd IPv4 spellings allowed),
    or None for a name."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
    return _parse_ipv4(host)


def non_public_reason(address: IPAddress) -> str | None:
    """What a non-public address is ("a loopback address", "a private address", ...), or None
    for a public one. An IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4, the old
    IPv4-compatible form) is judged by that IPv4 address too."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and any(address in network for network in _EMBEDDING_V4) and int(address) > 1:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = non_public_reason(embedded)
            if reason is not None:
                return f"{reason} ({embedded} inside an IPv6 address)"
            if address.ipv4_mapped is not None:
                return None
    for network, reason in _RANGES:
        if address.version == network.version and address in network:
            return reason
    if not address.is_global:
        return "a reserved address"
    return None


def name_reason(host: str) -> str | None:
    """Why a host name is refused without resolving it (`localhost`, `*.localhost`), or None."""
    name = host.lower().rstrip(".")
    if name == _LOOPBACK_NAMES[0] or name.endswith(_LOOPBACK_NAMES[1]):
        return "a name of this machine"
    return None
