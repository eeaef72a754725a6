"""Execution status over the websocket (graphql-transport-ws), in order, resumable, per tenant."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from httpx_ws import WebSocketDisconnect
from sqlalchemy import delete, text
from sqlmodel import col
from starlette.types import ASGIApp

from tenantflow.app import build_app
from tenantflow.db.models import Execution as ExecutionRow
from tenantflow.db.models import Membership
from tenantflow.db.session import SessionFactory
from tenantflow.enums import Role
from tenantflow.events import subscriber
from tenantflow.events.record import record_execution_event
from tenantflow.schema import subscriptions
from tenantflow.schema.ids import to_global_id
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, Member, Members
from tests.api.websocket import GraphQLWebSocket, graphql_ws
from tests.api.workflow_helpers import key_of
from tests.conftest import runtime_of

CREATE_WORKFLOW = """
mutation($input: CreateWorkflowInput!) {
  createWorkflow(input: $input) { ... on WorkflowPayload { workflow { id } } }
}
"""
RUN = """
mutation($input: RunWorkflowInput!) {
  runWorkflow(input: $input) { ... on ExecutionPayload { execution { id status } } }
}
"""
CANCEL = """
mutation($id: ID!) {
  cancelExecution(id: $id) { __typename ... on ExecutionPayload { execution { status } } }
}
"""
EXECUTION_UPDATED = """
subscription($id: ID!) {
  executionUpdated(executionId: $id) { status step { nodeId } cursor execution { id } }
}
"""
EXECUTION_EVENTS = """
subscription($workflowId: ID, $after: String) {
  executionEvents(workflowId: $workflowId, after: $after) { status cursor execution { id } }
}
"""
DEFINITION = {"nodes": [{"id": "a", "type": "noop", "config": {}}], "edges": []}


async def create_workflow(gql: GraphQLClient, member: Member) -> str:
    data = await gql.ok(
        CREATE_WORKFLOW,
        {"input": {"name": "Flow", "definition": DEFINITION, "status": "ACTIVE"}},
        as_=member,
    )
    workflow_id: str = data["createWorkflow"]["workflow"]["id"]
    return workflow_id


async def run(gql: GraphQLClient, member: Member, workflow_id: str) -> str:
    data = await gql.ok(RUN, {"input": {"workflowId": workflow_id}}, as_=member)
    execution_id: str = data["runWorkflow"]["execution"]["id"]
    return execution_id


async def cancel(gql: GraphQLClient, member: Member, execution_id: str) -> None:
    data = await gql.ok(CANCEL, {"id": execution_id}, as_=member)
    assert data["cancelExecution"]["__typename"] == "ExecutionPayload"


async def test_execution_updated_sends_current_state_then_changes_then_completes(
    app: ASGIApp, gql: GraphQLClient, members: Members
) -> None:
    # given a queued execution
    editor = await members.tenant(role=Role.EDITOR)
    execution_id = await run(gql, editor, await create_workflow(gql, editor))
    async with graphql_ws(app) as ws:
        assert (await ws.init(editor.token))["type"] == "connection_ack"
        operation = await ws.subscribe(EXECUTION_UPDATED, {"id": execution_id})
        # then its current state comes first
        first = (await ws.next_data())["executionUpdated"]
        assert (first["status"], first["execution"]["id"]) == ("QUEUED", execution_id)
        # when it is cancelled, the change arrives and the subscription completes
        await cancel(gql, editor, execution_id)
        second = (await ws.next_data())["executionUpdated"]
        assert second["status"] == "CANCELLED"
        assert second["cursor"] != first["cursor"]
        assert await ws.receive() == {"id": operation, "type": "complete"}


@pytest.mark.parametrize("foreign", [True, False])
async def test_execution_updated_on_unknown_or_foreign_id_completes_at_once(
    app: ASGIApp, gql: GraphQLClient, members: Members, foreign: bool
) -> None:
    a = await members.tenant(role=Role.EDITOR)
    b = await members.tenant(role=Role.EDITOR)
    b_execution = await run(gql, b, await create_workflow(gql, b))
    target = b_execution if foreign else to_global_id("Execution", a.user_id)
    async with graphql_ws(app) as ws:
        await ws.init(a.token)
        operation = await ws.subscribe(EXECUTION_UPDATED, {"id": target})
        assert await ws.receive() == {"id": operation, "type": "complete"}


async def test_execution_events_resume_exactly_after_the_last_cursor(
    app: ASGIApp, gql: GraphQLClient, members: Members
) -> None:
    editor = await members.tenant(role=Role.EDITOR)
    workflow_id = await create_workflow(gql, editor)
    async with graphql_ws(app) as ws:
        await ws.init(editor.token)
        await ws.subscribe(EXECUTION_EVENTS, {"workflowId": workflow_id})
        first = await run(gql, editor, workflow_id)
        seen = (await ws.next_data())["executionEvents"]
        assert (seen["execution"]["id"], seen["status"]) == (first, "QUEUED")
    # while disconnected: three more changes
    second = await run(gql, editor, workflow_id)
    await cancel(gql, editor, first)
    await cancel(gql, editor, second)
    async with graphql_ws(app) as ws:
        await ws.init(editor.token)
        await ws.subscribe(EXECUTION_EVENTS, {"workflowId": workflow_id, "after": seen["cursor"]})
        missed = [(await ws.next_data())["executionEvents"] for _ in range(3)]
        assert [(e["execution"]["id"], e["status"]) for e in missed] == [
            (second, "QUEUED"),
            (first, "CANCELLED"),
            (second, "CANCELLED"),
        ]
        # then live, with no duplicate of what was replayed
        third = await run(gql, editor, workflow_id)
        live = (await ws.next_data())["executionEvents"]
        assert (live["execution"]["id"], live["status"]) == (third, "QUEUED")


async def test_a_cursor_older_than_the_retention_is_refused(
    app: ASGIApp, gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    editor = await members.tenant(role=Role.EDITOR)
    workflow_id = await create_workflow(gql, editor)
    async with graphql_ws(app) as ws:
        await ws.init(editor.token)
        await ws.subscribe(EXECUTION_EVENTS, {})
        await run(gql, editor, workflow_id)
        cursor = (await ws.next_data())["executionEvents"]["cursor"]
    await run(gql, editor, workflow_id)
    await run(gql, editor, workflow_id)
    # the retention removes the two oldest events
    async with sessions.tenant_transaction(editor.tenant_id) as session:
        connection = await session.connection()
        await connection.execute(
            text(
                "DELETE FROM execution_events WHERE seq IN"
                " (SELECT seq FROM execution_events ORDER BY seq LIMIT 2)"
            )
        )
    async with graphql_ws(app) as ws:
        await ws.init(editor.token)
        operation = await ws.subscribe(EXECUTION_EVENTS, {"after": cursor})
        # an execution error: `next` with the error, then `complete`
        message = await ws.receive()
        assert (message["id"], message["type"]) == (operation, "next")
        errors = message["payload"]["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["CURSOR_EXPIRED"]
        assert await ws.receive() == {"id": operation, "type": "complete"}


async def test_another_tenants_events_never_reach_a_subscriber(
    app: ASGIApp, gql: GraphQLClient, members: Members
) -> None:
    a = await members.tenant(role=Role.EDITOR)
    b = await members.tenant(role=Role.EDITOR)
    a_workflow = await create_workflow(gql, a)
    b_workflow = await create_workflow(gql, b)
    async with graphql_ws(app) as ws:
        await ws.init(a.token)
        # all of A's events, and B's workflow by its id: neither may show B's executions
        await ws.subscribe(EXECUTION_EVENTS, {})
        await ws.subscribe(EXECUTION_EVENTS, {"workflowId": b_workflow})
        await run(gql, b, b_workflow)
        mine = await run(gql, a, a_workflow)
        message = await ws.receive()
        assert message["id"] == "1"
        assert message["payload"]["data"]["executionEvents"]["execution"]["id"] == mine
        with pytest.raises(TimeoutError):
            await ws.receive(seconds=1.5)


@pytest.mark.parametrize("token", [None, "not-a-token", "tfk_" + "x" * 43])
async def test_bad_or_missing_credentials_close_the_socket_with_4403(
    app: ASGIApp, token: str | None
) -> None:
    async with graphql_ws(app) as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.init(token)
    assert closed.value.code == 4403


async def test_a_removed_member_is_disconnected_with_4403(
    app: ASGIApp,
    gql: GraphQLClient,
    members: Members,
    sessions: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(subscriptions, "RECHECK_SECONDS", 1.0)
    editor = await members.tenant(role=Role.EDITOR)
    async with graphql_ws(app) as ws:
        await ws.init(editor.token)
        await ws.subscribe(EXECUTION_EVENTS, {})
        async with sessions.tenant_transaction(editor.tenant_id) as session:
            connection = await session.connection()
            await connection.execute(
                delete(Membership).where(col(Membership.user_id) == editor.user_id)
            )
        with pytest.raises(WebSocketDisconnect) as closed:
            message: dict[str, Any] = await ws.receive(seconds=5)
            raise AssertionError(f"expected a close, got {message}")
    assert closed.value.code == 4403
    assert closed.value.reason == "credentials revoked"


async def test_changes_made_by_another_server_process_reach_the_subscriber(
    members: Members, settings: Settings, backend: str
) -> None:
    # given two application instances on one database, each with wake-ups of its own: on
    # PostgreSQL they reach each other through LISTEN/NOTIFY (the safety poll is an hour, so
    # nothing else could bring the events); the embedded default serves one process and has no
    # transport, so there the safety poll brings them
    poll = 3600.0 if backend == "postgresql" else 0.5
    both = settings.model_copy(update={"live_safety_poll_seconds": poll})
    editor = await members.tenant(role=Role.EDITOR)
    async with (
        LifespanManager(build_app(both)) as here,
        LifespanManager(build_app(both)) as other,
    ):
        transport = httpx.ASGITransport(app=other.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as http:
            other_gql = GraphQLClient(http)
            workflow_id = await create_workflow(other_gql, editor)
            async with graphql_ws(here.app) as ws:
                await ws.init(editor.token)
                await ws.subscribe(EXECUTION_EVENTS, {"workflowId": workflow_id})
                await asyncio.sleep(0.2)  # subscribed
                # when the other instance runs and cancels an execution
                execution_id = await run(other_gql, editor, workflow_id)
                await cancel(other_gql, editor, execution_id)
                # then this instance's subscriber sees both changes, in order
                events = [(await ws.next_data())["executionEvents"] for _ in range(2)]
    assert [(e["execution"]["id"], e["status"]) for e in events] == [
        (execution_id, "QUEUED"),
        (execution_id, "CANCELLED"),
    ]


REMOVE_MEMBER = "mutation($id: ID!) { removeMember(userId: $id) { __typename } }"
CREATE_API_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { ... on CreateApiKeyPayload { apiKey { id } secret } }
}
"""
REVOKE_API_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }"


