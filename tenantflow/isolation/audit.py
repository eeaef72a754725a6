"""Audit rows cannot be changed: no role of the deployment (nor PUBLIC) may UPDATE, DELETE or
TRUNCATE them, and enabled BEFORE triggers refuse all three for every role.

The one exception is the system role's DELETE: the owner-run purge of a deleted tenant goes through
it (tf_purge_deleted_tenants), and the trigger lets rows go only for that tenant."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantflow.isolation.expected import AUDIT_TABLE, Deployment
from tenantflow.isolation.findings import Finding

CHANGES = ("UPDATE", "DELETE", "TRUNCATE")
# pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h).
_BEFORE, _DELETE, _UPDATE, _TRUNCATE = 1 << 1, 1 << 3, 1 << 4, 1 << 5
_EVENT_BITS = {"UPDATE": _UPDATE, "DELETE": _DELETE, "TRUNCATE": _TRUNCATE}

_PRIVILEGES_SQL = text(
    """
    SELECT grantee.name, privilege.name
    FROM unnest(CAST(:roles AS text[])) AS grantee(name),
         unnest(CAST(:privileges AS text[])) AS privilege(name)
    WHERE to_regclass(:table) IS NOT NULL
      AND has_table_privilege(grantee.name, :table, privilege.name)
      AND NOT (grantee.name = :system AND privilege.name = 'DELETE')
    UNION ALL
    SELECT 'PUBLIC', a.privilege_type
    FROM pg_class c, aclexplode(c.relacl) a
    WHERE c.oid = to_regclass(:table) AND a.grantee = 0
      AND a.privilege_type = ANY(CAST(:privileges AS text[]))
    ORDER BY 1, 2
    """
)
# Enabled triggers ('O': origin and local, 'A': always); 'D' is off, 'R' fires only on replicas.
_TRIGGERS_SQL = text(
    "SELECT tgtype FROM pg_trigger WHERE tgrelid = to_regclass(:table)"
    " AND NOT tgisinternal AND tgenabled IN ('O', 'A')"
)


async def check(connection: AsyncConnection, deployment: Deployment) -> list[Finding]:
    table = AUDIT_TABLE
    roles = [deployment.runtime_role, *deployment.roles.all]
    granted = (
        await connection.execute(
            _PRIVILEGES_SQL,
            {
                "roles": roles,
                "privileges": list(CHANGES),
                "table": table,
                "system": deployment.roles.system,
            },
        )
    ).all()
    findings = [
        Finding(
            "audit",
            f"{table} ({role})",
            f"{role} may {privilege} audit rows",
            f"REVOKE {privilege} ON {table} FROM {role}",
        )
        for role, privilege in granted
    ]
    types = list((await connection.execute(_TRIGGERS_SQL, {"table": table})).scalars())
    findings.extend(
        Finding(
            "audit",
            table,
            f"no enabled BEFORE {change} trigger refuses changes to audit rows",
            "run `tenantflow migrate` (migration 0003 creates the triggers), or"
            f" ALTER TABLE {table} ENABLE TRIGGER ALL",
        )
        for change in CHANGES
        if not any(kind & _BEFORE and kind & _EVENT_BITS[change] for kind in types)
    )
    return findings
