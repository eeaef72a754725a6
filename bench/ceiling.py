"""The raw-SQL ceiling: pgbench scripts, one statement per load, under the same RLS setting.

Each transaction sets the tenant the way tenantflow and PostGraphile do (transaction-local
app.current_tenant_id, a random tenant each time) and then runs the single statement that answers
the load: the dashboard as one JSON-building statement, a workflow with its owner, or one write.
"""

from __future__ import annotations

from pathlib import Path

# pgbench substitutes :t (and :j) in the SQL text; the ids follow bench/ids.py.
TENANT = "'00000001-' || lpad(to_hex(:t), 4, '0') || '-4000-8000-000000000000'"
WORKFLOW = (
    "('00000005-' || lpad(to_hex(:t), 4, '0') || '-4000-8000-' || lpad(to_hex(:j), 12, '0'))::uuid"
)
NOOP = """'{"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}'"""

BEGIN = f"""\\set t random(1, :tenants)
\\set j random(1, :workflows)
BEGIN;
SELECT set_config('app.current_tenant_id', {TENANT}, true);
"""

DASHBOARD = """SELECT json_build_object('data', json_build_object('workflows', json_build_object(
  'totalCount', (SELECT count(*) FROM workflows WHERE deleted_at IS NULL),
  'pageInfo', json_build_object('hasNextPage', count(*) > 50,
                                'endCursor', (array_agg(w.id ORDER BY w.n))[50]),
  'edges', coalesce(json_agg(json_build_object('node', json_build_object(
    'id', w.id, 'name', w.name, 'status', w.status, 'updatedAt', w.updated_at,
    'owner', (SELECT json_build_object('email', u.email) FROM users u WHERE u.id = w.owner_id),
    'executions', json_build_object('edges', (
      SELECT coalesce(json_agg(json_build_object('node', json_build_object(
        'id', e.id, 'status', e.status, 'queuedAt', e.queued_at,
        'durationMs', round(extract(epoch FROM e.finished_at - e.started_at) * 1000)))), '[]')
      FROM (SELECT * FROM executions x WHERE x.workflow_id = w.id
            ORDER BY x.queued_at DESC, x.id DESC LIMIT 5) e)))) ORDER BY w.n)
    FILTER (WHERE w.n <= 50), '[]'))))
FROM (SELECT *, row_number() OVER (ORDER BY updated_at DESC, id DESC) AS n
      FROM workflows WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC LIMIT 51) w;
"""

BY_ID = f"""SELECT json_build_object('id', w.id, 'name', w.name, 'status', w.status,
  'owner', (SELECT json_build_object('email', u.email) FROM users u WHERE u.id = w.owner_id))
FROM workflows w WHERE w.id = {WORKFLOW} AND w.deleted_at IS NULL;
"""

CREATE = f"""INSERT INTO workflows (tenant_id, id, name, status, definition, version, owner_id,
                       created_at, updated_at)
VALUES (({TENANT})::uuid, gen_random_uuid(), 'ceiling ' || :j, 'ACTIVE', {NOOP}, 1, NULL,
        now(), now())
RETURNING id;
"""

UPDATE = f"""UPDATE workflows SET name = 'renamed ' || :j, version = version + 1, updated_at = now()
WHERE id = {WORKFLOW} RETURNING id, version;
"""

RUN = f"""INSERT INTO executions (tenant_id, id, workflow_id, workflow_version, definition, status,
                        queued_at, attempts)
SELECT w.tenant_id, gen_random_uuid(), w.id, w.version, w.definition, 'QUEUED', now(), 0
FROM workflows w WHERE w.id = {WORKFLOW} RETURNING id;
"""

SCRIPTS = {"dashboard": DASHBOARD, "by_id": BY_ID, "create": CREATE, "update": UPDATE, "run": RUN}


def write_scripts(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, statement in SCRIPTS.items():
        path = directory / f"{name}.sql"
        path.write_text(BEGIN + statement + "COMMIT;\n")
        paths[name] = path
    return paths
