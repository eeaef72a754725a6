"""The caches forget what a committed transaction may have changed (SessionFactory's hook)."""

from __future__ import annotations

from tenantflow.cache.versions import CacheVersions
from tenantflow.db.changes import Committed


class Invalidation:
    """Awaited after every commit, before the writer answers: its client reads its own write."""

    def __init__(self, versions: CacheVersions) -> None:
        self.versions = versions

    async def __call__(self, committed: Committed) -> None:
        # A store that fails logs it (store.py); its entries expire within the TTL.
        await self.versions.replace(
            tenants=committed.tenants, users=committed.users, epoch=committed.shared
        )
