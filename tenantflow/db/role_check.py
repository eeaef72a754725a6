"""Refuse to serve against PostgreSQL with a role that Row Level Security would not hold."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The tables that hold tenant data: every one must have RLS enabled and forced.
_TENANT_TABLES_SQL = text(
    """
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r'
      AND EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
    """
)
_ROLE_SQL = text(
    "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
)
_MEMBER_SQL = text("SELECT pg_has_role(current_user, :role, 'MEMBER')")
_ROLE_EXISTS_SQL = text("SELECT 1 FROM pg_roles WHERE rolname = :role")


class UnsafeDatabaseRoleError(RuntimeError):
    """The runtime role could see or change other tenants' rows; the message says how to fix it."""


@dataclass(frozen=True)
class RoleReport:
    role: str
    problems: list[str]


async def inspect_runtime_role(engine: AsyncEngine) -> RoleReport:
    problems: list[str] = []
    async with engine.connect() as connection:
        role, is_superuser, bypasses_rls = (await connection.execute(_ROLE_SQL)).one()
        if is_superuser:
            problems.append(f"role {role} is a superuser (superusers skip row level security)")
        if bypasses_rls:
            problems.append(f"role {role} has BYPASSRLS")
        tables = (await connection.execute(_TENANT_TABLES_SQL)).all()
        if not tables:
            problems.append("no tenant tables found: run `tenantflow migrate` first")
        owners = sorted({owner for *_, owner in tables})
        for owner in owners:
            is_member = (await connection.execute(_MEMBER_SQL, {"role": owner})).scalar_one()
            if is_member:
                problems.append(
                    f"role {role} owns the tables or is a member of their owner {owner}"
                    " (owners can switch row level security off)"
                )
        if (await connection.execute(_ROLE_EXISTS_SQL, {"role": "tenantflow_system"})).first():
            in_system = (
                await connection.execute(_MEMBER_SQL, {"role": "tenantflow_system"})
            ).scalar_one()
            if in_system:
                problems.append(f"role {role} is a member of tenantflow_system (sees every tenant)")
        for name, enabled, forced, _owner in tables:
            if not (enabled and forced):
                problems.append(f"table {name} does not have row level security enabled and forced")
    return RoleReport(role=role, problems=problems)


async def ensure_safe_runtime_role(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        return
    report = await inspect_runtime_role(engine)
    if report.problems:
        raise UnsafeDatabaseRoleError(
            "refusing to start: the runtime database role is not safe for tenant isolation:\n  - "
            + "\n  - ".join(report.problems)
            + "\nConnect TENANTFLOW_DATABASE_URL as a login role that is neither superuser nor"
            " BYPASSRLS, does not own the tables and is not a member of their owner, e.g.:\n"
            "  CREATE ROLE tenantflow_runtime LOGIN PASSWORD '...';\n"
            "  GRANT tenantflow_app TO tenantflow_runtime;\n"
            "Run migrations with TENANTFLOW_MIGRATION_DATABASE_URL as the owner."
        )
