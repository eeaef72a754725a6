"""Executions through the API: running, idempotency, the monthly quota, cancelling, events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from tenantflow.db import models
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.enums import ExecutionStatus, Role
from tenantflow.events.record import decode_event_cursor, encode_event_cursor
from tenantflow.schema.ids import to_global_id
from tenantflow.services.tenants.quotas import usage_period
from tests.api.conftest import GraphQLClient, Member, Members
from tests.api.workflow_helpers import (
    DEFINITION,
    RUN_WORKFLOW,
    audit_rows,
    create_workflow,
    key_of,
    nested,
    run_workflow,
    set_execution,
    widen_race_windows,
)
from tests.concurrency import together

EXECUTION = """
query($id: ID!) {
  execution(id: $id) {
    id status workflowVersion definition input output error queuedAt startedAt finishedAt
    durationMs triggeredBy { email } workflow { id version }
    steps { nodeId nodeType status startedAt finishedAt output error }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
EXECUTION_IDS = "query { executions(first: 100) { totalCount edges { node { id } } } }"
CANCEL = """
mutation($id: ID!) {
  cancelExecution(id: $id) {
    __typename
    ... on ExecutionPayload { execution { id status finishedAt } }
    ... on Error { message }
    ... on InvalidTransitionError { from to }
  }
}
"""
UPDATE_WORKFLOW = """
mutation($input: UpdateWorkflowInput!) { updateWorkflow(input: $input) { __typename } }
"""


async def run(gql: GraphQLClient, member: Member, workflow_id: str, **fields: Any) -> Any:
    variables = {"input": {"workflowId": workflow_id, **fields}}
    return (await gql.ok(RUN_WORKFLOW, variables, as_=member))["runWorkflow"]


async def events_of(sessions: SessionFactory, member: Member) -> list[models.ExecutionEvent]:
    statement = select(models.ExecutionEvent).order_by(col(models.ExecutionEvent.seq))
    async with sessions.tenant_reader(member.tenant_id) as session:
        return list((await session.exec(statement)).all())


async def set_usage(sessions: SessionFactory, member: Member, executions: int) -> None:
    async with sessions.tenant_transaction(member.tenant_id) as session:
        session.add(models.UsageCounter(period=usage_period(), executions=executions))


async def usage(sessions: SessionFactory, member: Member) -> int:
    statement = select(models.UsageCounter.executions).where(
        col(models.UsageCounter.period) == usage_period()
    )
    async with sessions.tenant_reader(member.tenant_id) as session:
        return int((await session.exec(statement)).first() or 0)


# ---------------------------------------------------------------- running


async def test_run_queues_a_snapshot_of_the_workflow_and_returns_at_once(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given
    owner = await members.tenant()
    editor = await members.member(owner.tenant_id, role=Role.EDITOR)
    workflow = await create_workflow(gql, owner)
    # when
    execution = await run_workflow(gql, editor, workflow["id"], input={"customer": 42})
    # then
    assert execution["status"] == "QUEUED"
    assert execution["workflowVersion"] == 1
    assert execution["definition"] == DEFINITION
    assert execution["input"] == {"customer": 42}
    assert execution["triggeredBy"] == {"id": to_global_id("User", editor.user_id)}
    # a later change of the workflow leaves the execution's snapshot alone
    changed = {"nodes": [{"id": "x", "type": "noop"}]}
    variables = {"input": {"id": workflow["id"], "definition": changed}}
    await gql.ok(UPDATE_WORKFLOW, variables, as_=owner)
    read = (await gql.ok(EXECUTION, {"id": execution["id"]}, as_=owner))["execution"]
    assert (read["definition"], read["workflowVersion"]) == (DEFINITION, 1)
    assert read["workflow"] == {"id": workflow["id"], "version": 2}
    assert (read["output"], read["durationMs"], read["steps"]) == (None, None, [])
    # with its event, its audit row and one more execution this month
    (event,) = await events_of(sessions, owner)
    assert (event.seq, event.status, event.execution_id) == (
        1,
        ExecutionStatus.QUEUED,
        key_of(execution["id"]),
    )
    (row,) = await audit_rows(sessions, owner, "execution.run")
    assert row.details == {"workflowId": str(key_of(workflow["id"])), "workflowVersion": 1}
    assert await usage(sessions, owner) == 1


async def test_draft_and_active_workflows_run_archived_and_deleted_ones_do_not(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    active = await create_workflow(gql, owner, status="ACTIVE")
    archived = await create_workflow(gql, owner, status="ARCHIVED")
    deleted = await create_workflow(gql, owner)
    delete = "mutation($id: ID!) { deleteWorkflow(id: $id) { __typename } }"
    await gql.ok(delete, {"id": deleted["id"]}, as_=owner)
    assert (await run(gql, owner, active["id"]))["__typename"] == "ExecutionPayload"
    for workflow in (archived, deleted):
        refused = await run(gql, owner, workflow["id"])
        assert refused["__typename"] == "ValidationError", refused
        assert [f["field"] for f in refused["fields"]] == ["input.workflowId"]
    assert len(await audit_rows(sessions, owner, "execution.run")) == 1
    assert await usage(sessions, owner) == 1


async def test_oversized_or_overdeep_inputs_are_validation_errors(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    for value in ({"blob": "x" * 300_000}, nested(40)):
        refused = await run(gql, owner, workflow["id"], input=value)
        assert refused["__typename"] == "ValidationError", refused
        assert refused["fields"][0]["field"].startswith("input.input")
    long_key = await run(gql, owner, workflow["id"], idempotencyKey="k" * 201)
    assert [f["field"] for f in long_key["fields"]] == ["input.idempotencyKey"]
    assert (await gql.ok(EXECUTION_IDS, as_=owner))["executions"]["totalCount"] == 0
    assert await usage(sessions, owner) == 0


async def test_viewers_cannot_run_or_cancel(gql: GraphQLClient, members: Members) -> None:
    owner = await members.tenant()
    viewer = await members.member(owner.tenant_id, role=Role.VIEWER)
    workflow = await create_workflow(gql, owner)
    execution = await run_workflow(gql, owner, workflow["id"])
    refused = await run(gql, viewer, workflow["id"])
    assert (refused["__typename"], refused["requiredPermission"]) == (
        "PermissionDeniedError",
        "execution:run",
    )
    cancelled = (await gql.ok(CANCEL, {"id": execution["id"]}, as_=viewer))["cancelExecution"]
    assert cancelled["__typename"] == "PermissionDeniedError"


# ---------------------------------------------------------------- idempotency


async def test_a_retry_with_the_same_key_returns_the_first_execution(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    widen_race_windows(monkeypatch)
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    # the first use of a key, raced by concurrent retries, makes one execution
    racing = await together(
        *(run_workflow(gql, owner, workflow["id"], idempotencyKey="order-1") for _ in range(3))
    )
    first = racing[0]
    assert {retry["id"] for retry in racing} == {first["id"]}
    later = await run_workflow(gql, owner, workflow["id"], idempotencyKey="order-1")
    assert later["id"] == first["id"]
    other_key = await run_workflow(gql, owner, workflow["id"], idempotencyKey="order-2")
    assert other_key["id"] != first["id"]
    assert await usage(sessions, owner) == 2
    assert len(await audit_rows(sessions, owner, "execution.run")) == 2
    # the key cannot start another workflow while it holds
    other = await create_workflow(gql, owner, "Other")
    refused = await run(gql, owner, other["id"], idempotencyKey="order-1")
    assert [f["field"] for f in refused["fields"]] == ["input.idempotencyKey"]


async def test_a_key_older_than_24_hours_starts_a_new_execution(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    first = await run_workflow(gql, owner, workflow["id"], idempotencyKey="nightly")
    async with sessions.tenant_transaction(owner.tenant_id) as session:
        key = (await session.exec(select(models.IdempotencyKey))).one()
        key.created_at = utcnow() - timedelta(hours=24, minutes=1)
        session.add(key)
    second = await run_workflow(gql, owner, workflow["id"], idempotencyKey="nightly")
    assert second["id"] != first["id"]
    # and the key now answers with the new execution
    third = await run_workflow(gql, owner, workflow["id"], idempotencyKey="nightly")
    assert third["id"] == second["id"]


# ---------------------------------------------------------------- the monthly quota


async def test_the_monthly_quota_counts_every_run_even_deleted_ones(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    # given: a FREE tenant (1,000 a month) that used 998
    owner = await members.tenant()
    await set_usage(sessions, owner, 998)
    workflow = await create_workflow(gql, owner)
    execution = await run_workflow(gql, owner, workflow["id"])
    # its execution ends and its workflow is deleted: the run still counts
    await gql.ok(CANCEL, {"id": execution["id"]}, as_=owner)
    await gql.ok("mutation($id: ID!) { deleteWorkflow(id: $id) { __typename } }",
                 {"id": workflow["id"]}, as_=owner)  # fmt: skip
    other = await create_workflow(gql, owner, "Other")
    await run_workflow(gql, owner, other["id"])
    # when
    refused = await run(gql, owner, other["id"])
    # then
    assert (refused["__typename"], refused["resource"], refused["limit"], refused["plan"]) == (
        "QuotaExceededError",
        "executions",
        1000,
        "FREE",
    )
    assert await usage(sessions, owner) == 1000
    assert len(await audit_rows(sessions, owner, "execution.run")) == 2


async def test_concurrent_runs_cannot_both_take_the_last_execution(
    gql: GraphQLClient, members: Members, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    widen_race_windows(monkeypatch)
    owner = await members.tenant()
    await set_usage(sessions, owner, 999)
    workflow = await create_workflow(gql, owner)
    results = await together(*(run(gql, owner, workflow["id"]) for _ in range(4)))
    kinds = sorted(result["__typename"] for result in results)
    assert kinds == ["ExecutionPayload"] + ["QuotaExceededError"] * 3
    assert await usage(sessions, owner) == 1000
    assert (await gql.ok(EXECUTION_IDS, as_=owner))["executions"]["totalCount"] == 1


# ---------------------------------------------------------------- cancelling and events


async def test_cancel_moves_queued_and_running_executions_to_cancelled(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    queued = await run_workflow(gql, owner, workflow["id"])
    running = await run_workflow(gql, owner, workflow["id"])
    await set_execution(
        sessions, owner, running["id"], status=ExecutionStatus.RUNNING, started_at=utcnow()
    )
    for execution in (queued, running):
        result = (await gql.ok(CANCEL, {"id": execution["id"]}, as_=owner))["cancelExecution"]
        assert result["__typename"] == "ExecutionPayload"
        assert result["execution"]["status"] == "CANCELLED"
        assert result["execution"]["finishedAt"] is not None
    # every status change is an event, at consecutive positions of the tenant's stream
    events = await events_of(sessions, owner)
    assert [(e.seq, e.execution_id, e.status) for e in events] == [
        (1, key_of(queued["id"]), ExecutionStatus.QUEUED),
        (2, key_of(running["id"]), ExecutionStatus.QUEUED),
        (3, key_of(queued["id"]), ExecutionStatus.CANCELLED),
        (4, key_of(running["id"]), ExecutionStatus.CANCELLED),
    ]
    rows = await audit_rows(sessions, owner, "execution.cancel")
    assert [row.details for row in rows] == [
        {"status": {"before": "QUEUED", "after": "CANCELLED"}},
        {"status": {"before": "RUNNING", "after": "CANCELLED"}},
    ]
    async with sessions.tenant_reader(owner.tenant_id) as session:
        stored = (
            await session.exec(
                select(models.Execution).where(col(models.Execution.id) == key_of(running["id"]))
            )
        ).one()
    assert stored.cancel_requested_at is not None  # the executor stops at its next step


async def test_cancelling_a_finished_execution_is_an_invalid_transition(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    execution = await run_workflow(gql, owner, workflow["id"])
    await set_execution(sessions, owner, execution["id"], status=ExecutionStatus.SUCCEEDED)
    refused = (await gql.ok(CANCEL, {"id": execution["id"]}, as_=owner))["cancelExecution"]
    assert (refused["__typename"], refused["from"], refused["to"]) == (
        "InvalidTransitionError",
        "SUCCEEDED",
        "CANCELLED",
    )
    assert len(await events_of(sessions, owner)) == 1  # the QUEUED one only
    assert await audit_rows(sessions, owner, "execution.cancel") == []


async def test_event_positions_stay_unique_and_gapless_under_concurrent_writers(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant(role=Role.OWNER)
    workflows = [await create_workflow(gql, owner, f"w{i}") for i in range(3)]
    await together(*(run(gql, owner, w["id"]) for w in workflows for _ in range(3)))
    other = await members.tenant()
    other_workflow = await create_workflow(gql, other)
    await run_workflow(gql, other, other_workflow["id"])
    assert [event.seq for event in await events_of(sessions, owner)] == list(range(1, 10))
    # each tenant has a stream of its own
    assert [event.seq for event in await events_of(sessions, other)] == [1]


# ---------------------------------------------------------------- reading


async def test_execution_reports_its_duration_and_steps(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    owner = await members.tenant()
    workflow = await create_workflow(gql, owner)
    execution = await run_workflow(gql, owner, workflow["id"])
    started = utcnow()
    await set_execution(
        sessions,
        owner,
        execution["id"],
        status=ExecutionStatus.SUCCEEDED,
        started_at=started,
        finished_at=started + timedelta(milliseconds=1500),
    )
    async with sessions.tenant_transaction(owner.tenant_id) as session:
        for node_id, node_type, offset in (("wait", "delay", 1), ("start", "noop", 0)):
            session.add(
                models.ExecutionStep(
                    execution_id=key_of(execution["id"]),
                    node_id=node_id,
                    node_type=node_type,
                    status=ExecutionStatus.SUCCEEDED,
                    started_at=started + timedelta(milliseconds=offset),
                    finished_at=started + timedelta(milliseconds=offset + 1),
                    output={"from": node_id},
                )
            )
    read = (await gql.ok(EXECUTION, {"id": execution["id"]}, as_=owner))["execution"]
    assert read["status"] == "SUCCEEDED"
    assert read["durationMs"] == 1500
    assert [(s["nodeId"], s["nodeType"], s["output"]) for s in read["steps"]] == [
        ("start", "noop", {"from": "start"}),
        ("wait", "delay", {"from": "wait"}),
    ]
    node = (await gql.ok(NODE, {"id": execution["id"]}, as_=owner))["node"]
    assert node == {"__typename": "Execution", "id": execution["id"]}


async def test_another_tenants_executions_act_like_ones_that_do_not_exist(
    gql: GraphQLClient, members: Members, sessions: SessionFactory
) -> None:
    a, b = await members.tenant(), await members.tenant()
    theirs = await create_workflow(gql, b)
    their_execution = await run_workflow(gql, b, theirs["id"])
    mine = await run_workflow(gql, a, (await create_workflow(gql, a))["id"])
    # reading
    assert (await gql.ok(EXECUTION, {"id": their_execution["id"]}, as_=a))["execution"] is None
    assert (await gql.ok(NODE, {"id": their_execution["id"]}, as_=a))["node"] is None
    listed = (await gql.ok(EXECUTION_IDS, as_=a))["executions"]
    assert [edge["node"]["id"] for edge in listed["edges"]] == [mine["id"]]
    # running B's workflow and cancelling B's execution find nothing
    refused = await run(gql, a, theirs["id"])
    assert refused == {"__typename": "NotFoundError", "message": "Workflow not found"}
    cancel = (await gql.ok(CANCEL, {"id": their_execution["id"]}, as_=a))["cancelExecution"]
    assert cancel == {"__typename": "NotFoundError", "message": "Execution not found"}
    garbage = (await gql.ok(CANCEL, {"id": "garbage"}, as_=a))["cancelExecution"]
    assert garbage == cancel
    # B's execution is untouched, and A's usage counted only A's own run
    read = (await gql.ok(EXECUTION, {"id": their_execution["id"]}, as_=b))["execution"]
    assert read["status"] == "QUEUED"
    assert await usage(sessions, a) == 1


def test_event_cursors_are_opaque_positions() -> None:
    cursor = encode_event_cursor(42)
    assert "42" not in cursor
    assert decode_event_cursor(cursor) == 42
    for garbage in ("", "garbage", encode_event_cursor(1)[:-2], to_global_id("Workflow", "1")):
        assert decode_event_cursor(garbage) is None, garbage
