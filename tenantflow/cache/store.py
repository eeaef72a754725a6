"""Where cache entries live: aiocache in this process or in Redis, behind one narrow interface.

Every operation is bounded by a timeout and never raises: a store that is slow or gone is a cache
miss (and a write that is not kept), with one log line per outage and the error counter.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from aiocache import RedisCache, SimpleMemoryCache
from aiocache.base import BaseCache
from aiocache.serializers import NullSerializer

from tenantflow.observability import metrics

log = logging.getLogger(__name__)
# A cache is an optimisation: waiting longer for it than for the answer defeats it.
REDIS_TIMEOUT_SECONDS: Final = 0.25
OUTAGE_LOG_INTERVAL_SECONDS: Final = 30.0


class BoundedMemoryCache(SimpleMemoryCache):  # type: ignore[misc]
    """aiocache's in-process cache, holding at most `max_entries` (least recently used leave)."""

    def __init__(self, max_entries: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_entries = max_entries
        self._cache: OrderedDict[str, object] = OrderedDict()

    async def _get(self, key: str, encoding: str = "utf-8", _conn: Any = None) -> object:
        value = self._cache.get(key)
        if value is not None:
            self._cache.move_to_end(key)
        return value

    async def _multi_get(
        self, keys: Sequence[str], encoding: str = "utf-8", _conn: Any = None
    ) -> list[object]:
        return [await self._get(key) for key in keys]

    async def _set(
        self,
        key: str,
        value: object,
        ttl: float | None = None,
        _cas_token: Any = None,
        _conn: Any = None,
    ) -> bool:
        stored: bool = await super()._set(key, value, ttl=ttl, _cas_token=_cas_token)
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            oldest = next(iter(self._cache))
            await self._delete(oldest)
        return stored


class CacheStore:
    """Gets and sets that turn every failure of the backend into a miss."""

    def __init__(self, backend: BaseCache, name: str) -> None:
        self.backend = backend
        self.name = name  # "memory" or "redis", for the log and the metrics
        self._outage_logged_at = -OUTAGE_LOG_INTERVAL_SECONDS

    @classmethod
    def in_memory(cls, max_entries: int) -> CacheStore:
        # No timeout: a dict does not hang, and aiocache's timeout costs a task per call.
        backend = BoundedMemoryCache(max_entries, serializer=NullSerializer(), timeout=None)
        return cls(backend, "memory")

    @classmethod
    def redis(cls, url: str, namespace: str) -> CacheStore:
        backend = RedisCache(
            serializer=NullSerializer(),
            namespace=namespace,
            timeout=REDIS_TIMEOUT_SECONDS,
            create_connection_timeout=REDIS_TIMEOUT_SECONDS,
            **_redis_options(url),
        )
        return cls(backend, "redis")

    async def get_many(self, keys: Sequence[str]) -> list[Any] | None:
        """The values of `keys` (None where absent), or None when the store cannot answer."""
        try:
            values: list[Any] = await self.backend.multi_get(list(keys))
        except Exception as error:
            self._failed("read", error)
            return None
        return values

    async def put(self, key: str, value: object, ttl: float | None) -> bool:
        try:
            await self.backend.set(key, value, ttl=ttl)
        except Exception as error:
            self._failed("write", error)
            return False
        return True

    async def put_many(self, pairs: Sequence[tuple[str, object]]) -> bool:
        try:
            await self.backend.multi_set(list(pairs))
        except Exception as error:
            self._failed("write", error)
            return False
        return True

    async def add(self, key: str, value: object) -> bool | None:
        """Set `key` only if it is absent: True if set, False if it was there, None on failure."""
        try:
            await self.backend.add(key, value)
        except ValueError:
            return False  # aiocache's "already exists"
        except Exception as error:
            self._failed("write", error)
            return None
        return True

    async def close(self) -> None:
        try:
            if isinstance(self.backend, RedisCache):
                # aiocache 0.12 leaves its redis client (and pool) open on close().
                await self.backend.client.aclose()
            else:
                await self.backend.close()
        except Exception:  # closing at shutdown: nothing left to protect
            log.debug("cache store %s: close failed", self.name, exc_info=True)

    def _failed(self, doing: str, error: Exception) -> None:
        metrics.CACHE_ERRORS.labels(self.name).inc()
        now = time.monotonic()
        if now - self._outage_logged_at >= OUTAGE_LOG_INTERVAL_SECONDS:
            self._outage_logged_at = now
            log.warning(
                "cache store %s: %s failed (%s); answering without the cache",
                self.name,
                doing,
                type(error).__name__,
            )


def _redis_options(url: str) -> dict[str, Any]:
    """RedisCache's arguments from a redis:// or rediss:// URL (host, port, password, db)."""
    parts = urlsplit(url)
    options: dict[str, Any] = {
        "endpoint": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "ssl": parts.scheme == "rediss",
        **RedisCache.parse_uri_path(parts.path or "/"),
    }
    if parts.password:
        options["password"] = parts.password
    return options
