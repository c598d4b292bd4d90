"""The client's address for throttling: the socket peer, unless that peer is a trusted proxy.

Behind trusted proxies (`settings.trusted_proxies`, addresses or networks) `X-Forwarded-For` is
read from the right: each proxy appends the address it received the request from, so the
right-most entry that is not itself a trusted proxy is the client, and anything to its left was
written by the client and proves nothing (MDN, "X-Forwarded-For: Selecting an IP address").
No other peer's header is read, loopback included: a client cannot choose its own address.

An IPv6 client counts as its /64 network, since one subscriber line is usually given a whole
/64 to take addresses from (RFC 6177) and could otherwise pick a fresh one for every guess.
Pure functions: no web framework here (the dependency is in `auth/dependencies.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Networks = tuple[IPv4Network | IPv6Network, ...]
UNKNOWN = "unknown"
_IPV6_SUBSCRIBER_PREFIX = 64


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> Networks:
    """The configured proxies as networks (a bare address is a one-address network)."""
    return tuple(ip_network(entry.strip(), strict=False) for entry in entries)


def client_address(peer: str | None, forwarded_for: Iterable[str], *, trusted: Networks) -> str:
    """The address to throttle by: the peer, or behind trusted proxies the forwarded client."""
    address = _parse(peer)
    if address is None:
        return UNKNOWN
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    while hops and _is_trusted(address, trusted):
        forwarded = _parse(hops.pop())
        if forwarded is None:
            # Not an address: a trusted proxy would not have written it, so the chain is
            # unreadable from here; the last proxy stands in for everyone behind it.
            break
        address = forwarded
    if isinstance(address, IPv6Address):
        return str(ip_network(f"{address}/{_IPV6_SUBSCRIBER_PREFIX}", strict=False))
    return str(address)


def _is_trusted(address: IPv4Address | IPv6Address, trusted: Networks) -> bool:
    return any(address in network for network in trusted)


def _parse(text: str | None) -> IPv4Address | IPv6Address | None:
    """An address as peers and proxies write it: bare, `a.b.c.d:port` or `[v6]:port`."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
