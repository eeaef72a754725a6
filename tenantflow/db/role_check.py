"""Refuse to serve against PostgreSQL with a role that Row Level Security would not hold, or one
that lacks what the runtime needs (a forgotten GRANT fails at start-up, not request by request)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantflow.database_roles import DatabaseRoles
from tenantflow.db.roles import (
    RUNTIME_FUNCTIONS,
    RUNTIME_INVOKER_FUNCTIONS,
    RUNTIME_TABLE_PRIVILEGES,
)

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
_MEMBER_SQL = text(
    "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role)"
    " AND pg_has_role(current_user, :role, 'MEMBER')"
)
# Every needed privilege the current role lacks, in one statement.
_LACKING_SQL = text(
    """
    SELECT needed.privilege || ' on ' || needed.object FROM (
        SELECT t.object, t.privilege, to_regclass(t.object) IS NOT NULL
               AND has_table_privilege(t.object, t.privilege) AS held
        FROM unnest(CAST(:tables AS text[]), CAST(:privileges AS text[])) AS t(object, privilege)
        UNION ALL
        SELECT f.object, 'EXECUTE', to_regprocedure(f.object) IS NOT NULL
               AND has_function_privilege(f.object, 'EXECUTE')
        FROM unnest(CAST(:functions AS text[])) AS f(object)
    ) AS needed
    WHERE NOT needed.held
    """
)


class UnsafeDatabaseRoleError(RuntimeError):
    """The runtime role could see other tenants' rows, or cannot do its work; the message is one
    line that says what is wrong and how to fix it."""


@dataclass(frozen=True)
class RoleReport:
    role: str
    # Each a problem and its fix: the role could cross tenants ...
    unsafe: list[str]
    # ... or it lacks something the runtime needs.
    missing: list[str]

    @property
    def problems(self) -> list[str]:
        return [*self.unsafe, *self.missing]


async def _is_member(connection: AsyncConnection, role: str) -> bool:
    return bool((await connection.execute(_MEMBER_SQL, {"role": role})).scalar_one())


async def inspect_runtime_role(engine: AsyncEngine, roles: DatabaseRoles) -> RoleReport:
    unsafe: list[str] = []
    missing: list[str] = []
    async with engine.connect() as connection:
        role, is_superuser, bypasses_rls = (await connection.execute(_ROLE_SQL)).one()
        if is_superuser:
            unsafe.append(f"role {role} is a superuser (superusers skip row level security)")
        if bypasses_rls:
            unsafe.append(f"role {role} has BYPASSRLS (ALTER ROLE {role} NOBYPASSRLS)")
        tables = (await connection.execute(_TENANT_TABLES_SQL)).all()
        for owner in sorted({owner for *_, owner in tables}):
            if await _is_member(connection, owner):
                unsafe.append(
                    f"role {role} owns the tables or is a member of their owner {owner}"
                    " (owners can switch row level security off)"
                )
        if await _is_member(connection, roles.system):
            unsafe.append(
                f"role {role} is a member of {roles.system}, which sees every tenant"
                f" (REVOKE {roles.system} FROM {role})"
            )
        unsafe.extend(
            f"table {name} does not have row level security enabled and forced"
            " (run `tenantflow migrate`)"
            for name, enabled, forced, _owner in tables
            if not (enabled and forced)
        )
        if not tables:
            missing.append("no tenant tables found: run `tenantflow migrate` first")
        elif not unsafe:
            missing.extend(await _missing_privileges(connection, role, roles))
    return RoleReport(role=role, unsafe=unsafe, missing=missing)


async def _missing_privileges(
    connection: AsyncConnection, role: str, roles: DatabaseRoles
) -> list[str]:
    if not await _is_member(connection, roles.app):
        return [f"role {role} is not granted {roles.app}: GRANT {roles.app} TO {role}"]
    needed = [
        (table, privilege)
        for table, privileges in RUNTIME_TABLE_PRIVILEGES.items()
        for privilege in privileges
    ]
    parameters = {
        "tables": [table for table, _ in needed],
        "privileges": [privilege for _, privilege in needed],
        "functions": [*RUNTIME_FUNCTIONS, *RUNTIME_INVOKER_FUNCTIONS],
    }
    lacking = list((await connection.execute(_LACKING_SQL, parameters)).scalars())
    if not lacking:
        return []
    shown = ", ".join(lacking[:3]) + (f" and {len(lacking) - 3} more" if len(lacking) > 3 else "")
    return [
        f"role {role} lacks {shown}: grant it to {roles.app}"
        f" (e.g. GRANT {lacking[0].replace(' on ', ' ON ', 1)} TO {roles.app})"
    ]


def refusal(report: RoleReport, roles: DatabaseRoles) -> str:
    """The one line that says why the server will not start, and what to do."""
    text_ = "refusing to start: " + "; ".join(report.problems)
    if report.unsafe:
        text_ += (
            f". Connect TENANTFLOW_DATABASE_URL as a login role that is neither superuser nor"
            f" BYPASSRLS, does not own the tables and is granted only {roles.app}"
            f" (GRANT {roles.app} TO <login role>); run migrations as the owner"
            " with TENANTFLOW_MIGRATION_DATABASE_URL"
        )
    return text_


async def ensure_safe_runtime_role(engine: AsyncEngine, roles: DatabaseRoles) -> None:
    if engine.dialect.name != "postgresql":
        return
    report = await inspect_runtime_role(engine, roles)
    if report.problems:
        raise UnsafeDatabaseRoleError(refusal(report, roles))
