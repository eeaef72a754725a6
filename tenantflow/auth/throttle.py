"""Login guessing protection: failed attempts are limited per account and per client address.

Strategy: the `limits` package's moving window. A fixed window lets a guesser spend two budgets
back to back across a window boundary (20 tries in a few seconds for "10/minute"); the moving
window keeps the last `amount` failure times per key, so no 60 s span ever holds more than 10, and
the retry-after is exact (when the oldest failure in the window ages out). It stores at most
`amount` timestamps per key, which is small for login limits.

Keys hold no personal data: an account is the SHA-256 of its normalized email (strip + lower, as
emails compare case-insensitively), an address the SHA-256 of its canonical form. IPv6 addresses are
counted per /64, since one client usually controls a whole /64 and could otherwise rotate through
it. In Redis a key reads `<key_prefix>:login/acct:<sha256>/10/1/minute` (`limits` appends the
limit's amount and window itself, so changing the limit starts fresh counters).

Only failures count (`record_failure`); `check` reads without consuming. After a successful login,
`reset_account` clears that account's failures (the per-address count stays: one address trying
many accounts is the credential-stuffing pattern it exists for).

Storage errors are raised as `limits.errors.StorageError`; whether to fail open or closed when
Redis is down is the caller's decision.

Limitation of check-then-record: attempts that run concurrently all pass `check` before any of
them records its failure, so a burst can exceed the budget once (by its own size).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from typing import Final

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

DEFAULT_KEY_PREFIX: Final = "tenantflow"
# `limits` item namespace: the first part of every key, after the storage's own prefix.
_NAMESPACE: Final = "login"
# redis-py URL schemes (TENANTFLOW_REDIS_URL) and their names in limits' async storage registry.
_REDIS_SCHEMES: Final = {
    "redis://": "async+redis://",
    "rediss://": "async+rediss://",
    "unix://": "async+redis+unix://",
}
_IPV6_BUCKET_PREFIX: Final = 64


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_address(address: str) -> str:
    """Canonical form of a client address; IPv6 reduced to its /64 network."""
    text = address.strip().lower()
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


def address_identifier(address: str) -> str:
    return f"addr:{_digest(normalize_address(address))}"


def _build_storage(storage_uri: str | None, key_prefix: str) -> Storage:
    if storage_uri is None:
        return MemoryStorage()
    uri = storage_uri
    for plain, scheme in _REDIS_SCHEMES.items():
        if uri.startswith(plain):
            uri = scheme + uri.removeprefix(plain)
            break
    if uri.startswith("async+redis"):
        # limits' async Redis storage defaults to the `coredis` client, which is not installed;
        # `redis` (redis-py) is. wrap_exceptions gives callers one error type to catch.
        return RedisStorage(
            uri, implementation="redispy", key_prefix=key_prefix, wrap_exceptions=True
        )
    storage = storage_from_string(uri)
    if not isinstance(storage, Storage):
        raise ValueError("the login throttle needs an async storage (an async+… URI)")
    return storage


class LoginThrottle:
    def __init__(
        self,
        *,
        per_account: str = "10/minute",
        per_address: str = "30/minute",
        storage_uri: str | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        """`storage_uri`: None (in-process memory), a redis:// URL, or any async `limits` URI.

        `key_prefix` starts every Redis key (tests use their own); in memory it has no use.
        """
        self._per_account = _limit(per_account)
        self._per_address = _limit(per_address)
        self._storage = _build_storage(storage_uri, key_prefix)
        self._limiter = MovingWindowRateLimiter(self._storage)

    @property
    def storage(self) -> Storage:
        return self._storage

    async def check(self, *, email: str, address: str) -> int | None:
        """None if a login attempt may go ahead, else whole seconds until it may (at least 1)."""
        waits = [
            await self._wait(self._per_account, account_identifier(email)),
            await self._wait(self._per_address, address_identifier(address)),
        ]
        refused = [wait for wait in waits if wait is not None]
        return max(refused) if refused else None

    async def record_failure(self, *, email: str, address: str) -> None:
        # A full window refuses the hit and records nothing, which is right: the caller should
        # have checked first, and the window then reopens on time instead of sliding forward.
        await self._limiter.hit(self._per_account, account_identifier(email))
        await self._limiter.hit(self._per_address, address_identifier(address))

    async def reset_account(self, *, email: str) -> None:
        """Forget an account's failures, after a successful login."""
        await self._limiter.clear(self._per_account, account_identifier(email))

    async def aclose(self) -> None:
        """Close the Redis connection pool, if any (the in-memory storage holds nothing)."""
        if isinstance(self._storage, RedisStorage):
            # limits has no close of its own; its redis-py bridge keeps the client as `storage`.
            client = getattr(self._storage.bridge, "storage", None)
            if client is not None and hasattr(client, "aclose"):
                await client.aclose()

    async def _wait(self, item: RateLimitItem, identifier: str) -> int | None:
        if await self._limiter.test(item, identifier):
            return None
        stats = await self._limiter.get_window_stats(item, identifier)
        return max(1, math.ceil(stats.reset_time - time.time()))


def _limit(text: str) -> RateLimitItem:
    try:
        item = parse(text)
    except ValueError as error:
        raise ValueError(f"invalid login rate limit {text!r}: {error}") from error
    # A per-instance namespace, so that keys read `login/...` instead of limits' `LIMITER/...`.
    return type(item)(item.amount, item.multiples, namespace=_NAMESPACE)
