"""Which media URLs may be handed to a fetcher: http(s) to public hosts, or hosts an operator allowed.

A media URL in a manifest is fetched by whoever processes it (Symbl, or the sandbox standing in for it). A URL
naming a loopback, private, link-local or cloud-metadata address asks that fetcher to reach inside its own
network (SSRF), so such URLs are refused unless the host is explicitly allowed (the demo allows the sandbox's
own loopback address).

The decision is made before any connection: the host is checked as written (IP literals, names that are
internal by definition) and, when a resolver is given, every address it resolves to is checked too (one bad
address is enough to refuse: a fetcher may pick any of them). The resolver is injectable, so tests decide
without sending a packet.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (as strings); raises OSError when it does not resolve.
Resolver = Callable[[str, int], list[str]]

# Names that mean "this machine" or "the cloud's metadata service" whatever DNS says.
_INTERNAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "metadata", "metadata.google.internal", "instance-data"}
)
_INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")
# Cloud metadata endpoints (AWS/GCP/Azure/OpenStack 169.254.169.254, AWS IPv6, Alibaba 100.100.100.200).
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# Shared address space (carrier-grade NAT) is not "private" to ipaddress but is not public either.
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class UrlRejected(ValueError):
    """The URL may not be fetched; the message says why (names the host and the kind of address)."""


def address_problem(address: Address) -> str | None:
    """Why ``address`` is not a public unicast address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 reaches 10.0.0.1
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


def _looks_numeric(host: str) -> bool:
    labels = host.split(".")
    return all(re.fullmatch(r"[0-9]+|0x[0-9a-f]*", label) for label in labels)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (what a fetcher on this machine would use)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _normalise_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _allowed_key(entry: str) -> str:
    """An allowlist entry: ``host`` (any port) or ``host:port``; IPv6 as ``[::1]`` or ``[::1]:8765``."""
    entry = _normalise_host(entry)
    if "://" in entry:  # a whole URL pasted in: keep its host[:port]
        entry = urlsplit(entry).netloc.rsplit("@", 1)[-1]
    return entry


@dataclass(frozen=True)
class UrlPolicy:
    """http(s) URLs to public hosts, plus ``allowed_hosts`` (``host`` or ``host:port``) whatever they are."""

    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def allowing(cls, hosts: Iterable[str]) -> UrlPolicy:
        return cls(frozenset(_allowed_key(h) for h in hosts if h and h.strip()))

    def is_allowed_host(self, host: str, port: int) -> bool:
        host = _normalise_host(host)
        shown = f"[{host}]" if ":" in host else host
        return shown in self.allowed_hosts or f"{shown}:{port}" in self.allowed_hosts

    def check(self, url: str, resolver: Resolver | None = None) -> None:
        """Raise ``UrlRejected`` unless ``url`` may be fetched. With ``resolver``, every resolved address counts.

        Without a resolver only what the URL itself says is checked (scheme, IP literals, internal names): the
        cheap, offline half, used while validating manifests.
        """
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError as exc:
            raise UrlRejected(f"is not a valid URL: {exc}") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise UrlRejected("must be an http(s) URL with a host")
        if parts.username is not None or parts.password is not None:
            # Credentials in a URL end up in logs and in the fetcher's requests; a recording platform's
            # directly reachable URL never needs them.
            raise UrlRejected("must not carry a user name or password")
        host = _normalise_host(parts.hostname)
        if self.is_allowed_host(host, port):
            return
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            problem = address_problem(literal)
            if problem is not None:
                raise UrlRejected(f"host {host} is {problem}; allow it explicitly to use it")
            return
        if _looks_numeric(host):
            # 127.1, 0x7f.0.0.1, 2130706433: resolvers read these as IP addresses (inet_aton forms).
            raise UrlRejected(f"host {host!r} is a numeric address in a non-canonical form")
        if host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES) or "." not in host:
            raise UrlRejected(f"host {host!r} is an internal name; allow it explicitly to use it")
        if resolver is None:
            return
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise UrlRejected(f"host {host!r} does not resolve ({type(exc).__name__})") from None
        if not addresses:
            raise UrlRejected(f"host {host!r} does not resolve")
        for text in addresses:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
            except ValueError:
                raise UrlRejected(f"host {host!r} resolves to an unreadable address") from None
            problem = address_problem(address)
            if problem is not None:
                raise UrlRejected(f"host {host!r} resolves to {address}, {problem}; allow it explicitly")
