"""Which addresses a source may reach: public ones, unless it allows private hosts.

A feed, a redirect or a `<meta http-equiv=refresh>` can point anywhere, including the cloud
metadata service (169.254.169.254) or a host on the private network Horizon runs in. Pure: this
module classifies URLs and resolved addresses; the crawler asks it before every request (after
DNS resolution) and about the address each response came from. See docs/network-safety.md.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_RANGE_CHECKS = (
    ("unspecified", "is_unspecified"),
    ("loopback", "is_loopback"),
    ("link-local", "is_link_local"),
    ("multicast", "is_multicast"),
    ("reserved", "is_reserved"),
    ("private", "is_private"),
)


def non_public_range(address: IPAddress) -> str | None:
    """What kind of non-public range `address` lies in ("link-local", "private", ...), or None.

    An IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4, NAT64) is judged by the IPv4
    address inside it, since that is where the packets would go.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return non_public_range(inner)
    for label, attribute in _RANGE_CHECKS:
        if getattr(address, attribute):
            return label
    if not address.is_global:
        return "non-public"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """What one source may reach beyond the public internet.

    `allow_all_private` opens every non-public address; `allowed_networks` opens only those.
    """

    allow_all_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_setting(cls, allow_private_hosts: bool | Iterable[str]) -> AddressPolicy:
        """The policy for a source's `allow_private_hosts`: true, false or a list of networks."""
        if isinstance(allow_private_hosts, bool):
            return cls(allow_all_private=allow_private_hosts)
        return cls(allowed_networks=tuple(parse_network(text) for text in allow_private_hosts))

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` may not be contacted under this policy, or None when it may."""
        kind = non_public_range(address)
        if kind is None or self.allow_all_private:
            return None
        if any(_contains(network, address) for network in self.allowed_networks):
            return None
        article = "an" if kind[0] in "aeiou" else "a"
        return (
            f"{address} is {article} {kind} address, which Horizon does not fetch from unless "
            "the source sets allow_private_hosts in sources.yaml"
        )

    def url_refusal(self, url: str) -> str | None:
        """Why `url` may not be fetched, judged without DNS: its scheme, host and literal IP."""
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as error:
            return f"the address is malformed ({error})"
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            scheme = f"'{parts.scheme}:'" if parts.scheme else "no scheme"
            return f"the address uses {scheme}; Horizon fetches only http:// and https:// addresses"
        if not hostname:
            return "the address has no host name (like http://:80/feed); write the full address"
        literal = ip_literal(hostname)
        return self.refusal(literal) if literal is not None else None

    def merged(self, other: AddressPolicy) -> AddressPolicy:
        """A policy allowing what either allows (for checks not tied to one source)."""
        return AddressPolicy(
            self.allow_all_private or other.allow_all_private,
            self.allowed_networks + other.allowed_networks,
        )


def ip_literal(hostname: str) -> IPAddress | None:
    """The IP address a URL's host names literally (`10.0.0.1`, `::1`), or None for a name."""
    try:
        return ipaddress.ip_address(hostname.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def parse_network(text: str) -> IPNetwork:
    """An address or network (`10.1.2.3`, `10.0.0.0/8`, `fd00::/8`); ValueError says why not."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"'{text}' is not an IP address or network like 10.0.0.0/8 or fd00::/8"
        ) from None


def _contains(network: IPNetwork, address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return network.version == address.version and address in network
