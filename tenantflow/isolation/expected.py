"""What a sound deployment looks like, derived from the code so that new tables are covered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlmodel.main import default_registry

from tenantflow.database_roles import DatabaseRoles
from tenantflow.db import models
from tenantflow.db.base import TenantOwned
from tenantflow.db.roles import RUNTIME_FUNCTIONS

# The documented narrow paths (README, "Tenant isolation"), as PostgreSQL spells their signatures.
RUNTIME_PATHS = frozenset(RUNTIME_FUNCTIONS)
OWNER_ONLY_PATHS = frozenset(
    {
        "tf_purge_deleted_tenants(timestamp with time zone)",
        "tf_purge_expired(timestamp with time zone, timestamp with time zone)",
    }
)
DOCUMENTED_DEFINERS = RUNTIME_PATHS | OWNER_ONLY_PATHS
TENANT_SETTING = "app.current_tenant_id"
AUDIT_TABLE: str = models.AuditLog.__tablename__


def tenant_owned_tables() -> list[str]:
    """Every table of a `TenantOwned` model (importing `models` registered them all)."""
    return sorted(
        cast(sa.Table, mapper.local_table).name
        for mapper in default_registry.mappers
        if issubclass(mapper.class_, TenantOwned)
    )


@dataclass(frozen=True, slots=True)
class Deployment:
    """The names the checks need: the deployment's roles, its runtime login role, its tables."""

    roles: DatabaseRoles
    runtime_role: str
    tenant_tables: tuple[str, ...]
