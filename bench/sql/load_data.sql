-- The benchmark's data set, loaded through SQL as the owner of the tables.
-- psql variables: tenants, members, workflows, executions (per workflow), deployments, audit.
--
-- Ids are deterministic (bench/ids.py computes the same ones), so that tokens, request files and
-- pgbench scripts can name rows without reading them back:
--   kind-iiii-4000-8000-jjjjjjjjjjjj, kind 1 tenant, 2 user, 3 membership, 4 session, 5 workflow.
-- Executions, deployments and audit rows get random ids: nothing names them.
--
-- Row Level Security is FORCED on the tenant tables, so it filters the owner too: each tenant's
-- rows are inserted under that tenant's transaction-local app.current_tenant_id, and the policies'
-- WITH CHECK holds every row to it. Every execution is finished, so the executor finds no work.
\set ON_ERROR_STOP on

SELECT set_config('bench.tenants', :'tenants', false),
       set_config('bench.members', :'members', false),
       set_config('bench.workflows', :'workflows', false),
       set_config('bench.executions', :'executions', false),
       set_config('bench.deployments', :'deployments', false),
       set_config('bench.audit', :'audit', false),
       set_config('bench.now', now()::text, false);

CREATE FUNCTION pg_temp.bid(kind int, i int, j int) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
    SELECT (lpad(to_hex(kind), 8, '0') || '-' || lpad(to_hex(i), 4, '0') || '-4000-8000-'
            || lpad(to_hex(j), 12, '0'))::uuid
$$;

-- Global tables (no RLS): tenants and their users.
INSERT INTO tenants (id, name, slug, plan, status, settings, auth_version, created_at, updated_at)
SELECT pg_temp.bid(1, i, 0), 'Bench tenant ' || i, 'bench-' || i, 'ENTERPRISE', 'ACTIVE', '{}', 1,
       now() - interval '400 days', now() - interval '400 days'
FROM generate_series(1, :tenants) AS i;

INSERT INTO users (id, email_normalized, email, name, password_hash, sessions_valid_after,
                   created_at, updated_at)
SELECT pg_temp.bid(2, i, k), 'u' || k || '.t' || i || '@bench.test',
       'u' || k || '.t' || i || '@bench.test', 'Bench user ' || k, 'not-a-login',
       now() - interval '400 days', now() - interval '400 days', now() - interval '400 days'
FROM generate_series(1, :tenants) AS i, generate_series(1, :members) AS k;

DO $$
DECLARE
    n_tenants int := current_setting('bench.tenants')::int;
    n_members int := current_setting('bench.members')::int;
    n_workflows int := current_setting('bench.workflows')::int;
    n_executions int := current_setting('bench.executions')::int;
    n_deployments int := current_setting('bench.deployments')::int;
    n_audit int := current_setting('bench.audit')::int;
    t0 timestamptz := current_setting('bench.now')::timestamptz;
    noop jsonb := '{"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}';
    tid uuid;
BEGIN
    FOR i IN 1..n_tenants LOOP
        tid := pg_temp.bid(1, i, 0);
        PERFORM set_config('app.current_tenant_id', tid::text, true);

        -- Member 1 owns the tenant, member 2 administers it, the last one only views.
        INSERT INTO memberships (tenant_id, id, user_id, role, created_at, updated_at)
        SELECT tid, pg_temp.bid(3, i, k), pg_temp.bid(2, i, k),
               CASE WHEN k = 1 THEN 'OWNER' WHEN k = 2 THEN 'ADMIN'
                    WHEN k = n_members AND k > 4 THEN 'VIEWER' ELSE 'EDITOR' END,
               t0 - interval '300 days', t0 - interval '300 days'
        FROM generate_series(1, n_members) AS k;

        -- One signed-in session per member: access tokens name it (`sid`).
        INSERT INTO refresh_token_families (tenant_id, id, user_id, created_at)
        SELECT tid, pg_temp.bid(4, i, k), pg_temp.bid(2, i, k), t0 - interval '1 day'
        FROM generate_series(1, n_members) AS k;

        -- j % 10 = 0 archived, 1..2 drafts, the rest active; j % 50 = 25 soft-deleted (2 %).
        INSERT INTO workflows (tenant_id, id, name, description, status, definition, version,
                               owner_id, created_at, updated_at, deleted_at)
        SELECT tid, pg_temp.bid(5, i, j), 'Workflow ' || j, 'Loaded by the benchmark',
               CASE WHEN j % 10 = 0 THEN 'ARCHIVED' WHEN j % 10 IN (1, 2) THEN 'DRAFT'
                    ELSE 'ACTIVE' END,
               noop, 1, pg_temp.bid(2, i, 1 + j % n_members),
               t0 - interval '200 days' + j * interval '1 minute',
               t0 - (random() * interval '90 days'),
               CASE WHEN j % 50 = 25 THEN t0 - interval '1 day' END
        FROM generate_series(1, n_workflows) AS j;

        -- Finished runs only: 1 in 20 failed, 1 in 20 cancelled while queued.
        INSERT INTO executions (tenant_id, id, workflow_id, workflow_version, definition, status,
                                error, triggered_by_id, queued_at, started_at, finished_at,
                                attempts)
        SELECT tid, gen_random_uuid(), pg_temp.bid(5, i, j), 1, noop,
               CASE WHEN k % 20 = 0 THEN 'FAILED' WHEN k % 20 = 1 THEN 'CANCELLED'
                    ELSE 'SUCCEEDED' END,
               CASE WHEN k % 20 = 0 THEN 'step a failed' END,
               pg_temp.bid(2, i, 1 + (j + k) % n_members), q.at,
               CASE WHEN k % 20 <> 1 THEN q.at + interval '1 second' END,
               q.at + interval '1 second' + random() * interval '5 seconds',
               CASE WHEN k % 20 = 1 THEN 0 ELSE 1 END
        FROM generate_series(1, n_workflows) AS j, generate_series(1, n_executions) AS k,
             LATERAL (SELECT t0 - (random() * interval '90 days') AS at) AS q;

        INSERT INTO deployments (tenant_id, id, workflow_id, name, environment, status, url,
                                 version, workflow_version, created_at, updated_at)
        SELECT tid, gen_random_uuid(), pg_temp.bid(5, i, 1 + d % n_workflows), 'Deployment ' || d,
               (ARRAY['DEVELOPMENT', 'STAGING', 'PRODUCTION'])[1 + d % 3],
               (ARRAY['LIVE', 'STOPPED', 'FAILED', 'PENDING'])[1 + d % 4],
               'https://deploy.bench.test/' || i || '/' || d, 1, 1,
               t0 - interval '100 days', t0 - (random() * interval '100 days')
        FROM generate_series(1, n_deployments) AS d;

        INSERT INTO audit_logs (tenant_id, id, action, resource_type, resource_id, actor_user_id,
                                details, created_at)
        SELECT tid, gen_random_uuid(),
               (ARRAY['workflow.create', 'workflow.update', 'execution.run',
                      'deployment.create'])[1 + a % 4],
               CASE WHEN a % 4 = 3 THEN 'Deployment' WHEN a % 4 = 2 THEN 'Execution'
                    ELSE 'Workflow' END,
               pg_temp.bid(5, i, 1 + a % n_workflows)::text,
               pg_temp.bid(2, i, 1 + a % n_members), '{}', t0 - (random() * interval '90 days')
        FROM generate_series(1, n_audit) AS a;
    END LOOP;
END
$$;

-- A fresh load has no visibility map and no statistics: give the planner what a live system has.
VACUUM (ANALYZE);
