"""The demo's executions, left in every status by the real executor and the services.

One executor worker of this process runs the SUCCEEDED and FAILED runs to their end; a CANCELLED
run is cancelled (`cancelExecution`'s service) while its first delay runs; the RUNNING run is
handed back mid-delay when that executor stops, as a process shutting down does, so the
server's executor resumes it later. QUEUED runs are queued once the seed's executor is gone.
The executor claims the oldest queued execution of any tenant: a database with queued work of
its own has that work run too, as any server would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from sqlmodel import col, select

from tenantflow.commands import CommandError
from tenantflow.db.models import Execution, ExecutionStep
from tenantflow.db.session import SessionFactory
from tenantflow.demo.content import DemoRun
from tenantflow.enums import ExecutionStatus
from tenantflow.executor.step_context import NodeServices
from tenantflow.executor.workers import Executor
from tenantflow.services.actor import Actor
from tenantflow.services.workflows import executions

T = TypeVar("T")
# Long enough for a slow machine; the demo's runs take a few seconds in all.
WAIT_SECONDS = 60
# A short lease: the heartbeat (a third of it) notices a cancellation within 2 s.
LEASE_SECONDS = 6


@dataclass(frozen=True)
class PlannedRun:
    actor: Actor
    workflow_id: uuid.UUID
    run: DemoRun


async def make_runs(
    sessions: SessionFactory, nodes: NodeServices, runs: Sequence[PlannedRun]
) -> None:
    """Every planned run, left in its planned status."""
    by_status = {status: [p for p in runs if p.run.status is status] for status in ExecutionStatus}
    if len(by_status[ExecutionStatus.RUNNING]) > 1:
        raise ValueError("one worker hands back one RUNNING execution")
    to_end = [*by_status[ExecutionStatus.SUCCEEDED], *by_status[ExecutionStatus.FAILED]]
    stopped = [*by_status[ExecutionStatus.CANCELLED], *by_status[ExecutionStatus.RUNNING]]
    if to_end or stopped:
        # Queued before the executor starts, and each later one while it is idle: a run being
        # queued while the executor writes (a tenant lock against the event stream's) can
        # deadlock on PostgreSQL until the quotas' lock modes change.
        ended = [(planned, await _queue(sessions, planned)) for planned in to_end]
        executor = Executor(
            sessions, nodes=nodes, workers=1, lease_seconds=LEASE_SECONDS, idle_seconds=0.05
        )
        await executor.start()
        try:
            await _wait_for_ends(sessions, ended)
            for planned in by_status[ExecutionStatus.CANCELLED]:
                await _cancel_in_a_delay(sessions, planned)
            for planned in by_status[ExecutionStatus.RUNNING]:
                await _in_a_delay(sessions, planned.actor, await _queue(sessions, planned))
        finally:
            await executor.stop(grace_seconds=0)  # the RUNNING one is handed back here
    for planned in by_status[ExecutionStatus.QUEUED]:
        await _queue(sessions, planned)


async def _queue(sessions: SessionFactory, planned: PlannedRun) -> uuid.UUID:
    execution = await executions.run_workflow(
        db=sessions.for_tenant(planned.actor.tenant_id),
        actor=planned.actor,
        workflow_id=planned.workflow_id,
        run_input=planned.run.input,
    )
    return execution.id


async def _wait_for_ends(
    sessions: SessionFactory, queued: Sequence[tuple[PlannedRun, uuid.UUID]]
) -> None:
    for planned, execution_id in queued:
        status = await _until(partial(_ended, sessions, planned.actor, execution_id))
        if status is not planned.run.status:
            raise CommandError(f"a demo run ended {status.value}, not {planned.run.status.value}")


async def _cancel_in_a_delay(sessions: SessionFactory, planned: PlannedRun) -> None:
    execution_id = await _queue(sessions, planned)
    await _in_a_delay(sessions, planned.actor, execution_id)
    await executions.cancel_execution(
        db=sessions.for_tenant(planned.actor.tenant_id),
        actor=planned.actor,
        execution_id=execution_id,
    )
    # The worker lets go within a heartbeat; the next run needs it.
    await _until(partial(_released, sessions, planned.actor, execution_id))


async def _in_a_delay(sessions: SessionFactory, actor: Actor, execution_id: uuid.UUID) -> None:
    statement = select(ExecutionStep.id).where(
        col(ExecutionStep.execution_id) == execution_id,
        col(ExecutionStep.node_type) == "delay",
        col(ExecutionStep.status) == ExecutionStatus.RUNNING,
    )

    async def delaying() -> bool:
        async with sessions.tenant_reader(actor.tenant_id) as session:
            return (await session.exec(statement)).first() is not None

    await _until(delaying)


async def _ended(
    sessions: SessionFactory, actor: Actor, execution_id: uuid.UUID
) -> ExecutionStatus | None:
    execution = await _execution(sessions, actor, execution_id)
    return execution.status if execution.status.is_terminal else None


async def _released(sessions: SessionFactory, actor: Actor, execution_id: uuid.UUID) -> bool:
    return (await _execution(sessions, actor, execution_id)).lease_owner is None


async def _execution(sessions: SessionFactory, actor: Actor, execution_id: uuid.UUID) -> Execution:
    async with sessions.tenant_reader(actor.tenant_id) as session:
        statement = select(Execution).where(col(Execution.id) == execution_id)
        return (await session.exec(statement)).one()


async def _until(check: Callable[[], Awaitable[T | None]]) -> T:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise CommandError("the demo's executions did not run in time")
        await asyncio.sleep(0.05)
