"""Two deployments on one PostgreSQL cluster share nothing: no role, no way into each other.

On main before role prefixes, both deployments used `tenantflow_app` and `tenantflow_system`: the
runtime login of deployment A, connected to B's database, read B's workflows and every user's
email, and A's owner read every tenant's memberships of B after `SET ROLE tenantflow_system`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tenantflow.db import migrate
from tenantflow.db.engine import create_engine
from tenantflow.db.roles import SharedRolesError
from tenantflow.db.session import SessionFactory
from tests.factories import create_tenant
from tests.pg_deployments import (
    PostgresDatabase,
    admin_engine,
    create_deployment,
    drop_deployment,
    url_for,
)

pytestmark = pytest.mark.postgresql


@pytest.fixture
async def two_deployments() -> AsyncIterator[tuple[PostgresDatabase, PostgresDatabase]]:
    a, b = await create_deployment(), await create_deployment()
    try:
        yield a, b
    finally:
        await drop_deployment(a)
        await drop_deployment(b)


async def _tenant_in(database: PostgresDatabase) -> None:
    engine = create_engine(database.runtime_url, pool_size=1)
    try:
        await create_tenant(SessionFactory(engine))
    finally:
        await engine.dispose()


async def _connect_refused(url: str) -> str:
    engine = create_engine(url, pool_size=1)
    try:
        with pytest.raises(DBAPIError) as refused:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        return str(refused.value)
    finally:
        await engine.dispose()


async def test_neither_deployments_logins_can_reach_the_others_database(
    two_deployments: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    a, b = two_deployments
    await _tenant_in(a)
    await _tenant_in(b)
    for this, other in ((a, b), (b, a)):
        for login in (this.runtime_role, this.owner_role):
            # PUBLIC has no CONNECT, and only the other's own roles were granted it
            message = await _connect_refused(url_for(other.runtime_url, user=login))
            assert "permission denied for database" in message


async def test_even_with_connect_given_back_the_other_deployments_rows_stay_out_of_reach(
    two_deployments: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    a, b = two_deployments
    await _tenant_in(b)
    admin = admin_engine()
    try:
        async with admin.connect() as connection:  # an operator's mistake, say
            await connection.execute(text(f'GRANT CONNECT ON DATABASE "{b.name}" TO PUBLIC'))
        for login in (a.runtime_role, a.owner_role):
            engine = create_engine(url_for(b.runtime_url, user=login), pool_size=1)
            try:
                for table in ("workflows", "users", "memberships", "tenants"):
                    async with engine.connect() as connection:
                        with pytest.raises(DBAPIError, match="permission denied for table"):
                            await connection.execute(text(f"SELECT * FROM {table}"))
                async with engine.connect() as connection:
                    with pytest.raises(DBAPIError, match="permission denied to set role"):
                        await connection.execute(text(f"SET ROLE {b.roles.system}"))
            finally:
                await engine.dispose()
    finally:
        await admin.dispose()


async def test_no_login_role_is_left_in_the_system_role(
    two_deployments: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    a, _ = two_deployments
    engine = create_engine(a.owner_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            members = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member"
                    " WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = :system)"
                    " AND r.rolcanlogin"
                ),
                {"system": a.roles.system},
            )
            assert members == 0
            # so the owner cannot become the role that sees every tenant
            with pytest.raises(DBAPIError, match="permission denied to set role"):
                await connection.execute(text(f"SET ROLE {a.roles.system}"))
    finally:
        await engine.dispose()


async def test_public_has_no_connect_and_the_app_role_has(
    two_deployments: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    a, _ = two_deployments
    admin = admin_engine()
    try:
        async with admin.connect() as connection:
            grantees = set(
                (
                    await connection.execute(
                        text(
                            "SELECT coalesce(r.rolname, 'PUBLIC') FROM pg_database d,"
                            " aclexplode(d.datacl) acl LEFT JOIN pg_roles r ON r.oid = acl.grantee"
                            " WHERE d.datname = :name AND acl.privilege_type = 'CONNECT'"
                        ),
                        {"name": a.name},
                    )
                ).scalars()
            )
    finally:
        await admin.dispose()
    assert "PUBLIC" not in grantees
    assert a.roles.app in grantees


async def test_migrating_another_database_with_the_same_roles_is_refused(
    two_deployments: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    a, _ = two_deployments
    name = f"tf_test_again_{uuid.uuid4().hex[:8]}"
    admin = admin_engine()
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}" OWNER "{a.owner_role}"'))
        url = url_for(a.owner_url, database=name)
        with pytest.raises(SharedRolesError, match=a.name) as refused:
            await asyncio.to_thread(migrate.upgrade, url, roles=a.roles)
        assert "TENANTFLOW_DATABASE_ROLE_PREFIX" in str(refused.value)
        # and nothing was created there
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                tables = await connection.scalar(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                )
        finally:
            await engine.dispose()
        assert tables == 0
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
