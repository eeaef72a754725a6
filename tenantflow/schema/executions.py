"""Executions, their steps and events: reading, running, cancelling."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.db import models
from tenantflow.db.rows import is_loaded
from tenantflow.enums import ExecutionStatus
from tenantflow.events.batch import FeedBatch
from tenantflow.events.record import encode_event_cursor
from tenantflow.schema.arguments import aware, filter_id, given, page_args, statuses
from tenantflow.schema.connections import Connection, Listed, connection
from tenantflow.schema.errors import (
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    TenantSuspendedError,
    ValidationError,
)
from tenantflow.schema.guards import mutation_guard, requires
from tenantflow.schema.ids import require_key, to_global_id, uuid_of
from tenantflow.schema.node import Node, register_node
from tenantflow.schema.users import User, load_user
from tenantflow.schema.workflows import Workflow, load_any_workflow
from tenantflow.services.workflows import executions as service
from tenantflow.services.workflows import reads


@strawberry.type
class ExecutionStep:
    node_id: str
    node_type: str
    status: ExecutionStatus
    started_at: datetime | None
    finished_at: datetime | None
    output: JSON | None
    error: str | None

    @classmethod
    def from_row(cls, row: models.ExecutionStep) -> ExecutionStep:
        return cls(
            node_id=row.node_id,
            node_type=row.node_type,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            output=JSON(row.output),
            error=row.error,
        )

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> ExecutionStep:
        """A step as an event recorded it (services.events.step_snapshot)."""
        return cls(
            node_id=snapshot["nodeId"],
            node_type=snapshot["nodeType"],
            status=ExecutionStatus(snapshot["status"]),
            started_at=_timestamp(snapshot.get("startedAt")),
            finished_at=_timestamp(snapshot.get("finishedAt")),
            output=JSON(snapshot.get("output")),
            error=snapshot.get("error"),
        )


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@strawberry.type
class Execution(Node):
    workflow_version: int = strawberry.field(
        description="The workflow version that ran, and its definition as it was then."
    )
    status: ExecutionStatus
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    row: strawberry.Private[models.Execution]

    @classmethod
    def from_row(cls, row: models.Execution) -> Execution:
        return cls(
            id=to_global_id("Execution", row.id),
            workflow_version=row.workflow_version,
            status=row.status,
            error=row.error,
            queued_at=row.queued_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            row=row,
        )

    @strawberry.field
    async def workflow(self, info: Info) -> Workflow:
        return await load_any_workflow(info, self.row.workflow_id)

    async def _payload(self, info: Info, attribute: str) -> Any:
        if is_loaded(self.row, attribute):
            return getattr(self.row, attribute)
        payload = await info.context.loaders.workflows.execution_payloads.load(self.row.id)
        return getattr(payload, attribute) if payload else None

    @strawberry.field
    async def definition(self, info: Info) -> JSON:
        return JSON(await self._payload(info, "definition"))

    @strawberry.field
    async def input(self, info: Info) -> JSON | None:
        return JSON(await self._payload(info, "input"))

    @strawberry.field
    async def output(self, info: Info) -> JSON | None:
        return JSON(await self._payload(info, "output"))

    @strawberry.field
    async def triggered_by(self, info: Info) -> User | None:
        return await load_user(info, self.row.triggered_by_id)

    @strawberry.field
    def duration_ms(self) -> int | None:
        return reads.duration_ms(self.started_at, self.finished_at)

    @strawberry.field
    async def steps(self, info: Info) -> list[ExecutionStep]:
        rows = await info.context.loaders.workflows.steps.load(self.row.id)
        return [ExecutionStep.from_row(row) for row in rows]


async def load_execution(info: Info, execution_id: uuid.UUID) -> Execution | None:
    """An execution of the tenant (of a deleted workflow too)."""
    row = await info.context.loaders.workflows.executions.load(execution_id)
    return Execution.from_row(row) if row else None


register_node("Execution", Permission.EXECUTION_READ, load_execution)


@strawberry.type
class ExecutionEvent:
    status: ExecutionStatus
    step: ExecutionStep | None = strawberry.field(
        description="The step that changed, when the event is about one step."
    )
    at: datetime
    cursor: str = strawberry.field(
        description=(
            "Opaque position in the tenant's event stream; pass it as executionEvents(after:)"
            " to resume."
        )
    )
    row: strawberry.Private[models.ExecutionEvent]
    # The feed's read it came with (live events): it holds the event's execution.
    batch: strawberry.Private[FeedBatch | None] = None

    @classmethod
    def from_row(cls, row: models.ExecutionEvent, batch: FeedBatch | None = None) -> ExecutionEvent:
        return cls(
            status=row.status,
            step=ExecutionStep.from_snapshot(row.step) if row.step else None,
            at=row.at,
            cursor=encode_event_cursor(row.seq),
            row=row,
            batch=batch,
        )

    @strawberry.field
    async def execution(self, info: Info) -> Execution:
        if self.batch is None:
            execution = await load_execution(info, self.row.execution_id)
        else:  # read with the event, for every subscriber at once
            row = self.batch.executions.get(self.row.execution_id)
            execution = Execution.from_row(row) if row else None
        if execution is None:  # events go with their execution (cascading foreign key)
            raise LookupError("an event refers to an execution that does not exist")
        return execution


@strawberry.input
class ExecutionFilter:
    workflow_id: strawberry.ID | None = strawberry.UNSET
    status: list[ExecutionStatus] | None = strawberry.UNSET
    queued_after: datetime | None = strawberry.UNSET
    queued_before: datetime | None = strawberry.UNSET

    def criteria(self) -> reads.ExecutionCriteria:
        return reads.ExecutionCriteria(
            workflow_id=filter_id(self.workflow_id, "Workflow"),
            statuses=statuses(self.status),
            queued_after=aware(self.queued_after, "filter.queuedAfter"),
            queued_before=aware(self.queued_before, "filter.queuedBefore"),
        )


def execution_criteria(execution_filter: ExecutionFilter | None) -> reads.ExecutionCriteria:
    return (execution_filter or ExecutionFilter()).criteria()


# ---------------------------------------------------------------- inputs and payloads


@strawberry.input
class RunWorkflowInput:
    workflow_id: strawberry.ID
    input: JSON | None = strawberry.UNSET
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "A retry with the same key within 24 hours returns the first execution instead of"
            " starting another."
        ),
    )


@strawberry.type
class ExecutionPayload:
    execution: Execution


ExecutionResult = Annotated[
    ExecutionPayload
    | ValidationError
    | NotFoundError
    | PermissionDeniedError
    | QuotaExceededError
    | TenantSuspendedError
    | InvalidTransitionError,
    strawberry.union("ExecutionResult"),
]


# ---------------------------------------------------------------- root fields


@strawberry.type
class ExecutionQuery:
    @strawberry.field(
        permission_classes=[requires(Permission.EXECUTION_READ)],
        description="Newest first (queuedAt DESC).",
    )
    async def executions(
        self,
        info: Info,
        *,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
        filter: ExecutionFilter | None = strawberry.UNSET,
    ) -> Connection[Execution]:
        listing = reads.executions_listing(execution_criteria(given(filter)))
        return await connection(
            Listed(info.context.db, listing),
            page_args(first, after, last, before),
            Execution.from_row,
        )

    @strawberry.field(permission_classes=[requires(Permission.EXECUTION_READ)])
    async def execution(self, info: Info, id: strawberry.ID) -> Execution | None:
        key = uuid_of(id, "Execution")
        return await load_execution(info, key) if key else None


@strawberry.type
class ExecutionMutation:
    @strawberry.mutation
    @mutation_guard(Permission.EXECUTION_RUN)
    async def run_workflow(self, info: Info, input: RunWorkflowInput) -> ExecutionResult:
        row = await service.run_workflow(
            db=info.context.db,
            actor=info.context.actor,
            workflow_id=require_key(input.workflow_id, "Workflow"),
            run_input=given(input.input),
            idempotency_key=given(input.idempotency_key),
        )
        return ExecutionPayload(execution=Execution.from_row(row))

    @strawberry.mutation
    @mutation_guard(Permission.EXECUTION_RUN)
    async def cancel_execution(self, info: Info, id: strawberry.ID) -> ExecutionResult:
        row = await service.cancel_execution(
            db=info.context.db,
            actor=info.context.actor,
            execution_id=require_key(id, "Execution"),
        )
        return ExecutionPayload(execution=Execution.from_row(row))