async def _closed_within(ws: GraphQLWebSocket, seconds: float) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as closed:
        message: dict[str, Any] = await ws.receive(seconds=seconds)
        raise AssertionError(f"expected a close, got {message}")
    return closed.value


@pytest.mark.parametrize("revocation", ["member removed", "API key revoked"])
async def test_a_revocation_closes_open_subscriptions_at_once_not_at_the_recheck(
    app: ASGIApp, gql: GraphQLClient, members: Members, revocation: str
) -> None:
    # given a subscription whose periodic re-check is far off (the backstop: 30 s)
    assert subscriptions.RECHECK_SECONDS >= 30
    owner = await members.tenant(role=Role.OWNER)
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    token = editor.token
    if revocation == "API key revoked":
        created = await gql.ok(
            CREATE_API_KEY, {"input": {"name": "ci", "role": "VIEWER"}}, as_=owner
        )
        token = created["createApiKey"]["secret"]
    async with graphql_ws(app) as ws:
        assert (await ws.init(token))["type"] == "connection_ack"
        await ws.subscribe(EXECUTION_EVENTS, {})
        await asyncio.sleep(0.2)  # subscribed
        # when its access is taken away through the API
        if revocation == "member removed":
            await gql.ok(REMOVE_MEMBER, {"id": to_global_id("User", editor.user_id)}, as_=owner)
        else:
            key_id = created["createApiKey"]["apiKey"]["id"]
            await gql.ok(REVOKE_API_KEY, {"id": key_id}, as_=owner)
        # then the socket is closed with 4403 within a few seconds
        closed = await _closed_within(ws, seconds=3)
    assert (closed.code, closed.reason) == (4403, "credentials revoked")


