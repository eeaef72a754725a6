"""check-isolation's lint: silent on a freshly migrated deployment, and each planted defect is
found (with its fix) in a scratch deployment of the test's own."""

from __future__ import annotations

import uuid

import pytest

from tenantflow.isolation.expected import tenant_owned_tables
from tenantflow.isolation.findings import Finding
from tests.isolation.conftest import findings_of, run_sql
from tests.pg_deployments import ADMIN_URL, PostgresDatabase, url_for

pytestmark = pytest.mark.postgresql


def subjects(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.check, f.subject) for f in found]


async def test_a_freshly_migrated_deployment_has_no_findings(scratch: PostgresDatabase) -> None:
    assert await findings_of(scratch) == []


def test_tenant_tables_come_from_the_models() -> None:
    tables = tenant_owned_tables()
    assert {"workflows", "executions", "audit_logs", "memberships"} <= set(tables)
    assert not {"tenants", "users", "modules"} & set(tables)


async def test_rls_not_forced_on_one_table(scratch: PostgresDatabase) -> None:
    await run_sql(scratch.owner_url, "ALTER TABLE workflows NO FORCE ROW LEVEL SECURITY")
    found = await findings_of(scratch)
    assert subjects(found) == [("tables", "workflows")]
    assert found[0].fix == "ALTER TABLE workflows FORCE ROW LEVEL SECURITY"


async def test_rls_disabled_on_one_table(scratch: PostgresDatabase) -> None:
    await run_sql(scratch.owner_url, "ALTER TABLE deployments DISABLE ROW LEVEL SECURITY")
    found = await findings_of(scratch)
    assert subjects(found) == [("tables", "deployments")]
    assert "ENABLE ROW LEVEL SECURITY" in found[0].fix


async def test_a_using_true_policy(scratch: PostgresDatabase) -> None:
    await run_sql(scratch.owner_url, "CREATE POLICY peek ON executions FOR SELECT USING (true)")
    found = await findings_of(scratch)
    assert subjects(found) == [("tables", "executions.peek")]
    assert found[0].fix == "DROP POLICY peek ON executions"


async def test_a_policy_that_ors_the_tenant_setting_with_something_else(
    scratch: PostgresDatabase,
) -> None:
    await run_sql(
        scratch.owner_url,
        "DROP POLICY tenant_isolation ON workflows",
        "CREATE POLICY tenant_isolation ON workflows"
        " USING (tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true),"
        " '')::uuid) OR name = 'shared')"
        " WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true),"
        " '')::uuid))",
    )
    found = await findings_of(scratch)
    assert ("tables", "workflows.tenant_isolation") in subjects(found)
    assert ("tables", "workflows") in subjects(found)  # no sound tenant policy left


async def test_a_tenant_policy_without_with_check(scratch: PostgresDatabase) -> None:
    await run_sql(
        scratch.owner_url,
        "DROP POLICY tenant_isolation ON api_keys",
        "CREATE POLICY tenant_isolation ON api_keys"
        " USING (tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true),"
        " '')::uuid))",
    )
    found = await findings_of(scratch)
    assert ("tables", "api_keys.tenant_isolation") in subjects(found)


async def test_an_extra_security_definer_function(scratch: PostgresDatabase) -> None:
    await run_sql(
        scratch.owner_url,
        "CREATE FUNCTION tf_peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
        " SET search_path = public, pg_temp AS 'SELECT count(*) FROM workflows'",
    )
    found = await findings_of(scratch)
    assert subjects(found) == [("functions", "public.tf_peek()")]


async def test_a_narrow_path_without_a_fixed_search_path(scratch: PostgresDatabase) -> None:
    await run_sql(scratch.admin_url, "ALTER FUNCTION tf_find_api_key(text) RESET search_path")
    found = await findings_of(scratch)
    assert subjects(found) == [("functions", "public.tf_find_api_key(text)")]
    assert "SET search_path = public, pg_temp" in found[0].fix


async def test_an_owner_only_purge_granted_to_the_runtime(scratch: PostgresDatabase) -> None:
    await run_sql(
        scratch.admin_url,
        f"GRANT EXECUTE ON FUNCTION tf_purge_expired(timestamptz, timestamptz)"
        f" TO {scratch.roles.app}",
    )
    found = await findings_of(scratch)
    assert subjects(found) == [
        ("functions", "public.tf_purge_expired(timestamp with time zone, timestamp with time zone)")
    ]


async def test_a_login_role_granted_the_system_role(scratch: PostgresDatabase) -> None:
    intruder = f"{scratch.roles.prefix}_intruder"  # the scratch deployment's own name
    try:
        await run_sql(
            scratch.admin_url,
            f"CREATE ROLE {intruder} LOGIN",
            f"GRANT {scratch.roles.system} TO {intruder}",
        )
        found = await findings_of(scratch)
        assert subjects(found) == [("roles", intruder)]
        assert found[0].fix == f"REVOKE {scratch.roles.system} FROM {intruder}"
    finally:
        await run_sql(scratch.admin_url, f"DROP ROLE IF EXISTS {intruder}")


