"""Executions run by the executor, seen through the API: outputs, steps, failures, cancelling,
live status over the websocket, definition snapshots and tenants.

Most tests run the server with its own executor (`executor_workers=2`), as it is deployed; where a
test must act before anything runs, it starts an executor of its own on a separate engine (another
process, in effect) once it is ready.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import col, select
from starlette.types import ASGIApp

from tenantflow.app import build_app
from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.enums import ExecutionStatus, Plan, Role
from tenantflow.events.record import decode_event_cursor
from tenantflow.executor.step_context import NodeServices
from tenantflow.executor.workers import Executor
from tenantflow.runtime import Runtime
from tenantflow.settings import Settings
from tests.api.conftest import GraphQLClient, Member, Members
from tests.api.websocket import graphql_ws
from tests.api.workflow_helpers import create_workflow, key_of, run_workflow
from tests.conftest import runtime_of
from tests.polling import eventually

EXECUTION = """
query($id: ID!) {
  execution(id: $id) {
    id status input output error startedAt finishedAt workflowVersion
    steps { nodeId nodeType status startedAt finishedAt output error }
  }
}
"""
CANCEL = """
mutation($id: ID!) {
  cancelExecution(id: $id) { __typename ... on ExecutionPayload { execution { status } } }
}
"""
UPDATE_WORKFLOW = """
mutation($input: UpdateWorkflowInput!) { updateWorkflow(input: $input) { __typename } }
"""
EXECUTION_UPDATED = """
subscription($id: ID!) {
  executionUpdated(executionId: $id) { status step { nodeId status } execution { id } }
}
"""


def transform(node_id: str, **values: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "transform", "config": {"set": values}}


def edges(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"from": source, "to": target} for source, target in pairs]


# Listed out of running order on purpose: the run follows the edges, and merges follow this list.
DIAMOND = {
    "nodes": [
        transform("join", joined=True, k="join"),
        transform("right", side="right", r=1),
        transform("left", side="left", l=1),
        transform("start", start=1, k="start"),
        transform("extra", extra=True, k="extra"),
    ],
    "edges": edges(
        ("start", "left"),
        ("start", "right"),
        ("left", "join"),
        ("right", "join"),
        ("start", "extra"),
    ),
}


def delaying(ms: int) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "start", "type": "noop"},
            {"id": "wait", "type": "delay", "config": {"ms": ms}},
            transform("end", done=True),
        ],
        "edges": edges(("start", "wait"), ("wait", "end")),
    }


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[ASGIApp]:
    """The application with its executor running, as deployed."""
    running = settings.model_copy(update={"executor_workers": 2, "executor_lease_seconds": 5})
    async with LifespanManager(build_app(running)) as manager:
        yield manager.app


@pytest.fixture
async def api(server: ASGIApp) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


@asynccontextmanager
async def executor_of_another_process(
    sessions: SessionFactory, settings: Settings, wakeups: Runtime | None = None
) -> AsyncIterator[Executor]:
    """An executor of its own; with `wakeups`, its commits wake that application's subscribers
    as another process's would (through LISTEN/NOTIFY or Redis)."""
    if wakeups is not None:
        sessions = SessionFactory(sessions.engine, session_info=wakeups.events.session_info)
    nodes = NodeServices.from_settings(settings)
    executor = Executor(sessions, nodes=nodes, workers=2, lease_seconds=5, idle_seconds=0.05)
    await executor.start()
    try:
        yield executor
    finally:
        await executor.stop(grace_seconds=1)


async def row(sessions: SessionFactory, member: Member, execution_id: str) -> models.Execution:
    statement = select(models.Execution).where(col(models.Execution.id) == key_of(execution_id))
    async with sessions.tenant_reader(member.tenant_id) as session:
        return (await session.exec(statement)).one()


async def step_rows(
    sessions: SessionFactory, member: Member, execution_id: str
) -> dict[str, models.ExecutionStep]:
    statement = select(models.ExecutionStep).where(
        col(models.ExecutionStep.execution_id) == key_of(execution_id)
    )
    async with sessions.tenant_reader(member.tenant_id) as session:
        return {step.node_id: step for step in (await session.exec(statement)).all()}


async def events(sessions: SessionFactory, member: Member) -> list[models.ExecutionEvent]:
    statement = select(models.ExecutionEvent).order_by(col(models.ExecutionEvent.seq))
    async with sessions.tenant_reader(member.tenant_id) as session:
        return list((await session.exec(statement)).all())


