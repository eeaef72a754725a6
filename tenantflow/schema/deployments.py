"""Deployments and their status machine."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from tenantflow.auth.permissions import Permission
from tenantflow.context import Info
from tenantflow.db import models
from tenantflow.enums import DeploymentStatus, Environment
from tenantflow.schema.arguments import filter_id, given, page_args, patch, search_text, statuses
from tenantflow.schema.connections import Connection, Listed, connection
from tenantflow.schema.deletion import DeletedPayload, DeleteResult
from tenantflow.schema.errors import (
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    TenantSuspendedError,
    ValidationError,
)
from tenantflow.schema.guards import mutation_guard, requires
from tenantflow.schema.ids import require_key, to_global_id
from tenantflow.schema.node import Node, register_node
from tenantflow.schema.workflows import Workflow, load_any_workflow
from tenantflow.services.workflows import deployments as service
from tenantflow.services.workflows import reads


@strawberry.type
class Deployment(Node):
    name: str
    environment: Environment
    status: DeploymentStatus
    url: str | None = strawberry.field(description="http(s) only.")
    version: int = strawberry.field(description="Adds 1 on each move to DEPLOYING.")
    workflow_version: int = strawberry.field(
        description="The workflow version deployed, fixed on each move to DEPLOYING."
    )
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[models.Deployment]

    @classmethod
    def from_row(cls, row: models.Deployment) -> Deployment:
        return cls(
            id=to_global_id("Deployment", row.id),
            name=row.name,
            environment=row.environment,
            status=row.status,
            url=row.url,
            version=row.version,
            workflow_version=row.workflow_version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field
    async def workflow(self, info: Info) -> Workflow:
        return await load_any_workflow(info, self.row.workflow_id)


async def load_deployment(info: Info, deployment_id: uuid.UUID) -> Deployment | None:
    row = await info.context.loaders.workflows.deployments.load(deployment_id)
    return Deployment.from_row(row) if row else None


register_node("Deployment", Permission.DEPLOYMENT_READ, load_deployment)


@strawberry.input
class DeploymentFilter:
    status: list[DeploymentStatus] | None = strawberry.UNSET
    environment: Environment | None = strawberry.UNSET
    workflow_id: strawberry.ID | None = strawberry.UNSET
    search: str | None = strawberry.UNSET

    def criteria(self) -> reads.DeploymentCriteria:
        return reads.DeploymentCriteria(
            statuses=statuses(self.status),
            environment=given(self.environment),
            workflow_id=filter_id(self.workflow_id, "Workflow"),
            search=search_text(self.search, "filter.search"),
        )


# ---------------------------------------------------------------- inputs and payloads


@strawberry.input
class CreateDeploymentInput:
    workflow_id: strawberry.ID
    name: str
    environment: Environment


@strawberry.input
class UpdateDeploymentInput:
    id: strawberry.ID
    status: DeploymentStatus | None = strawberry.UNSET
    url: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET


@strawberry.type
class DeploymentPayload:
    deployment: Deployment


DeploymentResult = Annotated[
    DeploymentPayload
    | ValidationError
    | NotFoundError
    | PermissionDeniedError
    | QuotaExceededError
    | TenantSuspendedError
    | InvalidTransitionError,
    strawberry.union("DeploymentResult"),
]


# ---------------------------------------------------------------- root fields


@strawberry.type
class DeploymentQuery:
    @strawberry.field(
        permission_classes=[requires(Permission.DEPLOYMENT_READ)],
        description="Newest first (updatedAt DESC).",
    )
    async def deployments(
        self,
        info: Info,
        *,
        first: int | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
        last: int | None = strawberry.UNSET,
        before: str | None = strawberry.UNSET,
        filter: DeploymentFilter | None = strawberry.UNSET,
    ) -> Connection[Deployment]:
        listing = reads.deployments_listing((given(filter) or DeploymentFilter()).criteria())
        return await connection(
            Listed(info.context.db, listing),
            page_args(first, after, last, before),
            Deployment.from_row,
        )


@strawberry.type
class DeploymentMutation:
    @strawberry.mutation
    @mutation_guard(Permission.DEPLOYMENT_WRITE)
    async def create_deployment(self, info: Info, input: CreateDeploymentInput) -> DeploymentResult:
        row = await service.create_deployment(
            db=info.context.db,
            actor=info.context.actor,
            workflow_id=require_key(input.workflow_id, "Workflow"),
            name=input.name,
            environment=input.environment,
        )
        return DeploymentPayload(deployment=Deployment.from_row(row))

    @strawberry.mutation
    @mutation_guard(Permission.DEPLOYMENT_WRITE)
    async def update_deployment(self, info: Info, input: UpdateDeploymentInput) -> DeploymentResult:
        row = await service.update_deployment(
            db=info.context.db,
            actor=info.context.actor,
            deployment_id=require_key(input.id, "Deployment"),
            status=patch(input.status),
            url=patch(input.url),
            name=patch(input.name),
        )
        return DeploymentPayload(deployment=Deployment.from_row(row))

    @strawberry.mutation
    @mutation_guard(Permission.DEPLOYMENT_WRITE)
    async def delete_deployment(self, info: Info, id: strawberry.ID) -> DeleteResult:
        await service.delete_deployment(
            db=info.context.db,
            actor=info.context.actor,
            deployment_id=require_key(id, "Deployment"),
        )
        return DeletedPayload(id=id)
