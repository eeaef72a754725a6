"""Workflows: the type, its filter and order, reading, writing, import and export."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.dataloaders.workflows import WorkflowDeployments, WorkflowExecutions
from tenantflow.db import models
from tenantflow.db.pagination import Listing
from tenantflow.db.rows import is_loaded
from tenantflow.enums import WorkflowStatus
from tenantflow.errors import bad_input
from tenantflow.schema.arguments import aware, given, page_args, patch, search_text, statuses
from tenantflow.schema.connections import Connection, Listed, connection
from tenantflow.schema.deletion import DeletedPayload, DeleteResult
from tenantflow.schema.errors import (
    ConflictError,
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
from tenantflow.services.workflows import reads
from tenantflow.services.workflows import workflows as service

if TYPE_CHECKING:
    from tenantflow.schema.deployments import Deployment
    from tenantflow.schema.executions import Execution, ExecutionFilter

LazyExecution = Annotated["Execution", strawberry.lazy("tenantflow.schema.executions")]
LazyExecutionFilter = Annotated["ExecutionFilter", strawberry.lazy("tenantflow.schema.executions")]
LazyDeployment = Annotated["Deployment", strawberry.lazy("tenantflow.schema.deployments")]
MAX_EXPORT_IDS = 1000


# ---------------------------------------------------------------- types


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


strawberry.enum(reads.WorkflowOrderField, name="WorkflowOrderField")


@strawberry.type(
    description=(
        'definition is {"nodes": [{"id": String, "type": String, "config": Object}], "edges":'
        ' [{"from": String, "to": String}]}\nand must form a DAG of known node types'
        " (README.md lists the built-in ones)."
    )
)
class Workflow(Node):
    name: str
    description: str | None
    status: WorkflowStatus
    version: int = strawberry.field(description="Starts at 1; every successful update adds 1.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = strawberry.field(
        description=(
            "Set when the workflow was deleted; a deleted workflow is reachable only from its"
            " executions and deployments."
        )
    )
    row: strawberry.Private[models.Workflow]

    @classmethod
    def from_row(cls, row: models.Workflow) -> Workflow:
        return cls(
            id=to_global_id("Workflow", row.id),
            name=row.name,
            description=row.description,
            status=row.status,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            deleted_at=row.deleted_at,
            row=row,
        )

    @strawberry.field
    async def definition(self, info: Info) -> JSON:
        if is_loaded(self.row, "definition"):
            return JSON(self.row.definition)
        return JSON(await info.context.loaders.workflows.workflow_definitions.load(self.row.id))

    @strawberry.field
    async def owner(self, info: Info) -> User | None:
        return await load_user(info, self.row.owner_id)

    @strawberry.field
    async def last_execution(self, info: Info) -> LazyExecution | None:
        from tenantflow.schema.executions import Execution

        row = await info.context.loaders.workflows.last_executions.load(self.row.id)
        return Execution.from_row(row) if row else None

    @strawberry.field
    async def executions(
        self,
        info: Info,
        *,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
        filter: LazyExecutionFilter | None = strawberry.UNSET,
    ) -> Connection[LazyExecution]:
        from tenantflow.schema.executions import Execution, execution_criteria

        source = WorkflowExecutions(
            info.context.loaders.workflows, self.row.id, execution_criteria(given(filter))
        )
        return await connection(source, page_args(first, after, last, before), Execution.from_row)

    @strawberry.field
    async def deployments(
        self,
        info: Info,
        *,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
    ) -> Connection[LazyDeployment]:
        from tenantflow.schema.deployments import Deployment

        source = WorkflowDeployments(info.context.loaders.workflows, self.row.id)
        return await connection(source, page_args(first, after, last, before), Deployment.from_row)


async def load_workflow(info: Info, workflow_id: uuid.UUID) -> Workflow | None:
    """A live workflow of the tenant; deleted ones are hidden (as if they did not exist)."""
    row = await info.context.loaders.workflows.workflows.load(workflow_id)
    return Workflow.from_row(row) if row and row.deleted_at is None else None


async def load_any_workflow(info: Info, workflow_id: uuid.UUID) -> Workflow:
    """The workflow of an execution or deployment, deleted or not."""
    row = await info.context.loaders.workflows.workflows.load(workflow_id)
    if row is None:  # the composite foreign key makes this impossible
        raise LookupError("a row refers to a workflow that does not exist")
    return Workflow.from_row(row)


register_node("Workflow", Permission.WORKFLOW_READ, load_workflow)


@strawberry.input
class WorkflowFilter:
    status: list[WorkflowStatus] | None = strawberry.UNSET
    search: str | None = strawberry.field(
        default=strawberry.UNSET, description="Case-insensitive substring of the name."
    )
    updated_after: datetime | None = strawberry.UNSET
    updated_before: datetime | None = strawberry.UNSET

    def criteria(self) -> reads.WorkflowCriteria:
        return reads.WorkflowCriteria(
            statuses=statuses(self.status),
            search=search_text(self.search, "filter.search"),
            updated_after=aware(self.updated_after, "filter.updatedAfter"),
            updated_before=aware(self.updated_before, "filter.updatedBefore"),
        )


@strawberry.input
class WorkflowOrder:
    field: reads.WorkflowOrderField = reads.WorkflowOrderField.UPDATED_AT
    direction: SortDirection = SortDirection.DESC


def workflows_listing(
    workflow_filter: WorkflowFilter | None, order_by: WorkflowOrder | None
) -> Listing:
    """What `workflows(filter:, orderBy:)` lists (the general and the projected path both)."""
    criteria = (given(workflow_filter) or WorkflowFilter()).criteria()
    order_input = given(order_by) or WorkflowOrder()
    order = reads.workflow_order(
        order_input.field, descending=order_input.direction is SortDirection.DESC
    )
    return reads.workflows_listing(criteria, order)


# ---------------------------------------------------------------- inputs and payloads


@strawberry.input
class CreateWorkflowInput:
    name: str
    description: str | None = strawberry.UNSET
    definition: JSON
    status: WorkflowStatus | None = WorkflowStatus.DRAFT


@strawberry.input
class UpdateWorkflowInput:
    id: strawberry.ID
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Optimistic concurrency: when given and not the current version, the update fails"
            " with ConflictError."
        ),
    )
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    definition: JSON | None = strawberry.UNSET
    status: WorkflowStatus | None = strawberry.UNSET


@strawberry.type
class WorkflowPayload:
    workflow: Workflow


@strawberry.type
class ImportWorkflowsPayload:
    workflows: list[Workflow]


WorkflowResult = Annotated[
    WorkflowPayload
    | ValidationError
    | NotFoundError
    | ConflictError
    | PermissionDeniedError
    | QuotaExceededError
    | TenantSuspendedError,
    strawberry.union("WorkflowResult"),
]
ImportWorkflowsResult = Annotated[
    ImportWorkflowsPayload
    | ValidationError
    | PermissionDeniedError
    | QuotaExceededError
    | TenantSuspendedError,
    strawberry.union("ImportWorkflowsResult"),
]


# ---------------------------------------------------------------- root fields


@strawberry.type
class WorkflowQuery:
    @strawberry.field(permission_classes=[requires(Permission.WORKFLOW_READ)])
    async def workflows(
        self,
        info: Info,
        *,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
        filter: WorkflowFilter | None = strawberry.UNSET,
        order_by: WorkflowOrder | None = strawberry.UNSET,
    ) -> Connection[Workflow]:
        listing = workflows_listing(filter, order_by)
        return await connection(
            Listed(info.context.db, listing),
            page_args(first, after, last, before),
            Workflow.from_row,
        )

    @strawberry.field(permission_classes=[requires(Permission.WORKFLOW_READ)])
    async def workflow(self, info: Info, id: strawberry.ID) -> Workflow | None:
        key = uuid_of(id, "Workflow")
        return await load_workflow(info, key) if key else None

    @strawberry.field(
        permission_classes=[requires(Permission.WORKFLOW_READ)],
        description=(
            "Portable JSON export of the given workflows (all when ids is omitted), accepted by"
            " importWorkflows."
        ),
    )
    async def export_workflows(
        self, info: Info, ids: list[strawberry.ID] | None = strawberry.UNSET
    ) -> JSON:
        wanted = given(ids)
        if wanted is not None and len(wanted) > MAX_EXPORT_IDS:
            raise bad_input(f"`ids` may name at most {MAX_EXPORT_IDS} workflows")
        keys = (
            None if wanted is None else [k for k in (uuid_of(i, "Workflow") for i in wanted) if k]
        )
        return JSON(await service.export_workflows(db=info.context.db, workflow_ids=keys))


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation
    @mutation_guard(Permission.WORKFLOW_WRITE)
    async def create_workflow(self, info: Info, input: CreateWorkflowInput) -> WorkflowResult:
        row = await service.create_workflow(
            db=info.context.db,
            actor=info.context.actor,
            name=input.name,
            description=given(input.description),
            definition=input.definition,
            status=input.status,
        )
        return WorkflowPayload(workflow=Workflow.from_row(row))

    @strawberry.mutation
    @mutation_guard(Permission.WORKFLOW_WRITE)
    async def update_workflow(self, info: Info, input: UpdateWorkflowInput) -> WorkflowResult:
        row = await service.update_workflow(
            db=info.context.db,
            actor=info.context.actor,
            workflow_id=require_key(input.id, "Workflow"),
            expected_version=given(input.expected_version),
            name=patch(input.name),
            description=patch(input.description),
            definition=patch(input.definition),
            status=patch(input.status),
        )
        return WorkflowPayload(workflow=Workflow.from_row(row))

    @strawberry.mutation(
        description=(
            "ConflictError while it has QUEUED or RUNNING executions, or deployments not STOPPED"
            " or FAILED."
        )
    )
    @mutation_guard(Permission.WORKFLOW_WRITE)
    async def delete_workflow(self, info: Info, id: strawberry.ID) -> DeleteResult:
        await service.delete_workflow(
            db=info.context.db,
            actor=info.context.actor,
            workflow_id=require_key(id, "Workflow"),
        )
        return DeletedPayload(id=id)

    @strawberry.mutation
    @mutation_guard(Permission.WORKFLOW_WRITE)
    async def import_workflows(self, info: Info, data: JSON) -> ImportWorkflowsResult:
        rows = await service.import_workflows(
            db=info.context.db, actor=info.context.actor, data=data
        )
        return ImportWorkflowsPayload(workflows=[Workflow.from_row(row) for row in rows])
