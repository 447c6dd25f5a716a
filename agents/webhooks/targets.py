"""Which URLs and addresses a webhook may be sent to (SSRF protection).

A webhook URL is chosen by an agent's owner, but the request leaves from inside our network:
without these checks it could reach the cloud metadata service, the database or an admin page on
localhost. The host is resolved when the URL is saved and again at every delivery, and the
connection goes to the address that was checked (delivery.py), so a DNS answer that changes
between check and connect (DNS rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CLOUD_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
# NAT64's well-known prefix (RFC 6052) reaches the IPv4 address in its last 32 bits: judged as
# that address, like the IPv4-mapped form.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Other IPv6 forms carrying an IPv4 address in their last 32 bits: local-use NAT64 (RFC 8215)
# and the deprecated IPv4-compatible form. 6to4 and Teredo have accessors.
IPV4_IN_LAST_32_BITS = [ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("::/96")]


class TargetRefused(Exception):
    """The URL may not be used as a webhook target. The message is safe to show its owner."""


def allowed_networks() -> list[IPNetwork]:
    """WEBHOOK_ALLOWED_NETWORKS: networks let through although not public (a test receiver,
    an internal service the operator vouches for)."""
    return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.WEBHOOK_ALLOWED_NETWORKS]


def address_refusal(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why a webhook may not connect to this address, or None if it may."""
    allowed = list(allowed)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address_refusal(address.ipv4_mapped, allowed)  # what the socket reaches
        if address in NAT64:
            return address_refusal(_last_32_bits(address), allowed)
    if any(address in network for network in allowed if network.version == address.version):
        return None
    if refusal := _kind_refused(address):
        return refusal
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in _embedded_ipv4(address):
            if refusal := address_refusal(embedded, allowed):
                return f"{address} embeds {embedded}: {refusal}"
    return None


def _kind_refused(address: IPAddress) -> str | None:
    checks = [
        (address in CLOUD_METADATA, "a cloud metadata address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    ]
    return next((f"{address} is {why}" for refused, why in checks if refused), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = [address.sixtofour] if address.sixtofour else []
    if address.teredo:
        found.extend(address.teredo)  # (server, client)
    if any(address in prefix for prefix in IPV4_IN_LAST_32_BITS):
        found.append(_last_32_bits(address))
    return found


def _last_32_bits(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def url_check(url: str) -> str | None:
    """Why this URL may not be a webhook target (scheme, form), or None. No DNS lookup."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in {"http", "https"}:
        return "must start with https://"
    if parts.scheme == "http" and not settings.WEBHOOK_ALLOW_HTTP:
        return "must use https (plain http is switched off: WEBHOOK_ALLOW_HTTP)"
    if not parts.hostname:
        return "needs a host name"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password; authenticate with the signature"
    if port == 0:
        return "has an invalid port"
    return None


def resolve_checked(host: str, port: int) -> IPAddress:
    """The address to connect to for host: every address it resolves to must be allowed
    (a name that also resolves to a private address is refused whole), and the first is used."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"cannot resolve host {host!r}: {exc}") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefused(f"host {host!r} has no address")
    allowed = allowed_networks()
    for address in addresses:
        if refusal := address_refusal(address, allowed):
            raise TargetRefused(f"host {host!r} is refused: {refusal}")
    return addresses[0]


@dataclass(frozen=True)
class Target:
    """Where a webhook URL sends to: the checked address, and the name to present there."""

    scheme: str
    host: str  # ASCII (IDNA): for SNI, certificate checks and the Host header
    port: int
    host_header: str
    path: str  # path and query
    address: IPAddress


def target_resolve(url: str) -> Target:
    """Check the URL and resolve its host to an allowed address; raise TargetRefused if not."""
    if refusal := url_check(url):
        raise TargetRefused(f"the URL {refusal}")
    parts = urlsplit(url)
    try:
        host = (parts.hostname or "").encode("idna").decode()
    except UnicodeError as exc:
        raise TargetRefused(f"the host name is not valid: {exc}") from exc
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        host_header += f":{port}"
    return Target(parts.scheme, host, port, host_header, path, resolve_checked(host, port))
