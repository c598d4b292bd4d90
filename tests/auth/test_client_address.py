"""The client address throttling counts by: the peer, or behind trusted proxies the right-most
X-Forwarded-For entry that is not a trusted proxy (what a client writes itself is ignored)."""

from __future__ import annotations

import pytest

from app.auth.client_address import UNKNOWN, Networks, client_address, trusted_networks

PROXIES = trusted_networks(("10.0.0.0/8", "192.0.2.1", "2001:db8:ffff::/48"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        # No trusted proxy: the peer, whatever the header says.
        ("203.0.113.5", ["198.51.100.1"], (), "203.0.113.5"),
        ("127.0.0.1", ["198.51.100.1"], (), "127.0.0.1"),
        # The peer is not one of the proxies: its header proves nothing.
        ("203.0.113.5", ["198.51.100.1"], PROXIES, "203.0.113.5"),
        # Behind one proxy: the entry it appended.
        ("10.1.2.3", ["198.51.100.1"], PROXIES, "198.51.100.1"),
        # The client's own entries are left of the proxy's and are ignored.
        ("10.1.2.3", ["6.6.6.6, 7.7.7.7, 198.51.100.1"], PROXIES, "198.51.100.1"),
        # Two proxies, the header split over two lines.
        ("10.1.2.3", ["6.6.6.6, 198.51.100.1", "192.0.2.1"], PROXIES, "198.51.100.1"),
        # A client that claims to be a trusted proxy is still the client (right-most first).
        ("10.1.2.3", ["10.9.9.9, 198.51.100.1"], PROXIES, "198.51.100.1"),
        # Only proxies: the farthest one.
        ("10.1.2.3", ["10.4.4.4"], PROXIES, "10.4.4.4"),
        # A trusted peer without the header is the client itself.
        ("10.1.2.3", [], PROXIES, "10.1.2.3"),
        # An entry that is no address: the last proxy stands in.
        ("10.1.2.3", ["198.51.100.1, unknown"], PROXIES, "10.1.2.3"),
        # Ports and brackets as proxies write them; IPv4-mapped IPv6 is IPv4.
        ("10.1.2.3", ["198.51.100.1:4711"], PROXIES, "198.51.100.1"),
        ("10.1.2.3", ["[2001:db8:1:2::7]:443"], PROXIES, "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.5", [], (), "203.0.113.5"),
        # An IPv6 client is its /64.
        ("2001:db8:1:2:aaaa::1", [], (), "2001:db8:1:2::/64"),
        ("2001:db8:ffff::1", ["2001:db8:1:2:bbbb::9"], PROXIES, "2001:db8:1:2::/64"),
        # No peer at all (some test transports, Unix sockets).
        (None, ["198.51.100.1"], PROXIES, UNKNOWN),
    ],
)
def test_client_address(
    peer: str | None, forwarded: list[str], trusted: Networks, client: str
) -> None:
    assert client_address(peer, forwarded, trusted=trusted) == client
