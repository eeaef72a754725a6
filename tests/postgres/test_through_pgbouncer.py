"""The whole server behind pgbouncer in transaction pooling mode keeps tenants apart.

With TENANTFLOW_DATABASE_POOLER=transaction, consecutive transactions of one request may run on
different server connections, and one server connection serves many tenants in turn: the tenant
must come with every transaction, and no prepared statement may be left to another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tenantflow.app import build_app
from tenantflow.enums import Plan
from tenantflow.settings import Pooler
from tests.api.conftest import GraphQLClient, Member, Members
from tests.api.workflow_helpers import create_workflow, run_workflow
from tests.concurrency import together
from tests.conftest import server_settings
from tests.pg_deployments import PostgresDatabase
from tests.pg_services import Bouncer
from tests.polling import eventually

pytestmark = pytest.mark.postgresql

WORKFLOWS = "{ workflows { totalCount edges { node { id name } } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
EXECUTION = "query($id: ID!) { execution(id: $id) { status output } }"


@pytest.fixture
async def pooled(
    clean_postgres: PostgresDatabase, bouncer: Bouncer, tmp_path: Path
) -> AsyncIterator[GraphQLClient]:
    settings = server_settings(
        bouncer.url_for(clean_postgres.runtime_url),
        clean_postgres.owner_url,
        tmp_path,
        database_role_prefix=clean_postgres.roles.prefix,
        database_pooler=Pooler.TRANSACTION,
        executor_workers=2,
    )
    async with LifespanManager(build_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http)


async def test_tenants_stay_apart_through_pgbouncer(
    pooled: GraphQLClient, members: Members
) -> None:
    a = await members.tenant(plan=Plan.ENTERPRISE)
    b = await members.tenant(plan=Plan.ENTERPRISE)

    async def make(member: Member, n: int) -> str:
        workflow = await create_workflow(pooled, member, name=f"{member.email} {n}")
        return str(workflow["id"])

    # when both tenants write at once, more transactions than pgbouncer has server connections
    made = await together(*(make(m, n) for n in range(10) for m in (a, b)))
    ids = {a: made[0::2], b: made[1::2]}
    # then each sees its own workflows only, and the other's ids are not found
    for member, other in ((a, b), (b, a)):
        listed = (await pooled.ok(WORKFLOWS, as_=member))["workflows"]
        assert listed["totalCount"] == 10
        assert {e["node"]["id"] for e in listed["edges"]} == set(ids[member])
        for foreign in ids[other][:3]:
            assert (await pooled.ok(NODE, {"id": foreign}, as_=member))["node"] is None
    # and runs execute through it too, in their own tenant
    execution = await run_workflow(pooled, a, ids[a][0])

    async def done() -> dict[str, object] | None:
        found = (await pooled.ok(EXECUTION, {"id": execution["id"]}, as_=a))["execution"]
        return found if found["status"] == "SUCCEEDED" else None

    assert (await eventually(done))["status"] == "SUCCEEDED"
    assert (await pooled.ok(EXECUTION, {"id": execution["id"]}, as_=b))["execution"] is None
