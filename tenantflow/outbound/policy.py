"""Which addresses outbound requests (the `http` node) may reach: pure rules, no I/O.

Only globally routable addresses are reachable by default (`ipaddress`'s `is_global`, which leaves
out loopback, private, link-local, shared (CGNAT), reserved, documentation and benchmarking
ranges), and never multicast. IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`,
NAT64 `64:ff9b::/96`, 6to4, Teredo) are judged by that IPv4 address as well.

Cloud metadata endpoints are refused by name before any lookup, and by address after it; the
allow-list (`TENANTFLOW_HTTP_ALLOW`) opens them only when it names them exactly (a network that
merely contains one does not), because they hand out the host's own credentials.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_HOSTS = frozenset(
    {
        "metadata.google.internal",  # GCP
        "metadata.goog",
        "metadata",
        "instance-data",  # AWS
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",  # Tencent Cloud
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic); globally routable, so listed
        "169.254.0.23",  # Tencent Cloud
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AllowListError(ValueError):
    """An entry of TENANTFLOW_HTTP_ALLOW is neither a host name nor an address or network."""


def normalize_host(host: str) -> str:
    """Host names compare case-insensitively and without a trailing dot."""
    return host.strip().rstrip(".").lower()


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address stands for (mapped, NAT64, 6to4, Teredo), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found.append(address.teredo[1])
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [ip for ip in found if ip is not None]


def _kind(address: IPAddress) -> str | None:
    """Why `address` is not public, or None when it is."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved address"
    return None


def _refusal(host: str, ip: IPAddress, kind: str) -> str:
    if normalize_host(host).strip("[]") == str(ip):
        return f"{ip} is {kind}"
    return f"{host} resolves to {ip}, {kind}"


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """The private-address rule with its exceptions: host names and networks from the allow-list."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> OutboundPolicy:
        """From `TENANTFLOW_HTTP_ALLOW` entries: `10.0.0.0/8`, `127.0.0.1`, `::1`, `api.local`."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            host = normalize_host(entry)
            if not host or any(c in host for c in "/:@ ") or host.startswith("."):
                raise AllowListError(
                    f"TENANTFLOW_HTTP_ALLOW: {entry!r} is not a host name, address or network"
                )
            hosts.add(host)
        return cls(frozenset(hosts), tuple(networks))

    def refuses_host(self, host: str) -> str | None:
        """Why a host name is refused before it is even looked up (metadata names), or None."""
        name = normalize_host(host)
        if name in METADATA_HOSTS and name not in self.hosts:
            return f"{name} is a cloud metadata endpoint"
        return None

    def refuses(self, host: str, address: IPAddress) -> str | None:
        """Why `host` may not be reached at `address` (one of the addresses it resolved to), or
        None when it may."""
        name = normalize_host(host)
        embedded = embedded_ipv4(address)
        # A mapped address is its IPv4 address; the other forms go through both.
        mapped = isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None
        judged = embedded if mapped else [address, *embedded]
        for ip in judged:
            if ip in METADATA_ADDRESSES and not self._names_exactly(name, ip):
                return _refusal(host, ip, "a cloud metadata address")
        if name in self.hosts:
            return None
        for ip in judged:
            kind = _kind(ip)
            if kind is not None and not self._allows_network(ip):
                return _refusal(host, ip, kind)
        return None

    def _names_exactly(self, name: str, ip: IPAddress) -> bool:
        """Whether the allow-list names this metadata endpoint itself: its address alone (not a
        wider network), or a metadata host name (not any name that resolves there)."""
        if name in METADATA_HOSTS and name in self.hosts:
            return True
        single = ip.max_prefixlen
        return any(net.prefixlen == single and ip in net for net in self.networks)

    def _allows_network(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)
