"""A feed's event is executed once for the subscribers that ask the same of it, never shared
between principals or tenants (schema/shared_answers.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.types import ASGIApp
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from tenantflow.enums import Role
from tenantflow.schema.executions import ExecutionEvent
from tests.api.conftest import GraphQLClient, Member, Members
from tests.api.test_subscriptions import cancel, create_workflow, run
from tests.api.websocket import GraphQLWebSocket, graphql_ws

EVENTS = """
subscription($withExecution: Boolean! = true) {
  executionEvents {
    status cursor
    execution @include(if: $withExecution) { id status workflow { id } }
  }
}
"""


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The principal of every execution of a feed's event (graphql-core's own, under the
    sharing)."""
    seen: list[Any] = []
    execute = StrawberryGraphQLCoreExecutionContext.execute_operation

    def counting(self: Any, serially: bool | None = None) -> Any:
        if isinstance(self.root_value, ExecutionEvent) and self.root_value.batch is not None:
            seen.append(self.context_value.principal)
        return execute(self, serially)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_operation", counting)
    return seen


@contextlib.asynccontextmanager
async def subscribed(
    app: ASGIApp, members: list[Member], variables: list[dict[str, Any]]
) -> AsyncIterator[list[GraphQLWebSocket]]:
    async with contextlib.AsyncExitStack() as stack:
        sockets = []
        for member, values in zip(members, variables, strict=True):
            ws = await stack.enter_async_context(graphql_ws(app))
            await ws.init(member.token)
            await ws.subscribe(EVENTS, values)
            sockets.append(ws)
        await asyncio.sleep(0.2)  # every subscriber past its join
        yield sockets


async def test_subscribers_of_one_principal_share_one_execution_per_event(
    app: ASGIApp, gql: GraphQLClient, members: Members, executions: list[Any]
) -> None:
    # given three subscriptions of one member, with the same selection
    editor = await members.tenant(role=Role.EDITOR)
    workflow_id = await create_workflow(gql, editor)
    async with subscribed(app, [editor] * 3, [{}] * 3) as sockets:
        # when a run is queued, then cancelled (two events)
        execution_id = await run(gql, editor, workflow_id)
        await cancel(gql, editor, execution_id)
        # then each subscriber gets both, whole
        for ws in sockets:
            got = [(await ws.next_data())["executionEvents"] for _ in range(2)]
            assert [(e["status"], e["execution"]["id"]) for e in got] == [
                ("QUEUED", execution_id),
                ("CANCELLED", execution_id),
            ]
            assert got[1]["execution"] == {
                "id": execution_id,
                "status": "CANCELLED",
                "workflow": {"id": workflow_id},
            }
    # and each event was executed once, not once per subscriber
    assert len(executions) == 2


async def test_two_principals_of_one_tenant_each_execute_their_own(
    app: ASGIApp, gql: GraphQLClient, members: Members, executions: list[Any]
) -> None:
    editor = await members.tenant(role=Role.EDITOR)
    colleague = await members.member(editor.tenant_id, role=Role.EDITOR)
    workflow_id = await create_workflow(gql, editor)
    async with subscribed(app, [editor, colleague], [{}, {}]) as sockets:
        execution_id = await run(gql, editor, workflow_id)
        for ws in sockets:
            event = (await ws.next_data())["executionEvents"]
            assert event["execution"]["id"] == execution_id
    assert sorted(str(p.user_id) for p in executions) == sorted(
        [str(editor.user_id), str(colleague.user_id)]
    )


async def test_different_variables_get_their_own_answer(
    app: ASGIApp, gql: GraphQLClient, members: Members, executions: list[Any]
) -> None:
    editor = await members.tenant(role=Role.EDITOR)
    workflow_id = await create_workflow(gql, editor)
    with_execution, without = {"withExecution": True}, {"withExecution": False}
    async with subscribed(app, [editor] * 2, [with_execution, without]) as (full, bare):
        execution_id = await run(gql, editor, workflow_id)
        assert (await full.next_data())["executionEvents"]["execution"]["id"] == execution_id
        assert "execution" not in (await bare.next_data())["executionEvents"]
    assert len(executions) == 2


async def test_identical_selections_in_two_tenants_see_only_their_own_events(
    app: ASGIApp, gql: GraphQLClient, members: Members
) -> None:
    a = await members.tenant(role=Role.EDITOR)
    b = await members.tenant(role=Role.EDITOR)
    a_workflow, b_workflow = await create_workflow(gql, a), await create_workflow(gql, b)
    async with subscribed(app, [a, a, b, b], [{}] * 4) as sockets:
        a_run = await run(gql, a, a_workflow)
        b_run = await run(gql, b, b_workflow)
        for ws, expected in zip(sockets, [a_run, a_run, b_run, b_run], strict=True):
            event = (await ws.next_data())["executionEvents"]
            assert event["execution"]["id"] == expected
            with pytest.raises(TimeoutError):
                await ws.receive(seconds=0.5)
