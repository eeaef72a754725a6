"""deployments that share nothing: CONNECT for the runtime's role only, purges for the owner

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

PostgreSQL only. A new database lets PUBLIC connect, so any login role of the cluster (another
deployment's runtime included) could reach it; CONNECT is revoked from PUBLIC and granted to
`<prefix>_app`. The owner keeps its own right to connect.

The migration environment now leaves no login role a member of `<prefix>_system` (the owner was
one since 0003, which is how it could run the owner-only purges): the owner is granted EXECUTE on
those two functions instead. (The environment also refuses roles that already serve another
database.)
"""

from collections.abc import Sequence

from alembic import op

from tenantflow.db.migrate import migration_roles

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PURGES = "tf_purge_deleted_tenants(timestamptz), tf_purge_expired(timestamptz, timestamptz)"
# Granting on the system role's functions takes its membership, for this transaction only.
_AS_SYSTEM = """
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, '{system}', 'MEMBER') THEN
        EXECUTE format('GRANT {system} TO %I', current_user);
    END IF;
END
$$;
"""
_ON_THIS_DATABASE = """
DO $$
BEGIN
    EXECUTE format('{statement}', current_database());
END
$$;
"""


def _on_this_database(statement: str) -> None:
    op.execute(_ON_THIS_DATABASE.format(statement=statement))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    roles = migration_roles()
    _on_this_database("REVOKE CONNECT ON DATABASE %I FROM PUBLIC")
    _on_this_database(f"GRANT CONNECT ON DATABASE %I TO {roles.app}")
    op.execute(_AS_SYSTEM.format(system=roles.system))
    op.execute(f"GRANT EXECUTE ON FUNCTION {_PURGES} TO CURRENT_USER")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    roles = migration_roles()
    op.execute(_AS_SYSTEM.format(system=roles.system))
    op.execute(f"REVOKE EXECUTE ON FUNCTION {_PURGES} FROM CURRENT_USER")
    _on_this_database(f"REVOKE CONNECT ON DATABASE %I FROM {roles.app}")
    _on_this_database("GRANT CONNECT ON DATABASE %I TO PUBLIC")
