"""Deployment rules: create, the status machine, url and name changes, delete."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tenantflow.db.faults import retry_conflicts
from tenantflow.db.locking import locked
from tenantflow.db.models import Deployment, Workflow
from tenantflow.db.session import TenantDb
from tenantflow.db.types import utcnow
from tenantflow.enums import DeploymentStatus, Environment
from tenantflow.services.actor import Actor
from tenantflow.services.errors import InvalidTransition, NotFound, ValidationFailed
from tenantflow.services.operations import audit
from tenantflow.services.tenants.quotas import Resource, ensure_quota
from tenantflow.services.workflows.inputs import KEEP, NAME_MAX_CHARS, Patch, Problems, not_null
from tenantflow.services.workflows.workflows import lock_workflow

RESOURCE_TYPE = "Deployment"
S = DeploymentStatus
TRANSITIONS: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    S.PENDING: frozenset({S.DEPLOYING}),
    S.DEPLOYING: frozenset({S.LIVE, S.FAILED}),
    S.LIVE: frozenset({S.STOPPED}),
    S.STOPPED: frozenset({S.DEPLOYING}),
    S.FAILED: frozenset({S.DEPLOYING}),
}


def _snapshot(deployment: Deployment) -> dict[str, Any]:
    return {
        "name": deployment.name,
        "status": deployment.status.value,
        "url": deployment.url,
        "version": deployment.version,
        "workflowVersion": deployment.workflow_version,
    }


@retry_conflicts
async def create_deployment(
    *,
    db: TenantDb,
    actor: Actor,
    workflow_id: uuid.UUID,
    name: str,
    environment: Environment,
) -> Deployment:
    """A PENDING deployment (version 0) of the workflow's current version."""
    problems = Problems()
    problems.text(name, "input.name", max_chars=NAME_MAX_CHARS, required=True)
    problems.raise_if_any()
    async with db.transaction() as session:
        await ensure_quota(session, Resource.DEPLOYMENTS)
        # Locked: a concurrent deleteWorkflow either sees this deployment or comes first.
        workflow = await lock_workflow(session, workflow_id)
        deployment = Deployment(
            workflow_id=workflow.id,
            name=name,
            environment=environment,
            status=DeploymentStatus.PENDING,
            version=0,
            workflow_version=workflow.version,
        )
        session.add(deployment)
        audit.record(
            session,
            actor=actor,
            action="deployment.create",
            resource_type=RESOURCE_TYPE,
            resource_id=deployment.id,
            details={
                "name": name,
                "environment": environment.value,
                "workflowId": str(workflow.id),
                "workflowVersion": workflow.version,
            },
        )
    return deployment


async def _lock_deployment(session: AsyncSession, deployment_id: uuid.UUID) -> Deployment:
    statement = locked(select(Deployment).where(col(Deployment.id) == deployment_id))
    deployment = (await session.exec(statement)).first()
    if deployment is None:
        raise NotFound(RESOURCE_TYPE)
    return deployment


async def _deploy(session: AsyncSession, deployment: Deployment) -> None:
    """A move to DEPLOYING: one more version, of the workflow as it is now."""
    statement = select(Workflow).where(col(Workflow.id) == deployment.workflow_id)
    workflow = (await session.exec(locked(statement))).one()
    if workflow.deleted_at is not None:
        raise ValidationFailed.single("input.status", "The workflow was deleted: it cannot deploy")
    deployment.version += 1
    deployment.workflow_version = workflow.version


@retry_conflicts
async def update_deployment(
    *,
    db: TenantDb,
    actor: Actor,
    deployment_id: uuid.UUID,
    status: Patch[DeploymentStatus | None] = KEEP,
    url: Patch[str | None] = KEEP,
    name: Patch[str | None] = KEEP,
) -> Deployment:
    """Change status (along the contract's machine), url (http/https; null clears) or name."""
    problems = Problems()
    if name is not KEEP:
        problems.text(name, "input.name", max_chars=NAME_MAX_CHARS, required=True)
    if isinstance(url, str):
        problems.url(url, "input.url")
    if status is not KEEP:
        not_null(problems, status, "input.status")
    problems.raise_if_any()
    async with db.transaction() as session:
        deployment = await _lock_deployment(session, deployment_id)
        before = _snapshot(deployment)
        if isinstance(status, DeploymentStatus):
            if status not in TRANSITIONS[deployment.status]:
                raise InvalidTransition(deployment.status.value, status.value)
            if status is DeploymentStatus.DEPLOYING:
                await _deploy(session, deployment)
            deployment.status = status
        if url is not KEEP:
            deployment.url = url
        if isinstance(name, str):
            deployment.name = name
        deployment.updated_at = utcnow()
        session.add(deployment)
        audit.record(
            session,
            actor=actor,
            action="deployment.update",
            resource_type=RESOURCE_TYPE,
            resource_id=deployment.id,
            details=audit.changes(before, _snapshot(deployment)),
        )
    return deployment


@retry_conflicts
async def delete_deployment(*, db: TenantDb, actor: Actor, deployment_id: uuid.UUID) -> None:
    async with db.transaction() as session:
        deployment = await _lock_deployment(session, deployment_id)
        details = {**_snapshot(deployment), "workflowId": str(deployment.workflow_id)}
        await session.delete(deployment)
        audit.record(
            session,
            actor=actor,
            action="deployment.delete",
            resource_type=RESOURCE_TYPE,
            resource_id=deployment.id,
            details=details,
        )
