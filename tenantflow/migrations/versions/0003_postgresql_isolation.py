"""postgresql isolation: roles, grants, row level security, append-only audit, narrow paths

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

PostgreSQL only; on SQLite this revision does nothing (isolation there is the application's alone).

Role names come from TENANTFLOW_DATABASE_ROLE_PREFIX (`tenantflow` by default; tenantflow/db/roles.py):
- `<prefix>_app` (NOLOGIN): the runtime's grants. An operator grants it to a login role.
- Every tenant-owned table: RLS enabled and FORCED, one policy keyed on the transaction-local
  `app.current_tenant_id` (missing or empty setting = no rows).
- `<prefix>_system` (NOLOGIN, no BYPASSRLS): owns the narrow paths, small SECURITY DEFINER functions
  that cross tenants for one named purpose each and return only what their caller needs. Its policies
  let it see rows of every tenant; no login role is ever granted it.
- audit_logs: append-only for every role (grants and triggers); the owner-run purge of a deleted
  tenant is the one way out.

Roles are cluster-wide and other databases may use them: they are created if absent, never dropped.
"""

from collections.abc import Sequence

from alembic import op

from tenantflow.db.migrate import migration_roles

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = [
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
    "audit_logs",
]
MUTABLE_TENANT_TABLES = [t for t in TENANT_TABLES if t != "audit_logs"]
CURRENT_TENANT = "(SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)"

# The migrating role must be a member of the system role to hand functions to it; the migration
# environment revokes that membership again before it commits (no login role keeps it).
CREATE_ROLES = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{app}') THEN
        CREATE ROLE {app} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{system}') THEN
        CREATE ROLE {system} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, '{system}', 'MEMBER') THEN
        EXECUTE format('GRANT {system} TO %I', current_user);
    END IF;
END
$$;
"""

# Each narrow path: (signature, returns, body). SECURITY DEFINER with a fixed search_path.
NARROW_PATHS: list[tuple[str, str, str]] = [
    (
        # Authenticating an API key: the tenant is not known until the key is found.
        "tf_find_api_key(p_key_hash text)",
        "TABLE (id uuid, tenant_id uuid, role text, name text, revoked_at timestamptz)",
        "SELECT k.id, k.tenant_id, k.role::text, k.name::text, k.revoked_at"
        " FROM api_keys k WHERE k.key_hash = p_key_hash",
    ),
    (
        # Refreshing a session: the refresh token names its tenant only once found.
        "tf_find_refresh_token(p_token_hash text)",
        "TABLE (id uuid, tenant_id uuid, family_id uuid, expires_at timestamptz,"
        " used_at timestamptz)",
        "SELECT t.id, t.tenant_id, t.family_id, t.expires_at, t.used_at"
        " FROM refresh_tokens t WHERE t.token_hash = p_token_hash",
    ),
    (
        # Accepting an invitation, or signing up with one.
        "tf_find_invitation(p_token_hash text)",
        "TABLE (id uuid, tenant_id uuid, email_normalized text, role text,"
        " expires_at timestamptz, accepted_at timestamptz, revoked_at timestamptz)",
        "SELECT i.id, i.tenant_id, i.email_normalized::text, i.role::text, i.expires_at,"
        " i.accepted_at, i.revoked_at FROM invitations i WHERE i.token_hash = p_token_hash",
    ),
    (
        # Login and the tenant switcher: the tenants a user belongs to, oldest first.
        "tf_user_memberships(p_user_id uuid)",
        "TABLE (tenant_id uuid, role text, created_at timestamptz)",
        "SELECT m.tenant_id, m.role::text, m.created_at FROM memberships m"
        " WHERE m.user_id = p_user_id ORDER BY m.created_at, m.tenant_id",
    ),
    (
        # The executor: lease the oldest claimable execution of any tenant. A QUEUED one nobody
        # holds, or one whose lease expired (its process died): resumed or failed by the caller.
        "tf_claim_execution(p_worker text, p_lease_seconds integer)",
        "TABLE (tenant_id uuid, execution_id uuid, attempts integer)",
        "UPDATE executions e SET lease_owner = p_worker,"
        " lease_expires_at = now() + make_interval(secs => p_lease_seconds),"
        " attempts = e.attempts + 1"
        " WHERE e.id = (SELECT c.id FROM executions c"
        "   WHERE c.status IN ('QUEUED', 'RUNNING')"
        "     AND (c.lease_owner IS NULL OR c.lease_expires_at < now())"
        "   ORDER BY c.queued_at FOR UPDATE SKIP LOCKED LIMIT 1)"
        " RETURNING e.tenant_id, e.id, e.attempts",
    ),
]
RUNTIME_PATHS = [signature for signature, _, _ in NARROW_PATHS]

# Owner-only: the runtime role may not execute these.
PURGE_DELETED_TENANTS = """
CREATE FUNCTION tf_purge_deleted_tenants(p_deleted_before timestamptz)
RETURNS SETOF uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    victim uuid;
BEGIN
    FOR victim IN
        SELECT t.id FROM tenants t
        WHERE t.status = 'DELETED' AND t.deleted_at < p_deleted_before
        ORDER BY t.deleted_at
    LOOP
        -- The audit trigger lets these rows go only for the tenant named here.
        PERFORM set_config('app.purge_tenant', victim::text, true);
        DELETE FROM audit_logs WHERE tenant_id = victim;
        -- Every other tenant-owned row (the data key included) cascades from the tenant.
        DELETE FROM tenants WHERE id = victim;
        RETURN NEXT victim;
    END LOOP;
    PERFORM set_config('app.purge_tenant', '', true);
