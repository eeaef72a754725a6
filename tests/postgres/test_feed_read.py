"""tf_feed_events (migration 0005): a live feed's read in one statement outside any transaction,
as the runtime role, under Row Level Security like every other runtime statement."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantflow.db.models import Execution, ExecutionEvent
from tenantflow.db.session import SessionFactory
from tenantflow.events.reading import reading_with_executions
from tests.factories import TenantRows, create_tenant

pytestmark = pytest.mark.postgresql

FEED = text("SELECT event_tenant_id, event_id FROM tf_feed_events(:tenant_id, 0, 100)")
RESULT_COLUMNS = text(
    "SELECT a.name FROM pg_proc p,"
    " unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(name, mode, position)"
    " WHERE p.proname = 'tf_feed_events' AND a.mode = 't' ORDER BY a.position"
)
PAYLOADS = {"definition", "input", "output"}


@pytest.fixture
async def two_tenants(runtime: AsyncEngine) -> tuple[TenantRows, TenantRows]:
    sessions = SessionFactory(runtime)
    return await create_tenant(sessions), await create_tenant(sessions)


async def test_its_columns_are_the_models_in_the_order_the_feed_maps_them(
    runtime: AsyncEngine,
) -> None:
    # A column added to either table needs the function replaced: the feed maps by position.
    expected = [f"event_{c.name}" for c in sa.inspect(ExecutionEvent).local_table.columns] + [
        f"execution_{c.name}"
        for c in sa.inspect(Execution).local_table.columns
        if c.name not in PAYLOADS
    ]
    async with runtime.connect() as connection:
        assert list((await connection.execute(RESULT_COLUMNS)).scalars()) == expected


async def test_each_call_reads_its_own_tenant_and_leaves_no_tenant_behind(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    a, b = two_tenants
    autocommit = runtime.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        for tenant in (a, b):
            # when the runtime reads a tenant's feed outside any transaction
            rows = (await connection.execute(FEED, {"tenant_id": tenant.tenant_id})).all()
            # then it gets that tenant's event and nobody else's
            assert rows == [(tenant.tenant_id, tenant.ids["execution_events"])]
            # and the next statement on the connection has no tenant: RLS shows it nothing
            setting = text("SELECT coalesce(current_setting('app.current_tenant_id', true), '')")
            assert (await connection.execute(setting)).scalar_one() == ""
            count = text("SELECT count(*) FROM execution_events")
            assert (await connection.execute(count)).scalar_one() == 0


async def test_it_runs_with_the_callers_rights_and_only_the_runtime_may_call_it(
    runtime: AsyncEngine,
) -> None:
    privileges = text(
        "SELECT p.prosecdef, EXISTS (SELECT 1 FROM aclexplode(p.proacl) a"
        "   WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')"
        " FROM pg_proc p WHERE p.proname = 'tf_feed_events'"
    )
    async with runtime.connect() as connection:
        security_definer, public_executes = (await connection.execute(privileges)).one()
    assert (security_definer, public_executes) == (False, False)


async def test_the_feed_maps_the_rows_to_events_and_executions_without_their_payloads(
    runtime: AsyncEngine, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    a, _ = two_tenants
    db = SessionFactory(runtime).for_tenant(a.tenant_id)
    async with reading_with_executions(db, 0) as (events, executions):
        assert [event.id for event in events] == [a.ids["execution_events"]]
        assert list(executions) == [a.ids["executions"]]
        execution = executions[a.ids["executions"]]
        assert (execution.tenant_id, execution.status) == (a.tenant_id, events[0].status)
        # the payloads were not read, and say so instead of answering None (not loaded, and
        # not loadable: the read's session has ended)
        with pytest.raises(sa.exc.SQLAlchemyError):
            _ = execution.output
