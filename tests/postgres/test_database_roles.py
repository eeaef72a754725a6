"""The roles around the tables: append-only audit, the narrow paths, the owner-run purge, and the
start-up refusal of roles that row level security would not hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantflow.db import narrow_paths
from tenantflow.db.engine import create_engine
from tenantflow.db.role_check import (
    UnsafeDatabaseRoleError,
    ensure_safe_runtime_role,
    inspect_runtime_role,
)
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import Role, TenantStatus
from tests.factories import create_tenant
from tests.pg_deployments import ADMIN_URL, PostgresDatabase, url_for

pytestmark = pytest.mark.postgresql


async def in_tenant(engine: AsyncEngine, tenant_id: object, sql: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("SELECT set_config('app.current_tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        await connection.execute(text(sql))


# ---------------------------------------------------------------- audit rows are append-only


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_logs SET action = 'tampered'",
        "DELETE FROM audit_logs",
        "TRUNCATE audit_logs",
    ],
)
async def test_runtime_role_cannot_change_audit_rows(runtime: AsyncEngine, statement: str) -> None:
    tenant = await create_tenant(SessionFactory(runtime))
    with pytest.raises(ProgrammingError, match="permission denied"):
        await in_tenant(runtime, tenant.tenant_id, statement)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_logs SET action = 'tampered'",
        "DELETE FROM audit_logs",
        "TRUNCATE audit_logs",
    ],
)
async def test_even_the_owner_cannot_change_audit_rows(
    runtime: AsyncEngine, owner: AsyncEngine, statement: str
) -> None:
    tenant = await create_tenant(SessionFactory(runtime))
    with pytest.raises(DBAPIError, match="append-only"):
        await in_tenant(owner, tenant.tenant_id, statement)


# ---------------------------------------------------------------- narrow paths


async def test_api_key_lookup_crosses_tenants_only_through_its_function(
    runtime: AsyncEngine,
) -> None:
    tenant = await create_tenant(SessionFactory(runtime))
    async with runtime.connect() as connection:
        # with no tenant set, the table shows nothing...
        assert await connection.scalar(text("SELECT count(*) FROM api_keys")) == 0
        # ...but the narrow path finds exactly the key asked for, with its tenant
        match = await narrow_paths.find_api_key(connection, tenant.api_key_hash)
        assert match is not None
        assert (match.id, match.tenant_id, match.role) == (
            tenant.ids["api_keys"],
            tenant.tenant_id,
            Role.EDITOR,
        )
        assert await narrow_paths.find_api_key(connection, "0" * 64) is None


async def test_refresh_token_and_invitation_lookups(runtime: AsyncEngine) -> None:
    tenant = await create_tenant(SessionFactory(runtime))
    async with runtime.connect() as connection:
        token = await narrow_paths.find_refresh_token(connection, tenant.refresh_token_hash)
        assert token is not None
        assert (token.tenant_id, token.family_id) == (
            tenant.tenant_id,
            tenant.ids["refresh_token_families"],
        )
        assert token.used_at is None
        assert token.expires_at > utcnow()
        invitation = await narrow_paths.find_invitation(connection, tenant.invitation_hash)
        assert invitation is not None
        assert (invitation.tenant_id, invitation.email_normalized, invitation.role) == (
            tenant.tenant_id,
            "invitee@example.test",
            Role.EDITOR,
        )
        assert await narrow_paths.find_refresh_token(connection, "0" * 64) is None
        assert await narrow_paths.find_invitation(connection, "0" * 64) is None


async def test_user_memberships_lists_every_tenant_of_that_user_only(
    runtime: AsyncEngine,
) -> None:
    sessions = SessionFactory(runtime)
    first, second = await create_tenant(sessions), await create_tenant(sessions)
    async with runtime.connect() as connection:
        memberships = await narrow_paths.user_memberships(connection, first.user_id)
    assert [(m.tenant_id, m.role) for m in memberships] == [(first.tenant_id, Role.OWNER)]
    assert second.tenant_id not in {m.tenant_id for m in memberships}


async def test_claim_execution_leases_the_oldest_work_of_any_tenant_once(
    runtime: AsyncEngine,
) -> None:
    sessions = SessionFactory(runtime)
    first, second = await create_tenant(sessions), await create_tenant(sessions)
    claimed = []
    for worker in ("w1", "w2", "w3"):
        async with runtime.begin() as connection:
            claimed.append(
                await narrow_paths.claim_execution(
                    connection, worker=worker, lease_seconds=30, now=utcnow()
                )
            )
    assert claimed[2] is None  # two queued executions, each leased once
    assert [(c.tenant_id, c.attempts) for c in claimed if c] == [
        (first.tenant_id, 1),
        (second.tenant_id, 1),
    ]


async def test_runtime_role_cannot_run_the_owner_only_purges(runtime: AsyncEngine) -> None:
    for call in (
        "SELECT * FROM tf_purge_deleted_tenants(now())",
        "SELECT * FROM tf_purge_expired(now(), now())",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"):
            async with runtime.begin() as connection:
                await connection.execute(text(call))


# ---------------------------------------------------------------- purge


async def test_purge_removes_a_deleted_tenant_entirely_and_nothing_else(
    runtime: AsyncEngine, owner: AsyncEngine
) -> None:
    sessions = SessionFactory(runtime)
    kept = await create_tenant(sessions)
    recent = await create_tenant(sessions, status=TenantStatus.DELETED, deleted_days_ago=1)
    expired = await create_tenant(sessions, status=TenantStatus.DELETED, deleted_days_ago=40)
    async with owner.begin() as connection:
        purged = (
            (
                await connection.execute(
                    text("SELECT * FROM tf_purge_deleted_tenants(:before)"),
                    {"before": utcnow() - timedelta(days=30)},
                )
            )
            .scalars()
            .all()
        )
    assert purged == [expired.tenant_id]
    async with runtime.connect() as connection:
        for rows, expected in ((kept, 1), (recent, 1), (expired, 0)):
            async with connection.begin():
                await connection.execute(
                    text("SELECT set_config('app.current_tenant_id', :t, true)"),
                    {"t": str(rows.tenant_id)},
                )
                for table in rows.ids:
                    count = await connection.scalar(text(f"SELECT count(*) FROM {table}"))
                    assert count == expected, (table, expected)
        remaining = await connection.scalar(
            text("SELECT count(*) FROM tenants WHERE id = :t"), {"t": expired.tenant_id}
        )
        assert remaining == 0


# ---------------------------------------------------------------- start-up role check


async def test_the_runtime_role_passes_the_start_up_check(
    runtime: AsyncEngine, clean_postgres: PostgresDatabase
) -> None:
    report = await inspect_runtime_role(runtime, clean_postgres.roles)
    assert report.problems == []
    await ensure_safe_runtime_role(runtime, clean_postgres.roles)


async def test_the_table_owner_is_refused(
    owner: AsyncEngine, clean_postgres: PostgresDatabase
) -> None:
    report = await inspect_runtime_role(owner, clean_postgres.roles)
    assert any("owns the tables" in problem for problem in report.problems)
    app = clean_postgres.roles.app
    with pytest.raises(UnsafeDatabaseRoleError, match=f"GRANT {app} TO <login role>"):
        await ensure_safe_runtime_role(owner, clean_postgres.roles)


async def test_a_superuser_is_refused(clean_postgres: PostgresDatabase) -> None:
    engine = create_engine(url_for(ADMIN_URL, database=clean_postgres.name), pool_size=1)
    try:
        report = await inspect_runtime_role(engine, clean_postgres.roles)
    finally:
        await engine.dispose()
    assert any("superuser" in problem for problem in report.problems)


async def test_a_member_of_the_owner_is_refused(clean_postgres: PostgresDatabase) -> None:
    admin = create_engine(clean_postgres.admin_url, pool_size=1)
    role = f"{clean_postgres.roles.prefix}_owner_member"
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f"CREATE ROLE {role} LOGIN"))
            await connection.execute(text(f"GRANT {clean_postgres.owner_role} TO {role}"))
        engine = create_engine(url_for(clean_postgres.runtime_url, user=role), pool_size=1)
        try:
            report = await inspect_runtime_role(engine, clean_postgres.roles)
        finally:
            await engine.dispose()
        assert any("member of their owner" in problem for problem in report.problems)
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        await admin.dispose()
