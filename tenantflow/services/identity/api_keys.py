"""API keys: `tfk_` and 43 random characters, shown once, stored as a SHA-256 hash.

A key acts in its tenant with its own role, never OWNER. Revoking one refuses it on the next
request (tenantflow/auth/credentials.py looks every key up).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col

from tenantflow.auth.secrets import api_key_prefix, hash_token, new_api_key
from tenantflow.db.faults import retry_conflicts
from tenantflow.db.models import ApiKey
from tenantflow.db.pagination import Listing, SortOrder
from tenantflow.db.session import TenantDb
from tenantflow.db.types import utcnow
from tenantflow.enums import Role
from tenantflow.events.commit_hook import access_changed
from tenantflow.services.actor import Actor
from tenantflow.services.errors import FieldProblem, NotFound
from tenantflow.services.identity.account_rules import name_problem, raise_problems
from tenantflow.services.operations import audit
from tenantflow.services.tenants.quotas import lock_tenant

NAME_MAX_LENGTH = 100
# Newest first, revoked keys included (their revokedAt shows when).
ORDER = SortOrder.by_time("api_key.created", col(ApiKey.created_at), col(ApiKey.id))


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    api_key: ApiKey
    secret: str  # shown once


@retry_conflicts
async def create_api_key(*, db: TenantDb, actor: Actor, name: str, role: Role) -> IssuedApiKey:
    raise_problems(
        name_problem("input.name", name, max_length=NAME_MAX_LENGTH, required=True),
        FieldProblem("input.role", "An API key cannot be OWNER") if role is Role.OWNER else None,
    )
    secret = new_api_key()
    async with db.transaction() as session:
        key = ApiKey(
            name=name.strip(),
            prefix=api_key_prefix(secret),
            key_hash=hash_token(secret),
            role=role,
            created_by_id=actor.user_id,
        )
        session.add(key)
        audit.record(
            session,
            actor=actor,
            action="api_key.create",
            resource_type="ApiKey",
            resource_id=key.id,
            details={"name": key.name, "role": role, "prefix": key.prefix},
        )
    return IssuedApiKey(key, secret)


@retry_conflicts
async def revoke_api_key(*, db: TenantDb, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    """Revoking a revoked key succeeds and changes nothing (no audit row)."""
    async with db.transaction() as session:
        key = await session.get(ApiKey, key_id)
        if key is None:
            raise NotFound("ApiKey")
        if key.revoked_at is not None:
            return key
        key.revoked_at = utcnow()
        (await lock_tenant(session)).auth_version += 1
        access_changed(session, key.tenant_id)  # its open subscriptions re-check at once
        audit.record(
            session,
            actor=actor,
            action="api_key.revoke",
            resource_type="ApiKey",
            resource_id=key.id,
            details={"name": key.name, "prefix": key.prefix},
        )
    return key


def api_keys_listing() -> Listing:
    """Oldest first; revoked keys included."""
    return Listing.of(sa.select(ApiKey), ORDER)
