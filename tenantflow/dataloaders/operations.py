"""Loaders of the operations domain (modules, provider keys, audit logs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenantflow.db.session import SessionFactory


@dataclass
class OperationLoaders:
    @classmethod
    def create(cls, sessions: SessionFactory, tenant_id: uuid.UUID) -> OperationLoaders:
        return cls()
