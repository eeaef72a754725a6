"""Login guessing protection: failed passwords are limited per account *from one address*, and per
client address over all accounts.

Why not per account alone: a limit on an account from every address hands anyone who knows an
email a way to lock its owner out (ten wrong passwords a minute from anywhere, and the owner's
right one is refused at home). Counting an account's failures per (account, address) pair stops
a guesser at their own address without touching the owner's; the per-address limit (30 a minute
over all accounts) stops one address trying many accounts (credential stuffing). What this gives
up: a guesser with many addresses gets 10 tries a minute from each, each costing an Argon2 hash,
and the contract's LOGIN budget still counts every attempt per address.

Strategy: the `limits` package's moving window. A fixed window lets a guesser spend two budgets
back to back across a window boundary (20 tries in a few seconds for "10/minute"); the moving
window keeps the last `amount` failure times per key, so no 60 s span ever holds more than 10, and
the retry-after is exact. In Redis a key reads
`<key_prefix>:login/acct:<sha256>/addr:<sha256>/10/1/minute` (`protection/keys.py` hashes both, so
no key holds an email or an address; `limits` appends the limit itself, so changing the limit
starts fresh counters).

Only failures count (`record_failure`); `check` reads without consuming. After a successful login
`reset_account` clears that account's failures from that address (the per-address count stays).
While Redis fails, the counts are kept in this process (`protection/storage.py`).

Limitation of check-then-record: attempts that run concurrently all pass `check` before any of
them records its failure, so a burst can exceed the budget once (by its own size).
"""

from __future__ import annotations

import math
import time
from typing import Final

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from tenantflow.protection.keys import (
    account_identifier,
    address_identifier,
    normalize_address,
    normalize_email,
)
from tenantflow.protection.storage import DEFAULT_KEY_PREFIX, LimiterStorage

__all__ = [
    "LoginThrottle",
    "account_identifier",
    "address_identifier",
    "normalize_address",
    "normalize_email",
]

# `limits` item namespace: the first part of every key, after the storage's own prefix.
_NAMESPACE: Final = "login"


class LoginThrottle:
    def __init__(
        self,
        *,
        per_account: str = "10/minute",
        per_address: str = "30/minute",
        storage: LimiterStorage | None = None,
        storage_uri: str | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        """`per_account`: failures of one account from one address; `per_address`: failures
        from one address over all accounts. `storage`: the process's budgets storage; without
        it one of its own, on `storage_uri` (a redis:// URL; None keeps the counts in memory)
        under `key_prefix`."""
        self._per_account = _limit(per_account)
        self._per_address = _limit(per_address)
        self._owns_storage = storage is None
        self._storages = storage or LimiterStorage(storage_uri, key_prefix=key_prefix)
        self._limiter = self._storages.limiter(MovingWindowRateLimiter)

    @property
    def storage(self) -> Storage:
        """Where the counts are kept while Redis answers (memory without Redis)."""
        return self._storages.primary or self._storages.memory

    async def check(self, *, email: str, address: str) -> int | None:
        """None if a login attempt may go ahead, else whole seconds until it may (at least 1)."""
        account, place = _keys(email, address)
        waits = [
            await self._wait(self._per_account, account, place),
            await self._wait(self._per_address, place),
        ]
        refused = [wait for wait in waits if wait is not None]
        return max(refused) if refused else None

    async def record_failure(self, *, email: str, address: str) -> None:
        # A full window refuses the hit and records nothing, which is right: the caller should
        # have checked first, and the window then reopens on time instead of sliding forward.
        account, place = _keys(email, address)
        await self._limiter.hit(self._per_account, account, place)
        await self._limiter.hit(self._per_address, place)

    async def reset_account(self, *, email: str, address: str) -> None:
        """Forget an account's failures from this address, after a successful login."""
        await self._limiter.clear(self._per_account, *_keys(email, address))

    async def aclose(self) -> None:
        """Close a storage of its own (a shared one is closed by its owner)."""
        if self._owns_storage:
            await self._storages.aclose()

    async def _wait(self, item: RateLimitItem, *identifiers: str) -> int | None:
        if await self._limiter.test(item, *identifiers):
            return None
        stats = await self._limiter.stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))


def _keys(email: str, address: str) -> tuple[str, str]:
    return account_identifier(email), address_identifier(address)


def _limit(text: str) -> RateLimitItem:
    try:
        item = parse(text)
    except ValueError as error:
        raise ValueError(f"invalid login rate limit {text!r}: {error}") from error
    # A per-instance namespace, so that keys read `login/...` instead of limits' `LIMITER/...`.
    return type(item)(item.amount, item.multiples, namespace=_NAMESPACE)