END
$$;
"""

PURGE_EXPIRED = """
CREATE FUNCTION tf_purge_expired(p_events_before timestamptz, p_executions_before timestamptz)
RETURNS TABLE (events bigint, executions bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    DELETE FROM execution_events WHERE at < p_events_before;
    GET DIAGNOSTICS events = ROW_COUNT;
    DELETE FROM executions
    WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND finished_at < p_executions_before;
    GET DIAGNOSTICS executions = ROW_COUNT;
    RETURN NEXT;
END
$$;
"""

AUDIT_APPEND_ONLY = """
CREATE FUNCTION tf_audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('app.purge_tenant', true) = OLD.tenant_id::text
       AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = OLD.tenant_id AND t.status = 'DELETED') THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
AUDIT_TRIGGERS = [
    "CREATE TRIGGER audit_logs_append_only_rows BEFORE UPDATE OR DELETE ON audit_logs"
    " FOR EACH ROW EXECUTE FUNCTION tf_audit_logs_append_only()",
    "CREATE TRIGGER audit_logs_append_only_truncate BEFORE TRUNCATE ON audit_logs"
    " FOR EACH STATEMENT EXECUTE FUNCTION tf_audit_logs_append_only()",
]


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgresql():
        return
    roles = migration_roles()
    app, system = roles.app, roles.system
    op.execute(CREATE_ROLES.format(app=app, system=system))

    # Row Level Security on every tenant-owned table, forced so that the owner is filtered too.
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table}"
            f" USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )
        op.execute(
            f"CREATE POLICY system_paths ON {table} TO {system} USING (true) WITH CHECK (true)"
        )

    # The runtime: exactly what it needs, nothing it could use to get around the policies.
    op.execute(f"GRANT USAGE ON SCHEMA public TO {app}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON tenants, users TO {app}")
    op.execute(f"GRANT SELECT ON modules, alembic_version TO {app}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(MUTABLE_TENANT_TABLES)} TO {app}"
    )
    op.execute(f"GRANT SELECT, INSERT ON audit_logs TO {app}")

    # The narrow paths' owner sees every tenant, but only through the functions below.
    op.execute(f"GRANT USAGE ON SCHEMA public TO {system}")
    op.execute(f"GRANT SELECT ON api_keys, refresh_tokens, invitations, memberships TO {system}")
    op.execute(f"GRANT SELECT, UPDATE ON executions TO {system}")
    op.execute(f"GRANT SELECT, DELETE ON tenants, audit_logs, execution_events TO {system}")
    op.execute(f"GRANT DELETE ON executions TO {system}")

    for signature, returns, body in NARROW_PATHS:
        op.execute(
            f"CREATE FUNCTION {signature} RETURNS {returns} LANGUAGE sql SECURITY DEFINER"
            f" SET search_path = public, pg_temp AS $$ {body} $$"
        )
    op.execute(PURGE_DELETED_TENANTS)
    op.execute(PURGE_EXPIRED)
    purge_paths = [
        "tf_purge_deleted_tenants(timestamptz)",
        "tf_purge_expired(timestamptz, timestamptz)",
    ]
    # A new owner needs CREATE on the schema at the moment of the change, and not after it.
    op.execute(f"GRANT CREATE ON SCHEMA public TO {system}")
    for signature in [*RUNTIME_PATHS, *purge_paths]:
        function = signature.split("(")[0]
        op.execute(f"ALTER FUNCTION {function} OWNER TO {system}")
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    op.execute(f"REVOKE CREATE ON SCHEMA public FROM {system}")
    for signature in RUNTIME_PATHS:
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature.split('(')[0]} TO {app}")

    op.execute(AUDIT_APPEND_ONLY)
    for trigger in AUDIT_TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    if not _is_postgresql():
        return
    roles = migration_roles()
    op.execute("DROP TRIGGER IF EXISTS audit_logs_append_only_truncate ON audit_logs")
    op.execute("DROP TRIGGER IF EXISTS audit_logs_append_only_rows ON audit_logs")
    op.execute("DROP FUNCTION IF EXISTS tf_audit_logs_append_only()")
    for signature in [
        *RUNTIME_PATHS,
        "tf_purge_deleted_tenants(timestamptz)",
        "tf_purge_expired(timestamptz, timestamptz)",
    ]:
        op.execute(f"DROP FUNCTION IF EXISTS {signature.split('(')[0]}")
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS system_paths ON {table}")
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    every_table = ["tenants", "users", "modules", "alembic_version", *TENANT_TABLES]
    op.execute(f"REVOKE ALL ON {', '.join(every_table)} FROM {roles.app}, {roles.system}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {roles.app}, {roles.system}")