async def test_a_login_role_in_the_system_role_through_another_role(
    scratch: PostgresDatabase,
) -> None:
    middle, intruder = f"{scratch.roles.prefix}_middle", f"{scratch.roles.prefix}_intruder"
    try:
        await run_sql(
            scratch.admin_url,
            f"CREATE ROLE {middle} NOLOGIN",
            f"CREATE ROLE {intruder} LOGIN",
            f"GRANT {scratch.roles.system} TO {middle}",
            f"GRANT {middle} TO {intruder}",
        )
        assert subjects(await findings_of(scratch)) == [("roles", intruder)]
    finally:
        await run_sql(
            scratch.admin_url, f"DROP ROLE IF EXISTS {intruder}", f"DROP ROLE IF EXISTS {middle}"
        )


async def test_the_runtime_role_made_bypassrls(scratch: PostgresDatabase) -> None:
    await run_sql(scratch.admin_url, f'ALTER ROLE "{scratch.runtime_role}" BYPASSRLS')
    found = await findings_of(scratch)
    assert subjects(found) == [("roles", scratch.runtime_role)]
    assert found[0].fix == f"ALTER ROLE {scratch.runtime_role} NOBYPASSRLS"


async def test_the_runtime_role_made_superuser(scratch: PostgresDatabase) -> None:
    await run_sql(scratch.admin_url, f'ALTER ROLE "{scratch.runtime_role}" SUPERUSER')
    try:
        assert ("roles", scratch.runtime_role) in subjects(await findings_of(scratch))
    finally:
        await run_sql(scratch.admin_url, f'ALTER ROLE "{scratch.runtime_role}" NOSUPERUSER')


async def test_the_runtime_role_a_member_of_the_tables_owner(scratch: PostgresDatabase) -> None:
    await run_sql(scratch.admin_url, f'GRANT "{scratch.owner_role}" TO "{scratch.runtime_role}"')
    found = [f for f in await findings_of(scratch) if f.check == "roles"]
    assert subjects(found) == [("roles", scratch.runtime_role)]
    assert "owner" in found[0].problem


async def test_roles_holding_privileges_in_another_database(scratch: PostgresDatabase) -> None:
    other = f"tf_test_other_{uuid.uuid4().hex[:8]}"
    try:
        await run_sql(
            scratch.admin_url,
            f'CREATE DATABASE "{other}"',
            f'GRANT CONNECT ON DATABASE "{other}" TO {scratch.roles.app}',
        )
        found = await findings_of(scratch)
        assert subjects(found) == [("roles", scratch.roles.app)]
        assert other in found[0].problem
    finally:
        await run_sql(url_for(ADMIN_URL), f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')


async def test_public_may_connect(scratch: PostgresDatabase) -> None:
    await run_sql(scratch.owner_url, f'GRANT CONNECT ON DATABASE "{scratch.name}" TO PUBLIC')
    assert subjects(await findings_of(scratch)) == [("roles", "PUBLIC")]


@pytest.mark.parametrize("privilege", ["UPDATE", "DELETE", "TRUNCATE"])
async def test_audit_rows_changeable_by_the_runtime(
    scratch: PostgresDatabase, privilege: str
) -> None:
    await run_sql(scratch.owner_url, f"GRANT {privilege} ON audit_logs TO {scratch.roles.app}")
    found = await findings_of(scratch)
    assert {(f.check, f.problem) for f in found} == {
        ("audit", f"{scratch.roles.app} may {privilege} audit rows"),
        ("audit", f"{scratch.runtime_role} may {privilege} audit rows"),
    }


async def test_audit_triggers_disabled(scratch: PostgresDatabase) -> None:
    await run_sql(scratch.owner_url, "ALTER TABLE audit_logs DISABLE TRIGGER USER")
    found = await findings_of(scratch)
    assert [f.problem for f in found] == [
        f"no enabled BEFORE {change} trigger refuses changes to audit rows"
        for change in ("UPDATE", "DELETE", "TRUNCATE")
    ]


async def test_a_plain_reference_between_tenant_tables(scratch: PostgresDatabase) -> None:
    await run_sql(
        scratch.owner_url,
        "ALTER TABLE deployments ADD CONSTRAINT plain_workflow"
        " FOREIGN KEY (workflow_id) REFERENCES workflows (id)",
    )
    found = await findings_of(scratch)
    assert subjects(found) == [("references", "deployments.plain_workflow")]
    assert "(tenant_id, workflow_id) REFERENCES workflows (tenant_id, id)" in found[0].fix


async def test_a_new_tenant_table_without_rls_is_found(scratch: PostgresDatabase) -> None:
    # A table a later migration forgot: found by its tenant_id column as well as by the models.
    await run_sql(
        scratch.owner_url,
        "CREATE TABLE notes (id uuid PRIMARY KEY, tenant_id uuid NOT NULL REFERENCES tenants (id))",
    )
    found = await findings_of(scratch)
    assert ("tables", "notes") in subjects(found)
    assert {f.subject for f in found} == {"notes"}
