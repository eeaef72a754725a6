"""a live feed's read in one statement: tf_feed_events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

PostgreSQL only. A feed (events/feeds.py) read a tenant's new events in a transaction of its own:
BEGIN, the tenant setting, the SELECT, COMMIT, each a round trip and, on a busy process, a turn
of its event loop on the way to every subscriber. `tf_feed_events` sets the tenant for its own
statement and reads, so that one statement outside any transaction does it all.

SECURITY INVOKER: it runs with the caller's rights, under Row Level Security like any runtime
statement, and can do nothing the runtime role cannot do in a transaction of its own; it names
its tenant in the WHERE clause as well. The columns are those of execution_events, then those of
executions without its large JSON (definition, input, output), in table order
(tests/postgres/test_feed_read.py holds them to the models).
"""

from collections.abc import Sequence

from alembic import op

from tenantflow.db.migrate import migration_roles

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "tf_feed_events(uuid, bigint, integer)"
_EVENT_COLUMNS = ("tenant_id", "id", "seq", "execution_id", "workflow_id", "status", "step", "at")
_EXECUTION_COLUMNS = (
    "tenant_id",
    "id",
    "workflow_id",
    "workflow_version",
    "status",
    "error",
    "triggered_by_id",
    "queued_at",
    "started_at",
    "finished_at",
    "lease_owner",
    "lease_expires_at",
    "attempts",
    "cancel_requested_at",
)


def _function() -> str:
    returns = ", ".join(
        [f"event_{c} execution_events.{c}%TYPE" for c in _EVENT_COLUMNS]
        + [f"execution_{c} executions.{c}%TYPE" for c in _EXECUTION_COLUMNS]
    )
    selected = ", ".join(
        [f"e.{c}" for c in _EVENT_COLUMNS] + [f"x.{c}" for c in _EXECUTION_COLUMNS]
    )
    return f"""
CREATE FUNCTION tf_feed_events(p_tenant_id uuid, p_after bigint, p_limit integer)
RETURNS TABLE ({returns})
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
    -- Local to the caller's statement when it runs outside a transaction (as a feed calls it).
    PERFORM set_config('app.current_tenant_id', p_tenant_id::text, true);
    RETURN QUERY
        SELECT {selected}
        FROM execution_events e
        JOIN executions x ON x.tenant_id = e.tenant_id AND x.id = e.execution_id
        WHERE e.tenant_id = p_tenant_id AND e.seq > p_after
        ORDER BY e.seq
        LIMIT p_limit;
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    roles = migration_roles()
    op.execute(_function())
    op.execute(f"REVOKE EXECUTE ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {roles.app}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
