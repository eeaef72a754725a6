"""Feature modules, provider keys, tenant data keys and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tenantflow.db.base import TenantOwned, created_at_field, new_id, optional_timestamp_field
from tenantflow.db.types import JSONType


class Module(SQLModel, table=True):
    """The global module catalogue, kept as data (seeded and extended by migrations)."""

    __tablename__ = "modules"

    key: str = Field(primary_key=True, max_length=50)
    name: str = Field(max_length=100)
    description: str = Field(max_length=500)
    depends_on: list[str] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    required_settings: list[str] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    position: int = Field(default=0)


class TenantModule(TenantOwned, table=True):
    __tablename__ = "tenant_modules"

    tenant_id: uuid.UUID = Field(
        default=None, foreign_key="tenants.id", ondelete="CASCADE", primary_key=True
    )
    module_key: str = Field(foreign_key="modules.key", primary_key=True, max_length=50)
    enabled: bool = Field(default=False)
    enabled_at: datetime | None = optional_timestamp_field()
    updated_at: datetime = created_at_field()


class TenantDataKey(TenantOwned, table=True):
    """A tenant's data key, wrapped (AES-GCM) by a master key; destroyed with the tenant's purge."""

    __tablename__ = "tenant_data_keys"

    tenant_id: uuid.UUID = Field(
        default=None, foreign_key="tenants.id", ondelete="CASCADE", primary_key=True
    )
    wrapped_key: bytes = Field(sa_type=sa.LargeBinary)
    # Identifies the master key that wrapped it (a fingerprint, never the key).
    master_key_id: str = Field(max_length=32)
    created_at: datetime = created_at_field()
    rewrapped_at: datetime | None = optional_timestamp_field()


class ProviderKey(TenantOwned, table=True):
    __tablename__ = "provider_keys"
    __table_args__ = (sa.Index(None, "tenant_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider: str = Field(max_length=50)
    name: str = Field(max_length=100)
    # Nonce and AES-GCM ciphertext under the tenant's data key; authenticated with the row's id.
    ciphertext: bytes = Field(sa_type=sa.LargeBinary)
    masked_key: str = Field(max_length=32)
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = optional_timestamp_field()
    last_used_at: datetime | None = optional_timestamp_field()


class AuditLog(TenantOwned, table=True):
    """Append-only: on PostgreSQL no role may update, delete or truncate it (grants, triggers)."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        sa.Index(None, "tenant_id", "created_at", "id"),
        sa.Index(None, "tenant_id", "action", "created_at"),
        sa.Index(None, "tenant_id", "resource_type", "resource_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    action: str = Field(max_length=50)
    resource_type: str = Field(max_length=50)
    resource_id: str | None = Field(default=None, max_length=100)
    actor_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    actor_api_key_id: uuid.UUID | None = None
    actor_api_key_name: str | None = Field(default=None, max_length=100)
    details: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    ip_address: str | None = Field(default=None, max_length=45)
    request_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = created_at_field()


__all__ = [
    "AuditLog",
    "Module",
    "ProviderKey",
    "TenantDataKey",
    "TenantModule",
]
