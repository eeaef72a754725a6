"""The client's address: X-Forwarded-For is believed only from TENANTFLOW_TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(entries: Sequence[str]) -> list[Network]:
    """Addresses or CIDR ranges; a bad entry is a configuration error, raised at start-up."""
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


def _is_trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(connection: HTTPConnection, proxies: Sequence[Network]) -> str | None:
    """The peer address, or the first untrusted hop of X-Forwarded-For counted from the right
    when the peer is a trusted proxy (hops a client wrote itself are never believed)."""
    peer = connection.client.host if connection.client else None
    if peer is None or not proxies or not _is_trusted(peer, proxies):
        return peer
    forwarded = connection.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: fall back to the proxy itself
    return peer
