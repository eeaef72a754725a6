"""Budget keys: who spends, written so that no key holds personal data.

An account is the SHA-256 of its normalized email (strip + lower, as emails compare
case-insensitively), an address the SHA-256 of its canonical form. IPv6 addresses are counted per
/64, since one client usually controls a whole /64 and could otherwise rotate through it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from typing import Final

_IPV6_BUCKET_PREFIX: Final = 64
UNKNOWN_ADDRESS: Final = "unknown"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_address(address: str | None) -> str:
    """Canonical form of a client address; IPv6 reduced to its /64 network."""
    text = (address or UNKNOWN_ADDRESS).strip().lower()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text  # not an IP (a test client, a unix socket): count it as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, _IPV6_BUCKET_PREFIX), strict=False))
    return str(ip)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def account_identifier(email: str) -> str:
    return f"acct:{_digest(normalize_email(email))}"


def user_identifier(user_id: uuid.UUID) -> str:
    return f"user:{user_id.hex}"


def address_identifier(address: str | None) -> str:
    return f"addr:{_digest(normalize_address(address))}"


def tenant_identifier(tenant_id: uuid.UUID) -> str:
    return f"tenant:{tenant_id.hex}"
