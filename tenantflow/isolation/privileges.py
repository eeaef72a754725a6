"""The roles around the tables: the runtime role cannot get around RLS, nobody logs in as the system
role, and the deployment's roles reach no other database of the cluster (nor PUBLIC this one)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantflow.isolation.expected import Deployment
from tenantflow.isolation.findings import Finding

_ATTRIBUTES_SQL = text(
    "SELECT rolname, rolsuper, rolbypassrls, rolcanlogin FROM pg_roles"
    " WHERE rolname = ANY(CAST(:roles AS text[])) ORDER BY 1"
)
_TABLE_OWNERS_SQL = text(
    """
    SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c
    WHERE c.relname = ANY(CAST(:tables AS text[])) AND c.relkind IN ('r', 'p')
      AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
    ORDER BY 1
    """
)
_IS_MEMBER_SQL = text("SELECT pg_has_role(:member, :role, 'MEMBER')")
# Members of the system role, directly or through other roles (pg_auth_members, not pg_has_role:
# superusers count as members of everything, and they are a concern of their own).
_LOGIN_MEMBERS_SQL = text(
    """
    WITH RECURSIVE members(oid) AS (
        SELECT m.member FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
        WHERE r.rolname = :system
        UNION
        SELECT m.member FROM pg_auth_members m JOIN members ON m.roleid = members.oid
    )
    SELECT r.rolname FROM members JOIN pg_roles r ON r.oid = members.oid
    WHERE r.rolcanlogin ORDER BY 1
    """
)
# Databases other than this one where the roles hold a privilege or own something (pg_shdepend
# records both per database; privileges on databases themselves under dbid 0).
_ELSEWHERE_SQL = text(
    """
    SELECT DISTINCT r.rolname, coalesce(d.datname, granted.datname)
    FROM pg_shdepend s
    JOIN pg_roles r ON r.oid = s.refobjid AND s.refclassid = 'pg_authid'::regclass
    LEFT JOIN pg_database d ON s.dbid <> 0 AND d.oid = s.dbid
    LEFT JOIN pg_database granted
      ON s.dbid = 0 AND s.classid = 'pg_database'::regclass AND granted.oid = s.objid
    WHERE r.rolname = ANY(CAST(:roles AS text[]))
      AND coalesce(d.datname, granted.datname) IS NOT NULL
      AND coalesce(d.datname, granted.datname) <> current_database()
    ORDER BY 1, 2
    """
)
_PUBLIC_CONNECT_SQL = text(
    """
    SELECT current_database(), datacl IS NULL OR EXISTS (
        SELECT 1 FROM aclexplode(datacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT')
    FROM pg_database WHERE datname = current_database()
    """
)


async def _runtime(connection: AsyncConnection, deployment: Deployment) -> list[Finding]:
    findings: list[Finding] = []
    runtime, system = deployment.runtime_role, deployment.roles.system
    names = [runtime, *deployment.roles.all]
    for role, superuser, bypass, login in (
        await connection.execute(_ATTRIBUTES_SQL, {"roles": names})
    ).all():
        if superuser:
            findings.append(
                Finding(
                    "roles",
                    role,
                    "is a superuser: row level security does not apply to it",
                    f"ALTER ROLE {role} NOSUPERUSER",
                )
            )
        if bypass:
            findings.append(
                Finding(
                    "roles",
                    role,
                    "has BYPASSRLS: every policy is skipped for it",
                    f"ALTER ROLE {role} NOBYPASSRLS",
                )
            )
        if role == system and login:
            findings.append(
                Finding(
                    "roles",
                    role,
                    "the system role can log in: it sees every tenant",
                    f"ALTER ROLE {role} NOLOGIN",
                )
            )
    owners = (
        await connection.execute(_TABLE_OWNERS_SQL, {"tables": list(deployment.tenant_tables)})
    ).scalars()
    for owner in owners:
        member = await connection.scalar(_IS_MEMBER_SQL, {"member": runtime, "role": owner})
        if member:
            findings.append(
                Finding(
                    "roles",
                    runtime,
                    f"the runtime role owns the tenant tables or is a member of their owner"
                    f" {owner}: an owner can switch row level security off",
                    f"connect the runtime as a login role granted only {deployment.roles.app}"
                    + (f" (REVOKE {owner} FROM {runtime})" if owner != runtime else ""),
                )
            )
    return findings


async def _system_members(connection: AsyncConnection, deployment: Deployment) -> list[Finding]:
    system = deployment.roles.system
    return [
        Finding(
            "roles",
            member,
            f"login role that is a member of {system}, which sees every tenant",
            f"REVOKE {system} FROM {member}",
        )
        for member in (await connection.execute(_LOGIN_MEMBERS_SQL, {"system": system})).scalars()
    ]


async def _elsewhere(connection: AsyncConnection, deployment: Deployment) -> list[Finding]:
    roles = [*deployment.roles.all, deployment.runtime_role]
    findings = [
        Finding(
            "roles",
            role,
            f"holds privileges in the database {database} too: the deployments would share it",
            "give each deployment roles of its own (TENANTFLOW_DATABASE_ROLE_PREFIX), or REVOKE"
            f" what {role} holds in {database}",
        )
        for role, database in (await connection.execute(_ELSEWHERE_SQL, {"roles": roles})).all()
    ]
    database, public_connects = (await connection.execute(_PUBLIC_CONNECT_SQL)).one()
    if public_connects:
        findings.append(
            Finding(
                "roles",
                "PUBLIC",
                f"may connect to {database}: every login role of the cluster can reach it",
                f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC;'
                f' GRANT CONNECT ON DATABASE "{database}" TO {deployment.roles.app}',
            )
        )
    return findings


async def check(connection: AsyncConnection, deployment: Deployment) -> list[Finding]:
    return [
        *await _runtime(connection, deployment),
        *await _system_members(connection, deployment),
        *await _elsewhere(connection, deployment),
    ]
