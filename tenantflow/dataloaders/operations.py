"""Loaders of the operations domain (provider keys, audit logs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenantflow.dataloaders.base import TenantLoader, rows_by_id
from tenantflow.db.models import AuditLog, ProviderKey
from tenantflow.db.session import TenantDb


@dataclass
class OperationLoaders:
    provider_keys: TenantLoader[uuid.UUID, ProviderKey | None]
    audit_logs: TenantLoader[uuid.UUID, AuditLog | None]

    @classmethod
    def create(cls, db: TenantDb) -> OperationLoaders:
        return cls(provider_keys=rows_by_id(db, ProviderKey), audit_logs=rows_by_id(db, AuditLog))
