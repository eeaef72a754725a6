"""Loaders of the identity domain (tenants, members, invitations, API keys)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenantflow.db.session import SessionFactory


@dataclass
class IdentityLoaders:
    @classmethod
    def create(cls, sessions: SessionFactory, tenant_id: uuid.UUID) -> IdentityLoaders:
        return cls()
