"""The versions a cache entry is kept under.

A version is an opaque random number, replaced (never incremented) by each write that could change
what it guards: a version that a store lost or evicted comes back as a fresh random number, so it
can never fall back to a value that older entries were kept under.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tenantflow.cache.store import CacheStore

EPOCH_KEY: Final = "v:epoch"
NO_USER: Final = 0  # the user version of an API key


def tenant_key(tenant_id: uuid.UUID) -> str:
    return f"v:t:{tenant_id.hex}"


def user_key(user_id: uuid.UUID) -> str:
    return f"v:u:{user_id.hex}"


def _fresh() -> int:
    return random.getrandbits(62) + 1  # distinct, not secret


@dataclass(frozen=True, slots=True)
class Versions:
    """What a principal's entries were computed under."""

    epoch: int
    tenant: int
    user: int = NO_USER

    def token(self) -> str:
        return f"{self.epoch:x}.{self.tenant:x}.{self.user:x}"


class CacheVersions:
    def __init__(self, store: CacheStore) -> None:
        self.store = store

    async def read(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID | None, *also: str
    ) -> tuple[Versions, list[Any]] | None:
        """The current versions for a principal, and the values of `also` read with them (one
        round trip); None when the store cannot answer (then nothing is cached)."""
        keys = [EPOCH_KEY, tenant_key(tenant_id)]
        if user_id is not None:
            keys.append(user_key(user_id))
        values = await self.store.get_many([*keys, *also])
        if values is None:
            return None
        numbers = list(values[: len(keys)])
        for index, value in enumerate(numbers):
            if value is None:
                filled = await self._fill(keys[index])
                if filled is None:
                    return None
                numbers[index] = filled
        epoch, tenant, *user = (int(value) for value in numbers)
        return Versions(epoch, tenant, user[0] if user else NO_USER), list(values[len(keys) :])

    async def replace(
        self, *, tenants: Iterable[uuid.UUID], users: Iterable[uuid.UUID], epoch: bool
    ) -> bool:
        """Make every entry kept under these versions obsolete; False if the store failed."""
        keys: Sequence[str] = [
            *(tenant_key(t) for t in tenants),
            *(user_key(u) for u in users),
            *([EPOCH_KEY] if epoch else []),
        ]
        if not keys:
            return True
        return await self.store.put_many([(key, _fresh()) for key in keys])

    async def _fill(self, key: str) -> int | None:
        """The version of a key nobody has set yet (or the store lost): a fresh one, unless a
        concurrent reader or writer set it first."""
        fresh = _fresh()
        added = await self.store.add(key, fresh)
        if added is None:
            return None
        if added:
            return fresh
        values = await self.store.get_many([key])
        if values is None or values[0] is None:
            return None
        return int(values[0])
