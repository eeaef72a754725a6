"""Running one claimed execution to its end, node by node, each change in its own transaction.

Nodes run one at a time in the topological order of the execution's own definition (the snapshot
taken when it was queued). For each node:
1. a transaction writes its step RUNNING, with the step's event;
2. the node runs outside any transaction (a delay sleeps), interruptible through the lease;
3. a transaction writes the step SUCCEEDED with its output, or FAILED, which fails the execution.
Every transaction first locks the execution and checks that this worker still holds the lease: a
worker that lost it writes nothing more. So each transaction can run again whole, and does when it
meets a lock conflict or a short database outage (`retry_transient`); a longer outage leaves the
execution to a later attempt, never FAILED. An execution cancelled meanwhile is never written again;
its step in progress is marked CANCELLED.

A resumed execution (its worker died and the lease lapsed) keeps its SUCCEEDED steps, whose stored
outputs feed their successors, and runs the other nodes again, reusing the row of a step that was
left RUNNING ((execution, node) is unique). After `MAX_ATTEMPTS` claims it is failed instead.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.faults import retry_transient
from tenantflow.db.models import Execution, ExecutionStep, Tenant
from tenantflow.db.session import SessionFactory
from tenantflow.definitions.definition import (
    check_json_size,
    predecessors,
    sinks,
    topological_order,
)
from tenantflow.definitions.node_types import NODE_TYPES, NodeFailure
from tenantflow.enums import ExecutionStatus, TenantStatus
from tenantflow.events.commit_hook import work_queued
from tenantflow.events.record import event_time, record_execution_event
from tenantflow.executor.lease import Interruption, Lease, hand_back, lock_if_owned, release
from tenantflow.executor.step_context import NodeServices, StepContext
from tenantflow.services.workflows.executions import change_status, close_running_steps

log = logging.getLogger(__name__)

# Claims of one execution before it is failed: each lost attempt was a process that died on it.
MAX_ATTEMPTS = 3
INTERNAL_ERROR = "The execution stopped on an internal error"
NODE_INTERNAL_ERROR = "The node stopped on an internal error"
# Outputs are merges of inputs and configs, each capped at 256 KiB; this bounds what one stores.
OUTPUT_MAX_BYTES = 1024 * 1024


def lost_message(attempts: int) -> str:
    return f"The executor lost this execution {attempts} times; it was not run again"


def merge_outputs(values: Iterable[Any]) -> Any:
    """The merge of outputs, in node order: objects merge key by key, the later value winning a
    clash; a value that is not an object cannot be merged, so it replaces what came before
    (as a `transform` given a non-object input outputs its `set` alone)."""
    merged: Any = None
    for index, value in enumerate(values):
        if index and isinstance(merged, dict) and isinstance(value, dict):
            merged = {**merged, **value}
        else:
            merged = value
    return merged


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What a run needs from the execution row, read once when it starts."""

    nodes: Mapping[str, Mapping[str, Any]]
    order: list[str]
    predecessors: Mapping[str, list[str]]
    sinks: list[str]
    input: Any
    # Outputs of the steps an earlier attempt finished.
    outputs: Mapping[str, Any]
    triggered_by: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Outcome:
    output: Any = None
    error: str | None = None