async def test_sockets_of_one_member_share_the_re_check_a_revocation_asks_for(
    lifespan: LifespanManager,
    gql: GraphQLClient,
    members: Members,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given three sockets of one member, and a count of credential resolutions
    owner = await members.tenant(role=Role.OWNER)
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    rechecks = runtime_of(lifespan).rechecks
    resolved: list[str] = []
    resolve = rechecks._resolve

    async def counting(authorization: str) -> Any:
        resolved.append(authorization)
        return await resolve(authorization)

    monkeypatch.setattr(rechecks, "_resolve", counting)
    app = lifespan.app
    async with graphql_ws(app) as a, graphql_ws(app) as b, graphql_ws(app) as c:
        for ws in (a, b, c):
            await ws.init(editor.token)
            await ws.subscribe(EXECUTION_EVENTS, {})
        await asyncio.sleep(0.2)
        # when the member is removed
        await gql.ok(REMOVE_MEMBER, {"id": to_global_id("User", editor.user_id)}, as_=owner)
        # then every socket is closed with 4403, on one resolution of the credentials
        for ws in (a, b, c):
            closed = await _closed_within(ws, seconds=3)
            assert (closed.code, closed.reason) == (4403, "credentials revoked")
    assert resolved == [f"Bearer {editor.token}"]


async def test_a_revocation_in_another_tenant_leaves_subscriptions_open(
    app: ASGIApp, gql: GraphQLClient, members: Members
) -> None:
    owner = await members.tenant(role=Role.OWNER)
    other_owner = await members.tenant(role=Role.OWNER)
    leaving = await members.member(other_owner.tenant_id, role=Role.EDITOR)
    workflow_id = await create_workflow(gql, owner)
    async with graphql_ws(app) as ws:
        await ws.init(owner.token)
        await ws.subscribe(EXECUTION_EVENTS, {})
        await asyncio.sleep(0.2)
        await gql.ok(REMOVE_MEMBER, {"id": to_global_id("User", leaving.user_id)}, as_=other_owner)
        execution_id = await run(gql, owner, workflow_id)
        event = (await ws.next_data())["executionEvents"]
    assert event["execution"]["id"] == execution_id


async def test_graphiqls_capitalised_authorization_key_is_accepted(
    app: ASGIApp, gql: GraphQLClient, members: Members
) -> None:
    # given GraphiQL's connection_init: its Headers tab, `{"Authorization": "Bearer …"}`
    editor = await members.tenant(role=Role.EDITOR)
    workflow_id = await create_workflow(gql, editor)
    async with graphql_ws(app) as ws:
        # then the server acknowledges it and the subscription delivers
        assert (await ws.init(editor.token, key="Authorization"))["type"] == "connection_ack"
        await ws.subscribe(EXECUTION_EVENTS, {"workflowId": workflow_id})
        await asyncio.sleep(0.2)
        execution_id = await run(gql, editor, workflow_id)
        event = (await ws.next_data())["executionEvents"]
    assert (event["execution"]["id"], event["status"]) == (execution_id, "QUEUED")


async def test_a_subscriber_whose_queue_overflows_is_closed_with_4008(
    lifespan: LifespanManager,
    gql: GraphQLClient,
    members: Members,
    sessions: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given subscribers that may fall at most 2 events behind
    monkeypatch.setattr(subscriber, "QUEUE_SIZE", 2)
    editor = await members.tenant(role=Role.EDITOR)
    workflow_id = await create_workflow(gql, editor)
    execution_id = await run(gql, editor, workflow_id)
    async with graphql_ws(lifespan.app) as ws:
        await ws.init(editor.token)
        await ws.subscribe(EXECUTION_EVENTS, {})
        await asyncio.sleep(0.2)
        # when 3 events commit at once (one transaction), more than the queue holds
        writer = SessionFactory(
            sessions.engine, session_info=runtime_of(lifespan).events.session_info
        )
        async with writer.tenant_transaction(editor.tenant_id) as session:
            execution = await session.get(ExecutionRow, key_of(execution_id))
            assert execution is not None
            for _ in range(3):
                await record_execution_event(session, execution=execution)
        # then the socket is closed as a slow consumer, with the way back in the reason
        closed = await _closed_within(ws, seconds=5)
    assert closed.code == subscriptions.SLOW_CONSUMER_CLOSE_CODE == 4008
    assert "after" in closed.reason


EVENTS_WITH_EXECUTION = """
subscription {
  executionEvents { status execution { id status output input workflow { id } } }
}
"""


async def test_a_live_events_execution_is_read_with_the_event_and_answers_every_field(
    app: ASGIApp, gql: GraphQLClient, members: Members
) -> None:
    # given subscribers that select the event's execution, its payloads and its workflow
    editor = await members.tenant(role=Role.EDITOR)
    workflow_id = await create_workflow(gql, editor)
    async with graphql_ws(app) as first, graphql_ws(app) as second:
        for ws in (first, second):
            await ws.init(editor.token)
            await ws.subscribe(EVENTS_WITH_EXECUTION, {})
        await asyncio.sleep(0.2)
        # when a run is queued with an input
        variables = {"input": {"workflowId": workflow_id, "input": {"n": 1}}}
        data = await gql.ok(RUN, variables, as_=editor)
        execution_id = data["runWorkflow"]["execution"]["id"]
        # then both see it with the execution as it was read with the event
        for ws in (first, second):
            queued = (await ws.next_data())["executionEvents"]
            assert queued["execution"] == {
                "id": execution_id,
                "status": "QUEUED",
                "output": None,
                "input": {"n": 1},
                "workflow": {"id": workflow_id},
            }
        # and, once it is cancelled, as it is then
        await cancel(gql, editor, execution_id)
        for ws in (first, second):
            cancelled = (await ws.next_data())["executionEvents"]
            assert (cancelled["status"], cancelled["execution"]["status"]) == (
                "CANCELLED",
                "CANCELLED",
            )
