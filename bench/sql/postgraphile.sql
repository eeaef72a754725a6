-- PostGraphile's copy of the data (a clone of tenantflow's database), run as the tables' owner.
-- What a PostGraphile deployment of this schema adds, since PostGraphile has no application code:
-- column defaults for what tenantflow's services fill in, a trigger for what updateWorkflow does
-- to updated_at and version, the computed column durationMs, and the rule that a user is visible
-- only as a member of the current tenant. RLS stays as tenantflow's migrations made it (FORCED).
\set ON_ERROR_STOP on

ALTER TABLE workflows
    ALTER COLUMN id SET DEFAULT gen_random_uuid(),
    ALTER COLUMN tenant_id SET DEFAULT nullif(current_setting('app.current_tenant_id', true), '')::uuid,
    ALTER COLUMN status SET DEFAULT 'DRAFT',
    ALTER COLUMN version SET DEFAULT 1,
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();

ALTER TABLE executions
    ALTER COLUMN id SET DEFAULT gen_random_uuid(),
    ALTER COLUMN tenant_id SET DEFAULT nullif(current_setting('app.current_tenant_id', true), '')::uuid,
    ALTER COLUMN status SET DEFAULT 'QUEUED',
    ALTER COLUMN workflow_version SET DEFAULT 1,
    ALTER COLUMN attempts SET DEFAULT 0,
    ALTER COLUMN queued_at SET DEFAULT now();

CREATE FUNCTION workflows_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER workflows_touch BEFORE UPDATE ON workflows
    FOR EACH ROW EXECUTE FUNCTION workflows_touch();

CREATE FUNCTION executions_duration_ms(e executions) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT round(extract(epoch FROM e.finished_at - e.started_at) * 1000)::integer
$$;

-- tenantflow shows a user only while it is a member of the active tenant; memberships' own
-- policy limits the sub-select to the current tenant. Not forced: the owner is not filtered.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY members_of_current_tenant ON users
    USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id));

-- PostGraphile's Node interface takes the field name nodeId.
COMMENT ON COLUMN execution_steps.node_id IS E'@name stepNodeId';

-- The narrow paths are tenantflow's internals, not API.
COMMENT ON FUNCTION tf_find_api_key(text) IS E'@omit';
COMMENT ON FUNCTION tf_find_refresh_token(text) IS E'@omit';
COMMENT ON FUNCTION tf_find_invitation(text) IS E'@omit';
COMMENT ON FUNCTION tf_user_memberships(uuid) IS E'@omit';
COMMENT ON FUNCTION tf_claim_execution(text, integer) IS E'@omit';

ANALYZE;
