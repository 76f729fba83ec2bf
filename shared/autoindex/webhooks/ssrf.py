"""The SSRF guard: which webhook URLs are accepted, and which resolved addresses a delivery may connect to.

The URL is checked when an endpoint is saved; the address is checked again at every send, after
resolving the name, and the request then goes to that very address (no second lookup that a
rebinding DNS server could answer differently). Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

# Cloud metadata services answer on link-local and a few well-known addresses; they are refused in every stage.
METADATA = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fd00:ec2::/32"),
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba
)


class UnsafeUrl(ValueError):
    """A URL or address a delivery must not reach; the message is safe to show the endpoint's owner."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent


def parse(url: str, *, stage: str) -> Target:
    """Refuse what no delivery may use: non-http(s), http outside the local stage, credentials, no host."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl("The URL must use https.")
    if parts.scheme == "http" and stage not in {"local", "test"}:
        raise UnsafeUrl("The URL must use https.")
    if parts.username or parts.password:
        raise UnsafeUrl("The URL must not carry credentials.")
    if not parts.hostname:
        raise UnsafeUrl("The URL needs a host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("The URL's port is invalid.") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=parts.hostname.lower(), port=port, path=path)


def check_address(address: str, *, allow_private: bool) -> None:
    """Refuse metadata addresses always, and private, loopback, link-local or reserved ones unless allowed."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in METADATA):
        raise UnsafeUrl("The URL resolves to a link-local or cloud metadata address.")
    if allow_private:
        return
    if not ip.is_global or ip.is_multicast or ip.is_loopback or ip.is_private or ip.is_reserved:
        raise UnsafeUrl("The URL resolves to a private, loopback or reserved address.")


def _ipv4_part(text: str) -> int | None:
    """One dot-separated part as inet_aton reads it: ``0x`` hex, a leading ``0`` octal, else decimal."""
    if text[:2] in ("0x", "0X"):
        digits, base, allowed = text[2:], 16, "0123456789abcdefABCDEF"
    elif len(text) > 1 and text.startswith("0"):
        digits, base, allowed = text[1:], 8, "01234567"
    else:
        digits, base, allowed = text, 10, "0123456789"
    if not digits or any(char not in allowed for char in digits):
        return None
    return int(digits, base)


def _inet_aton(host: str) -> str | None:
    """The dotted address a resolver makes of a numeric host (``127.1``, ``0x7f000001``, ``2130706433``,
    ``0177.0.0.1``), as inet_aton does: 1-4 parts, the last filling the remaining bytes. None for a name."""
    parts = host.removesuffix(".").split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    values = [_ipv4_part(part) for part in parts]
    if any(value is None for value in values):
        return None
    *leading, last = [value for value in values if value is not None]
    if any(value > 0xFF for value in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    number = last
    for shift, value in enumerate(reversed(leading), start=4 - len(leading)):
        number |= value << (8 * shift)
    return str(ipaddress.IPv4Address(number))


def literal_address(host: str) -> str | None:
    """The address a host names without any lookup (an IPv6 literal or any numeric IPv4 form), else None.

    Why inet_aton's forms: getaddrinfo accepts them, so a check that only knew ``127.0.0.1`` would let
    ``127.1`` or ``0x7f000001`` reach loopback.
    """
    bare = host.strip("[]")
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        return _inet_aton(bare)


def check_literal(target: Target, *, allow_private: bool) -> None:
    """At save time: a literal address (or localhost) is checked now; a name is checked at every send."""
    if target.host in ("localhost", "localhost.localdomain") or target.host.endswith(".localhost"):
        check_address("127.0.0.1", allow_private=allow_private)
        return
    address = literal_address(target.host)
    if address is not None:
        check_address(address, allow_private=allow_private)


def resolve(host: str, port: int) -> list[str]:
    """Every address the name has (tests replace this; the guard needs no real DNS to be tested)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def safe_address(target: Target, *, allow_private: bool) -> str:
    """Resolve and check every address (one bad answer refuses the lot); the first is the one to connect to."""
    literal = literal_address(target.host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = resolve(target.host.strip("[]"), target.port)
        except OSError:
            raise UnsafeUrl("The URL's host does not resolve.") from None
    if not addresses:
        raise UnsafeUrl("The URL's host does not resolve.")
    for address in addresses:
        check_address(address, allow_private=allow_private)
    return addresses[0]
