"""Execution rules: queueing a run (quota, idempotency), cancelling, and every status change.

A status change is only ever written through `change_status`, which adds its event in the same
transaction (subscribers read the event table; nothing is published that was not committed).
Times of changes come from `events.event_time`, read after the tenant's event stream is locked, so
that events carry non-decreasing times in the order they commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.faults import retry_conflicts
from tenantflow.db.locking import lock_name, locked, shared
from tenantflow.db.models import Execution, ExecutionStep, IdempotencyKey, Tenant, Workflow
from tenantflow.db.session import TenantDb
from tenantflow.db.types import utcnow
from tenantflow.enums import ExecutionStatus, WorkflowStatus
from tenantflow.events.record import event_time, record_execution_event
from tenantflow.observability import metrics
from tenantflow.services.actor import Actor
from tenantflow.services.errors import InvalidTransition, NotFound, ValidationFailed
from tenantflow.services.operations import audit
from tenantflow.services.tenants.quotas import take_execution
from tenantflow.services.workflows.inputs import IDEMPOTENCY_KEY_MAX_CHARS, Problems

RESOURCE_TYPE = "Execution"
IDEMPOTENCY_WINDOW = timedelta(hours=24)
_RUNNABLE = (WorkflowStatus.DRAFT, WorkflowStatus.ACTIVE)
_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.QUEUED: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED}),
    ExecutionStatus.RUNNING: frozenset(
        {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}
    ),
}


async def change_status(
    session: AsyncSession,
    execution: Execution,
    status: ExecutionStatus,
    *,
    error: str | None = None,
    output: Any = None,
    at: datetime | None = None,
) -> None:
    """Move `execution` (locked by the caller) to `status` and write the event, in the caller's
    transaction, at `at` (from `event_time`; taken here when omitted). Moves the contract does
    not allow raise InvalidTransition."""
    if execution.status.is_terminal:
        raise InvalidTransition(
            execution.status.value,
            status.value,
            message=f"The execution already ended ({execution.status.value})",
        )
    if status not in _TRANSITIONS.get(execution.status, frozenset()):
        raise InvalidTransition(execution.status.value, status.value)
    now = at or await event_time(session, execution.tenant_id)
    execution.status = status
    if status is ExecutionStatus.RUNNING and execution.started_at is None:
        execution.started_at = now
    if status.is_terminal:
        # Counted as written: a transaction run again after a conflict counts once more.
        metrics.EXECUTIONS.labels(status.value).inc()
        execution.finished_at = now
        execution.error = error
        if output is not None:
            execution.output = output
    session.add(execution)
    await record_execution_event(session, execution=execution, at=now)


async def close_running_steps(
    session: AsyncSession, execution: Execution, status: ExecutionStatus, error: str | None
) -> None:
    """End every step of `execution` still RUNNING with `status`, each with its event.

    Call it before the execution's own terminal change, so that subscribers, which stop at the
    terminal status, see the steps' events first.
    """
    await session.flush()  # the query must see steps this transaction already changed
    statement = select(ExecutionStep).where(
        col(ExecutionStep.execution_id) == execution.id,
        col(ExecutionStep.status) == ExecutionStatus.RUNNING,
    )
    steps = (await session.exec(statement.order_by(col(ExecutionStep.started_at)))).all()
    if not steps:
        return
    now = await event_time(session, execution.tenant_id)
    for step in steps:
        step.status = status
        step.finished_at = now
        step.error = error
        session.add(step)
        await record_execution_event(session, execution=execution, step=step, at=now)


async def _lock_execution(session: AsyncSession, execution_id: uuid.UUID) -> Execution:
    statement = locked(select(Execution).where(col(Execution.id) == execution_id))
    execution = (await session.exec(statement)).first()
    if execution is None:
        raise NotFound(RESOURCE_TYPE)
    return execution


def _check_run_input(run_input: Any, idempotency_key: str | None) -> None:
    problems = Problems()
    problems.json(run_input, "input.input")
    if idempotency_key is not None:
        problems.text(
            idempotency_key,
            "input.idempotencyKey",
            max_chars=IDEMPOTENCY_KEY_MAX_CHARS,
            required=True,
        )
    problems.raise_if_any()


async def _replayed(
    session: AsyncSession, key: str, workflow_id: uuid.UUID, now: datetime
) -> tuple[IdempotencyKey | None, Execution | None]:
    """The key's row, and its execution when the key was used within the window."""
    row = (await session.exec(select(IdempotencyKey).where(col(IdempotencyKey.key) == key))).first()
    if row is None or row.created_at <= now - IDEMPOTENCY_WINDOW:
        return row, None
    execution = (
        await session.exec(select(Execution).where(col(Execution.id) == row.execution_id))
    ).first()
    if execution is not None and execution.workflow_id != workflow_id:
        raise ValidationFailed.single(
            "input.idempotencyKey", "was already used to run another workflow"
        )
    return row, execution


