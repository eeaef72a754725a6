"""The caches of one process, made from the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tenantflow.cache.answers import AnswerCache
from tenantflow.cache.invalidation import Invalidation
from tenantflow.cache.principals import PrincipalCache
from tenantflow.cache.store import CacheStore
from tenantflow.cache.versions import CacheVersions
from tenantflow.db.changes import OnCommitted
from tenantflow.settings import Settings


@dataclass(frozen=True)
class Caches:
    store: CacheStore
    versions: CacheVersions
    answers: AnswerCache
    invalidation: Invalidation
    # Only with a store every process shares (Redis): see `of`.
    principals: PrincipalCache | None

    @classmethod
    def of(cls, settings: Settings) -> Caches | None:
        """None when caching is off.

        In-process, the versions move only with this process's writes; an operator's CLI (another
        process) suspends tenants and ends sessions without this process seeing it, so principals
        are then checked in the database on every request, and an answer is kept per principal
        as checked (its role, tenant status and plan are in its key)."""
        if not settings.cache:
            return None
        shared = settings.redis_url is not None
        if settings.redis_url is not None:
            store = CacheStore.redis(settings.redis_url, f"{settings.redis_key_prefix}:cache:")
        else:
            store = CacheStore.in_memory(settings.cache_max_entries)
        versions = CacheVersions(store)
        return cls(
            store=store,
            versions=versions,
            answers=AnswerCache(store, settings.cache_ttl),
            invalidation=Invalidation(versions),
            principals=PrincipalCache(versions, settings.cache_ttl) if shared else None,
        )


@asynccontextmanager
async def invalidation_for_tools(settings: Settings) -> AsyncIterator[OnCommitted | None]:
    """For a command's SessionFactory: with Redis, its writes move the versions every server
    reads (an operator's suspension reaches cached principals at once). In-process there is no
    server's memory to reach, and nothing there depends on it: principals are not cached, and an
    answer's key holds the principal's role, status and plan as checked."""
    caches = Caches.of(settings) if settings.redis_url is not None else None
    if caches is None:
        yield None
        return
    try:
        yield caches.invalidation
    finally:
        await caches.store.close()
