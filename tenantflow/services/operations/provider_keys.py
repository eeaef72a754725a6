"""Provider keys: third-party credentials, encrypted under their tenant's data key.

The secret is encrypted with AES-GCM under the tenant's data key and bound to the tenant and the
row id (`secrets.envelope.encrypt_secret`); only `masked_key` is ever shown. `use_provider_key` is
the one way back to the plaintext, for the executor: each use is audited.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.base import new_id
from tenantflow.db.faults import retry_conflicts
from tenantflow.db.locking import locked
from tenantflow.db.models import ProviderKey, Tenant
from tenantflow.db.pagination import Listing, SortOrder
from tenantflow.db.session import TenantDb
from tenantflow.db.types import utcnow
from tenantflow.enums import TenantStatus
from tenantflow.secrets.envelope import MasterKeyring, decrypt_secret, encrypt_secret, mask_secret
from tenantflow.services.actor import Actor
from tenantflow.services.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from tenantflow.services.operations import audit
from tenantflow.services.operations.data_keys import data_key_for, open_data_key
from tenantflow.services.tenants.quotas import Resource, ensure_quota

TYPE_NAME = "ProviderKey"
PROVIDER_MAX_LENGTH = 50
NAME_MAX_LENGTH = 100
SECRET_MAX_LENGTH = 4096
# Lowercase letters and digits, single "-" or "_" between them: "openai", "azure-openai".
_PROVIDER = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")


class ProviderKeyRevoked(Conflict):
    """The key was revoked: its secret is no longer handed out."""

    def __init__(self) -> None:
        super().__init__(f"{TYPE_NAME} is revoked")


def _has_control_characters(value: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in value)


def _validate(provider: str, name: str, secret: str) -> tuple[str, str, str]:
    """The cleaned input, or ValidationFailed naming every bad field (never echoing the secret)."""
    problems: list[FieldProblem] = []
    provider = provider.strip()
    if not 1 <= len(provider) <= PROVIDER_MAX_LENGTH:
        problems.append(
            FieldProblem("input.provider", f"Must be 1 to {PROVIDER_MAX_LENGTH} characters")
        )
    elif not _PROVIDER.fullmatch(provider):
        problems.append(
            FieldProblem(
                "input.provider",
                "Must be a lowercase slug: letters a-z, digits, and single - or _ between them",
            )
        )
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        problems.append(FieldProblem("input.name", f"Must be 1 to {NAME_MAX_LENGTH} characters"))
    elif _has_control_characters(name):
        problems.append(FieldProblem("input.name", "Must not contain control characters"))
    # Surrounding whitespace is a copy-and-paste artefact that no provider's key carries.
    secret = secret.strip()
    if not 1 <= len(secret) <= SECRET_MAX_LENGTH:
        problems.append(
            FieldProblem("input.secret", f"Must be 1 to {SECRET_MAX_LENGTH} characters")
        )
    else:
        try:
            secret.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(FieldProblem("input.secret", "Must be valid Unicode text"))
    if problems:
        raise ValidationFailed(problems)
    return provider, name, secret


async def _find(
    session: AsyncSession, key_id: uuid.UUID, *, for_update: bool = False
) -> ProviderKey:
    """The session's tenant's key; NotFound for any other tenant's."""
    statement = select(ProviderKey).where(col(ProviderKey.id) == key_id)
    if for_update:
        statement = locked(statement)
    row = (await session.exec(statement)).first()
    if row is None:
        raise NotFound(TYPE_NAME)
    return row


@retry_conflicts
async def create_provider_key(
    *,
    db: TenantDb,
    keyring: MasterKeyring,
    actor: Actor,
    provider: str,
    name: str,
    secret: str,
) -> ProviderKey:
    """Store a new active key; QuotaExceeded when the plan's active keys are all taken."""
    provider, name, secret = _validate(provider, name, secret)
    tenant_id = db.tenant_id
    async with db.transaction() as session:
        await ensure_quota(session, Resource.PROVIDER_KEYS)
        data_key = await data_key_for(session, keyring=keyring, tenant_id=tenant_id)
        key_id = new_id()
        row = ProviderKey(
            id=key_id,
            tenant_id=tenant_id,
            provider=provider,
            name=name,
            ciphertext=encrypt_secret(data_key, secret, tenant_id=tenant_id, record_id=key_id),
            masked_key=mask_secret(secret),
        )
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="provider_key.create",
            resource_type=TYPE_NAME,
            resource_id=key_id,
            details={"provider": provider, "name": name, "maskedKey": row.masked_key},
        )
    return row


@retry_conflicts
async def revoke_provider_key(*, db: TenantDb, actor: Actor, key_id: uuid.UUID) -> ProviderKey:
    """Deactivate a key for good. Revoking a revoked key changes nothing and writes no audit row."""
    async with db.transaction() as session:
        row = await _find(session, key_id, for_update=True)
        if row.revoked_at is not None:
            return row
        row.is_active = False
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="provider_key.revoke",
            resource_type=TYPE_NAME,
            resource_id=row.id,
            details={
                "provider": row.provider,
                "name": row.name,
                "isActive": {"before": True, "after": False},
            },
        )
    return row


async def use_provider_key(
    *,
    db: TenantDb,
    keyring: MasterKeyring,
    key_id: uuid.UUID,
    actor: Actor | None = None,
    user_id: uuid.UUID | None = None,
    details: Mapping[str, Any] | None = None,
) -> str:
    """The plaintext secret of an active key of the tenant, for the executor to call its provider.

    In one transaction: decrypts, sets `last_used_at`, and writes a `provider_key.use` audit row
    (with `actor`, or `user_id` when the use is on behalf of someone not in a request, and the
    caller's `details`, e.g. the execution and node).

    NotFound for a key of another tenant or none, and for every key of a DELETED tenant;
    ProviderKeyRevoked (a Conflict) for a revoked key. A `SecretsError` (the master key that
    wrapped the data key is not configured, or the ciphertext does not authenticate) rolls
    everything back. The caller must keep the secret out of logs, errors and outputs.
    """
    tenant_id = db.tenant_id
    async with db.transaction() as session:
        tenant = await session.get(Tenant, tenant_id)
        if tenant is None or tenant.status is TenantStatus.DELETED:
            raise NotFound(TYPE_NAME)  # a deleted tenant behaves as if it did not exist
        row = await _find(session, key_id, for_update=True)
        if row.revoked_at is not None or not row.is_active:
            raise ProviderKeyRevoked()
        data_key = await open_data_key(session, keyring=keyring, tenant_id=tenant_id)
        secret = decrypt_secret(data_key, row.ciphertext, tenant_id=tenant_id, record_id=row.id)
        row.last_used_at = utcnow()
        session.add(row)
        audit.record(
            session,
            actor=actor,
            user_id=user_id,
            action="provider_key.use",
            resource_type=TYPE_NAME,
            resource_id=row.id,
            details={"provider": row.provider, "name": row.name, **(details or {})},
        )
    return secret


# Newest first; revoked keys are listed too (isActive false) until their tenant is purged.
ORDER = SortOrder.by_time(
    "CREATED_AT", col(ProviderKey.created_at), col(ProviderKey.id), descending=True
)


def provider_keys_listing() -> Listing:
    """Newest first; revoked keys included."""
    return Listing.of(sa.select(ProviderKey), ORDER)