@retry_conflicts
async def run_workflow(
    *,
    db: TenantDb,
    actor: Actor,
    workflow_id: uuid.UUID,
    run_input: Any = None,
    idempotency_key: str | None = None,
) -> Execution:
    """Queue a run of the workflow as it is now (its definition and version are copied).

    A retry with the same idempotency key within 24 hours returns the first execution and
    changes nothing. Counts towards the month's executions, which deletions never lower.
    """
    _check_run_input(run_input, idempotency_key)
    async with db.transaction() as session:
        key_row = None
        if idempotency_key is not None:
            # Concurrent runs with one key queue one execution: the first claims the key.
            await lock_name(session, f"idempotency:{db.tenant_id}:{idempotency_key}")
            key_row, first = await _replayed(session, idempotency_key, workflow_id, utcnow())
            if first is not None:
                return first
        workflow = await _runnable_workflow(session, workflow_id)
        tenant = await session.get(Tenant, db.tenant_id)
        if tenant is None:
            raise NotFound("Tenant")
        execution = Execution(
            workflow_id=workflow.id,
            workflow_version=workflow.version,
            definition=workflow.definition,
            status=ExecutionStatus.QUEUED,
            input=run_input,
            triggered_by_id=actor.user_id,
        )
        session.add(execution)
        # The two locks a run contends on, taken last (usage, then events): see db/locking.py.
        await take_execution(session, tenant, utcnow())
        now = await event_time(session, db.tenant_id)
        execution.queued_at = now
        await session.flush()  # the event and the key refer to it
        await record_execution_event(session, execution=execution, at=now)
        if idempotency_key is not None:
            _remember_key(session, key_row, idempotency_key, execution, now)
        audit.record(
            session,
            actor=actor,
            action="execution.run",
            resource_type=RESOURCE_TYPE,
            resource_id=execution.id,
            details={"workflowId": str(workflow.id), "workflowVersion": workflow.version},
        )
    return execution


async def _runnable_workflow(session: AsyncSession, workflow_id: uuid.UUID) -> Workflow:
    """The workflow, held (a deletion waits for this run, or this run sees it deleted; other
    runs and updates go on); deleted or ARCHIVED ones cannot run."""
    statement = shared(select(Workflow).where(col(Workflow.id) == workflow_id))
    workflow = (await session.exec(statement)).first()
    if workflow is None:
        raise NotFound("Workflow")
    if workflow.deleted_at is not None:
        raise ValidationFailed.single("input.workflowId", "The workflow was deleted")
    if workflow.status not in _RUNNABLE:
        raise ValidationFailed.single(
            "input.workflowId", f"A {workflow.status.value} workflow cannot run"
        )
    if not workflow.definition.get("nodes"):
        raise ValidationFailed.single(
            "input.workflowId", "The workflow has no nodes yet: add one before running it"
        )
    return workflow


def _remember_key(
    session: AsyncSession,
    row: IdempotencyKey | None,
    key: str,
    execution: Execution,
    now: datetime,
) -> None:
    if row is None:
        row = IdempotencyKey(key=key, execution_id=execution.id, created_at=now)
    else:  # used more than 24 hours ago: the key starts a new window
        row.execution_id = execution.id
        row.created_at = now
    session.add(row)


@retry_conflicts
async def cancel_execution(*, db: TenantDb, actor: Actor, execution_id: uuid.UUID) -> Execution:
    """QUEUED or RUNNING -> CANCELLED; a finished execution gives InvalidTransition.

    A RUNNING execution is also marked `cancel_requested_at`: its executor stops at the next
    step and must not overwrite the CANCELLED status.
    """
    async with db.transaction() as session:
        execution = await _lock_execution(session, execution_id)
        before = execution.status
        if before is ExecutionStatus.RUNNING:
            # Its executor may be gone: the step it was running ends here, not never.
            await close_running_steps(session, execution, ExecutionStatus.CANCELLED, None)
        # After the steps: the terminal event comes last, and no earlier in time.
        await change_status(session, execution, ExecutionStatus.CANCELLED)
        if before is ExecutionStatus.RUNNING:
            execution.cancel_requested_at = execution.finished_at
        audit.record(
            session,
            actor=actor,
            action="execution.cancel",
            resource_type=RESOURCE_TYPE,
            resource_id=execution.id,
            details={"status": {"before": before.value, "after": execution.status.value}},
        )
    return execution
