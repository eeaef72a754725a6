"""The PostgreSQL roles of one deployment, and what the runtime needs of them.

Roles belong to the cluster, not to a database: two deployments on one cluster must not share
them, or each deployment's runtime could read the other's rows. `TENANTFLOW_DATABASE_ROLE_PREFIX`
names them, `<prefix>_app` (the runtime's grants, granted to a login role by the operator) and
`<prefix>_system` (NOLOGIN, owns the narrow paths; no login role is ever a member).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantflow.database_roles import DatabaseRoles

# What the runtime role must be able to do (checked at start-up, so a forgotten grant is one
# clear line instead of failures at run time). Table -> privileges.
RUNTIME_TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "tenants": ("SELECT", "INSERT", "UPDATE"),
    "users": ("SELECT", "INSERT", "UPDATE"),
    "modules": ("SELECT",),
    "alembic_version": ("SELECT",),
    "audit_logs": ("SELECT", "INSERT"),
    **dict.fromkeys(
        (
            "memberships",
            "invitations",
            "api_keys",
            "refresh_token_families",
            "refresh_tokens",
            "workflows",
            "executions",
            "execution_steps",
            "event_sequences",
            "execution_events",
            "idempotency_keys",
            "usage_counters",
            "deployments",
            "tenant_modules",
            "tenant_data_keys",
            "provider_keys",
        ),
        ("SELECT", "INSERT", "UPDATE", "DELETE"),
    ),
}
RUNTIME_FUNCTIONS = (
    "tf_find_api_key(text)",
    "tf_find_refresh_token(text)",
    "tf_find_invitation(text)",
    "tf_user_memberships(uuid)",
    "tf_claim_execution(text, integer)",
)
# Functions the runtime calls that run with its own rights (SECURITY INVOKER, under RLS): a
# shortcut, not a narrow path (migration 0005).
RUNTIME_INVOKER_FUNCTIONS = ("tf_feed_events(uuid, bigint, integer)",)


# Databases other than this one where the roles hold a privilege or own something: pg_shdepend
# records both, per database (dbid), and privileges on databases themselves (CONNECT) under
# dbid 0 with the database as the object.
_ELSEWHERE_SQL = sa.text(
    """
    SELECT DISTINCT coalesce(d.datname, granted.datname) AS datname
    FROM pg_shdepend s
    JOIN pg_roles r ON r.oid = s.refobjid AND s.refclassid = 'pg_authid'::regclass
    LEFT JOIN pg_database d ON s.dbid <> 0 AND d.oid = s.dbid
    LEFT JOIN pg_database granted
      ON s.dbid = 0 AND s.classid = 'pg_database'::regclass AND granted.oid = s.objid
    WHERE r.rolname IN (:app, :system)
      AND coalesce(d.datname, granted.datname) IS NOT NULL
      AND coalesce(d.datname, granted.datname) <> current_database()
    ORDER BY 1
    """
)
_LOGIN_MEMBERS_SQL = sa.text(
    """
    SELECT member.rolname FROM pg_auth_members m
    JOIN pg_roles role ON role.oid = m.roleid
    JOIN pg_roles member ON member.oid = m.member
    WHERE role.rolname = :system AND member.rolcanlogin
    ORDER BY 1
    """
)


class SharedRolesError(RuntimeError):
    """The deployment's roles already serve another database of the cluster."""


def refuse_shared_roles(connection: Connection, roles: DatabaseRoles) -> None:
    """Raise SharedRolesError when `roles` hold privileges in another database: the two
    deployments would share them, and each one's runtime could read the other's rows."""
    params = {"app": roles.app, "system": roles.system}
    elsewhere = list(connection.execute(_ELSEWHERE_SQL, params).scalars())
    if elsewhere:
        raise SharedRolesError(
            f"the roles {roles.app} and {roles.system} already hold privileges in"
            f" {', '.join(elsewhere)}: give this deployment roles of its own with"
            " TENANTFLOW_DATABASE_ROLE_PREFIX (e.g. TENANTFLOW_DATABASE_ROLE_PREFIX=tf_billing)"
        )


def revoke_login_members(connection: Connection, roles: DatabaseRoles) -> list[str]:
    """Leave no login role a member of the system role (it sees every tenant); the revoked."""
    members = list(connection.execute(_LOGIN_MEMBERS_SQL, {"system": roles.system}).scalars())
    quote = connection.dialect.identifier_preparer.quote
    for member in members:
        connection.execute(sa.text(f"REVOKE {roles.system} FROM {quote(member)}"))
    return members
