"""Which webhook URLs the service may call (docs/api.md "Webhooks").

In production a URL must be `https` and its host must resolve only to public addresses: never
loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast or
reserved ones, so a webhook cannot be aimed at the service's own network (SSRF, OWASP
Server-Side Request Forgery Prevention Cheat Sheet). The check runs when the endpoint is
registered and again before every delivery (an address may change). In development `http` and
loopback are accepted, so a receiver on the developer's machine works.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeTarget(ValueError):
    """The URL may not be called; the message says why, for a person."""


def check_form(url: str, *, production: bool) -> None:
    """The URL's shape: scheme, host, no credentials."""
    parts = urlsplit(url)
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        raise UnsafeTarget(f"must be {' or '.join(allowed)}")
    if not parts.hostname:
        raise UnsafeTarget("must name a host")
    if parts.username or parts.password:
        raise UnsafeTarget("must not carry a user name or password")


async def check_addresses(url: str, *, production: bool) -> None:
    """In production, every address the host resolves to must be public."""
    if not production:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or 443, type=socket.SOCK_STREAM
        )
    except OSError:
        raise UnsafeTarget(f"host {host!r} does not resolve") from None
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not ip.is_global:
            raise UnsafeTarget(f"host {host!r} resolves to a non-public address")
