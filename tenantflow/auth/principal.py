"""Who a request acts as: resolved from its credentials, once per request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenantflow.auth.permissions import Permission, permissions_of
from tenantflow.enums import Plan, Role, TenantStatus


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified identity in one tenant. The role is the membership's (or the API key's), read
    from the database for this request, never from the token."""

    tenant_id: uuid.UUID
    role: Role
    tenant_status: TenantStatus
    plan: Plan
    user_id: uuid.UUID | None = None
    # The refresh-token family (sign-in session) of an access token.
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    api_key_name: str | None = None

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.role)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def is_suspended(self) -> bool:
        return self.tenant_status is TenantStatus.SUSPENDED
