"""The executor against the database: claims, leases, heartbeats, resuming, several executors.

Executions are queued through the domain services (as runWorkflow does); what only a dead process
leaves behind (a RUNNING execution with a lapsed lease) is written straight into the tenant's rows.
Executors here use short leases (3 s, so a heartbeat each second) and a fast poll.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from tenantflow.auth.principal import Principal
from tenantflow.db import models
from tenantflow.db.engine import create_engine
from tenantflow.db.session import SessionFactory, execute
from tenantflow.db.types import utcnow
from tenantflow.definitions.definition import topological_order
from tenantflow.definitions.node_types import NODE_TYPES
from tenantflow.enums import ExecutionStatus, Plan, Role, TenantStatus, WorkflowStatus
from tenantflow.executor import runner
from tenantflow.executor.runner import (
    INTERNAL_ERROR,
    NODE_INTERNAL_ERROR,
    lost_message,
    merge_outputs,
)
from tenantflow.executor.step_context import NodeServices
from tenantflow.executor.workers import Executor
from tenantflow.outbound.policy import OutboundPolicy
from tenantflow.secrets.envelope import MasterKeyring
from tenantflow.services.actor import Actor
from tenantflow.services.workflows import executions as execution_service
from tenantflow.services.workflows import workflows as workflow_service
from tenantflow.services.workflows.executions import change_status
from tenantflow.settings import Settings
from tests.api.conftest import Members
from tests.polling import eventually

T = TypeVar("T")
LEASE_SECONDS = 3
# These runs use no provider key and make no outbound call.
NODES = NodeServices(
    keyring=MasterKeyring(["unused-master-key-" + "k" * 32]), outbound=OutboundPolicy()
)
CHAIN = {
    "nodes": [
        {"id": "a", "type": "transform", "config": {"set": {"a": 1}}},
        {"id": "b", "type": "transform", "config": {"set": {"b": 2}}},
    ],
    "edges": [{"from": "a", "to": "b"}],
}


def delaying(ms: int) -> dict[str, Any]:
    """start -> wait (`ms`) -> end."""
    return {
        "nodes": [
            {"id": "start", "type": "noop"},
            {"id": "wait", "type": "delay", "config": {"ms": ms}},
            {"id": "end", "type": "transform", "config": {"set": {"done": True}}},
        ],
        "edges": [{"from": "start", "to": "wait"}, {"from": "wait", "to": "end"}],
    }


@dataclass(frozen=True)
class State:
    execution: models.Execution
    steps: dict[str, models.ExecutionStep]
    events: list[models.ExecutionEvent]

    @property
    def run_events(self) -> list[ExecutionStatus]:
        """Statuses of the execution's own events (not its steps'), in order."""
        return [event.status for event in self.events if event.step is None]

    @property
    def step_events(self) -> list[tuple[str, str]]:
        return [(e.step["nodeId"], e.step["status"]) for e in self.events if e.step is not None]


async def new_tenant(sessions: SessionFactory, settings: Settings) -> Actor:
    member = await Members(sessions, settings).tenant(plan=Plan.PRO)
    principal = Principal(
        member.tenant_id, Role.OWNER, TenantStatus.ACTIVE, Plan.PRO, user_id=member.user_id
    )
    return Actor(principal)


async def new_workflow(sessions: SessionFactory, actor: Actor, definition: Any) -> uuid.UUID:
    workflow = await workflow_service.create_workflow(
        db=sessions.for_tenant(actor.tenant_id),
        actor=actor,
        name="Flow",
        description=None,
        definition=definition,
        status=WorkflowStatus.ACTIVE,
    )
    return workflow.id


async def queue(
    sessions: SessionFactory, actor: Actor, workflow_id: uuid.UUID, run_input: Any = None
) -> uuid.UUID:
    execution = await execution_service.run_workflow(
        db=sessions.for_tenant(actor.tenant_id),
        actor=actor,
        workflow_id=workflow_id,
        run_input=run_input,
    )
    return execution.id


async def state(sessions: SessionFactory, actor: Actor, execution_id: uuid.UUID) -> State:
    async with sessions.tenant_reader(actor.tenant_id) as session:
        execution = (
            await session.exec(
                select(models.Execution).where(col(models.Execution.id) == execution_id)
            )
        ).one()
        steps = (
            await session.exec(
                select(models.ExecutionStep).where(
                    col(models.ExecutionStep.execution_id) == execution_id
                )
            )
        ).all()
        events = (
            await session.exec(
                select(models.ExecutionEvent)
                .where(col(models.ExecutionEvent.execution_id) == execution_id)
                .order_by(col(models.ExecutionEvent.seq))
            )
        ).all()
    return State(execution, {step.node_id: step for step in steps}, list(events))


async def finished(sessions: SessionFactory, actor: Actor, execution_id: uuid.UUID) -> State:
    async def check() -> State | None:
        current = await state(sessions, actor, execution_id)
        return current if current.execution.status.is_terminal else None

    return await eventually(check)


async def step_status(
    sessions: SessionFactory, actor: Actor, execution_id: uuid.UUID, node_id: str
) -> ExecutionStatus | None:
    step = (await state(sessions, actor, execution_id)).steps.get(node_id)
    return step.status if step else None


@asynccontextmanager
async def executing(sessions: SessionFactory, *, workers: int = 2) -> AsyncIterator[Executor]:
    executor = Executor(
        sessions, nodes=NODES, workers=workers, lease_seconds=LEASE_SECONDS, idle_seconds=0.05
    )
    await executor.start()
    try:
        yield executor
    finally:
        await executor.stop(grace_seconds=1)


@asynccontextmanager
async def another_process(settings: Settings) -> AsyncIterator[SessionFactory]:
    """Sessions on an engine of their own, as another server process would have."""
    engine = create_engine(settings.database_url, pool_size=5)
    try:
        yield SessionFactory(engine)
    finally:
        await engine.dispose()


async def left_by_dead_process(
    sessions: SessionFactory,
    actor: Actor,
    execution_id: uuid.UUID,
    *,
    attempts: int,
    steps: dict[str, tuple[ExecutionStatus, Any]],
    status: ExecutionStatus = ExecutionStatus.RUNNING,
) -> None:
    """What a process that died mid-run leaves: its steps, and a lease that has lapsed."""
    async with sessions.tenant_transaction(actor.tenant_id) as session:
        execution = (
            await session.exec(
                select(models.Execution).where(col(models.Execution.id) == execution_id)
            )
        ).one()
        if status is ExecutionStatus.RUNNING:
            await change_status(session, execution, status)
        execution.lease_owner = "dead-host:1:0"
        execution.lease_expires_at = utcnow() - timedelta(minutes=1)
        execution.attempts = attempts
        session.add(execution)
        for node_id, (step_status_, output) in steps.items():
            session.add(
                models.ExecutionStep(
                    execution_id=execution_id,
                    node_id=node_id,
                    node_type="transform",
                    status=step_status_,
                    started_at=utcnow() - timedelta(minutes=2),
                    output=output,
                )
            )


async def set_lease(
    sessions: SessionFactory, actor: Actor, execution_id: uuid.UUID, owner: str
) -> None:
    """Another worker holds the lease now, for a minute."""
    async with sessions.tenant_transaction(actor.tenant_id) as session:
        await execute(
            session,
            sa.update(models.Execution)
            .where(col(models.Execution.id) == execution_id)
            .values(lease_owner=owner, lease_expires_at=utcnow() + timedelta(minutes=1)),
        )


# ---------------------------------------------------------------- merging


def test_outputs_merge_key_by_key_in_node_order_and_non_objects_replace() -> None:
    assert merge_outputs([{"a": 1, "k": "first"}, {"b": 2, "k": "second"}]) == {
        "a": 1,
        "b": 2,
        "k": "second",
    }
    assert merge_outputs([[1, 2]]) == [1, 2]
    assert merge_outputs([{"a": 1}, None]) is None
    assert merge_outputs([None, {"a": 1}, {"b": 2}]) == {"a": 1, "b": 2}
    assert merge_outputs([{"a": 1}, "text", {"b": 2}]) == {"b": 2}


# ---------------------------------------------------------------- several executors


async def test_two_executors_run_each_of_20_executions_exactly_once(
    sessions: SessionFactory, settings: Settings
) -> None:
    # given 20 queued executions of a three-node workflow
    actor = await new_tenant(sessions, settings)
    workflow_id = await new_workflow(sessions, actor, delaying(20))
    queued = [await queue(sessions, actor, workflow_id, {"n": n}) for n in range(20)]
    # when two executors of separate processes run side by side
    async with (
        another_process(settings) as first,
        another_process(settings) as second,
        executing(first),
        executing(second),
    ):
        results = [await finished(sessions, actor, execution_id) for execution_id in queued]
    # then each ran once: one claim, one RUNNING, one start and one end per node
    for n, result in enumerate(results):
        assert result.execution.status is ExecutionStatus.SUCCEEDED
        assert result.execution.output == {"n": n, "done": True}
        assert result.execution.attempts == 1
        assert result.run_events == [
            ExecutionStatus.QUEUED,
            ExecutionStatus.RUNNING,
            ExecutionStatus.SUCCEEDED,
        ]
        assert result.step_events == [
            ("start", "RUNNING"),
            ("start", "SUCCEEDED"),
            ("wait", "RUNNING"),
            ("wait", "SUCCEEDED"),
            ("end", "RUNNING"),
            ("end", "SUCCEEDED"),
        ]
        assert len(result.steps) == 3
        assert (result.execution.lease_owner, result.execution.lease_expires_at) == (None, None)


async def test_a_live_lease_of_another_worker_is_left_alone(
    sessions: SessionFactory, settings: Settings
) -> None:
    actor = await new_tenant(sessions, settings)
    workflow_id = await new_workflow(sessions, actor, CHAIN)
    held = await queue(sessions, actor, workflow_id)
    await set_lease(sessions, actor, held, "elsewhere:1:0")
    free = await queue(sessions, actor, workflow_id)
    async with executing(sessions):
        assert (await finished(sessions, actor, free)).execution.status is ExecutionStatus.SUCCEEDED
    untouched = await state(sessions, actor, held)
    assert untouched.execution.status is ExecutionStatus.QUEUED
    assert (untouched.execution.lease_owner, untouched.execution.attempts) == ("elsewhere:1:0", 0)
    assert untouched.steps == {}


async def test_an_execution_cancelled_while_queued_is_never_run(
    sessions: SessionFactory, settings: Settings
) -> None:
    actor = await new_tenant(sessions, settings)
    workflow_id = await new_workflow(sessions, actor, CHAIN)
    cancelled = await queue(sessions, actor, workflow_id)
    await execution_service.cancel_execution(
        db=sessions.for_tenant(actor.tenant_id), actor=actor, execution_id=cancelled
    )
    later = await queue(sessions, actor, workflow_id)
    async with executing(sessions):
        await finished(sessions, actor, later)
    result = await state(sessions, actor, cancelled)
    assert result.run_events == [ExecutionStatus.QUEUED, ExecutionStatus.CANCELLED]
    assert (result.steps, result.execution.attempts) == ({}, 0)


# ---------------------------------------------------------------- leases


async def test_the_heartbeat_keeps_a_long_node_from_being_claimed_again(
    sessions: SessionFactory, settings: Settings
) -> None:
    # given a node that outlasts the 3 s lease, and two executors hungry for work
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, delaying(4000)))
    async with (
        another_process(settings) as other,
        executing(sessions),
        executing(other),
    ):
        result = await finished(sessions, actor, execution_id)
    # then the renewed lease kept it with its first worker: claimed once, each node run once
    assert result.execution.status is ExecutionStatus.SUCCEEDED
    assert result.execution.attempts == 1
    assert result.step_events.count(("wait", "RUNNING")) == 1


async def test_a_worker_whose_lease_was_taken_stops_and_writes_nothing_more(
    sessions: SessionFactory, settings: Settings
) -> None:
    # given an execution in a 10 s delay
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(
        sessions, actor, await new_workflow(sessions, actor, delaying(10_000))
    )
    async with executing(sessions, workers=1) as executor:
        await eventually(
            lambda: _is(step_status(sessions, actor, execution_id, "wait"), ExecutionStatus.RUNNING)
        )
        # when another worker takes its lease over
        await set_lease(sessions, actor, execution_id, "thief:1:0")
        # then the heartbeat notices, and the worker gives the execution up before the delay ends
        await eventually(lambda: _true(executor.busy == 0), seconds=8)
    result = await state(sessions, actor, execution_id)
    assert result.execution.status is ExecutionStatus.RUNNING
    assert result.execution.lease_owner == "thief:1:0"
    assert result.steps["wait"].status is ExecutionStatus.RUNNING
    assert "end" not in result.steps


async def test_a_lost_lease_stops_the_worker_even_before_its_heartbeat_notices(
    sessions: SessionFactory, settings: Settings
) -> None:
    # given a worker whose next heartbeat is 10 s away, in a short delay
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, delaying(800)))
    executor = Executor(sessions, nodes=NODES, workers=1, lease_seconds=30, idle_seconds=0.05)
    await executor.start()
    try:
        await eventually(
            lambda: _is(step_status(sessions, actor, execution_id, "wait"), ExecutionStatus.RUNNING)
        )
        # when the lease is taken over during the delay
        await set_lease(sessions, actor, execution_id, "thief:1:0")
        await eventually(lambda: _true(executor.busy == 0))
    finally:
        await executor.stop(grace_seconds=1)
    # then the node's end finds another owner and writes nothing
    result = await state(sessions, actor, execution_id)
    assert result.steps["wait"].status is ExecutionStatus.RUNNING
    assert "end" not in result.steps
    assert result.execution.lease_owner == "thief:1:0"


async def test_stopping_hands_an_unfinished_execution_back_for_another_process(
    sessions: SessionFactory, settings: Settings
) -> None:
    # given an executor in the middle of a delay
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, delaying(1500)))
    executor = Executor(
        sessions, nodes=NODES, workers=1, lease_seconds=LEASE_SECONDS, idle_seconds=0.05
    )
    await executor.start()
    await eventually(
        lambda: _is(step_status(sessions, actor, execution_id, "wait"), ExecutionStatus.RUNNING)
    )
    # when it stops with too little grace for the delay to end
    await executor.stop(grace_seconds=0.1)
    # then the execution is released at once, and the hand-back is not counted as a loss
    handed = await state(sessions, actor, execution_id)
    assert handed.execution.status is ExecutionStatus.RUNNING
    assert (handed.execution.lease_owner, handed.execution.attempts) == (None, 0)
    assert handed.steps["wait"].status is ExecutionStatus.RUNNING
    # and another process resumes it from the interrupted node
    async with another_process(settings) as other, executing(other):
        result = await finished(sessions, actor, execution_id)
    assert result.execution.status is ExecutionStatus.SUCCEEDED
    assert result.execution.attempts == 1
    assert result.step_events.count(("start", "RUNNING")) == 1
    assert result.step_events.count(("wait", "RUNNING")) == 2


# ---------------------------------------------------------------- dead processes


async def test_an_execution_of_a_dead_process_is_resumed_where_it_stopped(
    sessions: SessionFactory, settings: Settings
) -> None:
    # given a run whose process died during node b, after a had succeeded
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, CHAIN))
    await left_by_dead_process(
        sessions,
        actor,
        execution_id,
        attempts=1,
        steps={
            "a": (ExecutionStatus.SUCCEEDED, {"a": "from the first attempt"}),
            "b": (ExecutionStatus.RUNNING, None),
        },
    )
    before = await state(sessions, actor, execution_id)
    # when an executor finds its lapsed lease
    async with executing(sessions):
        result = await finished(sessions, actor, execution_id)
    # then a is kept (its stored output feeds b) and b runs again, in its existing row
    assert result.execution.status is ExecutionStatus.SUCCEEDED
    assert result.execution.output == {"a": "from the first attempt", "b": 2}
    assert result.steps["a"].started_at == before.steps["a"].started_at
    assert result.steps["b"].id == before.steps["b"].id
    assert result.steps["b"].status is ExecutionStatus.SUCCEEDED
    assert result.step_events == [("b", "RUNNING"), ("b", "SUCCEEDED")]
    assert result.run_events.count(ExecutionStatus.RUNNING) == 1  # resumed, not restarted
    assert result.execution.attempts == 2
    assert result.execution.lease_owner is None


@pytest.mark.parametrize("status", [ExecutionStatus.RUNNING, ExecutionStatus.QUEUED])
async def test_an_execution_lost_three_times_is_failed(
    sessions: SessionFactory, settings: Settings, status: ExecutionStatus
) -> None:
    # given an execution whose third attempt died too (mid-node, or before it started)
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, CHAIN))
    died_in = {"a": (ExecutionStatus.RUNNING, None)} if status is ExecutionStatus.RUNNING else {}
    await left_by_dead_process(
        sessions, actor, execution_id, attempts=3, steps=died_in, status=status
    )
    # when it is claimed a fourth time
    async with executing(sessions):
        result = await finished(sessions, actor, execution_id)
    # then it fails without running anything, and no step is left RUNNING
    assert result.execution.status is ExecutionStatus.FAILED
    assert result.execution.error == lost_message(3)
    assert result.run_events[-2:] == [ExecutionStatus.RUNNING, ExecutionStatus.FAILED]
    assert "b" not in result.steps
    if status is ExecutionStatus.RUNNING:
        assert result.steps["a"].status is ExecutionStatus.FAILED
        assert result.steps["a"].error == lost_message(3)
    assert result.execution.lease_owner is None


# ---------------------------------------------------------------- faults


async def test_a_fault_in_the_executor_fails_that_execution_and_the_worker_goes_on(
    sessions: SessionFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a bug that strikes the first execution only
    actor = await new_tenant(sessions, settings)
    workflow_id = await new_workflow(sessions, actor, CHAIN)
    first = await queue(sessions, actor, workflow_id)
    second = await queue(sessions, actor, workflow_id)
    calls: list[int] = []

    def faulty(definition: Any) -> list[str]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return topological_order(definition)

    monkeypatch.setattr(runner, "topological_order", faulty)
    # when a single worker meets both
    async with executing(sessions, workers=1):
        failed = await finished(sessions, actor, first)
        succeeded = await finished(sessions, actor, second)
    # then the first is failed with a message that shows nothing of the bug, the second runs
    assert (failed.execution.status, failed.execution.error) == (
        ExecutionStatus.FAILED,
        INTERNAL_ERROR,
    )
    assert failed.execution.lease_owner is None
    assert succeeded.execution.status is ExecutionStatus.SUCCEEDED


async def test_a_node_that_raises_unexpectedly_fails_its_step_with_a_generic_message(
    sessions: SessionFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(config: Any, input: Any, context: Any) -> Any:
        raise KeyError("secret detail")

    monkeypatch.setattr(NODE_TYPES["transform"], "run", broken)
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, CHAIN))
    async with executing(sessions):
        result = await finished(sessions, actor, execution_id)
    assert (result.execution.status, result.execution.error) == (
        ExecutionStatus.FAILED,
        NODE_INTERNAL_ERROR,
    )
    assert (result.steps["a"].status, result.steps["a"].error) == (
        ExecutionStatus.FAILED,
        NODE_INTERNAL_ERROR,
    )
    assert "b" not in result.steps


async def _is(value: Awaitable[T], expected: T) -> bool:
    return await value == expected


async def _true(value: bool) -> bool:
    return value


async def test_cancelling_a_run_whose_process_died_ends_its_running_step_too(
    sessions: SessionFactory, settings: Settings
) -> None:
    # given a run left by a dead process, its "wait" step still RUNNING
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, delaying(50)))
    await left_by_dead_process(
        sessions,
        actor,
        execution_id,
        attempts=1,
        steps={"start": (ExecutionStatus.SUCCEEDED, {}), "wait": (ExecutionStatus.RUNNING, None)},
    )
    # when it is cancelled, with no executor anywhere
    await execution_service.cancel_execution(
        db=sessions.for_tenant(actor.tenant_id), actor=actor, execution_id=execution_id
    )
    # then the step ends with it, and its event comes before the terminal one
    cancelled = await state(sessions, actor, execution_id)
    assert cancelled.execution.status is ExecutionStatus.CANCELLED
    assert cancelled.steps["wait"].status is ExecutionStatus.CANCELLED
    assert cancelled.steps["wait"].finished_at is not None
    assert cancelled.events[-2].step is not None
    assert cancelled.events[-2].step["status"] == "CANCELLED"
    assert (cancelled.events[-1].status, cancelled.events[-1].step) == (
        ExecutionStatus.CANCELLED,
        None,
    )


async def test_a_deleted_tenants_queued_execution_is_cancelled_not_run(
    sessions: SessionFactory, settings: Settings
) -> None:
    # given a queued execution of a tenant that is then deleted
    actor = await new_tenant(sessions, settings)
    execution_id = await queue(sessions, actor, await new_workflow(sessions, actor, delaying(10)))
    async with sessions.tenant_transaction(actor.tenant_id) as session:
        await execute(
            session,
            sa.update(models.Tenant)
            .where(col(models.Tenant.id) == actor.tenant_id)
            .values(status=TenantStatus.DELETED, deleted_at=utcnow()),
        )
    # when an executor comes by, then no node of it runs
    async with executing(sessions):
        done = await finished(sessions, actor, execution_id)
    assert done.execution.status is ExecutionStatus.CANCELLED
    assert done.steps == {}
