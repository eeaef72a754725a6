"""Row Level Security on every tenant-owned table, and no policy that lets rows around it."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantflow.isolation.expected import TENANT_SETTING, Deployment
from tenantflow.isolation.findings import Finding

_TABLES_SQL = text(
    """
    SELECT t.name, c.relrowsecurity, c.relforcerowsecurity
    FROM unnest(CAST(:tables AS text[])) AS t(name)
    LEFT JOIN pg_class c
      ON c.relname = t.name AND c.relkind IN ('r', 'p')
     AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
    ORDER BY 1
    """
)
_POLICIES_SQL = text(
    """
    SELECT tablename, policyname, permissive, CAST(roles AS text[]), cmd, qual, with_check
    FROM pg_policies
    WHERE schemaname = current_schema() AND tablename = ANY(CAST(:tables AS text[]))
    ORDER BY tablename, policyname
    """
)
# `tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)` as
# pg_get_expr prints it: the whole expression is that one comparison (no OR, nothing after it).
_ON_TENANT = re.compile(
    r"\(tenant_id = \( SELECT \(NULLIF\(current_setting\('"
    + re.escape(TENANT_SETTING)
    + r"'::text, true\), ''::text\)\)::uuid AS \"?nullif\"?\)\)"
)
TENANT_POLICY_SQL = (
    "CREATE POLICY tenant_isolation ON {table} USING (tenant_id = (SELECT nullif(current_setting("
    f"'{TENANT_SETTING}', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT nullif("
    f"current_setting('{TENANT_SETTING}', true), '')::uuid))"
)


def on_tenant_setting(expression: str | None) -> bool:
    return expression is not None and bool(_ON_TENANT.fullmatch(" ".join(expression.split())))


async def check(connection: AsyncConnection, deployment: Deployment) -> list[Finding]:
    tables = list(deployment.tenant_tables)
    findings: list[Finding] = []
    for name, enabled, forced in (await connection.execute(_TABLES_SQL, {"tables": tables})).all():
        if enabled is None:
            findings.append(
                Finding("tables", name, "the table is missing", "run `tenantflow migrate`")
            )
            continue
        if not enabled:
            findings.append(
                Finding(
                    "tables",
                    name,
                    "row level security is not enabled",
                    f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY",
                )
            )
        if not forced:
            findings.append(
                Finding(
                    "tables",
                    name,
                    "row level security is not forced (its owner skips the policies)",
                    f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY",
                )
            )
    policies = (await connection.execute(_POLICIES_SQL, {"tables": tables})).all()
    guarded: set[str] = set()
    for table, policy, permissive, roles, command, using, with_check in policies:
        if permissive != "PERMISSIVE":
            continue  # a restrictive policy only narrows what the permissive ones let through
        if command == "ALL" and roles == ["public"] and on_tenant_setting(using):
            if on_tenant_setting(with_check):
                guarded.add(table)
                continue
            findings.append(
                Finding(
                    "tables",
                    f"{table}.{policy}",
                    "the tenant policy has no WITH CHECK on the tenant setting",
                    f"DROP POLICY {policy} ON {table}; " + TENANT_POLICY_SQL.format(table=table),
                )
            )
            continue
        if roles == [deployment.roles.system]:
            continue  # the narrow paths' owner: only reachable through the documented functions
        findings.append(
            Finding(
                "tables",
                f"{table}.{policy}",
                f"policy for {command} to {', '.join(roles)} lets rows through outside the tenant"
                f" setting (USING {using}, WITH CHECK {with_check})",
                f"DROP POLICY {policy} ON {table}",
            )
        )
    findings.extend(
        Finding(
            "tables",
            table,
            f"no policy keyed on {TENANT_SETTING} with USING and WITH CHECK",
            TENANT_POLICY_SQL.format(table=table),
        )
        for table in tables
        if table not in guarded
    )
    return findings
