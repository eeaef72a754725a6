"""Loaders of the identity and tenants domains: the tenant itself, users, members, invitations,
API keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import col, select

from tenantflow.dataloaders.base import TenantLoader, rows_by_id
from tenantflow.db.models import ApiKey, Invitation, Membership, Tenant, User
from tenantflow.db.session import TenantDb
from tenantflow.db.types import utcnow
from tenantflow.enums import TenantStatus
from tenantflow.services.tenants.members import pending


@dataclass
class IdentityLoaders:
    # The request's own tenant only (any other id loads None), unless it was deleted.
    tenant: TenantLoader[uuid.UUID, Tenant | None]
    # Global rows, shown only while the user is a member of the tenant.
    users: TenantLoader[uuid.UUID, User | None]
    members: TenantLoader[uuid.UUID, Membership | None]
    # Pending invitations only.
    invitations: TenantLoader[uuid.UUID, Invitation | None]
    api_keys: TenantLoader[uuid.UUID, ApiKey | None]

    @classmethod
    def create(cls, db: TenantDb) -> IdentityLoaders:
        own_tenant = select(Tenant).where(
            col(Tenant.id) == db.tenant_id, col(Tenant.status) != TenantStatus.DELETED
        )
        # Joined with the tenant's memberships: a former member's user is not shown.
        members_users = select(User).join(Membership, col(Membership.user_id) == col(User.id))
        return cls(
            tenant=rows_by_id(db, Tenant, own_tenant),
            users=rows_by_id(db, User, members_users),
            members=rows_by_id(db, Membership),
            invitations=rows_by_id(db, Invitation, select(Invitation).where(*pending(utcnow()))),
            api_keys=rows_by_id(db, ApiKey),
        )
