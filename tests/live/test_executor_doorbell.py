"""A run queued on one process wakes an idle executor of another at once, not at its next poll."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import col, select

from tenantflow.app import build_app
from tenantflow.db.models import Execution
from tenantflow.db.session import SessionFactory
from tenantflow.enums import ExecutionStatus, Role
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, Members
from tests.api.test_subscriptions import create_workflow, run
from tests.api.workflow_helpers import key_of

pytestmark = pytest.mark.postgresql


async def status_of(sessions: SessionFactory, tenant_id: uuid.UUID, execution_id: str) -> str:
    statement = select(Execution.status).where(col(Execution.id) == key_of(execution_id))
    async with sessions.tenant_reader(tenant_id) as session:
        return ExecutionStatus((await session.exec(statement)).one()).value


async def test_an_idle_executor_is_woken_by_a_run_queued_on_another_process(
    deployed: Settings, members: Members, sessions: SessionFactory
) -> None:
    # given a process whose executor claims only when woken (its safety timeout is an hour)
    # and another process without an executor, each with its own wake-up transport
    executing = deployed.model_copy(update={"executor_workers": 1, "executor_idle_seconds": 3600.0})
    editor = await members.tenant(role=Role.EDITOR)
    async with (
        LifespanManager(build_app(executing)),
        LifespanManager(build_app(deployed)) as other,
    ):
        await asyncio.sleep(0.5)  # the executor made its first claim and is idle
        transport = httpx.ASGITransport(app=other.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as http:
            gql = GraphQLClient(http)
            # when a run is queued on the other process
            execution_id = await run(gql, editor, await create_workflow(gql, editor))
            # then the idle executor runs it within moments
            deadline = asyncio.get_running_loop().time() + 5
            status = ExecutionStatus.QUEUED.value
            while status != ExecutionStatus.SUCCEEDED.value:
                assert asyncio.get_running_loop().time() < deadline, status
                await asyncio.sleep(0.05)
                status = await status_of(sessions, editor.tenant_id, execution_id)
