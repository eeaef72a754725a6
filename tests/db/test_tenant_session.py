"""The application's half of isolation: the tenant-scoped session, on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, func, update
from sqlmodel import col, select

from tenantflow.db.models import AuditLog, Tenant, Workflow
from tenantflow.db.session import SessionFactory, TenantScopeError
from tests.factories import DEFINITION, create_tenant


async def test_queries_see_only_the_session_tenant(sessions: SessionFactory) -> None:
    a, b = await create_tenant(sessions), await create_tenant(sessions)
    async with sessions.tenant_transaction(a.tenant_id) as session:
        workflows = (await session.exec(select(Workflow))).all()
        assert {w.tenant_id for w in workflows} == {a.tenant_id}
        # asking for B's row by its primary key finds nothing
        assert await session.get(Workflow, b.ids["workflows"]) is None
        # aggregates and joins are filtered too
        count = (await session.exec(select(func.count()).select_from(Workflow))).one()
        assert count == 1
        joined = await session.exec(
            select(AuditLog.tenant_id).join(
                Workflow, col(Workflow.tenant_id) == col(AuditLog.tenant_id)
            )
        )
        assert set(joined) == {a.tenant_id}
        # and so are subqueries
        in_subquery = await session.exec(
            select(func.count()).select_from(select(Workflow.id).subquery())
        )
        assert in_subquery.one() == 1
        correlated = await session.exec(
            select(AuditLog.id).where(col(AuditLog.resource_id).in_(select(Workflow.name)))
        )
        assert list(correlated) == []


async def test_bulk_update_and_delete_touch_only_the_session_tenant(
    sessions: SessionFactory,
) -> None:
    a, b = await create_tenant(sessions), await create_tenant(sessions)
    async with sessions.tenant_transaction(a.tenant_id) as session:
        await session.exec(update(Workflow).values(name="renamed"))
        await session.exec(delete(Workflow).where(col(Workflow.id) == b.ids["workflows"]))
    async with sessions.tenant_transaction(b.tenant_id) as session:
        workflow = await session.get(Workflow, b.ids["workflows"])
        assert workflow is not None
        assert workflow.name == "Flow"


async def test_inserts_are_stamped_with_the_session_tenant(sessions: SessionFactory) -> None:
    a = await create_tenant(sessions)
    async with sessions.tenant_transaction(a.tenant_id) as session:
        workflow = Workflow(name="stamped", definition=DEFINITION)
        session.add(workflow)
    assert workflow.tenant_id == a.tenant_id


async def test_writing_a_row_of_another_tenant_is_refused(sessions: SessionFactory) -> None:
    a, b = await create_tenant(sessions), await create_tenant(sessions)
    with pytest.raises(TenantScopeError):
        async with sessions.tenant_transaction(a.tenant_id) as session:
            session.add(Workflow(tenant_id=b.tenant_id, name="smuggled", definition=DEFINITION))
    async with sessions.tenant_transaction(b.tenant_id) as session:
        names = set(await session.exec(select(Workflow.name)))
    assert names == {"Flow"}


async def test_moving_a_row_to_another_tenant_is_refused(sessions: SessionFactory) -> None:
    a, b = await create_tenant(sessions), await create_tenant(sessions)
    with pytest.raises(TenantScopeError):
        async with sessions.tenant_transaction(a.tenant_id) as session:
            workflow = await session.get(Workflow, a.ids["workflows"])
            assert workflow is not None
            workflow.tenant_id = b.tenant_id


async def test_an_unscoped_session_refuses_tenant_owned_tables(sessions: SessionFactory) -> None:
    await create_tenant(sessions)
    async with sessions.global_transaction() as session:
        with pytest.raises(TenantScopeError):
            await session.exec(select(Workflow))
        with pytest.raises(TenantScopeError):
            await session.exec(update(Workflow).values(name="x"))
        # global tables stay readable; tenant tables reached through a subquery yield nothing
        assert (await session.exec(select(func.count()).select_from(Tenant))).one() == 1
        in_subquery = await session.exec(
            select(func.count())
            .select_from(Tenant)
            .where(col(Tenant.id).in_(select(Workflow.tenant_id)))
        )
        assert in_subquery.one() == 0


async def test_an_unscoped_session_refuses_tenant_owned_inserts(sessions: SessionFactory) -> None:
    with pytest.raises(TenantScopeError):
        async with sessions.global_transaction() as session:
            session.add(Workflow(tenant_id=uuid.uuid4(), name="orphan", definition=DEFINITION))
