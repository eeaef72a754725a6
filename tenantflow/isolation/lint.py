"""Run every catalog check against one deployment and gather the findings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantflow.database_roles import DatabaseRoles
from tenantflow.isolation import audit, functions, privileges, references, tables
from tenantflow.isolation.expected import Deployment, tenant_owned_tables
from tenantflow.isolation.findings import Finding

Check = Callable[[AsyncConnection, Deployment], Awaitable[list[Finding]]]
CHECKS: dict[str, Check] = {
    "tables": tables.check,
    "functions": functions.check,
    "roles": privileges.check,
    "audit": audit.check,
    "references": references.check,
}
# Tables holding a tenant_id that no model declares (added by hand?) are checked all the same.
_TENANT_COLUMN_SQL = text(
    """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
      AND EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
    """
)


async def runtime_role_of(runtime: AsyncEngine) -> str:
    """The login role the runtime connects as (TENANTFLOW_DATABASE_URL)."""
    async with runtime.connect() as connection:
        return str(await connection.scalar(text("SELECT current_user")))


async def lint(owner: AsyncEngine, runtime_role: str, roles: DatabaseRoles) -> list[Finding]:
    """Every finding of every check, read from the catalogs over the owner connection."""
    async with owner.connect() as connection:
        found = set((await connection.execute(_TENANT_COLUMN_SQL)).scalars())
        deployment = Deployment(
            roles=roles,
            runtime_role=runtime_role,
            tenant_tables=tuple(sorted(found | set(tenant_owned_tables()))),
        )
        findings: list[Finding] = []
        for check in CHECKS.values():
            findings.extend(await check(connection, deployment))
    return findings
