"""Where the budgets are kept: Redis when configured (every process shares one budget), else
process memory; and process memory while Redis fails, so that an outage never stops the API.

One `LimiterStorage` per process holds both storages; each `limits` strategy gets a
`ResilientLimiter` over them. When Redis fails (`limits` wraps every client error in
`StorageError`), the limiter answers from memory for `retry_seconds`, then tries Redis again;
the switch is logged once each way and shown by `tenantflow_rate_limit_storage_degraded`.
slowapi's `in_memory_fallback` does the same for its routes; this is that, for operations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import RateLimiter
from limits.errors import StorageError
from limits.util import WindowStats

from tenantflow.observability import metrics

log = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX: Final = "tenantflow"
# redis-py URL schemes (TENANTFLOW_REDIS_URL) and their names in limits' async storage registry.
_REDIS_SCHEMES: Final = {
    "redis://": "async+redis://",
    "rediss://": "async+rediss://",
    "unix://": "async+redis+unix://",
}
# A Redis that does not answer must cost a request this long at most, not a hang.
_REDIS_TIMEOUT_SECONDS: Final = 0.5
DEFAULT_RETRY_SECONDS: Final = 5.0

T = TypeVar("T")


def redis_storage(redis_url: str, key_prefix: str) -> RedisStorage:
    uri = redis_url
    for plain, scheme in _REDIS_SCHEMES.items():
        if uri.startswith(plain):
            uri = scheme + uri.removeprefix(plain)
            break
    # limits' async Redis storage defaults to the `coredis` client, which is not installed;
    # `redis` (redis-py) is. wrap_exceptions gives callers one error type to catch.
    return RedisStorage(
        uri,
        implementation="redispy",
        key_prefix=key_prefix,
        wrap_exceptions=True,
        socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
        socket_timeout=_REDIS_TIMEOUT_SECONDS,
    )


class LimiterStorage:
    def __init__(
        self,
        redis_url: str | None = None,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
    ) -> None:
        """`redis_url`: None keeps every budget in this process; `key_prefix` starts every
        Redis key (one per deployment sharing a Redis; tests use their own)."""
        self.primary: Storage | None = redis_storage(redis_url, key_prefix) if redis_url else None
        self.memory = MemoryStorage()
        self.retry_seconds = retry_seconds
        self._memory_until = 0.0

    @property
    def degraded(self) -> bool:
        """Whether budgets are being kept in memory although Redis is configured."""
        return self.primary is not None and time.monotonic() < self._memory_until

    def limiter(self, strategy: type[RateLimiter]) -> ResilientLimiter:
        return ResilientLimiter(self, strategy)

    async def run(
        self, on_primary: Callable[[], Awaitable[T]], on_memory: Callable[[], Awaitable[T]]
    ) -> T:
        if self.primary is None:
            return await on_memory()
        if time.monotonic() < self._memory_until:
            return await on_memory()
        try:
            result = await on_primary()
        except StorageError as error:
            if self._memory_until == 0.0:
                log.warning(
                    "rate limits: Redis unavailable (%s); keeping budgets in this process",
                    type(error.storage_error).__name__,
                )
            metrics.RATE_LIMIT_STORAGE_ERRORS.inc()
            metrics.RATE_LIMIT_STORAGE_DEGRADED.set(1)
            self._memory_until = time.monotonic() + self.retry_seconds
            return await on_memory()
        if self._memory_until:
            log.warning("rate limits: Redis answers again; budgets are shared again")
            metrics.RATE_LIMIT_STORAGE_DEGRADED.set(0)
            self._memory_until = 0.0
        return result

    async def aclose(self) -> None:
        """Close the Redis connection pool, if any (memory holds nothing to close)."""
        if isinstance(self.primary, RedisStorage):
            # limits has no close of its own; its redis-py bridge keeps the client as `storage`.
            client = getattr(self.primary.bridge, "storage", None)
            if client is not None and hasattr(client, "aclose"):
                await client.aclose()


class ResilientLimiter:
    """A `limits` strategy on the primary storage, answering from memory while it fails."""

    def __init__(self, storage: LimiterStorage, strategy: type[RateLimiter]) -> None:
        self._storage = storage
        self._primary = strategy(storage.primary) if storage.primary is not None else None
        self._memory = strategy(storage.memory)

    def _pick(self, call: Callable[[RateLimiter], Awaitable[T]]) -> Awaitable[T]:
        primary = self._primary
        return self._storage.run(
            (lambda: call(primary)) if primary is not None else (lambda: call(self._memory)),
            lambda: call(self._memory),
        )

    async def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        return await self._pick(lambda limiter: limiter.hit(item, *identifiers, cost=cost))

    async def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        return await self._pick(lambda limiter: limiter.test(item, *identifiers, cost=cost))

    async def stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        return await self._pick(lambda limiter: limiter.get_window_stats(item, *identifiers))

    async def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        await self._pick(lambda limiter: limiter.clear(item, *identifiers))
