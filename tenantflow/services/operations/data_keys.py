"""Tenant data keys: one per tenant, wrapped by the master keys, used to encrypt its secrets.

A tenant gets its data key the first time one of its secrets is stored (`data_key_for`), inside
that tenant's transaction: the row is wrapped with the keyring's current master key and records
that key's id. `open_data_key` unwraps it for use; any configured master key unwraps (rotation
without downtime). `rewrap_all` re-wraps every data key under the newest master key, after which
the older master keys can be retired. Purging a tenant deletes its row (crypto-shredding).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.locking import locked
from tenantflow.db.models import Tenant, TenantDataKey
from tenantflow.db.session import SessionFactory, TenantScopeError, execute, session_tenant
from tenantflow.db.types import utcnow
from tenantflow.secrets.envelope import (
    KeyUnavailableError,
    MasterKeyring,
    SecretsError,
    WrappedKey,
    new_data_key,
)


class DataKeyMissingError(SecretsError):
    """The tenant has no data key (it never stored a secret, or it was purged)."""


def _check_scope(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    # The wrapping is bound to the tenant id: it must be the session's own tenant.
    if session_tenant(session.sync_session) != tenant_id:
        raise TenantScopeError("a tenant's data key is used only in that tenant's session")


def _wrapped(row: TenantDataKey) -> WrappedKey:
    return WrappedKey(wrapped=row.wrapped_key, master_key_id=row.master_key_id)


async def _load(session: AsyncSession, *, for_update: bool = False) -> TenantDataKey | None:
    statement = select(TenantDataKey)
    if for_update:
        statement = locked(statement)
    return (await session.exec(statement)).first()


async def open_data_key(
    session: AsyncSession, *, keyring: MasterKeyring, tenant_id: uuid.UUID
) -> bytes:
    """The tenant's data key, unwrapped; `DataKeyMissingError` if it has none.

    `KeyUnavailableError` when the master key that wrapped it is no longer configured.
    """
    _check_scope(session, tenant_id)
    row = await _load(session)
    if row is None:
        raise DataKeyMissingError("the tenant has no data key")
    return keyring.unwrap(_wrapped(row), tenant_id=tenant_id)


async def data_key_for(
    session: AsyncSession, *, keyring: MasterKeyring, tenant_id: uuid.UUID
) -> bytes:
    """The tenant's data key, created (wrapped by the current master key) if it has none yet.

    Runs in the caller's tenant transaction, so a key made for a change that rolls back goes too.
    Two first uses at once both end up with the one key that was stored first.
    """
    _check_scope(session, tenant_id)
    row = await _load(session)
    if row is None:
        wrapped = keyring.wrap(new_data_key(), tenant_id=tenant_id)
        connection = await session.connection()
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        await execute(
            session,
            insert(TenantDataKey)
            .values(
                tenant_id=tenant_id,
                wrapped_key=wrapped.wrapped,
                master_key_id=wrapped.master_key_id,
                created_at=utcnow(),
            )
            # A concurrent first use may have stored one meanwhile: then that one is the key.
            .on_conflict_do_nothing(index_elements=["tenant_id"]),
        )
        row = await _load(session)
        assert row is not None, "the data key was just stored"
    return keyring.unwrap(_wrapped(row), tenant_id=tenant_id)


@dataclass
class RewrapReport:
    """What `rewrap_all` did, by tenant."""

    rewrapped: list[uuid.UUID] = field(default_factory=list)
    already_current: list[uuid.UUID] = field(default_factory=list)
    # Wrapped by a master key that is not configured: left as they are.
    unavailable: list[uuid.UUID] = field(default_factory=list)
    # Did not authenticate under the key they name (tampered or corrupted): left as they are.
    failed: list[uuid.UUID] = field(default_factory=list)


async def rewrap_all(engine: AsyncEngine, keyring: MasterKeyring) -> RewrapReport:
    """Re-wrap every tenant's data key under `keyring.current`; the data keys themselves stay.

    Runs on the owner connection. The tenants table is global and readable; tenant_data_keys is
    tenant-owned (on PostgreSQL under FORCE ROW LEVEL SECURITY, which binds the owner too), so each
    tenant's key is rewrapped in a transaction of its own, scoped to that tenant by the same
    `SessionFactory` the runtime uses (it sets `app.current_tenant_id`). Keys already wrapped by
    the current master key are left alone; one key that cannot be opened does not stop the rest.
    """
    sessions = SessionFactory(engine)
    async with sessions.global_reader() as session:
        tenant_ids = list(
            (await session.exec(select(Tenant.id).order_by(col(Tenant.created_at)))).all()
        )
    report = RewrapReport()
    for tenant_id in tenant_ids:
        async with sessions.for_tenant(tenant_id).transaction() as session:
            row = await _load(session, for_update=True)
            if row is None:
                continue
            if not keyring.needs_rewrap(_wrapped(row)):
                report.already_current.append(tenant_id)
                continue
            try:
                fresh = keyring.rewrap(_wrapped(row), tenant_id=tenant_id)
            except KeyUnavailableError:
                report.unavailable.append(tenant_id)
                continue
            except SecretsError:
                report.failed.append(tenant_id)
                continue
            row.wrapped_key = fresh.wrapped
            row.master_key_id = fresh.master_key_id
            row.rewrapped_at = utcnow()
            session.add(row)
            report.rewrapped.append(tenant_id)
    return report
