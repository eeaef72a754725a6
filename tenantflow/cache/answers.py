"""Answers of repeated queries (looked up and kept by schema/cached_answers.py).

A query's answer is kept per principal (its user or API key, role, tenant status and plan), under
the versions read for the request, keyed by the operation's text, name and variables.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from tenantflow.auth.principal import Principal
from tenantflow.cache.store import CacheStore
from tenantflow.cache.versions import Versions


def answer_key(
    principal: Principal,
    versions: Versions,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for part in (
        versions.token(),
        str(principal.user_id or principal.api_key_id),
        principal.role.value,
        principal.tenant_status.value,
        principal.plan.value,
        operation_name or "",
        query,
    ):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS))
    return f"a:{principal.tenant_id.hex}:{digest.hexdigest()}"


class AnswerCache:
    """The process's handle on kept answers."""

    def __init__(self, store: CacheStore, ttl_seconds: float) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds

    async def get(self, key: str) -> dict[str, Any] | None:
        values = await self.store.get_many([key])
        if values is None or values[0] is None:
            return None
        data: dict[str, Any] = orjson.loads(values[0])
        return data

    async def keep(self, key: str, data: dict[str, Any]) -> None:
        await self.store.put(key, orjson.dumps(data), self.ttl_seconds)