class ExecutionRun:
    """One worker's run of one claimed execution."""

    def __init__(
        self,
        sessions: SessionFactory,
        lease: Lease,
        *,
        nodes: NodeServices,
        stopping: Callable[[], bool] = lambda: False,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        """`stopping()` true: the process is shutting down; hand back before the next node.
        `nodes` is what node types may use (provider keys, the outbound policy)."""
        self._sessions = sessions
        self._nodes = nodes
        self._lease = lease
        self._stopping = stopping
        self._max_attempts = max_attempts

    async def run(self) -> None:
        if self._stopping():  # claimed just as the process began to stop: leave it as it was
            await self._hand_back()
            return
        plan = await self._begin()
        if plan is None:
            return
        outputs = dict(plan.outputs)
        for node_id in plan.order:
            if node_id in outputs:
                continue
            sources = plan.predecessors[node_id]
            node_input = merge_outputs(outputs[s] for s in sources) if sources else plan.input
            outcome = await self._step(plan.nodes[node_id], node_input, plan.triggered_by)
            if outcome is None:
                return
            outputs[node_id] = outcome.output
        await self._succeed(merge_outputs(outputs[s] for s in plan.sinks))

    async def _step(
        self, node: Mapping[str, Any], node_input: Any, triggered_by: uuid.UUID | None
    ) -> Outcome | None:
        """Run one node as a step; its successful outcome, or None when the run ends here."""
        if self._stopping():
            await self._hand_back()
            return None
        if not await self._start_step(node):
            return None
        context = StepContext(
            sessions=self._sessions,
            services=self._nodes,
            tenant_id=self._lease.tenant_id,
            execution_id=self._lease.execution_id,
            node_id=node["id"],
            triggered_by=triggered_by,
        )
        result = await self._run_node(node, node_input, context)
        if result is Interruption.LOST:
            return None
        if result is Interruption.SHUTDOWN:
            await self._hand_back()
            return None
        if not await self._finish_step(node, result):
            return None
        assert isinstance(result, Outcome)
        return result

    @retry_transient
    async def _begin(self) -> RunPlan | None:
        async with self._sessions.tenant_transaction(self._lease.tenant_id) as session:
            execution = await lock_if_owned(session, self._lease)
            if execution is None:
                return None
            if execution.status.is_terminal:
                await settle(session, execution)
                return None
            tenant = await session.get(Tenant, execution.tenant_id)
            if tenant is None or tenant.status is TenantStatus.DELETED:
                # A deleted tenant behaves as if it did not exist: its work is not run.
                await close_running_steps(session, execution, ExecutionStatus.CANCELLED, None)
                await change_status(session, execution, ExecutionStatus.CANCELLED)
                release(execution)
                return None
            if execution.attempts > self._max_attempts:
                await fail(session, execution, lost_message(self._max_attempts))
                return None
            if execution.status is ExecutionStatus.QUEUED:
                await change_status(session, execution, ExecutionStatus.RUNNING)
            statement = select(ExecutionStep).where(
                col(ExecutionStep.execution_id) == execution.id,
                col(ExecutionStep.status) == ExecutionStatus.SUCCEEDED,
            )
            done = {step.node_id: step.output for step in (await session.exec(statement)).all()}
            definition = execution.definition
            return RunPlan(
                nodes={node["id"]: node for node in definition["nodes"]},
                order=topological_order(definition),
                predecessors=predecessors(definition),
                sinks=sinks(definition),
                input=execution.input,
                outputs=done,
                triggered_by=execution.triggered_by_id,
            )

    @retry_transient
    async def _start_step(self, node: Mapping[str, Any]) -> bool:
        """The node's step RUNNING; False when the run must stop instead."""
        async with self._sessions.tenant_transaction(self._lease.tenant_id) as session:
            execution = await lock_if_owned(session, self._lease)
            if execution is None:
                return False
            if execution.status is not ExecutionStatus.RUNNING:
                await settle(session, execution)
                return False
            step = await _step_row(session, execution.id, node["id"])
            if step is None:
                step = ExecutionStep(
                    execution_id=execution.id,
                    node_id=node["id"],
                    node_type=node["type"],
                    status=ExecutionStatus.RUNNING,
                )
            now = await event_time(session, execution.tenant_id)
            step.node_type = node["type"]
            step.status = ExecutionStatus.RUNNING
            step.started_at = now
            step.finished_at = step.output = step.error = None
            session.add(step)
            await record_execution_event(session, execution=execution, step=step, at=now)
            return True

    async def _run_node(
        self, node: Mapping[str, Any], node_input: Any, context: StepContext
    ) -> Outcome | Interruption:
        """Run the node, unless the lease is interrupted first (the node is then cancelled)."""
        node_type = NODE_TYPES[node["type"]]
        work = asyncio.ensure_future(node_type.run(node.get("config", {}), node_input, context))
        stop = asyncio.ensure_future(self._lease.interrupted.wait())
        try:
            await asyncio.wait((work, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            work.cancel()
            stop.cancel()
            await asyncio.gather(work, stop, return_exceptions=True)
        if work.cancelled():
            return self._lease.reason or Interruption.SHUTDOWN
        error = work.exception()
        if isinstance(error, NodeFailure):
            return Outcome(error=error.message)
        if error is not None:
            log.error(
                "execution %s: node %r raised",
                self._lease.execution_id,
                node["id"],
                exc_info=error,
            )
            return Outcome(error=NODE_INTERNAL_ERROR)
        output = work.result()
        problems = check_json_size(output, path="output", max_bytes=OUTPUT_MAX_BYTES)
        if problems:
            return Outcome(error=f"The node's {problems[0].field} {problems[0].message}")
        return Outcome(output=output)

    @retry_transient
    async def _finish_step(self, node: Mapping[str, Any], result: Outcome | Interruption) -> bool:
        """The step's result written; False when the run ends here."""
        async with self._sessions.tenant_transaction(self._lease.tenant_id) as session:
            execution = await lock_if_owned(session, self._lease)
            if execution is None:
                return False
            if execution.status is not ExecutionStatus.RUNNING:
                await settle(session, execution)  # cancelled: the step too
                return False
            if not isinstance(result, Outcome):
                hand_back(execution)  # interrupted with the execution still running
                session.add(execution)
                return False
            step = await _step_row(session, execution.id, node["id"])
            assert step is not None, "the step was written when the node started"
            now = await event_time(session, execution.tenant_id)
            step.finished_at = now
            if result.error is None:
                step.status = ExecutionStatus.SUCCEEDED
                step.output = result.output
            else:
                step.status = ExecutionStatus.FAILED
                step.error = result.error
            session.add(step)
            await record_execution_event(session, execution=execution, step=step, at=now)
            if result.error is not None:
                await fail(session, execution, result.error)
                return False
            return True

    @retry_transient
    async def _succeed(self, output: Any) -> None:
        async with self._sessions.tenant_transaction(self._lease.tenant_id) as session:
            execution = await lock_if_owned(session, self._lease)
            if execution is None:
                return
            if execution.status is ExecutionStatus.RUNNING:
                await change_status(session, execution, ExecutionStatus.SUCCEEDED, output=output)
                release(execution)
            else:
                await settle(session, execution)

    @retry_transient
    async def _hand_back(self) -> None:
        async with self._sessions.tenant_transaction(self._lease.tenant_id) as session:
            execution = await lock_if_owned(session, self._lease)
            if execution is None:
                return
            if execution.status.is_terminal:
                await settle(session, execution)
            else:
                hand_back(execution)
                session.add(execution)
                work_queued(session)  # another process's idle executor takes it at once


@retry_transient
async def fail_execution(sessions: SessionFactory, lease: Lease, message: str) -> None:
    """FAILED with `message`, if the lease is still ours and the execution not finished."""
    async with sessions.tenant_transaction(lease.tenant_id) as session:
        execution = await lock_if_owned(session, lease)
        if execution is None:
            return
        if execution.status.is_terminal:
            await settle(session, execution)
        else:
            await fail(session, execution, message)


async def fail(session: AsyncSession, execution: Execution, message: str) -> None:
    """Fail the locked execution and any step still RUNNING, and release the lease."""
    await close_running_steps(session, execution, ExecutionStatus.FAILED, message)
    if execution.status is ExecutionStatus.QUEUED:
        # The contract has no QUEUED -> FAILED: it fails as a run that started.
        await change_status(session, execution, ExecutionStatus.RUNNING)
    await change_status(session, execution, ExecutionStatus.FAILED, error=message)
    release(execution)


async def settle(session: AsyncSession, execution: Execution) -> None:
    """Leave a finished execution: a step a cancellation interrupted is CANCELLED too."""
    if execution.status is ExecutionStatus.CANCELLED:
        await close_running_steps(session, execution, ExecutionStatus.CANCELLED, None)
    release(execution)
    session.add(execution)


async def _step_row(
    session: AsyncSession, execution_id: uuid.UUID, node_id: str
) -> ExecutionStep | None:
    statement = select(ExecutionStep).where(
        col(ExecutionStep.execution_id) == execution_id, col(ExecutionStep.node_id) == node_id
    )
    return (await session.exec(statement)).first()
