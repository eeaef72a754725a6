"""Who a credential stands for, kept between requests until a version it was checked under moves.

An access token's entry is its sign-in session's (keyed by the session id the verified token
carries); an API key's is keyed by the key's hash. A principal is re-checked in the database
whenever its tenant, its user or the epoch has a new version (a removed member, a changed role,
a revoked key or session, a changed password, a suspended tenant are all writes), and at the
latest when its entry expires, or when the tenant's trial ends.

The versions are read before the database is: a revocation that commits after the read replaces
them, so the entry made from the read is obsolete at once. An API key names its tenant only once
found, so its first request just notes the tenant, and the next one reads that tenant's versions
before its check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from tenantflow.auth.principal import Principal
from tenantflow.cache.versions import CacheVersions, Versions
from tenantflow.db.types import utcnow
from tenantflow.enums import Plan, Role, TenantStatus


def session_entry_key(session_id: uuid.UUID) -> str:
    return f"p:s:{session_id.hex}"


def api_key_entry_key(key_hash: str) -> str:
    return f"p:k:{key_hash}"


@dataclass(frozen=True, slots=True)
class Lookup:
    """A cache lookup's outcome: the principal if still valid, and the versions read (None when
    the store could not answer: then nothing of this request is cached)."""

    principal: Principal | None
    versions: Versions | None
    key: str

    @classmethod
    def unavailable(cls, key: str) -> Lookup:
        return cls(None, None, key)


class PrincipalCache:
    def __init__(self, versions: CacheVersions, ttl_seconds: float) -> None:
        self.versions = versions
        self.ttl_seconds = ttl_seconds

    async def for_session(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, session_id: uuid.UUID
    ) -> Lookup:
        key = session_entry_key(session_id)
        read = await self.versions.read(tenant_id, user_id, key)
        if read is None:
            return Lookup.unavailable(key)
        versions, (entry,) = read
        principal = _valid(entry, versions)
        if principal is not None and (principal.tenant_id, principal.user_id) != (
            tenant_id,
            user_id,
        ):
            principal = None  # a session id is one user's in one tenant: never another's
        return Lookup(principal, versions, key)

    async def for_api_key(self, key_hash: str) -> Lookup:
        key = api_key_entry_key(key_hash)
        values = await self.versions.store.get_many([key])
        if values is None:
            return Lookup.unavailable(key)
        tenant_id = _tenant_of(values[0])
        if tenant_id is None:
            return Lookup.unavailable(key)  # first sight: `note_tenant` after the check
        read = await self.versions.read(tenant_id, None, key)
        if read is None:
            return Lookup.unavailable(key)
        versions, (entry,) = read
        return Lookup(_valid(entry, versions), versions, key)

    async def keep(
        self, lookup: Lookup, principal: Principal, *, fresh_until: datetime | None
    ) -> None:
        """Keep a principal just checked in the database under the versions read before."""
        if lookup.versions is None:
            return
        ttl = self.ttl_seconds
        if fresh_until is not None:
            ttl = min(ttl, (fresh_until - utcnow()).total_seconds())
        if ttl <= 0:
            return
        entry = {"principal": _fields(principal), "versions": lookup.versions.token()}
        await self.versions.store.put(lookup.key, orjson.dumps(entry), ttl)

    async def note_tenant(self, lookup: Lookup, tenant_id: uuid.UUID) -> None:
        """An API key's tenant, for its next lookup to read the right versions."""
        if lookup.versions is None:
            entry = {"tenant": str(tenant_id)}
            await self.versions.store.put(lookup.key, orjson.dumps(entry), self.ttl_seconds)


def _loads(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, bytes | str):
        return None
    loaded = orjson.loads(entry)
    return loaded if isinstance(loaded, dict) else None


def _tenant_of(entry: Any) -> uuid.UUID | None:
    loaded = _loads(entry)
    if loaded is None:
        return None
    if "principal" in loaded:
        return uuid.UUID(loaded["principal"]["tenant_id"])
    return uuid.UUID(loaded["tenant"]) if "tenant" in loaded else None


def _valid(entry: Any, versions: Versions) -> Principal | None:
    loaded = _loads(entry)
    if loaded is None or loaded.get("versions") != versions.token():
        return None
    return _principal(loaded["principal"])


def _fields(principal: Principal) -> dict[str, Any]:
    return {
        "tenant_id": str(principal.tenant_id),
        "role": principal.role.value,
        "tenant_status": principal.tenant_status.value,
        "plan": principal.plan.value,
        "user_id": _optional(principal.user_id),
        "session_id": _optional(principal.session_id),
        "api_key_id": _optional(principal.api_key_id),
        "api_key_name": principal.api_key_name,
    }


def _principal(fields: dict[str, Any]) -> Principal:
    return Principal(
        tenant_id=uuid.UUID(fields["tenant_id"]),
        role=Role(fields["role"]),
        tenant_status=TenantStatus(fields["tenant_status"]),
        plan=Plan(fields["plan"]),
        user_id=_uuid(fields["user_id"]),
        session_id=_uuid(fields["session_id"]),
        api_key_id=_uuid(fields["api_key_id"]),
        api_key_name=fields["api_key_name"],
    )


def _optional(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)