async def finished(
    gql: GraphQLClient, sessions: SessionFactory, member: Member, execution_id: str
) -> dict[str, Any]:
    """The execution as the API shows it, once it has finished (polled in the database)."""

    async def done() -> bool:
        return (await row(sessions, member, execution_id)).status.is_terminal

    await eventually(done)
    execution: dict[str, Any] = (await gql.ok(EXECUTION, {"id": execution_id}, as_=member))[
        "execution"
    ]
    return execution


async def start_workflow(
    gql: GraphQLClient, member: Member, definition: Any, run_input: Any = None
) -> str:
    workflow = await create_workflow(gql, member, definition=definition)
    execution_id: str = (await run_workflow(gql, member, workflow["id"], input=run_input))["id"]
    return execution_id


async def waiting(sessions: SessionFactory, member: Member, execution_id: str) -> bool:
    """Whether the execution's step `wait` (of `delaying`) is running."""
    step = (await step_rows(sessions, member, execution_id)).get("wait")
    return step is not None and step.status is ExecutionStatus.RUNNING


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


async def test_a_diamond_runs_to_the_merge_of_its_sinks_with_one_step_per_node_in_order(
    api: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    owner = await members.tenant()
    # when
    execution_id = await start_workflow(api, owner, DIAMOND, {"in": 1})
    execution = await finished(api, sessions, owner, execution_id)
    # then each node got the merge of its predecessors (the later in `nodes` winning "side")
    start = {"in": 1, "start": 1, "k": "start"}
    right = {**start, "side": "right", "r": 1}
    left = {**start, "side": "left", "l": 1}
    join = {**start, "side": "left", "r": 1, "l": 1, "joined": True, "k": "join"}
    extra = {**start, "extra": True, "k": "extra"}
    assert execution["status"] == "SUCCEEDED"
    assert [(s["nodeId"], s["status"], s["output"]) for s in execution["steps"]] == [
        ("start", "SUCCEEDED", start),
        ("right", "SUCCEEDED", right),
        ("left", "SUCCEEDED", left),
        ("join", "SUCCEEDED", join),
        ("extra", "SUCCEEDED", extra),
    ]
    # and the execution's output merges the sinks, join then extra (their order in `nodes`)
    assert execution["output"] == {**join, **extra}
    assert execution["error"] is None
    assert execution["startedAt"] <= execution["steps"][0]["startedAt"]
    assert execution["steps"][-1]["finishedAt"] <= execution["finishedAt"]


async def test_a_failing_node_fails_the_execution_and_later_nodes_never_start(
    api: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    definition = {
        "nodes": [
            {"id": "first", "type": "noop"},
            {"id": "boom", "type": "fail", "config": {"message": "Card declined"}},
            {"id": "after", "type": "noop"},
        ],
        "edges": edges(("first", "boom"), ("boom", "after")),
    }
    owner = await members.tenant()
    execution_id = await start_workflow(api, owner, definition, {"card": 4})
    execution = await finished(api, sessions, owner, execution_id)
    assert (execution["status"], execution["error"], execution["output"]) == (
        "FAILED",
        "Card declined",
        None,
    )
    assert [(s["nodeId"], s["status"], s["error"]) for s in execution["steps"]] == [
        ("first", "SUCCEEDED", None),
        ("boom", "FAILED", "Card declined"),
    ]
    statuses = [(e.status, e.step and e.step["nodeId"]) for e in await events(sessions, owner)]
    assert statuses[-2:] == [
        (ExecutionStatus.RUNNING, "boom"),
        (ExecutionStatus.FAILED, None),
    ]


async def test_a_subscriber_sees_every_change_of_a_run_in_order_then_completes(
    app: ASGIApp,
    gql: GraphQLClient,
    members: Members,
    sessions: SessionFactory,
    settings: Settings,
) -> None:
    # given a queued execution with a subscriber (nothing runs it yet)
    definition = {
        "nodes": [{"id": "a", "type": "noop"}, transform("b", b=2)],
        "edges": edges(("a", "b")),
    }
    editor = await members.tenant(role=Role.EDITOR)
    execution_id = await start_workflow(gql, editor, definition)
    async with graphql_ws(app) as ws:
        assert (await ws.init(editor.token))["type"] == "connection_ack"
        operation = await ws.subscribe(EXECUTION_UPDATED, {"id": execution_id})
        seen = [(await ws.next_data())["executionUpdated"]]
        # when an executor (of another process) runs it
        async with executor_of_another_process(sessions, settings):
            seen += [(await ws.next_data())["executionUpdated"] for _ in range(6)]
            completion = await ws.receive()
    # then every change arrives, in order, and the subscription completes after the last
    assert [(e["status"], e["step"]) for e in seen] == [
        ("QUEUED", None),
        ("RUNNING", None),
        ("RUNNING", {"nodeId": "a", "status": "RUNNING"}),
        ("RUNNING", {"nodeId": "a", "status": "SUCCEEDED"}),
        ("RUNNING", {"nodeId": "b", "status": "RUNNING"}),
        ("RUNNING", {"nodeId": "b", "status": "SUCCEEDED"}),
        ("SUCCEEDED", None),
    ]
    assert {e["execution"]["id"] for e in seen} == {execution_id}
    assert completion == {"id": operation, "type": "complete"}


async def test_cancelling_during_a_delay_cancels_its_step_and_nothing_overwrites_it(
    api: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given an execution waiting in a 10 s delay
    owner = await members.tenant()
    execution_id = await start_workflow(api, owner, delaying(10_000))
    await eventually(partial(waiting, sessions, owner, execution_id))
    # when it is cancelled
    cancelled = (await api.ok(CANCEL, {"id": execution_id}, as_=owner))["cancelExecution"]
    assert cancelled["execution"]["status"] == "CANCELLED"

    # then the executor stops the delay, marks its step CANCELLED and lets the execution go
    async def let_go() -> bool:
        execution = await row(sessions, owner, execution_id)
        return execution.lease_owner is None

    await eventually(let_go)
    execution = (await api.ok(EXECUTION, {"id": execution_id}, as_=owner))["execution"]
    assert (execution["status"], execution["output"]) == ("CANCELLED", None)
    assert [(s["nodeId"], s["status"]) for s in execution["steps"]] == [
        ("start", "SUCCEEDED"),
        ("wait", "CANCELLED"),
    ]
    wait = execution["steps"][1]
    assert seconds_between(wait["startedAt"], wait["finishedAt"]) < 9  # interrupted, not waited
    # the step's end comes before the execution's (a subscriber stops at the terminal status),
    # and nothing follows it
    changes = [(e.status, e.step and e.step["status"]) for e in await events(sessions, owner)]
    assert changes[-3:] == [
        (ExecutionStatus.RUNNING, "RUNNING"),
        (ExecutionStatus.RUNNING, "CANCELLED"),
        (ExecutionStatus.CANCELLED, None),
    ]


async def test_a_run_uses_the_definition_it_was_queued_with(
    gql: GraphQLClient,
    members: Members,
    sessions: SessionFactory,
    settings: Settings,
) -> None:
    # given an execution queued before its workflow changed
    owner = await members.tenant()
    before = {"nodes": [transform("old", version=1)], "edges": []}
    workflow = await create_workflow(gql, owner, definition=before)
    execution_id = (await run_workflow(gql, owner, workflow["id"]))["id"]
    after = {"nodes": [transform("new", version=2)], "edges": []}
    variables = {"input": {"id": workflow["id"], "definition": after}}
    assert (await gql.ok(UPDATE_WORKFLOW, variables, as_=owner))["updateWorkflow"][
        "__typename"
    ] == "WorkflowPayload"
    # when it runs
    async with executor_of_another_process(sessions, settings):
        execution = await finished(gql, sessions, owner, execution_id)
    # then it ran the snapshot
    assert execution["workflowVersion"] == 1
    assert [s["nodeId"] for s in execution["steps"]] == ["old"]
    assert execution["output"] == {"version": 1}


async def test_an_executor_runs_every_tenants_executions_each_in_its_own_tenant(
    api: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given two tenants running the same workflow on inputs of their own
    a = await members.tenant(plan=Plan.PRO)
    b = await members.tenant(plan=Plan.PRO)
    definition = {
        "nodes": [{"id": "a", "type": "noop"}, transform("b", seen=True)],
        "edges": edges(("a", "b")),
    }
    runs = {
        member: [
            await start_workflow(api, member, definition, {"owner": name, "n": n}) for n in range(3)
        ]
        for member, name in ((a, "A"), (b, "B"))
    }
    # when the executor has run them all
    for member, execution_ids in runs.items():
        for n, execution_id in enumerate(execution_ids):
            execution = await finished(api, sessions, member, execution_id)
            # then each output is its own tenant's
            owner = "A" if member is a else "B"
            assert execution["output"] == {"owner": owner, "n": n, "seen": True}
            assert [s["output"]["owner"] for s in execution["steps"]] == [owner, owner]
    # and each tenant sees only its own executions, steps and events
    for member, other in ((a, b), (b, a)):
        foreign = (await api.ok(EXECUTION, {"id": runs[other][0]}, as_=member))["execution"]
        assert foreign is None
        stream = await events(sessions, member)
        assert {e.execution_id for e in stream} == {key_of(i) for i in runs[member]}
        assert [e.seq for e in stream] == list(range(1, len(stream) + 1))
        assert len(stream) == 3 * (1 + 1 + 4 + 1)  # queued, running, 2 steps x 2, succeeded
        foreign_steps = await step_rows(sessions, member, runs[other][0])
        assert foreign_steps == {}


EXECUTION_EVENTS = """
subscription {
  executionEvents { status at cursor step { nodeId status } execution { id } }
}
"""


async def test_cancels_racing_the_executor_leave_events_in_order_of_time_and_position(
    lifespan: LifespanManager,
    gql: GraphQLClient,
    members: Members,
    sessions: SessionFactory,
    settings: Settings,
) -> None:
    # given queued runs and a subscriber to all of their tenant's events
    owner = await members.tenant(plan=Plan.PRO)
    workflow = await create_workflow(gql, owner, definition=delaying(2_000))
    runs = [(await run_workflow(gql, owner, workflow["id"]))["id"] for _ in range(3)]
    async with graphql_ws(lifespan.app) as ws:
        assert (await ws.init(owner.token))["type"] == "connection_ack"
        await ws.subscribe(EXECUTION_EVENTS)
        seen: list[dict[str, Any]] = []
        ended: set[str] = set()
        # when an executor runs them and each is cancelled once its delay runs (mid-node)
        async with executor_of_another_process(sessions, settings, runtime_of(lifespan)):
            while len(ended) < len(runs):
                event = (await ws.next_data(seconds=20))["executionEvents"]
                seen.append(event)
                if event["step"] == {"nodeId": "wait", "status": "RUNNING"}:
                    cancelled = await gql.ok(CANCEL, {"id": event["execution"]["id"]}, as_=owner)
                    assert cancelled["cancelExecution"]["execution"]["status"] == "CANCELLED"
                if event["status"] == "CANCELLED" and event["step"] is None:
                    ended.add(event["execution"]["id"])
    # then the stream's times never go back, and its positions only go forward
    times = [datetime.fromisoformat(event["at"]) for event in seen]
    assert times == sorted(times), [(e["at"], e["status"], e["step"]) for e in seen]
    positions = [decode_event_cursor(event["cursor"]) for event in seen]
    assert positions == list(range(4, len(seen) + 4))  # after the three QUEUED events
    # and each run's step was cancelled just before the run, nothing after
    for execution_id in runs:
        own = [(e["status"], e["step"]) for e in seen if e["execution"]["id"] == execution_id]
        assert own[-2:] == [
            ("RUNNING", {"nodeId": "wait", "status": "CANCELLED"}),
            ("CANCELLED", None),
        ]


ENDED_CANCEL = """
mutation($id: ID!) {
  cancelExecution(id: $id) {
    __typename
    ... on Error { message }
    ... on InvalidTransitionError { from to }
  }
}
"""


async def test_cancelling_again_says_the_execution_already_ended(
    api: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given a run cancelled while it waits
    owner = await members.tenant()
    execution_id = await start_workflow(api, owner, delaying(10_000))
    await eventually(partial(waiting, sessions, owner, execution_id))
    first = (await api.ok(ENDED_CANCEL, {"id": execution_id}, as_=owner))["cancelExecution"]
    assert first == {"__typename": "ExecutionPayload"}
    stream = len(await events(sessions, owner))
    # when it is cancelled again
    again = (await api.ok(ENDED_CANCEL, {"id": execution_id}, as_=owner))["cancelExecution"]
    # then
    assert again == {
        "__typename": "InvalidTransitionError",
        "message": "The execution already ended (CANCELLED)",
        "from": "CANCELLED",
        "to": "CANCELLED",
    }
    assert len(await events(sessions, owner)) == stream  # nothing recorded
    # and another tenant cannot even tell it exists
    other = await members.tenant()
    foreign = (await api.ok(ENDED_CANCEL, {"id": execution_id}, as_=other))["cancelExecution"]
    assert foreign == {"__typename": "NotFoundError", "message": "Execution not found"}
